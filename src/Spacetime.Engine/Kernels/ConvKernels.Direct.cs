// ConvKernels, part 2: v3, direct convolution with SIMD register tiles (forward, dx, dW), for small channel counts
// (3 to a few hundred) and small kernels, where im2col + GEMM (v2) spends its time building and packing columns.
// The computed quantities are those of the header of ConvKernels.cs; only the summation order differs.
//
// Input planes. The input of one pass (x for the forward, dy for dx) is first copied into a zero-padded buffer,
// split into stride phases: per axis with padding p0 (front), p1 (back), dilation d (zeros inserted between
// elements, used by dx of a strided conv) and conv stride s, the padded line has (n - 1)·d + 1 + p0 + p1 elements,
// and phase r holds elements r, r + s, r + 2s, ... of it. Per sample the buffer is
//   xbuf[c][phase (rt, rh, rw)][u < Tq][v < Hq][r < Pq]    (Tq, Hq, Pq = ceil(padded length / stride))
// so kernel tap (i, j, k) of output (a, e, q) reads phase (i % st, j % sh, k % sw) at (a + i / st, e + j / sh,
// q + k / sw): with the output on the same grid, output position m = a·Hq·Pq + e·Pq + q reads
//   xbuf[tap[c, i, j, k] + m],   tap[c, i, j, k] = c·ChannelSize + phase·PlaneSize + (i/st)·Hq·Pq + (j/sh)·Pq + k/sw
// which is a unit-stride vector load along m for every tap, whatever the stride and padding. Columns q >= Wo of
// the grid (and, in a frame, rows e >= Ho) are computed and thrown away: 2 of 34 columns on a 32-wide frame.
//
// Forward, v3 (DirectPass): y[o, m] = bias[o] + sum over (i, c, j, k) of wp[o][i, c, j, k] · xbuf[tap[c, i, j, k] + m].
//   for each work item (sample, output frame, chunk of ChunkPositions grid positions)        (Par over items)
//     for each channel block c0..c1 (its plane rows for the chunk fit in L1Floats)
//       for each block of OB output channels: for each TN-vector stretch of the chunk: register tile
//     copy the tile's valid columns (+ bias) to y
// A register tile is OB output channels x TN vectors of consecutive m (AVX-512: 8 x 3 x 16 floats, 24 zmm
// accumulators, or 4 x 3 when O <= 4; AVX2: 4 x 3 x 8, 12 ymm). Per k it loads TN vectors of x, broadcasts OB
// weights and does OB·TN FMAs; after the first channel block it starts from the tile it stored. Weights are
// packed O-blocked in time-major order, wp[o / OB][(i·C + c)·kh·kw + j·kw + k][o % OB] (zeros past O), so each
// tile streams one contiguous panel, and each time tap i is a contiguous k range: an output frame skips the
// ranges whose input frame is padding (or a dilation zero, in dx), which no FMA then touches.
//
// dx, v3: the adjoint of a conv is a conv of dy with the kernel flipped and O and C swapped. dy is laid out as
// input planes padded by k - 1 - p on both sides (plus the forward's dropped remainder at the back) and dilated by
// the forward stride, then DirectPass runs with stride 1. For stride 2 in H and W three quarters of the dilated
// dy are zeros that still cost FMAs (the zero frames of a time stride are skipped); the downsampling convs are a
// small part of the VAE's work, so a polyphase dx is not written.
//
// dW, v3 (WeightGradPass): dW[o, c, tap] = sum over b, a, e < Ho, q < Wo of dy[b, o, a, e, q] ·
// xbuf[b][tap[c, tap] + a·Hq·Pq + e·Pq + q]. dy is copied to the grid (dyg[b][o][a][e·Pq + q], zero at q >= Wo
// and to the end of the frame's rounded segment), so the sum runs over whole vectors of m. A register tile is
// OW output channels x 6 (c, tap) columns of vector accumulators (AVX-512: 4 x 6, AVX2: 2 x 6), fed per vector
// of m by OW loads of dy and 6 loads of x. The positions are cut into blocks of about BlockPositions (several
// small frames, or part of a large one); each thread owns a fixed set of tiles (Par over tiles, output channels
// fastest so neighbours share x), keeps a tile's sums in registers over a whole block, and then adds each
// accumulator's horizontal sum to its dW element. db is BiasBackward (part 1).
//
// Determinism: every y and dx element is one register lane summed in a fixed k order (channel blocks, then time
// taps, channels, space taps); every dW element is summed lane-wise within a block, then over the blocks in order.
// Threads split output elements or dW tiles, never a sum, so 1 and 2 threads give bitwise-identical results
// (AVX-512 and AVX2 differ from each other, as their tiles differ).
// Scratch: one float buffer from the caller (DirectScratchFloats): the input planes, packed weights, and for the
// backward the dy planes, the dy grid and the padded dW; all of it is written before it is read. Tap tables,
// block lists and the per-item output tiles come from ArrayPool, so a call allocates nothing after warm-up.
// Blocking: ChunkPositions = 384 (8 three-vector tiles) gives the VAE's frames enough work items for 2 threads;
// L1Floats = 6 Ki floats (24 KiB of a 32-48 KiB L1) for one channel block's plane rows, as the x loads then hit
// L1 for every output block (the 128-channel 32x32 forward went from ~60% to 73-78% of peak in `-- conv`);
// BlockPositions = 2048 keeps the 24 horizontal sums per tile and block to a few percent of its FMAs. The last
// two were set from these estimates and one measurement each, not swept.
using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spacetime.Engine.Kernels;

