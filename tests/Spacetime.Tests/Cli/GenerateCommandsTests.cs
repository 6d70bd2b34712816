// `train dit` then `generate` through the command layer: the end-to-end path, and bad arguments as one line, exit 2.
// Then generate's flags (--sampler, --negative, --no-expand, frame rounding, outputs) on model folders built directly.
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Media;
using Spacetime.Models.Dit;
using Spacetime.Models.Vae;
using Spacetime.Nn;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Cli;

/// <summary>One tiny model trained through the CLI, shared by the tests of this class.</summary>
public sealed class TinyRunFixture : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "spacetime-e2e-" + Guid.NewGuid().ToString("N")[..8]);
    public (int Code, string Out, string Err) Train { get; }

    public TinyRunFixture() =>
        Train = CliTests.Run("train", "dit", "--recipe", "tiny", "--steps", "24", "--batch", "2", "--out", Path.Combine(Dir, "run"));

    public void Dispose()
    {
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}

public sealed class GenerateCommandsTests(TinyRunFixture run) : IClassFixture<TinyRunFixture>
{
    string Model => Path.Combine(run.Dir, "run");

    [Fact]
    public void TrainDit_Tiny_WritesModelFolderAndLossCsv()
    {
        Assert.True(run.Train.Code == 0, run.Train.Err);
        Assert.Contains("trained steps 0..24 of 24", run.Train.Out);
        foreach (var f in new[] { "spacetime.json", "dit/model.safetensors", "text/tokenizer.json", "train/CURRENT" })
            Assert.True(File.Exists(Path.Combine(Model, f)), f);
        Assert.Equal(25, File.ReadLines(Path.Combine(Model, "loss.csv")).Count());
        var again = CliTests.Run("train", "dit", "--recipe", "tiny", "--steps", "24", "--batch", "2", "--out", Model);
        Assert.True(again.Code == 0, again.Err);                          // a finished run run again says so
        Assert.Contains("already at step 24 of 24: nothing to train", again.Out);
        Assert.Equal(25, File.ReadLines(Path.Combine(Model, "loss.csv")).Count());
    }

    [Fact]
    public void Generate_TrainedTinyModel_WritesRequestedSizeAndFrames()
    {
        string gif = Path.Combine(run.Dir, "out.gif");
        var (code, output, err) = CliTests.Run("generate", "a red circle falls to the left", "--model", Model,
            "--size", "48x32", "--seconds", "0.75", "--fps", "8", "--steps", "4", "--seed", "2", "--out", gif);
        Assert.True(code == 0, err);
        Assert.Contains("6 frames of 48x32", output);
        var video = Spacetime.Media.VideoFile.Read(gif);
        Assert.Equal((6, 32, 48), (video.Count, video.Height, video.Width));
    }

    [Theory]
    [InlineData("--size", "big", "--size", "big")]
    [InlineData("--steps", "0", "--steps", "positive")]
    [InlineData("--guidance", "-1", "--guidance", "must be 0 to 100")]
    [InlineData("--seconds", "0.01", "--seconds", "zero frames")]
    [InlineData("--fps", "0", "--fps", "positive")]
    [InlineData("--seed", "-3", "--seed", "0 or more")]
    [InlineData("--bogus", "1", "--bogus", "Unrecognized")]
    public void Generate_BadValue_OneLineAndExit2(string option, string value, string mention1, string mention2) =>
        CliTests.AssertOneLineError(["generate", "a red circle", "--model", Model, option, value,
                            "--out", Path.Combine(run.Dir, "bad.gif")], mention1, mention2);

