// `spacetime eval` through the command layer: a model folder in, the report files and the table out; bad arguments
// as one line and exit code 2.
using Spacetime.Engine;
using Spacetime.Eval;
using Spacetime.Models.Dit;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.Training;

namespace Spacetime.Tests.Cli;

public sealed class EvalCommandsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-evalcli-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Eval_TinyModel_WritesReportAndPrintsTable()
    {
        string model = Path.Combine(dir, "model"), output = Path.Combine(dir, "report");
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(model);
        var (code, stdout, err) = CliTests.Run("eval", "--model", model, "--prompts", "2", "--steps", "2", "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("| metric | simulator | model | untrained | codec round trip |", stdout);
        Assert.Contains("| colour adherence | 1.00 (2) |", stdout);
        Assert.Contains("2 scenes at 32x32, 5 frames", stdout);
        foreach (var f in new[] { "report.json", "report.md", "contact.png" })
            Assert.True(File.Exists(Path.Combine(output, f)), f);
    }

    [Fact]
    public void Eval_NoFloor_LeavesTheUntrainedColumnAndRowOut_AndCompareStillPairsTheModels()
    {
        string model = Path.Combine(dir, "model"), a = Path.Combine(dir, "a"), b = Path.Combine(dir, "b");
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(model);
        var (code, stdout, err) = CliTests.Run("eval", "--model", model, "--prompts", "2", "--steps", "1", "--no-floor",
                                               "--out", a);
        Assert.True(code == 0, err);
        Assert.Contains("| metric | simulator | model | codec round trip |", stdout);
        Assert.DoesNotContain("untrained", File.ReadAllText(Path.Combine(a, "continuation.json")));
        Assert.Contains("\"static (last given frame held)\"", File.ReadAllText(Path.Combine(a, "continuation.json")));
        (code, _, err) = CliTests.Run("eval", "--model", model, "--prompts", "2", "--steps", "1", "--out", b);
        Assert.True(code == 0, err);
        (code, stdout, err) = CliTests.Run("eval", "compare", a, b);
        Assert.True(code == 0, err);
        Assert.Contains("| continuation shape kept |", stdout);                     // both wrote continuation.json
        Assert.Contains("No row differs beyond noise at 2 scenes.", stdout);         // the same model, the same videos
        CliTests.AssertOneLineError(["eval", "compare", a, b, "--system", "untrained"], "no system 'untrained'");
    }

    [Fact]
    public void Eval_Size_EvaluatesAtAnotherAspectRatio_Rounded()
    {
        string model = Path.Combine(dir, "model"), output = Path.Combine(dir, "report");
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(model);
        var (code, stdout, err) = CliTests.Run("eval", "--model", model, "--prompts", "1", "--steps", "1",
                                               "--size", "50x30", "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("1 scene at 48x32, 5 frames", stdout);                    // multiples of 8 for this model
    }

    [Fact]
    public void Eval_ModelWithVae_RoundTripColumnIsTheVae()
    {
        // an untrained model in the latents of a small random VAE (2x space, 2x time): the plumbing, not the numbers
        string model = Path.Combine(dir, "vae-model"), output = Path.Combine(dir, "report");
        var vae = new VideoVae(new VideoVaeConfig { LatentChannels = 4, BaseChannels = 8, ChannelMultipliers = [1, 2],
                                                    TemporalCompression = 2, NormGroups = 4 }, new Rng(2));
        var dit = new VideoDit(new DitConfig { Hidden = 32, Depth = 1, Heads = 4, InChannels = 4, Patch = 2, PatchT = 1,
                                               LearnSigma = false, TextHidden = 32 }, 2);
        var text = DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 2).Text;
        new TextVideoModel(dit, text, new TextVideoConfig(LatentSpace.Vae, 2, 32, 32, Frames: 5, Fps: 8), vae).Save(model);
        var (code, stdout, err) = CliTests.Run("eval", "--model", model, "--prompts", "1", "--steps", "1", "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("| metric | simulator | model | untrained | codec round trip |", stdout);
        Assert.Contains("1 scene at 32x32, 5 frames", stdout);
    }

    [Fact]
    public void Eval_WithAClassifier_ReportsTheFrechetVideoDistance()
    {
        // an untrained tiny classifier's features still tell the simulator's clips from an untrained model's noise
        string model = Path.Combine(dir, "model"), cls = Path.Combine(dir, "cls"), output = Path.Combine(dir, "report");
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(model);
        new Spacetime.Models.Probe.ClipClassifier(ClassifierRecipe.Preset("tiny").Net, 1).Save(cls);
        var (code, stdout, err) = CliTests.Run("eval", "--model", model, "--prompts", "3", "--steps", "2",
                                               "--classifier", cls, "--out", output);
        Assert.True(code == 0, err);
        var row = stdout.Split('\n').Single(l => l.StartsWith("| Fréchet video distance"));
        var cells = row.Split('|', StringSplitOptions.TrimEntries).Where(c => c.EndsWith("(3)")).ToArray();
        Assert.Equal(4, cells.Length);                               // simulator, model, untrained, codec round trip
        double Value(string cell) => double.Parse(cell.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Value(cells[0]) < Value(cells[2]), row);         // the ceiling below the floor
        Assert.Contains("Continuation (3 scenes", stdout);
    }

    [Fact]
    public void Eval_MissingClassifier_OneLineAndExit2()
    {
        string model = Path.Combine(dir, "model");
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(model);
        CliTests.AssertOneLineError(["eval", "--model", model, "--classifier", Path.Combine(dir, "nope")],
                                    "--classifier", "train classifier");
    }

    [Fact]
    public void EvalScaling_TwoTinyRuns_WritesPlotAndTable()
    {
        // two real (tiny) DiT runs of the same seed: their loss.csv carry the tflop column the study sums
        var cfg = new TrainConfig { Steps = 3, Batch = 2, CheckpointEvery = 3 };
        string a = Path.Combine(dir, "runA"), b = Path.Combine(dir, "runB"), output = Path.Combine(dir, "study");
        DitTrainer.Train(DitRecipe.Preset("tiny"), cfg, a);
        DitTrainer.Train(DitRecipe.Preset("tiny"), cfg with { Batch = 4 }, b);
        var (code, stdout, err) = CliTests.Run("eval", "scaling", a, b, "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("| runA | 3 |", stdout);
        Assert.Contains("| runB | 3 |", stdout);
        Assert.True(File.Exists(Path.Combine(output, "scaling.png")));
        Assert.True(File.Exists(Path.Combine(output, "scaling.md")));
        // batch 4 costs about twice batch 2 per step (not exactly: the captions' padded token count differs)
        Assert.InRange(ScalingStudy.Read(b).TotalCompute / ScalingStudy.Read(a).TotalCompute, 1.6, 2.4);
    }

    [Fact]
    public void EvalScaling_NotARun_OneLineAndExit2() =>
        CliTests.AssertOneLineError(["eval", "scaling", Path.Combine(dir, "nope")], "nope", "loss.csv");

    [Fact]
    public void Generate_ModelWhoseDitAndVaeDoNotFit_OneLineNamingBoth()
    {
        // a DiT for 4-channel latents beside a VAE that makes 8
        string model = Path.Combine(dir, "mismatch");
        var config = new VideoVaeConfig { LatentChannels = 4, BaseChannels = 8, ChannelMultipliers = [1, 2],
                                          TemporalCompression = 2, NormGroups = 4 };
        var dit = new VideoDit(new DitConfig { Hidden = 32, Depth = 1, Heads = 4, InChannels = 4, Patch = 2, PatchT = 1,
                                               LearnSigma = false, TextHidden = 32 }, 2);
        var text = DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 2).Text;
        new TextVideoModel(dit, text, new TextVideoConfig(LatentSpace.Vae, 2, 32, 32, Frames: 5, Fps: 8),
                           new VideoVae(config, new Rng(2))).Save(model);
        VaeCheckpoint.Save(new VideoVae(config with { LatentChannels = 8 }, new Rng(3)), Path.Combine(model, "vae"));
        CliTests.AssertOneLineError(["generate", "a red ball", "--model", model, "--out", Path.Combine(dir, "x.gif")],
                                    "DiT (dit/) takes 4", "VAE (vae/) makes 8");
    }

    [Theory]
    [InlineData("--prompts", "0", "--prompts", "positive")]
    [InlineData("--steps", "0", "--steps", "positive")]
    [InlineData("--seed", "-1", "--seed", "0 or more")]
    [InlineData("--guidance", "-2", "--guidance", "0 or more")]
    [InlineData("--prompts", "many", "--prompts", "many")]
    public void Eval_BadValue_OneLineAndExit2(string option, string value, string mention1, string mention2) =>
        CliTests.AssertOneLineError(["eval", "--model", Path.Combine(dir, "nope"), option, value], mention1, mention2);

    [Fact]
    public void Eval_MissingModelFolder_OneLineAndExit2()
    {
        CliTests.AssertOneLineError(["eval", "--model", Path.Combine(dir, "nope"), "--out", Path.Combine(dir, "out")], "--model", "nope");
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void Eval_WithAnotherVae_ItsRoundTripFillsTheCodecColumn()
    {
        // a pixel-space model, and a VAE it does not use (4x time: the 5-frame clips pass as 1 + 4 frames)
        string model = Path.Combine(dir, "model"), vaeDir = Path.Combine(dir, "vae"), output = Path.Combine(dir, "report");
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(model);
        VaeCheckpoint.Save(new VideoVae(new VideoVaeConfig { BaseChannels = 8, ChannelMultipliers = [1, 2, 2], NormGroups = 4,
                                                             Shortcut = true }, new Rng(3)), vaeDir);
        var (code, stdout, err) = CliTests.Run("eval", "--model", model, "--vae", vaeDir, "--prompts", "1", "--steps", "1",
                                               "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("| metric | simulator | model | untrained | codec round trip |", stdout);
        CliTests.AssertOneLineError(["eval", "--model", model, "--vae", Path.Combine(dir, "nope")], "--vae", "nope");
    }
}
