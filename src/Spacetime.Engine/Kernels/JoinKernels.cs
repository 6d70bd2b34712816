// Index kernels for Gather (torch.index_select) and Embedding. The tensor is viewed as (outer, n, inner): the
// indexed dim in the middle, everything before it folded into outer, everything after into inner. Embedding is the
// case outer = 1, with the (V, D) weight as (1, V, D).
//
//   forward:  y[o, i, :]          = x[o, index[i], :]        y: (outer, I, inner)   x: (outer, n, inner)
//   backward: dx[o, index[i], :] += dy[o, i, :]              repeated indices accumulate, in ascending i
//
// Nothing is cached for backward but the index array. The caller checks every index is in [0, n) once; the
// kernels trust it. The backward splits work over (outer, column block) pairs, never over i, so each element of
// dx is summed in ascending i whatever the thread count (1 and 2 threads agree bitwise).
using System.Numerics.Tensors;

namespace Spacetime.Engine.Kernels;

internal static class JoinKernels
{
    // Columns per backward work item: wide enough for TensorPrimitives, narrow enough to split an embedding's D.
    const int ColumnBlock = 256;

    // y: (outer, I, inner) dense   x: (outer, n, inner) dense from xOff   index: (I), each in [0, n)
    public static void GatherForward(float[] y, float[] x, long xOff, int[] index, int outer, int n, int inner)
    {
        int I = index.Length;
        Par.ForRange(outer * I, inner, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int o = r / I, i = r % I;
                x.AsSpan((int)(xOff + ((long)o * n + index[i]) * inner), inner).CopyTo(y.AsSpan(r * inner, inner));
            }
        });
    }

    // dx: (outer, n, inner) dense, zeroed by the caller   dy: (outer, I, inner) dense from dyOff   index: (I)
    public static void GatherBackward(float[] dx, float[] dy, long dyOff, int[] index, int outer, int n, int inner)
    {
        int I = index.Length, blocks = (inner + ColumnBlock - 1) / ColumnBlock;
        Par.ForRange(outer * blocks, (long)I * Math.Min(inner, ColumnBlock), (s, e) =>
        {
            for (int item = s; item < e; item++)
            {
                int o = item / blocks, c0 = item % blocks * ColumnBlock, width = Math.Min(ColumnBlock, inner - c0);
                for (int i = 0; i < I; i++)
                {
                    var dst = dx.AsSpan((int)(((long)o * n + index[i]) * inner + c0), width);
                    TensorPrimitives.Add(dst, dy.AsSpan((int)(dyOff + ((long)o * I + i) * inner + c0), width), dst);
                }
            }
        });
    }
}
