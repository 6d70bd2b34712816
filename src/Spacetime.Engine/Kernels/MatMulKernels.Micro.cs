// MatMulKernels, part 2: panel packing and the register-tile micro-kernels of the packed GEMM (v2).
//
// A packed panel is `width` consecutive rows of op(A) (width = MR) or columns of op(B) (width = NR), stored
// [kc][width]: for each k, the width values the micro-kernel multiplies together, so it reads both operands with
// unit stride. Missing rows/columns (a partial panel) are zeros; their results land in a scratch tile.
//
// Scalar meaning of a micro-kernel (the reference it must equal up to summation order, which is k ascending):
//   for r < MR, x < NR: C[r, x] = (acc ? C[r, x] : 0) + sum_k Apanel[k][r] * Bpanel[k][x] + (bias ? bias[x] : 0)
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spacetime.Engine.Kernels;

public static unsafe partial class MatMulKernels
{
    // dst[k * width + x] = element (k, x) for x < valid, 0 for valid <= x < width, k < kc, where element (k, x) is
    //   src[x * ld + k] when kContiguous (A as stored M x K, B as stored N x K), or
    //   src[k * ld + x] otherwise              (A as stored K x M, B as stored K x N).
    // A full 6-wide panel may write 2 floats past its end (overlapping 8-wide stores): the next panel, packed after
    // it, overwrites them, and buffers keep 8 floats of slack.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackPanel(float* src, long ld, bool kContiguous, int width, int valid, int kc, float* dst)
    {
        if (valid == width && (width % 8 == 0 || width == 6))
        {
            if (kContiguous) PackTransposed(src, ld, width, kc, dst);
            else PackCopy(src, ld, width, kc, dst);
            return;
        }
        if (kContiguous)
        {
            for (int x = 0; x < width; x++)
                for (int k = 0; k < kc; k++)
                    dst[k * width + x] = x < valid ? src[x * ld + k] : 0f;
            return;
        }
        for (int k = 0; k < kc; k++, src += ld, dst += width)
            for (int x = 0; x < width; x++)
                dst[x] = x < valid ? src[x] : 0f;
    }

    // k along the rows: each k is `width` contiguous floats, copied 8 at a time (6 as 4 + 2).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackCopy(float* src, long ld, int width, int kc, float* dst)
    {
        if (width == 6)
        {
            for (int k = 0; k < kc; k++, src += ld, dst += 6)
            {
                Vector128.Store(Vector128.Load(src), dst);
                *(long*)(dst + 4) = *(long*)(src + 4);
            }
            return;
        }
        for (int k = 0; k < kc; k++, src += ld, dst += width)
            for (int x = 0; x < width; x += 8)
                Vector256.Store(Vector256.Load(src + x), dst + x);
    }

    // k along the contiguous dimension: 8 x 8 blocks transposed in registers, 8 k at a time. A 6-wide panel uses
    // rows 6 and 7 of zeros and stores 8 floats per k at a stride of 6 (each store's extra 2 are overwritten).
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackTransposed(float* src, long ld, int width, int kc, float* dst)
    {
        int k = 0;
        for (; k + 8 <= kc; k += 8)
            for (int x = 0; x < width; x += 8)
                Transpose8x8(src + x * ld + k, ld, Math.Min(8, width - x), dst + (long)k * width + x, width);
        for (; k < kc; k++)
            for (int x = 0; x < width; x++)
                dst[(long)k * width + x] = src[x * ld + k];
    }

