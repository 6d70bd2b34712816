// Continuation: the Physics-IQ test in our world. A model gets the first frames of a simulator clip (the extend-forward
// mask) and its continuation is scored against what the simulator itself did next. Like Physics-IQ (Motamed et al.,
// 2025), the scores compare where and when things move, not how the pixels look:
//   motion mask M[k](y, x) = sum over channels |frame k - frame k-1| > MotionThreshold, for the continued frames k
//   spatial IoU          IoU of the union over k of M (where anything moved at all), truth against the video
//   spatiotemporal IoU   IoU of M as (k, y, x) volumes (where and when)
//   MSE                  mean squared error of the continued frames against the truth's, pixels in [0, 1]
//   shape kept           shape adherence (eval's rule) over the continued frames only: the given frames show the
//                        protagonist's shape, so this asks whether the model can keep drawing a shape it was shown,
//                        apart from whether its text encoder told it which (eval's shape row); mean over the scenes
//                        where the protagonist is whole and large enough in some continued frame
// An IoU of two empty masks counts as 1 (nothing moved in either). Baselines that bound the scores: the truth itself
// (1, 1, 0) and the static continuation (the last given frame held), which moves nowhere.
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spacetime.Data;
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Eval;

/// <summary>A system that continues a clip: (short prompt, the clip's first frames, the clip's settings) -> a video
/// of the clip's size and frame count whose first frames are the given ones.</summary>
public sealed record ContinuationSystem(string Name, Func<string, Frames, ClipSettings, Frames> Continue);