/// <summary>One axis of a direct-conv input plane: input length, front/back zero padding, dilation, kernel size
/// and stride (see the header of ConvKernels.Direct.cs).</summary>
internal readonly record struct ConvAxis(int In, int Pad0, int Pad1, int Dil, int K, int S)
{
    public int Padded => (In - 1) * Dil + 1 + Pad0 + Pad1;
    public int Out => (Padded - K) / S + 1;
    public int Plane => (Padded + S - 1) / S;                 // elements of one stride phase
}

/// <summary>The input planes of a direct-conv pass: C channels, three axes; sizes of the buffer per sample.</summary>
internal readonly record struct ConvPlanes(int C, ConvAxis T, ConvAxis H, ConvAxis W)
{
    public int Phases => T.S * H.S * W.S;
    public int RowPitch => W.Plane;                           // Pq
    public int FramePitch => H.Plane * W.Plane;               // Hq·Pq
    public long PlaneSize => (long)T.Plane * FramePitch;
    public long ChannelSize => Phases * PlaneSize;
    // Grid reads past the last plane: at most a row plus a vector tail (header); kept zero.
    public long Slack => 2L * RowPitch + 64;
    public long SampleSize => C * ChannelSize + Slack;
    public int K3 => T.K * H.K * W.K;
    // One frame's grid segment (Ho rows of Pq), rounded up to whole 16-float vectors.
    public int Segment => (H.Out * RowPitch + 15) / 16 * 16;

    public long Tap(int c, int i, int j, int k) =>
        c * ChannelSize + ((i % T.S * H.S + j % H.S) * W.S + k % W.S) * PlaneSize
        + (long)(i / T.S) * FramePitch + (j / H.S) * RowPitch + k / W.S;
}

internal static unsafe partial class ConvKernels
{
    const int ChunkPositions = 384;     // forward/dx work item: grid positions of one frame (multiple of 48)
    const int BlockPositions = 2048;    // dW: positions summed before the horizontal sums
    const int L1Floats = 6 * 1024;      // forward/dx: plane data per channel block (24 KiB of a 32-48 KiB L1)

    // ---- when v3 runs ---------------------------------------------------------------------------------------

    /// <summary>Settable only so the benchmark can time the VAE on v2 and v3 in one build (`-- vae --conv 2`).
    /// </summary>
    internal static bool DirectEnabled = true;

    /// <summary>True when the direct kernels (v3) run this convolution on this CPU (<paramref name="isa"/>).
    /// Pointwise convs stay on v2, which is a plain GEMM for them; dx needs padding &lt; kernel size.</summary>
    public static bool UsesDirect(in ConvShape s, MatMulKernels.Isa isa) =>
        DirectEnabled && isa != MatMulKernels.Isa.Scalar && !s.IsPointwise
        && s.Pt < s.Kt && s.Ph < s.Kh && s.Pw < s.Kw
        && DirectScratchFloats(s, backward: true) <= Array.MaxLength;

    // Input planes of the forward (x) and of dx (dy, dilated by the stride, conv stride 1).
    static ConvPlanes ForwardPlanes(in ConvShape s) => new(s.C,
        new ConvAxis(s.T, s.Pt, s.Pt, 1, s.Kt, s.St), new ConvAxis(s.H, s.Ph, s.Ph, 1, s.Kh, s.Sh),
        new ConvAxis(s.W, s.Pw, s.Pw, 1, s.Kw, s.Sw));

    static ConvPlanes GradInputPlanes(in ConvShape s) => new(s.O,
        GradAxis(s.To, s.T, s.Kt, s.St, s.Pt), GradAxis(s.Ho, s.H, s.Kh, s.Sh, s.Ph), GradAxis(s.Wo, s.W, s.Kw, s.Sw, s.Pw));

    // dy along one axis as the input of dx: pad k - 1 - p, dilate by s, and pad at the back the input elements the
    // forward's last window did not reach, so the output has the input's length n.
    static ConvAxis GradAxis(int outLen, int n, int k, int s, int p) =>
        new(outLen, k - 1 - p, k - 1 - p + (n + 2 * p - k) % s, s, k, 1);

    static int Pad(int n, int m) => (n + m - 1) / m * m;

    /// <summary>Floats of scratch the v3 forward (or backward) needs for <paramref name="s"/>.</summary>
    public static long DirectScratchFloats(in ConvShape s, bool backward)
    {
        var f = ForwardPlanes(s);
        long forward = s.B * f.SampleSize + (long)Pad(s.O, 8) * s.CK;
        if (!backward) return forward;
        var g = GradInputPlanes(s);
        return forward + s.B * g.SampleSize + (long)Pad(s.C, 8) * s.O * s.K3       // planes and weights of dx
               + (long)s.B * Pad(s.O, 4) * s.To * f.Segment                       // dy grid
               + (long)Pad(s.O, 4) * Pad(s.CK, 6);                                 // padded dW
    }

    // ---- v3 entry points ------------------------------------------------------------------------------------

    // y: (B, O, To, Ho, Wo)   x: (B, C, T, H, W) from xOff   w: (O, CK) from wOff   bias: (O) from biasOff, or null
    // scratch: DirectScratchFloats(s, false) floats.
    public static void ConvDirectForward(float[] y, float[] x, long xOff, float[] w, long wOff, float[]? bias,
                                         long biasOff, float[] scratch, ConvShape s)
    {
        var isa = MatMulKernels.CurrentIsa;
        var f = ForwardPlanes(s);
        long wpOff = s.B * f.SampleSize;
        PreparePlanes(scratch, 0, x, xOff, s.B, f);
        PackWeights(scratch, wpOff, w, wOff, s.O, s.C, s.K3, s.Kt, OutBlock(isa, s.O), flip: false);
        DirectPass(y, scratch, 0, f, s.B, s.O, scratch, wpOff, bias, biasOff, isa);
    }