    [Fact]
    public void Generate_BadPromptModelOrOutput_OneLineAndExit2()
    {
        string gif = Path.Combine(run.Dir, "bad.gif");
        CliTests.AssertOneLineError(["generate", "   ", "--model", Model, "--out", gif], "prompt is empty");
        CliTests.AssertOneLineError(["generate", new string('a', 1001), "--model", Model, "--out", gif], "at most 1000");
        CliTests.AssertOneLineError(["generate", "a cube", "--model", Path.Combine(run.Dir, "nope"), "--out", gif], "--model", "nope");
        CliTests.AssertOneLineError(["generate", "a cube", "--model", Path.Combine(Model, "dit"), "--out", gif], "spacetime.json");
        CliTests.AssertOneLineError(["generate", "a cube", "--model", Model, "--out", Path.Combine(run.Dir, "x.xyz")], "x.xyz");
        Assert.False(File.Exists(gif));
    }

    [Fact]
    public void TrainDit_UnknownRecipe_OneLineAndExit2() =>
        CliTests.AssertOneLineError(["train", "dit", "--recipe", "huge", "--out", Path.Combine(run.Dir, "x")], "huge", "tiny");
}

/// <summary>
/// Two model folders built directly, without training: the tiny pixel-space recipe, and the same DiT size over a
/// small 4x-in-time VAE (1 + 4k frames). Their zero-initialised layers (adaLN-Zero, the final layer) get small random
/// weights, so that the text, the negative prompt and the sampler all change the video.
/// </summary>
public sealed class GenerateModelsFixture : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "spacetime-gen-" + Guid.NewGuid().ToString("N")[..8]);
    public string Pixel => Path.Combine(Dir, "pixel");
    public string Vae => Path.Combine(Dir, "vae");

    public GenerateModelsFixture()
    {
        var recipe = DitRecipe.Preset("tiny");
        var pixel = DitTrainer.NewModel(recipe, seed: 3);
        Wake(pixel.Dit, seed: 3);
        pixel.Save(Pixel);
        var vae = new VideoVae(new VideoVaeConfig
        {
            LatentChannels = 4, BaseChannels = 8, ChannelMultipliers = [1, 1, 1], NormGroups = 4, TemporalCompression = 4,
        }, new Rng(1));
        var dit = new VideoDit(recipe.Dit with { InChannels = 4 }, seed: 4);
        Wake(dit, seed: 4);
        new TextVideoModel(dit, pixel.Text, new TextVideoConfig(LatentSpace.Vae, 4, 32, 32, 5, 8), vae).Save(Vae);
    }

    static void Wake(Module module, ulong seed)
    {
        var rng = new Rng(seed);
        foreach (var p in module.Parameters())
            if (p.ToArray().All(v => v == 0)) rng.FillUniform(p.Span, -0.05f, 0.05f);
    }

    public void Dispose()
    {
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}

public sealed class GenerateCommandsFlagsTests(GenerateModelsFixture models) : IClassFixture<GenerateModelsFixture>
{
    string Out(string name) => Path.Combine(models.Dir, "out", name);

    (int Code, string Out, string Err) Generate(string prompt, string output, params string[] more) =>
        CliTests.Run(["generate", prompt, "--model", models.Pixel, "--size", "32x32", "--seconds", "0.5", "--fps", "8",
                      "--steps", "3", "--out", output, .. more]);

    [Fact]
    public void Generate_Default_ExpandsThePromptAndSaysWhatItDid()
    {
        string gif = Out("default.gif");
        var (code, output, err) = Generate("a red ball falls", gif);
        Assert.True(code == 0, err);
        Assert.Contains("prompt: a red ball falls", output);
        Assert.Contains("caption: " + PromptExpander.Expand("a red ball falls"), output);
        Assert.Matches(@"32x32, 4 frames, text to video, seed 0, 3 steps of dpm\+\+2m, guidance 4, \d+\.\d s", output);
        Assert.Equal(4, VideoFile.Read(gif).Count);
    }

    [Fact]
    public void Generate_NoExpand_UsesThePromptAsTyped()
    {
        string expanded = Out("expanded.png"), typed = Out("typed.png");
        Assert.Equal(0, Generate("a red ball falls", expanded).Code);
        var (code, output, err) = Generate("a red ball falls", typed, "--no-expand");
        Assert.True(code == 0, err);
        Assert.Contains("caption: the prompt as typed", output);
        Assert.NotEqual(File.ReadAllBytes(expanded), File.ReadAllBytes(typed));
    }

