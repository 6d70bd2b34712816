// Tile building blocks for the fused attention kernels (AttentionKernels.cs): register-blocked FMA micro-kernels
// in two widths, a vectorised exp2, and per-thread scratch.
//
// Every tile in the fused kernels is "query-lane" shaped: the 16 lanes of a vector run over queries (or, in the dK/dV
// products, over head dims), rows run over keys (or head dims). So a score tile is S^T (keys, queries), its softmax
// max and sum are plain vertical vector ops, and neither Q^T K nor P V needs K or V transposed: their elements are
// broadcast straight from the strided source rows. Both micro-kernels compute an (up to) 8 x 32 tile
//     C[i, 0..32) (+)= sum_k A(i, k) * Bm[k, 0..32)
// where Bm is a row-major buffer with 32 readable floats per row (zero padded) and A(i, k) is broadcast from
//     MicroRows: a[i * lda + k]   (A's rows are contiguous: K rows for S^T = K Q^T, P^T rows for dV = P^T dO)
//     MicroCols: a[k * lda + i]   (A's columns are contiguous: V rows for O^T = V^T P^T, K rows for dQ^T = K^T dS^T)
// Wide (Vector512, where accelerated): 8 x 32 keeps 16 accumulators + 2 B vectors + 1 broadcast in the 32 zmm
// registers; per k step 16 FMAs against 2 vector loads and 8 broadcasts, so the loop is FMA bound. Written with the
// portable Vector512 API, so tests can also run it (slowly, emulated) on machines without AVX-512.
// Narrow (Vector256 + FMA, e.g. Zen 3): 6 x 16 and 4 x 16 (12 or 8 accumulators of the 16 ymm registers).
// Rows left over use one-row variants (slow, only for ragged tile edges and odd head dims). Softmax and exp2 run at
// the micro-kernel's width; key/segment masking (rare tiles) on Vector256 for both.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spacetime.Engine.Kernels;

public static unsafe partial class AttentionKernels
{
    const int WideNR = 32;     // lanes of the wide micro-tile (two Vector512<float>)
    const int NarrowNR = 16;   // lanes of the narrow micro-tile (two Vector256<float>)

    /// <summary>True where the tiled kernels run (AVX2 + FMA); elsewhere the entry points use the reference.</summary>
    internal static bool TiledSupported => Avx2.IsSupported && Fma.IsSupported;