    // dx: (B, C, T, H, W)   dw: (O, CK)   db: (O); each overwritten, or null when not wanted.
    // dy: (B, O, To, Ho, Wo) from dyOff; x, w as in the forward; scratch: DirectScratchFloats(s, true) floats.
    public static void ConvDirectBackward(float[]? dx, float[]? dw, float[]? db, float[] dy, long dyOff,
                                          float[] x, long xOff, float[] w, long wOff, float[] scratch, ConvShape s)
    {
        var isa = MatMulKernels.CurrentIsa;
        var f = ForwardPlanes(s);
        var g = GradInputPlanes(s);
        long gOff = s.B * f.SampleSize + (long)Pad(s.O, 8) * s.CK, gwOff = gOff + s.B * g.SampleSize;
        long dygOff = gwOff + (long)Pad(s.C, 8) * s.O * s.K3;
        long dwOff = dygOff + (long)s.B * Pad(s.O, 4) * s.To * f.Segment;
        if (dx is not null)
        {
            PreparePlanes(scratch, gOff, dy, dyOff, s.B, g);
            PackWeights(scratch, gwOff, w, wOff, s.C, s.O, s.K3, s.Kt, OutBlock(isa, s.C), flip: true);
            DirectPass(dx, scratch, gOff, g, s.B, s.C, scratch, gwOff, null, 0, isa);
        }
        if (dw is not null)
        {
            PreparePlanes(scratch, 0, x, xOff, s.B, f);
            PrepareGrid(scratch, dygOff, dy, dyOff, s, f, Pad(s.O, 4));
            WeightGradPass(dw, scratch, 0, f, scratch, dygOff, scratch, dwOff, s, isa);
        }
        if (db is not null) BiasBackward(db, dy, dyOff, s, reference: false);
    }

    // Output channels per register tile: 8 with AVX-512 (4 when there are at most 4, e.g. RGB), 4 with AVX2.
    static int OutBlock(MatMulKernels.Isa isa, int O) => isa == MatMulKernels.Isa.Vector512 && O > 4 ? 8 : 4;

    // ---- layout -----------------------------------------------------------------------------------------------

    // buf[bufOff ..]: B samples of input planes p (header) from src: (B, p.C, p.T.In, p.H.In, p.W.In) at srcOff.
    // Everything not copied from src, the slack included, is zero. Par over (sample, channel, phase, plane frame).
    static void PreparePlanes(float[] buf, long bufOff, float[] src, long srcOff, int B, ConvPlanes p)
    {
        int frames = p.Phases * p.T.Plane;
        Par.For(B * p.C * frames, p.FramePitch, item =>
        {
            int bc = item / frames, r = item % frames, phase = r / p.T.Plane, u = r % p.T.Plane;
            int b = bc / p.C, c = bc % p.C;
            int rt = phase / (p.H.S * p.W.S), rh = phase / p.W.S % p.H.S, rw = phase % p.W.S;
            long dst = bufOff + b * p.SampleSize + c * p.ChannelSize + phase * p.PlaneSize + (long)u * p.FramePitch;
            long plane = srcOff + (long)bc * p.T.In * p.H.In * p.W.In;
            int t = Source(p.T, u * p.T.S + rt);
            for (int v = 0; v < p.H.Plane; v++)
            {
                var row = buf.AsSpan((int)(dst + (long)v * p.RowPitch), p.RowPitch);
                int h = Source(p.H, v * p.H.S + rh);
                if (t < 0 || h < 0) { row.Clear(); continue; }
                long line = plane + ((long)t * p.H.In + h) * p.W.In;
                if (p.W.S == 1 && p.W.Dil == 1)
                {
                    // the row is [Pad0 zeros][the input line][zeros]
                    int n = Math.Min(p.W.In, p.RowPitch - p.W.Pad0);
                    row[..p.W.Pad0].Clear();
                    src.AsSpan((int)line, n).CopyTo(row[p.W.Pad0..]);
                    row[(p.W.Pad0 + n)..].Clear();
                }
                else
                {
                    // input element wi sits at padded index Pad0 + wi·Dil, which is phase rw's entry (that - rw) / S
                    row.Clear();
                    if (p.W.Dil == 1)          // a strided conv: every S-th input element, from the first in phase
                        for (int wi = ((rw - p.W.Pad0) % p.W.S + p.W.S) % p.W.S, at = (p.W.Pad0 + wi - rw) / p.W.S;
                             wi < p.W.In; wi += p.W.S, at++)
                            row[at] = src[line + wi];
                    else if (p.W.S == 1)       // dx of a strided conv: the elements spread Dil apart
                        for (int wi = 0; wi < p.W.In; wi++) row[p.W.Pad0 + wi * p.W.Dil] = src[line + wi];
                    else
                        for (int wi = 0; wi < p.W.In; wi++)
                        {
                            int at = p.W.Pad0 + wi * p.W.Dil - rw;
                            if (at >= 0 && at % p.W.S == 0) row[at / p.W.S] = src[line + wi];
                        }
                }
            }
            if (c == p.C - 1 && item % frames == frames - 1)
                buf.AsSpan((int)(bufOff + b * p.SampleSize + p.C * p.ChannelSize), (int)p.Slack).Clear();
        });
    }

    // The input index that padded position i of an axis holds, or -1 for padding and dilation zeros.
    static int Source(in ConvAxis a, int i)
    {
        int d = i - a.Pad0;
        if (a.Dil == 1) return (uint)d < (uint)a.In ? d : -1;
        if (d < 0 || d % a.Dil != 0) return -1;
        d /= a.Dil;
        return d < a.In ? d : -1;
    }

