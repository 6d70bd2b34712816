// Paths: schedule endpoints and monotonicity, derivatives, x_t at t = 0, conversions between predictions,
// timestep grids, the shift and training-time sampling.
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Diffusion;

public class PathTests
{
    public static TheoryData<string> AllPresets => new(PathConfig.Presets.Keys);

    [Theory]
    [InlineData(Schedule.Linear)]
    [InlineData(Schedule.Cosine)]
    [InlineData(Schedule.ScaledLinear)]
    public void VpPath_Schedule_EndpointsMatchTheBetaTableAndAreMonotone(Schedule schedule)
    {
        var path = new VpPath(schedule);
        Assert.Equal(new PathPoint(1, 0, path.At(0).DAlpha, path.At(0).DSigma), path.At(0));   // exactly the data at t = 0
        // DDPM timestep k (0-based) is t = (k + 1) / N, and abar_k = prod_{j <= k} (1 - beta_j), computed here directly.
        var betas = VpPath.Betas(schedule, 1000);
        double abar = 1;
        for (int k = 0; k < 1000; k++)
        {
            abar *= 1 - betas[k];
            var p = path.At((k + 1) / 1000.0);
            Assert.True(Math.Abs(p.Alpha * p.Alpha - abar) <= 1e-12 + 1e-9 * abar, $"{schedule}: abar at k={k}");
            Assert.Equal(1.0, p.Alpha * p.Alpha + p.Sigma * p.Sigma, 12);                       // variance preserving
        }
        Assert.True(path.At(1).Alpha < 0.07, $"{schedule}: alpha(1) = {path.At(1).Alpha} should be near 0");
        Assert.True(betas.Zip(betas.Skip(1)).All(b => b.Second >= b.First) && betas.All(b => b > 0 && b <= 0.999));
        AssertMonotone(path);
    }

    [Fact]
    public void VpPath_LinearSchedule_HasDdpmsTerminalSignal()
    {
        // The DDPM/DiT table ends at abar = 4.04e-5 (sqrt: 0.0064); Stable Diffusion's at 4.68e-3 (Lin et al. 2024, Table 1:
        // "SD: sqrt(abar_T) = 0.0683"). These nonzero values are why pipelines starting from N(0, I) see a mismatch.
        Assert.Equal(0.0064, new VpPath(Schedule.Linear).At(1).Alpha, 4);
        Assert.Equal(0.0683, new VpPath(Schedule.ScaledLinear).At(1).Alpha, 4);
    }

    [Fact]
    public void FlowPath_EndpointsAreDataAndPureNoise()
    {
        var path = new FlowPath();
        Assert.Equal(new PathPoint(1, 0, -1, 1), path.At(0));
        Assert.Equal(new PathPoint(0, 1, -1, 1), path.At(1));
        AssertMonotone(path);
    }

    static void AssertMonotone(IPath path)
    {
        for (int i = 0; i < 4000; i++)
        {
            var (p, q) = (path.At(i / 4000.0), path.At((i + 1) / 4000.0));
            Assert.True(q.Alpha < p.Alpha && q.Sigma > p.Sigma && q.Lambda < p.Lambda, $"{path}: not monotone at t = {i / 4000.0}");
        }
    }

    [Theory]
    [MemberData(nameof(AllPresets))]
    public void Path_Derivatives_MatchFiniteDifferences(string preset)
    {
        var path = PathConfig.Presets[preset].Create();
        foreach (double t in new[] { 0.0213, 0.2504, 0.5004, 0.7771, 0.9517 })   // inside grid cells (VP is piecewise in t)
        {
            double h = 1e-7;
            var (lo, hi, p) = (path.At(t - h), path.At(t + h), path.At(t));
            Assert.Equal(p.DAlpha, (hi.Alpha - lo.Alpha) / (2 * h), 4);
            Assert.Equal(p.DSigma, (hi.Sigma - lo.Sigma) / (2 * h), 4);
        }
    }

    [Theory]
    [MemberData(nameof(AllPresets))]
    public void Interpolate_AtTimeZero_IsTheData(string preset)
    {
        var path = PathConfig.Presets[preset].Create();
        var rng = new Rng(1);
        var (x0, noise) = (rng.Normal(2, 3, 4, 5, 6), rng.Normal(2, 3, 4, 5, 6));
        TensorAssert.BitwiseEqual(x0.ToArray(), path.Interpolate(x0, noise, 0.0).ToArray(), "scalar t = 0");
        TensorAssert.BitwiseEqual(x0.ToArray(), path.Interpolate(x0, noise, Tensor.Zeros(2)).ToArray(), "per-sample t = 0");
    }

