// The command layer in-process: user mistakes give one line and exit code 2; commands write what they say.
using Spacetime.Cli;
using Spacetime.World;

namespace Spacetime.Tests.Cli;

public sealed class CliTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-cli-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        int code = Program.Run(args, CliConsole.ForWriters(o, e));
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>The command fails with exit code 2 and one line "error: ..." naming every mention, and no stack trace.</summary>
    internal static void AssertOneLineError(string[] args, params string[] mentions)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", err);                               // no stack trace
        foreach (var m in mentions) Assert.Contains(m, lines[0]);
    }

    [Theory]
    [InlineData("--size", "64by64", "--size", "64by64")]
    [InlineData("--size", "0x64", "--size", "positive")]
    [InlineData("--seconds", "0", "--seconds", "positive")]
    [InlineData("--seconds", "-2", "--seconds", "positive")]
    [InlineData("--fps", "0", "--fps", "positive")]
    [InlineData("--seconds", "0.01", "--seconds", "zero frames")]
    [InlineData("--seed", "abc", "--seed", "abc")]
    public void WorldRender_BadValue_OneLineAndExit2(string option, string value, string mention1, string mention2)
    {
        AssertOneLineError(["world", "render", option, value, "--out", Path.Combine(dir, "x.gif")], mention1, mention2);
    }

    [Fact]
    public void WorldRender_UnknownExtension_OneLineAndExit2()
    {
        AssertOneLineError(["world", "render", "--out", Path.Combine(dir, "x.xyz")], "x.xyz", "unknown video extension");
        Assert.False(File.Exists(Path.Combine(dir, "x.xyz")));
    }

    [Fact]
    public void VideoOut_Mp4WithoutFfmpeg_NamesFileAndInstallHint()
    {
        var e = Assert.Throws<UserError>(() => CliArgs.VideoOut("--out", "a.mp4", ffmpegAvailable: false));
        Assert.Contains("a.mp4", e.Message);
        Assert.Contains("ffmpeg", e.Message);
        Assert.Contains("apt-get install ffmpeg", e.Message);
        CliArgs.VideoOut("--out", "a.gif", ffmpegAvailable: false);          // no ffmpeg needed
    }

    [Fact]
    public void Cli_MissingOrUnknownOption_OneLineAndExit2()
    {
        AssertOneLineError(["world", "render"], "--out");
        AssertOneLineError(["world", "render", "--out", "a.gif", "--colour", "red"], "--colour");
        AssertOneLineError(["data", "synth", "--count", "0", "--out", dir], "--count");
        AssertOneLineError(["data", "synth", "--count", "2", "--out", dir, "--sizes", "64x64,big"], "--sizes", "big");
        AssertOneLineError(["data", "synth", "--count", "2", "--out", dir, "--seconds", "4..1"], "--seconds");
        AssertOneLineError(["data", "inspect", Path.Combine(dir, "missing")], "missing", "not found");
    }

    [Fact]
    public void Cli_NoArguments_PrintsHelp()
    {
        var (code, output, _) = Run();
        Assert.Equal(0, code);
        Assert.Contains("world", output);
        Assert.Contains("data", output);
    }

    [Fact]
    public void WorldRender_Gif_WritesClipTruthAndPrintsCaption()
    {
        string gif = Path.Combine(dir, "clip.gif"), json = Path.Combine(dir, "clip.json");
        var (code, output, err) = Run("world", "render", "--seed", "3", "--size", "48x32", "--seconds", "1", "--fps", "4",
                                      "--out", gif, "--truth", json);
        Assert.True(code == 0, err);
        Assert.True(new FileInfo(gif).Length > 0);
        var truth = ClipTruth.FromJson(File.ReadAllText(json));
        Assert.Equal(4, truth.FrameCount);
        Assert.Contains("caption: " + truth.Caption, output);
        Assert.Contains("prompt:  " + truth.Prompt, output);
    }

    [Fact]
    public void DataSynthThenInspect_SmallDataset_CountsAndListsBadLine()
    {
        var (code, output, err) = Run("data", "synth", "--count", "6", "--out", dir, "--sizes", "32x32,48x32",
                                      "--seconds", "1..2", "--fps", "4", "--seed", "9");
        Assert.True(code == 0, err);
        Assert.Contains("clips/min", output);
        Assert.Equal(6, File.ReadAllLines(Path.Combine(dir, "captions.jsonl")).Length);
        Assert.Equal(6, Directory.GetFiles(Path.Combine(dir, "truth")).Length);

        File.AppendAllText(Path.Combine(dir, "captions.jsonl"), "{not json\n");
        (code, output, err) = Run("data", "inspect", dir);
        Assert.True(code == 0, err);
        Assert.Contains("clips", output);
        Assert.Contains("captions.jsonl:7", output);                          // the bad line, named and skipped
        Assert.Contains("32x32", output);
    }

    [Fact]
    public void SynthPlan_SameSeed_SameClipsWithinRange()
    {
        var a = SynthPlan.Make(5, 50, [(64, 64), (96, 64)], 1, 4, 8);
        var b = SynthPlan.Make(5, 50, [(64, 64), (96, 64)], 1, 4, 8);
        Assert.Equal(a, b);
        Assert.All(a, s => Assert.Contains(s.Seconds, new[] { 1.0, 2, 3, 4 }));
        Assert.Equal(4, a.Select(s => s.Seconds).Distinct().Count());
        Assert.Equal(2, a.Select(s => s.Width).Distinct().Count());
        Assert.Equal(50, a.Select(s => s.Seed).Distinct().Count());
    }
}
