// Scaled dot-product attention, fused: out = softmax(scale * Q K^T + mask) V, forward and backward, without ever
// building the (N, L) score matrix (FlashAttention-2, Dao 2023: tiles of queries against tiles of keys, online
// softmax; the backward recomputes P tile by tile from Q, K and the saved log-sum-exp).
//
// Shapes: B batch, NH heads, N query tokens, L key tokens, HD head dim. Every tensor is addressed through an offset and
// (B, H, N) strides with d contiguous: q[qOff + b*qS.B + h*qS.H + n*qS.N + d]; k and v likewise with L rows. So the
// op can pass (B, N, NH, HD) views straight out of a fused qkv projection without a copy.
//   out (B, NH, N, HD), lse (B*NH*N) contiguous: per query row, the natural log of sum_l exp(scale * q.k_l) over the
//   allowed keys, kept for the backward pass. keyMask (B*L), true = key is valid. segQ (B*N), segK (B*L): query n may
//   attend to key l only if segQ[b, n] == segK[b, l] (block-diagonal attention of packed sequences). A query row with
//   no allowed key outputs 0 and lse = -inf (and gets zero gradient).
//
// Versions: v1 AttentionForwardReference/AttentionBackwardReference (AttentionKernels.Reference.cs): one query row at
// a time, full score row; the test oracle and the fallback on machines without AVX2 + FMA. v2 (this file): tiles
// of BR = 64 queries x BC = 64 keys in the "query-lane" layout described in AttentionKernels.Tiles.cs, softmax in
// base 2 (log2(e) folded into the Q scaling), FMA micro-kernels of 8 x 32 (Vector512) or 6 x 16 (Vector256).
//   Forward: parallel over (b, h, query tile); per tile Q^T is packed once, then for each key tile
//     S^T = K Q^T, running max/sum update, O^T = alpha O^T + V^T P^T; O = O^T / l at the end.
//   Backward: parallel over (b, h); per query tile: S^T, dP^T = V dO^T, P = exp(S - lse), dS = P (dP - D) with
//     D_i = dO_i . O_i; dV += P^T dO and dK += dS^T Q into per-head (L, HD) accumulators, dQ^T += K^T dS^T. Each
//     gradient is summed in one fixed order by one thread, so results are bitwise identical for any thread count.
//   Masks: a key tile with no valid key, or whose segment-id range cannot meet the query tile's, is skipped whole;
//     within a tile masked scores become -inf. With no mask and no segments none of this code runs.
// Scratch is per thread (pinned, reused): forward 2 HD BR + BC BR + 3 BR floats, backward adds 2 L HD' (HD' = HD
// rounded up to the micro-tile width) for the dK/dV accumulators and 2 L HD for the head's K/V rows: memory linear
// in tokens. When K or V rows are strided (views of a fused qkv projection) the forward also copies a head's K and V
// rows into its thread's scratch (2 L HD more floats) before that head's first query tile: a row a page apart in
// every query tile's pass over the keys cost ~40% at 4096 tokens.
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spacetime.Engine.Kernels;

/// <summary>Element strides of an attention operand over (batch, head, token); the head dim is contiguous.</summary>
public readonly record struct AttnStrides(long B, long H, long N)
{
    /// <summary>Strides of a contiguous (B, NH, tokens, HD) tensor.</summary>
    public static AttnStrides Contiguous(int NH, int tokens, int HD) => new((long)NH * tokens * HD, (long)tokens * HD, HD);
}

public static unsafe partial class AttentionKernels
{
    // Tile sizes: on Zen 3 (1 thread, HD 64) BR = 32 ran ~20% slower and BR = 128 or BC = 128 ~5% slower than 64 x 64.
    const int BR = 64;   // queries per tile (2 wide or 4 narrow micro-kernel lane panels)
    const int BC = 64;   // keys per tile
    const float Log2E = FastMath.Log2E;
    const double Ln2 = 0.69314718055994531;

