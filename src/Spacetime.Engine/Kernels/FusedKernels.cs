// Fused kernels for the DiT block's glue, forward and backward side by side. Sizes: B batch, N tokens, D hidden.
// The other DiT fusions live with their families: fc1 + bias + GELU is MatMulKernels.GemmBiasGelu (a GEMM epilogue),
// LayerNorm + adaLN modulate is NormKernels.LayerNormModulateForward/Backward, SiLU + linear is F.SiluLinear (SiLU of
// the tiny (B, D) conditioning into a pooled scratch, then the packed GEMM).
//
// Gated residual add (adaLN-Zero's x + gate.unsqueeze(1) * y):
//   out[b, n, :] = x[b, n, :] + gate[gb, gn, :] * y[b, n, :]
//   gate is (GB, GN, D) with GB in {1, B} and GN in {1, N}: gb = GB == 1 ? 0 : b, gn = GN == 1 ? 0 : n
//   (DiT's (B, D) gate is GB = B, GN = 1; a packed sequence's per-token gate is GB = 1, GN = N).
//   Nothing is cached for backward beyond the inputs (gate and y).
//   Backward: dx = dy (handed over by the op, no kernel); dy_y = dy * gate; dgate[gb, gn, :] = sum of dy * y over the
//   rows (b, n) that read that gate row, in row order. Rows are split over threads for out and dy_y; dgate is split
//   over (gate row, column block) items, each summed in the same order whatever the thread count.
// Version 1: a Vector256 row loop (forward), TensorPrimitives on whole rows (backward); scalar forms in comments.
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Spacetime.Engine.Kernels;

internal static class FusedKernels
{
    const int ColumnBlock = 64;     // columns per work item in the dgate sums

    // out: (B, N, D)   x, y: (B, N, D) dense from xOff, yOff   gate: (GB, GN, D) dense from 0.
    public static void GatedAddForward(float[] output, float[] x, int xOff, float[] gate, float[] y, int yOff,
                                       int B, int N, int D, int GB, int GN)
    {
        Par.ForRange(B * N, 2L * D, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
                GatedAddRow(output.AsSpan(r * D, D), x.AsSpan(xOff + r * D, D),
                            gate.AsSpan(GateRow(r, N, GB, GN) * D, D), y.AsSpan(yOff + r * D, D));
        });
    }

    // dgate: (GB, GN, D) or null (overwritten)   dyOut: (B, N, D) or null (overwritten: dL/dy = dy * gate)
    // dy, y: (B, N, D) dense from dyOff, yOff   gate: (GB, GN, D) dense from 0.
    public static void GatedAddBackward(float[]? dgate, float[]? dyOut, float[] dy, int dyOff, float[] gate,
                                        float[] y, int yOff, int B, int N, int D, int GB, int GN)
    {
        if (dyOut is not null)
            Par.ForRange(B * N, D, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                    TensorPrimitives.Multiply(dy.AsSpan(dyOff + r * D, D), gate.AsSpan(GateRow(r, N, GB, GN) * D, D),
                                              dyOut.AsSpan(r * D, D));
            });
        if (dgate is null || D == 0) return;
        int blocks = (D + ColumnBlock - 1) / ColumnBlock, rowsPerGate = (GB == 1 ? B : 1) * (GN == 1 ? N : 1);
        Par.For(GB * GN * blocks, 2L * rowsPerGate * ColumnBlock, item =>
        {
            int gr = item / blocks, c0 = item % blocks * ColumnBlock, w = Math.Min(ColumnBlock, D - c0);
            int gb = gr / GN, gn = gr % GN;
            Span<float> acc = dgate.AsSpan(gr * D + c0, w);
            acc.Clear();
            int b0 = GB == 1 ? 0 : gb, b1 = GB == 1 ? B : gb + 1, n0 = GN == 1 ? 0 : gn, n1 = GN == 1 ? N : gn + 1;
            for (int b = b0; b < b1; b++)
                for (int n = n0; n < n1; n++)
                {
                    int r = b * N + n;                                      // acc += dy * y, rows in order
                    TensorPrimitives.MultiplyAdd(dy.AsSpan(dyOff + r * D + c0, w), y.AsSpan(yOff + r * D + c0, w),
                                                 acc, acc);
                }
        });
    }

    // out[i] = x[i] + g[i] * y[i], a multiply and an add (rounded twice, as the unfused ops). By hand: the three-input
    // TensorPrimitives.MultiplyAdd measured up to 2x slower than this loop on rows of 384 (.NET 10, AVX2).
    static void GatedAddRow(Span<float> o, ReadOnlySpan<float> x, ReadOnlySpan<float> g, ReadOnlySpan<float> y)
    {
        int n = o.Length, i = 0;
        if (x.Length < n || g.Length < n || y.Length < n) throw new ArgumentException("GatedAddRow: short input.");
        ref float ro = ref MemoryMarshal.GetReference(o);
        ref float rx = ref MemoryMarshal.GetReference(x);
        ref float rg = ref MemoryMarshal.GetReference(g);
        ref float ry = ref MemoryMarshal.GetReference(y);
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.LoadUnsafe(ref rg, (nuint)i) * Vector256.LoadUnsafe(ref ry, (nuint)i);
            (Vector256.LoadUnsafe(ref rx, (nuint)i) + v).StoreUnsafe(ref ro, (nuint)i);
        }
        for (; i < n; i++) o[i] = x[i] + g[i] * y[i];
    }

    // The gate row read by token row r = b N + n.
    static int GateRow(int r, int N, int GB, int GN) => (GB == 1 ? 0 : r / N) * GN + (GN == 1 ? 0 : r % N);
}
