// Dataset: a folder of captioned clips.
// With captions.jsonl (see Captions.cs) every line names a clip; without it, every video file and every folder of
// images in the top level is a clip, captioned by a sidecar text file of the same name (clip.mp4 + clip.txt) when
// there is one. Each clip is probed (header only) to learn its size, length and fps. A malformed line, a missing
// file or an unreadable clip is recorded as a DatasetProblem and skipped: the rest of the dataset still loads.
using System.Collections.Concurrent;
using Spacetime.Media;

namespace Spacetime.Data;

/// <summary>A dataset entry that could not be loaded: where it is and what is wrong.</summary>
/// <param name="Source">captions.jsonl or the clip's path.</param>
/// <param name="Line">1-based line in captions.jsonl, or 0 when the problem is not about a line.</param>
public sealed record DatasetProblem(string Source, int Line, string Message)
{
    /// <summary>"captions.jsonl:12: message" (one line).</summary>
    public override string ToString() => Line > 0 ? $"{Source}:{Line}: {Message}" : $"{Source}: {Message}";
}

/// <summary>The captioned clips of a dataset folder, and the entries that failed to load.</summary>
public sealed class Dataset
{
    /// <summary>Absolute path of the dataset folder.</summary>
    public string Root { get; }
    /// <summary>Clips that loaded, in file order.</summary>
    public IReadOnlyList<Clip> Clips { get; }
    /// <summary>Entries that did not load, with the reason.</summary>
    public IReadOnlyList<DatasetProblem> Problems { get; }

    Dataset(string root, IReadOnlyList<Clip> clips, IReadOnlyList<DatasetProblem> problems)
        => (Root, Clips, Problems) = (root, clips, problems);

    /// <summary>Loads <paramref name="dir"/>. Throws <see cref="MediaException"/> only when the folder itself is
    /// missing; bad entries are counted in <see cref="Problems"/>. <paramref name="defaultFps"/> applies to clips
    /// that do not state their frame rate (image folders).</summary>
    public static Dataset Load(string dir, double defaultFps = 8)
    {
        string root = Path.GetFullPath(dir);
        if (!Directory.Exists(root))
            throw new MediaException(dir, "dataset folder not found", "check the path, or create one with: spacetime data synth");
        var problems = new List<DatasetProblem>();
        string captionsPath = Path.Combine(root, Captions.FileName);
        List<(int Line, CaptionEntry Entry)> entries = File.Exists(captionsPath)
            ? ReadCaptions(captionsPath, problems)
            : ScanFolder(root);

        // Probe every clip (headers only); ffmpeg containers each start a process, so probe in parallel.
        var clips = new Clip?[entries.Count];
        var failures = new ConcurrentBag<(int Index, DatasetProblem Problem)>();
        Parallel.For(0, entries.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
        {
            var (line, entry) = entries[i];
            string path = Path.GetFullPath(Path.Combine(root, entry.File));
            string source = line > 0 ? captionsPath : path;
            try
            {
                if (!File.Exists(path) && !Directory.Exists(path))
                    throw new MediaException(path, "clip not found", "fix the \"file\" path or remove the line");
                var info = VideoFile.Probe(path, defaultFps);
                if (info.NumFrames <= 0)
                    throw new MediaException(path, "clip has no frames", "re-export it or remove the line");
                string? truth = entry.Truth != null ? Path.GetFullPath(Path.Combine(root, entry.Truth)) : null;
                clips[i] = new Clip(path, info.NumFrames, info.Height, info.Width, info.Fps, entry.Caption,
                                    entry.Prompt ?? "", truth);
            }
            catch (MediaException e)
            {
                failures.Add((i, new DatasetProblem(source, line, e.Message)));
            }
        });
        problems.AddRange(failures.OrderBy(f => f.Index).Select(f => f.Problem));
        return new Dataset(root, clips.OfType<Clip>().ToList(), problems);
    }

    static List<(int, CaptionEntry)> ReadCaptions(string path, List<DatasetProblem> problems)
    {
        var entries = new List<(int, CaptionEntry)>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line))
                continue;
            var entry = Captions.Parse(line, out string problem);
            if (entry == null)
                problems.Add(new DatasetProblem(path, lineNumber, problem));
            else
                entries.Add((lineNumber, entry));
        }
        return entries;
    }

    // A folder without captions.jsonl: its video files and image folders, with sidecar .txt captions.
    static List<(int, CaptionEntry)> ScanFolder(string root)
    {
        var entries = new List<(int, CaptionEntry)>();
        var candidates = Directory.GetFiles(root)
            .Where(f => VideoFile.FfmpegReadExtensions.Contains(Ext(f)) || Ext(f) is ".gif" or ".y4m")
            .Concat(Directory.GetDirectories(root).Where(HasImages))
            .Where(p => !Path.GetFileName(p).StartsWith('.'))
            .OrderBy(p => p, StringComparer.Ordinal);
        foreach (string path in candidates)
        {
            string sidecar = Path.Combine(root, Path.GetFileNameWithoutExtension(path) + ".txt");
            string caption = File.Exists(sidecar) ? File.ReadAllText(sidecar).Trim() : "";
            entries.Add((0, new CaptionEntry(Path.GetFileName(path), caption)));
        }
        return entries;
    }

    static string Ext(string path) => Path.GetExtension(path).ToLowerInvariant();

    static bool HasImages(string dir) =>
        Directory.EnumerateFiles(dir).Any(f => ImageSequence.Extensions.Contains(Ext(f)));
}