    // A strided operand, pinned: element (b, h, n, d) at P[b*S.B + h*S.H + n*S.N + d].
    readonly struct View(float* p, AttnStrides s)
    {
        public float* Row(int b, int h, int n) => p + b * s.B + h * s.H + n * s.N;
        public long RowStride => s.N;
    }

    // ------------------------------------------------------------------------------------------------- forward

    /// <summary>
    /// Fused attention forward: effectively computes, for each (b, h, n), p = softmax over allowed l of
    /// scale * q[b,h,n,:] . k[b,h,l,:], output[b,h,n,:] = sum_l p_l v[b,h,l,:], and lse[(b*NH + h)*N + n] = log of the
    /// softmax denominator (natural log, -inf for a row with no allowed key, whose output is 0).
    /// </summary>
    public static void AttentionForward(float[] output, long outOff, AttnStrides outS, float[] lse,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        const string kernel = nameof(AttentionForward);
        CheckForward(kernel, output, outOff, outS, lse, q, qOff, qS, k, kOff, kS, v, vOff, vS,
            keyMask, segQ, segK, B, NH, N, L, HD, scale);
        if (!TiledSupported)
        {
            ForwardReferenceCore(output, outOff, outS, lse, q, qOff, qS, k, kOff, kS, v, vOff, vS,
                keyMask, segQ, segK, B, NH, N, L, HD, scale);
            return;
        }
        int qTiles = (N + BR - 1) / BR;
        long tasks = (long)B * NH * qTiles;
        if (tasks == 0) return;
        if (tasks > int.MaxValue) throw new ArgumentException($"{kernel}: too many tiles for B={B}, NH={NH}, N={N}.");
        // Strided K/V rows (a fused qkv view): each thread copies a head's K and V rows into its scratch when it
        // reaches that head (its tasks are consecutive tiles, so mostly once per head). Streaming rows a page apart
        // through every query tile cost ~40% at 4096 tokens; one copy of all heads before the call cost ~20% at
        // 320-512 tokens (written to memory and read back; session 34, `-- attention --layout qkv` vs contiguous).
        bool packKv = L > 0 && (kS.N != HD || vS.N != HD);
        long floats = ForwardScratchFloats(HD, L, packKv);
        int nr = WideKernels ? WideNR : NarrowNR;
        Par.ForRange((int)tasks, costPerItem: 4L * BR * L * HD, (start, end) =>
        {
            fixed (float* po = output, pl = lse, pq = q, pk = k, pv = v)
            fixed (bool* pm = keyMask)
            fixed (int* psq = segQ, psk = segK)
            {
                var f = new Fwd
                {
                    O = new View(po + outOff, outS), Lse = pl, Q = new View(pq + qOff, qS),
                    K = new View(pk + kOff, kS), V = new View(pv + vOff, vS),
                    KeyMask = pm, SegQ = psq, SegK = psk, NH = NH, N = N, L = L, HD = HD, Scale = scale, NR = nr,
                };
                float* w = Scratch(floats);
                float* kHead = w + ForwardScratchFloats(HD, 0, false), vHead = kHead + (long)L * HD;
                var head = f with { K = new View(kHead, new(0, 0, HD)), V = new View(vHead, new(0, 0, HD)) };
                int packed = -1;
                for (int t = start; t < end; t++)
                {
                    int tile = t % qTiles, bh = t / qTiles, b = bh / NH, h = bh % NH;
                    if (packKv && bh != packed)
                    {
                        CopyHeadRows(f.K, b, h, L, HD, kHead);
                        CopyHeadRows(f.V, b, h, L, HD, vHead);
                        packed = bh;
                    }
                    ForwardTile(packKv ? head : f, b, h, tile * BR, w);
                }
            }
        });
    }

    // Per thread: Q^T, O^T, the score tile and the row statistics, plus a head's K and V rows when they are strided.
    internal static long ForwardScratchFloats(int HD, int L, bool packKv) =>
        2L * HD * BR + BC * BR + 3 * BR + (packKv ? 2L * L * HD : 0);

