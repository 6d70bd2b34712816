// Softmax and normalisation kernels on dense rows, forward and backward side by side (llm.c's layernorm_forward /
// layernorm_backward). Sizes: R rows of K (softmax); N rows of C (LayerNorm, RmsNorm); B batches of N rows of D
// (LayerNorm + adaLN modulate); B x G groups of M = (C / G) * S elements (GroupNorm, S = spatial size).
// Cached for backward: softmax keeps its output y; the norms keep mean and rstd, one per row or group (RmsNorm: rstd).
// Each row or group is reduced by one thread (Par splits rows), so results do not depend on the thread count.
// Parameter gradients (dweight, dbias) are sums over rows: Par splits them by columns, each column summed in row order.
// Version 1: TensorPrimitives on whole rows; the scalar forms are in the comments above each step. Version 2 (hand
// vectorised, Vector256): LayerNorm + modulate's backward rows and the parameter-gradient sums, the DiT's hot ones.
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Spacetime.Engine.Kernels;

internal static class NormKernels
{
    const int Chunk = 256;          // elements per stack temporary
    const int ColumnBlock = 64;     // columns per work item in parameter-gradient sums (4 x Vector512)

    // ---- softmax -------------------------------------------------------------------------------------------------

    // y: (R, K)   x: (R, K). y = exp(x - max) / sum exp(x - max), row by row.
    public static void SoftmaxForward(float[] y, float[] x, int xOff, int R, int K, bool log)
    {
        if (K == 0) return;
        Par.ForRange(R, 4L * K, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                ReadOnlySpan<float> xr = x.AsSpan(xOff + r * K, K);
                Span<float> yr = y.AsSpan(r * K, K);
                float m = TensorPrimitives.Max(xr);                  // subtract the max: exp never overflows
                TensorPrimitives.Subtract(xr, m, yr);
                if (log)
                {
                    // log softmax = (x - m) - log sum exp(x - m); exp goes to a stack temporary chunk by chunk
                    float s = SumExp(yr);
                    TensorPrimitives.Subtract(yr, MathF.Log(s), yr);
                }
                else
                {
                    TensorPrimitives.Exp(yr, yr);
                    TensorPrimitives.Multiply(yr, 1f / TensorPrimitives.Sum(yr), yr);
                }
            }
        });
    }

    // dx: (R, K)   dy, y: (R, K).  softmax: dx = y (dy - sum(dy y));  log softmax: dx = dy - exp(y) sum(dy).
    public static void SoftmaxBackward(float[] dx, float[] dy, int dyOff, float[] y, int R, int K, bool log)
    {
        if (K == 0) return;
        Par.ForRange(R, 4L * K, (r0, r1) =>
        {
            Span<float> t = stackalloc float[Chunk];
            for (int r = r0; r < r1; r++)
            {
                ReadOnlySpan<float> g = dy.AsSpan(dyOff + r * K, K), yr = y.AsSpan(r * K, K);
                Span<float> d = dx.AsSpan(r * K, K);
                if (log)
                {
                    float s = TensorPrimitives.Sum(g);
                    for (int c = 0; c < K; c += Chunk)
                    {
                        int n = Math.Min(Chunk, K - c);
                        TensorPrimitives.Exp(yr.Slice(c, n), t[..n]);
                        TensorPrimitives.MultiplyAdd(t[..n], -s, g.Slice(c, n), d.Slice(c, n));  // dy - s exp(y)
                    }
                }
                else
                {
                    float s = TensorPrimitives.Dot(g, yr);
                    TensorPrimitives.Subtract(g, s, d);
                    TensorPrimitives.Multiply(d, yr, d);
                }
            }
        });
    }

    // sum exp(v) over a row, through a stack temporary (v is left as it is)
    static float SumExp(ReadOnlySpan<float> v)
    {
        Span<float> t = stackalloc float[Chunk];
        float s = 0f;
        for (int c = 0; c < v.Length; c += Chunk)
        {
            int n = Math.Min(Chunk, v.Length - c);
            TensorPrimitives.Exp(v.Slice(c, n), t[..n]);
            s += TensorPrimitives.Sum(t[..n]);
        }
        return s;
    }

    // ---- LayerNorm and RmsNorm over the last dimension -----------------------------------------------------------

    // y: (N, C)   mean (null for RmsNorm), rstd: (N), kept for backward   x: (N, C)   weight, bias: (C) or null.
    // LayerNorm: y = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps), biased variance like PyTorch.
    // RmsNorm (mean == null): y = x * rstd * weight, rstd = 1 / sqrt(mean(x^2) + eps).
    public static void LayerNormForward(float[] y, float[]? mean, float[] rstd, float[] x, int xOff,
                                        float[]? weight, float[]? bias, int N, int C, float eps)
    {
        Par.ForRange(N, 6L * C, (r0, r1) =>
        {
            for (int n = r0; n < r1; n++)
            {
                Span<float> yr = y.AsSpan(n * C, C);
                Normalize(yr, x.AsSpan(xOff + n * C, C), mean is not null, eps, out float m, out float s);
                if (weight is not null) TensorPrimitives.Multiply(yr, weight.AsSpan(0, C), yr);
                if (bias is not null) TensorPrimitives.Add(yr, bias.AsSpan(0, C), yr);
                if (mean is not null) mean[n] = m;
                rstd[n] = s;
            }
        });
    }

    // dx: (N, C) or null   dweight, dbias: (C) or null (overwritten)   dy, x: (N, C)   weight: (C) or null
    // mean (null for RmsNorm), rstd: (N) from the forward pass.
    // With xhat = (x - mean) rstd and g = dy * weight:
    //   LayerNorm: dx = rstd (g - mean(g) - xhat mean(g xhat));   RmsNorm: dx = rstd (g - xhat mean(g xhat))
    //   dweight = sum over rows of dy xhat;   dbias = sum over rows of dy
    public static void LayerNormBackward(float[]? dx, float[]? dweight, float[]? dbias, float[] dy, int dyOff,
                                         float[] x, int xOff, float[]? weight, float[]? mean, float[] rstd,
                                         int N, int C)
    {
        if (dx is not null)
            Par.ForRange(N, 8L * C, (r0, r1) =>
            {
                for (int n = r0; n < r1; n++)
                {
                    Span<float> d = dx.AsSpan(n * C, C);
                    ReadOnlySpan<float> g = dy.AsSpan(dyOff + n * C, C);
                    if (weight is not null) TensorPrimitives.Multiply(g, weight.AsSpan(0, C), d);
                    else g.CopyTo(d);
                    NormalizeBackward(d, x.AsSpan(xOff + n * C, C), mean is not null, mean?[n] ?? 0f, rstd[n]);
                }
            });
        if (dweight is not null || dbias is not null)
            ParamGradients(dweight, dbias, dy, dyOff, x, xOff, mean, rstd, 1, N, C);
    }

    // ---- LayerNorm (no affine) + adaLN modulation, fused (DiT's modulate(norm(x), shift, scale)) -------------------

    // y: (B, N, D)   mean, rstd: (B * N), kept for backward   x: (B, N, D)   shift, scale: (B, D).
    // y = xhat * (1 + scale[b]) + shift[b], xhat = (x - mean) rstd.
    public static void LayerNormModulateForward(float[] y, float[] mean, float[] rstd, float[] x, int xOff,
                                                float[] shift, float[] scale, int B, int N, int D, float eps)
    {
        Par.ForRange(B * N, 6L * D, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                int b = r / N;
                Span<float> yr = y.AsSpan(r * D, D);
                Normalize(yr, x.AsSpan(xOff + r * D, D), true, eps, out mean[r], out rstd[r]);
                ReadOnlySpan<float> sc = scale.AsSpan(b * D, D), sh = shift.AsSpan(b * D, D);
                TensorPrimitives.MultiplyAdd(yr, sc, yr, yr);        // xhat + xhat scale
                TensorPrimitives.Add(yr, sh, yr);
            }
        });
    }

    // dx: (B, N, D) or null   dshift, dscale: (B, D) or null (overwritten)   dy, x: (B, N, D)   scale: (B, D)
    // mean, rstd: (B * N). g = dy (1 + scale[b]); dx as LayerNorm; dscale = sum over n of dy xhat; dshift = sum of dy.
    // accumulate: dx += that instead (x's gradient exists already; the same bits as adding afterwards).
    // Version 2: each row in two vector passes (the sums of g and g (x - m), then dx), and the parameter sums with
    // their accumulators in registers: version 1 (TensorPrimitives, about a dozen calls per 384-wide row and four per
    // row and 64 columns) took 3.2 ms a call at DiT-S's (8, 512, 384) on 2 threads (session 34's dit-step profile).
    public static unsafe void LayerNormModulateBackward(float[]? dx, float[]? dshift, float[]? dscale, float[] dy,
                                                        int dyOff, float[] x, int xOff, float[] scale, float[] mean,
                                                        float[] rstd, int B, int N, int D, bool accumulate = false)
    {
        if (dx is not null)
            Par.ForRange(B * N, 8L * D, (r0, r1) =>
            {
                fixed (float* pdx = dx, pdy = dy, px = x, psc = scale)
                    for (int r = r0; r < r1; r++)
                        ModulatedRowBackward(pdx + (long)r * D, pdy + dyOff + (long)r * D, px + xOff + (long)r * D,
                                             psc + (long)(r / N) * D, D, mean[r], rstd[r], accumulate);
            });
        if (dscale is not null || dshift is not null)
            ParamGradients(dscale, dshift, dy, dyOff, x, xOff, mean, rstd, B, N, D);
    }

    // One row: g = dy (1 + sc), a = mean(g), c = mean(g xhat), dx = s (g - a - xhat c), xhat = (x - m) s.
    static unsafe void ModulatedRowBackward(float* dx, float* dy, float* x, float* sc, int D, float m, float s,
                                            bool accumulate)
    {
        var vm = Vector256.Create(m);
        Vector256<float> sumG = default, sumGX = default;
        int i = 0;
        for (; i + 8 <= D; i += 8)
        {
            var g = Vector256.Load(dy + i) * (Vector256<float>.One + Vector256.Load(sc + i));
            sumG += g;
            sumGX += g * (Vector256.Load(x + i) - vm);
        }
        float tg = Vector256.Sum(sumG), tgx = Vector256.Sum(sumGX);
        for (int j = i; j < D; j++)
        {
            float g = dy[j] * (1f + sc[j]);
            tg += g;
            tgx += g * (x[j] - m);
        }
        float a = tg / D, c = tgx * s / D;                       // c = mean(g xhat)
        var va = Vector256.Create(a);
        var vsc = Vector256.Create(s * c);                       // xhat c = (x - m) (s c)
        var vs = Vector256.Create(s);
        for (i = 0; i + 8 <= D; i += 8)
        {
            var g = Vector256.Load(dy + i) * (Vector256<float>.One + Vector256.Load(sc + i));
            var d = (g - va - (Vector256.Load(x + i) - vm) * vsc) * vs;
            (accumulate ? Vector256.Load(dx + i) + d : d).Store(dx + i);
        }
        for (; i < D; i++)
        {
            float d = (dy[i] * (1f + sc[i]) - a - (x[i] - m) * (s * c)) * s;
            dx[i] = accumulate ? dx[i] + d : d;
        }
    }

    // ---- GroupNorm -----------------------------------------------------------------------------------------------

    // y: (B, C, S)   mean, rstd: (B, G), kept for backward   x: (B, C, S)   weight, bias: (C) or null.
    // Group g of batch b is the M = (C / G) S elements of channels g C/G .. (g + 1) C/G - 1, dense in x.
    // y = (x - mean[b, g]) rstd[b, g] weight[c] + bias[c].
    public static void GroupNormForward(float[] y, float[] mean, float[] rstd, float[] x, int xOff,
                                        float[]? weight, float[]? bias, int B, int C, int S, int G, float eps)
    {
        int cg = C / G, M = cg * S;
        Par.ForRange(B * G, 6L * M, (i0, i1) =>
        {
            for (int i = i0; i < i1; i++)
            {
                Span<float> yg = y.AsSpan(i * M, M);
                Normalize(yg, x.AsSpan(xOff + i * M, M), true, eps, out mean[i], out rstd[i]);
                for (int k = 0; k < cg; k++)
                {
                    int c = i % G * cg + k;
                    Span<float> yc = yg.Slice(k * S, S);
                    if (weight is not null) TensorPrimitives.Multiply(yc, weight[c], yc);
                    if (bias is not null) TensorPrimitives.Add(yc, bias[c], yc);
                }
            }
        });
    }

    // dx: (B, C, S) or null   dweight, dbias: (C) or null (overwritten)   dy, x: (B, C, S)   weight: (C) or null
    // mean, rstd: (B, G). g = dy weight[c]; dx = rstd (g - mean(g) - xhat mean(g xhat)) over each group;
    // dweight[c] = sum over b, s of dy xhat; dbias[c] = sum over b, s of dy.
    public static void GroupNormBackward(float[]? dx, float[]? dweight, float[]? dbias, float[] dy, int dyOff,
                                         float[] x, int xOff, float[]? weight, float[] mean, float[] rstd,
                                         int B, int C, int S, int G)
    {
        int cg = C / G, M = cg * S;
        if (dx is not null)
            Par.ForRange(B * G, 8L * M, (i0, i1) =>
            {
                for (int i = i0; i < i1; i++)
                {
                    Span<float> d = dx.AsSpan(i * M, M);
                    ReadOnlySpan<float> g = dy.AsSpan(dyOff + i * M, M);
                    if (weight is null) g.CopyTo(d);
                    else
                        for (int k = 0; k < cg; k++)
                            TensorPrimitives.Multiply(g.Slice(k * S, S), weight[i % G * cg + k], d.Slice(k * S, S));
                    NormalizeBackward(d, x.AsSpan(xOff + i * M, M), true, mean[i], rstd[i]);
                }
            });
        if (dweight is null && dbias is null) return;
        // one channel per work item, batches summed in order
        Par.ForRange(C, 4L * B * S, (c0, c1) =>
        {
            for (int c = c0; c < c1; c++)
            {
                float dw = 0f, db = 0f;
                for (int b = 0; b < B; b++)
                {
                    int o = (b * C + c) * S, i = b * G + c / cg;
                    ReadOnlySpan<float> g = dy.AsSpan(dyOff + o, S);
                    dw += XhatDot(g, x.AsSpan(xOff + o, S), true, mean[i], rstd[i]);
                    db += TensorPrimitives.Sum(g);
                }
                if (dweight is not null) dweight[c] = dw;
                if (dbias is not null) dbias[c] = db;
            }
        });
    }

    // ---- shared row pieces ---------------------------------------------------------------------------------------

    // y = (x - m) s with m = mean(x) (or 0 when !center) and s = 1 / sqrt(mean((x - m)^2) + eps): two passes, the
    // centred values written to y first, so the variance never cancels.
    static void Normalize(Span<float> y, ReadOnlySpan<float> x, bool center, float eps, out float m, out float s)
    {
        int n = x.Length;
        m = center ? TensorPrimitives.Sum(x) / n : 0f;
        TensorPrimitives.Subtract(x, m, y);
        s = 1f / MathF.Sqrt(TensorPrimitives.SumOfSquares(y) / n + eps);
        TensorPrimitives.Multiply(y, s, y);
    }

    // d holds g = dL/dxhat on entry and dx on return: dx = s (g - mean(g) - xhat mean(g xhat)), xhat = (x - m) s;
    // without centring (RmsNorm) the mean(g) term is dropped.
    static void NormalizeBackward(Span<float> d, ReadOnlySpan<float> x, bool center, float m, float s)
    {
        int n = x.Length;
        float a = center ? TensorPrimitives.Sum(d) / n : 0f;
        float c = XhatDot(d, x, center, m, s) / n;
        Span<float> t = stackalloc float[Chunk];
        for (int o = 0; o < n; o += Chunk)
        {
            int k = Math.Min(Chunk, n - o);
            var tk = t[..k];
            var dk = d.Slice(o, k);
            TensorPrimitives.Subtract(x.Slice(o, k), m, tk);
            TensorPrimitives.Multiply(tk, s * c, tk);          // xhat mean(g xhat)
            TensorPrimitives.Subtract(dk, tk, dk);
            TensorPrimitives.Subtract(dk, a, dk);
            TensorPrimitives.Multiply(dk, s, dk);
        }
    }

    // sum g (x - m) s, with x - m formed chunk by chunk on the stack
    static float XhatDot(ReadOnlySpan<float> g, ReadOnlySpan<float> x, bool center, float m, float s)
    {
        if (!center) return TensorPrimitives.Dot(g, x) * s;
        Span<float> t = stackalloc float[Chunk];
        float acc = 0f;
        for (int o = 0; o < x.Length; o += Chunk)
        {
            int k = Math.Min(Chunk, x.Length - o);
            TensorPrimitives.Subtract(x.Slice(o, k), m, t[..k]);
            acc += TensorPrimitives.Dot(g.Slice(o, k), t[..k]);
        }
        return acc * s;
    }

    // dgamma, dbeta: (B, C) or null, overwritten   dy, x: (B, N, C)   mean (null: 0), rstd: (B * N).
    // dgamma[b, c] = sum over n of dy xhat, dbeta[b, c] = sum over n of dy. Work items are (b, 64-column block);
    // each column is summed in row order, so the split over threads never changes a bit.
    static unsafe void ParamGradients(float[]? dgamma, float[]? dbeta, float[] dy, int dyOff, float[] x, int xOff,
                                      float[]? mean, float[] rstd, int B, int N, int C)
    {
        int blocks = (C + ColumnBlock - 1) / ColumnBlock;
        Par.ForRange(B * blocks, 4L * N * ColumnBlock, (i0, i1) =>
        {
            fixed (float* pdy = dy, px = x)
                for (int i = i0; i < i1; i++)
                {
                    int b = i / blocks, c0 = i % blocks * ColumnBlock, k = Math.Min(ColumnBlock, C - c0);
                    for (int s0 = 0; s0 < k; s0 += 32)                  // 32 columns: 4 + 4 accumulators
                    {
                        int w = Math.Min(32, k - s0);
                        float* g0 = pdy + dyOff + (long)b * N * C + c0 + s0, x0 = px + xOff + (long)b * N * C + c0 + s0;
                        Span<float> dg = dgamma is null ? default : dgamma.AsSpan(b * C + c0 + s0, w);
                        Span<float> db = dbeta is null ? default : dbeta.AsSpan(b * C + c0 + s0, w);
                        if (w == 32) ColumnSums32(dg, db, g0, x0, mean, rstd, b * N, N, C);
                        else ColumnSumsNarrow(dg, db, g0, x0, mean, rstd, b * N, N, C, w);
                    }
                }
        });
    }

    // dg[j] = sum over n of g[n, j] (x[n, j] - mean[r0 + n]) rstd[r0 + n], db[j] = sum over n of g[n, j], j < 32,
    // rows in order, the sums in registers. Either span may be empty (not wanted).
    static unsafe void ColumnSums32(Span<float> dg, Span<float> db, float* g, float* x, float[]? mean, float[] rstd,
                                    int r0, int N, int C)
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        for (int n = 0; n < N; n++, g += C, x += C)
        {
            Vector256<float> g0 = Vector256.Load(g), g1 = Vector256.Load(g + 8), g2 = Vector256.Load(g + 16),
                             g3 = Vector256.Load(g + 24);
            b0 += g0; b1 += g1; b2 += g2; b3 += g3;
            if (dg.IsEmpty) continue;
            var m = Vector256.Create(mean?[r0 + n] ?? 0f);
            var s = Vector256.Create(rstd[r0 + n]);
            a0 += g0 * ((Vector256.Load(x) - m) * s);
            a1 += g1 * ((Vector256.Load(x + 8) - m) * s);
            a2 += g2 * ((Vector256.Load(x + 16) - m) * s);
            a3 += g3 * ((Vector256.Load(x + 24) - m) * s);
        }
        if (!dg.IsEmpty) { a0.CopyTo(dg); a1.CopyTo(dg[8..]); a2.CopyTo(dg[16..]); a3.CopyTo(dg[24..]); }
        if (!db.IsEmpty) { b0.CopyTo(db); b1.CopyTo(db[8..]); b2.CopyTo(db[16..]); b3.CopyTo(db[24..]); }
    }

    // ColumnSums32 for w < 32 columns, one at a time (the same sums in the same order).
    static unsafe void ColumnSumsNarrow(Span<float> dg, Span<float> db, float* g, float* x, float[]? mean,
                                       float[] rstd, int r0, int N, int C, int w)
    {
        dg.Clear();
        db.Clear();
        for (int n = 0; n < N; n++, g += C, x += C)
        {
            float m = mean?[r0 + n] ?? 0f, s = rstd[r0 + n];
            for (int j = 0; j < w; j++)
            {
                if (!db.IsEmpty) db[j] += g[j];
                if (!dg.IsEmpty) dg[j] += g[j] * ((x[j] - m) * s);
            }
        }
    }
}
