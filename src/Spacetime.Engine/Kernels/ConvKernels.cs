// Convolution, average pooling and nearest upsampling on dense (B, C, T, H, W) buffers. A 2-d tensor (B, C, H, W)
// has the same memory layout as (B, C, 1, H, W), so every kernel here is written once for video, and Conv2d is
// the case T = 1, kt = 1, st = 1, pt = 0.
//
// Convolution (stride s, symmetric zero padding p, no dilation, no groups):
//   y[b, o, a, e, q] = bias[o] + sum over c, i, j, k of
//                      w[o, c, i, j, k] · x[b, c, a·st - pt + i, e·sh - ph + j, q·sw - pw + k]      (x = 0 outside)
//   x: (B, C, T, H, W)   w: (O, C, kt, kh, kw)   bias: (O)   y: (B, O, To, Ho, Wo), To = (T + 2 pt - kt) / st + 1
//   CK = C·kt·kh·kw (one output's receptive field), L = To·Ho·Wo (output positions per sample).
//
// Versions (llm.c dev/cuda style; the tests check both against a float64 oracle and each other):
//   v1 ConvReferenceForward/Backward: direct loops with float64 sums. The oracle, and the fallback when one
//      sample's im2col buffer (CK x L) would not fit in one array.
//   v2 ConvForward/ConvBackward: im2col + the packed GEMM (MatMulKernels.Gemm), one sample at a time, so the only
//      scratch is one (CK, L) buffer:
//        col (CK, L) = Im2Col(x_b);   y_b (O, L) = bias + W (O, CK) · col
//      backward, samples in ascending b:
//        dW (O, CK) += dy_b (O, L) · col^T        col is recomputed from x: the op keeps only x and W
//        col = W^T · dy_b (CK, L);  dx_b = Col2Im(col)
//        db[o] = sum over b, then l, of dy[b, o, l]
//      Threads work inside each step (im2col rows, GEMM tiles, col2im channels, bias rows) and never split a sum,
//      so 1 and 2 threads give bitwise-identical results. A 1x1x1 kernel with stride 1 and no padding skips
//      im2col: col is x_b itself, and the conv is one GEMM per sample (v3 is not used for it).
//   v3 ConvDirectForward/ConvDirectBackward (ConvKernels.Direct.cs): direct convolution with AVX-512 or AVX2
//      register tiles on zero-padded, stride-phase copies of the input; what runs wherever UsesDirect says so
//      (every non-pointwise conv with padding < kernel on a CPU with AVX2 + FMA). v2 is the fallback otherwise.
using System.Numerics.Tensors;

namespace Spacetime.Engine.Kernels;

/// <summary>The sizes of a convolution: input (B, C, T, H, W), weight (O, C, kt, kh, kw), strides, paddings.</summary>
internal readonly record struct ConvShape(int B, int C, int T, int H, int W, int O, int Kt, int Kh, int Kw,
                                          int St, int Sh, int Sw, int Pt, int Ph, int Pw)
{
    public int To => (T + 2 * Pt - Kt) / St + 1;
    public int Ho => (H + 2 * Ph - Kh) / Sh + 1;
    public int Wo => (W + 2 * Pw - Kw) / Sw + 1;
    public int K3 => Kt * Kh * Kw;                       // kernel taps per channel
    public int CK => C * K3;                             // rows of col, columns of the (O, CK) weight
    public int L => To * Ho * Wo;                        // output positions per sample
    public long InSample => (long)C * T * H * W;         // elements of one input sample
    public long OutSample => (long)O * L;                // elements of one output sample
    public bool IsPointwise => K3 == 1 && St == 1 && Sh == 1 && Sw == 1 && Pt == 0 && Ph == 0 && Pw == 0;
    /// <summary>True when one sample's (CK, L) im2col buffer fits in an array, so v2 can run.</summary>
    public bool FitsIm2Col => (long)CK * L <= Array.MaxLength;
}

internal static partial class ConvKernels
{
    // ---- v1: the direct reference ---------------------------------------------------------------------------