    struct Fwd
    {
        public View O, Q, K, V;
        public float* Lse;
        public bool* KeyMask;
        public int* SegQ, SegK;
        public int NH, N, L, HD, NR;
        public float Scale;
    }

    // One query tile: rows n0 .. n0+nb of head (b, h) against all keys.
    static void ForwardTile(in Fwd f, int b, int h, int n0, float* w)
    {
        int HD = f.HD, L = f.L, nr = f.NR, nb = Math.Min(BR, f.N - n0), lanes = RoundUp(nb, nr), panels = lanes / nr;
        float* qt = w;                   // (HD, BR) Q^T, scaled by scale * log2(e): the softmax runs in base 2
        float* ot = qt + HD * BR;        // (HD, BR) unnormalised output O^T
        float* st = ot + HD * BR;        // (BC, BR) scores S^T, then probabilities P^T
        float* m = st + BC * BR;         // (BR) running max of each query's scores (base-2 units)
        float* l = m + BR;               // (BR) running sum of 2^(s - m)
        int* sq = (int*)(l + BR);        // (BR) segment id of each query lane

        RowsToLanes(f.Q, b, h, n0, nb, lanes, HD, qt);                     // Q^T, then times qScale (one rounding,
        ScaleLanes(qt, HD, lanes, f.Scale * Log2E);                        // as multiplying while copying would)
        new Span<float>(ot, HD * BR).Clear();
        for (int r = 0; r < lanes; r++) { m[r] = float.NegativeInfinity; l[r] = 0f; }

        bool* keyMask = f.KeyMask is null ? null : f.KeyMask + (long)b * L;
        int* segK = f.SegK is null ? null : f.SegK + (long)b * L;
        int qSegMin = 0, qSegMax = 0;
        if (segK is not null) LoadSegments(f.SegQ + (long)b * f.N + n0, nb, lanes, sq, out qSegMin, out qSegMax);

        long ldk = f.K.RowStride, ldv = f.V.RowStride;
        for (int j0 = 0; j0 < L; j0 += BC)
        {
            int jb = Math.Min(BC, L - j0);
            if (!TileAllowed(keyMask, segK, j0, jb, qSegMin, qSegMax, out bool maskRows, out bool maskSegments))
                continue;
            GemmRows(nr, jb, panels, HD, f.K.Row(b, h, j0), ldk, qt, BR, st, BR, accumulate: false);   // S^T = K Q^T
            if (maskRows || maskSegments) MaskScores(st, jb, lanes, keyMask + j0, maskRows, segK + j0, maskSegments, sq);
            if (nr == WideNR) SoftmaxUpdateWide(st, jb, lanes, m, l, ot, HD);                            // S^T -> P^T
            else SoftmaxUpdate(st, jb, lanes, m, l, ot, HD);
            GemmCols(nr, HD, panels, jb, f.V.Row(b, h, j0), ldv, st, BR, ot, BR, accumulate: true);  // O^T += V^T P^T
        }

        // lse per query, then l becomes 1 / l (0 for a query with no allowed key, whose O^T column is 0: output 0)
        float* lseRow = f.Lse + ((long)b * f.NH + h) * f.N + n0;
        for (int r = 0; r < lanes; r++)
        {
            bool none = float.IsNegativeInfinity(m[r]);
            if (r < nb) lseRow[r] = none ? float.NegativeInfinity : (float)((m[r] + Math.Log2(l[r])) * Ln2);
            l[r] = none ? 0f : 1f / l[r];
        }
        for (int d = 0; d < HD; d++)                                       // O^T columns times 1 / l
            for (int r = 0; r < lanes; r += 8)
                (Vector256.Load(ot + d * BR + r) * Vector256.Load(l + r)).Store(ot + d * BR + r);
        LanesToRows(ot, nb, HD, f.O, b, h, n0);                            // O = (O^T)^T
    }

