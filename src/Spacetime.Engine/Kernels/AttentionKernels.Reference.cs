// v1 of the attention kernels: one query row at a time with the full score row, accumulated in double. The
// algorithmic reference for the tiled kernels (AttentionKernels.cs), and their fallback where Vector512 is not
// accelerated. Same contract, same argument checks. Parallel over (b, h) only, so results do not depend on threads.
namespace Spacetime.Engine.Kernels;

public static partial class AttentionKernels
{
    /// <summary>Naive attention forward with the contract of <see cref="AttentionForward"/>.</summary>
    public static void AttentionForwardReference(float[] output, long outOff, AttnStrides outS, float[] lse,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        CheckForward(nameof(AttentionForwardReference), output, outOff, outS, lse, q, qOff, qS, k, kOff, kS,
            v, vOff, vS, keyMask, segQ, segK, B, NH, N, L, HD, scale);
        ForwardReferenceCore(output, outOff, outS, lse, q, qOff, qS, k, kOff, kS, v, vOff, vS,
            keyMask, segQ, segK, B, NH, N, L, HD, scale);
    }

    /// <summary>Naive attention backward with the contract of <see cref="AttentionBackward"/>.</summary>
    public static void AttentionBackwardReference(float[] dq, long dqOff, AttnStrides dqS, float[] dk, long dkOff,
        AttnStrides dkS, float[] dv, long dvOff, AttnStrides dvS, float[] dout, long doOff, AttnStrides doS,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        float[] output, long outOff, AttnStrides outS, float[] lse,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        CheckBackward(nameof(AttentionBackwardReference), dq, dqOff, dqS, dk, dkOff, dkS, dv, dvOff, dvS, dout, doOff,
            doS, q, qOff, qS, k, kOff, kS, v, vOff, vS, output, outOff, outS, lse, keyMask, segQ, segK,
            B, NH, N, L, HD, scale);
        BackwardReferenceCore(dq, dqOff, dqS, dk, dkOff, dkS, dv, dvOff, dvS, dout, doOff, doS, q, qOff, qS,
            k, kOff, kS, v, vOff, vS, output, outOff, outS, lse, keyMask, segQ, segK, B, NH, N, L, HD, scale);
    }

    static long At(long off, AttnStrides s, int b, int h, int n) => off + b * s.B + h * s.H + n * s.N;

    static bool Allowed(bool[]? keyMask, int[]? segQ, int[]? segK, int b, int n, int l, int N, int L) =>
        (keyMask is null || keyMask[(long)b * L + l]) && (segK is null || segQ![(long)b * N + n] == segK[(long)b * L + l]);

    static void ForwardReferenceCore(float[] output, long outOff, AttnStrides outS, float[] lse,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        Par.For(B * NH, costPerItem: 4L * N * L * HD, bh =>
        {
            int b = bh / NH, h = bh % NH;
            var s = new double[L];                                   // one score row
            for (int n = 0; n < N; n++)
            {
                long qi = At(qOff, qS, b, h, n), oi = At(outOff, outS, b, h, n);
                double max = double.NegativeInfinity;
                for (int l = 0; l < L; l++)
                {
                    s[l] = double.NegativeInfinity;
                    if (!Allowed(keyMask, segQ, segK, b, n, l, N, L)) continue;
                    long ki = At(kOff, kS, b, h, l);
                    double dot = 0;
                    for (int d = 0; d < HD; d++) dot += (double)q[qi + d] * k[ki + d];
                    s[l] = scale * dot;
                    max = Math.Max(max, s[l]);
                }
                long li = ((long)b * NH + h) * N + n;
                if (double.IsNegativeInfinity(max))                  // no allowed key: output 0, lse -inf
                {
                    for (int d = 0; d < HD; d++) output[oi + d] = 0f;
                    lse[li] = float.NegativeInfinity;
                    continue;
                }
                double sum = 0;
                for (int l = 0; l < L; l++) sum += s[l] = Math.Exp(s[l] - max);   // unnormalised softmax
                for (int d = 0; d < HD; d++)
                {
                    double acc = 0;
                    for (int l = 0; l < L; l++)
                        if (s[l] != 0) acc += s[l] * v[At(vOff, vS, b, h, l) + d];
                    output[oi + d] = (float)(acc / sum);
                }
                lse[li] = (float)(max + Math.Log(sum));
            }
        });
    }