    // y: (B, O, To, Ho, Wo)   x: (B, C, T, H, W) from xOff   w: (O, CK) from wOff   bias: (O) from biasOff, or null.
    // One output plane (b, o) per Par item; each element is one float64 sum in (c, i, j, k) order.
    public static void ConvReferenceForward(float[] y, float[] x, long xOff, float[] w, long wOff,
                                            float[]? bias, long biasOff, ConvShape s)
    {
        int L = s.L;
        Par.For(s.B * s.O, (long)L * s.CK, bo =>
        {
            int b = bo / s.O, o = bo % s.O;
            for (int a = 0; a < s.To; a++)
                for (int e = 0; e < s.Ho; e++)
                    for (int q = 0; q < s.Wo; q++)
                    {
                        double sum = bias is null ? 0 : bias[biasOff + o];
                        for (int c = 0; c < s.C; c++)
                            for (int i = 0; i < s.Kt; i++)
                                for (int j = 0; j < s.Kh; j++)
                                    for (int k = 0; k < s.Kw; k++)
                                    {
                                        long xi = InputIndex(s, b, c, a * s.St - s.Pt + i, e * s.Sh - s.Ph + j,
                                                             q * s.Sw - s.Pw + k);
                                        if (xi < 0) continue;
                                        sum += (double)w[wOff + (long)o * s.CK + (c * s.Kt + i) * s.Kh * s.Kw
                                                         + j * s.Kw + k] * x[xOff + xi];
                                    }
                        y[(long)bo * L + (a * s.Ho + e) * s.Wo + q] = (float)sum;
                    }
        });
    }

    // dx: (B, C, T, H, W)   dw: (O, CK)   db: (O); each overwritten, or null when not wanted.
    // dy: (B, O, To, Ho, Wo) from dyOff; x, w as in the forward. Every gradient element is one float64 sum
    // gathered from the outputs it fed, so Par splits elements, never sums.
    public static void ConvReferenceBackward(float[]? dx, float[]? dw, float[]? db, float[] dy, long dyOff,
                                             float[] x, long xOff, float[] w, long wOff, ConvShape s)
    {
        int L = s.L;
        if (dx is not null)
            Par.For(s.B * s.C, s.InSample / Math.Max(1, s.C) * s.O * s.K3, bc =>
            {
                int b = bc / s.C, c = bc % s.C;
                for (int t = 0; t < s.T; t++)
                    for (int h = 0; h < s.H; h++)
                        for (int v = 0; v < s.W; v++)
                        {
                            double sum = 0;
                            for (int o = 0; o < s.O; o++)
                                for (int i = 0; i < s.Kt; i++)
                                    for (int j = 0; j < s.Kh; j++)
                                        for (int k = 0; k < s.Kw; k++)
                                        {
                                            // output (a, e, q) reads x at (a·st - pt + i, ...) = (t, h, v)
                                            int at = t + s.Pt - i, eh = h + s.Ph - j, qw = v + s.Pw - k;
                                            if (at % s.St != 0 || eh % s.Sh != 0 || qw % s.Sw != 0) continue;
                                            int a = at / s.St, e = eh / s.Sh, q = qw / s.Sw;
                                            if (at < 0 || eh < 0 || qw < 0 || a >= s.To || e >= s.Ho || q >= s.Wo)
                                                continue;
                                            long wi = wOff + (long)o * s.CK + ((c * s.Kt + i) * s.Kh + j) * s.Kw + k;
                                            sum += (double)w[wi] * dy[dyOff + ((long)b * s.O + o) * L
                                                                      + (a * s.Ho + e) * s.Wo + q];
                                        }
                            dx[InputIndex(s, b, c, t, h, v)] = (float)sum;
                        }
            });
        if (dw is not null)
            Par.For(s.O * s.CK, (long)s.B * L, oc =>
            {
                int o = oc / s.CK, r = oc % s.CK;
                int k = r % s.Kw, j = r / s.Kw % s.Kh, i = r / (s.Kw * s.Kh) % s.Kt, c = r / s.K3;
                double sum = 0;
                for (int b = 0; b < s.B; b++)
                    for (int a = 0; a < s.To; a++)
                        for (int e = 0; e < s.Ho; e++)
                            for (int q = 0; q < s.Wo; q++)
                            {
                                long xi = InputIndex(s, b, c, a * s.St - s.Pt + i, e * s.Sh - s.Ph + j,
                                                     q * s.Sw - s.Pw + k);
                                if (xi >= 0)
                                    sum += (double)x[xOff + xi] * dy[dyOff + ((long)b * s.O + o) * L
                                                                     + (a * s.Ho + e) * s.Wo + q];
                            }
                dw[oc] = (float)sum;
            });
        if (db is not null) BiasBackward(db, dy, dyOff, s, reference: true);
    }