    // Online softmax over one key tile, 8 query lanes at a time: m' = max(m, max_j s_j), alpha = 2^(m - m'),
    // p_j = 2^(s_j - m'), l = alpha l + sum_j p_j, O^T *= alpha. A lane whose scores are all -inf so far keeps
    // m' = -inf and uses 0 in the subtraction, so it gets p = 0 rather than NaN.
    static void SoftmaxUpdate(float* st, int jb, int lanes, float* m, float* l, float* ot, int HD)
    {
        var negInf = Vector256.Create(float.NegativeInfinity);
        for (int v = 0; v < lanes; v += 8)
        {
            Vector256<float> mOld = Vector256.Load(m + v), mNew = mOld;
            for (int j = 0; j < jb; j++) mNew = Avx.Max(mNew, Vector256.Load(st + j * BR + v));
            Vector256<float> mSafe = Vector256.ConditionalSelect(Vector256.Equals(mNew, negInf), default, mNew);
            Vector256<float> sum = default;
            for (int j = 0; j < jb; j++)
            {
                Vector256<float> p = FastMath.Exp2(Vector256.Load(st + j * BR + v) - mSafe);
                Vector256.Store(p, st + j * BR + v);
                sum += p;
            }
            Vector256<float> alpha = FastMath.Exp2(mOld - mSafe);
            Vector256.Store(Fma.MultiplyAdd(Vector256.Load(l + v), alpha, sum), l + v);
            Vector256.Store(mNew, m + v);
            for (int d = 0; d < HD; d++) Vector256.Store(Vector256.Load(ot + d * BR + v) * alpha, ot + d * BR + v);
        }
    }

    // SoftmaxUpdate, 16 lanes at a time, for the wide (Vector512) kernels.
    static void SoftmaxUpdateWide(float* st, int jb, int lanes, float* m, float* l, float* ot, int HD)
    {
        var negInf = Vector512.Create(float.NegativeInfinity);
        for (int v = 0; v < lanes; v += 16)
        {
            Vector512<float> mOld = Vector512.Load(m + v), mNew = mOld;
            for (int j = 0; j < jb; j++) mNew = Vector512.MaxNative(mNew, Vector512.Load(st + j * BR + v));
            Vector512<float> mSafe = Vector512.ConditionalSelect(Vector512.Equals(mNew, negInf), default, mNew);
            Vector512<float> sum = default;
            for (int j = 0; j < jb; j++)
            {
                Vector512<float> p = FastMath.Exp2(Vector512.Load(st + j * BR + v) - mSafe);
                Vector512.Store(p, st + j * BR + v);
                sum += p;
            }
            Vector512<float> alpha = FastMath.Exp2(mOld - mSafe);
            Vector512.Store(Vector512.FusedMultiplyAdd(Vector512.Load(l + v), alpha, sum), l + v);
            Vector512.Store(mNew, m + v);
            for (int d = 0; d < HD; d++) Vector512.Store(Vector512.Load(ot + d * BR + v) * alpha, ot + d * BR + v);
        }
    }

    // ------------------------------------------------------------------------------------------------ backward

