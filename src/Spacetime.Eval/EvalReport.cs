// EvalReport: an evaluation's numbers and how they are written. A folder gets three files, each written to a
// temporary file and renamed into place:
//     report.json   settings, metric definitions, per system the summary and every video's scores
//     report.md     the table (metric rows x system columns, "value (videos)") and the definitions
//     contact.png   for the first SheetPrompts scenes, one row per system (simulator first) of up to 8 frames
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spacetime.Media;

namespace Spacetime.Eval;

/// <summary>One scene of an evaluation: its index, world seed and the short prompt every system was given.</summary>
public sealed record EvalScene(int Index, long Seed, string Prompt);

/// <summary>A metric over all videos of one system: the mean (the pass rate for pass/fail metrics), or null when it
/// applied to no video, and the number of videos it was computed on.</summary>
public sealed record MetricSummary(Metric Metric, double? Value, int Videos);

/// <summary>One system's results: a summary per metric (in <see cref="Metric"/> order) and every video's scores
/// (Videos[scene][metric], null where the metric does not apply).</summary>
public sealed record SystemResult(string Name, IReadOnlyList<MetricSummary> Summary,
                                  IReadOnlyList<IReadOnlyList<double?>> Videos)
{
    /// <summary>The summary of one metric.</summary>
    public MetricSummary this[Metric m] => Summary[(int)m];
}

/// <summary>The results of <see cref="Evaluator.Run"/>.</summary>
public sealed class EvalReport
{
    /// <summary>Frames per row of the contact sheet, at most.</summary>
    const int SheetFrames = 8;

    public EvalSettings Settings { get; }
    public IReadOnlyList<EvalScene> Scenes { get; }
    /// <summary>Per system, the simulator first.</summary>
    public IReadOnlyList<SystemResult> Systems { get; }
    /// <summary>The classifier features behind the FVD row (null when the eval had no classifier, or the report was
    /// read back without its features.json).</summary>
    public FeatureSets? Features { get; }
    readonly IReadOnlyList<(int Scene, int System, Frames Video)> sheet;

    internal EvalReport(EvalSettings settings, IReadOnlyList<EvalScene> scenes, IReadOnlyList<SystemResult> systems,
                        IReadOnlyList<(int Scene, int System, Frames Video)> sheet, FeatureSets? features = null)
    {
        (Settings, Scenes, Systems, Features) = (settings, scenes, systems, features);
        this.sheet = sheet;
    }