    // Index of x[b, c, t, h, w] in a dense (B, C, T, H, W) buffer, or -1 inside the zero padding.
    static long InputIndex(in ConvShape s, int b, int c, int t, int h, int w) =>
        (uint)t < (uint)s.T && (uint)h < (uint)s.H && (uint)w < (uint)s.W
            ? (((long)b * s.C + c) * s.T + t) * s.H * s.W + (long)h * s.W + w
            : -1;

    // ---- v2: im2col + GEMM ----------------------------------------------------------------------------------

    // y: (B, O, L)   x: (B, C, T, H, W) from xOff   w: (O, CK) from wOff   bias: (O) from biasOff, or null
    // col: scratch of at least CK·L floats (unused, may be null, for a pointwise conv).
    public static void ConvForward(float[] y, float[] x, long xOff, float[] w, long wOff, float[]? bias, long biasOff,
                                   float[]? col, ConvShape s)
    {
        int O = s.O, L = s.L, CK = s.CK;
        for (int b = 0; b < s.B; b++)
        {
            long yb = b * s.OutSample, xb = xOff + b * s.InSample;
            var (src, srcOff) = s.IsPointwise ? (x, xb) : (col!, 0L);
            if (!s.IsPointwise) Im2Col(col!, x, xb, s);
            if (bias is not null)
                for (int o = 0; o < O; o++) y.AsSpan((int)(yb + (long)o * L), L).Fill(bias[biasOff + o]);
            MatMulKernels.Gemm(false, false, O, L, CK, w, wOff, Math.Max(1, CK), src, srcOff, Math.Max(1, L),
                               y, yb, Math.Max(1, L), accumulate: bias is not null);
        }
    }

    // dx: (B, C, T, H, W) zeroed   dw: (O, CK) zeroed   db: (O) overwritten; each null when not wanted.
    // dy: (B, O, L) from dyOff; x, w as in the forward; col: scratch of CK·L floats (null for a pointwise conv).
    public static void ConvBackward(float[]? dx, float[]? dw, float[]? db, float[] dy, long dyOff,
                                    float[] x, long xOff, float[] w, long wOff, float[]? col, ConvShape s)
    {
        int O = s.O, L = s.L, CK = s.CK, lda = Math.Max(1, CK), ldl = Math.Max(1, L);
        for (int b = 0; b < s.B; b++)
        {
            long dyb = dyOff + b * s.OutSample, xb = xOff + b * s.InSample, dxb = b * s.InSample;
            if (dw is not null)
            {
                var (src, srcOff) = s.IsPointwise ? (x, xb) : (col!, 0L);
                if (!s.IsPointwise) Im2Col(col!, x, xb, s);
                MatMulKernels.Gemm(false, true, O, CK, L, dy, dyb, ldl, src, srcOff, ldl, dw, 0, lda, accumulate: true);
            }
            if (dx is null) continue;
            if (s.IsPointwise)
                MatMulKernels.Gemm(true, false, CK, L, O, w, wOff, lda, dy, dyb, ldl, dx, dxb, ldl, accumulate: true);
            else
            {
                MatMulKernels.Gemm(true, false, CK, L, O, w, wOff, lda, dy, dyb, ldl, col!, 0, ldl, accumulate: false);
                Col2Im(dx, dxb, col!, s);
            }
        }
        if (db is not null) BiasBackward(db, dy, dyOff, s, reference: false);
    }

