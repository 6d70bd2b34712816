// Training-time masks: each clip in a batch draws a mask kind with the configured probabilities, then which latent
// frames are known. Known frames stay clean in x_t and are left out of the loss (Objective.Prepare), so one model
// learns text-to-video and every conditioning task that FrameMask offers at sampling time (Open-Sora's mask ratios).
// Context lengths are uniform in [1, max(1, MaxContext T)]; at least one frame is always left to generate, so a
// one-frame clip (an image) is always None.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>The kinds of training mask.</summary>
public enum MaskKind
{
    /// <summary>Nothing known: text to video.</summary>
    None,
    /// <summary>The first frame known.</summary>
    ImageToVideo,
    /// <summary>A head of frames known (extend forward).</summary>
    ExtendForward,
    /// <summary>A tail of frames known (extend backward).</summary>
    ExtendBackward,
    /// <summary>A head and a tail known (connect two videos; loops with a given first frame).</summary>
    Connect,
    /// <summary>Each frame known with probability 1/2 (interpolation, frame-rate changes).</summary>
    RandomFrames,
}

/// <summary>The probabilities of each training mask kind (they must add up to 1).</summary>
/// <param name="MaxContext">Largest fraction of the latent frames a head or tail context takes.</param>
public sealed record MaskSampler(
    double None = 0.6,
    double ImageToVideo = 0.15,
    double ExtendForward = 0.1,
    double ExtendBackward = 0.05,
    double Connect = 0.05,
    double RandomFrames = 0.05,
    double MaxContext = 0.5)
{
    /// <summary>Named mixes.</summary>
    public static IReadOnlyDictionary<string, MaskSampler> Presets { get; } = new Dictionary<string, MaskSampler>
    {
        ["text-to-video"] = new(1, 0, 0, 0, 0, 0),
        ["sora"] = new(),                                  // mostly unconditional, every editing mode seen
    };

    /// <summary>The probabilities in MaskKind order.</summary>
    public double[] Probabilities => [None, ImageToVideo, ExtendForward, ExtendBackward, Connect, RandomFrames];

    /// <summary>One mask kind.</summary>
    public MaskKind SampleKind(Rng rng)
    {
        var p = Probabilities;
        if (p.Any(v => v < 0) || Math.Abs(p.Sum() - 1) > 1e-6)
            throw new ArgumentException($"MaskSampler: probabilities must be non-negative and add up to 1, got {string.Join(", ", p)}.");
        double u = rng.NextFloat(), acc = 0;
        for (int k = 0; k < p.Length; k++)
            if (p[k] > 0 && u < (acc += p[k])) return (MaskKind)k;
        return (MaskKind)Array.FindLastIndex(p, v => v > 0);     // u within rounding of 1
    }

    /// <summary>Known masks (B, 1, T, 1, 1) for a batch, one kind per clip.</summary>
    public Tensor Sample(int batch, int latentFrames, Rng rng)
    {
        var known = new float[batch * latentFrames];
        for (int b = 0; b < batch; b++)
            KnownFrames(SampleKind(rng), latentFrames, rng).CopyTo(known.AsSpan(b * latentFrames));
        return Tensor.From(known, batch, 1, latentFrames, 1, 1);
    }

    /// <summary>Which frames are known (1) for a mask kind.</summary>
    internal float[] KnownFrames(MaskKind kind, int latentFrames, Rng rng)
    {
        var known = new float[latentFrames];
        if (latentFrames < 2) return known;
        int maxContext = Math.Max(1, (int)(MaxContext * latentFrames));
        int Context(int limit) => 1 + rng.NextInt(Math.Min(maxContext, limit));
        switch (kind)
        {
            case MaskKind.ImageToVideo: known[0] = 1; break;
            case MaskKind.ExtendForward: known.AsSpan(0, Context(latentFrames - 1)).Fill(1); break;
            case MaskKind.ExtendBackward: known.AsSpan(latentFrames - Context(latentFrames - 1)).Fill(1); break;
            case MaskKind.Connect when latentFrames >= 3:
                int head = Context((latentFrames - 1) / 2), tail = Context((latentFrames - 1) / 2);
                known.AsSpan(0, head).Fill(1);
                known.AsSpan(latentFrames - tail).Fill(1);
                break;
            case MaskKind.RandomFrames:
                for (int f = 0; f < latentFrames; f++) known[f] = rng.NextInt(2);
                known[rng.NextInt(latentFrames)] = 0;          // always something to generate
                break;
        }
        return known;
    }
}
