// Tests for the fused attention kernels (Spacetime.Engine.Kernels.AttentionKernels): the tiled kernels and the naive
// reference kernels against a float64 oracle written here (it materialises the score matrix, fine at test sizes),
// finite differences, thread-count independence and argument checks.
//
// Tolerances are relative to the largest magnitude in the compared tensor (max |x - ref| <= tol * max |ref|); the
// largest errors seen over these cases are ~3e-7 for both passes, so the bounds below leave a wide margin:
//  - forward 2e-5: an output is a float convex combination of L values of v plus a float HD-term dot product in each
//    score. Worst-case rounding is ~(HD + L) * 2^-24 ~ 1.2e-5 at HD = 64, L = 130; typical (random-walk) error is
//    ~sqrt(HD + L) * 2^-24 ~ 1e-6. exp2's polynomial adds < 1e-7.
//  - backward 1e-4: dS = P (dP - D) subtracts two O(1) quantities and then sums N or L of them, so error relative to
//    the largest gradient entry is a few times larger than the forward's.
// A query row with no allowed key must give exactly 0 output, lse = -inf and exactly zero gradients.
using Spacetime.Engine.Kernels;

namespace Spacetime.Tests.Engine;

public class AttentionKernelsTests
{
    const double ForwardTol = 2e-5, BackwardTol = 1e-4;

    public enum Masking { None, KeyMask, Segments, Both }

    public sealed record Case(int B, int NH, int N, int L, int HD, bool Strided, Masking Mask)
    {
        public override string ToString() =>
            $"B{B} NH{NH} N{N} L{L} HD{HD} {(Strided ? "strided" : "contiguous")} {Mask}";
    }

    // An operand buffer seen through (offset, strides), d contiguous.
    sealed record Operand(float[] Data, long Off, AttnStrides S)
    {
        public long At(int b, int h, int n) => Off + b * S.B + h * S.H + n * S.N;
    }

    sealed class Problem
    {
        public required Case C;
        public required Operand Q, K, V, DOut, Out, DQ, DK, DV;
        public required float[] Lse;
        public bool[]? KeyMask;
        public int[]? SegQ, SegK;
        public float Scale;
    }

    // ------------------------------------------------------------------------------------------------ cases

    static readonly int[] Sizes = [1, 2, 3, 17, 65, 130];
    static readonly int[] HeadDims = [1, 3, 16, 32, 64];

    public static TheoryData<Case> Cases()
    {
        var data = new TheoryData<Case>();
        int i = 0;
        foreach (int n in Sizes)
            foreach (int l in Sizes)
            {
                data.Add(new Case(B: 1 + i % 2, NH: 1 + i % 3, n, l, HeadDims[i % HeadDims.Length], Strided: i % 2 == 1,
                    (Masking)(i % 4)));
                i++;
            }
        foreach (int hd in HeadDims)
            foreach (Masking m in Enum.GetValues<Masking>())
                data.Add(new Case(B: 2, NH: 3, N: 65, L: 130, hd, Strided: true, m));
        data.Add(new Case(2, 2, 130, 130, 32, Strided: true, Masking.Both));    // self-attention through fused qkv
        data.Add(new Case(2, 2, 130, 130, 96, Strided: true, Masking.Segments));
        data.Add(new Case(1, 2, 3, 0, 8, Strided: false, Masking.None));        // no keys at all: zero output
        return data;
    }

    // ---------------------------------------------------------------------------------------------- forward

    [Theory]
    [MemberData(nameof(Cases))]
    public void Forward_MatchesDoubleReference(Case c)
    {
        var p = Make(c, seed: 20261121);
        var (refOut, refLse) = DoubleForward(p);
        foreach (bool tiled in new[] { true, false })
        {
            Forward(p, tiled);
            AssertClose(refOut, Extract(p.Out, c, c.N), ForwardTol, $"{(tiled ? "tiled" : "reference")} out {c}");
            for (int i = 0; i < refLse.Length; i++)
            {
                if (double.IsNegativeInfinity(refLse[i]))
                    Assert.True(float.IsNegativeInfinity(p.Lse[i]), $"lse[{i}] = {p.Lse[i]}, expected -inf ({c})");
                else
                    Assert.True(Math.Abs(p.Lse[i] - refLse[i]) <= ForwardTol * Math.Max(1, Math.Abs(refLse[i])),
                        $"lse[{i}] = {p.Lse[i]}, expected {refLse[i]} ({c})");
            }
            AssertMaskedRowsZero(p, refLse, Extract(p.Out, c, c.N), "out");
        }
    }