    /// <summary>
    /// Fused attention backward (gradients written, not accumulated) from dout, the forward's inputs, its output
    /// and lse: P = exp(scale Q K^T - lse), D_i = dout_i . out_i, dS = P (dout V^T - D), dq = scale dS K,
    /// dk = scale dS^T Q, dv = P^T dout, recomputed tile by tile.
    /// </summary>
    public static void AttentionBackward(float[] dq, long dqOff, AttnStrides dqS, float[] dk, long dkOff, AttnStrides dkS,
        float[] dv, long dvOff, AttnStrides dvS, float[] dout, long doOff, AttnStrides doS,
        float[] q, long qOff, AttnStrides qS, float[] k, long kOff, AttnStrides kS, float[] v, long vOff, AttnStrides vS,
        float[] output, long outOff, AttnStrides outS, float[] lse,
        bool[]? keyMask, int[]? segQ, int[]? segK, int B, int NH, int N, int L, int HD, float scale)
    {
        const string kernel = nameof(AttentionBackward);
        CheckBackward(kernel, dq, dqOff, dqS, dk, dkOff, dkS, dv, dvOff, dvS, dout, doOff, doS, q, qOff, qS, k, kOff, kS,
            v, vOff, vS, output, outOff, outS, lse, keyMask, segQ, segK, B, NH, N, L, HD, scale);
        if (!TiledSupported)
        {
            BackwardReferenceCore(dq, dqOff, dqS, dk, dkOff, dkS, dv, dvOff, dvS, dout, doOff, doS, q, qOff, qS,
                k, kOff, kS, v, vOff, vS, output, outOff, outS, lse, keyMask, segQ, segK, B, NH, N, L, HD, scale);
            return;
        }
        int heads = B * NH;
        if (heads == 0) return;
        long floats = BackwardScratchFloats(L, HD);
        int nr = WideKernels ? WideNR : NarrowNR;
        Par.ForRange(heads, costPerItem: 10L * N * L * HD + (long)(N + L) * HD, (start, end) =>
        {
            fixed (float* pdq = dq, pdk = dk, pdv = dv, pdo = dout, pq = q, pk = k, pv = v, po = output, pl = lse)
            fixed (bool* pm = keyMask)
            fixed (int* psq = segQ, psk = segK)
            {
                var f = new Bwd
                {
                    DQ = new View(pdq + dqOff, dqS), DK = new View(pdk + dkOff, dkS), DV = new View(pdv + dvOff, dvS),
                    DO = new View(pdo + doOff, doS), Q = new View(pq + qOff, qS), K = new View(pk + kOff, kS),
                    V = new View(pv + vOff, vS), O = new View(po + outOff, outS), Lse = pl,
                    KeyMask = pm, SegQ = psq, SegK = psk, NH = NH, N = N, L = L, HD = HD, Scale = scale, NR = nr,
                };
                float* w = Scratch(floats);
                for (int bh = start; bh < end; bh++) BackwardHead(f, bh / NH, bh % NH, w);
            }
        });
    }

    internal static long BackwardScratchFloats(int L, int HD)
    {
        long hdPad = RoundUp(HD, WideNR);   // enough for either micro-tile width
        return 2L * L * hdPad + 2L * L * HD + 3L * HD * BR + 2L * BR * hdPad + 2L * BC * BR + 3 * BR;
    }

    struct Bwd
    {
        public View DQ, DK, DV, DO, Q, K, V, O;
        public float* Lse;
        public bool* KeyMask;
        public int* SegQ, SegK;
        public int NH, N, L, HD, NR;
        public float Scale;
    }