    public static TheoryData<string, Prediction> PathsAndPredictions()
    {
        var data = new TheoryData<string, Prediction>();
        foreach (var name in new[] { "RF", "DDPM-eps" })
            foreach (var p in Enum.GetValues<Prediction>()) data.Add(name, p);
        return data;
    }

    [Theory]
    [MemberData(nameof(PathsAndPredictions))]
    public void Convert_BetweenPredictions_RecoversEveryTarget(string preset, Prediction prediction)
    {
        // x_t and targets built from known (x0, eps) at per-sample times; each prediction must convert to every other.
        var path = (PathConfig.Presets[preset] with { Prediction = prediction }).Create();
        var rng = new Rng(2);
        var (x0, noise) = (rng.Normal(1, 2, 3, 4, 4), rng.Normal(1, 2, 3, 4, 4));
        // Times off the VP table's grid points, where the velocity (a derivative of the interpolated table) jumps.
        foreach (double t in new[] { 0.1234, 0.5678, 0.9012 })
        {
            var tt = Tensor.Full((float)t, 1);
            var xt = path.Interpolate(x0, noise, tt);
            var output = path.Target(x0, noise, tt);
            var (denoised, eps) = path.Decompose(xt, output, t);
            TensorAssert.Close(x0.ToArray().Select(v => (double)v).ToArray(), denoised, 1e-4, 1e-4, $"x0 at t={t}");
            TensorAssert.Close(noise.ToArray().Select(v => (double)v).ToArray(), eps, 1e-4, 1e-4, $"eps at t={t}");
            foreach (var to in Enum.GetValues<Prediction>())
            {
                var expected = (PathConfig.Presets[preset] with { Prediction = to }).Create().Target(x0, noise, tt);
                TensorAssert.Close(expected.ToArray().Select(v => (double)v).ToArray(), path.Convert(xt, output, t, to),
                                   1e-4, 1e-4, $"{prediction} -> {to} at t={t}");
            }
        }
    }

    [Fact]
    public void Timesteps_Grid_RunsFromOneToZeroAndDecreases()
    {
        foreach (int steps in new[] { 1, 2, 7, 50 })
            foreach (double shift in new[] { 1.0, 3.0, 0.5 })
            {
                var g = Timesteps.Grid(steps, shift);
                Assert.Equal(steps + 1, g.Length);
                Assert.Equal(1.0, g[0]);
                Assert.Equal(0.0, g[^1]);
                Assert.True(g.Zip(g.Skip(1)).All(p => p.Second < p.First), $"steps {steps}, shift {shift}");
            }
    }

    [Fact]
    public void Timesteps_Shift_KeepsEndpointsAndScalesNoiseToSignalBySqrtTokenRatio()
    {
        double s = Timesteps.ShiftForTokens(4 * 256, 256);
        Assert.Equal(2.0, s, 12);                                        // 4x the tokens -> shift 2
        Assert.Equal(0.0, Timesteps.Shift(0, s));
        Assert.Equal(1.0, Timesteps.Shift(1, s));
        foreach (double t in new[] { 0.1, 0.5, 0.9 })
        {
            double ts = Timesteps.Shift(t, s);
            Assert.True(ts > t);                                         // more time at high noise
            Assert.Equal(s * t / (1 - t), ts / (1 - ts), 9);             // sigma/alpha on the linear path times s
        }
        Assert.Equal(0.3, Timesteps.Shift(0.3, 1.0), 15);                // shift 1 is the identity
    }

    [Fact]
    public void TimestepSampler_DrawsInUnitIntervalWithTheRightMedian()
    {
        // 20000 draws: the median's standard error is about 1 / (2 f(median) sqrt(n)) = 0.0035 for uniform; 0.03 is wide.
        foreach (var sampler in new[] { new TimestepSampler(TimestepSampling.Uniform), new TimestepSampler() })
        {
            var t = sampler.Sample(20000, new Rng(3)).ToArray();
            Assert.All(t, v => Assert.InRange(v, 1e-6f, 1f));
            Array.Sort(t);
            Assert.InRange(t[10000], 0.47f, 0.53f);
        }
        // Logit-normal(0, 1) puts less mass at the ends than uniform: P(t < 0.1) = Phi(logit 0.1) = Phi(-2.197) = 0.014.
        var ln = new TimestepSampler().Sample(20000, new Rng(4)).ToArray();
        Assert.InRange(ln.Count(v => v < 0.1f) / 20000.0, 0.010, 0.018);
        var shifted = new TimestepSampler(Shift: 3).Sample(20000, new Rng(4)).ToArray();
        Assert.True(shifted.Average() > ln.Average() + 0.1);
    }
}
