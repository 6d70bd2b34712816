// FastMath's vector exponentials against float64 Math.Exp / Math.Pow(2, x): relative error over the range the kernels
// use, the clamps (0 from 2^-127 down, +inf from 2^127.5 up), NaN kept, and both vector widths giving the same bits.
using System.Runtime.Intrinsics;
using Spacetime.Engine.Kernels;

namespace Spacetime.Tests.Engine;

public class FastMathTests
{
    // x from -140 to 140 in steps that hit no round number, then the edges
    static readonly float[] Xs = [.. Enumerable.Range(-2800, 5601).Select(i => i * 0.0500137f),
                                  -127f, -126.5f, 0f, -0f, 127.4f, 128f, 200f, float.NegativeInfinity,
                                  float.PositiveInfinity];

    static float[] Map(Func<Vector512<float>, Vector512<float>> wide, Func<Vector256<float>, Vector256<float>> narrow,
                       out float[] narrowOut)
    {
        int n = (Xs.Length + 15) / 16 * 16;
        var x = new float[n];
        Xs.CopyTo(x, 0);
        var y = new float[n];
        narrowOut = new float[n];
        for (int i = 0; i < n; i += 16) wide(Vector512.Create(x.AsSpan(i, 16))).CopyTo(y.AsSpan(i, 16));
        for (int i = 0; i < n; i += 8) narrow(Vector256.Create(x.AsSpan(i, 8))).CopyTo(narrowOut.AsSpan(i, 8));
        return y;
    }

    [Fact]
    public void Exp2_MatchesFloat64_ClampsAndKeepsNaN()
    {
        var y = Map(FastMath.Exp2, FastMath.Exp2, out var y256);
        Assert.Equal(y, y256);                                                          // the widths agree bit for bit
        for (int i = 0; i < Xs.Length; i++)
        {
            double x = Xs[i], want = Math.Pow(2, x);
            if (x <= -127) Assert.Equal(0f, y[i]);
            else if (x > 127.5) Assert.Equal(float.PositiveInfinity, y[i]);             // n = 128: all-ones exponent
            else if (want < 1e-37) Assert.InRange(y[i], 0f, 2e-37f);                     // denormal range: scale only
            else Assert.True(Math.Abs(y[i] - want) <= 2e-7 * want, $"2^{x}: {y[i]} against {want}");
        }
        Assert.True(float.IsNaN(FastMath.Exp2(Vector512.Create(float.NaN))[0]));
        Assert.True(float.IsNaN(FastMath.Exp2(Vector256.Create(float.NaN))[0]));
    }

    [Fact]
    public void Exp_MatchesFloat64WithinTheProductsRounding()
    {
        var y = Map(FastMath.Exp, FastMath.Exp, out var y256);
        Assert.Equal(y, y256);
        for (int i = 0; i < Xs.Length; i++)
        {
            double x = Xs[i], want = Math.Exp(x);
            if (!double.IsFinite(x) || want < 1e-37 || want > 1e38) continue;           // the clamps, tested above
            // rounding x log2(e) to float costs |x| 2^-24 relative, the polynomial 2e-7
            double tol = 2e-7 + Math.Abs(x) * Math.Pow(2, -23);
            Assert.True(Math.Abs(y[i] - want) <= tol * want, $"e^{x}: {y[i]} against {want}");
        }
        Assert.Equal(float.PositiveInfinity, FastMath.Exp(Vector512.Create(100f))[0]);
        Assert.Equal(0f, FastMath.Exp(Vector512.Create(-100f))[0]);
    }
}
