using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class LossTests
{
    // ---- dropout -------------------------------------------------------------------------------------------------

    [Fact]
    [OpCheck(OpKind.Dropout, Check.Forward)]
    public void Dropout_MatchesMaskFromRngStream()
    {
        const float p = 0.3f;
        foreach (int n in new[] { 0, 1, 17, 49, 1000 })
        {
            var x = Rand((ulong)n + 1, -2f, 2f, n);
            var rng = new Rng(42) { Counter = 5 };
            var y = F.Dropout(x, p, rng);
            Assert.Equal(5UL + (ulong)n, rng.Counter);                    // one number per element was drawn
            // element i uses the uniform at position 5 + i of the stream
            var u = new float[n];
            new Rng(42) { Counter = 5 }.FillUniform(u);
            var expected = D(x).Select((v, i) => u[i] >= p ? v / (1 - (double)p) : 0).ToArray();
            // x * (1 / (1 - p)) in float: two roundings
            TensorAssert.Close(expected, y, 2e-7, 0, $"dropout n={n}");
        }
        // kept fraction: 20000 Bernoulli(0.7) draws, within 5 standard deviations (0.016)
        var big = F.Dropout(Tensor.Ones(100, 200), p, new Rng(7)).ToArray();
        Assert.InRange(big.Count(v => v != 0f) / 20000.0, 0.7 - 0.016, 0.7 + 0.016);
        // identity when not training or p == 0; the generator does not move
        var z = Rand(3, -1f, 1f, 4, 5);
        var r = new Rng(1);
        Assert.Same(z, F.Dropout(z, 0.5f, r, training: false));
        Assert.Same(z, F.Dropout(z, 0f, r));
        Assert.Equal(0UL, r.Counter);
        // a view gives the same as its dense copy
        var v = Rand(4, -1f, 1f, 6, 5).Transpose(0, 1);
        TensorAssert.BitwiseEqual(F.Dropout(v.Contiguous(), 0.5f, new Rng(9)).ToArray(),
                                  F.Dropout(v, 0.5f, new Rng(9)).ToArray(), "dropout of a view");
    }

    [Fact]
    [OpCheck(OpKind.Dropout, Check.Backward)]
    public void Dropout_Backward_MatchesFiniteDifferences() =>
        // a fresh generator per call: the same mask for every finite-difference evaluation
        GradCheck.Check(t => F.Dropout(t[0].Transpose(0, 1), 0.4f, new Rng(3)), [Rand(1, -1f, 1f, 6, 7)],
                        what: "dropout");

    [Fact]
    [OpCheck(OpKind.Dropout, Check.Threads)]
    public void Dropout_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(t => F.Dropout(t[0], 0.25f, new Rng(11)), [Rand(1, -1f, 1f, 41, 53)], what: "dropout");

    [Fact]
    public void Dropout_BadP_Throws()
    {
        var x = Tensor.Zeros(3);
        foreach (float p in new[] { -0.1f, 1f, 1.5f, float.NaN })
            Assert.Contains("Dropout",
                            Assert.Throws<ArgumentOutOfRangeException>(() => F.Dropout(x, p, new Rng(1))).Message);
    }

    // ---- MSE and L1 ----------------------------------------------------------------------------------------------

    // the loss reference: sum w e / sum w in double, e = (p - t)^2 or |p - t|
    static double ErrorRef(double[] p, double[] t, double[]? w, bool squared)
    {
        double s = 0, ws = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double e = squared ? (p[i] - t[i]) * (p[i] - t[i]) : Math.Abs(p[i] - t[i]);
            s += (w?[i] ?? 1) * e;
            ws += w?[i] ?? 1;
        }
        return s / ws;
    }

    // Losses sum float32 terms (each with 2-3 roundings) in chunks, and chunks in double: 1e-6 relative is ~10 ulp.
    const double LossRtol = 1e-6;

    [Fact]
    [OpCheck(OpKind.MseLoss, Check.Forward), OpCheck(OpKind.L1Loss, Check.Forward)]
    public void MseAndL1_EveryLengthAndView_MatchFloat64()
    {
        for (int n = 1; n <= 49; n++)
        {
            var p = Rand((ulong)n, -2f, 2f, n);
            var t = Rand((ulong)n + 100, -2f, 2f, n);
            TensorAssert.Close([ErrorRef(D(p), D(t), null, true)], F.MseLoss(p, t), LossRtol, 0, $"mse n={n}");
            TensorAssert.Close([ErrorRef(D(p), D(t), null, false)], F.L1Loss(p, t), LossRtol, 0, $"l1 n={n}");
        }
        // 3 partial-sum chunks, a view and its dense copy
        var a = Rand(1, -2f, 2f, 157, 157);
        var b = Rand(2, -2f, 2f, 157, 157).Transpose(0, 1);
        var bc = b.Contiguous();
        TensorAssert.Close([ErrorRef(D(a), D(bc), null, true)], F.MseLoss(a, b), LossRtol, 0, "mse of a view");
        TensorAssert.Close([ErrorRef(D(a), D(bc), null, false)], F.L1Loss(a, b), LossRtol, 0, "l1 of a view");
        TensorAssert.ShapeIs(F.MseLoss(a, b));                                // a 0-d tensor
        Assert.True(float.IsNaN(F.MseLoss(Tensor.Zeros(0, 3), Tensor.Zeros(0, 3)).Item()));   // mean of nothing
    }

    [Fact]
    [OpCheck(OpKind.MseLoss, Check.Forward)]
    public void MseWeighted_BroadcastMask_MatchesFloat64()
    {
        var p = Rand(1, -2f, 2f, 2, 3, 4, 5);
        var t = Rand(2, -2f, 2f, 2, 3, 4, 5);
        var mask = Tensor.From([1f, 0f, 1f, 1f, 0f, 0f, 1f, 0.5f], 2, 1, 4, 1);       // e.g. per-frame
        var full = mask.Expand(2, 3, 4, 5).Contiguous();
        TensorAssert.Close([ErrorRef(D(p), D(t), D(full), true)], F.MseLoss(p, t, mask), LossRtol, 0, "masked mse");
        // an all-ones mask is the plain mean
        TensorAssert.Close([ErrorRef(D(p), D(t), null, true)], F.MseLoss(p, t, Tensor.Ones(1)), LossRtol, 0, "ones");
    }

    [Fact]
    [OpCheck(OpKind.MseLoss, Check.Backward), OpCheck(OpKind.L1Loss, Check.Backward)]
    public void MseAndL1_Backward_MatchFiniteDifferences()
    {
        // gradients reach both inputs; pred is a transposed view
        GradCheck.Check(t => F.MseLoss(t[0].Transpose(0, 1), t[1]), [Rand(1, -2f, 2f, 4, 3), Rand(2, -2f, 2f, 3, 4)],
                        what: "mse");
        GradCheck.Check(t => F.MseLoss(t[0], t[1], t[2]),
                        [Rand(3, -2f, 2f, 2, 3, 2), Rand(4, -2f, 2f, 2, 3, 2), Rand(5, 0.5f, 1.5f, 1, 3, 1)],
                        what: "weighted mse (pred, target and weight)");
        // L1 has a kink at pred == target: keep every |p - t| >= 0.1, far beyond the 1e-2 step
        var p = Rand(6, -2f, 2f, 3, 4);
        var gap = Rand(7, 0.1f, 1f, 3, 4).ToArray().Select((g, i) => i % 2 == 0 ? g : -g).ToArray();
        var target = Tensor.From(p.ToArray().Zip(gap, (a, g) => a + g).ToArray(), 3, 4);
        GradCheck.Check(t => F.L1Loss(t[0].Transpose(0, 1), t[1].Transpose(0, 1)), [p, target], what: "l1 of views");
    }

    [Fact]
    [OpCheck(OpKind.MseLoss, Check.Threads), OpCheck(OpKind.L1Loss, Check.Threads)]
    public void MseAndL1_OneAndTwoThreads_Identical()
    {
        // 157 x 157 = 24649 elements: 4 partial-sum chunks of 8192
        Tensor[] inputs = [Rand(1, -2f, 2f, 157, 157), Rand(2, -2f, 2f, 157, 157)];
        GradCheck.SameOnThreads(t => F.MseLoss(t[0], t[1]), inputs, what: "mse");
        GradCheck.SameOnThreads(t => F.L1Loss(t[0], t[1]), inputs, what: "l1");
        GradCheck.SameOnThreads(t => F.MseLoss(t[0], t[1], t[2]), [.. inputs, Rand(3, 0f, 1f, 157, 1)],
                                what: "weighted mse");
    }

    [Fact]
    public void Losses_MismatchedShapes_ThrowNamingOpAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => F.MseLoss(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)));
        Assert.Contains("MseLoss", e.Message);
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(3, 2)", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.L1Loss(Tensor.Zeros(2, 3), Tensor.Zeros(3)));
        Assert.Contains("L1Loss", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.MseLoss(Tensor.Zeros(2, 3), Tensor.Zeros(2, 3), Tensor.Zeros(2)));
        Assert.Contains("MseLoss", e.Message);
        e = Assert.Throws<ArgumentException>(() =>
            F.MseLoss(Tensor.Zeros(2, 3), Tensor.Zeros(2, 3), Tensor.Zeros(4, 2, 3)));
        Assert.Contains("does not broadcast to pred (2, 3)", e.Message);
    }

    // ---- cross-entropy -------------------------------------------------------------------------------------------

    static double CrossEntropyRef(double[] x, int N, int C, int[] targets, int ignore, double eps)
    {
        double s = 0;
        int count = 0;
        for (int r = 0; r < N; r++)
        {
            if (targets[r] == ignore) continue;
            var row = x.AsSpan(r * C, C).ToArray();
            double m = row.Max(), lse = m + Math.Log(row.Sum(v => Math.Exp(v - m)));
            s += (1 - eps) * (lse - row[targets[r]]) + eps * (lse - row.Average());
            count++;
        }
        return s / count;
    }

    static int[] Targets(int N, int C, int seed, bool withIgnored) =>
        Enumerable.Range(0, N).Select(i => withIgnored && i % 3 == 1 ? -100 : (i * 7 + seed) % C).ToArray();

    [Fact]
    [OpCheck(OpKind.CrossEntropy, Check.Forward)]
    public void CrossEntropy_MatchesFloat64()
    {
        // rtol: log sum exp in float is ~1e-7 relative; the mean of row losses of size ~log C keeps that
        foreach (int C in new[] { 1, 2, 7, 16, 49, 131 })
            foreach (var (ignore, eps) in new[] { (false, 0.0), (true, 0.0), (true, 0.1), (false, 1.0) })
            {
                var x = Rand((ulong)C, -4f, 4f, 5, C);
                var tg = Targets(5, C, C, ignore);
                TensorAssert.Close([CrossEntropyRef(D(x), 5, C, tg, -100, eps)],
                                   F.CrossEntropy(x, tg, labelSmoothing: (float)eps), 2e-6, 1e-6,
                                   $"cross-entropy C={C} ignore={ignore} eps={eps}");
            }
        var v = Rand(3, -4f, 4f, 9, 6).Transpose(0, 1);                       // (6, 9) view
        var t6 = new[] { 0, 8, 3, 5, 5, 1 };
        TensorAssert.Close([CrossEntropyRef(D(v), 6, 9, t6, 7, 0)], F.CrossEntropy(v, t6, ignoreIndex: 7), 2e-6, 1e-6,
                           "cross-entropy of a view, ignore index 7 unused");
        TensorAssert.Close([CrossEntropyRef(D(v), 6, 9, t6, 5, 0)], F.CrossEntropy(v, t6, ignoreIndex: 5), 2e-6, 1e-6,
                           "cross-entropy, ignore index 5");
        Assert.True(float.IsNaN(F.CrossEntropy(v, [-100, -100, -100, -100, -100, -100]).Item()));   // no rows left
        var huge = Tensor.From([1000f, -1000f, 0f, 500f], 2, 2);
        TensorAssert.Close([CrossEntropyRef(D(huge), 2, 2, [1, 0], -100, 0)], F.CrossEntropy(huge, [1, 0]), 1e-6, 0,
                           "huge logits");
    }

    [Fact]
    [OpCheck(OpKind.CrossEntropy, Check.Backward)]
    public void CrossEntropy_Backward_MatchesFiniteDifferences()
    {
        GradCheck.Check(t => F.CrossEntropy(t[0], [2, 0, 4]), [Rand(1, -2f, 2f, 3, 5)], what: "cross-entropy");
        GradCheck.Check(t => F.CrossEntropy(t[0].Transpose(0, 1), Targets(6, 4, 1, true), labelSmoothing: 0.2f),
                        [Rand(2, -2f, 2f, 4, 6)], what: "cross-entropy, view, ignored rows, smoothing");
    }

    [Fact]
    [OpCheck(OpKind.CrossEntropy, Check.Threads)]
    public void CrossEntropy_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(t => F.CrossEntropy(t[0], Targets(67, 131, 5, true), labelSmoothing: 0.1f),
                                [Rand(1, -3f, 3f, 67, 131)], what: "cross-entropy");

    [Fact]
    public void CrossEntropy_BadInput_ThrowsNamingIndexAndC()
    {
        var x = Tensor.Zeros(3, 4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => F.CrossEntropy(x, [0, 4, 1]));
        Assert.Contains("target 4 at index 1", e.Message);
        Assert.Contains("C = 4", e.Message);
        Assert.Contains("target -1",
                        Assert.Throws<ArgumentOutOfRangeException>(() => F.CrossEntropy(x, [0, 1, -1])).Message);
        var a = Assert.Throws<ArgumentException>(() => F.CrossEntropy(x, [0, 1]));
        Assert.Contains("2 targets for logits (3, 4)", a.Message);
        Assert.Contains("CrossEntropy",
                        Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Zeros(3), [0])).Message);
    }
}
