// Buckets: training at native sizes without cropping everything to one size (Sora; Open-Sora's Bucket).
// Clips are grouped by (frames, height, width); each bucket's batch size is as many clips as fit in a token budget,
// tokens = latentFrames x latentHeight x latentWidth / (pt x ph x pw), so a batch of small clips holds many and a
// batch of long, large clips holds few. A clip too large for the budget on its own is dropped and reported.
namespace Spacetime.Data;

/// <summary>How pixels become tokens: the VAE's compression and the DiT's patch size.</summary>
/// <param name="TemporalDown">VAE temporal compression (4).</param>
/// <param name="SpatialDown">VAE spatial compression (8; 4 selectable).</param>
/// <param name="PatchT">DiT patch size in latent frames.</param>
/// <param name="PatchH">DiT patch height in latent pixels.</param>
/// <param name="PatchW">DiT patch width in latent pixels.</param>
/// <param name="CausalTime">A causal VAE encodes the first frame alone: latentFrames = 1 + ceil((T - 1) / 4).</param>
public sealed record LatentGeometry(int TemporalDown = 4, int SpatialDown = 8, int PatchT = 1, int PatchH = 2,
                                    int PatchW = 2, bool CausalTime = true)
{
    /// <summary>Latent frames for a clip of <paramref name="numFrames"/> frames.</summary>
    public int LatentFrames(int numFrames) =>
        CausalTime ? 1 + CeilDiv(Math.Max(0, numFrames - 1), TemporalDown) : CeilDiv(numFrames, TemporalDown);

    /// <summary>Spacetime patches (tokens) for a clip of the given size.</summary>
    public long Tokens(int numFrames, int height, int width) =>
        (long)CeilDiv(LatentFrames(numFrames), PatchT) * CeilDiv(CeilDiv(height, SpatialDown), PatchH) *
        CeilDiv(CeilDiv(width, SpatialDown), PatchW);

    /// <summary>Pixel sizes are rounded to multiples of this so that latents split into whole patches.</summary>
    public int SizeMultiple => SpatialDown * Math.Max(PatchH, PatchW);

    /// <summary>Video frames decoded from <paramref name="latentFrames"/> latent frames (the inverse of LatentFrames
    /// on the counts the geometry accepts).</summary>
    public int VideoFrames(int latentFrames) =>
        CausalTime ? 1 + TemporalDown * (latentFrames - 1) : TemporalDown * latentFrames;

    /// <summary>The seams of a clip of <paramref name="numFrames"/> frames: each frame k (0 &lt; k &lt; numFrames) that
    /// starts a new time token, so that frames k - 1 and k come from different DiT tokens (where a model can jump).
    /// Time token g covers latent frames g·PatchT .. (g + 1)·PatchT - 1; with CausalTime, latent frame j &gt;= 1 covers
    /// video frames (j - 1)·TemporalDown + 1 .. j·TemporalDown and frame 0 is alone; without, j·TemporalDown ...
    /// </summary>
    public IReadOnlyList<int> Seams(int numFrames)
    {
        var seams = new List<int>();
        for (int g = 1; ; g++)
        {
            int j = g * PatchT;                                                          // first latent frame of token g
            int frame = CausalTime ? (j - 1) * TemporalDown + 1 : j * TemporalDown;
            if (frame >= numFrames) return seams;
            seams.Add(frame);
        }
    }

    /// <summary>True when a clip of <paramref name="numFrames"/> frames fills whole latent frames and whole time
    /// patches (a 4x causal VAE with 1-frame time patches: 1 + 4k frames).</summary>
    public bool Accepts(int numFrames) =>
        numFrames >= 1 && VideoFrames(LatentFrames(numFrames)) == numFrames && LatentFrames(numFrames) % PatchT == 0;

    /// <summary>The accepted frame count nearest to <paramref name="numFrames"/> (ties go to the longer; at least the
    /// shortest accepted count).</summary>
    public int NearestFrames(int numFrames)
    {
        int k = (int)Math.Round(Math.Max(0, numFrames - FirstFrames) / (double)FramesStep, MidpointRounding.AwayFromZero);
        return FirstFrames + FramesStep * k;
    }

    /// <summary>Which frame counts the geometry accepts, in words ("1 + 4k frames", "multiples of 4 frames").</summary>
    public string FrameRule => FramesStep == 1 ? "any number of frames"
        : FirstFrames == FramesStep ? $"multiples of {FramesStep} frames" : $"{FirstFrames} + {FramesStep}k frames";

    // The accepted counts are FirstFrames + FramesStep k: the shortest, then one more time patch of frames at a time.
    int FramesStep => VideoFrames(1 + PatchT) - VideoFrames(1);
    int FirstFrames => Enumerable.Range(1, VideoFrames(1 + PatchT)).First(Accepts);

    /// <summary>The multiple of SizeMultiple nearest to <paramref name="pixels"/> (at least one).</summary>
    public int RoundSize(int pixels) => Math.Max(1, (int)Math.Round(pixels / (double)SizeMultiple,
                                                                    MidpointRounding.AwayFromZero)) * SizeMultiple;

    static int CeilDiv(int a, int b) => (a + b - 1) / b;
}

