// The metrics measure what they claim: the simulator's own videos (the ceiling) score near-perfectly, noise, blank
// and untrained-model videos score near zero, and videos spoiled in one known way fail the metric that checks it.
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Tests.Eval;

/// <summary>One evaluation shared by the tests below: the simulator and seven spoiled or empty systems.</summary>
public sealed class SpoiledRunFixture
{
    public static readonly EvalSettings Settings = new(Prompts: 16, Width: 48, Height: 48, Seconds: 1.5, Fps: 8);

    public EvalReport Report { get; } = Evaluator.Run(Settings,
    [
        new("noise", (_, c) => EvalKit.Noise(c)),
        new("blank", (_, c) => EvalKit.Blank(c)),
        new("blocks", (_, c) => new Spacetime.Pipelines.PixelLatents(4).Decode(        // an untrained model's output
            new Spacetime.Engine.Rng((ulong)c.Seed).Normal(3, c.FrameCount, c.Height / 4, c.Width / 4), c.Fps)),
        new("mirror", (_, c) => EvalKit.Mirror(WorldClip.Render(c).Frames)),
        new("upside down", (_, c) => EvalKit.UpsideDown(WorldClip.Render(c).Frames)),
        new("other scene", (_, c) => WorldClip.Render(c with { Seed = c.Seed + 1 }).Frames),
    ], roundTrip: f => EvalKit.Blur(f, sigma: 0.75, noise: 16));                  // a decoder's blur and noise

    public MetricSummary this[string system, Metric m] => Report[system][m];
}

public sealed class MetricsTests(SpoiledRunFixture run) : IClassFixture<SpoiledRunFixture>
{
    static readonly Metric[] Adherence =
        [Metric.Colour, Metric.Shape, Metric.Count, Metric.Constancy, Metric.Direction, Metric.Permanence, Metric.Gravity];

    [Fact]
    public void Simulator_IsTheCeiling()
    {
        foreach (var m in Adherence)
        {
            var s = run[Evaluator.Simulator, m];
            Assert.True(s.Videos > 0, $"{m} applied to no video");
            Assert.True(s.Value >= (m == Metric.Direction ? 0.9 : 0.95), $"{m}: {s.Value} on {s.Videos}");
        }
        Assert.Equal(0, run[Evaluator.Simulator, Metric.Flicker].Value);
        Assert.Equal(Metrics.PsnrCap, run[Evaluator.Simulator, Metric.Psnr].Value);
        Assert.Equal(1.0, run[Evaluator.Simulator, Metric.Ssim].Value!.Value, 12);
    }

    [Theory]
    [InlineData("noise")]
    [InlineData("blank")]
    [InlineData("blocks")]
    public void EmptyVideos_AdhereToNothing(string system)
    {
        foreach (var m in Adherence)
        {
            var s = run[system, m];
            Assert.Equal(run[Evaluator.Simulator, m].Videos, s.Videos);            // the same videos are counted
            Assert.True(s.Value <= 0.05, $"{system} {m}: {s.Value}");
        }
    }

    [Fact]
    public void Flicker_NoiseHigh_BlankZero()
    {
        Assert.True(run["noise", Metric.Flicker].Value > 50);
        Assert.True(run["blocks", Metric.Flicker].Value > 50);
        Assert.Equal(0, run["blank", Metric.Flicker].Value);
    }

    [Fact]
    public void Mirror_KeepsColourAndShape_FailsHorizontalDirections()
    {
        Assert.True(run["mirror", Metric.Colour].Value >= 0.95);
        Assert.True(run["mirror", Metric.Shape].Value >= 0.9);
        Assert.True(run["mirror", Metric.Direction].Value <= 0.6, $"{run["mirror", Metric.Direction]}");
    }

    [Fact]
    public void UpsideDown_FailsGravityAndShape()
    {
        Assert.True(run["upside down", Metric.Colour].Value >= 0.95);
        Assert.True(run["upside down", Metric.Gravity].Value <= 0.05);
        Assert.True(run["upside down", Metric.Shape].Value <= 0.8);               // triangles point down
    }

    [Fact]
    public void OtherScene_FailsColour()
    {
        Assert.True(run["other scene", Metric.Colour].Value <= 0.4, $"{run["other scene", Metric.Colour]}");
        Assert.True(run["other scene", Metric.Psnr].Value < 30);
    }

    [Fact]
    public void BlurredRoundTrip_KeepsAdherence_LosesFidelity()
    {
        foreach (var m in new[] { Metric.Colour, Metric.Count, Metric.Direction })
            Assert.True(run[Evaluator.RoundTrip, m].Value >= 0.9, $"{m}: {run[Evaluator.RoundTrip, m]}");
        Assert.InRange(run[Evaluator.RoundTrip, Metric.Psnr].Value!.Value, 20, 40);
        Assert.InRange(run[Evaluator.RoundTrip, Metric.Ssim].Value!.Value, 0.5, 0.99);
    }
}

public sealed class ParabolaTests
{
    [Fact]
    public void Fit_ExactParabola_RecoversCoefficients()
    {
        double[] t = [0.5, 0.625, 0.75, 0.875, 1.0];
        var fit = Parabola.Fit(t, t.Select(x => 9 * x * x - 4 * x + 2).ToArray());
        Assert.Equal(9, fit.A, 9);
        Assert.Equal(-4, fit.B, 9);
        Assert.Equal(2, fit.C, 9);
        Assert.Equal(0, fit.Rms, 9);
    }

    [Fact]
    public void Fit_TwoPoints_IsFlatWithMeanResidual()
    {
        var fit = Parabola.Fit([0, 1], [1, 3]);
        Assert.Equal((0.0, 0.0, 2.0, 1.0), (fit.A, fit.B, fit.C, fit.Rms));
    }
}
