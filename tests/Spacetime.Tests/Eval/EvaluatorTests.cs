// The runner: scene seeds apart from training's, every system on the same scenes, progress, the three report files,
// the untrained floor through the real pipeline, and mistakes named.
using System.Text.Json.Nodes;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Eval;

public sealed class EvaluatorTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-eval-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    static readonly EvalSettings Small = new(Prompts: 3, Width: 32, Height: 32, Seconds: 0.625, Fps: 8, SheetPrompts: 2);

    [Fact]
    public void SceneSeeds_AreNotTrainingSeeds()
    {
        var eval = Enumerable.Range(0, 64).Select(i => new EvalSettings().SceneSeed(i)).ToHashSet();
        Assert.Equal(64, eval.Count);
        for (long trainSeed = 0; trainSeed < 4; trainSeed++)
            for (long k = 0; k < 50_000; k++)
                Assert.DoesNotContain(WorldClip.DeriveSeed(trainSeed, k), eval);
        Assert.Equal(WorldClip.DeriveSeed(0x5EEDE7A1 + 1_000_000, 5), new EvalSettings().SceneSeed(5));
        Assert.Equal(WorldClip.DeriveSeed(0x5EEDE7A1 + 7, 0), new EvalSettings(Seed: 7).Clip(0).Seed);
    }

    [Fact]
    public void Run_EverySystemGetsEachScenesShortPromptAndSettings_ProgressCountsEveryVideo()
    {
        var asked = new List<(string Prompt, ClipSettings Clip)>();
        var progress = new List<EvalProgress>();
        var report = Evaluator.Run(Small, [new("echo", (p, c) => { asked.Add((p, c)); return WorldClip.Render(c).Frames; })],
                                   roundTrip: f => f, progress: progress.Add);
        Assert.Equal([Evaluator.Simulator, "echo", Evaluator.RoundTrip], report.Systems.Select(s => s.Name));
        for (int i = 0; i < Small.Prompts; i++)
        {
            var truth = WorldClip.Describe(Small.Clip(i));
            Assert.Equal((truth.Prompt, Small.Clip(i)), asked[i]);
            Assert.Equal(truth.Prompt, report.Scenes[i].Prompt);
        }
        Assert.Equal(Enumerable.Range(1, 9), progress.Select(p => p.Done));
        Assert.All(progress, p => Assert.Equal(9, p.Total));
        Assert.Equal(report[Evaluator.Simulator].Videos, report["echo"].Videos);   // the same video scores the same
    }

    [Fact]
    public void Write_ReportJsonMarkdownAndContactSheet()
    {
        var report = Evaluator.Run(Small, [new("blank", (_, c) => EvalKit.Blank(c))]);
        report.Write(dir);
        Assert.Equal(["contact.png", "report.json", "report.md"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "report.json")))!;
        Assert.Equal(3, json["settings"]!["prompts"]!.GetValue<int>());
        Assert.Equal(Metrics.All.Count, json["metrics"]!.AsArray().Count);
        var blank = json["systems"]![1]!;
        Assert.Equal("blank", blank["name"]!.GetValue<string>());
        Assert.Equal(0.0, blank["summary"]!["colour"]!["value"]!.GetValue<double>());
        Assert.Equal(3, blank["summary"]!["colour"]!["videos"]!.GetValue<int>());
        Assert.Equal(3, blank["videos"]!.AsArray().Count);

        string md = File.ReadAllText(Path.Combine(dir, "report.md"));
        Assert.Contains("| metric | simulator | blank |", md);
        foreach (var m in Metrics.All) Assert.Contains($"| {m.Title} |", md);
        Assert.Contains("| colour adherence | 1.00 (3) | 0.00 (3) |", md);
        Assert.Contains(report.Scenes[2].Prompt, md);

        // contact.png: 2 scenes x 2 systems rows of 5 frames; it reads back as those tiles, simulator first
        var sheet = VideoFile.Read(Path.Combine(dir, "contact.png"));
        Assert.Equal((20, 32, 32), (sheet.Count, sheet.Height, sheet.Width));
        Assert.Equal(WorldClip.Render(Small.Clip(0)).Frames.Frame(4).ToArray(), sheet.Frame(4).ToArray());
        Assert.Equal(EvalKit.Blank(Small.Clip(0)).Frame(0).ToArray(), sheet.Frame(5).ToArray());
        Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
    }

    [Fact]
    public void UntrainedFloor_ThroughThePipeline_AdheresToNothing()
    {
        var model = DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 3).Untrained();
        var generator = new Generator(model);
        var settings = new EvalSettings(Prompts: 4, Width: 32, Height: 32, Seconds: 5 / 8.0, Fps: 8);
        var report = Evaluator.Run(settings, [new("untrained", (p, c) => generator.Generate(new GenerationRequest(p)
        {
            Width = c.Width, Height = c.Height, Frames = c.FrameCount, Fps = c.Fps, Seed = (ulong)c.Seed,
            Sampler = new Spacetime.Diffusion.SamplerConfig(Steps: 2), ExpandPrompt = false,
        }).Video)]);
        foreach (var m in new[] { Metric.Colour, Metric.Shape, Metric.Count, Metric.Direction })
            Assert.True(report["untrained"][m].Value is null or <= 0.0, $"{m}: {report["untrained"][m]}");
        Assert.True(report[Evaluator.Simulator][Metric.Colour].Value >= 0.95);
    }

    [Fact]
    public void Run_WrongSizeOrDuplicateName_ThrowsNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => Evaluator.Run(Small,
            [new("tiny", (_, c) => new Frames(c.FrameCount, 16, 16, c.Fps))]));
        Assert.Contains("'tiny'", e.Message);
        Assert.Contains("32x32", e.Message);
        e = Assert.Throws<ArgumentException>(() => Evaluator.Run(Small, [new("simulator", (_, c) => EvalKit.Blank(c))]));
        Assert.Contains("simulator", e.Message);
        Assert.Throws<ArgumentException>(() => Evaluator.Run(Small with { Prompts = 0 }, []));
        Assert.Throws<ArgumentException>(() => Evaluator.Run(Small with { Fps = 0 }, []));
    }
}