    // All gradients of one head (b, h): query tiles in order, key tiles in order within each.
    static void BackwardHead(in Bwd f, int b, int h, float* w)
    {
        int HD = f.HD, L = f.L, N = f.N, nr = f.NR, hdPad = RoundUp(HD, nr), hdPanels = hdPad / nr;
        float* dkAcc = w;                    // (L, hdPad) sum_i dS_ij q_i (times scale at the end)
        float* dvAcc = dkAcc + (long)L * hdPad;  // (L, hdPad) sum_i P_ij dO_i
        float* kPack = dvAcc + (long)L * hdPad;  // (L, HD) this head's K rows, when its rows are strided
        float* vPack = kPack + (long)L * HD;     // (L, HD) V likewise
        float* qt = vPack + (long)L * HD;    // (HD, BR) Q^T * scale * log2(e)
        float* dot = qt + HD * BR;           // (HD, BR) dO^T
        float* dqt = dot + HD * BR;          // (HD, BR) sum_j dS_ij k_j, transposed
        float* qr = dqt + HD * BR;           // (BR, hdPad) Q rows, zero padded
        float* dor = qr + BR * hdPad;        // (BR, hdPad) dO rows, zero padded
        float* st = dor + BR * hdPad;        // (BC, BR) S^T, then P^T
        float* dpt = st + BC * BR;           // (BC, BR) dP^T, then dS^T
        float* lse2 = dpt + BC * BR;         // (BR) lse in base 2; +inf for rows with no allowed key (so P = 0)
        float* dd = lse2 + BR;               // (BR) D_i = dO_i . O_i
        int* sq = (int*)(dd + BR);           // (BR) segment id of each query lane
        new Span<float>(dkAcc, checked(2 * L * hdPad)).Clear();

        bool* keyMask = f.KeyMask is null ? null : f.KeyMask + (long)b * L;
        int* segK = f.SegK is null ? null : f.SegK + (long)b * L;
        float* lseHead = f.Lse + ((long)b * f.NH + h) * N;
        float qScale = f.Scale * Log2E;
        // Strided K/V rows (a fused qkv view) are copied once per head: streaming rows a page apart through every
        // query tile costs ~30% at 4096 tokens (TLB and prefetch misses).
        float* kHead = L == 0 ? null : f.K.Row(b, h, 0), vHead = L == 0 ? null : f.V.Row(b, h, 0);
        long ldk = f.K.RowStride, ldv = f.V.RowStride;
        if (L > 0 && (ldk != HD || ldv != HD))
        {
            CopyHeadRows(f.K, b, h, L, HD, kPack);
            CopyHeadRows(f.V, b, h, L, HD, vPack);
            kHead = kPack;
            vHead = vPack;
            ldk = ldv = HD;
        }
        for (int n0 = 0; n0 < N; n0 += BR)
        {
            int nb = Math.Min(BR, N - n0), lanes = RoundUp(nb, nr), panels = lanes / nr;
            // Q^T (times qScale) and dO^T; below, the rows themselves (zero padded to hdPad) for dV and dK
            RowsToLanes(f.Q, b, h, n0, nb, lanes, HD, qt);
            ScaleLanes(qt, HD, lanes, qScale);
            RowsToLanes(f.DO, b, h, n0, nb, lanes, HD, dot);
            new Span<float>(dqt, HD * BR).Clear();
            for (int r = 0; r < lanes; r++)
            {
                var qDst = new Span<float>(qr + r * hdPad, hdPad);
                var doDst = new Span<float>(dor + r * hdPad, hdPad);
                qDst.Clear();
                doDst.Clear();
                float dsum = 0f, lr = float.NegativeInfinity;
                if (r < nb)
                {
                    float* doRow = f.DO.Row(b, h, n0 + r);
                    new ReadOnlySpan<float>(f.Q.Row(b, h, n0 + r), HD).CopyTo(qDst);
                    new ReadOnlySpan<float>(doRow, HD).CopyTo(doDst);
                    dsum = RowDot(doRow, f.O.Row(b, h, n0 + r), HD);                   // D_i = dO_i . O_i
                    lr = lseHead[n0 + r];
                }
                lse2[r] = float.IsNegativeInfinity(lr) ? float.PositiveInfinity : lr * Log2E;
                dd[r] = dsum;
            }
            int qSegMin = 0, qSegMax = 0;
            if (segK is not null) LoadSegments(f.SegQ + (long)b * N + n0, nb, lanes, sq, out qSegMin, out qSegMax);

            for (int j0 = 0; j0 < L; j0 += BC)
            {
                int jb = Math.Min(BC, L - j0);
                if (!TileAllowed(keyMask, segK, j0, jb, qSegMin, qSegMax, out bool maskRows, out bool maskSegments))
                    continue;
                float* kt = kHead + j0 * ldk, vt = vHead + j0 * ldv;
                GemmRows(nr, jb, panels, HD, kt, ldk, qt, BR, st, BR, accumulate: false);     // S^T = K Q^T
                GemmRows(nr, jb, panels, HD, vt, ldv, dot, BR, dpt, BR, accumulate: false);   // dP^T = V dO^T
                if (maskRows || maskSegments) MaskScores(st, jb, lanes, keyMask + j0, maskRows, segK + j0, maskSegments, sq);
                ScoreGradients(nr, st, dpt, jb, lanes, lse2, dd);                                 // P, dS = P (dP - D)
                GemmRows(nr, jb, hdPanels, nb, st, BR, dor, hdPad, dvAcc + (long)j0 * hdPad, hdPad, true);   // dV += P^T dO
                GemmRows(nr, jb, hdPanels, nb, dpt, BR, qr, hdPad, dkAcc + (long)j0 * hdPad, hdPad, true);   // dK += dS^T Q
                GemmCols(nr, HD, panels, jb, kt, ldk, dpt, BR, dqt, BR, accumulate: true);   // dQ^T += K^T dS^T
            }
            ScaleLanes(dqt, HD, lanes, f.Scale);                           // dQ^T times scale, then transposed out
            LanesToRows(dqt, nb, HD, f.DQ, b, h, n0);
        }
        for (int j = 0; j < L; j++)
        {
            TensorPrimitives.Multiply(new ReadOnlySpan<float>(dkAcc + (long)j * hdPad, HD), f.Scale,
                                      new Span<float>(f.DK.Row(b, h, j), HD));
            new ReadOnlySpan<float>(dvAcc + (long)j * hdPad, HD).CopyTo(new Span<float>(f.DV.Row(b, h, j), HD));
        }
    }

