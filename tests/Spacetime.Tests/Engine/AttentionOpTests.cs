using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class AttentionOpTests
{
    // float64 attention with the full score matrix: the reference the fused op must match.
    static double[] AttentionRef(Tensor q, Tensor k, Tensor v, AttentionMask? mask)
    {
        int B = q.Size(0), NH = q.Size(1), N = q.Size(2), HD = q.Size(3), L = k.Size(2);
        double[] dq = D(q.Contiguous()), dk = D(k.Contiguous()), dv = D(v.Contiguous());
        var o = new double[B * NH * N * HD];
        double scale = 1 / Math.Sqrt(HD);
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int n = 0; n < N; n++)
                {
                    var s = new double[L];
                    double max = double.NegativeInfinity;
                    for (int l = 0; l < L; l++)
                    {
                        bool ok = (mask?.KeyValid?[b * L + l] ?? true) &&
                                  (mask?.SegmentQ is null || mask.SegmentQ[b * N + n] == mask.SegmentK![b * L + l]);
                        double dot = 0;
                        for (int d = 0; d < HD; d++)
                            dot += dq[((b * NH + h) * N + n) * HD + d] * dk[((b * NH + h) * L + l) * HD + d];
                        s[l] = ok ? dot * scale : double.NegativeInfinity;
                        max = Math.Max(max, s[l]);
                    }
                    if (double.IsNegativeInfinity(max)) continue;          // no allowed key: zeros
                    double z = s.Sum(x => Math.Exp(x - max));
                    for (int d = 0; d < HD; d++)
                    {
                        double acc = 0;
                        for (int l = 0; l < L; l++) acc += Math.Exp(s[l] - max) / z * dv[((b * NH + h) * L + l) * HD + d];
                        o[((b * NH + h) * N + n) * HD + d] = acc;
                    }
                }
        return o;
    }

    // q, k, v as views of one fused (B, N, 3, NH, HD) projection, the layout the DiT produces.
    static (Tensor q, Tensor k, Tensor v) FromQkv(Tensor qkv)
    {
        var (q, k, v) = qkv.Permute(2, 0, 3, 1, 4).Chunk(3, 0);
        return (q.Squeeze(0), k.Squeeze(0), v.Squeeze(0));
    }

    [Fact]
    [OpCheck(OpKind.Attention, Check.Forward)]
    public void Attention_ViewsMasksAndSegments_MatchFloat64()
    {
        var (q, k, v) = FromQkv(Rand(1, -1f, 1f, 2, 37, 3, 3, 16));
        Assert.False(q.IsContiguous);
        // fp32 dot products and softmax over <= 37 keys: relative 1e-5 with an absolute floor for small outputs
        TensorAssert.Close(AttentionRef(q, k, v, null), F.Attention(q, k, v), 1e-4, 1e-5, "plain");
        var keyValid = Enumerable.Range(0, 2 * 37).Select(i => i % 5 != 3).ToArray();
        var pad = new AttentionMask(keyValid);
        TensorAssert.Close(AttentionRef(q, k, v, pad), F.Attention(q, k, v, pad), 1e-4, 1e-5, "key padding");
        // packed sequences of 10, 20 and 7 tokens in batch 0; 37 tokens in batch 1
        var seg = Enumerable.Range(0, 2 * 37).Select(i => i >= 37 ? 0 : i < 10 ? 0 : i < 30 ? 1 : 2).ToArray();
        var packed = AttentionMask.Segments(seg);
        TensorAssert.Close(AttentionRef(q, k, v, packed), F.Attention(q, k, v, packed), 1e-4, 1e-5, "segments");
        // cross-attention: 5 keys for 37 queries
        var kc = Rand(2, -1f, 1f, 2, 3, 5, 16);
        var vc = Rand(3, -1f, 1f, 2, 3, 5, 16);
        TensorAssert.Close(AttentionRef(q, kc, vc, null), F.Attention(q, kc, vc), 1e-4, 1e-5, "cross");
    }

    [Fact]
    [OpCheck(OpKind.Attention, Check.Backward)]
    public void Attention_Backward_MatchesFiniteDifferences()
    {
        GradCheck.Check(x => { var (q, k, v) = FromQkv(x[0]); return F.Attention(q, k, v); },
                        [Rand(4, -1f, 1f, 1, 9, 3, 2, 4)], what: "self");
        var seg = AttentionMask.Segments([0, 0, 0, 1, 1, 1, 1, 2, 2]);
        GradCheck.Check(x => F.Attention(x[0], x[1], x[2], seg),
                        [Rand(5, -1f, 1f, 1, 2, 9, 4), Rand(6, -1f, 1f, 1, 2, 9, 4), Rand(7, -1f, 1f, 1, 2, 9, 4)],
                        what: "segments");
    }

    [Fact]
    [OpCheck(OpKind.Attention, Check.Threads)]
    public void Attention_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(x => { var (q, k, v) = FromQkv(x[0]); return F.Attention(q, k, v); },
                                [Rand(8, -1f, 1f, 2, 130, 3, 2, 32)]);

    // MultiHeadAttention from the projections, against F.Attention on their head views merged back (the composition
    // it replaces) and the float64 reference; forward and every gradient, self and cross, with masks.
    static Tensor Heads(Tensor proj, int parts, int part, int heads) =>
        proj.Reshape(proj.Size(0), proj.Size(1), parts * heads, proj.Size(2) / (parts * heads))
            .Transpose(1, 2).Chunk(parts, dim: 1)[part];                   // (B, NH, tokens, HD)

    static Tensor Merge(Tensor o) => o.Transpose(1, 2).Reshape(o.Size(0), o.Size(2), o.Size(1) * o.Size(3));

    static Tensor ComposedSelf(Tensor qkv, int heads, AttentionMask? mask) =>
        Merge(F.Attention(Heads(qkv, 3, 0, heads), Heads(qkv, 3, 1, heads), Heads(qkv, 3, 2, heads), mask));

    static Tensor ComposedCross(Tensor q, Tensor kv, int heads, AttentionMask? mask) =>
        Merge(F.Attention(Heads(q, 1, 0, heads), Heads(kv, 2, 0, heads), Heads(kv, 2, 1, heads), mask));

    [Fact]
    [OpCheck(OpKind.Attention, Check.Forward)]
    public void MultiHeadAttention_MatchesHeadViewsAndFloat64()
    {
        var qkv = Rand(11, -1f, 1f, 2, 37, 3 * 48);                       // 3 heads of 16
        var seg = AttentionMask.Segments(Enumerable.Range(0, 2 * 37).Select(i => i % 37 < 12 ? 0 : 1).ToArray());
        foreach (var mask in new AttentionMask?[] { null, seg })
        {
            var fused = F.MultiHeadAttention(qkv, null, 3, mask);
            TensorAssert.Close(D(ComposedSelf(qkv, 3, mask)), fused, 1e-6, 1e-7, $"self vs views, mask {mask is not null}");
            var reference = AttentionRef(Heads(qkv, 3, 0, 3), Heads(qkv, 3, 1, 3), Heads(qkv, 3, 2, 3), mask);
            TensorAssert.Close(reference, fused.Reshape(2, 37, 3, 16).Transpose(1, 2).Contiguous(), 1e-4, 1e-5,
                               "self vs float64");                  // (B, NH, N, HD) as the reference
        }
        var q = Rand(12, -1f, 1f, 2, 37, 48);
        var kv = Rand(13, -1f, 1f, 2, 5, 96);                              // 5 keys
        var pad = new AttentionMask(Enumerable.Range(0, 2 * 5).Select(i => i != 7).ToArray());
        TensorAssert.Close(D(ComposedCross(q, kv, 3, pad)), F.MultiHeadAttention(q, kv, 3, pad), 1e-6, 1e-7, "cross");
    }

    [Fact]
    [OpCheck(OpKind.Attention, Check.Backward)]
    public void MultiHeadAttention_Backward_MatchesFiniteDifferencesAndHeadViews()
    {
        GradCheck.Check(x => F.MultiHeadAttention(x[0], null, 2, null), [Rand(14, -1f, 1f, 1, 9, 3 * 8)], what: "self");
        GradCheck.Check(x => F.MultiHeadAttention(x[0], x[1], 2, null),
                        [Rand(15, -1f, 1f, 2, 9, 8), Rand(16, -1f, 1f, 2, 4, 16)], what: "cross");
        // every gradient equals the head views' (weights on the output make each element count)
        var seg = AttentionMask.Segments(Enumerable.Range(0, 2 * 70).Select(i => i % 70 / 30).ToArray());
        Tensor[] inputs = [Rand(17, -1f, 1f, 2, 70, 3 * 64), Rand(18, -1f, 1f, 2, 70, 64), Rand(19, -1f, 1f, 2, 11, 128)];
        var w = Rand(20, -1f, 1f, 2, 70, 64);
        var fused = GradCheck.Gradients(
            x => F.MultiHeadAttention(x[0], null, 4, seg) + F.MultiHeadAttention(x[1], x[2], 4, null), inputs, w);
        var views = GradCheck.Gradients(x => ComposedSelf(x[0], 4, seg) + ComposedCross(x[1], x[2], 4, null), inputs, w);
        for (int k = 0; k < 3; k++)
            TensorAssert.Close(views[k], fused[k], 1e-5, 1e-6, $"gradient {k}");
    }

    [Fact]
    [OpCheck(OpKind.Attention, Check.Threads)]
    public void MultiHeadAttention_OneAndTwoThreads_Identical()
    {
        GradCheck.SameOnThreads(x => F.MultiHeadAttention(x[0], null, 2, null), [Rand(21, -1f, 1f, 2, 130, 3 * 64)]);
        GradCheck.SameOnThreads(x => F.MultiHeadAttention(x[0], x[1], 2, null),
                                [Rand(22, -1f, 1f, 2, 130, 64), Rand(23, -1f, 1f, 2, 20, 128)]);
    }

    [Fact]
    public void MultiHeadAttention_BadShapes_ThrowClearly()
    {
        var e = Assert.Throws<ArgumentException>(() => F.MultiHeadAttention(Tensor.Zeros(1, 4, 10), null, 2));
        Assert.Contains("MultiHeadAttention: q (1, 4, 10), 2 heads; expected the fused qkv", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.MultiHeadAttention(Tensor.Zeros(1, 4, 8), Tensor.Zeros(1, 3, 8), 2));
        Assert.Contains("kv (1, 3, 8)", e.Message);
    }

    [Fact]
    public void Attention_BadShapes_ThrowClearly()
    {
        var q = Tensor.Zeros(1, 2, 3, 4);
        Assert.Contains("Attention", Assert.Throws<ArgumentException>(() => F.Attention(q, Tensor.Zeros(1, 2, 3, 5), q)).Message);
        Assert.Contains("KeyValid", Assert.Throws<ArgumentException>(() => F.Attention(q, q, q, new AttentionMask([true]))).Message);
    }
}
