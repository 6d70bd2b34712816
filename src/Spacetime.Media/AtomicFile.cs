// AtomicFile: every write goes to a temporary file in the target's folder and is renamed into place, so a crash or an
// exception never leaves half a file under the real name (rename within one folder is atomic on POSIX and NTFS).
namespace Spacetime.Media;

/// <summary>Writes files through a temporary file and a rename: never half a file under the real name.</summary>
public static class AtomicFile
{
    /// <summary>A fresh temporary path beside <paramref name="path"/> that keeps its extension (ffmpeg picks the
    /// container from it): "dir/.name.1a2b3c4d.tmp.mp4".</summary>
    public static string TempPathFor(string path)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(dir);
        string tag = Guid.NewGuid().ToString("N")[..8];
        RemoveStale(dir, $".{Path.GetFileNameWithoutExtension(full)}.*.tmp{Path.GetExtension(full)}");
        return Path.Combine(dir, $".{Path.GetFileNameWithoutExtension(full)}.{tag}.tmp{Path.GetExtension(full)}");
    }

    /// <summary>Temp files older than this are leftovers of a killed writer (no write here takes that long idle).
    /// </summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(30);

    /// <summary>Deletes files in <paramref name="dir"/> matching <paramref name="pattern"/> that nothing has written
    /// for <see cref="StaleAfter"/>: the temp files of an earlier write to the same target that was killed.</summary>
    public static void RemoveStale(string dir, string pattern)
    {
        if (!Directory.Exists(dir)) return;
        foreach (var file in Directory.GetFiles(dir, pattern))
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > StaleAfter) TryDelete(file);
    }

    /// <summary>Runs <paramref name="write"/> on a temporary file, then moves it over <paramref name="path"/>.
    /// On any exception the temporary file is deleted and the old file (if any) is untouched.</summary>
    public static void Write(string path, Action<string> write)
    {
        string temp = TempPathFor(path);
        try
        {
            write(temp);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="text"/> (UTF-8) through a temporary file.</summary>
    public static void WriteAllText(string path, string text) => Write(path, temp => File.WriteAllText(temp, text));

    /// <summary>Writes all bytes through a temporary file; with <paramref name="flushToDisk"/> the bytes reach the disk
    /// before the rename, so a power cut cannot leave the new name on an empty file (checkpoint commits).</summary>
    public static void WriteAllBytes(string path, ReadOnlySpan<byte> bytes, bool flushToDisk = false)
    {
        string temp = TempPathFor(path);
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write))
            {
                fs.Write(bytes);
                if (flushToDisk) fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Fills a temporary folder beside <paramref name="dir"/>, then swaps it into place (the old folder, if
    /// any, is removed only after the new one is complete).</summary>
    public static void WriteDirectory(string dir, Action<string> fill)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir));
        string parent = Path.GetDirectoryName(full) ?? ".";
        Directory.CreateDirectory(parent);
        string temp = Path.Combine(parent, $".{Path.GetFileName(full)}.{Guid.NewGuid().ToString("N")[..8]}.tmp");
        try
        {
            Directory.CreateDirectory(temp);
            fill(temp);
            if (Directory.Exists(full))
                Directory.Delete(full, recursive: true);
            Directory.Move(temp, full);
        }
        catch
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
