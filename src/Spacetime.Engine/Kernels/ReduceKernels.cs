// Row reductions: the input is (R, K) dense, every row of K elements reduces to one number.
// The ops in Ops/Reduce.cs permute the reduced axes to the end so every reduction becomes this shape.
using System.Numerics.Tensors;

namespace Spacetime.Engine.Kernels;

internal static class ReduceKernels
{
    // out: (R)   x: (R, K)
    public static void SumForward(float[] output, float[] x, int xOff, int R, int K, float scale)
    {
        Par.ForRange(R, K, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++) output[r] = TensorPrimitives.Sum(x.AsSpan(xOff + r * K, K)) * scale;
        });
    }

    // out, argmax: (R)   x: (R, K); the first index of the maximum is kept for backward. NaN propagates.
    public static void MaxForward(float[] output, int[] argmax, float[] x, int xOff, int R, int K)
    {
        Par.ForRange(R, K, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                var row = x.AsSpan(xOff + r * K, K);
                int i = TensorPrimitives.IndexOfMax(row);
                argmax[r] = i;
                output[r] = row[i];
            }
        });
    }

    // out, mean: (R)   x: (R, K); variance with Bessel-style correction: sum (x - mean)^2 / (K - correction).
    public static void VarForward(float[] output, float[] mean, float[] x, int xOff, int R, int K, int correction)
    {
        Par.ForRange(R, 2L * K, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                var row = x.AsSpan(xOff + r * K, K);
                float m = TensorPrimitives.Sum(row) / K;
                double ss = 0;                                   // two-pass variance, accumulated in double
                foreach (float v in row) ss += (double)(v - m) * (v - m);
                mean[r] = m;
                output[r] = (float)(ss / Math.Max(K - correction, 0));
            }
        });
    }
}