    // --------------------------------------------------------------------------------------------- backward

    [Theory]
    [MemberData(nameof(Cases))]
    public void Backward_MatchesDoubleReference(Case c)
    {
        var p = Make(c, seed: 20261122);
        var (refOut, refLse) = DoubleForward(p);
        var (refDq, refDk, refDv) = DoubleBackward(p, refOut);
        foreach (bool tiled in new[] { true, false })
        {
            Forward(p, tiled);
            Backward(p, tiled);
            string what = tiled ? "tiled" : "reference";
            var dq = Extract(p.DQ, c, c.N);
            AssertClose(refDq, dq, BackwardTol, $"{what} dq {c}");
            AssertClose(refDk, Extract(p.DK, c, c.L), BackwardTol, $"{what} dk {c}");
            AssertClose(refDv, Extract(p.DV, c, c.L), BackwardTol, $"{what} dv {c}");
            AssertMaskedRowsZero(p, refLse, dq, "dq");
        }
    }

    [Fact]
    public void Backward_MatchesFiniteDifferences()
    {
        // Central differences of loss = sum(out * w) through the tiled forward, in float with the loss summed in
        // double. h = 1e-2: truncation error ~h^2 |f'''| ~ 1e-4 relative; rounding error ~ 40 terms * 2^-24 / (2h)
        // ~ 1e-4 absolute on gradients of order 0.1 to 1 (seen: 6e-6). So 5e-4 relative to the largest gradient.
        var c = new Case(B: 1, NH: 2, N: 5, L: 7, HD: 4, Strided: false, Masking.Both);
        var p = Make(c, seed: 7);
        float[] w = p.DOut.Data;                      // dL/dout = w
        Forward(p, tiled: true);
        Backward(p, tiled: true);
        const float h = 1e-2f;
        foreach (var (x, g, rows) in new[] { (p.Q, p.DQ, c.N), (p.K, p.DK, c.L), (p.V, p.DV, c.L) })
        {
            var analytic = Extract(g, c, rows);
            var numeric = new double[analytic.Length];
            int i = 0;
            for (int b = 0; b < c.B; b++)
                for (int hh = 0; hh < c.NH; hh++)
                    for (int n = 0; n < rows; n++)
                        for (int d = 0; d < c.HD; d++, i++)
                        {
                            long at = x.At(b, hh, n) + d;
                            float saved = x.Data[at];
                            x.Data[at] = saved + h;
                            double up = Loss(p, w);
                            x.Data[at] = saved - h;
                            double down = Loss(p, w);
                            x.Data[at] = saved;
                            numeric[i] = (up - down) / (2 * h);
                        }
            AssertClose(numeric, analytic, 5e-4, $"finite differences vs backward ({rows} rows)");
        }

        static double Loss(Problem p, float[] w)
        {
            Forward(p, tiled: true);
            double sum = 0;
            for (int i = 0; i < w.Length; i++) sum += (double)p.Out.Data[i] * w[i];
            return sum;
        }
    }

    // ------------------------------------------------------------------------------------------ determinism

    [Fact]
    public void ForwardAndBackward_OneAndTwoThreads_BitwiseEqual()
    {
        var c = new Case(B: 2, NH: 3, N: 200, L: 150, HD: 40, Strided: true, Masking.Both);
        var p = Make(c, seed: 3);
        float[] Run(int threads)
        {
            using var _ = Par.UseThreads(threads);
            Forward(p, tiled: true);
            Backward(p, tiled: true);
            return [.. p.Out.Data, .. p.Lse, .. p.DQ.Data, .. p.DK.Data, .. p.DV.Data];
        }
        float[] one = Run(1), two = Run(2);
        Assert.Equal(one.Length, two.Length);
        for (int i = 0; i < one.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(one[i]) == BitConverter.SingleToInt32Bits(two[i]),
                $"element {i}: {one[i]} (1 thread) vs {two[i]} (2 threads)");
    }

    // -------------------------------------------------------------------------------------------- bad input