/// <summary>Mean continuation scores per system over the scenes; <paramref name="ShapeScenes"/> of them count
/// towards shape kept. <paramref name="Videos"/>: every scene's scores per system (Videos[system][scene], ShapeKept
/// null where it does not apply), which `eval compare` pairs; null for a report built from means alone.</summary>
public sealed record ContinuationReport(int Scenes, int Given, int Frames, IReadOnlyList<(string Name, ContinuationScore Mean)> Systems,
                                        int ShapeScenes = 0,
                                        IReadOnlyList<IReadOnlyList<ContinuationScore>>? Videos = null)
{
    /// <summary>continuation.json: the sizes, and per system the means and every scene's scores.</summary>
    public string ToJson()
    {
        static JsonObject Scores(ContinuationScore c) => new()
        {
            ["spatialIou"] = c.SpatialIou, ["spatiotemporalIou"] = c.SpatiotemporalIou, ["mse"] = c.Mse,
            ["shapeKept"] = c.ShapeKept,
        };
        var root = new JsonObject
        {
            ["scenes"] = Scenes, ["given"] = Given, ["frames"] = Frames, ["shapeScenes"] = ShapeScenes,
            ["systems"] = new JsonArray(Systems.Select((x, s) => (JsonNode)new JsonObject
            {
                ["name"] = x.Name, ["mean"] = Scores(x.Mean),
                ["videos"] = Videos is null ? null : new JsonArray(Videos[s].Select(v => (JsonNode)Scores(v)).ToArray()),
            }).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>Reads continuation.json back (<see cref="ToJson"/>); throws InvalidDataException naming what is wrong.
    /// </summary>
    public static ContinuationReport Read(string path) => ReportJson.Read(path, o =>
    {
        static ContinuationScore Scores(JsonNode n) =>
            new((double)n["spatialIou"]!, (double)n["spatiotemporalIou"]!, (double)n["mse"]!, (double?)n["shapeKept"]);
        var systems = ((JsonArray)o!["systems"]!).Select(x => x!).ToList();
        var videos = systems.All(x => x["videos"] is JsonArray)
            ? systems.Select(x => (IReadOnlyList<ContinuationScore>)((JsonArray)x["videos"]!)
                                      .Select(v => Scores(v!)).ToList()).ToList()
            : null;
        return new ContinuationReport((int)o["scenes"]!, (int)o["given"]!, (int)o["frames"]!,
            systems.Select(x => ((string)x["name"]!, Scores(x["mean"]!))).ToList(), (int)o["shapeScenes"]!, videos);
    });

    /// <summary>A markdown table: a row per system.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"Continuation ({Scenes} scenes: the first {Given} of {Frames} frames given, the rest scored):"));
        sb.AppendLine();
        sb.AppendLine($"| system | spatial IoU | spatiotemporal IoU | MSE | shape kept ({ShapeScenes} scenes) |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var (name, m) in Systems)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {m.SpatialIou:0.000} | {m.SpatiotemporalIou:0.000} | {m.Mse:0.0000} | {m.ShapeKept:0.00} |"));
        return sb.ToString();
    }
}

/// <summary>The continuation scores of one video (see the file header); <paramref name="ShapeKept"/> is null where
/// it does not apply (and from <see cref="Continuation.Score"/>, which sees pixels only).</summary>
public readonly record struct ContinuationScore(double SpatialIou, double SpatiotemporalIou, double Mse,
                                                double? ShapeKept = null);

/// <summary>Scores continuations of simulator clips.</summary>
public static class Continuation
{
    /// <summary>Change between consecutive frames (levels, summed over R, G and B) above which a pixel moves.</summary>
    public const int MotionThreshold = 30;

    /// <summary>Scores <paramref name="video"/>'s frames from <paramref name="given"/> on against
    /// <paramref name="truth"/>'s (same size and frame count).</summary>
    public static ContinuationScore Score(Frames truth, Frames video, int given)
    {
        if (truth.Count != video.Count || truth.Width != video.Width || truth.Height != video.Height)
            throw new ArgumentException($"continuation: the video is {video.Width}x{video.Height} x {video.Count}, the " +
                                        $"truth {truth.Width}x{truth.Height} x {truth.Count}");
        if (given < 1 || given >= truth.Count)
            throw new ArgumentException($"continuation: {given} given frames of {truth.Count} leave nothing to score");
        int n = truth.Width * truth.Height;
        var anyTruth = new bool[n];
        var anyVideo = new bool[n];
        long both = 0, either = 0;
        double squared = 0;
        for (int k = given; k < truth.Count; k++)
        {
            ReadOnlySpan<byte> t0 = truth.Frame(k - 1), t1 = truth.Frame(k), v0 = video.Frame(k - 1), v1 = video.Frame(k);
            for (int i = 0; i < n; i++)
            {
                bool mt = Moves(t0, t1, 3 * i), mv = Moves(v0, v1, 3 * i);
                anyTruth[i] |= mt;
                anyVideo[i] |= mv;
                if (mt && mv) both++;
                if (mt || mv) either++;
            }
            for (int i = 0; i < t1.Length; i++)
            {
                double d = (t1[i] - v1[i]) / 255.0;
                squared += d * d;
            }
        }
        int spatialBoth = 0, spatialEither = 0;
        for (int i = 0; i < n; i++)
        {
            if (anyTruth[i] && anyVideo[i]) spatialBoth++;
            if (anyTruth[i] || anyVideo[i]) spatialEither++;
        }
        return new ContinuationScore(Iou(spatialBoth, spatialEither), Iou(both, either),
                                     squared / ((double)(truth.Count - given) * 3 * n));
    }

    /// <summary>Latent-aligned frames to give: half the window's latent frames (whole time tokens, at least one),
    /// as video frames.</summary>
    public static int GivenFrames(LatentGeometry g, int frames)
    {
        int latents = g.LatentFrames(frames);
        int m = Math.Max(g.PatchT, latents / 2 / g.PatchT * g.PatchT);
        return Math.Min(frames - 1, g.VideoFrames(m));
    }

    /// <summary>Runs every system on the scenes of <paramref name="settings"/> (the same scenes as the main eval),
    /// giving each the first <paramref name="given"/> frames, and averages the scores. The static continuation is
    /// added as the last row.</summary>
    public static ContinuationReport Run(EvalSettings settings, int given, IReadOnlyList<ContinuationSystem> systems,
                                         Action<int, int>? progress = null)
    {
        var all = systems.Append(new ContinuationSystem("static (last given frame held)",
                                                        (_, head, c) => Pad.Edge(head, c.Height, c.Width, c.FrameCount)))
                         .ToList();
        var videos = all.Select(_ => new List<ContinuationScore>()).ToArray();    // (systems)(scenes)
        int frames = 0, shapeScenes = 0;
        for (int i = 0; i < settings.Prompts; i++)
        {
            var c = settings.Clip(i);
            var clip = WorldClip.Render(c);
            frames = clip.Frames.Count;
            var head = Pad.Crop(clip.Frames, clip.Frames.Height, clip.Frames.Width, given);
            var truth = new SceneTruth(clip.Truth, clip.Scene.Protagonist);
            bool shapeApplies = false;        // set by the first system: whether it applies depends on the truth alone
            for (int s = 0; s < all.Count; s++)
            {
                var video = all[s].Continue(clip.Prompt, head, c);
                var score = Score(clip.Frames, video, given);
                double? shape = VideoScorer.ShapeFrom(truth, video, given);
                if (s == 0 && shape is not null) (shapeApplies, shapeScenes) = (true, shapeScenes + 1);
                videos[s].Add(score with { ShapeKept = shapeApplies ? shape ?? 0 : null });
                progress?.Invoke(i * all.Count + s + 1, settings.Prompts * all.Count);
            }
        }
        return new ContinuationReport(settings.Prompts, given, frames,
            all.Select((x, s) => (x.Name, Mean(videos[s]))).ToList(), shapeScenes, videos);
    }

    // The means over the scenes; shape kept over the scenes where it applies (null where it applies to none).
    static ContinuationScore Mean(List<ContinuationScore> v)
    {
        var shapes = v.Select(c => c.ShapeKept).OfType<double>().ToList();
        return new ContinuationScore(v.Average(c => c.SpatialIou), v.Average(c => c.SpatiotemporalIou),
                                     v.Average(c => c.Mse), shapes.Count == 0 ? null : shapes.Average());
    }

    static bool Moves(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b, int o) =>
        Math.Abs(a[o] - b[o]) + Math.Abs(a[o + 1] - b[o + 1]) + Math.Abs(a[o + 2] - b[o + 2]) > MotionThreshold;

    static double Iou(long both, long either) => either == 0 ? 1 : both / (double)either;
}
