// Tile building blocks for the fused attention kernels (AttentionKernels.cs): two register-blocked Vector512 FMA
// micro-kernels, a vectorised exp2, and per-thread scratch.
//
// Every tile in the fused kernels is "query-lane" shaped: the 16 lanes of a vector run over queries (or, in the dK/dV
// products, over head dims), rows run over keys (or head dims). So a score tile is S^T (keys, queries), its softmax
// max and sum are plain vertical vector ops, and neither Q^T K nor P V needs K or V transposed: their elements are
// broadcast straight from the strided source rows. Both micro-kernels compute an (up to) 8 x 32 tile
//     C[i, 0..32) (+)= sum_k A(i, k) * Bm[k, 0..32)
// where Bm is a row-major buffer with 32 readable floats per row (zero padded) and A(i, k) is broadcast from
//     MicroRows: a[i * lda + k]   (A's rows are contiguous: K rows for S^T = K Q^T, P^T rows for dV = P^T dO)
//     MicroCols: a[k * lda + i]   (A's columns are contiguous: V rows for O^T = V^T P^T, K rows for dQ^T = K^T dS^T)
// 8 x 32 keeps 16 accumulators + 2 B vectors + 1 broadcast in the 32 zmm registers; per k step 16 FMAs against
// 2 vector loads and 8 scalar broadcasts, so the loop is FMA bound. Rows past the last multiple of 8 use the
// one-row variants (slow, only for ragged tile edges and odd head dims).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spacetime.Engine.Kernels;

public static unsafe partial class AttentionKernels
{
    const int MR = 8;    // micro-tile rows
    const int NR = 32;   // micro-tile lanes (two Vector512<float>)

    /// <summary>True where the tiled Vector512 kernels run; elsewhere the entry points use the reference.</summary>
    internal static bool TiledSupported => Avx512F.IsSupported && Vector512.IsHardwareAccelerated;

