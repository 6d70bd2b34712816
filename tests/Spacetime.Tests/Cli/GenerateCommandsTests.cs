// `train dit` then `generate` through the command layer: the end-to-end path, and bad arguments as one line, exit 2.
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
        foreach (var f in new[] { "spacetime.json", "dit/model.safetensors", "text/tokenizer.json", "train/state.json" })
            Assert.True(File.Exists(Path.Combine(Model, f)), f);
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
    [InlineData("--size", "30x32", "--size", "multiples of 8")]
    [InlineData("--size", "big", "--size", "big")]
    [InlineData("--steps", "0", "--steps", "positive")]
    [InlineData("--guidance", "-1", "--guidance", "0 or more")]
    [InlineData("--seconds", "0.01", "--seconds", "zero frames")]
    [InlineData("--fps", "0", "--fps", "positive")]
    [InlineData("--seed", "-3", "--seed", "0 or more")]
    [InlineData("--bogus", "1", "--bogus", "Unrecognized")]
    public void Generate_BadValue_OneLineAndExit2(string option, string value, string mention1, string mention2) =>
        AssertOneLineError(["generate", "a red circle", "--model", Model, option, value,
                            "--out", Path.Combine(run.Dir, "bad.gif")], mention1, mention2);

    [Fact]
    public void Generate_BadPromptModelOrOutput_OneLineAndExit2()
    {
        string gif = Path.Combine(run.Dir, "bad.gif");
        AssertOneLineError(["generate", "   ", "--model", Model, "--out", gif], "prompt is empty");
        AssertOneLineError(["generate", new string('a', 1001), "--model", Model, "--out", gif], "at most 1000");
        AssertOneLineError(["generate", "a cube", "--model", Path.Combine(run.Dir, "nope"), "--out", gif], "--model", "nope");
        AssertOneLineError(["generate", "a cube", "--model", Path.Combine(Model, "dit"), "--out", gif], "spacetime.json");
        AssertOneLineError(["generate", "a cube", "--model", Model, "--out", Path.Combine(run.Dir, "x.xyz")], "x.xyz");
        Assert.False(File.Exists(gif));
    }

    [Fact]
    public void TrainDit_UnknownRecipe_OneLineAndExit2() =>
        AssertOneLineError(["train", "dit", "--recipe", "huge", "--out", Path.Combine(run.Dir, "x")], "huge", "tiny");

    static void AssertOneLineError(string[] args, params string[] mentions)
    {
        var (code, _, err) = CliTests.Run(args);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
    }
}