    static void BackwardReferenceCore(float[] dq, long dqOff, AttnStrides dqS, float[] dk, long dkOff,
        AttnStrides dkS, float[] dv, long dvOff, AttnStrides dvS, float[] dout, long doOff, AttnStrides doS,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        float[] output, long outOff, AttnStrides outS, float[] lse,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        Par.For(B * NH, costPerItem: 10L * N * L * HD, bh =>
        {
            int b = bh / NH, h = bh % NH;
            var dkAcc = new double[(long)L * HD];                    // (L, HD)
            var dvAcc = new double[(long)L * HD];                    // (L, HD)
            var p = new double[L];                                   // one probability row
            var dqRow = new double[HD];
            for (int n = 0; n < N; n++)
            {
                long qi = At(qOff, qS, b, h, n), gi = At(doOff, doS, b, h, n), oi = At(outOff, outS, b, h, n);
                long dqi = At(dqOff, dqS, b, h, n);
                double rowLse = lse[((long)b * NH + h) * N + n];
                Array.Clear(dqRow);
                if (!double.IsNegativeInfinity(rowLse))
                {
                    double D = 0;                                    // D = dout . out
                    for (int d = 0; d < HD; d++) D += (double)dout[gi + d] * output[oi + d];
                    for (int l = 0; l < L; l++)
                    {
                        if (!Allowed(keyMask, segQ, segK, b, n, l, N, L)) continue;
                        long ki = At(kOff, kS, b, h, l), vi = At(vOff, vS, b, h, l);
                        double dot = 0, dp = 0;
                        for (int d = 0; d < HD; d++)
                        {
                            dot += (double)q[qi + d] * k[ki + d];
                            dp += (double)dout[gi + d] * v[vi + d];
                        }
                        double pl = Math.Exp(scale * dot - rowLse), ds = pl * (dp - D);
                        for (int d = 0; d < HD; d++)
                        {
                            dqRow[d] += ds * k[ki + d];
                            dkAcc[(long)l * HD + d] += ds * q[qi + d];
                            dvAcc[(long)l * HD + d] += pl * dout[gi + d];
                        }
                    }
                }
                for (int d = 0; d < HD; d++) dq[dqi + d] = (float)(scale * dqRow[d]);
            }
            for (int l = 0; l < L; l++)
            {
                long dki = At(dkOff, dkS, b, h, l), dvi = At(dvOff, dvS, b, h, l);
                for (int d = 0; d < HD; d++)
                {
                    dk[dki + d] = (float)(scale * dkAcc[(long)l * HD + d]);
                    dv[dvi + d] = (float)dvAcc[(long)l * HD + d];
                }
            }
        });
    }

    // ------------------------------------------------------------------------------------------ argument checks

    static void CheckForward(string kernel, float[] output, long outOff, AttnStrides outS, float[] lse,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        string shape = CheckSizes(kernel, B, NH, N, L, HD, scale);
        CheckView(kernel, shape, nameof(output), output, outOff, outS, B, NH, N, "N", HD);
        CheckView(kernel, shape, nameof(q), q, qOff, qS, B, NH, N, "N", HD);
        CheckView(kernel, shape, nameof(k), k, kOff, kS, B, NH, L, "L", HD);
        CheckView(kernel, shape, nameof(v), v, vOff, vS, B, NH, L, "L", HD);
        CheckLength(kernel, shape, nameof(lse), lse?.LongLength, (long)B * NH * N, "B*NH*N");
        CheckMasks(kernel, shape, keyMask, segQ, segK, B, N, L);
    }