    public static TheoryData<string> BadArguments() =>
        ["short output", "short lse", "negative N", "zero HD", "NaN scale", "segQ without segK", "short keyMask",
         "short segK", "negative offset", "stride past end", "null k", "backward short dk", "backward short dout"];

    [Theory]
    [MemberData(nameof(BadArguments))]
    public void BadArguments_ThrowArgumentException(string bad)
    {
        const int B = 2, NH = 2, N = 5, L = 6, HD = 4;
        var sq = AttnStrides.Contiguous(NH, N, HD);
        var sk = AttnStrides.Contiguous(NH, L, HD);
        float[] F(long n) => new float[n];
        float[] q = F(B * NH * N * HD), k = F(B * NH * L * HD), v = F(B * NH * L * HD), o = F(B * NH * N * HD);
        float[] lse = F(B * NH * N);
        bool[]? mask = null;
        int[]? segQ = null, segK = null;
        int n = N, hd = HD;
        long qOff = 0;
        float scale = 0.5f;
        AttnStrides qS = sq;
        float[] dk = F(B * NH * L * HD), dout = F(B * NH * N * HD);
        bool backward = false;
        switch (bad)
        {
            case "short output": o = F(o.Length - 1); break;
            case "short lse": lse = F(lse.Length - 1); break;
            case "negative N": n = -1; break;
            case "zero HD": hd = 0; break;
            case "NaN scale": scale = float.NaN; break;
            case "segQ without segK": segQ = new int[B * N]; break;
            case "short keyMask": mask = new bool[B * L - 1]; break;
            case "short segK": segQ = new int[B * N]; segK = new int[B * L - 1]; break;
            case "negative offset": qOff = -1; break;
            case "stride past end": qS = sq with { N = HD + 1 }; break;
            case "null k": k = null!; break;
            case "backward short dk": dk = F(dk.Length - 1); backward = true; break;
            case "backward short dout": dout = F(dout.Length - 1); backward = true; break;
        }
        void Call(bool tiled)
        {
            if (backward)
            {
                var dq = F(q.Length);
                var dv = F(v.Length);
                if (tiled)
                    AttentionKernels.AttentionBackward(dq, 0, sq, dk, 0, sk, dv, 0, sk, dout, 0, sq, q, qOff, qS,
                        k, 0, sk, v, 0, sk, o, 0, sq, lse, mask, segQ, segK, B, NH, n, L, hd, scale);
                else
                    AttentionKernels.AttentionBackwardReference(dq, 0, sq, dk, 0, sk, dv, 0, sk, dout, 0, sq, q, qOff,
                        qS, k, 0, sk, v, 0, sk, o, 0, sq, lse, mask, segQ, segK, B, NH, n, L, hd, scale);
            }
            else if (tiled)
                AttentionKernels.AttentionForward(o, 0, sq, lse, q, qOff, qS, k, 0, sk, v, 0, sk, mask, segQ, segK,
                    B, NH, n, L, hd, scale);
            else
                AttentionKernels.AttentionForwardReference(o, 0, sq, lse, q, qOff, qS, k, 0, sk, v, 0, sk, mask, segQ,
                    segK, B, NH, n, L, hd, scale);
        }
        var e = Assert.ThrowsAny<ArgumentException>(() => Call(tiled: true));
        Assert.Contains(backward ? "AttentionBackward" : "AttentionForward", e.Message);
        Assert.Contains("B=2", e.Message);
        Assert.ThrowsAny<ArgumentException>(() => Call(tiled: false));
    }

    // ------------------------------------------------------------------------------------ problem building