    // dst[t * dstStride + r] = src[r * srcStride + t] for t < 8 and r < rows (8 or 6; rows 6 and 7 are then zero).
    // AVX: unpack pairs of rows, shuffle groups of four, swap 128-bit halves.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* src, long srcStride, int rows, float* dst, long dstStride)
    {
        Vector256<float> r0 = Vector256.Load(src), r1 = Vector256.Load(src + srcStride);
        Vector256<float> r2 = Vector256.Load(src + 2 * srcStride), r3 = Vector256.Load(src + 3 * srcStride);
        Vector256<float> r4 = Vector256.Load(src + 4 * srcStride), r5 = Vector256.Load(src + 5 * srcStride);
        Vector256<float> r6 = default, r7 = default;
        if (rows == 8) { r6 = Vector256.Load(src + 6 * srcStride); r7 = Vector256.Load(src + 7 * srcStride); }
        // pairs of rows interleaved: t0 = (r0[0] r1[0] r0[1] r1[1] | r0[4] r1[4] r0[5] r1[5]) ...
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // groups of four rows: u0 = columns 0 and 4 of rows 0..3, u1 = columns 1 and 5, ...
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // join the halves of rows 0..3 and 4..7: column t of all eight rows
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x20), dst);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x20), dst + dstStride);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x20), dst + 2 * dstStride);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x20), dst + 3 * dstStride);
        Vector256.Store(Avx.Permute2x128(u0, u4, 0x31), dst + 4 * dstStride);
        Vector256.Store(Avx.Permute2x128(u1, u5, 0x31), dst + 5 * dstStride);
        Vector256.Store(Avx.Permute2x128(u2, u6, 0x31), dst + 6 * dstStride);
        Vector256.Store(Avx.Permute2x128(u3, u7, 0x31), dst + 7 * dstStride);
    }

    // C[8,32] (+)= Apanel[kc][8] · Bpanel[kc][32] (+ bias[32]).
    // 16 zmm accumulators; per k: 2 loads of B, 8 broadcasts of A, 16 FMAs (Zen 5 retires 2 zmm FMAs per cycle).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void Kernel8x32(int kc, float* a, float* b, float* c, long ldc, bool acc, float* bias)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        for (int k = 0; k < kc; k++, a += 8, b += 32)
        {
            Vector512<float> b0 = Vector512.Load(b), b1 = Vector512.Load(b + 16), x;
            x = Vector512.Create(a[0]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = MulAdd(x, b0, c60); c61 = MulAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = MulAdd(x, b0, c70); c71 = MulAdd(x, b1, c71);
        }
        Store(c + 0 * ldc, c00, c01, acc, bias);
        Store(c + 1 * ldc, c10, c11, acc, bias);
        Store(c + 2 * ldc, c20, c21, acc, bias);
        Store(c + 3 * ldc, c30, c31, acc, bias);
        Store(c + 4 * ldc, c40, c41, acc, bias);
        Store(c + 5 * ldc, c50, c51, acc, bias);
        Store(c + 6 * ldc, c60, c61, acc, bias);
        Store(c + 7 * ldc, c70, c71, acc, bias);
    }

    // C[6,16] (+)= Apanel[kc][6] · Bpanel[kc][16] (+ bias[16]): 12 ymm accumulators of the 16 AVX2 registers.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void Kernel6x16(int kc, float* a, float* b, float* c, long ldc, bool acc, float* bias)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int k = 0; k < kc; k++, a += 6, b += 16)
        {
            Vector256<float> b0 = Vector256.Load(b), b1 = Vector256.Load(b + 8), x;
            x = Vector256.Create(a[0]); c00 = MulAdd(x, b0, c00); c01 = MulAdd(x, b1, c01);
            x = Vector256.Create(a[1]); c10 = MulAdd(x, b0, c10); c11 = MulAdd(x, b1, c11);
            x = Vector256.Create(a[2]); c20 = MulAdd(x, b0, c20); c21 = MulAdd(x, b1, c21);
            x = Vector256.Create(a[3]); c30 = MulAdd(x, b0, c30); c31 = MulAdd(x, b1, c31);
            x = Vector256.Create(a[4]); c40 = MulAdd(x, b0, c40); c41 = MulAdd(x, b1, c41);
            x = Vector256.Create(a[5]); c50 = MulAdd(x, b0, c50); c51 = MulAdd(x, b1, c51);
        }
        Store(c + 0 * ldc, c00, c01, acc, bias);
        Store(c + 1 * ldc, c10, c11, acc, bias);
        Store(c + 2 * ldc, c20, c21, acc, bias);
        Store(c + 3 * ldc, c30, c31, acc, bias);
        Store(c + 4 * ldc, c40, c41, acc, bias);
        Store(c + 5 * ldc, c50, c51, acc, bias);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> MulAdd(Vector512<float> x, Vector512<float> y, Vector512<float> z) =>
        Vector512.FusedMultiplyAdd(x, y, z);   // vfmadd231ps zmm with AVX-512, emulated (for tests) without

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> MulAdd(Vector256<float> x, Vector256<float> y, Vector256<float> z) =>
        Fma.MultiplyAdd(x, y, z);

    // One row of a tile: p[0..2V) = (acc ? p : 0) + (lo, hi) + (bias ? bias[0..2V) : 0).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* p, Vector512<float> lo, Vector512<float> hi, bool acc, float* bias)
    {
        if (acc) { lo += Vector512.Load(p); hi += Vector512.Load(p + 16); }
        if (bias != null) { lo += Vector512.Load(bias); hi += Vector512.Load(bias + 16); }
        Vector512.Store(lo, p);
        Vector512.Store(hi, p + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* p, Vector256<float> lo, Vector256<float> hi, bool acc, float* bias)
    {
        if (acc) { lo += Vector256.Load(p); hi += Vector256.Load(p + 8); }
        if (bias != null) { lo += Vector256.Load(bias); hi += Vector256.Load(bias + 8); }
        Vector256.Store(lo, p);
        Vector256.Store(hi, p + 8);
    }
}
