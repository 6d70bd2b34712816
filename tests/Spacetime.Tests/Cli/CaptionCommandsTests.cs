// `spacetime caption`: a file prints its caption; a folder of clips becomes a dataset (captions.jsonl that Dataset.Load
// reads, one caption per clip); an existing captions.jsonl is never overwritten without --out; a captioner trained on
// another VAE is refused naming the option; `eval captioner` writes its per-fact table.
using Spacetime.Data;
using Spacetime.Engine;
using Spacetime.Media;
using Spacetime.Models.Caption;
using Spacetime.Models.Text;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Cli;

public sealed class CaptionCommandsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-capcli-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    // an untrained tiny captioner over an untrained tiny VAE (captions are gibberish; the plumbing is what is tested)
    (string Captioner, string Vae) Folders()
    {
        string vaeDir = Path.Combine(dir, "vae"), capDir = Path.Combine(dir, "captioner");
        VaeCheckpoint.Save(new VideoVae(VaeRecipe.Preset("tiny").Vae, new Rng(1)), vaeDir);
        var tokenizer = BpeTokenizer.Train(Enumerable.Range(0, 20).Select(i =>
            WorldClip.Describe(new ClipSettings(i, 32, 32, 1, 8)).Caption), 300);
        new Captioner(CaptionerConfig.Presets["tiny"] with { MaxTokens = 12 }, tokenizer, 3)
        {
            Latents = LatentFingerprint.Of(new VaeLatents(VaeCheckpoint.Load(vaeDir))),
        }.Save(capDir);
        return (capDir, vaeDir);
    }

    [Fact]
    public void Folder_BecomesADataset_AndIsNotOverwritten()
    {
        var (cap, vae) = Folders();
        string clips = Path.Combine(dir, "clips");
        Directory.CreateDirectory(clips);
        foreach (var (seed, w, h) in new[] { (1L, 64, 64), (2L, 96, 48) })
            VideoFile.Write(Path.Combine(clips, $"clip{seed}.gif"), WorldClip.Render(new ClipSettings(seed, w, h, 1, 8)).Frames);

        var (code, stdout, err) = CliTests.Run("caption", clips, "--captioner", cap, "--vae", vae);
        Assert.True(code == 0, err);
        Assert.Contains("captioned 2 clips", stdout);
        var data = Dataset.Load(clips);
        Assert.Equal(["clip1.gif", "clip2.gif"], data.Clips.Select(c => Path.GetFileName(c.Path)));
        Assert.Empty(data.Problems);

        byte[] before = File.ReadAllBytes(Path.Combine(clips, "captions.jsonl"));
        CliTests.AssertOneLineError(["caption", clips, "--captioner", cap, "--vae", vae], "already exists", "--out");
        Assert.Equal(before, File.ReadAllBytes(Path.Combine(clips, "captions.jsonl")));

        string other = Path.Combine(dir, "elsewhere", "c.jsonl");
        Assert.Equal(0, CliTests.Run("caption", clips, "--captioner", cap, "--vae", vae, "--out", other).Code);
        Assert.Contains("\"file\":\"../clips/clip1.gif\"", File.ReadAllText(other));
    }

    [Fact]
    public void File_PrintsOneCaption_AnotherVaeIsRefused()
    {
        var (cap, vae) = Folders();
        string clip = Path.Combine(dir, "one.gif");
        VideoFile.Write(clip, WorldClip.Render(new ClipSettings(5, 64, 64, 1, 8)).Frames);
        var (code, stdout, err) = CliTests.Run("caption", clip, "--captioner", cap, "--vae", vae);
        Assert.True(code == 0, err);
        Assert.Single(stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        string otherVae = Path.Combine(dir, "vae2");
        VaeCheckpoint.Save(new VideoVae(VaeRecipe.Preset("tiny").Vae, new Rng(2)), otherVae);
        CliTests.AssertOneLineError(["caption", clip, "--captioner", cap, "--vae", otherVae], "--vae", "another VAE");
    }

    [Fact]
    public void TheSameVaeNormalisedForADit_CaptionsAlike_AnotherNormalisedVaeIsRefused()
    {
        var (cap, vae) = Folders();
        string clip = Path.Combine(dir, "one.gif");
        VideoFile.Write(clip, WorldClip.Render(new ClipSettings(5, 64, 64, 1, 8)).Frames);
        float[] mean = Enumerable.Range(0, 4).Select(c => 0.3f * c - 0.5f).ToArray(), std = [0.5f, 2f, 1.5f, 0.8f];

        string normalised = Path.Combine(dir, "vae-norm");
        VaeCheckpoint.Save(VaeCheckpoint.Load(vae).WithChannelStats(mean, std), normalised);
        var raw = CliTests.Run("caption", clip, "--captioner", cap, "--vae", vae);
        var norm = CliTests.Run("caption", clip, "--captioner", cap, "--vae", normalised);
        Assert.True(raw.Code == 0 && norm.Code == 0, raw.Err + norm.Err);
        Assert.Equal(raw.Out, norm.Out);                      // the captioner read the raw latents both times

        string other = Path.Combine(dir, "vae2-norm");
        VaeCheckpoint.Save(new VideoVae(VaeRecipe.Preset("tiny").Vae with { ChannelMean = mean, ChannelStd = std },
                                        new Rng(2)), other);
        CliTests.AssertOneLineError(["caption", clip, "--captioner", cap, "--vae", other], "--vae", "another VAE");
    }

    [Fact]
    public void EvalCaptioner_WritesThePerFactTable_WithTheChanceRow()
    {
        var (capDir, vaeDir) = Folders();
        string outDir = Path.Combine(dir, "out");

        var (code, stdout, err) = CliTests.Run("eval", "captioner", "--captioner", capDir, "--vae", vaeDir, "--clips", "4",
                                               "--out", outDir);
        Assert.True(code == 0, err);
        string report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains("| count |", report);
        Assert.Contains("| colour |", report);
        Assert.Contains("truth: A video of", report);
        var count = report.Split('\n').First(l => l.StartsWith("| count |")).Split('|', StringSplitOptions.TrimEntries);
        Assert.EndsWith("/4", count[4]);                                             // one count fact per clip
        CliTests.AssertOneLineError(["eval", "captioner", "--captioner", capDir, "--vae", vaeDir, "--clips", "1",
                                     "--out", outDir], "--clips");
    }
}
