// WorldRng: the world's own seeded generator, xoshiro256** seeded through SplitMix64.
// Same seed, same numbers on every machine and runtime (System.Random's algorithm is not a contract).
using System.Numerics;

namespace Spacetime.World;

/// <summary>xoshiro256** (Blackman and Vigna), its state filled by SplitMix64 from a 64-bit seed.</summary>
internal sealed class WorldRng
{
    ulong s0, s1, s2, s3;

    public WorldRng(ulong seed)
    {
        ulong x = seed;
        s0 = SplitMix(ref x);
        s1 = SplitMix(ref x);
        s2 = SplitMix(ref x);
        s3 = SplitMix(ref x);
    }

    /// <summary>One SplitMix64 step: advances x and returns a well-mixed 64-bit value.</summary>
    public static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        ulong z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A seed for item <paramref name="index"/> of a family started from <paramref name="seed"/>.</summary>
    public static long Derive(long seed, long index)
    {
        ulong x = (ulong)seed ^ ((ulong)index * 0xD1B54A32D192ED03UL);
        return (long)(SplitMix(ref x) >> 1);                  // keep it non-negative for printing
    }

    public ulong Next()
    {
        ulong result = BitOperations.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = BitOperations.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1), 53 random bits.</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [lo, hi).</summary>
    public double Uniform(double lo, double hi) => lo + (hi - lo) * NextDouble();

    /// <summary>Uniform integer in [0, n) (multiply-shift on the top 32 bits; bias below 2^-32 · n).</summary>
    public int Int(int n) => (int)(((Next() >> 32) * (ulong)n) >> 32);

    public bool Chance(double p) => NextDouble() < p;

    /// <summary>-1 or +1 with equal odds.</summary>
    public int Sign() => Chance(0.5) ? 1 : -1;

    /// <summary>An index drawn with probability proportional to its weight.</summary>
    public int Weighted(ReadOnlySpan<double> weights)
    {
        double total = 0;
        foreach (double w in weights) total += w;
        double u = NextDouble() * total;
        for (int i = 0; i < weights.Length; i++)
        {
            u -= weights[i];
            if (u < 0) return i;
        }
        return weights.Length - 1;
    }

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(T[] items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = Int(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