    // wp[wpOff ..]: (Pad(O, ob) / ob) panels of [C·K3][ob] in the time-major tap order of RentTaps:
    // wp[o / ob][(i·C + c)·kh·kw + j·kw + k][o % ob] = w[o, c, i, j, k], zero past O. With flip (dx), the pass's
    // outputs are the forward's inputs and the kernel is reversed: w[c, o, kt-1-i, kh-1-j, kw-1-k] (O and C given
    // swapped by the caller, so O here is the forward's C).
    static void PackWeights(float[] wp, long wpOff, float[] w, long wOff, int O, int C, int K3, int kt, int ob,
                            bool flip)
    {
        int CK = C * K3, khw = K3 / kt;
        Par.For(Pad(O, ob) / ob, (long)CK * ob, panel =>
        {
            long dst = wpOff + (long)panel * CK * ob;        // walks the panel in order: (i, c, jk, lane)
            for (int i = 0; i < kt; i++)
                for (int c = 0; c < C; c++)
                    for (int jk = 0; jk < khw; jk++)
                        for (int lane = 0; lane < ob; lane++, dst++)
                        {
                            int o = panel * ob + lane, t = i * khw + jk;
                            wp[dst] = o >= O ? 0f
                                : flip ? w[wOff + ((long)c * O + o) * K3 + (K3 - 1 - t)] : w[wOff + ((long)o * C + c) * K3 + t];
                        }
        });
    }

    // dyg[dygOff ..]: (B, Opad, To, Segment): dy's rows on the grid of the forward planes f, zero at q >= Wo, past
    // the last row, and in the padding channels O..Opad.
    static void PrepareGrid(float[] dyg, long dygOff, float[] dy, long dyOff, in ConvShape s, ConvPlanes f, int Opad)
    {
        int seg = f.Segment, pitch = f.RowPitch, To = s.To, Ho = s.Ho, Wo = s.Wo, O = s.O;
        long L = s.L;
        Par.For(s.B * Opad * To, seg, item =>
        {
            int b = item / (Opad * To), o = item / To % Opad, a = item % To;
            var dst = dyg.AsSpan((int)(dygOff + (long)item * seg), seg);
            dst.Clear();
            if (o >= O) return;
            long src = dyOff + ((long)b * O + o) * L + (long)a * Ho * Wo;
            for (int e = 0; e < Ho; e++)
                dy.AsSpan((int)(src + (long)e * Wo), Wo).CopyTo(dst[(e * pitch)..]);
        });
    }

    // Tap offsets of planes p, padded with zeros to n entries: in dW's order tap[c·K3 + (i·kh + j)·kw + k], or
    // time-major, tap[(i·C + c)·kh·kw + j·kw + k], so that each time tap i is one contiguous range (DirectPass skips
    // the ranges that would read only zero frames).
    static int[] RentTaps(in ConvPlanes p, int n, bool timeMajor)
    {
        var taps = ArrayPool<int>.Shared.Rent(n);
        int idx = 0;
        for (int outer = 0; outer < (timeMajor ? p.T.K : p.C); outer++)
            for (int inner = 0; inner < (timeMajor ? p.C : p.T.K); inner++)
                for (int j = 0; j < p.H.K; j++)
                    for (int k = 0; k < p.W.K; k++)
                        taps[idx++] = checked((int)(timeMajor ? p.Tap(inner, outer, j, k) : p.Tap(outer, inner, j, k)));
        Array.Clear(taps, idx, n - idx);
        return taps;
    }

    // ---- the direct pass (forward and dx) -----------------------------------------------------------------

    // y: (B, O, p.T.Out, p.H.Out, p.W.Out) overwritten   planes: B samples of p at planesOff   wp: packed weights
    // (PackWeights with ob = OutBlock(isa)) at wpOff   bias: (O) or null.
    static void DirectPass(float[] y, float[] planes, long planesOff, ConvPlanes p, int B, int O, float[] wp,
                           long wpOff, float[]? bias, long biasOff, MatMulKernels.Isa isa)
    {
        int ob = OutBlock(isa, O), CK = p.C * p.K3, To = p.T.Out, Ho = p.H.Out, Wo = p.W.Out, perChannel = p.K3 / p.T.K;
        int frameLen = Ho * p.RowPitch, chunks = (frameLen + ChunkPositions - 1) / ChunkPositions;
        // channels per block: the planes' rows that a chunk reads for them fit in L1Floats, so they stay in L1 while
        // every output block runs over them (a channel's rows: per phase, its frames x (chunk + the kernel's rows))
        long channelFloats = (long)p.Phases * CeilDiv(p.T.K, p.T.S)
                             * (Math.Min(ChunkPositions, frameLen) + CeilDiv(p.H.K, p.H.S) * p.RowPitch);
        int cBlock = (int)Math.Clamp(L1Floats / channelFloats, 1, p.C);
        var taps = RentTaps(p, CK, timeMajor: true);
        try
        {
            Par.For(B * To * chunks, (long)ChunkPositions * CK * O, item =>
            {
                int b = item / (To * chunks), a = item / chunks % To, m0 = item % chunks * ChunkPositions;
                int len = Math.Min(ChunkPositions, frameLen - m0);
                var tileArray = ArrayPool<float>.Shared.Rent(Pad(O, ob) * ChunkPositions);
                int* ranges = stackalloc int[2 * p.T.K];
                fixed (float* xb = planes, wb = wp, yb = y, tile = tileArray)
                fixed (int* tp = taps)
                {
                    float* xs = xb + planesOff + b * p.SampleSize + (long)a * p.FramePitch + m0;
                    for (int c0 = 0; c0 < p.C; c0 += cBlock)
                    {
                        // the k ranges of channels c0.. of the time taps that read a real frame: padding frames, and
                        // dilation zeros in dx of a strided conv, add nothing (a frame that reads none is all bias)
                        int c1 = Math.Min(p.C, c0 + cBlock), nRanges = 0;
                        for (int i = 0; i < p.T.K; i++)
                        {
                            if (Source(p.T, a * p.T.S + i) < 0) continue;
                            int k0 = (i * p.C + c0) * perChannel, k1 = (i * p.C + c1) * perChannel;
                            if (nRanges > 0 && ranges[2 * nRanges - 1] == k0) ranges[2 * nRanges - 1] = k1;
                            else { ranges[2 * nRanges] = k0; ranges[2 * nRanges + 1] = k1; nRanges++; }
                        }
                        for (int o0 = 0; o0 < O; o0 += ob)
                        {
                            float* w0 = wb + wpOff + (long)o0 * CK, t0 = tile + o0 * ChunkPositions;
                            if (isa != MatMulKernels.Isa.Vector512) Chunk256(t0, xs, tp, ranges, nRanges, w0, len, c0 > 0);
                            else if (ob == 8) Chunk512<Eight>(t0, xs, tp, ranges, nRanges, w0, len, c0 > 0);
                            else Chunk512<Four>(t0, xs, tp, ranges, nRanges, w0, len, c0 > 0);
                        }
                    }
                    // valid columns of each grid row in [m0, m0 + len) go to y, plus the bias
                    for (int o = 0; o < O; o++)
                    {
                        float add = bias is null ? 0f : bias[biasOff + o];
                        float* trow = tile + o * ChunkPositions;
                        float* yo = yb + ((long)b * O + o) * To * Ho * Wo + (long)a * Ho * Wo;
                        for (int e = m0 / p.RowPitch; e * p.RowPitch < m0 + len; e++)
                        {
                            int q0 = Math.Max(0, m0 - e * p.RowPitch), q1 = Math.Min(Wo, m0 + len - e * p.RowPitch);
                            if (q1 > q0)
                                TensorPrimitives.Add(new ReadOnlySpan<float>(trow + e * p.RowPitch + q0 - m0, q1 - q0),
                                                     add, new Span<float>(yo + e * Wo + q0, q1 - q0));
                        }
                    }
                }
                ArrayPool<float>.Shared.Return(tileArray);
            });
        }
        finally { ArrayPool<int>.Shared.Return(taps); }
    }

