// DatasetWriter: builds a dataset folder clip by clip (used by `spacetime data synth`).
//   DIR/clips/000001.gif      the clip (any VideoFile extension), written atomically
//   DIR/truth/000001.json     optional ground truth, written atomically
//   DIR/captions.jsonl        one line per clip, appended and flushed after the clip is complete
// Add is thread-safe: clips are encoded in parallel and only the append is serialised. A crash can lose at most the
// line being written (the loader counts a cut-off last line as malformed). Numbering continues after existing clips,
// and Dispose rewrites captions.jsonl in file order (atomically), so parallel runs give the same file.
using System.Text;
using Spacetime.Media;

namespace Spacetime.Data;

/// <summary>Writes clips, truth files and captions.jsonl lines into a dataset folder.</summary>
public sealed class DatasetWriter : IDisposable
{
    readonly string clipExtension;
    readonly VideoWriteOptions? options;
    readonly FileStream captions;
    readonly Lock appendLock = new();
    int lastIndex;
    int added;

    /// <summary>Absolute path of the dataset folder.</summary>
    public string Root { get; }
    /// <summary>Clips added by this writer.</summary>
    public int Added => added;

    /// <summary>Opens (or creates) <paramref name="dir"/>; clips are written as <paramref name="clipExtension"/>.</summary>
    public DatasetWriter(string dir, string clipExtension = ".gif", VideoWriteOptions? options = null)
    {
        if (!VideoFile.WriteExtensions.Contains(clipExtension.ToLowerInvariant()))
            throw new MediaException(dir, $"cannot write clips as '{clipExtension}'",
                                     "use one of " + string.Join(" ", VideoFile.WriteExtensions));
        Root = Path.GetFullPath(dir);
        this.clipExtension = clipExtension.ToLowerInvariant();
        this.options = options;
        Directory.CreateDirectory(Path.Combine(Root, "clips"));
        lastIndex = LastIndex(Path.Combine(Root, "clips"));
        string path = Path.Combine(Root, Captions.FileName);
        captions = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        if (captions.Length > 0 && !EndsWithNewline(path))
            captions.Write("\n"u8);                              // a cut-off line from a crash stays on its own line
    }

    /// <summary>Writes one clip (and its truth JSON when given) and appends its captions.jsonl line.
    /// Returns the clip's path relative to the dataset folder ("clips/000001.gif"). Safe to call from many threads.</summary>
    public string Add(Frames frames, string caption, string prompt, string? truthJson = null)
    {
        int index = Interlocked.Increment(ref lastIndex);
        string file = $"clips/{index:D6}{clipExtension}";
        VideoFile.Write(Path.Combine(Root, file), frames, options);
        string? truth = null;
        if (truthJson != null)
        {
            truth = $"truth/{index:D6}.json";
            WriteAtomically(Path.Combine(Root, truth), truthJson);
        }
        byte[] line = Encoding.UTF8.GetBytes(Captions.Format(new CaptionEntry(file, caption, prompt, truth)) + "\n");
        lock (appendLock)
        {
            captions.Write(line);                                // one write per line, then flushed to the OS
            captions.Flush();
            added++;
        }
        return file;
    }

    /// <summary>Closes captions.jsonl and rewrites it sorted by clip file, so the order does not depend on threads.</summary>
    public void Dispose()
    {
        captions.Dispose();
        if (added == 0)
            return;
        string path = Path.Combine(Root, Captions.FileName);
        string[] lines = File.ReadAllLines(path).Where(l => l.Length > 0).ToArray();
        Array.Sort(lines, StringComparer.Ordinal);              // lines start {"file":"clips/NNNNNN...
        WriteAtomically(path, string.Concat(lines.Select(l => l + "\n")));
    }

    static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        File.WriteAllText(temp, text);
        File.Move(temp, path, overwrite: true);
    }

    static int LastIndex(string clipsDir)
    {
        int last = 0;
        foreach (string f in Directory.EnumerateFileSystemEntries(clipsDir))
            if (int.TryParse(Path.GetFileNameWithoutExtension(f), out int n))
                last = Math.Max(last, n);
        return last;
    }

    static bool EndsWithNewline(string path)
    {
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        fs.Seek(-1, SeekOrigin.End);
        return fs.ReadByte() == '\n';
    }
}