    [Fact]
    public void Generate_Sampler_ChoosesThePresetAndItsSteps()
    {
        string dpm = Out("dpm.png"), heun = Out("heun.png"), preset = Out("preset.png");
        Assert.Equal(0, Generate("a blue box", dpm).Code);
        var (code, output, err) = Generate("a blue box", heun, "--sampler", "HEUN");
        Assert.True(code == 0, err);
        Assert.Contains("3 steps of heun", output);
        Assert.NotEqual(File.ReadAllBytes(dpm), File.ReadAllBytes(heun));
        (code, output, err) = CliTests.Run("generate", "a blue box", "--model", models.Pixel, "--size", "32x32",
                                           "--seconds", "0.25", "--sampler", "ddim", "--out", preset);
        Assert.True(code == 0, err);
        Assert.Contains($"{SamplerConfig.Presets["ddim"].Steps} steps of ddim", output);          // the preset's steps
    }

    [Fact]
    public void Generate_Negative_SteersTheVideo()
    {
        string plain = Out("plain.png"), steered = Out("steered.png");
        Assert.Equal(0, Generate("a red ball falls", plain).Code);
        var (code, output, err) = Generate("a red ball falls", steered, "--negative", "a blue square slides");
        Assert.True(code == 0, err);
        Assert.Contains("negative: a blue square slides", output);
        Assert.NotEqual(File.ReadAllBytes(plain), File.ReadAllBytes(steered));
    }

    [Fact]
    public void Generate_FramesNotOnePlusFourK_RoundedAndSaid()
    {
        string gif = Out("vae.gif");
        var (code, output, err) = CliTests.Run("generate", "a red ball falls", "--model", models.Vae, "--seconds", "2",
                                               "--fps", "8", "--steps", "1", "--out", gif);
        Assert.True(code == 0, err);
        Assert.Contains("16 frames rounded to 17 (this model makes 1 + 4k frames)", output);
        Assert.Equal((17, 32, 32), (VideoFile.Read(gif).Count, VideoFile.Read(gif).Height, VideoFile.Read(gif).Width));
        (code, output, err) = CliTests.Run("generate", "a red ball falls", "--model", models.Vae, "--seconds", "1.125",
                                           "--fps", "8", "--steps", "1", "--out", gif);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("rounded", output);                                                 // 9 = 1 + 4 * 2
        (code, output, err) = CliTests.Run("generate", "a red ball falls", "--model", models.Vae, "--size", "30x32",
                                           "--frames", "5", "--steps", "1", "--out", gif);
        Assert.True(code == 0, err);
        Assert.Contains("width 30 rounded to 32 (this model makes multiples of", output);
    }

    [Fact]
    public void Generate_Modes_FromTheCommandLine_AndModesThatDoNotCombine()
    {
        string still = Out("still.png"), clip = Out("clip.gif"), made = Out("made.gif");
        Assert.Equal(0, CliTests.Run("generate", "a red ball", "--model", models.Pixel, "--frames", "1", "--steps", "1",
                                     "--out", still).Code);
        var image = VideoFile.Read(still);
        Assert.Equal((1, 32, 32), (image.Count, image.Height, image.Width));   // one frame: the image, not a sheet
        Assert.Equal(0, CliTests.Run("generate", "a red ball", "--model", models.Pixel, "--steps", "1", "--out", clip).Code);
        foreach (var mode in new[] { new[] { "--image", still }, ["--video", clip, "--strength", "0.5"], ["--extend", clip],
                                     ["--extend", clip, "--backward"], ["--loop"], ["--loop", "--image", still],
                                     ["--connect", clip, clip] })
        {
            var (code, output, err) = CliTests.Run(["generate", "a blue square", "--model", models.Pixel, "--steps", "1",
                                                    .. mode, "--out", made]);
            Assert.True(code == 0, $"{string.Join(" ", mode)}: {err}");
            Assert.True(VideoFile.Read(made).Count >= 1);
        }
        CliTests.AssertOneLineError(["generate", "x", "--model", models.Pixel, "--image", still, "--video", clip,
                                     "--out", made], "--image and --video cannot be combined");
        CliTests.AssertOneLineError(["generate", "x", "--model", models.Pixel, "--backward", "--out", made], "--extend");
        CliTests.AssertOneLineError(["generate", "x", "--model", models.Pixel, "--video", clip, "--strength", "0",
                                     "--out", made], "--strength 0");
        CliTests.AssertOneLineError(["generate", "x", "--model", models.Pixel, "--image", Out("nope.png"),
                                     "--out", made], "nope.png", "not found");
        CliTests.AssertOneLineError(["generate", "x", "--model", models.Pixel, "--seconds", "61", "--out", made], "at most 60");
    }