    // tile[o][0 .. len) for o < TO (row stride ChunkPositions) = sum over k in the ranges of
    // w0[k·TO + o] · xs[taps[k] + m]: 3-vector tiles, then a 3-, 2- or 1-vector tile for the rest (rounded up to a
    // vector; the extra lanes are junk that the caller drops).
    static void Chunk512<TO>(float* tile, float* xs, int* taps, int* ranges, int nRanges, float* w0, int len,
                             bool acc) where TO : struct, IVectors
    {
        int m = 0;
        for (; m + 48 <= len; m += 48) Tile512<TO, Three>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
        if (len - m > 32) Tile512<TO, Three>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
        else if (len - m > 16) Tile512<TO, Two>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
        else if (len > m) Tile512<TO, One>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
    }

    static void Chunk256(float* tile, float* xs, int* taps, int* ranges, int nRanges, float* w0, int len, bool acc)
    {
        int m = 0;
        for (; m + 24 <= len; m += 24) Tile256<Three>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
        if (len - m > 16) Tile256<Three>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
        else if (len - m > 8) Tile256<Two>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
        else if (len > m) Tile256<One>(tile + m, xs + m, taps, ranges, nRanges, w0, acc);
    }

    // The vector count of a tile as a type, so the JIT compiles one tile per count with the unused lanes removed.
    interface IVectors { static abstract int N { get; } }
    struct One : IVectors { public static int N => 1; }
    struct Two : IVectors { public static int N => 2; }
    struct Three : IVectors { public static int N => 3; }
    struct Four : IVectors { public static int N => 4; }
    struct Eight : IVectors { public static int N => 8; }

