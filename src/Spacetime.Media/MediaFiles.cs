// MediaFiles: small file helpers shared by the codecs, turning the usual I/O failures into one-line MediaExceptions.
namespace Spacetime.Media;

internal static class MediaFiles
{
    /// <summary>Reads a whole file; a missing or unreadable file throws <see cref="MediaException"/>.</summary>
    public static byte[] ReadAllBytes(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new MediaException(path, "file not found", "check the path", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new MediaException(path, "folder not found", "check the path", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new MediaException(path, "permission denied", "check the file's permissions", e);
        }
        catch (IOException e)
        {
            throw new MediaException(path, "could not be read (" + e.Message.TrimEnd('.') + ")", "check the file", e);
        }
    }

    /// <summary>The lower-case extension with its dot (".gif"), or "" when there is none.</summary>
    public static string Extension(string path) => Path.GetExtension(path).ToLowerInvariant();
}
