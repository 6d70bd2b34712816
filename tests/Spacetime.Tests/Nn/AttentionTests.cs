// The Attention module against a float64 reference written from the definition (timm's Attention, PixArt's
// cross-attention): project, split heads in (parts, NH, HD) order, optional RMS q/k-norm, softmax over allowed keys,
// merge heads, project. Tolerance 1e-5 relative, 1e-6 absolute (float32 sums of a few dozen terms).
using Spacetime.Engine;
using Spacetime.Nn;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Nn;

public class AttentionTests
{
    // y = x W^T + b for x (R, I) row-major.
    static double[] Lin(double[] x, int rows, Linear l)
    {
        double[] w = Reference.D(l.Weight), b = l.Bias is null ? new double[l.Weight.Size(0)] : Reference.D(l.Bias);
        int o = l.Weight.Size(0), i = l.Weight.Size(1);
        var y = new double[rows * o];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < o; j++)
            {
                double s = b[j];
                for (int k = 0; k < i; k++) s += x[r * i + k] * w[j * i + k];
                y[r * o + j] = s;
            }
        return y;
    }

    // Element (b, t, part, h, d) of a projection laid out (B, T, parts, NH, HD).
    static double At(double[] y, int T, int parts, int NH, int HD, int b, int t, int part, int h, int d) =>
        y[(((b * T + t) * parts + part) * NH + h) * HD + d];

    static double[] AttentionReference(Attention attn, Tensor x, Tensor? ctx, int NH, bool[]? keyValid, int[]? segQ,
                               int[]? segK, bool qkNorm)
    {
        var sd = attn.StateDict();
        int B = x.Size(0), N = x.Size(1), D = x.Size(2), HD = D / NH;
        var xs = Reference.D(x);
        double[] qy, kvy;
        int qParts, kvParts, L;
        if (ctx is null)
        {
            qy = kvy = Lin(xs, B * N, (Linear)attn.NamedChildren().First(c => c.Name == "qkv").Module);
            (qParts, kvParts, L) = (3, 3, N);
        }
        else
        {
            L = ctx.Size(1);
            qy = Lin(xs, B * N, (Linear)attn.NamedChildren().First(c => c.Name == "q").Module);
            kvy = Lin(Reference.D(ctx), B * L, (Linear)attn.NamedChildren().First(c => c.Name == "kv").Module);
            (qParts, kvParts) = (1, 2);
        }
        int kPart = ctx is null ? 1 : 0, vPart = kPart + 1;
        double[]? qw = qkNorm ? Reference.D(sd["q_norm.weight"]) : null;
        double[]? kw = qkNorm ? Reference.D(sd["k_norm.weight"]) : null;
        double[] Vec(double[] y, int T, int parts, int b, int t, int part, int h, double[]? w)
        {
            var v = Enumerable.Range(0, HD).Select(d => At(y, T, parts, NH, HD, b, t, part, h, d)).ToArray();
            if (w is null) return v;
            double rms = Math.Sqrt(v.Sum(e => e * e) / HD + 1e-6);
            return v.Select((e, d) => e / rms * w[d]).ToArray();
        }
        var merged = new double[B * N * D];
        for (int b = 0; b < B; b++)
            for (int h = 0; h < NH; h++)
                for (int n = 0; n < N; n++)
                {
                    var qv = Vec(qy, N, qParts, b, n, 0, h, qw);
                    var scores = new double[L];
                    for (int l = 0; l < L; l++)
                    {
                        bool ok = (keyValid?[b * L + l] ?? true) &&
                                  (segQ is null || segQ[b * N + n] == segK![b * L + l]);
                        var kvec = Vec(kvy, L, kvParts, b, l, kPart, h, kw);
                        scores[l] = ok ? qv.Zip(kvec, (a, c) => a * c).Sum() / Math.Sqrt(HD) : double.NegativeInfinity;
                    }
                    double m = scores.Max(), z = scores.Sum(s => Math.Exp(s - m));
                    for (int l = 0; l < L; l++)
                    {
                        double p = Math.Exp(scores[l] - m) / z;
                        for (int d = 0; d < HD; d++)
                            merged[(b * N + n) * D + h * HD + d] += p * At(kvy, L, kvParts, NH, HD, b, l, vPart, h, d);
                    }
                }
        return Lin(merged, B * N, (Linear)attn.NamedChildren().First(c => c.Name == "proj").Module);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SelfAttention_WithSegments_MatchesReference(bool qkNorm)
    {
        var attn = new Attention(8, 2, new Rng(1), qkNorm: qkNorm);
        if (qkNorm) Init.Uniform(attn.StateDict()["q_norm.weight"], new Rng(2), 0.5f, 1.5f);
        string[] keys = qkNorm
            ? ["qkv.weight", "qkv.bias", "q_norm.weight", "k_norm.weight", "proj.weight", "proj.bias"]
            : ["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"];
        Assert.Equal(keys, attn.StateDict().Keys);
        var x = Reference.Rand(3, -1, 1, 2, 5, 8);
        int[] seg = [0, 0, 1, 1, 1, 0, 0, 0, 0, 2];                            // two packed sequences in batch 0
        var y = attn.Forward(x, mask: AttentionMask.Segments(seg));
        TensorAssert.ShapeIs(y, 2, 5, 8);
        TensorAssert.Close(AttentionReference(attn, x, null, 2, null, seg, seg, qkNorm), y,
                           what: $"self-attention qkNorm={qkNorm}");
    }

    [Fact]
    public void CrossAttention_WithKeyPadding_MatchesReference()
    {
        var attn = new Attention(8, 4, new Rng(4), contextDim: 6);
        Assert.Equal(["q.weight", "q.bias", "kv.weight", "kv.bias", "proj.weight", "proj.bias"], attn.StateDict().Keys);
        var x = Reference.Rand(5, -1, 1, 2, 3, 8);
        var text = Reference.Rand(6, -1, 1, 2, 4, 6);
        bool[] valid = [true, true, false, false, true, true, true, true];    // batch 0 has 2 text tokens
        var y = attn.Forward(x, text, new AttentionMask(KeyValid: valid));
        TensorAssert.ShapeIs(y, 2, 3, 8);
        TensorAssert.Close(AttentionReference(attn, x, text, 4, valid, null, null, false), y, what: "cross-attention");
    }

    [Fact]
    public void Attention_Backward_ReachesEveryParameter()
    {
        var attn = new Attention(8, 2, new Rng(7), qkNorm: true);
        F.Sum(attn.Forward(Reference.Rand(8, -1, 1, 1, 4, 8)).Pow(2)).Backward();
        Assert.All(attn.NamedParameters(), p => Assert.True(p.Parameter.Grad is not null, $"{p.Name} has no gradient"));
    }

    [Fact]
    public void Attention_BadInput_Throws()
    {
        Assert.Throws<ArgumentException>(() => new Attention(10, 3, new Rng(0)));
        var self = new Attention(8, 2, new Rng(0));
        var ex = Assert.Throws<ArgumentException>(() => self.Forward(Tensor.Zeros(1, 2, 8), Tensor.Zeros(1, 3, 8)));
        Assert.Contains("no context", ex.Message);
        var cross = new Attention(8, 2, new Rng(0), contextDim: 8);
        Assert.Throws<ArgumentException>(() => cross.Forward(Tensor.Zeros(1, 2, 8)));
    }
}
