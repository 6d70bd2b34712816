// Comparisons of tensors with float64 references and with each other. Tolerances are relative with an absolute
// floor: |actual - expected| <= atol + rtol * |expected|, so near-zero values do not demand impossible precision.
using Spacetime.Engine;

namespace Spacetime.Tests.TestKit;

public static class TensorAssert
{
    public static void Close(double[] expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string what = "")
    {
        var a = actual.ToArray();
        Assert.True(expected.Length == a.Length, $"{what}: {a.Length} elements, expected {expected.Length}.");
        Close(expected, a.Select(v => (double)v).ToArray(), rtol, atol, what);
    }

    public static void Close(double[] expected, double[] actual, double rtol, double atol, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = 0;
        int at = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            if (double.IsNaN(expected[i]) && double.IsNaN(actual[i])) continue;
            double err = Math.Abs(actual[i] - expected[i]) - (atol + rtol * Math.Abs(expected[i]));
            if (!(err <= worst) || double.IsNaN(actual[i])) { worst = double.IsNaN(err) ? double.PositiveInfinity : err; at = i; }
        }
        Assert.True(at < 0, at < 0 ? "" :
            $"{what}: element {at} is {actual[at]:G9}, expected {expected[at]:G9} (rtol {rtol}, atol {atol}).");
    }

    public static void ShapeIs(Tensor t, params int[] shape) =>
        Assert.True(t.Shape.SequenceEqual(shape), $"shape ({string.Join(", ", t.Shape.ToArray())}), " +
                                                  $"expected ({string.Join(", ", shape)})");

    public static void BitwiseEqual(float[] a, float[] b, string what = "")
    {
        Assert.True(a.Length == b.Length, $"{what}: lengths {a.Length} and {b.Length}.");
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]))
                Assert.Fail($"{what}: element {i} differs: {a[i]:G9} vs {b[i]:G9}.");
    }
}
