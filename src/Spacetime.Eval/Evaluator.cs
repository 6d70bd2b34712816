// Evaluator: "how good are the generated videos", measured on world scenes whose truth is known exactly.
//
//   var report = Evaluator.Run(new EvalSettings(Prompts: 32), [new EvalSystem("model", generate)], roundTrip);
//   report.Write("eval");               // report.json, report.md, contact.png
//
// For scene i the runner renders the simulator's clip (the ceiling: a system that is always right), gives the
// scene's SHORT prompt (what a user types) and its ClipSettings to every system, scores every video against the same
// truth (Metrics), and keeps the first few scenes' videos for the contact sheet. With a round trip (the VAE:
// frames -> latents -> frames), its reconstruction of the simulator's frames is one more column.
//
// Scene seeds. Training draws clip k of a run with seed S from WorldClip.DeriveSeed(S, k); evaluation draws scene i
// from WorldClip.DeriveSeed(0x5EEDE7A1 + Seed, i), a family no training run starts from (trainer seeds are small). A
// coincidence needs two 64-bit hash values to meet: about 32 x 1e9 / 2^63 = 3.5e-9 for 32 scenes against a billion
// training clips.
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Eval;

/// <summary>What to evaluate on.</summary>
/// <param name="Prompts">Number of scenes (and prompts).</param>
/// <param name="Seed">Names the scene family; the default family is the reported one.</param>
/// <param name="Width">Frame width in pixels (a model's training width).</param>
/// <param name="Height">Frame height in pixels.</param>
/// <param name="Seconds">Clip length; frames = round(Seconds x Fps).</param>
/// <param name="Fps">Frame rate.</param>
/// <param name="SheetPrompts">Scenes shown in contact.png.</param>
/// <param name="Seams">The frames where the evaluated model's time tokens start (LatentGeometry.Seams), for the seam
/// metric; null: not scored.</param>
public sealed record EvalSettings(int Prompts = 32, long Seed = 1_000_000, int Width = 64, int Height = 64,
                                  double Seconds = 2, double Fps = 8, int SheetPrompts = 4,
                                  IReadOnlyList<int>? Seams = null)
{
    /// <summary>Added to Seed so the scene family differs from every training run's (see the file header).</summary>
    public const long SeedSalt = 0x5EEDE7A1;

    /// <summary>The world seed of scene <paramref name="index"/>.</summary>
    public long SceneSeed(int index) => WorldClip.DeriveSeed(unchecked(SeedSalt + Seed), index);

    /// <summary>The clip settings of scene <paramref name="index"/>.</summary>
    public ClipSettings Clip(int index) => new(SceneSeed(index), Width, Height, Seconds, Fps);

    /// <summary>Throws ArgumentException naming the bad value.</summary>
    public void Validate()
    {
        if (Prompts < 1) throw new ArgumentException($"prompts {Prompts}: need at least one");
        if (SheetPrompts < 0) throw new ArgumentException($"sheet prompts {SheetPrompts}: must be 0 or more");
        Clip(0).Validate();
    }
}

/// <summary>A named text-to-video system: (short prompt, the scene's clip settings) -> a video of exactly that size,
/// frame count and frame rate.</summary>
public sealed record EvalSystem(string Name, Func<string, ClipSettings, Frames> Generate);

/// <summary>Progress: <paramref name="Done"/> of <paramref name="Total"/> videos made and scored, the last by
/// <paramref name="System"/> for scene <paramref name="Prompt"/>.</summary>
public sealed record EvalProgress(int Done, int Total, string System, int Prompt);

/// <summary>Runs an evaluation.</summary>
public static class Evaluator
{
    /// <summary>The built-in ceiling: the simulator's own video of each scene.</summary>
    public const string Simulator = "simulator";
    /// <summary>The column of the round trip's reconstructions of the simulator's videos.</summary>
    public const string RoundTrip = "codec round trip";

    /// <summary>Scores the simulator, every system and the optional round trip on the same scenes.</summary>
    /// <summary>Reference simulator clips per evaluated scene, for the Fréchet video distance.</summary>
    public const int ReferenceFactor = 4;