    static Problem Make(Case c, int seed)
    {
        var rng = new Random(seed);
        int B = c.B, NH = c.NH, N = c.N, L = c.L, HD = c.HD;
        Operand Alloc(int rows, bool random, float range, int pad)
        {
            // Strided: a (B, rows, NH, HD) view with padded rows and a leading offset, as sliced from a projection.
            long rowStride = c.Strided ? (long)NH * HD + pad : HD;
            var s = c.Strided ? new AttnStrides(rows * rowStride, HD, rowStride) : AttnStrides.Contiguous(NH, rows, HD);
            long off = c.Strided ? 3 : 0;
            var data = new float[off + (long)B * rows * NH * HD + (c.Strided ? (long)B * rows * pad : 0) + 2];
            if (random)
                for (int i = 0; i < data.Length; i++) data[i] = (rng.NextSingle() * 2 - 1) * range;
            return new Operand(data, off, s);
        }
        Operand q, k, v, dq, dk, dv;
        if (c.Strided && N == L)
        {
            // Self-attention straight out of a fused projection: qkv is (B, N, 3, NH, HD); q, k, v are views of it.
            long rowStride = 3L * NH * HD;
            var s = new AttnStrides(N * rowStride, HD, rowStride);
            var qkv = new float[(long)B * N * rowStride];
            for (int i = 0; i < qkv.Length; i++) qkv[i] = rng.NextSingle() * 2 - 1;
            for (long i = 0; i < qkv.Length; i += rowStride)   // q in [-2, 2): peakier softmax
                for (long j = i; j < i + (long)NH * HD; j++) qkv[j] *= 2;
            q = new Operand(qkv, 0, s);
            k = new Operand(qkv, (long)NH * HD, s);
            v = new Operand(qkv, 2L * NH * HD, s);
            var dqkv = new float[qkv.Length];
            dq = new Operand(dqkv, 0, s);
            dk = new Operand(dqkv, (long)NH * HD, s);
            dv = new Operand(dqkv, 2L * NH * HD, s);
        }
        else
        {
            q = Alloc(N, true, 2f, pad: 5);
            k = Alloc(L, true, 1f, pad: 7);
            v = Alloc(L, true, 1f, pad: 1);
            dq = Alloc(N, false, 0, pad: 2);
            dk = Alloc(L, false, 0, pad: 3);
            dv = Alloc(L, false, 0, pad: 4);
        }
        var p = new Problem
        {
            C = c, Q = q, K = k, V = v, DQ = dq, DK = dk, DV = dv,
            DOut = Alloc(N, true, 1f, pad: 6), Out = Alloc(N, false, 0, pad: 9), Lse = new float[B * NH * N],
            Scale = 1f / MathF.Sqrt(HD),
        };
        if (c.Mask is Masking.KeyMask or Masking.Both)
        {
            p.KeyMask = new bool[B * L];
            for (int i = 0; i < p.KeyMask.Length; i++) p.KeyMask[i] = rng.NextDouble() < 0.7;
            if (B > 1)
                for (int l = 0; l < L; l++) p.KeyMask[L + l] = false;   // batch 1: every key is padding
        }
        if (c.Mask is Masking.Segments or Masking.Both)
        {
            // Packed sequences of uneven lengths: segment s holds a run of queries and a run of keys (different
            // lengths when N != L). The last query gets an id no key has: a fully masked row.
            p.SegQ = new int[B * N];
            p.SegK = new int[B * L];
            for (int b = 0; b < B; b++)
            {
                FillRuns(p.SegQ.AsSpan(b * N, N), N == L ? seed + b : seed + 100 + b);
                FillRuns(p.SegK.AsSpan(b * L, L), seed + b);
                if (N > 1) p.SegQ[b * N + N - 1] = 999;
            }
        }
        return p;
    }

    // Runs of uneven lengths 1..40, ids 0, 1, 2, ... (the same sequence of lengths for the same runSeed).
    static void FillRuns(Span<int> seg, int runSeed)
    {
        var r = new Random(runSeed);
        int id = 0;
        for (int i = 0; i < seg.Length; id++)
        {
            int len = 1 + r.Next(40);
            for (int j = 0; j < len && i < seg.Length; j++) seg[i++] = id;
        }
    }

    static void Forward(Problem p, bool tiled)
    {
        var c = p.C;
        if (tiled)
            AttentionKernels.AttentionForward(p.Out.Data, p.Out.Off, p.Out.S, p.Lse, p.Q.Data, p.Q.Off, p.Q.S,
                p.K.Data, p.K.Off, p.K.S, p.V.Data, p.V.Off, p.V.S, p.KeyMask, p.SegQ, p.SegK,
                c.B, c.NH, c.N, c.L, c.HD, p.Scale);
        else
            AttentionKernels.AttentionForwardReference(p.Out.Data, p.Out.Off, p.Out.S, p.Lse, p.Q.Data, p.Q.Off, p.Q.S,
                p.K.Data, p.K.Off, p.K.S, p.V.Data, p.V.Off, p.V.S, p.KeyMask, p.SegQ, p.SegK,
                c.B, c.NH, c.N, c.L, c.HD, p.Scale);
    }