    // db: (O)   dy: (B, O, L) from dyOff. db[o] sums each (b, o) row, then the rows in ascending b.
    static void BiasBackward(float[] db, float[] dy, long dyOff, ConvShape s, bool reference)
    {
        int L = s.L;
        Par.For(s.O, (long)s.B * L, o =>
        {
            double sum = 0;
            for (int b = 0; b < s.B; b++)
            {
                var row = dy.AsSpan((int)(dyOff + b * s.OutSample + (long)o * L), L);
                if (!reference) sum += TensorPrimitives.Sum(row);
                else foreach (float v in row) sum += v;
            }
            db[o] = (float)sum;
        });
    }

    // col: (CK, L) dense   x: one sample (C, T, H, W) from xOff.
    // Row r = ((c·kt + i)·kh + j)·kw + k holds x[c] shifted by (i, j, k) and sampled with the stride, 0 in the
    // padding.
    public static void Im2Col(float[] col, float[] x, long xOff, ConvShape s)
    {
        int L = s.L;
        Par.ForRange(s.CK, L, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int k = r % s.Kw, j = r / s.Kw % s.Kh, i = r / (s.Kw * s.Kh) % s.Kt, c = r / s.K3;
                var row = col.AsSpan((int)((long)r * L), L);
                var (q0, q1) = ValidColumns(s, k);
                for (int a = 0; a < s.To; a++)
                    for (int e = 0; e < s.Ho; e++)
                    {
                        int t = a * s.St - s.Pt + i, h = e * s.Sh - s.Ph + j;
                        var dst = row.Slice((a * s.Ho + e) * s.Wo, s.Wo);
                        if ((uint)t >= (uint)s.T || (uint)h >= (uint)s.H)
                        {
                            dst.Clear();
                            continue;
                        }
                        long src = xOff + (((long)c * s.T + t) * s.H + h) * s.W - s.Pw + k;   // + q·sw is column q
                        dst[..q0].Clear();
                        dst[q1..].Clear();
                        if (s.Sw == 1) x.AsSpan((int)(src + q0), q1 - q0).CopyTo(dst[q0..q1]);
                        else
                            for (int q = q0; q < q1; q++) dst[q] = x[src + (long)q * s.Sw];
                    }
            }
        });
    }

    // dx: one sample (C, T, H, W) from dxOff, added into   col: (CK, L) dense. The adjoint of Im2Col.
    // Par splits channels: channel c's rows of col land only in channel c of dx, in a fixed (i, j, k, a, e, q) order.
    public static void Col2Im(float[] dx, long dxOff, float[] col, ConvShape s)
    {
        int L = s.L;
        Par.For(s.C, (long)s.K3 * L, c =>
        {
            for (int r = c * s.K3; r < (c + 1) * s.K3; r++)
            {
                int k = r % s.Kw, j = r / s.Kw % s.Kh, i = r / (s.Kw * s.Kh) % s.Kt;
                var row = col.AsSpan((int)((long)r * L), L);
                var (q0, q1) = ValidColumns(s, k);
                for (int a = 0; a < s.To; a++)
                    for (int e = 0; e < s.Ho; e++)
                    {
                        int t = a * s.St - s.Pt + i, h = e * s.Sh - s.Ph + j;
                        if ((uint)t >= (uint)s.T || (uint)h >= (uint)s.H) continue;
                        var src = row.Slice((a * s.Ho + e) * s.Wo, s.Wo);
                        long dst = dxOff + (((long)c * s.T + t) * s.H + h) * s.W - s.Pw + k;
                        if (s.Sw == 1)
                        {
                            var d = dx.AsSpan((int)(dst + q0), q1 - q0);
                            TensorPrimitives.Add(d, src[q0..q1], d);
                        }
                        else
                            for (int q = q0; q < q1; q++) dx[dst + (long)q * s.Sw] += src[q];
                    }
            }
        });
    }

    // The output columns [q0, q1) whose input column q·sw - pw + k lies inside [0, W), for kernel column k.
    static (int Q0, int Q1) ValidColumns(in ConvShape s, int k)
    {
        int q0 = Math.Clamp(CeilDiv(s.Pw - k, s.Sw), 0, s.Wo);
        return (q0, Math.Clamp(CeilDiv(s.W + s.Pw - k, s.Sw), q0, s.Wo));
    }

    // ceil(a / b) for b > 0 and any sign of a.
    static int CeilDiv(int a, int b) => a >= 0 ? (a + b - 1) / b : -(-a / b);

    // ---- average pooling (stride = kernel) ------------------------------------------------------------------

    // y: (N, T/kt, H/kh, W/kw)   x: (N, T, H, W) from xOff, N = B·C, sizes divisible by the kernel.
    // Each output is the float sum of its window in (i, j, k) order, times 1 / (kt·kh·kw). Nothing is cached.
    public static void AvgPoolForward(float[] y, float[] x, long xOff, int N, int T, int H, int W,
                                      int kt, int kh, int kw)
    {
        int To = T / kt, Ho = H / kh, Wo = W / kw;
        float scale = 1f / (kt * kh * kw);
        Par.ForRange(N * To * Ho, (long)kt * kh * W, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int n = r / (To * Ho), a = r / Ho % To, e = r % Ho;
                for (int q = 0; q < Wo; q++)
                {
                    float sum = 0f;
                    for (int i = 0; i < kt; i++)
                        for (int j = 0; j < kh; j++)
                        {
                            long p = xOff + (((long)n * T + a * kt + i) * H + e * kh + j) * W + q * kw;
                            for (int k = 0; k < kw; k++) sum += x[p + k];
                        }
                    y[(long)r * Wo + q] = sum * scale;
                }
            }
        });
    }

    // dx: (N, T, H, W) overwritten   dy: (N, T/kt, H/kh, W/kw) from dyOff.
    // Each input element gets its window's dy / (kt·kh·kw).
    public static void AvgPoolBackward(float[] dx, float[] dy, long dyOff, int N, int T, int H, int W,
                                       int kt, int kh, int kw)
    {
        int To = T / kt, Ho = H / kh, Wo = W / kw;
        float scale = 1f / (kt * kh * kw);
        Par.ForRange(N * T * H, W, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int n = r / (T * H), t = r / H % T, h = r % H;
                long src = dyOff + (((long)n * To + t / kt) * Ho + h / kh) * Wo;
                for (int v = 0; v < W; v++) dx[(long)r * W + v] = dy[src + v / kw] * scale;
            }
        });
    }

    // ---- nearest-neighbour upsampling by integer factors ----------------------------------------------------

    // y: (N, T·st, H·sh, W·sw)   x: (N, T, H, W) from xOff.  y[n, t, h, w] = x[n, t / st, h / sh, w / sw].
    public static void UpsampleNearestForward(float[] y, float[] x, long xOff, int N, int T, int H, int W,
                                              int st, int sh, int sw)
    {
        int To = T * st, Ho = H * sh, Wo = W * sw;
        Par.ForRange(N * To * Ho, Wo, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int n = r / (To * Ho), a = r / Ho % To, e = r % Ho;
                long src = xOff + (((long)n * T + a / st) * H + e / sh) * W;
                for (int q = 0; q < Wo; q++) y[(long)r * Wo + q] = x[src + q / sw];
            }
        });
    }

    // dx: (N, T, H, W) overwritten   dy: (N, T·st, H·sh, W·sw) from dyOff.
    // dx[n, t, h, w] = the float sum of its st x sh x sw block of dy, in (i, j, k) order.
    public static void UpsampleNearestBackward(float[] dx, float[] dy, long dyOff, int N, int T, int H, int W,
                                               int st, int sh, int sw)
    {
        int To = T * st, Ho = H * sh, Wo = W * sw;
        Par.ForRange(N * T * H, (long)st * sh * Wo, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int n = r / (T * H), t = r / H % T, h = r % H;
                for (int v = 0; v < W; v++)
                {
                    float sum = 0f;
                    for (int i = 0; i < st; i++)
                        for (int j = 0; j < sh; j++)
                        {
                            long p = dyOff + (((long)n * To + t * st + i) * Ho + h * sh + j) * Wo + v * sw;
                            for (int k = 0; k < sw; k++) sum += dy[p + k];
                        }
                    dx[(long)r * W + v] = sum;
                }
            }
        });
    }
}
