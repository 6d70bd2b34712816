// MediaFiles: small file helpers shared by the codecs, turning the usual I/O failures into one-line MediaExceptions.
namespace Spacetime.Media;

internal static class MediaFiles
{
    /// <summary>Largest media file read whole.</summary>
    public const long MaxBytes = int.MaxValue;

    /// <summary>Reads a whole file; a missing, unreadable, empty or oversized file throws <see cref="MediaException"/>.
    /// Exactly the length the file system reports is read, so a device or pipe (length 0, e.g. a link to /dev/zero)
    /// is refused at once instead of read until memory runs out.</summary>
    public static byte[] ReadAllBytes(string path)
    {
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            long length = fs.Length;
            if (length == 0) throw new MediaException(path, "the file is empty (or not a regular file)", "check the path");
            if (length > MaxBytes)
                throw new MediaException(path, $"{length / (double)(1 << 30):0.#} GiB is larger than the 2 GiB this reads whole",
                                         "cut it into shorter pieces first");
            var bytes = new byte[length];
            fs.ReadExactly(bytes);
            return bytes;
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
