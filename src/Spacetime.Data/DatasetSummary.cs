// DatasetSummary: what `spacetime data inspect DIR` prints: counts, sizes, durations, the bucket table for a token
// budget, and the caption vocabulary with word counts.
namespace Spacetime.Data;

/// <summary>How many clips have one frame size.</summary>
public sealed record SizeCount(int Width, int Height, int Clips);

/// <summary>How often a word occurs in the captions.</summary>
public sealed record WordCount(string Word, int Count);

/// <summary>One row of the bucket table.</summary>
public sealed record BucketRow(int NumFrames, int Height, int Width, long TokensPerClip, int BatchSize, int Clips, int Batches);

/// <summary>A dataset at a glance.</summary>
/// <param name="Problems">Entries that failed to load (each printed on one line by its ToString).</param>
/// <param name="TotalBytes">Bytes of all clip files on disk.</param>
/// <param name="DroppedByBudget">Clips too large for the token budget on their own.</param>
/// <param name="VocabularySize">Distinct caption words.</param>
/// <param name="TopWords">The most frequent caption words, most frequent first.</param>
public sealed record DatasetSummary(string Root, int Clips, IReadOnlyList<DatasetProblem> Problems, int Uncaptioned,
                                    long TotalFrames, long TotalBytes, double TotalSeconds, double MinSeconds,
                                    double MeanSeconds, double MaxSeconds, IReadOnlyList<SizeCount> Sizes,
                                    IReadOnlyList<BucketRow> Buckets, int DroppedByBudget, int VocabularySize,
                                    IReadOnlyList<WordCount> TopWords);

/// <summary>Builds <see cref="DatasetSummary"/>.</summary>
public static class DatasetInspector
{
    /// <summary>Summarises <paramref name="dataset"/>; buckets use <paramref name="config"/> (default: 16384 tokens).</summary>
    public static DatasetSummary Summarize(Dataset dataset, BucketConfig? config = null, int topWords = 50)
    {
        config ??= BucketConfig.Default();
        var clips = dataset.Clips;
        var seconds = clips.Select(c => c.Seconds).ToArray();
        var sizes = clips.GroupBy(c => (c.Width, c.Height))
            .Select(g => new SizeCount(g.Key.Width, g.Key.Height, g.Count()))
            .OrderByDescending(s => s.Clips).ThenBy(s => s.Width).ThenBy(s => s.Height).ToList();
        var plan = Bucketer.Assign(clips, config);
        var buckets = plan.Buckets
            .Select(b => new BucketRow(b.NumFrames, b.Height, b.Width, b.TokensPerClip, b.BatchSize, b.ClipIndices.Count,
                                       (b.ClipIndices.Count + b.BatchSize - 1) / b.BatchSize))
            .ToList();
        var words = new Dictionary<string, int>();
        foreach (var clip in clips)
            foreach (string word in Words(clip.Caption))
                words[word] = words.GetValueOrDefault(word) + 1;
        var top = words.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(topWords)
            .Select(kv => new WordCount(kv.Key, kv.Value)).ToList();
        return new DatasetSummary(
            dataset.Root, clips.Count, dataset.Problems, clips.Count(c => c.Caption.Length == 0),
            clips.Sum(c => (long)c.NumFrames), clips.Sum(c => SizeOnDisk(c.Path)), seconds.Sum(),
            seconds.Length > 0 ? seconds.Min() : 0, seconds.Length > 0 ? seconds.Average() : 0,
            seconds.Length > 0 ? seconds.Max() : 0, sizes, buckets, plan.Dropped.Count, words.Count, top);
    }

    /// <summary>Lower-case words of a caption (letters, digits and apostrophes).</summary>
    public static IEnumerable<string> Words(string caption)
    {
        var word = new System.Text.StringBuilder();
        foreach (char ch in caption.Append(' '))
        {
            if (char.IsLetterOrDigit(ch) || (ch == '\'' && word.Length > 0))
                word.Append(char.ToLowerInvariant(ch));
            else if (word.Length > 0)
            {
                yield return word.ToString().TrimEnd('\'');
                word.Clear();
            }
        }
    }

    static long SizeOnDisk(string path) =>
        Directory.Exists(path) ? Directory.EnumerateFiles(path).Sum(f => new FileInfo(f).Length)
        : File.Exists(path) ? new FileInfo(path).Length : 0;
}
