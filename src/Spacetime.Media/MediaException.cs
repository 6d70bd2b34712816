// MediaException: the one exception type for a user's mistake with a media file or a dataset (unknown extension,
// truncated or corrupt file, missing ffmpeg, malformed captions). Its message is one line: the file, what is wrong,
// and how to fix it, so the CLI can print it as it is, with no stack trace.
namespace Spacetime.Media;

/// <summary>A user's mistake with a media file or dataset; the message names the file, the problem and the fix.</summary>
public sealed class MediaException : Exception
{
    /// <summary>The file or folder the problem is about.</summary>
    public string FilePath { get; }

    /// <summary>Makes "PATH: problem; fix" (the fix may be empty).</summary>
    public MediaException(string path, string problem, string fix = "", Exception? inner = null)
        : base(OneLine(path, problem, fix), inner)
    {
        FilePath = path;
    }

    static string OneLine(string path, string problem, string fix)
    {
        string text = fix.Length == 0 ? $"{path}: {problem}" : $"{path}: {problem}; {fix}";
        return text.Replace('\r', ' ').Replace('\n', ' ');
    }
}