/// <summary>How to bucket a dataset.</summary>
/// <param name="MaxTokensPerBatch">Token budget of one batch (clips x tokens per clip never exceeds it).</param>
/// <param name="Geometry">Pixels-to-tokens geometry.</param>
/// <param name="MaxBatchSize">Upper limit on clips per batch, however small they are.</param>
/// <param name="FrameCounts">Allowed clip lengths in frames, or null to keep every clip's own length. A clip goes
/// to the longest allowed length it covers (strided or cut down by the sampler), or to the shortest when it is
/// shorter than all of them (repeat-sampled up).</param>
public sealed record BucketConfig(long MaxTokensPerBatch, LatentGeometry Geometry, int MaxBatchSize = 256,
                                  IReadOnlyList<int>? FrameCounts = null)
{
    /// <summary>A budget of <paramref name="maxTokens"/> with the default geometry (VAE 4x8x8, patch 1x2x2).</summary>
    public static BucketConfig Default(long maxTokens = 16384) => new(maxTokens, new LatentGeometry());
}

/// <summary>Clips that share a size: every batch drawn from it has <see cref="BatchSize"/> clips at most.</summary>
public sealed record Bucket(int NumFrames, int Height, int Width, long TokensPerClip, int BatchSize,
                            IReadOnlyList<int> ClipIndices);

/// <summary>One training batch: clips of one bucket.</summary>
public sealed record Batch(Bucket Bucket, IReadOnlyList<int> ClipIndices)
{
    /// <summary>Tokens in the batch (never more than the budget).</summary>
    public long Tokens => Bucket.TokensPerClip * ClipIndices.Count;
}

/// <summary>The buckets of a dataset, and the clips too large for the token budget.</summary>
public sealed record BucketPlan(IReadOnlyList<Bucket> Buckets, IReadOnlyList<int> Dropped, long MaxTokensPerBatch);

/// <summary>Groups clips into size buckets and draws batches from them.</summary>
public static class Bucketer
{
    /// <summary>Assigns every clip to a bucket. <paramref name="tokensOf"/> (frames, height, width) -> tokens overrides
    /// the config's geometry when the model computes tokens differently.</summary>
    public static BucketPlan Assign(IReadOnlyList<Clip> clips, BucketConfig config,
                                    Func<int, int, int, long>? tokensOf = null)
    {
        if (config.MaxTokensPerBatch <= 0 || config.MaxBatchSize <= 0)
            throw new ArgumentException("BucketConfig: the token budget and the batch size limit must be positive.");
        tokensOf ??= config.Geometry.Tokens;
        var groups = new SortedDictionary<(int, int, int), List<int>>();
        for (int i = 0; i < clips.Count; i++)
        {
            var key = (BucketFrames(clips[i].NumFrames, config.FrameCounts), clips[i].Height, clips[i].Width);
            if (!groups.TryGetValue(key, out var list))
                groups[key] = list = [];
            list.Add(i);
        }
        var buckets = new List<Bucket>();
        var dropped = new List<int>();
        foreach (var ((frames, height, width), members) in groups)
        {
            long tokens = tokensOf(frames, height, width);
            if (tokens <= 0 || tokens > config.MaxTokensPerBatch)
            {
                dropped.AddRange(members);
                continue;
            }
            int batchSize = (int)Math.Min(config.MaxBatchSize, config.MaxTokensPerBatch / tokens);
            buckets.Add(new Bucket(frames, height, width, tokens, batchSize, members));
        }
        dropped.Sort();
        return new BucketPlan(buckets, dropped, config.MaxTokensPerBatch);
    }

    /// <summary>The frame count a clip of <paramref name="numFrames"/> frames is trained at.</summary>
    public static int BucketFrames(int numFrames, IReadOnlyList<int>? frameCounts)
    {
        if (frameCounts == null || frameCounts.Count == 0)
            return numFrames;
        int best = -1;
        foreach (int f in frameCounts)
            if (f <= numFrames && f > best)
                best = f;
        return best > 0 ? best : frameCounts.Min();
    }

    /// <summary>One epoch of batches: each bucket's clips shuffled and cut into batches, then the batches shuffled,
    /// all from <paramref name="seed"/>. With <paramref name="dropLast"/>, a bucket's last partial batch is left out.</summary>
    public static IReadOnlyList<Batch> Batches(BucketPlan plan, int seed, bool dropLast = false)
    {
        var rng = new Random(seed);
        var batches = new List<Batch>();
        foreach (var bucket in plan.Buckets)
        {
            int[] order = bucket.ClipIndices.ToArray();
            rng.Shuffle(order);
            for (int start = 0; start < order.Length; start += bucket.BatchSize)
            {
                int n = Math.Min(bucket.BatchSize, order.Length - start);
                if (n < bucket.BatchSize && dropLast)
                    break;
                batches.Add(new Batch(bucket, order[start..(start + n)]));
            }
        }
        var shuffled = batches.ToArray();
        rng.Shuffle(shuffled);
        return shuffled;
    }
}