    static void Backward(Problem p, bool tiled)
    {
        var c = p.C;
        Array.Fill(p.DQ.Data, float.NaN);   // gradients are written, not accumulated: stale values must not leak
        if (p.DK.Data != p.DQ.Data) Array.Fill(p.DK.Data, float.NaN);
        if (p.DV.Data != p.DQ.Data) Array.Fill(p.DV.Data, float.NaN);
        if (tiled)
            AttentionKernels.AttentionBackward(p.DQ.Data, p.DQ.Off, p.DQ.S, p.DK.Data, p.DK.Off, p.DK.S,
                p.DV.Data, p.DV.Off, p.DV.S, p.DOut.Data, p.DOut.Off, p.DOut.S, p.Q.Data, p.Q.Off, p.Q.S,
                p.K.Data, p.K.Off, p.K.S, p.V.Data, p.V.Off, p.V.S, p.Out.Data, p.Out.Off, p.Out.S, p.Lse,
                p.KeyMask, p.SegQ, p.SegK, c.B, c.NH, c.N, c.L, c.HD, p.Scale);
        else
            AttentionKernels.AttentionBackwardReference(p.DQ.Data, p.DQ.Off, p.DQ.S, p.DK.Data, p.DK.Off, p.DK.S,
                p.DV.Data, p.DV.Off, p.DV.S, p.DOut.Data, p.DOut.Off, p.DOut.S, p.Q.Data, p.Q.Off, p.Q.S,
                p.K.Data, p.K.Off, p.K.S, p.V.Data, p.V.Off, p.V.S, p.Out.Data, p.Out.Off, p.Out.S, p.Lse,
                p.KeyMask, p.SegQ, p.SegK, c.B, c.NH, c.N, c.L, c.HD, p.Scale);
    }

    // (B, NH, rows, HD) elements of an operand, in order, as double.
    static double[] Extract(Operand x, Case c, int rows)
    {
        var r = new double[(long)c.B * c.NH * rows * c.HD];
        int i = 0;
        for (int b = 0; b < c.B; b++)
            for (int h = 0; h < c.NH; h++)
                for (int n = 0; n < rows; n++)
                    for (int d = 0; d < c.HD; d++) r[i++] = x.Data[x.At(b, h, n) + d];
        return r;
    }

    // --------------------------------------------------------------------------------- float64 oracle

    // The oracle works on the operands copied to contiguous (B, NH, rows, HD) double arrays.
    sealed record Inputs(double[] Q, double[] K, double[] V, double[] G);

    static Inputs Read(Problem p) =>
        new(Extract(p.Q, p.C, p.C.N), Extract(p.K, p.C, p.C.L), Extract(p.V, p.C, p.C.L), Extract(p.DOut, p.C, p.C.N));

    static bool Allowed(Problem p, int b, int n, int l) =>
        (p.KeyMask is null || p.KeyMask[b * p.C.L + l]) &&
        (p.SegQ is null || p.SegQ[b * p.C.N + n] == p.SegK![b * p.C.L + l]);

    // P (N, L) for head (b, h) in double, row-major; rows with no allowed key are all 0. Fills lse per row.
    static double[] Probabilities(Problem p, Inputs x, int b, int h, double[] lse)
    {
        var c = p.C;
        int head = b * c.NH + h;
        var s = new double[c.N * c.L];
        for (int n = 0; n < c.N; n++)
        {
            double max = double.NegativeInfinity;
            var qn = x.Q.AsSpan((head * c.N + n) * c.HD, c.HD);
            for (int l = 0; l < c.L; l++)
            {
                var kl = x.K.AsSpan((head * c.L + l) * c.HD, c.HD);
                double dot = 0;
                for (int d = 0; d < c.HD; d++) dot += qn[d] * kl[d];
                s[n * c.L + l] = Allowed(p, b, n, l) ? p.Scale * dot : double.NegativeInfinity;
                max = Math.Max(max, s[n * c.L + l]);
            }
            double sum = 0;
            for (int l = 0; l < c.L; l++)
                sum += s[n * c.L + l] = double.IsNegativeInfinity(max) ? 0 : Math.Exp(s[n * c.L + l] - max);
            for (int l = 0; l < c.L; l++) s[n * c.L + l] = sum > 0 ? s[n * c.L + l] / sum : 0;
            lse[n] = sum > 0 ? max + Math.Log(sum) : double.NegativeInfinity;
        }
        return s;
    }