    // C[0..8, 0..32) (+)= A[0..8, 0..kc) Bm[0..kc, 0..32), A(i, k) = a[i * lda + k].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MicroRows8(int kc, float* a, long lda, float* b, long ldb, float* c, long ldc, bool accumulate)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        float* a0 = a, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        float* a4 = a3 + lda, a5 = a4 + lda, a6 = a5 + lda, a7 = a6 + lda;
        for (int k = 0; k < kc; k++, b += ldb)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16), x;
            x = Vector512.Create(a0[k]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[k]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[k]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[k]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[k]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[k]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a6[k]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a7[k]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
        }
        Put(c, c00, c01, accumulate); Put(c + ldc, c10, c11, accumulate);
        Put(c + 2 * ldc, c20, c21, accumulate); Put(c + 3 * ldc, c30, c31, accumulate);
        Put(c + 4 * ldc, c40, c41, accumulate); Put(c + 5 * ldc, c50, c51, accumulate);
        Put(c + 6 * ldc, c60, c61, accumulate); Put(c + 7 * ldc, c70, c71, accumulate);
    }

    // C[0..8, 0..32) (+)= A[0..8, 0..kc) Bm[0..kc, 0..32), A(i, k) = a[k * lda + i].
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MicroCols8(int kc, float* a, long lda, float* b, long ldb, float* c, long ldc, bool accumulate)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < kc; k++, a += lda, b += ldb)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16), x;
            x = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(x, b0, c00); c01 = Avx512F.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(x, b0, c10); c11 = Avx512F.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(x, b0, c20); c21 = Avx512F.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(x, b0, c30); c31 = Avx512F.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(x, b0, c40); c41 = Avx512F.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(x, b0, c50); c51 = Avx512F.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(x, b0, c60); c61 = Avx512F.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(x, b0, c70); c71 = Avx512F.FusedMultiplyAdd(x, b1, c71);
        }
        Put(c, c00, c01, accumulate); Put(c + ldc, c10, c11, accumulate);
        Put(c + 2 * ldc, c20, c21, accumulate); Put(c + 3 * ldc, c30, c31, accumulate);
        Put(c + 4 * ldc, c40, c41, accumulate); Put(c + 5 * ldc, c50, c51, accumulate);
        Put(c + 6 * ldc, c60, c61, accumulate); Put(c + 7 * ldc, c70, c71, accumulate);
    }

    // One row: C[0, 0..32) (+)= sum_k a[k * ak] Bm[k, 0..32). ak = 1 for MicroRows' layout, lda for MicroCols'.
    static void MicroRow1(int kc, float* a, long ak, float* b, long ldb, float* c, bool accumulate)
    {
        Vector512<float> c0 = default, c1 = default;
        for (int k = 0; k < kc; k++, a += ak, b += ldb)
        {
            var x = Vector512.Create(*a);
            c0 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b), c0);
            c1 = Avx512F.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
        }
        Put(c, c0, c1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put(float* c, Vector512<float> lo, Vector512<float> hi, bool accumulate)
    {
        if (accumulate)
        {
            lo += Vector512.Load(c);
            hi += Vector512.Load(c + 16);
        }
        Vector512.Store(lo, c);
        Vector512.Store(hi, c + 16);
    }

    // C[0..m, 32 * panels) (+)= A[0..m, 0..kc) Bm: MicroRows8 over row blocks, MicroRow1 for the last m % 8 rows.
    static void GemmRows(int m, int panels, int kc, float* a, long lda, float* b, long ldb, float* c, long ldc,
                         bool accumulate)
    {
        int i = 0;
        for (; i + MR <= m; i += MR)
            for (int p = 0; p < panels; p++)
                MicroRows8(kc, a + i * lda, lda, b + p * NR, ldb, c + i * ldc + p * NR, ldc, accumulate);
        for (; i < m; i++)
            for (int p = 0; p < panels; p++)
                MicroRow1(kc, a + i * lda, 1, b + p * NR, ldb, c + i * ldc + p * NR, accumulate);
    }

    // C[0..m, 32 * panels) (+)= A[0..m, 0..kc) Bm with A(i, k) = a[k * lda + i].
    static void GemmCols(int m, int panels, int kc, float* a, long lda, float* b, long ldb, float* c, long ldc,
                         bool accumulate)
    {
        int i = 0;
        for (; i + MR <= m; i += MR)
            for (int p = 0; p < panels; p++)
                MicroCols8(kc, a + i, lda, b + p * NR, ldb, c + i * ldc + p * NR, ldc, accumulate);
        for (; i < m; i++)
            for (int p = 0; p < panels; p++)
                MicroRow1(kc, a + i, lda, b + p * NR, ldb, c + i * ldc + p * NR, accumulate);
    }

    // 2^x for x <= ~0 (softmax arguments), relative error < 1e-7: x = n + f with n = round(x), |f| <= 1/2,
    // 2^f from a degree-6 polynomial (Chebyshev-node fit, 1.9e-8 max relative error on [-1/2, 1/2]) and the
    // result scaled by 2^n with vscalefps. Clamping at -160 makes -inf (a masked score) give exactly 0.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Exp2(Vector512<float> x)
    {
        x = Avx512F.Max(x, Vector512.Create(-160f));
        Vector512<float> n = Avx512F.RoundScale(x, 0);   // round to nearest
        Vector512<float> f = x - n;
        Vector512<float> p = Vector512.Create(1.546144485e-04f);
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(1.340042800e-03f));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(9.618056938e-03f));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(5.550327152e-02f));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(2.402265072e-01f));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512.Create(6.931471825e-01f));
        p = Avx512F.FusedMultiplyAdd(p, f, Vector512<float>.One);
        return Avx512F.Scale(p, n);
    }

    // Per-thread scratch: a pinned (never moving) array, handed out 64-byte aligned. Grows, never shrinks.
    [ThreadStatic] static float[]? scratch;

    static float* Scratch(long floats)
    {
        if (scratch is null || scratch.LongLength < floats + 16)
        {
            if (floats + 16 > Array.MaxLength)
                throw new ArgumentException($"AttentionKernels: needs {floats} floats of scratch, more than an array holds.");
            scratch = GC.AllocateUninitializedArray<float>((int)(floats + 16), pinned: true);
        }
        nint p = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(scratch));
        return (float*)((p + 63) & ~(nint)63);
    }

    static int RoundUp(int x, int m) => (x + m - 1) / m * m;
}
