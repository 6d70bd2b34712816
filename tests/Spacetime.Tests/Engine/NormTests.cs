using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class NormTests
{
    // ---- float64 references -------------------------------------------------------------------------------------

    // softmax or log softmax of x (row-major, shape) along dim
    static double[] SoftmaxRef(double[] x, int[] shape, int dim, bool log)
    {
        var y = new double[x.Length];
        int K = shape[dim], inner = shape.Skip(dim + 1).Aggregate(1, (a, b) => a * b);
        int outer = K == 0 ? 0 : x.Length / (K * inner);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int at(int k) => (o * K + k) * inner + i;
                double m = Enumerable.Range(0, K).Max(k => x[at(k)]);
                double s = Enumerable.Range(0, K).Sum(k => Math.Exp(x[at(k)] - m));
                for (int k = 0; k < K; k++)
                    y[at(k)] = log ? x[at(k)] - m - Math.Log(s) : Math.Exp(x[at(k)] - m) / s;
            }
        return y;
    }

    // normalise each group of `size` consecutive elements (centred = LayerNorm/GroupNorm, else RMS), then
    // y = xhat * w[channel(i)] + b[channel(i)]
    static double[] NormRef(double[] x, int size, bool centred, double eps, Func<int, double> w, Func<int, double> b)
    {
        var y = new double[x.Length];
        for (int g0 = 0; g0 < x.Length; g0 += size)
        {
            var v = x.AsSpan(g0, size).ToArray();
            double m = centred ? v.Average() : 0;
            double r = 1 / Math.Sqrt(v.Sum(a => (a - m) * (a - m)) / size + eps);
            for (int i = 0; i < size; i++) y[g0 + i] = (v[i] - m) * r * w(g0 + i) + b(g0 + i);
        }
        return y;
    }

    static double[] LayerNormRef(Tensor x, Tensor? w, Tensor? b, double eps, bool centred = true)
    {
        int C = x.Shape[^1];
        double[]? wd = w is null ? null : D(w), bd = b is null ? null : D(b);
        return NormRef(D(x), C, centred, eps, i => wd?[i % C] ?? 1, i => bd?[i % C] ?? 0);
    }

    static double[] GroupNormRef(Tensor x, int groups, Tensor? w, Tensor? b, double eps)
    {
        int C = x.Shape[1], S = x.Count / Math.Max(1, x.Shape[0] * C);
        double[]? wd = w is null ? null : D(w), bd = b is null ? null : D(b);
        return NormRef(D(x), C / groups * S, true, eps, i => wd?[i / S % C] ?? 1, i => bd?[i / S % C] ?? 0);
    }

    // ---- softmax -------------------------------------------------------------------------------------------------

    [Fact]
    [OpCheck(OpKind.Softmax, Check.Forward), OpCheck(OpKind.LogSoftmax, Check.Forward)]
    public void Softmax_EveryRowLengthAndDim_MatchesFloat64()
    {
        // rtol: exp is within a few ulp and the row sum of <= 49 terms adds a few more (measured worst 2.8e-7).
        // atol: log softmax is (x - m) - log s, values up to ~8 rounded a few times (measured worst 6.2e-7 absolute).
        const double rtol = 2e-6, atol = 1.5e-6;
        for (int n = 0; n <= 49; n++)                   // lengths 0 .. 3 x 16 + 1: every Vector512 remainder
        {
            var x = Rand((ulong)n + 1, -4f, 4f, 3, n);
            TensorAssert.Close(SoftmaxRef(D(x), [3, n], 1, false), F.Softmax(x, -1), rtol, 1e-7, $"softmax n={n}");
            TensorAssert.Close(SoftmaxRef(D(x), [3, n], 1, true), F.LogSoftmax(x, 1), rtol, atol, $"log softmax n={n}");
        }
        var t = Rand(60, -4f, 4f, 4, 5, 6);
        for (int dim = 0; dim < 3; dim++)
        {
            int[] s3 = [4, 5, 6];
            TensorAssert.Close(SoftmaxRef(D(t), s3, dim, false), F.Softmax(t, dim), rtol, 1e-7, $"softmax dim {dim}");
            TensorAssert.Close(SoftmaxRef(D(t), s3, dim, true), F.LogSoftmax(t, dim - 3), rtol, atol, $"dim {dim}");
        }
        var v = Rand(61, -4f, 4f, 7, 13).Transpose(0, 1);                     // (13, 7) non-contiguous view
        TensorAssert.Close(SoftmaxRef(D(v), [13, 7], 1, false), F.Softmax(v, 1), rtol, 1e-7, "softmax of a view");
        TensorAssert.Close(SoftmaxRef(D(v), [13, 7], 0, true), F.LogSoftmax(v, 0), rtol, atol, "log softmax of a view");
        TensorAssert.ShapeIs(F.Softmax(Tensor.Zeros(0, 5), 1), 0, 5);          // empty batch
    }

    [Fact]
    public void Softmax_HugeLogits_StayFinite()
    {
        var x = Tensor.From([1000f, 999f, -1000f, 0f], 1, 4);
        var expected = SoftmaxRef(D(x), [1, 4], 1, false);
        TensorAssert.Close(expected, F.Softmax(x, 1), 1e-6, 1e-30, "softmax of large logits");
        Assert.All(F.LogSoftmax(x, 1).ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    [OpCheck(OpKind.Softmax, Check.Backward), OpCheck(OpKind.LogSoftmax, Check.Backward)]
    public void Softmax_Backward_MatchesFiniteDifferences()
    {
        GradCheck.Check(x => F.Softmax(x[0], -1), [Rand(1, -2f, 2f, 3, 7)], what: "softmax");
        GradCheck.Check(x => F.Softmax(x[0].Transpose(0, 1), 0), [Rand(2, -2f, 2f, 4, 5)],
                        what: "softmax, view, dim 0");
        GradCheck.Check(x => F.LogSoftmax(x[0], -1), [Rand(3, -2f, 2f, 3, 7)], what: "log softmax");
        GradCheck.Check(x => F.LogSoftmax(x[0].Slice(1, 1, 4), 1), [Rand(4, -2f, 2f, 2, 3, 6).Reshape(6, 6)],
                        what: "log softmax of a slice");
    }

    [Fact]
    [OpCheck(OpKind.Softmax, Check.Threads), OpCheck(OpKind.LogSoftmax, Check.Threads)]
    public void Softmax_OneAndTwoThreads_Identical()
    {
        var x = Rand(5, -3f, 3f, 37, 29);
        GradCheck.SameOnThreads(t => F.Softmax(t[0], 1), [x], what: "softmax");
        GradCheck.SameOnThreads(t => F.Softmax(t[0], 0), [x], what: "softmax dim 0");
        GradCheck.SameOnThreads(t => F.LogSoftmax(t[0], 1), [x], what: "log softmax");
    }

    // ---- LayerNorm, RmsNorm --------------------------------------------------------------------------------------

    // rtol: each output takes 3-4 roundings after the row statistics (RmsNorm measured worst 2e-7 relative).
    // atol: the row mean's rounding (~|x| eps_f32 sqrt(log C)) is shared by the whole row and scaled by rstd, so
    // outputs near 0 keep an absolute error; with x in [2, 4] and C up to 257 the measured worst is 1.5e-6.
    const double NormRtol = 1e-5, NormAtol = 5e-6;

    [Fact]
    [OpCheck(OpKind.LayerNorm, Check.Forward), OpCheck(OpKind.RmsNorm, Check.Forward)]
    public void LayerNormAndRmsNorm_EveryRowLength_MatchFloat64()
    {
        foreach (int C in Enumerable.Range(0, 50).Concat([97, 131, 257]))   // 0 .. 3 x 16 + 1, then primes
        {
            var x = Rand((ulong)C + 100, 2f, 4f, 3, C);                      // offset from 0: centring matters
            var w = Rand((ulong)C + 200, 0.5f, 1.5f, C);
            var b = Rand((ulong)C + 300, -1f, 1f, C);
            TensorAssert.Close(LayerNormRef(x, w, b, 1e-5), F.LayerNorm(x, w, b), NormRtol, NormAtol,
                               $"LayerNorm C={C}");
            TensorAssert.Close(LayerNormRef(x, null, null, 1e-3), F.LayerNorm(x, null, null, 1e-3f), NormRtol, NormAtol,
                               $"LayerNorm no affine C={C}");
            TensorAssert.Close(LayerNormRef(x, w, null, 1e-6, centred: false), F.RmsNorm(x, w), NormRtol, NormAtol,
                               $"RmsNorm C={C}");
            TensorAssert.Close(LayerNormRef(x, null, null, 1e-6, centred: false), F.RmsNorm(x, null), NormRtol,
                               NormAtol,
                               $"RmsNorm no weight C={C}");
        }
        var v = Rand(7, -2f, 2f, 2, 9, 5).Transpose(1, 2);                    // (2, 5, 9) non-contiguous view
        var w9 = Rand(8, 0.5f, 1.5f, 9);
        TensorAssert.Close(LayerNormRef(v, w9, w9, 1e-5), F.LayerNorm(v, w9, w9), NormRtol, NormAtol, "LayerNorm view");
        TensorAssert.Close(LayerNormRef(v, w9, null, 1e-6, false), F.RmsNorm(v, w9), NormRtol, NormAtol,
                           "RmsNorm view");
        TensorAssert.ShapeIs(F.LayerNorm(Tensor.Zeros(0, 5), null, null), 0, 5);   // empty batch
        TensorAssert.ShapeIs(F.RmsNorm(Tensor.Zeros(2, 0, 5), null), 2, 0, 5);
    }

    [Fact]
    [OpCheck(OpKind.LayerNorm, Check.Backward), OpCheck(OpKind.RmsNorm, Check.Backward)]
    public void LayerNormAndRmsNorm_Backward_MatchFiniteDifferences()
    {
        Tensor[] Inputs(ulong s) => [Rand(s, -2f, 2f, 7, 3), Rand(s + 1, 0.5f, 1.5f, 7), Rand(s + 2, -1f, 1f, 7)];
        // x is a transposed view (3, 7): dx, dweight and dbias all checked
        GradCheck.Check(t => F.LayerNorm(t[0].Transpose(0, 1), t[1], t[2]), Inputs(1), what: "LayerNorm affine");
        GradCheck.Check(t => F.LayerNorm(t[0], null, null), [Rand(4, -2f, 2f, 2, 3, 5)], what: "LayerNorm no affine");
        GradCheck.Check(t => F.RmsNorm(t[0].Transpose(0, 1), t[1]), Inputs(5)[..2], what: "RmsNorm");
        GradCheck.Check(t => F.RmsNorm(t[0].Slice(1, 2, 6), null), [Rand(6, -2f, 2f, 3, 11)], what: "RmsNorm slice");
    }

    [Fact]
    [OpCheck(OpKind.LayerNorm, Check.Threads), OpCheck(OpKind.RmsNorm, Check.Threads)]
    public void LayerNormAndRmsNorm_OneAndTwoThreads_Identical()
    {
        // 150 columns: three parameter-gradient column blocks, the last one partial
        Tensor[] inputs = [Rand(1, -2f, 2f, 67, 150), Rand(2, 0.5f, 1.5f, 150), Rand(3, -1f, 1f, 150)];
        GradCheck.SameOnThreads(t => F.LayerNorm(t[0], t[1], t[2]), inputs, what: "LayerNorm");
        GradCheck.SameOnThreads(t => F.RmsNorm(t[0], t[1]), inputs[..2], what: "RmsNorm");
    }

    // ---- GroupNorm -----------------------------------------------------------------------------------------------

    public static TheoryData<int[], int> GroupCases => new()
    {
        { [2, 6], 3 }, { [2, 6, 5], 1 }, { [2, 6, 5], 2 }, { [2, 6, 5], 6 }, { [3, 4, 3, 3], 2 },
        { [1, 6, 2, 3, 2], 3 },
        { [2, 8, 49], 4 }, { [0, 4, 3], 2 }, { [2, 4, 0], 2 },
    };

    [Theory, MemberData(nameof(GroupCases))]
    [OpCheck(OpKind.GroupNorm, Check.Forward)]
    public void GroupNorm_MatchesFloat64(int[] shape, int groups)
    {
        int C = shape[1];
        var x = Rand(11, 1f, 3f, shape);
        var w = Rand(12, 0.5f, 1.5f, C);
        var b = Rand(13, -1f, 1f, C);
        string what = $"GroupNorm {Shapes.Format(shape)} / {groups}";
        TensorAssert.Close(GroupNormRef(x, groups, w, b, 1e-5), F.GroupNorm(x, groups, w, b), NormRtol, NormAtol, what);
        TensorAssert.Close(GroupNormRef(x, groups, null, null, 1e-5), F.GroupNorm(x, groups, null, null), NormRtol,
                           NormAtol, what + " no affine");
        if (shape.Length >= 3)
        {
            var v = x.Transpose(0, 2).Contiguous().Transpose(0, 2);          // same values, non-contiguous
            TensorAssert.Close(GroupNormRef(x, groups, w, b, 1e-5), F.GroupNorm(v, groups, w, b), NormRtol, NormAtol,
                               what + " view");
        }
    }

    [Fact]
    [OpCheck(OpKind.GroupNorm, Check.Backward)]
    public void GroupNorm_Backward_MatchesFiniteDifferences()
    {
        Tensor[] inputs = [Rand(1, -2f, 2f, 2, 4, 3), Rand(2, 0.5f, 1.5f, 4), Rand(3, -1f, 1f, 4)];
        GradCheck.Check(t => F.GroupNorm(t[0], 2, t[1], t[2]), inputs, what: "GroupNorm affine");
        // (2, 6, 2, 2) seen through a spatial transpose, no affine
        GradCheck.Check(t => F.GroupNorm(t[0].Transpose(2, 3), 3, null, null), [Rand(4, -2f, 2f, 2, 6, 2, 2)],
                        what: "GroupNorm view");
        GradCheck.Check(t => F.GroupNorm(t[0], 1, t[1], null), [Rand(5, -2f, 2f, 3, 2), Rand(6, 0.5f, 1.5f, 2)],
                        what: "GroupNorm rank 2");
    }

    [Fact]
    [OpCheck(OpKind.GroupNorm, Check.Threads)]
    public void GroupNorm_OneAndTwoThreads_Identical()
    {
        Tensor[] inputs = [Rand(1, -2f, 2f, 3, 8, 5, 7), Rand(2, 0.5f, 1.5f, 8), Rand(3, -1f, 1f, 8)];
        GradCheck.SameOnThreads(t => F.GroupNorm(t[0], 4, t[1], t[2]), inputs, what: "GroupNorm");
    }

    // ---- LayerNorm + adaLN modulate (fused) ----------------------------------------------------------------------

    static Tensor ModulateUnfused(Tensor x, Tensor shift, Tensor scale, float eps) =>
        F.LayerNorm(x, null, null, eps) * (1f + scale.Unsqueeze(1)) + shift.Unsqueeze(1);

    [Fact]
    [OpCheck(OpKind.LayerNorm, Check.Forward)]
    public void LayerNormModulate_MatchesFloat64AndUnfusedOps()
    {
        foreach (int hidden in new[] { 1, 16, 31, 49, 97 })
        {
            var x = Rand((ulong)hidden, -2f, 2f, 2, 5, hidden);
            var ss = Rand((ulong)hidden + 1, -1f, 1f, 2, 2 * hidden);
            var (shift, scale) = ss.Chunk(2, 1);                              // (2, D) non-contiguous views
            var xhat = LayerNormRef(x, null, null, 1e-6);
            var sh = D(shift);
            var sc = D(scale);
            int Bd(int i) => i / (5 * hidden) * hidden + i % hidden;          // (b, d) of token element i
            var expected = xhat.Select((v, i) => v * (1 + sc[Bd(i)]) + sh[Bd(i)]);
            var fused = F.LayerNormModulate(x, shift, scale, 1e-6f);
            TensorAssert.Close(expected.ToArray(), fused, NormRtol, NormAtol, $"modulate D={hidden}");
            // the unfused composition rounds differently (xhat (1 + s) vs xhat + xhat s): a few ulp apart
            TensorAssert.Close(D(ModulateUnfused(x, shift, scale, 1e-6f)), fused, 1e-6, 1e-6,
                               $"fused vs unfused D={hidden}");
        }
    }

    [Fact]
    [OpCheck(OpKind.LayerNorm, Check.Backward)]
    public void LayerNormModulate_Backward_MatchesFiniteDifferencesAndUnfusedOps()
    {
        Tensor[] inputs = [Rand(1, -2f, 2f, 2, 3, 7), Rand(2, -1f, 1f, 2, 7), Rand(3, -1f, 1f, 2, 7)];
        GradCheck.Check(t => F.LayerNormModulate(t[0], t[1], t[2]), inputs, what: "modulate");
        GradCheck.Check(t => F.LayerNormModulate(t[0].Transpose(0, 1), t[1], t[2]),
                        [Rand(4, -2f, 2f, 3, 2, 7), inputs[1], inputs[2]], what: "modulate of a view");

        // gradients equal those of the unfused ops (weights w on the output make every element count)
        var w = Rand(9, -1f, 1f, 2, 3, 7);
        var fused = GradCheck.Gradients(t => F.LayerNormModulate(t[0], t[1], t[2], 1e-6f), inputs, w);
        var unfused = GradCheck.Gradients(t => ModulateUnfused(t[0], t[1], t[2], 1e-6f), inputs, w);
        for (int k = 0; k < 3; k++)
            TensorAssert.Close(unfused[k], fused[k], 1e-5, 1e-6, $"gradient {k}, fused vs unfused");
    }

    // The vector paths (rows and 32-column sums of 8 lanes, with tails) at widths around them, against the unfused
    // ops' gradients and a float64 oracle of the parameter sums. x also feeds a later op, whose backward runs first,
    // so the fused backward adds dx into the gradient x has by then (the residual stream's case).
    [Fact]
    [OpCheck(OpKind.LayerNorm, Check.Backward)]
    public void LayerNormModulate_Backward_WideRows_MatchUnfusedOps()
    {
        foreach (int hidden in new[] { 8, 32, 40, 96, 100, 384 })
        {
            Tensor[] inputs = [Rand((ulong)hidden, -2f, 2f, 2, 9, hidden), Rand(2, -1f, 1f, 2, hidden),
                               Rand(3, -1f, 1f, 2, hidden)];
            var w = Rand(9, -1f, 1f, 2, 9, hidden);
            var w2 = Rand(10, -1f, 1f, 2, 9, hidden);
            var fused = GradCheck.Gradients(t => F.LayerNormModulate(t[0], t[1], t[2], 1e-6f) * w + t[0] * w2, inputs);
            var unfused = GradCheck.Gradients(t => ModulateUnfused(t[0], t[1], t[2], 1e-6f) * w + t[0] * w2, inputs);
            for (int k = 0; k < 3; k++)
                TensorAssert.Close(unfused[k], fused[k], 1e-5, 1e-5, $"D={hidden} gradient {k}");
            // dshift[b, d] = sum over n of dy[b, n, d] (dy = w here), in float64
            var wd = D(w);
            var dshift = new double[2 * hidden];
            for (int i = 0; i < wd.Length; i++) dshift[i / (9 * hidden) * hidden + i % hidden] += wd[i];
            TensorAssert.Close(dshift, fused[1], 1e-5, 1e-5, $"D={hidden} dshift");
        }
    }

    [Fact]
    [OpCheck(OpKind.LayerNorm, Check.Threads)]
    public void LayerNormModulate_OneAndTwoThreads_Identical()
    {
        Tensor[] inputs = [Rand(1, -2f, 2f, 3, 19, 130), Rand(2, -1f, 1f, 3, 130), Rand(3, -1f, 1f, 3, 130)];
        GradCheck.SameOnThreads(t => F.LayerNormModulate(t[0], t[1], t[2]), inputs, what: "modulate");
    }

    // ---- bad input -----------------------------------------------------------------------------------------------

    [Fact]
    public void Norms_BadInput_ThrowNamingOpShapesAndExpectation()
    {
        var x = Tensor.Zeros(2, 4);
        var e = Assert.Throws<ArgumentException>(() => F.LayerNorm(x, Tensor.Ones(5), null));
        Assert.Contains("LayerNorm", e.Message);
        Assert.Contains("(5)", e.Message);
        Assert.Contains("expected (4)", e.Message);
        Assert.Contains("(2, 4)", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.LayerNorm(x, null, Tensor.Ones(2, 2)));
        Assert.Contains("bias", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.RmsNorm(x, Tensor.Ones(3)));
        Assert.Contains("RmsNorm", e.Message);
        Assert.Throws<ArgumentException>(() => F.LayerNorm(Tensor.Scalar(1f), null, null));

        e = Assert.Throws<ArgumentException>(() => F.GroupNorm(Tensor.Zeros(2, 6, 3), 4, null, null));
        Assert.Contains("GroupNorm", e.Message);
        Assert.Contains("(2, 6, 3)", e.Message);
        Assert.Contains("divisor of 6", e.Message);
        Assert.Throws<ArgumentException>(() => F.GroupNorm(Tensor.Zeros(2, 6, 3), 0, null, null));
        Assert.Throws<ArgumentException>(() => F.GroupNorm(Tensor.Zeros(6), 2, null, null));
        e = Assert.Throws<ArgumentException>(() => F.GroupNorm(Tensor.Zeros(2, 6, 3), 3, Tensor.Ones(3), null));
        Assert.Contains("expected (6)", e.Message);

        var oor = Assert.Throws<ArgumentOutOfRangeException>(() => F.Softmax(x, 2));
        Assert.Contains("Softmax", oor.Message);
        Assert.Contains("LogSoftmax", Assert.Throws<ArgumentOutOfRangeException>(() => F.LogSoftmax(x, -3)).Message);

        e = Assert.Throws<ArgumentException>(() => F.LayerNormModulate(Tensor.Zeros(2, 3, 4), Tensor.Zeros(2, 4),
                                                                       Tensor.Zeros(1, 4)));
        Assert.Contains("LayerNormModulate: scale has shape (1, 4), expected (B, D) = (2, 4)", e.Message);
        Assert.Throws<ArgumentException>(() => F.LayerNormModulate(Tensor.Zeros(3, 4), Tensor.Zeros(3, 4),
                                                                   Tensor.Zeros(3, 4)));
    }
}