    [Fact]
    public void Generate_PngAndMp4_ByExtension()
    {
        string png = Out("sheet.png");
        Assert.Equal(0, Generate("a red ball", png).Code);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(png)[..4]);
        if (!Ffmpeg.IsAvailable) return;
        string mp4 = Out("clip.mp4");
        Assert.Equal(0, Generate("a red ball", mp4).Code);
        Assert.Equal(4, VideoFile.Read(mp4).Count);
    }

    [Fact]
    public void Generate_ShippedModelMissing_SaysWhereItLookedAndWhatToDo()
    {
        Assert.False(Directory.Exists("models/spacetime"));
        CliTests.AssertOneLineError(["generate", "a red ball", "--out", Out("none.gif")],
                           $"no model in {Path.GetFullPath("models/spacetime")}", "repository's folder", "--model DIR");
    }

    [Fact]
    public void Generate_BadInput_OneLineExit2AndNoFile()
    {
        string gif = Out("bad.gif");
        string[] Args(params string[] more) => ["generate", "a red ball", "--model", models.Pixel, "--out", gif, .. more];
        CliTests.AssertOneLineError(Args("--colour", "red"), "--colour");
        CliTests.AssertOneLineError(Args("--sampler", "fast"), "--sampler 'fast'", string.Join(", ", SamplerConfig.Presets.Keys));
        CliTests.AssertOneLineError(Args("--steps", "-3"), "--steps -3", "positive");
        CliTests.AssertOneLineError(Args("--negative", new string('x', 1001)), "--negative", "at most 1000");
        CliTests.AssertOneLineError(["generate", "", "--model", models.Pixel, "--out", gif], "prompt is empty");
        CliTests.AssertOneLineError(["generate", "a red ball", "--model", Path.Combine(models.Dir, "nope"), "--out", gif], "nope");

        string broken = Path.Combine(models.Dir, "broken");
        CopyFolder(models.Pixel, broken);
        File.WriteAllText(Path.Combine(broken, "dit", "model.safetensors"), "not a checkpoint");
        CliTests.AssertOneLineError(["generate", "a red ball", "--model", broken, "--out", gif], broken, "cannot load");
        File.WriteAllText(Path.Combine(broken, "spacetime.json"), "{ \"factor\": 0 }");
        CliTests.AssertOneLineError(["generate", "a red ball", "--model", broken, "--out", gif], "spacetime.json", "positive");
        Assert.False(File.Exists(gif));

        string folder = Out("folder.gif");
        Directory.CreateDirectory(folder);
        CliTests.AssertOneLineError(["generate", "a red ball", "--model", models.Pixel, "--out", folder], "is a folder");
        string file = Out("file.txt");
        File.WriteAllText(file, "");
        string underFile = Path.Combine(file, "x.gif");
        CliTests.AssertOneLineError(["generate", "a red ball", "--model", models.Pixel, "--out", underFile],
                           "cannot create the folder");
        Assert.False(File.Exists(underFile));
        Assert.Empty(Directory.GetFiles(Out(""), ".*"));                                 // no temporary files left
    }

    static void CopyFolder(string from, string to)
    {
        foreach (string f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(to, Path.GetRelativePath(from, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target, overwrite: true);
        }
    }
}
