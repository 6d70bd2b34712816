// CaptionerEval: how true a captioner's captions are. N world clips that no training run draws (scene i: world seed
// EvalSettings.SceneSeed(i), the eval family; sizes cycle through 128x128, 160x96 and 96x160
// at 17 frames and 8 fps, the captioner's training sizes) are captioned, each caption is read back into the facts it
// states (World/CaptionFacts.Read) and scored against the simulator's truth (CaptionFacts.Of) per kind of fact. The
// chance row scores each clip against another clip's true caption (the next scene's): what knowing the caption style
// and the world's statistics alone earns.
using System.Text;
using Spacetime.Pipelines;
using Spacetime.World;

namespace Spacetime.Eval;

/// <summary>What <see cref="CaptionerEval.Run"/> found.</summary>
public sealed record CaptionerReport(int Clips, long Seed, FactScore Captioner, FactScore Chance,
                                     IReadOnlyList<(string Truth, string Caption)> Examples, double Seconds)
{
    /// <summary>The report as Markdown: the per-fact table, then the first examples.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Captioner evaluation").AppendLine();
        sb.AppendLine(
            $"{Clips} world clips from seed {Seed} (scene i: WorldClip.DeriveSeed(0x5EEDE7A1 + {Seed}, i); no training " +
            $"run draws them), sizes 128x128, 160x96, 96x160 in turn, 17 frames at 8 fps; {Seconds:F0} s. Each caption " +
            "is read into the facts it states and scored against the simulator's truth (World/CaptionFacts). Chance: " +
            "another clip's true caption.").AppendLine();
        sb.AppendLine("| fact | captioner | chance | counted |").AppendLine("|---|---|---|---|");
        foreach (var kind in FactScore.Kinds)
        {
            var (right, total) = Captioner[kind];
            if (total == 0) continue;
            sb.AppendLine(FormattableString.Invariant(
                $"| {kind.ToString().ToLowerInvariant()} | {Captioner.Accuracy(kind):P0} | {Chance.Accuracy(kind):P0} | {right}/{total} |"));
        }
        sb.AppendLine().AppendLine("## Examples").AppendLine();
        foreach (var (truth, caption) in Examples)
            sb.AppendLine($"- truth: {truth}").AppendLine($"  captioner: {caption}");
        return sb.ToString();
    }
}

/// <summary>Scores a captioner on held-out world clips.</summary>
public static class CaptionerEval
{
    static readonly (int Width, int Height)[] Sizes = [(128, 128), (160, 96), (96, 160)];
    const int Frames = 17;
    const double Fps = 8;

    /// <summary>Captions <paramref name="clips"/> world clips with <paramref name="captioning"/> and scores them.
    /// <paramref name="progress"/> hears (done, total).</summary>
    public static CaptionerReport Run(VideoCaptioning captioning, int clips, long seed = 1_000_000,
                                      Action<int, int>? progress = null, int examples = 6)
    {
        if (clips < 2) throw new ArgumentException($"captioner eval: {clips} clips; at least 2 are needed");
        var start = DateTime.UtcNow;
        var truths = Enumerable.Range(0, clips).Select(i =>
        {
            var (w, h) = Sizes[i % Sizes.Length];
            return new ClipSettings(new EvalSettings(Seed: seed).SceneSeed(i), w, h, Frames / Fps, Fps);
        }).ToArray();
        var facts = new CaptionFacts[clips];
        var mine = new FactScore[clips];
        var shown = new List<(string, string)>();
        for (int i = 0; i < clips; i++)
        {
            var clip = WorldClip.Render(truths[i]);
            string caption = captioning.Caption(clip.Frames);
            facts[i] = CaptionFacts.Of(clip.Truth);
            mine[i] = CaptionFacts.Score(CaptionFacts.Read(caption), facts[i]);
            if (shown.Count < examples) shown.Add((clip.Caption, caption));
            progress?.Invoke(i + 1, clips);
        }
        // chance: clip i scored against the true caption of clip i + 1 (its facts as the world states them)
        var chance = Enumerable.Range(0, clips).Select(i =>
            CaptionFacts.Score(CaptionFacts.Read(WorldClip.Describe(truths[(i + 1) % clips]).Caption), facts[i]));
        return new CaptionerReport(clips, seed, FactScore.Sum(mine), FactScore.Sum(chance), shown,
                                   (DateTime.UtcNow - start).TotalSeconds);
    }
}