    static void CheckBackward(string kernel, float[] dq, long dqOff, AttnStrides dqS, float[] dk, long dkOff,
        AttnStrides dkS, float[] dv, long dvOff, AttnStrides dvS, float[] dout, long doOff, AttnStrides doS,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        float[] output, long outOff, AttnStrides outS, float[] lse,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        string shape = CheckSizes(kernel, B, NH, N, L, HD, scale);
        CheckView(kernel, shape, nameof(dq), dq, dqOff, dqS, B, NH, N, "N", HD);
        CheckView(kernel, shape, nameof(dk), dk, dkOff, dkS, B, NH, L, "L", HD);
        CheckView(kernel, shape, nameof(dv), dv, dvOff, dvS, B, NH, L, "L", HD);
        CheckView(kernel, shape, nameof(dout), dout, doOff, doS, B, NH, N, "N", HD);
        CheckView(kernel, shape, nameof(q), q, qOff, qS, B, NH, N, "N", HD);
        CheckView(kernel, shape, nameof(k), k, kOff, kS, B, NH, L, "L", HD);
        CheckView(kernel, shape, nameof(v), v, vOff, vS, B, NH, L, "L", HD);
        CheckView(kernel, shape, nameof(output), output, outOff, outS, B, NH, N, "N", HD);
        CheckLength(kernel, shape, nameof(lse), lse?.LongLength, (long)B * NH * N, "B*NH*N");
        CheckMasks(kernel, shape, keyMask, segQ, segK, B, N, L);
    }

    static string CheckSizes(string kernel, int B, int NH, int N, int L, int HD, float scale)
    {
        string shape = $"(B={B}, NH={NH}, N={N}, L={L}, HD={HD})";
        if (B < 0 || NH < 0 || N < 0 || L < 0 || HD < 1)
            throw new ArgumentException($"{kernel}: sizes {shape} must be non-negative with HD >= 1.");
        if ((long)B * NH > int.MaxValue)
            throw new ArgumentException($"{kernel}: B*NH for {shape} must fit in an int.");
        if (!float.IsFinite(scale))
            throw new ArgumentException($"{kernel}: scale {scale} must be finite for {shape}.", nameof(scale));
        return shape;
    }

    // Every element (b, h, n, d) of the operand must lie inside the buffer, whatever the signs of the strides.
    static void CheckView(string kernel, string shape, string name, float[]? buffer, long offset, AttnStrides s,
                          int B, int NH, int rows, string rowsName, int HD)
    {
        if (buffer is null) throw new ArgumentNullException(name, $"{kernel}: {name} is null for {shape}.");
        if ((long)B * NH * rows == 0) return;
        long lo = offset, hi = offset;
        try
        {
            hi = checked(hi + HD - 1);
            Extend(ref lo, ref hi, s.B, B);
            Extend(ref lo, ref hi, s.H, NH);
            Extend(ref lo, ref hi, s.N, rows);
        }
        catch (OverflowException)
        {
            lo = long.MinValue;   // reported below as out of range
        }
        if (lo < 0 || hi >= buffer.LongLength)
            throw new ArgumentException($"{kernel}: {name} at offset {offset} with strides (B={s.B}, H={s.H}, " +
                $"{rowsName}={s.N}) spans elements [{(lo == long.MinValue ? "overflow" : lo.ToString())}, {hi}] " +
                $"for {shape}; expected all within its length {buffer.LongLength}.", name);
    }

    static void Extend(ref long lo, ref long hi, long stride, int count)
    {
        long span = checked(stride * (count - 1));
        if (span < 0) lo = checked(lo + span);
        else hi = checked(hi + span);
    }

    static void CheckLength(string kernel, string shape, string name, long? length, long need, string what)
    {
        if (length is null) throw new ArgumentNullException(name, $"{kernel}: {name} is null for {shape}.");
        if (length < need)
            throw new ArgumentException($"{kernel}: {name} has length {length} for {shape}; expected at least " +
                $"{what} = {need}.", name);
    }

    static void CheckMasks(string kernel, string shape, bool[]? keyMask, int[]? segQ, int[]? segK, int B, int N, int L)
    {
        if (keyMask is not null)
            CheckLength(kernel, shape, nameof(keyMask), keyMask.LongLength, (long)B * L, "B*L");
        if ((segQ is null) != (segK is null))
            throw new ArgumentException($"{kernel}: segQ and segK must both be given or both be null for {shape}; " +
                $"got segQ {(segQ is null ? "null" : "given")}, segK {(segK is null ? "null" : "given")}.");
        if (segQ is not null)
        {
            CheckLength(kernel, shape, nameof(segQ), segQ.LongLength, (long)B * N, "B*N");
            CheckLength(kernel, shape, nameof(segK), segK!.LongLength, (long)B * L, "B*L");
        }
    }
}