    /// <summary>The result of the system called <paramref name="name"/>.</summary>
    public SystemResult this[string name] =>
        Systems.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"no system '{name}'");

    /// <summary>Writes report.json, report.md, contact.png and (with features) features.json into
    /// <paramref name="dir"/> (created if needed).</summary>
    public void Write(string dir)
    {
        Directory.CreateDirectory(dir);
        WriteText(Path.Combine(dir, "report.json"), ToJson());
        if (Features is not null) WriteText(Path.Combine(dir, FeatureSets.FileName), Features.ToJson());
        WriteText(Path.Combine(dir, "report.md"), ToMarkdown());
        if (ContactSheetFrames() is { } frames)
            ContactSheet.Write(Path.Combine(dir, "contact.png"), frames,
                               new ContactSheetOptions(Columns: frames.Count / sheet.Count, Label: SheetLabel()));
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Markdown

    /// <summary>The table alone: one row per metric, one column per system, cells "value (videos)".</summary>
    public string ToMarkdownTable()
    {
        var sb = new StringBuilder();
        sb.Append("| metric |").AppendJoin("", Systems.Select(s => $" {s.Name} |")).Append('\n');
        sb.Append("|---|").AppendJoin("", Systems.Select(_ => "---|")).Append('\n');
        foreach (var m in Metrics.All)
            sb.Append($"| {m.Title} |").AppendJoin("", Systems.Select(s => $" {Cell(s[m.Metric])} |")).Append('\n');
        return sb.ToString();
    }

    /// <summary>The whole report.md: what was run, the table, and the definitions.</summary>
    public string ToMarkdown()
    {
        var s = Settings;
        var clip = s.Clip(0);
        var sb = new StringBuilder();
        sb.Append("# Spacetime evaluation\n\n");
        sb.Append(Invariant($"{s.Prompts} world scenes from seed {s.Seed} (scene i: WorldClip.DeriveSeed(0x5EEDE7A1 + ")
                  + Invariant($"{s.Seed}, i)), {s.Width}x{s.Height}, {clip.FrameCount} frames at {s.Fps:0.###} fps. ")
                  + "Every system got each scene's short prompt. A cell is the value and, in brackets, the number of "
                  + "videos it applies to; pass rates are fractions of those videos.\n\n");
        sb.Append(ToMarkdownTable()).Append('\n');
        sb.Append("## Definitions\n\n").Append(Metrics.Terms).Append("\n\n");
        foreach (var m in Metrics.All)
            sb.Append($"- **{m.Title}** ({(m.PassRate ? "pass rate" : "mean")}): {m.Definition}\n");
        sb.Append('\n');
        sb.Append("## Scenes\n\n");
        foreach (var scene in Scenes) sb.Append(Invariant($"{scene.Index}. seed {scene.Seed}: {scene.Prompt}\n"));
        return sb.ToString();
    }

    static string Cell(MetricSummary m)
    {
        if (m.Value is not double v) return "– (0)";
        string format = m.Metric switch { Metric.Psnr => "0.0", Metric.Ssim => "0.000", Metric.Fvd => "G3", _ => "0.00" };
        return Invariant($"{v.ToString(format, CultureInfo.InvariantCulture)} ({m.Videos})");
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // JSON

    /// <summary>report.json: settings, definitions, and per system the summary and every video's scores.</summary>
    public string ToJson()
    {
        var s = Settings;
        var root = new JsonObject
        {
            ["settings"] = new JsonObject
            {
                ["prompts"] = s.Prompts, ["seed"] = s.Seed, ["width"] = s.Width, ["height"] = s.Height,
                ["seconds"] = s.Seconds, ["fps"] = s.Fps, ["frames"] = s.Clip(0).FrameCount,
                ["sceneSeeds"] = $"WorldClip.DeriveSeed(0x5EEDE7A1 + {s.Seed}, i)",
            },
            ["metrics"] = new JsonArray(Metrics.All.Select(m => (JsonNode)new JsonObject
            {
                ["key"] = m.Key, ["title"] = m.Title, ["passRate"] = m.PassRate,
                ["higherIsBetter"] = m.HigherIsBetter, ["definition"] = m.Definition,
            }).ToArray()),
            ["scenes"] = new JsonArray(Scenes.Select(c => (JsonNode)new JsonObject
            {
                ["index"] = c.Index, ["seed"] = c.Seed, ["prompt"] = c.Prompt,
            }).ToArray()),
            ["systems"] = new JsonArray(Systems.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Name,
                ["summary"] = Scores(r.Summary.Select(m => (JsonNode?)new JsonObject
                {
                    ["value"] = m.Value, ["videos"] = m.Videos,
                })),
                ["videos"] = new JsonArray(r.Videos.Select(v => (JsonNode)Scores(v.Select(x => (JsonNode?)x))).ToArray()),
            }).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>
    /// Reads a report.json written by <see cref="Write"/> back: the settings (without the seams, which the file does not
    /// keep), the scenes and every system's summary and per-video scores, and the features.json beside it when there
    /// is one; no contact sheet. A metric the file lacks (a report from before it existed) reads as null everywhere.
    /// Throws InvalidDataException naming what is wrong.
    /// </summary>
    public static EvalReport Read(string path)
    {
        var report = ReadReport(path);
        string features = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, FeatureSets.FileName);
        if (!File.Exists(features)) return report;
        var sets = FeatureSets.Read(features);
        if (sets.Systems.Any(s => s.Videos.Count != report.Settings.Prompts))
            throw new InvalidDataException($"{features}: {report.Settings.Prompts} scenes in report.json, but " +
                $"{string.Join("/", sets.Systems.Select(s => s.Videos.Count))} feature rows per system");
        return new EvalReport(report.Settings, report.Scenes, report.Systems, [], sets);
    }

    static EvalReport ReadReport(string path) => ReportJson.Read(path, root =>
    {
        if (root is not JsonObject o || o["settings"] is not JsonObject s || o["scenes"] is not JsonArray scenes
            || o["systems"] is not JsonArray systems)
            throw new InvalidDataException($"{path} is not an eval report (it needs 'settings', 'scenes' and " +
                                           "'systems': write one with `spacetime eval --out DIR`)");
        var settings = new EvalSettings(Prompts: (int)s["prompts"]!, Seed: (long)s["seed"]!, Width: (int)s["width"]!,
                                        Height: (int)s["height"]!, Seconds: (double)s["seconds"]!,
                                        Fps: (double)s["fps"]!);
        var sceneList = scenes.Select(c => new EvalScene((int)c!["index"]!, (long)c["seed"]!, (string)c["prompt"]!))
                              .ToList();
        var results = systems.Select(x =>
        {
            var summary = Metrics.All.Select(m => x!["summary"]?[m.Key] is JsonObject v
                ? new MetricSummary(m.Metric, (double?)v["value"], (int)v["videos"]!)
                : new MetricSummary(m.Metric, null, 0)).ToList();
            var videos = ((JsonArray)x!["videos"]!).Select(v => (IReadOnlyList<double?>)Metrics.All
                .Select(m => (double?)v![m.Key]).ToArray()).ToList();
            return new SystemResult((string)x["name"]!, summary, videos);
        }).ToList();
        if (sceneList.Count != settings.Prompts || results.Any(r => r.Videos.Count != settings.Prompts))
            throw new InvalidDataException($"{path}: {settings.Prompts} prompts, but {sceneList.Count} scenes and " +
                $"{string.Join("/", results.Select(r => r.Videos.Count))} videos per system");
        return new EvalReport(settings, sceneList, results, []);
    });

    /// <summary>{"colour": ..., "shape": ..., ...} from values in Metric order.</summary>
    static JsonObject Scores(IEnumerable<JsonNode?> values)
    {
        var o = new JsonObject();
        foreach (var (m, v) in Metrics.All.Zip(values)) o[m.Key] = v;
        return o;
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Contact sheet

    /// <summary>The sheet's tiles as one video: for each kept scene, each system's row of up to 8 frames.</summary>
    internal Frames? ContactSheetFrames()
    {
        if (sheet.Count == 0) return null;
        var first = sheet[0].Video;
        int t = first.Count, columns = Math.Min(SheetFrames, t);
        var picks = Enumerable.Range(0, columns).Select(c => columns == 1 ? 0 : c * (t - 1) / (columns - 1)).ToArray();
        var frames = new Frames(sheet.Count * columns, first.Height, first.Width, first.Fps);  // (rows·columns, H, W)
        int k = 0;
        foreach (var (_, _, video) in sheet.OrderBy(x => x.Scene).ThenBy(x => x.System))
            foreach (int p in picks)
                video.Frame(p).CopyTo(frames.Frame(k++));
        return frames;
    }

    string SheetLabel()
    {
        var scenes = sheet.Select(x => x.Scene).Distinct().Order();
        return $"rows per scene: {string.Join(", ", Systems.Select(s => s.Name))}. "
               + string.Join(" ", scenes.Select(i => $"{i}: {Scenes[i].Prompt}."));
    }

    static void WriteText(string path, string text) => AtomicFile.WriteAllText(path, text);

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