    /// <summary>Use the Vector512 micro-kernels (default: where Vector512 is accelerated). Tests may flip it.</summary>
    internal static bool WideKernels = Vector512.IsHardwareAccelerated;

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
            x = Vector512.Create(a0[k]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a1[k]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a2[k]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a3[k]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a4[k]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a5[k]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a6[k]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a7[k]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
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
            x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
        }
        Put(c, c00, c01, accumulate); Put(c + ldc, c10, c11, accumulate);
        Put(c + 2 * ldc, c20, c21, accumulate); Put(c + 3 * ldc, c30, c31, accumulate);
        Put(c + 4 * ldc, c40, c41, accumulate); Put(c + 5 * ldc, c50, c51, accumulate);
        Put(c + 6 * ldc, c60, c61, accumulate); Put(c + 7 * ldc, c70, c71, accumulate);
    }

    // One wide row: C[0, 0..32) (+)= sum_k a[k * ak] Bm[k, 0..32). ak = 1 for MicroRows' layout, lda for MicroCols'.
    static void MicroRow1(int kc, float* a, long ak, float* b, long ldb, float* c, bool accumulate)
    {
        Vector512<float> c0 = default, c1 = default;
        for (int k = 0; k < kc; k++, a += ak, b += ldb)
        {
            var x = Vector512.Create(*a);
            c0 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b), c0);
            c1 = Vector512.FusedMultiplyAdd(x, Vector512.Load(b + 16), c1);
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

    // ---------------------------------------------------------------------------------- narrow (Vector256 + FMA)

    // C[0..6, 0..16) (+)= A Bm with A(i, k) = a[i * ai + k * ak] (ai = lda, ak = 1: rows; ai = 1, ak = lda: cols).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Micro6x16(int kc, float* a, long ai, long ak, float* b, long ldb, float* c, long ldc, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        float* a0 = a, a1 = a0 + ai, a2 = a1 + ai, a3 = a2 + ai, a4 = a3 + ai, a5 = a4 + ai;
        for (long k = 0, kk = 0; k < kc; k++, kk += ak, b += ldb)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8), x;
            x = Vector256.Create(a0[kk]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[kk]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[kk]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[kk]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
            x = Vector256.Create(a4[kk]); c40 = Fma.MultiplyAdd(x, b0, c40); c41 = Fma.MultiplyAdd(x, b1, c41);
            x = Vector256.Create(a5[kk]); c50 = Fma.MultiplyAdd(x, b0, c50); c51 = Fma.MultiplyAdd(x, b1, c51);
        }
        Put(c, c00, c01, accumulate); Put(c + ldc, c10, c11, accumulate); Put(c + 2 * ldc, c20, c21, accumulate);
        Put(c + 3 * ldc, c30, c31, accumulate); Put(c + 4 * ldc, c40, c41, accumulate);
        Put(c + 5 * ldc, c50, c51, accumulate);
    }

    // C[0..4, 0..16) (+)= A Bm, A as in Micro6x16.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Micro4x16(int kc, float* a, long ai, long ak, float* b, long ldb, float* c, long ldc, bool accumulate)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        float* a0 = a, a1 = a0 + ai, a2 = a1 + ai, a3 = a2 + ai;
        for (long k = 0, kk = 0; k < kc; k++, kk += ak, b += ldb)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8), x;
            x = Vector256.Create(a0[kk]); c00 = Fma.MultiplyAdd(x, b0, c00); c01 = Fma.MultiplyAdd(x, b1, c01);
            x = Vector256.Create(a1[kk]); c10 = Fma.MultiplyAdd(x, b0, c10); c11 = Fma.MultiplyAdd(x, b1, c11);
            x = Vector256.Create(a2[kk]); c20 = Fma.MultiplyAdd(x, b0, c20); c21 = Fma.MultiplyAdd(x, b1, c21);
            x = Vector256.Create(a3[kk]); c30 = Fma.MultiplyAdd(x, b0, c30); c31 = Fma.MultiplyAdd(x, b1, c31);
        }
        Put(c, c00, c01, accumulate); Put(c + ldc, c10, c11, accumulate); Put(c + 2 * ldc, c20, c21, accumulate);
        Put(c + 3 * ldc, c30, c31, accumulate);
    }

    // One narrow row: C[0, 0..16) (+)= sum_k a[k * ak] Bm[k, 0..16).
    static void Micro1x16(int kc, float* a, long ak, float* b, long ldb, float* c, bool accumulate)
    {
        Vector256<float> c0 = default, c1 = default;
        for (int k = 0; k < kc; k++, a += ak, b += ldb)
        {
            var x = Vector256.Create(*a);
            c0 = Fma.MultiplyAdd(x, Vector256.Load(b), c0);
            c1 = Fma.MultiplyAdd(x, Vector256.Load(b + 8), c1);
        }
        Put(c, c0, c1, accumulate);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put(float* c, Vector256<float> lo, Vector256<float> hi, bool accumulate)
    {
        if (accumulate)
        {
            lo += Vector256.Load(c);
            hi += Vector256.Load(c + 8);
        }
        Vector256.Store(lo, c);
        Vector256.Store(hi, c + 8);
    }

    // ----------------------------------------------------------------------------------------------- drivers

    // C[0..m, nr * panels) (+)= A[0..m, 0..kc) Bm, A(i, k) = a[i * ai + k * ak]; nr is the micro-tile width (32 wide,
    // 16 narrow). Rows go in blocks of 8 (wide) or 6 and 4 (narrow; 8 leftover rows as 4 + 4), then one at a time.
    static void Gemm(int nr, int m, int panels, int kc, float* a, long ai, long ak, float* b, long ldb,
                     float* c, long ldc, bool accumulate)
    {
        int i = 0;
        if (nr == WideNR)
        {
            for (; i + 8 <= m; i += 8)
                for (int p = 0; p < panels; p++)
                {
                    if (ak == 1) MicroRows8(kc, a + i * ai, ai, b + p * nr, ldb, c + i * ldc + p * nr, ldc, accumulate);
                    else MicroCols8(kc, a + i * ai, ak, b + p * nr, ldb, c + i * ldc + p * nr, ldc, accumulate);
                }
            for (; i < m; i++)
                for (int p = 0; p < panels; p++)
                    MicroRow1(kc, a + i * ai, ak, b + p * nr, ldb, c + i * ldc + p * nr, accumulate);
            return;
        }
        for (int p = 0; p < panels; p++)   // panel outer: its B slice (kc x 16) stays in L1 while A streams
        {
            float* bp = b + p * nr, cp = c + p * nr;
            for (i = 0; i + 6 <= m && m - i != 8; i += 6)
                Micro6x16(kc, a + i * ai, ai, ak, bp, ldb, cp + i * ldc, ldc, accumulate);
            for (; i + 4 <= m; i += 4)
                Micro4x16(kc, a + i * ai, ai, ak, bp, ldb, cp + i * ldc, ldc, accumulate);
            for (; i < m; i++)
                Micro1x16(kc, a + i * ai, ak, bp, ldb, cp + i * ldc, accumulate);
        }
    }

    // A's rows contiguous: A(i, k) = a[i * lda + k].
    static void GemmRows(int nr, int m, int panels, int kc, float* a, long lda, float* b, long ldb, float* c, long ldc,
                         bool accumulate) => Gemm(nr, m, panels, kc, a, lda, 1, b, ldb, c, ldc, accumulate);

    // A's columns contiguous: A(i, k) = a[k * lda + i].
    static void GemmCols(int nr, int m, int panels, int kc, float* a, long lda, float* b, long ldb, float* c, long ldc,
                         bool accumulate) => Gemm(nr, m, panels, kc, a, 1, lda, b, ldb, c, ldc, accumulate);

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
