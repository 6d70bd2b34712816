using Spacetime.Engine;
using Spacetime.Engine.Kernels;

namespace Spacetime.Tests.Engine;

// The fused GELU backward (one vector pass) against its float64 reference, across the range where GELU's derivative
// bends and out to where exp(-2u) overflows, at lengths with every tail, and split at odd places as threads split it.
public class UnaryKernelsTests
{
    static float[] Inputs(int n, ulong seed)
    {
        var rng = new Rng(seed);
        var x = rng.Normal(n).ToArray();
        for (int i = 0; i < n; i++) x[i] *= i % 7 == 0 ? 30f : 3f;       // a few far out: exp overflow, s -> 0 or 1
        return x;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(16)]
    [InlineData(33)]
    [InlineData(1000)]
    public void GeluTanhBackward_MatchesTheFloat64Reference(int n)
    {
        var x = Inputs(n, (ulong)n);
        var dy = new Rng(99).Normal(n).ToArray();
        var fast = new float[n];
        var reference = new float[n];
        UnaryKernels.GeluTanhBackward(fast, dy, x);
        UnaryKernels.GeluTanhBackwardReference(reference, dy, x);
        for (int i = 0; i < n; i++)
            Assert.True(Math.Abs(fast[i] - reference[i]) <= 2e-6 * (1 + Math.Abs(reference[i]) + Math.Abs(dy[i])),
                        $"x {x[i]} dy {dy[i]}: {fast[i]} against {reference[i]}");
    }

    [Fact]
    public void GeluTanhBackward_SplitAnywhere_SameBitsAsWhole()
    {
        const int n = 301;
        var x = Inputs(n, 5);
        var dy = new Rng(6).Normal(n).ToArray();
        var whole = new float[n];
        UnaryKernels.GeluTanhBackward(whole, dy, x);
        foreach (int cut in new[] { 1, 8, 13, 150, 300 })
        {
            var split = new float[n];
            UnaryKernels.GeluTanhBackward(split.AsSpan(0, cut), dy.AsSpan(0, cut), x.AsSpan(0, cut));
            UnaryKernels.GeluTanhBackward(split.AsSpan(cut), dy.AsSpan(cut), x.AsSpan(cut));
            Assert.Equal(whole, split);
        }
    }

    [Fact]
    public void GeluTanhBackward_LengthsDiffer_Throws() =>
        Assert.Throws<ArgumentException>(() => UnaryKernels.GeluTanhBackward(new float[4], new float[4], new float[3]));
}