    // Rows n0 .. n0 + nb of head (b, h) of src into query lanes: dst[d * BR + r] = src[n0 + r][d], lanes nb .. lanes
    // zero. 8 x 8 blocks transposed in registers; rows left over, and odd head dims, one element at a time.
    static void RowsToLanes(in View src, int b, int h, int n0, int nb, int lanes, int HD, float* dst)
    {
        int full = HD % 8 == 0 ? nb / 8 * 8 : 0;
        for (int r = 0; r < full; r += 8)
            for (int d = 0; d < HD; d += 8)
                MatMulKernels.Transpose8x8(src.Row(b, h, n0 + r) + d, src.RowStride, 8, dst + d * BR + r, BR);
        for (int r = full; r < lanes; r++)
        {
            float* row = r < nb ? src.Row(b, h, n0 + r) : null;
            for (int d = 0; d < HD; d++) dst[d * BR + r] = row is null ? 0f : row[d];
        }
    }

    // The inverse for the nb real lanes: dst[n0 + r][d] = src[d * BR + r].
    static void LanesToRows(float* src, int nb, int HD, in View dst, int b, int h, int n0)
    {
        int full = HD % 8 == 0 ? nb / 8 * 8 : 0;
        for (int r = 0; r < full; r += 8)
            for (int d = 0; d < HD; d += 8)
                MatMulKernels.Transpose8x8(src + d * BR + r, BR, 8, dst.Row(b, h, n0 + r) + d, dst.RowStride);
        for (int r = full; r < nb; r++)
        {
            float* row = dst.Row(b, h, n0 + r);
            for (int d = 0; d < HD; d++) row[d] = src[d * BR + r];
        }
    }

    // buf[d * BR + r] *= s for d < HD, r < lanes (a multiple of 8)
    static void ScaleLanes(float* buf, int HD, int lanes, float s)
    {
        for (int d = 0; d < HD; d++)
            for (int r = 0; r < lanes; r += 8)
                (Vector256.Load(buf + d * BR + r) * s).Store(buf + d * BR + r);
    }

    // A head's L rows of src, each HD floats, packed contiguously into dst (strided K/V rows of a fused projection).
    static void CopyHeadRows(in View src, int b, int h, int L, int HD, float* dst)
    {
        for (int j = 0; j < L; j++)
            new ReadOnlySpan<float>(src.Row(b, h, j), HD).CopyTo(new Span<float>(dst + (long)j * HD, HD));
    }

    // sum over d of x[d] y[d]: 8 lanes, then the lanes, then the tail
    static float RowDot(float* x, float* y, int n)
    {
        Vector256<float> acc = default;
        int d = 0;
        for (; d + 8 <= n; d += 8) acc = Fma.MultiplyAdd(Vector256.Load(x + d), Vector256.Load(y + d), acc);
        float sum = Vector256.Sum(acc);
        for (; d < n; d++) sum += x[d] * y[d];
        return sum;
    }

