// Scaled dot-product attention as ONE op on the fused kernels (Kernels/AttentionKernels.cs): the (N, L) score matrix
// is never built. q, k, v are (B, NH, tokens, HD) tensors, usually views of a fused qkv projection; any layout whose
// head dim is contiguous is read in place. The output is laid out in memory as (B, N, NH, HD) and returned as the
// (B, NH, N, HD) view, so the usual out.Transpose(1, 2).Reshape(B, N, D) that follows costs no copy.
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

/// <summary>
/// Which keys each query may attend to. KeyValid (B·L): false marks a padding key. SegmentQ (B·N) and SegmentK (B·L):
/// a query attends only to keys with the same segment id (block-diagonal attention of packed sequences).
/// </summary>
public sealed record AttentionMask(bool[]? KeyValid = null, int[]? SegmentQ = null, int[]? SegmentK = null)
{
    /// <summary>Segment ids for self-attention over a packed sequence (queries and keys share them).</summary>
    public static AttentionMask Segments(int[] segmentIds) => new(null, segmentIds, segmentIds);
}

public static partial class F
{
    /// <summary>
    /// softmax(scale · q kᵀ + mask) v. q: (B, NH, N, HD), k and v: (B, NH, L, HD); scale defaults to 1/sqrt(HD).
    /// Result (B, NH, N, HD). A query with no allowed key outputs zeros.
    /// </summary>
    public static Tensor Attention(Tensor q, Tensor k, Tensor v, AttentionMask? mask = null, float? scale = null)
    {
        if (q.Rank != 4 || k.Rank != 4 || v.Rank != 4)
            throw new ArgumentException($"Attention: q, k, v must be (B, NH, tokens, HD); got {Shapes.Format(q.Dims)}, " +
                                        $"{Shapes.Format(k.Dims)}, {Shapes.Format(v.Dims)}.");
        int B = q.Dims[0], NH = q.Dims[1], N = q.Dims[2], HD = q.Dims[3], L = k.Dims[2];
        if (k.Dims[0] != B || k.Dims[1] != NH || k.Dims[3] != HD || !Shapes.Equal(k.Dims, v.Dims))
            throw new ArgumentException($"Attention: shapes do not match: q {Shapes.Format(q.Dims)}, k " +
                                        $"{Shapes.Format(k.Dims)}, v {Shapes.Format(v.Dims)} (expected k and v " +
                                        $"({B}, {NH}, L, {HD})).");
        CheckMask(mask, B, N, L);
        float s = scale ?? 1f / MathF.Sqrt(Math.Max(HD, 1));
        var (qd, qs) = Operand(q);
        var (kd, ks) = Operand(k);
        var (vd, vs) = Operand(v);
        var mem = Tensor.Empty(B, N, NH, HD);                              // output memory, (B, N, NH, HD)
        var outS = new AttnStrides((long)N * NH * HD, HD, (long)NH * HD);
        var lse = Tensor.Empty(B * NH * N);
        AttentionKernels.AttentionForward(mem.Storage.Data, 0, outS, lse.Storage.Data,
            qd.Storage.Data, qd.Offset, qs, kd.Storage.Data, kd.Offset, ks, vd.Storage.Data, vd.Offset, vs,
            mask?.KeyValid, mask?.SegmentQ, mask?.SegmentK, B, NH, N, L, HD, s);
        var y = new Tensor(mem.Storage, 0, [B, NH, N, HD], [N * NH * HD, HD, NH * HD, 1]);
        if (!Autograd.Needs([q, k, v])) return y;
        return Autograd.Record(OpKind.Attention, y, [q, k, v], dy =>
        {
            var dq = Tensor.Empty(B, NH, N, HD);
            var dk = Tensor.Empty(B, NH, L, HD);
            var dv = Tensor.Empty(B, NH, L, HD);
            var (dyd, dys) = Operand(dy);
            AttentionKernels.AttentionBackward(
                dq.Storage.Data, 0, AttnStrides.Contiguous(NH, N, HD), dk.Storage.Data, 0, AttnStrides.Contiguous(NH, L, HD),
                dv.Storage.Data, 0, AttnStrides.Contiguous(NH, L, HD), dyd.Storage.Data, dyd.Offset, dys,
                qd.Storage.Data, qd.Offset, qs, kd.Storage.Data, kd.Offset, ks, vd.Storage.Data, vd.Offset, vs,
                mem.Storage.Data, 0, outS, lse.Storage.Data,
                mask?.KeyValid, mask?.SegmentQ, mask?.SegmentK, B, NH, N, L, HD, s);
            Autograd.Accumulate(q, dq, fresh: true);
            Autograd.Accumulate(k, dk, fresh: true);
            Autograd.Accumulate(v, dv, fresh: true);
        });
    }

