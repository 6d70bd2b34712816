// ClipSampler: turns a decoded clip into exactly the frames a bucket wants.
// 1. Near-duplicate frames are dropped first: a frame whose mean absolute difference from the last kept frame is
//    below a threshold (in 0..255 levels) adds nothing but length (static intros, frozen streams).
// 2. Frames are picked on the time grid of the wanted fps: a long clip is strided (every srcFps/fps-th frame, from a
//    random start when a Random is given, else from the start); a clip too short for that is repeat-sampled (the
//    wanted frames spread over the whole clip, so some frames repeat).
// 3. Frames are resized (area filter) when the wanted size differs.
using Spacetime.Media;

namespace Spacetime.Data;

/// <summary>What a training example should look like.</summary>
public sealed record SampleSpec(int NumFrames, double Fps, int Height, int Width);

/// <summary>Frame selection for training clips.</summary>
public static class ClipSampler
{
    /// <summary>Indices of <paramref name="numFrames"/> frames taken from <paramref name="sourceFrames"/> frames at
    /// <paramref name="sourceFps"/> so that they play at <paramref name="fps"/>.</summary>
    public static int[] FrameIndices(int sourceFrames, double sourceFps, int numFrames, double fps, Random? rng = null)
    {
        if (sourceFrames <= 0 || numFrames <= 0)
            throw new ArgumentException($"ClipSampler: need positive frame counts, got {sourceFrames} source and {numFrames} wanted.");
        var indices = new int[numFrames];
        if (numFrames == 1)
        {
            indices[0] = rng?.Next(sourceFrames) ?? 0;
            return indices;
        }
        double step = sourceFps / fps;                            // source frames per output frame
        double span = (numFrames - 1) * step;                     // source frames covered, first to last
        if (span <= sourceFrames - 1)                             // long enough: strided window
        {
            int room = (int)Math.Floor(sourceFrames - 1 - span);
            int start = rng?.Next(room + 1) ?? 0;
            for (int i = 0; i < numFrames; i++)
                indices[i] = Math.Min(sourceFrames - 1, start + (int)Math.Round(i * step));
        }
        else                                                      // too short: repeat-sample across the whole clip
        {
            double stretch = (sourceFrames - 1) / (double)(numFrames - 1);
            for (int i = 0; i < numFrames; i++)
                indices[i] = (int)Math.Round(i * stretch);
        }
        return indices;
    }

    /// <summary>Indices of the frames to keep: each frame whose mean absolute difference from the last kept frame
    /// is at least <paramref name="threshold"/> (0..255 levels). Frame 0 is always kept.</summary>
    public static int[] DropNearDuplicates(Frames frames, double threshold)
    {
        var kept = new List<int>();
        if (frames.Count == 0)
            return [];
        kept.Add(0);
        for (int t = 1; t < frames.Count; t++)
            if (MeanAbsDifference(frames.Frame(kept[^1]), frames.Frame(t)) >= threshold)
                kept.Add(t);
        return kept.ToArray();
    }

    /// <summary>Mean absolute difference of two equal-length byte spans, in levels.</summary>
    public static double MeanAbsDifference(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        long sum = 0;
        for (int i = 0; i < a.Length; i++)
            sum += Math.Abs(a[i] - b[i]);
        return a.Length == 0 ? 0 : (double)sum / a.Length;
    }

    /// <summary>The frames of <paramref name="source"/> at the indices given, in that order.</summary>
    public static Frames Select(Frames source, IReadOnlyList<int> indices, double fps)
    {
        var result = new Frames(indices.Count, source.Height, source.Width, fps);
        for (int i = 0; i < indices.Count; i++)
            source.Frame(indices[i]).CopyTo(result.Frame(i));
        return result;
    }

    /// <summary>Drops near-duplicates (when <paramref name="duplicateThreshold"/> &gt; 0), picks frames on the
    /// wanted time grid and resizes, giving exactly <paramref name="spec"/>.</summary>
    public static Frames Sample(Frames source, SampleSpec spec, Random? rng = null, double duplicateThreshold = 0)
    {
        if (source.Count == 0)
            throw new ArgumentException("ClipSampler.Sample: the clip has no frames.");
        int[] kept = duplicateThreshold > 0 ? DropNearDuplicates(source, duplicateThreshold) : [.. Enumerable.Range(0, source.Count)];
        int[] picked = FrameIndices(kept.Length, source.Fps, spec.NumFrames, spec.Fps, rng);
        var frames = Select(source, picked.Select(i => kept[i]).ToArray(), spec.Fps);
        return Resize.Area(frames, spec.Height, spec.Width);
    }
}