    // TO (8 or 4) output channels x TN vectors of 16 positions; per k: TN loads of x, TO broadcasts of w, TO·TN
    // FMAs.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void Tile512<TO, TN>(float* tile, float* xs, int* taps, int* ranges, int nRanges, float* w0, bool acc)
        where TO : struct, IVectors where TN : struct, IVectors
    {
        Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector512<float> a4 = default, a5 = default, a6 = default, a7 = default;
        Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector512<float> b4 = default, b5 = default, b6 = default, b7 = default;
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        Vector512<float> c4 = default, c5 = default, c6 = default, c7 = default;
        if (acc)
        {
            Load512<TN>(tile + 0 * ChunkPositions, ref a0, ref b0, ref c0);
            Load512<TN>(tile + 1 * ChunkPositions, ref a1, ref b1, ref c1);
            Load512<TN>(tile + 2 * ChunkPositions, ref a2, ref b2, ref c2);
            Load512<TN>(tile + 3 * ChunkPositions, ref a3, ref b3, ref c3);
            if (TO.N > 4)
            {
                Load512<TN>(tile + 4 * ChunkPositions, ref a4, ref b4, ref c4);
                Load512<TN>(tile + 5 * ChunkPositions, ref a5, ref b5, ref c5);
                Load512<TN>(tile + 6 * ChunkPositions, ref a6, ref b6, ref c6);
                Load512<TN>(tile + 7 * ChunkPositions, ref a7, ref b7, ref c7);
            }
        }
        for (int r = 0; r < nRanges; r++)
        {
            // pointer walks, as in Tile256
            float* w = w0 + ranges[2 * r] * TO.N;
            for (int* tp = taps + ranges[2 * r], tEnd = taps + ranges[2 * r + 1]; tp < tEnd; tp++, w += TO.N)
            {
                float* xp = xs + *tp;
                Vector512<float> x0 = Vector512.Load(xp);
                Vector512<float> x1 = TN.N > 1 ? Vector512.Load(xp + 16) : default;
                Vector512<float> x2 = TN.N > 2 ? Vector512.Load(xp + 32) : default;
                Vector512<float> v;
                v = Vector512.Create(w[0]); a0 = Fma512(x0, v, a0); if (TN.N > 1) b0 = Fma512(x1, v, b0); if (TN.N > 2) c0 = Fma512(x2, v, c0);
                v = Vector512.Create(w[1]); a1 = Fma512(x0, v, a1); if (TN.N > 1) b1 = Fma512(x1, v, b1); if (TN.N > 2) c1 = Fma512(x2, v, c1);
                v = Vector512.Create(w[2]); a2 = Fma512(x0, v, a2); if (TN.N > 1) b2 = Fma512(x1, v, b2); if (TN.N > 2) c2 = Fma512(x2, v, c2);
                v = Vector512.Create(w[3]); a3 = Fma512(x0, v, a3); if (TN.N > 1) b3 = Fma512(x1, v, b3); if (TN.N > 2) c3 = Fma512(x2, v, c3);
                if (TO.N <= 4) continue;
                v = Vector512.Create(w[4]); a4 = Fma512(x0, v, a4); if (TN.N > 1) b4 = Fma512(x1, v, b4); if (TN.N > 2) c4 = Fma512(x2, v, c4);
                v = Vector512.Create(w[5]); a5 = Fma512(x0, v, a5); if (TN.N > 1) b5 = Fma512(x1, v, b5); if (TN.N > 2) c5 = Fma512(x2, v, c5);
                v = Vector512.Create(w[6]); a6 = Fma512(x0, v, a6); if (TN.N > 1) b6 = Fma512(x1, v, b6); if (TN.N > 2) c6 = Fma512(x2, v, c6);
                v = Vector512.Create(w[7]); a7 = Fma512(x0, v, a7); if (TN.N > 1) b7 = Fma512(x1, v, b7); if (TN.N > 2) c7 = Fma512(x2, v, c7);
            }
        }
        Store512<TN>(tile + 0 * ChunkPositions, a0, b0, c0);
        Store512<TN>(tile + 1 * ChunkPositions, a1, b1, c1);
        Store512<TN>(tile + 2 * ChunkPositions, a2, b2, c2);
        Store512<TN>(tile + 3 * ChunkPositions, a3, b3, c3);
        if (TO.N <= 4) return;
        Store512<TN>(tile + 4 * ChunkPositions, a4, b4, c4);
        Store512<TN>(tile + 5 * ChunkPositions, a5, b5, c5);
        Store512<TN>(tile + 6 * ChunkPositions, a6, b6, c6);
        Store512<TN>(tile + 7 * ChunkPositions, a7, b7, c7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Load512<TN>(float* p, ref Vector512<float> a, ref Vector512<float> b, ref Vector512<float> c)
        where TN : struct, IVectors
    {
        a = Vector512.Load(p);
        if (TN.N > 1) b = Vector512.Load(p + 16);
        if (TN.N > 2) c = Vector512.Load(p + 32);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store512<TN>(float* p, Vector512<float> a, Vector512<float> b, Vector512<float> c)
        where TN : struct, IVectors
    {
        Vector512.Store(a, p);
        if (TN.N > 1) Vector512.Store(b, p + 16);
        if (TN.N > 2) Vector512.Store(c, p + 32);
    }

    // 4 output channels x N vectors of 8 positions (12 of the 16 ymm registers hold accumulators).
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void Tile256<TN>(float* tile, float* xs, int* taps, int* ranges, int nRanges, float* w0, bool acc)
        where TN : struct, IVectors
    {
        Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default;
        Vector256<float> b0 = default, b1 = default, b2 = default, b3 = default;
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default;
        if (acc)
        {
            Load256<TN>(tile + 0 * ChunkPositions, ref a0, ref b0, ref c0);
            Load256<TN>(tile + 1 * ChunkPositions, ref a1, ref b1, ref c1);
            Load256<TN>(tile + 2 * ChunkPositions, ref a2, ref b2, ref c2);
            Load256<TN>(tile + 3 * ChunkPositions, ref a3, ref b3, ref c3);
        }
        for (int r = 0; r < nRanges; r++)
        {
            // pointer walks: the tap and the weight panel advance by one k each, with no index arithmetic per k
            float* w = w0 + ranges[2 * r] * 4;
            for (int* tp = taps + ranges[2 * r], tEnd = taps + ranges[2 * r + 1]; tp < tEnd; tp++, w += 4)
            {
                float* xp = xs + *tp;
                Vector256<float> x0 = Vector256.Load(xp);
                Vector256<float> x1 = TN.N > 1 ? Vector256.Load(xp + 8) : default;
                Vector256<float> x2 = TN.N > 2 ? Vector256.Load(xp + 16) : default;
                Vector256<float> v;
                v = Vector256.Create(w[0]); a0 = Fma.MultiplyAdd(x0, v, a0); if (TN.N > 1) b0 = Fma.MultiplyAdd(x1, v, b0); if (TN.N > 2) c0 = Fma.MultiplyAdd(x2, v, c0);
                v = Vector256.Create(w[1]); a1 = Fma.MultiplyAdd(x0, v, a1); if (TN.N > 1) b1 = Fma.MultiplyAdd(x1, v, b1); if (TN.N > 2) c1 = Fma.MultiplyAdd(x2, v, c1);
                v = Vector256.Create(w[2]); a2 = Fma.MultiplyAdd(x0, v, a2); if (TN.N > 1) b2 = Fma.MultiplyAdd(x1, v, b2); if (TN.N > 2) c2 = Fma.MultiplyAdd(x2, v, c2);
                v = Vector256.Create(w[3]); a3 = Fma.MultiplyAdd(x0, v, a3); if (TN.N > 1) b3 = Fma.MultiplyAdd(x1, v, b3); if (TN.N > 2) c3 = Fma.MultiplyAdd(x2, v, c3);
            }
        }
        Store256<TN>(tile + 0 * ChunkPositions, a0, b0, c0);
        Store256<TN>(tile + 1 * ChunkPositions, a1, b1, c1);
        Store256<TN>(tile + 2 * ChunkPositions, a2, b2, c2);
        Store256<TN>(tile + 3 * ChunkPositions, a3, b3, c3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Load256<TN>(float* p, ref Vector256<float> a, ref Vector256<float> b, ref Vector256<float> c)
        where TN : struct, IVectors
    {
        a = Vector256.Load(p);
        if (TN.N > 1) b = Vector256.Load(p + 8);
        if (TN.N > 2) c = Vector256.Load(p + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store256<TN>(float* p, Vector256<float> a, Vector256<float> b, Vector256<float> c)
        where TN : struct, IVectors
    {
        Vector256.Store(a, p);
        if (TN.N > 1) Vector256.Store(b, p + 8);
        if (TN.N > 2) Vector256.Store(c, p + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Fma512(Vector512<float> x, Vector512<float> y, Vector512<float> z) =>
        Vector512.FusedMultiplyAdd(x, y, z);   // vfmadd231ps zmm with AVX-512, emulated (for tests) without

    // ---- the weight gradient --------------------------------------------------------------------------------

    // dw: (O, CK) overwritten   planes: B samples of the forward planes f at planesOff   dyg: PrepareGrid's grid
    // (Opad = Pad(O, 4) channels) at dygOff   acc: Pad(O, 4) x Pad(CK, 6) floats of scratch at accOff.
    static void WeightGradPass(float[] dw, float[] planes, long planesOff, ConvPlanes f, float[] dyg, long dygOff,
                               float[] acc, long accOff, in ConvShape s, MatMulKernels.Isa isa)
    {
        int ow = isa == MatMulKernels.Isa.Vector512 ? 4 : 2, Opad = Pad(s.O, 4), CK = s.CK, CKpad = Pad(CK, 6);
        int seg = f.Segment, To = s.To, B = s.B;
        // blocks of positions: pieces (b, a, start, length) of whole frames or, for big frames, parts of one
        int perFrame = (seg + BlockPositions - 1) / BlockPositions, nPieces = B * To * perFrame;
        var pieces = ArrayPool<long>.Shared.Rent(3 * nPieces);
        var blocks = ArrayPool<int>.Shared.Rent(nPieces + 1);
        var taps = RentTaps(f, CKpad, timeMajor: false);
        int nBlocks = 0, inBlock = 0;
        for (int n = 0; n < nPieces; n++)
        {
            // piece n: its offset in dyg (channel 0), its offset in the planes, its length
            int b = n / perFrame / To, a = n / perFrame % To, start = n % perFrame * BlockPositions;
            int len = Math.Min(BlockPositions, seg - start);
            pieces[3 * n] = ((long)b * Opad * To + a) * seg + start;
            pieces[3 * n + 1] = b * f.SampleSize + (long)a * f.FramePitch + start;
            pieces[3 * n + 2] = len;
            if (inBlock == 0 || inBlock + len > BlockPositions) { blocks[nBlocks++] = n; inBlock = 0; }
            inBlock += len;
        }
        blocks[nBlocks] = nPieces;
        int oTiles = Opad / ow, tiles = oTiles * (CKpad / 6);
        long dyRow = (long)To * seg;                                       // between channels o and o + 1 of dyg
        acc.AsSpan((int)accOff, Opad * CKpad).Clear();
        try
        {
            Par.ForRange(tiles, (long)ow * 6 * B * To * seg, (t0, t1) =>
            {
                fixed (float* xb = planes, gb = dyg, ab = acc)
                fixed (long* pp = pieces)
                fixed (int* tp = taps)
                {
                    for (int blk = 0; blk < nBlocks; blk++)
                        for (int t = t0; t < t1; t++)
                        {
                            int o0 = t % oTiles * ow, k0 = t / oTiles * 6;
                            float* dst = ab + accOff + (long)o0 * CKpad + k0, g = gb + dygOff + o0 * dyRow;
                            long* first = pp + 3 * blocks[blk];
                            int count = blocks[blk + 1] - blocks[blk];
                            if (isa == MatMulKernels.Isa.Vector512)
                                GradTile512(dst, CKpad, g, dyRow, xb + planesOff, tp + k0, first, count);
                            else
                                GradTile256(dst, CKpad, g, dyRow, xb + planesOff, tp + k0, first, count);
                        }
                }
            });
            for (int o = 0; o < s.O; o++)
                acc.AsSpan((int)(accOff + (long)o * CKpad), CK).CopyTo(dw.AsSpan(o * CK, CK));
        }
        finally
        {
            ArrayPool<long>.Shared.Return(pieces);
            ArrayPool<int>.Shared.Return(blocks);
            ArrayPool<int>.Shared.Return(taps);
        }
    }

    // dst[o·ld + k] += sum over the count pieces (dyg offset, planes offset, length) from piece, and m < length,
    // of g[o·dyRow + offset + m] · planes[offset + taps[k] + m], for o < 4, k < 6: each sum in a vector register
    // over the whole block, then added horizontally.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void GradTile512(float* dst, int ld, float* g, long dyRow, float* planes, int* taps, long* piece, int count)
    {
        Vector512<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
        Vector512<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        Vector512<float> a20 = default, a21 = default, a22 = default, a23 = default, a24 = default, a25 = default;
        Vector512<float> a30 = default, a31 = default, a32 = default, a33 = default, a34 = default, a35 = default;
        for (int n = 0; n < count; n++, piece += 3)
        {
            float* xs = planes + piece[1];
            float* x0 = xs + taps[0], x1 = xs + taps[1], x2 = xs + taps[2], x3 = xs + taps[3], x4 = xs + taps[4];
            float* x5 = xs + taps[5];
            float* g0 = g + piece[0], g1 = g0 + dyRow, g2 = g0 + 2 * dyRow, g3 = g0 + 3 * dyRow;
            for (long m = 0, len = piece[2]; m < len; m += 16)
            {
                Vector512<float> d0 = Vector512.Load(g0 + m), d1 = Vector512.Load(g1 + m);
                Vector512<float> d2 = Vector512.Load(g2 + m), d3 = Vector512.Load(g3 + m), v;
                v = Vector512.Load(x0 + m); a00 = Fma512(d0, v, a00); a10 = Fma512(d1, v, a10); a20 = Fma512(d2, v, a20); a30 = Fma512(d3, v, a30);
                v = Vector512.Load(x1 + m); a01 = Fma512(d0, v, a01); a11 = Fma512(d1, v, a11); a21 = Fma512(d2, v, a21); a31 = Fma512(d3, v, a31);
                v = Vector512.Load(x2 + m); a02 = Fma512(d0, v, a02); a12 = Fma512(d1, v, a12); a22 = Fma512(d2, v, a22); a32 = Fma512(d3, v, a32);
                v = Vector512.Load(x3 + m); a03 = Fma512(d0, v, a03); a13 = Fma512(d1, v, a13); a23 = Fma512(d2, v, a23); a33 = Fma512(d3, v, a33);
                v = Vector512.Load(x4 + m); a04 = Fma512(d0, v, a04); a14 = Fma512(d1, v, a14); a24 = Fma512(d2, v, a24); a34 = Fma512(d3, v, a34);
                v = Vector512.Load(x5 + m); a05 = Fma512(d0, v, a05); a15 = Fma512(d1, v, a15); a25 = Fma512(d2, v, a25); a35 = Fma512(d3, v, a35);
            }
        }
        AddSums(dst, Vector512.Sum(a00), Vector512.Sum(a01), Vector512.Sum(a02), Vector512.Sum(a03), Vector512.Sum(a04), Vector512.Sum(a05));
        AddSums(dst + ld, Vector512.Sum(a10), Vector512.Sum(a11), Vector512.Sum(a12), Vector512.Sum(a13), Vector512.Sum(a14), Vector512.Sum(a15));
        AddSums(dst + 2 * ld, Vector512.Sum(a20), Vector512.Sum(a21), Vector512.Sum(a22), Vector512.Sum(a23), Vector512.Sum(a24), Vector512.Sum(a25));
        AddSums(dst + 3 * ld, Vector512.Sum(a30), Vector512.Sum(a31), Vector512.Sum(a32), Vector512.Sum(a33), Vector512.Sum(a34), Vector512.Sum(a35));
    }

    // The AVX2 tile: 2 output channels x 6 columns, 8 positions per step.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    static void GradTile256(float* dst, int ld, float* g, long dyRow, float* planes, int* taps, long* piece, int count)
    {
        Vector256<float> a00 = default, a01 = default, a02 = default, a03 = default, a04 = default, a05 = default;
        Vector256<float> a10 = default, a11 = default, a12 = default, a13 = default, a14 = default, a15 = default;
        for (int n = 0; n < count; n++, piece += 3)
        {
            float* xs = planes + piece[1];
            float* x0 = xs + taps[0], x1 = xs + taps[1], x2 = xs + taps[2], x3 = xs + taps[3], x4 = xs + taps[4];
            float* x5 = xs + taps[5];
            float* g0 = g + piece[0], g1 = g0 + dyRow;
            for (long m = 0, len = piece[2]; m < len; m += 8)
            {
                Vector256<float> d0 = Vector256.Load(g0 + m), d1 = Vector256.Load(g1 + m), v;
                v = Vector256.Load(x0 + m); a00 = Fma.MultiplyAdd(d0, v, a00); a10 = Fma.MultiplyAdd(d1, v, a10);
                v = Vector256.Load(x1 + m); a01 = Fma.MultiplyAdd(d0, v, a01); a11 = Fma.MultiplyAdd(d1, v, a11);
                v = Vector256.Load(x2 + m); a02 = Fma.MultiplyAdd(d0, v, a02); a12 = Fma.MultiplyAdd(d1, v, a12);
                v = Vector256.Load(x3 + m); a03 = Fma.MultiplyAdd(d0, v, a03); a13 = Fma.MultiplyAdd(d1, v, a13);
                v = Vector256.Load(x4 + m); a04 = Fma.MultiplyAdd(d0, v, a04); a14 = Fma.MultiplyAdd(d1, v, a14);
                v = Vector256.Load(x5 + m); a05 = Fma.MultiplyAdd(d0, v, a05); a15 = Fma.MultiplyAdd(d1, v, a15);
            }
        }
        AddSums(dst, Vector256.Sum(a00), Vector256.Sum(a01), Vector256.Sum(a02), Vector256.Sum(a03), Vector256.Sum(a04), Vector256.Sum(a05));
        AddSums(dst + ld, Vector256.Sum(a10), Vector256.Sum(a11), Vector256.Sum(a12), Vector256.Sum(a13), Vector256.Sum(a14), Vector256.Sum(a15));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddSums(float* p, float s0, float s1, float s2, float s3, float s4, float s5)
    {
        p[0] += s0; p[1] += s1; p[2] += s2; p[3] += s3; p[4] += s4; p[5] += s5;
    }
}