    /// <summary>
    /// Multi-head attention straight from the projections, heads split and merged in timm's layout:
    /// self-attention when <paramref name="kv"/> is null, with <paramref name="q"/> the fused (B, N, 3·D) qkv
    /// projection (q, k, v at columns [0, D), [D, 2D), [2D, 3D), each D = heads·HD split into heads); cross-attention
    /// otherwise, with q (B, N, D) and kv the fused (B, L, 2·D) key-value projection. Result (B, N, D), the heads side
    /// by side. It equals F.Attention on the (B, NH, tokens, HD) views of the projections, merged back by
    /// Transpose(1, 2).Reshape, but its backward writes each gradient straight into the projection's layout: the
    /// views' path spends a zero-filled (B, 3·NH, N, HD) buffer, three region copies and a transposed copy on it.
    /// </summary>
    public static Tensor MultiHeadAttention(Tensor q, Tensor? kv, int heads, AttentionMask? mask = null,
                                            float? scale = null)
    {
        int parts = kv is null ? 3 : 1;
        if (q.Rank != 3 || kv is { Rank: not 3 } || heads <= 0 || q.Dims[2] % (parts * heads) != 0
            || (kv is not null && (kv.Dims[0] != q.Dims[0] || kv.Dims[2] != 2 * q.Dims[2])))
            throw new ArgumentException($"MultiHeadAttention: q {Shapes.Format(q.Dims)}" +
                (kv is null ? "" : $", kv {Shapes.Format(kv.Dims)}") + $", {heads} heads; expected " +
                (kv is null ? "the fused qkv (B, N, 3·D) with D divisible by the heads."
                            : "q (B, N, D) and kv (B, L, 2·D), D divisible by the heads."));
        int B = q.Dims[0], N = q.Dims[1], D = q.Dims[2] / parts, HD = D / heads;
        int L = kv?.Dims[1] ?? N;
        CheckMask(mask, B, N, L);
        float s = scale ?? 1f / MathF.Sqrt(Math.Max(HD, 1));
        var qc = q.IsContiguous ? q : ContiguousCopy(q);                   // (B, N, parts·D)
        var kvc = kv is null ? qc : kv.IsContiguous ? kv : ContiguousCopy(kv);   // (B, L, 2·D) or qc
        int qw = parts * D, kvw = kv is null ? 3 * D : 2 * D;              // row widths
        long kAt = kv is null ? D : 0, vAt = kAt + D;                      // columns of k and v in kvc's rows
        var qS = new AttnStrides((long)N * qw, HD, qw);                    // head h of token n at n·qw + h·HD
        var kvS = new AttnStrides((long)L * kvw, HD, kvw);
        var outS = new AttnStrides((long)N * D, HD, D);
        var y = Tensor.Empty(B, N, D);                                     // (B, N, D)
        var lse = Tensor.Empty(B * heads * N);
        AttentionKernels.AttentionForward(y.Storage.Data, 0, outS, lse.Storage.Data,
            qc.Storage.Data, qc.Offset, qS, kvc.Storage.Data, kvc.Offset + kAt, kvS, kvc.Storage.Data,
            kvc.Offset + vAt, kvS, mask?.KeyValid, mask?.SegmentQ, mask?.SegmentK, B, heads, N, L, HD, s);
        Tensor[] inputs = kv is null ? [q] : [q, kv];
        if (!Autograd.Needs(inputs)) return y;
        return Autograd.Record(OpKind.Attention, y, inputs, dy =>
        {
            // every element of dq, dk and dv is written (not accumulated), so the buffers need no zeroing
            var dq = Tensor.Empty(B, N, qw);                               // (B, N, parts·D)
            var dkv = kv is null ? dq : Tensor.Empty(B, L, kvw);           // (B, L, 2·D), or dq's k and v columns
            var dyc = dy.IsContiguous ? dy : ContiguousCopy(dy);           // (B, N, D)
            AttentionKernels.AttentionBackward(
                dq.Storage.Data, 0, qS, dkv.Storage.Data, kAt, kvS, dkv.Storage.Data, vAt, kvS,
                dyc.Storage.Data, dyc.Offset, outS,
                qc.Storage.Data, qc.Offset, qS, kvc.Storage.Data, kvc.Offset + kAt, kvS, kvc.Storage.Data,
                kvc.Offset + vAt, kvS, y.Storage.Data, 0, outS, lse.Storage.Data,
                mask?.KeyValid, mask?.SegmentQ, mask?.SegmentK, B, heads, N, L, HD, s);
            Autograd.Accumulate(q, dq, fresh: true);
            if (kv is not null) Autograd.Accumulate(kv, dkv, fresh: true);
        });
    }

    // The tensor (made dense when its head dim is not contiguous) and its (B, H, N) strides.
    static (Tensor, AttnStrides) Operand(Tensor t)
    {
        if (t.Strides[3] != 1 && t.Dims[3] > 1) t = ContiguousCopy(t);
        return (t, new AttnStrides(t.Strides[0], t.Strides[1], t.Strides[2]));
    }

    static void CheckMask(AttentionMask? mask, int B, int N, int L)
    {
        if (mask is null) return;
        if (mask.KeyValid is { } kv && kv.Length != B * L)
            throw new ArgumentException($"Attention: KeyValid has {kv.Length} entries, expected B·L = {B}·{L}.");
        if ((mask.SegmentQ is null) != (mask.SegmentK is null))
            throw new ArgumentException("Attention: give both SegmentQ and SegmentK, or neither.");
        if (mask.SegmentQ is { } sq && sq.Length != B * N)
            throw new ArgumentException($"Attention: SegmentQ has {sq.Length} entries, expected B·N = {B}·{N}.");
        if (mask.SegmentK is { } sk && sk.Length != B * L)
            throw new ArgumentException($"Attention: SegmentK has {sk.Length} entries, expected B·L = {B}·{L}.");
    }
}
