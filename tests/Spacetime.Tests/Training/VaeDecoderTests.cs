// Training a trained VAE's decoder on (recipe DecoderOnly, `train vae --recipe world-decoder --init DIR`): the encoder
// and LatentScale stay bit for bit, so the latent fingerprint (what captioners check) is unchanged while the decoder
// moves; the refusals (no --init, another config) are one line each, exit code 2 on the command line.
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.Tests.Cli;
using Spacetime.Training;

namespace Spacetime.Tests.Training;

public sealed class VaeDecoderTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-vaedec-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static readonly VaeRecipe Tiny = VaeRecipe.Preset("tiny");
    static readonly TrainConfig Steps = new() { Steps = 3, Batch = 1, WarmupSteps = 1, EmaDecay = 0, Seed = 4, Lr = 3e-3f };

    // a trained tiny VAE (2 steps) with a measured LatentScale, as `train vae` exports it
    string Start()
    {
        string dir = Path.Combine(root, "start");
        VaeTrainer.Train(Tiny, Steps with { Steps = 2 }, dir);
        return dir;
    }

    [Fact]
    public void DecoderOnly_MovesTheDecoder_KeepsEncoderScaleAndFingerprint()
    {
        var start = VaeCheckpoint.Load(Start());
        string dir = Path.Combine(root, "dec");
        VaeTrainer.Train(Tiny with { DecoderOnly = true }, Steps, dir, init: start);
        var tuned = VaeCheckpoint.Load(dir);

        var before = start.StateDict();
        int encoder = 0, decoderMoved = 0;
        foreach (var (name, t) in tuned.StateDict())
        {
            bool same = t.ToArray().AsSpan().SequenceEqual(before[name].ToArray());
            if (name.StartsWith(VideoVae.EncoderPrefix, StringComparison.Ordinal))
            {
                Assert.True(same, $"{name} moved");
                encoder++;
            }
            else if (!same) decoderMoved++;
        }
        Assert.True(encoder > 0);
        Assert.True(decoderMoved > 0, "no decoder weight moved");
        Assert.Equal(start.Config.LatentScale, tuned.Config.LatentScale);
        Assert.Equal(LatentFingerprint.Of(new VaeLatents(start)), LatentFingerprint.Of(new VaeLatents(tuned)));
    }

    [Fact]
    public void DecoderOnly_StoppedAndResumed_EqualsUninterrupted_KeepingTheChannelNormalisation()
    {
        // a start with a channel normalisation: the resumed run must take it from its own export, not lose it
        var trained = VaeCheckpoint.Load(Start());
        var (mean, std) = (Enumerable.Range(0, trained.Config.LatentChannels).Select(c => 0.1f * c).ToArray(),
                           Enumerable.Range(0, trained.Config.LatentChannels).Select(c => 1 + 0.2f * c).ToArray());
        var start = new VideoVae(trained.Config with { ChannelMean = mean, ChannelStd = std }, new Rng(0));
        start.LoadStateDict(trained.StateDict());
        var recipe = Tiny with { DecoderOnly = true };
        var cfg = Steps with { Steps = 4, CheckpointEvery = 2 };
        string straight = Path.Combine(root, "straight"), stopped = Path.Combine(root, "stopped");
        VaeTrainer.Train(recipe, cfg, straight, init: start);
        VaeTrainer.Train(recipe, cfg, stopped, init: start, stopAt: 2);
        VaeTrainer.Train(recipe, cfg, stopped);                                 // resumes without --init
        var (a, b) = (VaeCheckpoint.Load(straight), VaeCheckpoint.Load(stopped));
        foreach (var (name, t) in a.StateDict()) Assert.Equal(t.ToArray(), b.StateDict()[name].ToArray());
        Assert.Equal(mean, b.Config.ChannelMean);
        Assert.Equal(std, b.Config.ChannelStd);
    }

    [Fact]
    public void Fingerprint_FollowsEncoderAndScale()
    {
        var a = new VideoVae(Tiny.Vae, new Rng(1));
        var b = new VideoVae(Tiny.Vae, new Rng(2));
        string Of(VideoVae v) => LatentFingerprint.Of(new VaeLatents(v));
        Assert.NotEqual(Of(a), Of(b));                                           // other encoder
        var scaled = new VideoVae(Tiny.Vae with { LatentScale = 2 }, new Rng(1));
        Assert.NotEqual(Of(a), Of(scaled));                                      // same weights, other scale
        var decoder = new VideoVae(Tiny.Vae, new Rng(1));
        var p = decoder.NamedParameters().First(x => !x.Name.StartsWith(VideoVae.EncoderPrefix, StringComparison.Ordinal)).Parameter;
        p.AsSpan()[0] += 1;                                                        // another decoder only
        Assert.Equal(Of(a), Of(decoder));
        var normalised = new VideoVae(Tiny.Vae with { ChannelMean = new float[Tiny.Vae.LatentChannels],
                                                      ChannelStd = Enumerable.Repeat(2f, Tiny.Vae.LatentChannels).ToArray() },
                                      new Rng(1));
        Assert.NotEqual(Of(a), Of(normalised));                                  // same weights, normalised channels
    }

    [Fact]
    public void DecoderOnly_WithoutOrWithAnotherStart_IsRefused()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            VaeTrainer.Train(Tiny with { DecoderOnly = true }, Steps, Path.Combine(root, "a")));
        Assert.Contains("--init", e.Message);
        var other = new VideoVae(Tiny.Vae with { BaseChannels = 4 }, new Rng(1));
        e = Assert.Throws<ArgumentException>(() =>
            VaeTrainer.Train(Tiny with { DecoderOnly = true }, Steps, Path.Combine(root, "b"), init: other));
        Assert.Contains("config is not this recipe's", e.Message);
    }

    [Fact]
    public void Cli_WorldDecoderWithoutInit_OneLineExit2()
    {
        var (code, _, err) = CliTests.Run("train", "vae", "--recipe", "world-decoder", "--out", Path.Combine(root, "c"));
        Assert.Equal(2, code);
        Assert.Contains("--init", err);
        Assert.Single(err.Trim().Split('\n'));
        (code, _, err) = CliTests.Run("train", "vae", "--recipe", "world-decoder", "--init", Path.Combine(root, "nope"),
                                      "--out", Path.Combine(root, "c"));
        Assert.Equal(2, code);
        Assert.Contains("--init", err);
        Assert.False(Directory.Exists(Path.Combine(root, "c")));
    }
}