    static (double[] Out, double[] Lse) DoubleForward(Problem p)
    {
        var c = p.C;
        var x = Read(p);
        var o = new double[c.B * c.NH * c.N * c.HD];
        var lse = new double[c.B * c.NH * c.N];
        var rowLse = new double[c.N];
        for (int b = 0; b < c.B; b++)
            for (int h = 0; h < c.NH; h++)
            {
                var P = Probabilities(p, x, b, h, rowLse);
                int head = b * c.NH + h;
                for (int n = 0; n < c.N; n++)
                {
                    lse[head * c.N + n] = rowLse[n];
                    var on = o.AsSpan((head * c.N + n) * c.HD, c.HD);
                    for (int l = 0; l < c.L; l++)
                    {
                        double pl = P[n * c.L + l];
                        var vl = x.V.AsSpan((head * c.L + l) * c.HD, c.HD);
                        for (int d = 0; d < c.HD; d++) on[d] += pl * vl[d];
                    }
                }
            }
        return (o, lse);
    }

    // dS = P (dP - D) with dP = dO V^T and D = rowsum(dO * O); dq = scale dS K, dk = scale dS^T Q, dv = P^T dO.
    static (double[] Dq, double[] Dk, double[] Dv) DoubleBackward(Problem p, double[] o)
    {
        var c = p.C;
        var x = Read(p);
        var dq = new double[c.B * c.NH * c.N * c.HD];
        var dk = new double[c.B * c.NH * c.L * c.HD];
        var dv = new double[c.B * c.NH * c.L * c.HD];
        var rowLse = new double[c.N];
        for (int b = 0; b < c.B; b++)
            for (int h = 0; h < c.NH; h++)
            {
                var P = Probabilities(p, x, b, h, rowLse);
                int head = b * c.NH + h;
                for (int n = 0; n < c.N; n++)
                {
                    int rn = (head * c.N + n) * c.HD;
                    var gn = x.G.AsSpan(rn, c.HD);
                    double D = 0;
                    for (int d = 0; d < c.HD; d++) D += gn[d] * o[rn + d];
                    for (int l = 0; l < c.L; l++)
                    {
                        double pl = P[n * c.L + l];
                        if (pl == 0) continue;
                        int rl = (head * c.L + l) * c.HD;
                        double dp = 0;
                        for (int d = 0; d < c.HD; d++) dp += gn[d] * x.V[rl + d];
                        double ds = pl * (dp - D) * p.Scale;
                        for (int d = 0; d < c.HD; d++)
                        {
                            dq[rn + d] += ds * x.K[rl + d];
                            dk[rl + d] += ds * x.Q[rn + d];
                            dv[rl + d] += pl * gn[d];
                        }
                    }
                }
            }
        return (dq, dk, dv);
    }

    // ------------------------------------------------------------------------------------------ assertions

    static void AssertClose(double[] expected, double[] actual, double tol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        if (expected.Length == 0) return;
        double scale = 0, worst = 0;
        int at = -1;
        foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            if (!(err <= worst)) { worst = err; at = i; }   // NaN counts as worst
        }
        Assert.True(worst <= tol * scale || (scale == 0 && worst == 0),
            $"{what}: max error {worst:E3} at {at} ({actual[Math.Max(at, 0)]} vs {expected[Math.Max(at, 0)]}) " +
            $"exceeds {tol:E1} x max|ref| {scale:E3}");
    }

    // Rows whose reference lse is -inf (no allowed key) must be exactly 0.
    static void AssertMaskedRowsZero(Problem p, double[] refLse, double[] rows, string what)
    {
        int HD = p.C.HD;
        for (int r = 0; r < refLse.Length; r++)
            if (double.IsNegativeInfinity(refLse[r]))
                for (int d = 0; d < HD; d++)
                    Assert.True(rows[r * HD + d] == 0, $"{what} row {r} has no allowed key but is {rows[r * HD + d]}");
    }
}
