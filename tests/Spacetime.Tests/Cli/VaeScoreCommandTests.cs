// `spacetime vae score` and VaeScore: held-out world clips through a VAE and back, scored per size; bad arguments as one
// line and exit code 2.
using Spacetime.Engine;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;

namespace Spacetime.Tests.Cli;

public sealed class VaeScoreCommandTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-vaescore-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    // An untrained shortcut VAE is the area-mean codec: the same numbers as PixelLatents' 8x round trip would give,
    // far from exact and far from noise.
    static VideoVae ShortcutVae() => new(new VideoVaeConfig
    {
        Patch = 2, BaseChannels = 8, ChannelMultipliers = [1, 2, 2], TimeHalvingLevels = [1, 2], Norm = VaeNorm.None,
        LatentChannels = 4, Shortcut = true,
    }, new Rng(3));

    [Fact]
    public void VaeScore_ScoresEverySizeOnHeldOutClips()
    {
        var scores = VaeScore.Run(new VaeLatents(ShortcutVae()), new VaeScoreSettings([(32, 32), (48, 32)], Clips: 2, Frames: 5));
        Assert.Equal(2, scores.Count);
        Assert.Equal((48, 32), (scores[1].Width, scores[1].Height));
        foreach (var s in scores)
        {
            Assert.InRange(s.Psnr, 12, 40);
            Assert.True(s.WorstPsnr <= s.Psnr);
            Assert.InRange(s.Ssim, 0.2, 0.99);
            Assert.True(s.SecondsPerClip > 0);
        }
        Assert.NotEqual(VaeScore.ClipSeed(0, 0), VaeScore.ClipSeed(1, 0));
    }

    [Fact]
    public void VaeScore_SheetFrames_RealAboveRebuiltEvenlySpaced()
    {
        var real = new Frames(5, 2, 2, 8);
        var rebuilt = new Frames(5, 2, 2, 8);
        for (int t = 0; t < 5; t++) { real.Frame(t).Fill((byte)t); rebuilt.Frame(t).Fill((byte)(100 + t)); }
        var sheet = VaeScore.SheetFrames([(real, rebuilt)], columns: 3);
        Assert.Equal(6, sheet.Count);
        Assert.Equal([0, 2, 4, 100, 102, 104], Enumerable.Range(0, 6).Select(i => (int)sheet.Frame(i)[0]));
    }

    [Fact]
    public void VaeScore_Cli_WritesReportAndContactSheet()
    {
        string vaeDir = Path.Combine(dir, "vae"), output = Path.Combine(dir, "score");
        VaeCheckpoint.Save(ShortcutVae(), vaeDir);
        var (code, stdout, err) = CliTests.Run("vae", "score", "--vae", vaeDir, "--clips", "1", "--sizes", "32x32,32x48",
                                               "--frames", "5", "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("| size | clips | PSNR (dB) | worst PSNR | SSIM | encode + decode (s/clip) |", stdout);
        Assert.Contains("| 32x48 | 1 |", stdout);
        Assert.True(File.Exists(Path.Combine(output, "report.md")));
        Assert.True(File.Exists(Path.Combine(output, "contact.png")));

        CliTests.AssertOneLineError(["vae", "score", "--vae", Path.Combine(dir, "nope")], "--vae", "nope");
        CliTests.AssertOneLineError(["vae", "score", "--vae", vaeDir, "--sizes", "36x32"], "--sizes", "divide by");
        CliTests.AssertOneLineError(["vae", "score", "--vae", vaeDir, "--clips", "0"], "--clips");
    }
}
