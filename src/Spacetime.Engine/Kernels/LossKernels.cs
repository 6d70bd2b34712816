// Dropout and loss kernels, forward and backward side by side. n is the element count; N rows of C classes for
// cross-entropy. Cached for backward: dropout keeps its scaled mask; cross-entropy keeps log sum exp per row.
// Loss totals are sums over all elements. So that they are the same bits on any thread count, the elements are cut
// into fixed chunks of SumChunk (never depending on Par.Threads); chunks are summed in parallel, and the chunk sums
// are then added in order, in double.
using System.Numerics.Tensors;

namespace Spacetime.Engine.Kernels;

internal static class LossKernels
{
    const int Chunk = 256;          // elements per stack temporary
    const int SumChunk = 8192;      // elements per partial sum of a loss total

    // ---- dropout -------------------------------------------------------------------------------------------------

    // y, mask: (n)   x: (n). mask holds uniform [0, 1) numbers on entry (position i of the Rng stream for element i)
    // and keep / (1 - p) on return, keep = u >= p; y = x * mask.
    public static void DropoutForward(float[] y, float[] mask, float[] x, int xOff, int n, float p)
    {
        float scale = 1f / (1f - p);
        Par.ForRange(n, 4, (s, e) =>
        {
            for (int i = s; i < e; i++) mask[i] = mask[i] >= p ? scale : 0f;
            TensorPrimitives.Multiply(x.AsSpan(xOff + s, e - s), mask.AsSpan(s, e - s), y.AsSpan(s, e - s));
        });
    }

    // dx: (n)   dy, mask: (n). dx = dy * mask.
    public static void DropoutBackward(float[] dx, float[] dy, int dyOff, float[] mask, int n) =>
        Par.ForRange(n, 2, (s, e) =>
            TensorPrimitives.Multiply(dy.AsSpan(dyOff + s, e - s), mask.AsSpan(s, e - s), dx.AsSpan(s, e - s)));

    // ---- elementwise losses: MSE and L1 --------------------------------------------------------------------------

    // p, t: (n)   w: (n) or null. Returns sum w (p - t)^2 (squared) or sum w |p - t|, and sum w (n when w is null).
    public static (double Sum, double WeightSum) ErrorSum(float[] p, int pOff, float[] t, int tOff, float[]? w,
                                                          int n, bool squared)
    {
        int chunks = (n + SumChunk - 1) / SumChunk;
        var sums = new double[chunks];
        var weightSums = new double[chunks];
        Par.For(chunks, 3L * SumChunk, c =>
        {
            Span<float> d = stackalloc float[Chunk];
            double acc = 0, wacc = 0;
            for (int o = c * SumChunk, end = Math.Min(n, o + SumChunk); o < end; o += Chunk)
            {
                int k = Math.Min(Chunk, end - o);
                var dk = d[..k];
                TensorPrimitives.Subtract(p.AsSpan(pOff + o, k), t.AsSpan(tOff + o, k), dk);   // p - t
                if (squared) TensorPrimitives.Multiply(dk, dk, dk);
                else TensorPrimitives.Abs(dk, dk);
                if (w is null) acc += TensorPrimitives.Sum(dk);
                else
                {
                    acc += TensorPrimitives.Dot(dk, w.AsSpan(o, k));
                    wacc += TensorPrimitives.Sum(w.AsSpan(o, k));
                }
            }
            sums[c] = acc;
            weightSums[c] = wacc;
        });
        double sum = 0, weightSum = 0;
        for (int c = 0; c < chunks; c++) (sum, weightSum) = (sum + sums[c], weightSum + weightSums[c]);
        return (sum, w is null ? n : weightSum);
    }

    // dp, dt, dw: (n) or null   p, t: (n)   w: (n) or null. With g = dL/dloss, W = sum w and loss = sum w e / W:
    //   squared: dp = g / W * 2 (p - t) w      abs: dp = g / W * sign(p - t) w      dt = -dp
    //   dw = g / W * (e - loss), e = (p - t)^2 or |p - t| (the weighted mean's derivative)
    public static void ErrorBackward(float[]? dp, float[]? dt, float[]? dw, float[] p, int pOff, float[] t, int tOff,
                                     float[]? w, int n, bool squared, float g, float weightSum, float loss)
    {
        float scale = g / weightSum;
        Par.ForRange(n, 8, (s, e) =>
        {
            for (int i = s; i < e; i++)
            {
                float d = p[pOff + i] - t[tOff + i], wi = w is null ? 1f : w[i];
                float dd = squared ? 2f * d : d > 0f ? 1f : d < 0f ? -1f : d == 0f ? 0f : float.NaN;
                float grad = scale * dd * wi;
                if (dp is not null) dp[i] = grad;
                if (dt is not null) dt[i] = -grad;
                if (dw is not null) dw[i] = scale * ((squared ? d * d : MathF.Abs(d)) - loss);
            }
        });
    }

    // ---- cross-entropy -------------------------------------------------------------------------------------------

    // rowLoss, lse: (N)   logits: (N, C)   targets: (N), each in [0, C) or ignoreIndex.
    // lse = log sum exp(x); rowLoss = (1 - eps) (lse - x[target]) + eps (lse - mean(x)) with eps the label
    // smoothing (PyTorch's target mix: (1 - eps) one-hot + eps / C); ignored rows get 0.
    public static void CrossEntropyForward(float[] rowLoss, float[] lse, float[] logits, int off, int[] targets,
                                           int N, int C, int ignoreIndex, float smoothing)
    {
        Par.ForRange(N, 4L * C, (r0, r1) =>
        {
            Span<float> tmp = stackalloc float[Chunk];
            for (int r = r0; r < r1; r++)
            {
                if (targets[r] == ignoreIndex) { rowLoss[r] = 0f; lse[r] = 0f; continue; }
                ReadOnlySpan<float> x = logits.AsSpan(off + r * C, C);
                float m = TensorPrimitives.Max(x), s = 0f;
                for (int o = 0; o < C; o += Chunk)
                {
                    int k = Math.Min(Chunk, C - o);
                    TensorPrimitives.Subtract(x.Slice(o, k), m, tmp[..k]);
                    TensorPrimitives.Exp(tmp[..k], tmp[..k]);
                    s += TensorPrimitives.Sum(tmp[..k]);
                }
                float l = m + MathF.Log(s);
                lse[r] = l;
                float nll = l - x[targets[r]];
                rowLoss[r] = smoothing == 0f ? nll
                           : (1f - smoothing) * nll + smoothing * (l - TensorPrimitives.Sum(x) / C);
            }
        });
    }

    // dlogits: (N, C)   logits: (N, C)   lse: (N) from the forward pass   targets: (N).
    // dlogits = scale (softmax(x) - (1 - eps) onehot(target) - eps / C), scale = g / (rows not ignored);
    // 0 on ignored rows.
    public static void CrossEntropyBackward(float[] dlogits, float[] logits, int off, float[] lse, int[] targets,
                                            int N, int C, int ignoreIndex, float smoothing, float scale)
    {
        Par.ForRange(N, 4L * C, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                Span<float> d = dlogits.AsSpan(r * C, C);
                if (targets[r] == ignoreIndex) { d.Clear(); continue; }
                TensorPrimitives.Subtract(logits.AsSpan(off + r * C, C), lse[r], d);
                TensorPrimitives.Exp(d, d);                                          // softmax
                if (smoothing != 0f) TensorPrimitives.Subtract(d, smoothing / C, d);
                d[targets[r]] -= 1f - smoothing;
                TensorPrimitives.Multiply(d, scale, d);
            }
        });
    }
}
