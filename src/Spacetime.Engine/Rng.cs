// Rng: a counter-based random generator. Number i of a stream is a pure function of (seed, counter + i), so any
// split of the work over threads gives the same numbers, and a stream can be replayed from any position.
// The mixer is SplitMix64's finaliser applied to a Weyl sequence keyed by the seed (Steele et al. 2014).
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

/// <summary>Seeded, counter-based random numbers: the same seed gives the same numbers whatever the thread count.</summary>
public sealed class Rng
{
    readonly ulong key;

    /// <summary>Position in the stream: how many numbers have been drawn so far.</summary>
    public ulong Counter { get; set; }

    /// <summary>The seed this generator was made with.</summary>
    public ulong Seed { get; }

    /// <summary>Creates a generator whose stream is fixed by <paramref name="seed"/>.</summary>
    public Rng(ulong seed)
    {
        Seed = seed;
        key = Mix(seed ^ 0x9E3779B97F4A7C15UL);
    }

    /// <summary>A generator for an independent stream derived from this seed and a label (e.g. a data-loader worker).</summary>
    public Rng Fork(ulong stream) => new(Mix(key + stream * 0xD1B54A32D192ED03UL));

    internal static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    // The 64 random bits at absolute position i of this stream.
    ulong Bits(ulong i) => Mix(key + i * 0x9E3779B97F4A7C15UL);

    // Uniform in (0, 1]: 24 random bits, never 0 (so log is finite).
    static float ToUnit(ulong bits) => ((bits >> 40) + 1) * (1f / 16777216f);

    /// <summary>Next 64 random bits.</summary>
    public ulong NextBits() => Bits(Counter++);

    /// <summary>Uniform integer in [0, n).</summary>
    public int NextInt(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Rng.NextInt: n must be positive.");
        return (int)((NextBits() >> 33) % (ulong)n);
    }

    /// <summary>Uniform float in [0, 1).</summary>
    public float NextFloat() => ToUnit(NextBits()) - (1f / 16777216f);

    /// <summary>Standard normal float.</summary>
    public float NextNormal()
    {
        float v = NormalAt(Counter);
        Counter += 2;
        return v;
    }

    // Box-Muller on the pair of numbers at positions (i, i + 1).
    float NormalAt(ulong i)
    {
        float u1 = ToUnit(Bits(i)), u2 = ToUnit(Bits(i + 1));
        return MathF.Sqrt(-2f * MathF.Log(u1)) * MathF.Cos(2f * MathF.PI * u2);
    }

    /// <summary>Fills with uniform numbers in [low, high). Uses positions Counter..Counter+n-1.</summary>
    public void FillUniform(Span<float> destination, float low = 0f, float high = 1f)
    {
        ulong start = Counter;
        for (int i = 0; i < destination.Length; i++)
            destination[i] = low + (high - low) * (ToUnit(Bits(start + (ulong)i)) - (1f / 16777216f));
        Counter += (ulong)destination.Length;
    }

    /// <summary>Fills with normal numbers N(mean, std²). Uses positions Counter..Counter+2n-1, in parallel.</summary>
    public void FillNormal(float[] destination, int offset, int count, float mean = 0f, float std = 1f)
    {
        if ((uint)offset > (uint)destination.Length || (uint)count > (uint)(destination.Length - offset))
            throw new ArgumentOutOfRangeException(nameof(count), "Rng.FillNormal: range outside the buffer.");
        ulong start = Counter;
        Par.ForRange(count, 40, (s, e) =>
        {
            for (int i = s; i < e; i++)
                destination[offset + i] = mean + std * NormalAt(start + 2 * (ulong)i);
        });
        Counter += 2 * (ulong)count;
    }

    /// <summary>A tensor of standard normal numbers.</summary>
    public Tensor Normal(params int[] shape) => Normal(0f, 1f, shape);

    /// <summary>A tensor of N(mean, std²) numbers.</summary>
    public Tensor Normal(float mean, float std, params int[] shape)
    {
        var t = Tensor.Empty(shape);
        FillNormal(t.Storage.Data, 0, t.Count, mean, std);
        return t;
    }

    /// <summary>A tensor of uniform numbers in [low, high).</summary>
    public Tensor Uniform(float low, float high, params int[] shape)
    {
        var t = Tensor.Empty(shape);
        FillUniform(t.Storage.Data.AsSpan(0, t.Count), low, high);
        return t;
    }
}