    // P^T = 2^(S^T - lse2) in place in st, dS^T = P^T (dP^T - D) in place in dpt.
    static void ScoreGradients(int nr, float* st, float* dpt, int jb, int lanes, float* lse2, float* dd)
    {
        if (nr == WideNR)
        {
            for (int v = 0; v < lanes; v += 16)
            {
                Vector512<float> lv = Vector512.Load(lse2 + v), dv = Vector512.Load(dd + v);
                for (int j = 0; j < jb; j++)
                {
                    Vector512<float> p = FastMath.Exp2(Vector512.Load(st + j * BR + v) - lv);
                    Vector512.Store(p, st + j * BR + v);
                    Vector512.Store(p * (Vector512.Load(dpt + j * BR + v) - dv), dpt + j * BR + v);
                }
            }
            return;
        }
        for (int v = 0; v < lanes; v += 8)
        {
            Vector256<float> lv = Vector256.Load(lse2 + v), dv = Vector256.Load(dd + v);
            for (int j = 0; j < jb; j++)
            {
                Vector256<float> p = FastMath.Exp2(Vector256.Load(st + j * BR + v) - lv);
                Vector256.Store(p, st + j * BR + v);
                Vector256.Store(p * (Vector256.Load(dpt + j * BR + v) - dv), dpt + j * BR + v);
            }
        }
    }

    // ----------------------------------------------------------------------------------------------- masking

    // Copies a query tile's segment ids into lanes (padding lanes repeat the last id) and returns their range.
    static void LoadSegments(int* segQ, int nb, int lanes, int* sq, out int min, out int max)
    {
        min = int.MaxValue;
        max = int.MinValue;
        for (int r = 0; r < lanes; r++)
        {
            int s = segQ[Math.Min(r, nb - 1)];
            sq[r] = s;
            min = Math.Min(min, s);
            max = Math.Max(max, s);
        }
    }

    // Whether key tile [j0, j0 + jb) can contribute to a query tile: false if no key in it is valid or its segment-id
    // range misses the query tile's. maskRows: some keys are invalid; maskSegments: per-element segment test needed.
    static bool TileAllowed(bool* keyMask, int* segK, int j0, int jb, int qSegMin, int qSegMax,
                            out bool maskRows, out bool maskSegments)
    {
        maskRows = maskSegments = false;
        if (keyMask is not null)
        {
            int valid = 0;
            for (int j = 0; j < jb; j++) valid += keyMask[j0 + j] ? 1 : 0;
            if (valid == 0) return false;
            maskRows = valid < jb;
        }
        if (segK is not null)
        {
            int min = int.MaxValue, max = int.MinValue;
            for (int j = 0; j < jb; j++)
            {
                min = Math.Min(min, segK[j0 + j]);
                max = Math.Max(max, segK[j0 + j]);
            }
            if (max < qSegMin || min > qSegMax) return false;
            maskSegments = !(min == max && qSegMin == qSegMax && min == qSegMin);   // one shared segment: no test
        }
        return true;
    }

    // Sets S^T[j, r] = -inf where key j is invalid (maskRows) or segK[j] != segQ[r] (maskSegments).
    static void MaskScores(float* st, int jb, int lanes, bool* keyMask, bool maskRows, int* segK, bool maskSegments,
                           int* sq)
    {
        var negInf = Vector256.Create(float.NegativeInfinity);
        for (int j = 0; j < jb; j++)
        {
            float* row = st + j * BR;
            if (maskRows && !keyMask[j])
            {
                for (int v = 0; v < lanes; v += 8) Vector256.Store(negInf, row + v);
                continue;
            }
            if (!maskSegments) continue;
            var key = Vector256.Create(segK[j]);
            for (int v = 0; v < lanes; v += 8)
            {
                var same = Vector256.Equals(Vector256.Load(sq + v), key).AsSingle();
                Vector256.Store(Vector256.ConditionalSelect(same, Vector256.Load(row + v), negInf), row + v);
            }
        }
    }
}
