// Optimizers against hand-written float64 versions of PyTorch's update rules (torch.optim.AdamW / SGD docs), over
// several steps with changing gradients; state save/load resumes bit for bit; clipping, EMA and the LR schedule.
// Tolerance 1e-5 relative: float32 updates of O(1) numbers over a few steps drift by a few ulps.
using Spacetime.Engine;
using Spacetime.Nn;
using Spacetime.Nn.Optim;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Nn;

public class OptimTests
{
    sealed class Two : Module
    {
        public readonly Tensor W, B;
        public Two()
        {
            W = Param("w", Tensor.From([0.5f, -1.0f, 2.0f, 0.1f], 2, 2));
            B = Param("b", Tensor.From([0.3f, -0.2f]));
        }
    }

    // The gradient fed at step s, different each step and per element.
    static float[] GradAt(int step, int n, float phase) =>
        Enumerable.Range(0, n).Select(i => MathF.Sin(1.3f * step + 0.7f * i + phase)).ToArray();

    static void SetGrads(Two m, int step)
    {
        m.W.Grad = Tensor.From(GradAt(step, 4, 0f), 2, 2);
        m.B.Grad = Tensor.From(GradAt(step, 2, 1f));
    }

    // torch.optim.AdamW, for one tensor, in float64.
    static double[] AdamWReference(double[] p, int steps, float phase, double lr, double wd)
    {
        double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        p = (double[])p.Clone();
        var m = new double[p.Length];
        var v = new double[p.Length];
        for (int t = 1; t <= steps; t++)
        {
            var g = GradAt(t - 1, p.Length, phase);
            for (int i = 0; i < p.Length; i++)
            {
                p[i] *= 1 - lr * wd;
                m[i] = b1 * m[i] + (1 - b1) * g[i];
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
                double mHat = m[i] / (1 - Math.Pow(b1, t)), vHat = v[i] / (1 - Math.Pow(b2, t));
                p[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
        return p;
    }

    [Fact]
    public void AdamW_FiveSteps_MatchesFloat64Reference_WithNoDecayForBiases()
    {
        var m = new Two();
        var w0 = Reference.D(m.W);
        var b0 = Reference.D(m.B);
        var opt = new AdamW(m.NamedParameters(), lr: 0.05f, weightDecay: 0.1f, noDecay: AdamW.BiasesAndNorms);
        for (int s = 0; s < 5; s++)
        {
            SetGrads(m, s);
            opt.Step();
            opt.ZeroGrad();
            Assert.Null(m.W.Grad);
        }
        TensorAssert.Close(AdamWReference(w0, 5, 0f, 0.05, 0.1), m.W, rtol: 1e-5, atol: 1e-6, what: "AdamW weight");
        TensorAssert.Close(AdamWReference(b0, 5, 1f, 0.05, 0.0), m.B, rtol: 1e-5, atol: 1e-6, what: "AdamW bias");
        Assert.Equal(5f, opt.StateDict()["w.step"].Item());
        Assert.Equal(["w.exp_avg", "w.exp_avg_sq", "w.step", "b.exp_avg", "b.exp_avg_sq", "b.step"],
                     opt.StateDict().Keys);
    }

    [Fact]
    public void AdamW_LrScale_GivesEachParameterItsOwnRate_DecayIncluded()
    {
        var m = new Two();
        var (w0, b0) = (Reference.D(m.W), Reference.D(m.B));
        // w at a tenth of the rate (its decay too), b not at all
        var opt = new AdamW(m.NamedParameters(), lr: 0.05f, weightDecay: 0.1f, lrScale: name => name == "w" ? 0.1f : 0f);
        for (int s = 0; s < 5; s++)
        {
            SetGrads(m, s);
            opt.Step();
        }
        TensorAssert.Close(AdamWReference(w0, 5, 0f, 0.005, 0.1), m.W, rtol: 1e-5, atol: 1e-6, what: "w at 0.1x");
        Assert.Equal(b0.Select(v => (float)v), m.B.ToArray());
    }

    sealed class Long : Module
    {
        public readonly Tensor W;
        public Long() => W = Param("w", Tensor.From(Enumerable.Range(0, 37).Select(i => MathF.Cos(i * 0.3f)).ToArray()));
    }

    // 37 elements: the SIMD body (8 or 16 lanes) and the scalar tail both run, and both must follow the reference.
    [Fact]
    public void AdamW_LongParameter_VectorAndTailMatchFloat64Reference()
    {
        var m = new Long();
        var w0 = Reference.D(m.W);
        var opt = new AdamW(m.NamedParameters(), lr: 0.05f, weightDecay: 0.1f);
        for (int s = 0; s < 4; s++)
        {
            m.W.Grad = Tensor.From(GradAt(s, 37, 0f));
            opt.Step();
        }
        TensorAssert.Close(AdamWReference(w0, 4, 0f, 0.05, 0.1), m.W, rtol: 1e-5, atol: 1e-6, what: "AdamW, 37 elements");
    }

    [Fact]
    public void AdamW_SavedState_ResumesBitForBit()
    {
        var straight = new Two();
        var optA = new AdamW(straight.NamedParameters(), lr: 0.01f);
        for (int s = 0; s < 6; s++) { SetGrads(straight, s); optA.Step(); }

        var first = new Two();
        var optB = new AdamW(first.NamedParameters(), lr: 0.01f);
        for (int s = 0; s < 3; s++) { SetGrads(first, s); optB.Step(); }
        var resumed = new Two();
        resumed.LoadStateDict(first.StateDict());
        var optC = new AdamW(resumed.NamedParameters(), lr: 0.01f);
        optC.LoadStateDict(optB.StateDict());
        for (int s = 3; s < 6; s++) { SetGrads(resumed, s); optC.Step(); }

        TensorAssert.BitwiseEqual(straight.W.ToArray(), resumed.W.ToArray(), "resumed AdamW");
        var bad = optB.StateDict();
        bad.Add("nope.exp_avg", Tensor.Zeros(1));
        var ex = Assert.Throws<ArgumentException>(() => optC.LoadStateDict(bad));
        Assert.Contains("unexpected key nope.exp_avg", ex.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Sgd_Momentum_MatchesFloat64Reference(bool nesterov)
    {
        var m = new Two();
        var p = Reference.D(m.W);
        double lr = 0.1, mu = 0.9, wd = 0.01;
        var opt = new Sgd(m.NamedParameters(), (float)lr, (float)mu, nesterov, (float)wd);
        var buf = new double[4];
        for (int s = 0; s < 4; s++)
        {
            SetGrads(m, s);
            opt.Step();
            var g = GradAt(s, 4, 0f);
            for (int i = 0; i < 4; i++)
            {
                double d = g[i] + wd * p[i];
                buf[i] = s == 0 ? d : mu * buf[i] + d;
                d = nesterov ? d + mu * buf[i] : buf[i];
                p[i] -= lr * d;
            }
        }
        TensorAssert.Close(p, m.W, rtol: 1e-5, atol: 1e-6, what: $"SGD nesterov={nesterov}");
    }

    [Fact]
    public void ClipGradNorm_ScalesToMaxNorm_AndReturnsTheTotalBefore()
    {
        var m = new Two();
        m.W.Grad = Tensor.From([3f, 0f, 0f, 0f], 2, 2);
        m.B.Grad = Tensor.From([0f, 4f]);
        float total = Gradients.ClipGradNorm(m.Parameters(), maxNorm: 1f);
        Assert.Equal(5f, total, 1e-6f);
        Assert.Equal(0.6f, m.W.Grad.ToArray()[0], 1e-5f);
        Assert.Equal(0.8f, m.B.Grad.ToArray()[1], 1e-5f);
        Assert.Equal(1f, Gradients.ClipGradNorm(m.Parameters(), maxNorm: 10f), 1e-5f);   // below max: unchanged
        Assert.Equal(0.6f, m.W.Grad.ToArray()[0], 1e-5f);
    }

    // the vector paths (longer tensors than a vector, with a tail): the norm against a float64 sum, the EMA bit for bit
    // against its scalar formula
    [Fact]
    public void ClipGradNorm_AndEma_OnTensorsLongerThanAVector_MatchTheElementwiseFormulas()
    {
        var rng = new Rng(7);
        var layer = new Spacetime.Nn.Linear(40, 25, rng);                   // 1,000 + 25 parameters
        foreach (var p in layer.Parameters()) p.Grad = rng.Normal(p.Shape.ToArray());
        double sumSq = layer.Parameters().Sum(p => p.Grad!.ToArray().Sum(g => (double)g * g));
        Assert.Equal(Math.Sqrt(sumSq), Gradients.ClipGradNorm(layer.Parameters(), maxNorm: 1e9f), 1e-4);
        Assert.Equal(sumSq, Gradients.SumOfSquares(layer.Parameters().First().Grad!.ToArray().Concat(
            layer.Parameters().Last().Grad!.ToArray()).ToArray()), sumSq * 1e-12);

        var ema = new Ema(layer, decay: 0.99f);
        var before = ema.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        foreach (var p in layer.Parameters()) p.AsSpan().Fill(0.25f);
        ema.Update(layer);
        foreach (var (k, t) in ema.StateDict())
        {
            var expected = before[k].Select(e => 0.99f * e + (1f - 0.99f) * 0.25f).ToArray();
            Assert.Equal(expected, t.ToArray());                               // the same bits as the scalar loop
        }
    }

    [Fact]
    public void Ema_Update_SwapAndCopy()
    {
        var model = new Two();
        var ema = new Ema(model, decay: 0.9f);
        var w0 = model.W.ToArray();
        model.W.Fill(1f);
        ema.Update(model);                                               // 0.9 w0 + 0.1 * 1
        var expected = w0.Select(w => 0.9 * w + 0.1).ToArray();
        TensorAssert.Close(expected, ema.StateDict()["w"], rtol: 1e-6, what: "EMA after one update");
        using (ema.SwapInto(model))
            TensorAssert.Close(expected, model.W, rtol: 1e-6, what: "EMA weights swapped in");
        Assert.All(model.W.ToArray(), v => Assert.Equal(1f, v));            // trained weights back
        var target = new Two();
        ema.CopyTo(target);
        TensorAssert.Close(expected, target.W, rtol: 1e-6, what: "EMA copied to a fresh model");
    }

    [Fact]
    public void WarmupCosine_Endpoints_AndMonotoneSegments()
    {
        const float baseLr = 1e-3f, minLr = 1e-4f;
        const int warmup = 10, total = 100;
        float Lr(int s) => LrSchedule.WarmupCosine(s, baseLr, warmup, total, minLr);
        Assert.Equal(baseLr / (warmup + 1), Lr(0), 1e-9f);                 // warmup starts above zero
        Assert.Equal(baseLr, Lr(warmup), 1e-9f);                           // peak at the end of warmup
        Assert.Equal(minLr, Lr(total), 1e-9f);
        Assert.Equal(minLr, Lr(total + 50));
        Assert.Equal((baseLr + minLr) / 2, Lr((warmup + total) / 2), 1e-8f); // half way down the cosine
        for (int s = 1; s <= warmup; s++) Assert.True(Lr(s) > Lr(s - 1), $"warmup not increasing at {s}");
        for (int s = warmup + 1; s <= total; s++) Assert.True(Lr(s) < Lr(s - 1), $"decay not decreasing at {s}");
        Assert.Throws<ArgumentOutOfRangeException>(() => LrSchedule.WarmupCosine(-1, baseLr, warmup, total, minLr));
    }
}
