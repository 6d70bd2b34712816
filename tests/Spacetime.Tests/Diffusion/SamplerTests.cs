// Samplers driven by the exact model of Gaussian / Gaussian-mixture data (ExactDenoiser): generated moments, order
// of convergence, one-step exactness, determinism across thread counts, and classifier-free guidance.
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Tests.TestKit;
using Xunit.Abstractions;

namespace Spacetime.Tests.Diffusion;

public class SamplerTests(ITestOutputHelper output)
{
    // The per-dimension Gaussian data: column 0 ~ N(1.5, 0.5^2), column 1 ~ N(-1, 1.5^2).
    static readonly Mixture[] Gaussians = [Mixture.Gaussian(1.5, 0.5), Mixture.Gaussian(-1, 1.5)];

    public static TheoryData<string, SamplerKind, double> Cases()
    {
        var data = new TheoryData<string, SamplerKind, double>();
        foreach (var path in new[] { "RF", "DDPM-eps", "DDPM-v", "SD-v" })
            foreach (var (kind, eta) in new[] { (SamplerKind.Ddim, 0.0), (SamplerKind.Ddim, 1.0), (SamplerKind.DpmSolverPlusPlus2M, 0.0),
                                                (SamplerKind.Euler, 0.0), (SamplerKind.Heun, 0.0), (SamplerKind.EulerMaruyama, 1.0) })
                data.Add(path, kind, eta);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Sampler_ExactModelOfGaussianData_ReproducesMeanAndVariance(string preset, SamplerKind kind, double eta)
    {
        var path = PathConfig.Presets[preset].Create();
        CheckMoments(path, kind, eta, Gaussians, rows: 4096);
    }

    [Theory]
    [InlineData("RF", SamplerKind.DpmSolverPlusPlus2M, 0.0)]
    [InlineData("RF", SamplerKind.Heun, 0.0)]
    [InlineData("RF", SamplerKind.EulerMaruyama, 1.0)]
    [InlineData("DDPM-eps", SamplerKind.Ddim, 0.0)]
    [InlineData("DDPM-eps", SamplerKind.Ddim, 1.0)]
    [InlineData("DDPM-v", SamplerKind.Euler, 0.0)]
    public void Sampler_ExactModelOfMixture_ReproducesMeanAndVariance(string preset, SamplerKind kind, double eta)
    {
        var path = PathConfig.Presets[preset].Create();
        CheckMoments(path, kind, eta, [Mixture.TwoBumps], rows: 4096);
    }

    // Runs the sampler at a few and at many steps from x1 drawn from the exact marginal at t = 1 (so VP paths'
    // nonzero terminal signal is not an error here) and checks every column's mean and variance.
    // Tolerance = Monte-Carlo part + discretisation part:
    //   - the sample mean of n draws has standard error sd / sqrt(n); the biased sample variance has standard error
    //     sqrt((mu4 - var^2) / n) (mu4 the fourth central moment). We allow 4.5 standard errors: with ~100 checks
    //     the chance of a false failure is below 1e-3 should the seeds ever change. (Stochastic samplers add their own
    //     noise, but the output's MC error is the same formula for the distribution they produce.)
    //   - the discretisation error of these first-order-or-better samplers is at most c / steps. c = 2 sd for the mean
    //     is 2.7x the worst error measured over all cases; c for the variance is per sampler, 1.5-2x the worst
    //     measured (steps x |var error| / var): DDIM/Euler 5.0, DPM++ 3.6, Heun 1.9, ancestral DDIM 8.3, EM 2.8. The
    //     small-variance column (sd 0.5 against unit noise) is the hard one for the first-order samplers.
    void CheckMoments(IPath path, SamplerKind kind, double eta, Mixture[] columns, int rows)
    {
        var oracle = new ExactDenoiser(path, columns);
        bool stochastic = eta > 0;
        double cVar = kind switch
        {
            SamplerKind.Ddim when stochastic => 14,
            SamplerKind.Ddim or SamplerKind.Euler => 8,
            _ => 6,                                      // DPM-Solver++(2M), Heun, Euler-Maruyama
        };
        foreach (int steps in stochastic ? new[] { 16, 64 } : [8, 32])
        {
            var sampler = new SamplerConfig(kind, steps, Eta: eta).Create(path);
            var x = ExactDenoiser.Sample(sampler, oracle.Model, oracle.Start(rows, new Rng(10)), new Rng(11));
            var moments = ExactDenoiser.Moments(x);
            for (int j = 0; j < columns.Length; j++)
            {
                var c = columns[j];
                double sd = Math.Sqrt(c.Variance);
                double meanTol = 4.5 * sd / Math.Sqrt(rows) + 2 * sd / steps;
                double varTol = 4.5 * Math.Sqrt((c.FourthCentralMoment - c.Variance * c.Variance) / rows) + cVar * c.Variance / steps;
                double meanErr = Math.Abs(moments[j].Mean - c.Mean), varErr = Math.Abs(moments[j].Variance - c.Variance);
                output.WriteLine($"{path} {kind} eta={eta} steps={steps} col={j}: mean err {meanErr:E2} (tol {meanTol:E2}), var err {varErr:E2} (tol {varTol:E2})");
                Assert.True(meanErr <= meanTol, $"{path} {kind} steps {steps} column {j}: mean {moments[j].Mean:F4}, expected {c.Mean} ± {meanTol:F4}");
                Assert.True(varErr <= varTol, $"{path} {kind} steps {steps} column {j}: variance {moments[j].Variance:F4}, expected {c.Variance:F4} ± {varTol:F4}");
            }
        }
    }

    public static TheoryData<string, SamplerKind, int, double, double> Orders => new()
    {
        // path, sampler, coarsest steps, ratio bounds when the steps double (2 for first order, 4 for second)
        { "RF", SamplerKind.Euler, 8, 1.7, 2.4 },
        { "RF", SamplerKind.Ddim, 8, 1.7, 2.4 },
        { "RF", SamplerKind.Heun, 8, 3.2, 4.8 },
        { "RF", SamplerKind.DpmSolverPlusPlus2M, 8, 1.5, 4.5 },        // see DpmSolver_RectifiedFlow_BeatsDdim
        { "DDPM-eps", SamplerKind.Euler, 8, 1.7, 2.4 },
        { "DDPM-eps", SamplerKind.Ddim, 8, 1.7, 2.4 },
        { "DDPM-eps", SamplerKind.Heun, 16, 3.0, 4.8 },
    };

    [Theory]
    [MemberData(nameof(Orders))]
    public void OdeSampler_FixedNoise_ErrorFallsAtItsOrder(string preset, SamplerKind kind, int steps, double low, double high)
    {
        // Exact solution: for Gaussian data the probability-flow ODE maps x1 to mu + sd (x1 - a1 mu) / sqrt(a1^2 sd^2 + s1^2).
        // Error = mean |x - x_exact| over 4096 fixed starts; it must fall by ~2^order each time the steps double.
        var path = PathConfig.Presets[preset].Create();
        var oracle = new ExactDenoiser(path, Mixture.Gaussian(1.5, 0.5));
        var x1 = oracle.Start(2048, new Rng(20));
        var exact = oracle.ExactFlow(x1);
        var errors = new[] { steps, 2 * steps, 4 * steps }.Select(n =>
        {
            var x = ExactDenoiser.Sample(new SamplerConfig(kind, n).Create(path), oracle.Model, x1).ToArray();
            return x.Select((v, i) => Math.Abs(v - exact[i])).Average();
        }).ToArray();
        output.WriteLine($"{preset} {kind}: errors {string.Join(", ", errors.Select(e => e.ToString("E2")))}");
        for (int i = 0; i + 1 < errors.Length; i++)
            Assert.InRange(errors[i] / errors[i + 1], low, high);
    }

    [Fact]
    public void DpmSolver_RectifiedFlow_BeatsDdimFourfold()
    {
        // On the linear path with a grid uniform in t, DPM-Solver++(2M)'s first two steps span O(1) in lambda whatever the
        // step count (lambda = log((1 - t) / t) -> -inf at t = 1), so its error ratio per doubling drifts from ~4 toward
        // 2 (errors 1.3e-2, 4.5e-3, 2.7e-3 at 8, 16, 32 steps). It must still be far below first-order DDIM's at 16.
        var path = new FlowPath();
        var oracle = new ExactDenoiser(path, Mixture.Gaussian(1.5, 0.5));
        var x1 = oracle.Start(2048, new Rng(20));
        var exact = oracle.ExactFlow(x1);
        double Error(SamplerKind kind) => ExactDenoiser.Sample(new SamplerConfig(kind, 16).Create(path), oracle.Model, x1)
            .ToArray().Select((v, i) => Math.Abs(v - exact[i])).Average();
        Assert.True(4 * Error(SamplerKind.DpmSolverPlusPlus2M) < Error(SamplerKind.Ddim));
    }

    [Fact]
    public void Euler_ExactVelocityOfLinearPath_IsExactInOneStep()
    {
        // The data is one point x0 per element, so the exact velocity is eps - x0 = (x - x0) / t: a straight line.
        var x0 = new Rng(30).Normal(4, 3, 2, 5, 5);
        var sampler = new SamplerConfig(SamplerKind.Euler, 1).Create(new FlowPath());
        var step = sampler.Step(0, new Rng(31).Normal(4, 3, 2, 5, 5), (x, t) => (x - x0) / t[0], null);
        TensorAssert.Close(x0.ToArray().Select(v => (double)v).ToArray(), step.Sample, 0, 1e-6, "one Euler step");
    }

    [Theory]
    [InlineData(SamplerKind.Ddim, 1.0)]
    [InlineData(SamplerKind.EulerMaruyama, 1.0)]
    [InlineData(SamplerKind.DpmSolverPlusPlus2M, 0.0)]
    public void Sampler_SameSeed_SameSamplesWithOneAndTwoThreads(SamplerKind kind, double eta)
    {
        var path = new FlowPath();
        var oracle = new ExactDenoiser(path, Gaussians);
        float[] Run(int threads, ulong seed)
        {
            using var _ = Par.UseThreads(threads, splitSmallLoops: true);
            var rng = new Rng(seed);
            var sampler = new SamplerConfig(kind, 10, Eta: eta).Create(path);
            return ExactDenoiser.Sample(sampler, oracle.Model, rng.Normal(512, 2), rng).ToArray();
        }
        TensorAssert.BitwiseEqual(Run(1, 5), Run(2, 5), $"{kind}: 1 vs 2 threads");
        if (eta > 0) Assert.NotEqual(Run(1, 5), Run(1, 6));
    }

    [Fact]
    public void Sampler_Step_DependsOnlyOnItsArguments()
    {
        // No hidden state: the same step with the same inputs gives the same output, in any order.
        var path = new FlowPath();
        var oracle = new ExactDenoiser(path, Gaussians);
        var sampler = new SamplerConfig(SamplerKind.DpmSolverPlusPlus2M, 6).Create(path);
        var x = new Rng(40).Normal(64, 2);
        var first = sampler.Step(0, x, oracle.Model);
        var third = sampler.Step(2, first.Sample, oracle.Model, first.Denoised);
        var firstAgain = sampler.Step(0, x, oracle.Model);
        TensorAssert.BitwiseEqual(first.Sample.ToArray(), firstAgain.Sample.ToArray());
        TensorAssert.BitwiseEqual(third.Sample.ToArray(), sampler.Step(2, first.Sample, oracle.Model, first.Denoised).Sample.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => sampler.Step(6, x, oracle.Model));
        Assert.Throws<ArgumentNullException>(() => new SamplerConfig(SamplerKind.EulerMaruyama, 4, Eta: 1).Create(path).Step(0, x, oracle.Model));
    }

    [Fact]
    public void Guidance_ScaleOne_EqualsTheConditionalModelExactly()
    {
        // Paired model: conditional rows get f(x) + 1, unconditional rows f(x) - 1 (an arbitrary nonlinearity of x and t).
        int calls = 0;
        Tensor Paired(Tensor x, Tensor t)
        {
            calls++;
            Assert.Equal(8, x.Size(0));                                  // both halves in one call
            var rows = x.ToArray();
            int per = x.Count / x.Size(0);
            var o = rows.Select((v, i) => MathF.Sin(3 * v) * t[i / per] + (i / per < 4 ? 1f : -1f)).ToArray();
            return Tensor.From(o, x.Shape.ToArray());
        }
        var x = new Rng(50).Normal(4, 3, 2, 2, 2);
        var t = Tensor.Full(0.7f, 4);
        var conditional = Paired(Guidance.ConcatBatch(x, x), Guidance.ConcatBatch(t, t)).Slice(0, 0, 4).ToArray();
        calls = 0;
        TensorAssert.BitwiseEqual(conditional, Guidance.ClassifierFree(Paired, 1.0)(x, t).ToArray(), "scale 1");
        Assert.Equal(1, calls);
        // scale w: uncond + w (cond - uncond) = cond + 2 (w - 1) here, since cond - uncond = 2
        var guided = Guidance.ClassifierFree(Paired, 4.5)(x, t).ToArray();
        TensorAssert.Close(conditional.Select(v => v + 7.0).ToArray(), guided.Select(v => (double)v).ToArray(), 1e-6, 1e-5, "scale 4.5");
    }

    [Fact]
    public void GuidanceInterval_GuidesInside_RunsTheConditionalModelAloneOutside()
    {
        int paired = 0, alone = 0;
        Tensor Paired(Tensor x, Tensor t)                                  // (2B, ...): cond - uncond = 2
        {
            paired++;
            var (cond, uncond) = x.Chunk(2, dim: 0);
            return F.Concat([cond + 1f, uncond - 1f], 0);
        }
        Tensor Conditional(Tensor x, Tensor t) { alone++; Assert.Equal(2, x.Size(0)); return x + 1f; }
        var x = new Rng(3).Normal(2, 3, 2);
        var model = Guidance.ClassifierFree(Paired, 3.0, new GuidanceInterval(0.2, 0.8), Conditional);
        TensorAssert.Close((x + 5f).ToArray().Select(v => (double)v).ToArray(),
                           model(x, Tensor.Full(0.5f, 2)).ToArray().Select(v => (double)v).ToArray(), 1e-6, 1e-6, "inside");
        Assert.Equal((1, 0), (paired, alone));
        foreach (float t in new[] { 0.1f, 0.9f, 1f, 0f })
            TensorAssert.BitwiseEqual((x + 1f).ToArray(), model(x, Tensor.Full(t, 2)).ToArray(), $"outside, t {t}");
        Assert.Equal((1, 4), (paired, alone));
        model(x, Tensor.Full(0.8f, 2));                                    // the ends belong to the interval
        model(x, Tensor.Full(0.2f, 2));
        Assert.Equal(3, paired);
        Assert.Throws<ArgumentException>(() => model(x, Tensor.From([0.1f, 0.5f], 2)));   // one time per batch
        // everywhere is the classic guidance itself; a reversed or out-of-range interval is refused
        TensorAssert.BitwiseEqual(Guidance.ClassifierFree(Paired, 3.0)(x, Tensor.Full(0.9f, 2)).ToArray(),
            Guidance.ClassifierFree(Paired, 3.0, GuidanceInterval.Everywhere, Conditional)(x, Tensor.Full(0.9f, 2)).ToArray(),
            "everywhere");
        Assert.Throws<ArgumentException>(() => Guidance.ClassifierFree(Paired, 3.0, new GuidanceInterval(0.8, 0.2), Conditional));
        Assert.Throws<ArgumentException>(() => new GuidanceInterval(0, 1.5).Validate());
    }
}