    /// <summary>Added to Seed for the FVD's reference scenes, a scene family apart from the evaluated one.</summary>
    public const long ReferenceSalt = 0x0F1D;

    public static EvalReport Run(EvalSettings settings, IReadOnlyList<EvalSystem> systems,
                                 Func<Frames, Frames>? roundTrip = null, Action<EvalProgress>? progress = null,
                                 Func<IReadOnlyList<Frames>, float[][]>? features = null)
    {
        settings.Validate();
        var names = new List<string> { Simulator };
        names.AddRange(systems.Select(s => s.Name));
        if (roundTrip is not null) names.Add(RoundTrip);
        if (names.Distinct().Count() != names.Count)
            throw new ArgumentException($"system names must differ (and not be '{Simulator}' or '{RoundTrip}'): " +
                                        string.Join(", ", names));

        var scenes = new List<EvalScene>();
        var scores = names.Select(_ => new List<double?[]>()).ToArray();      // (systems)(scenes)(metrics)
        var sheet = new List<(int Scene, int System, Frames Video)>();
        var featureRows = names.Select(_ => new List<float[]>()).ToArray();  // (systems)(scenes) classifier features
        int done = 0, total = settings.Prompts * names.Count;
        for (int i = 0; i < settings.Prompts; i++)
        {
            var clipSettings = settings.Clip(i);
            var clip = WorldClip.Render(clipSettings);
            var truth = new SceneTruth(clip.Truth, clip.Scene.Protagonist);
            scenes.Add(new EvalScene(i, clipSettings.Seed, clip.Prompt));
            for (int s = 0; s < names.Count; s++)
            {
                var video = s == 0 ? clip.Frames
                          : s <= systems.Count ? systems[s - 1].Generate(clip.Prompt, clipSettings)
                          : roundTrip!(clip.Frames);
                CheckSize(names[s], video, clip.Frames);
                scores[s].Add(VideoScorer.Score(truth, video, clip.Frames, settings.Seams));
                if (features is not null) featureRows[s].Add(features([video])[0]);
                if (i < settings.SheetPrompts) sheet.Add((i, s, video));
                progress?.Invoke(new EvalProgress(++done, total, names[s], i));
            }
        }
        var results = names.Select((name, s) => new SystemResult(name, Summarise(scores[s]), scores[s])).ToList();
        FeatureSets? sets = null;
        if (features is not null && settings.Prompts >= 2)
        {
            var family = settings with { Seed = settings.Seed + ReferenceSalt };
            var reference = features(Enumerable.Range(0, ReferenceFactor * settings.Prompts)
                .Select(i => WorldClip.Render(family.Clip(i)).Frames).ToList());
            results = results.Select((r, s) => r with
            {
                Summary = r.Summary.Select(m => m.Metric != Metric.Fvd ? m
                    : new MetricSummary(Metric.Fvd, VideoDistance.Frechet(featureRows[s], reference),
                                        featureRows[s].Count)).ToList(),
            }).ToList();
            sets = new FeatureSets(reference, names.Select((name, s) => (name, (IReadOnlyList<float[]>)featureRows[s]))
                                                   .ToList());
        }
        return new EvalReport(settings, scenes, results, sheet, sets);
    }

    static IReadOnlyList<MetricSummary> Summarise(List<double?[]> videos) =>
        Metrics.All.Select(m =>
        {
            var values = videos.Select(v => v[(int)m.Metric]).OfType<double>().ToList();
            return new MetricSummary(m.Metric, values.Count > 0 ? values.Average() : null, values.Count);
        }).ToList();

    static void CheckSize(string system, Frames video, Frames expected)
    {
        if (video.Count != expected.Count || video.Width != expected.Width || video.Height != expected.Height)
            throw new ArgumentException($"system '{system}' made {video.Count} frames of {video.Width}x{video.Height}; the " +
                                        $"scene asked for {expected.Count} frames of {expected.Width}x{expected.Height}");
    }
}
