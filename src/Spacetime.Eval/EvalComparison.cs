// EvalComparison: is one model better than another on the same scenes, or is the difference noise? Two eval reports
// of the same scenes (same settings and scene seeds) are compared system against system, scene by scene:
//
//   pass-rate rows (colour, shape, ...)   on the scenes where the row applies to both videos: the scenes the new model
//                                          passes and the base fails ("better"), and the reverse ("worse"); an exact
//                                          two-sided sign test on those discordant scenes (McNemar's exact test)
//   mean rows (flicker, seam, PSNR, SSIM)  the paired differences new - base per scene: their mean, a 95% percentile
//                                          bootstrap interval, and a two-sided sign-flip permutation test
//   FVD                                    one value per set: when both evals wrote features.json (each video's
//                                          classifier features), a paired permutation test (FeatureSets.cs): the
//                                          two videos of each scene swapped at random, FVD(new) - FVD(base) each time;
//                                          otherwise shown, not tested
//   the continuation test (when both evals wrote continuation.json with per-scene scores): spatial and
//   spatiotemporal IoU and MSE as means, shape kept as a pass rate
//
// With 48 scenes a row moves by a few videos between neighbouring checkpoints of one model (docs/model-v2.md), so a
// row is called better or worse only when its p-value survives Holm's correction over all tested rows at 0.05; every
// other difference is reported as "within noise". The resampling uses a fixed seed, so a comparison is reproducible.
using System.Globalization;
using System.Text;

namespace Spacetime.Eval;

/// <summary>What a row's test says about the new system against the base.</summary>
public enum Verdict { Better, Worse, WithinNoise, NotTested }

/// <summary>One row of a comparison: a metric of the main table or of the continuation test.</summary>
/// <param name="Key">The metric's key (report.json's, or continuation.json's).</param>
/// <param name="Title">Its row name.</param>
/// <param name="PassRate">Whether each video passes or fails (else a per-video number is averaged).</param>
/// <param name="HigherIsBetter">Which way is better.</param>
/// <param name="Scenes">Scenes where the metric applies to both videos (the paired scenes).</param>
/// <param name="Base">The base system's value on the paired scenes (for FVD: its set value).</param>
/// <param name="New">The new system's value on the paired scenes.</param>
/// <param name="Low">Lower end of the 95% interval of New - Base (mean rows), or null.</param>
/// <param name="High">Upper end of that interval, or null.</param>
/// <param name="Better">Scenes where the new video is better (passes where the base fails, or a better value).</param>
/// <param name="Worse">Scenes where it is worse.</param>
/// <param name="P">The two-sided p-value of the paired test, or null when the row is not tested.</param>
public sealed record MetricComparison(string Key, string Title, bool PassRate, bool HigherIsBetter, int Scenes,
                                      double? Base, double? New, double? Low, double? High, int Better, int Worse,
                                      double? P, Verdict Verdict);

/// <summary>A whole comparison: <paramref name="BaseName"/> and <paramref name="NewName"/> label the two sides.
/// </summary>
public sealed record ComparisonReport(string BaseName, string NewName, string System, int Prompts,
                                      IReadOnlyList<MetricComparison> Rows)
{
    /// <summary>The rows the new system is clearly better on (after Holm's correction).</summary>
    public IEnumerable<MetricComparison> BetterRows => Rows.Where(r => r.Verdict == Verdict.Better);

    /// <summary>The rows it is clearly worse on.</summary>
    public IEnumerable<MetricComparison> WorseRows => Rows.Where(r => r.Verdict == Verdict.Worse);

    /// <summary>The rows that measure a generator's distance to the scene's exact frames (PSNR and SSIM against the
    /// simulator, the continuation's MSE). They reward a video that commits to nothing: holding the last given frame
    /// scores a better continuation MSE than any model so far, and a blurred object sits nearer its true place on
    /// average than a sharp one drawn a little off. So they are shown and tested, but the shipping rule leaves them
    /// out (docs/eval.md).</summary>
    public static IReadOnlySet<string> DistanceRows { get; } = new HashSet<string> { "psnr", "ssim", "mse" };

    /// <summary>The shipping rule of docs/eval.md: better beyond noise on some row and worse on none, the
    /// <see cref="DistanceRows"/> aside.</summary>
    public bool MeetsShippingRule =>
        BetterRows.Any(r => !DistanceRows.Contains(r.Key)) && !WorseRows.Any(r => !DistanceRows.Contains(r.Key));

    /// <summary>The table, a legend and a one-line conclusion.</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder();
        sb.Append(Invariant($"'{System}' of {NewName} (new) against {BaseName} (base), {Prompts} scenes, paired scene ")
                  + "by scene.\n\n");
        sb.Append("| metric | base | new | new - base (95% interval) | scenes better / worse | p | verdict |\n");
        sb.Append("|---|---|---|---|---|---|---|\n");
        foreach (var r in Rows)
        {
            string format = r.Key switch { "ssim" or "spatialIou" or "spatiotemporalIou" => "0.000", "mse" => "0.0000",
                                           "fvd" => "G3", _ => "0.00" };
            string V(double? v) => v is double d ? d.ToString(format, CultureInfo.InvariantCulture) : "–";
            string diff = r.Base is double b && r.New is double n
                ? (n > b ? "+" : n < b ? "-" : "") + V(Math.Abs(n - b))
                  + (r.Low is double lo && r.High is double hi ? $" ({V(lo)} to {V(hi)})" : "")
                : "–";
            string counts = r.P is null || r.Key == "fvd" ? "–" : Invariant($"{r.Better} / {r.Worse}");
            string p = r.P is double pv ? pv.ToString(pv < 0.001 ? "0.0e0" : "0.000", CultureInfo.InvariantCulture) : "–";
            string verdict = r.Verdict switch
            {
                Verdict.Better => "**better**", Verdict.Worse => "**worse**", Verdict.WithinNoise => "within noise",
                _ => "not tested",
            };
            sb.Append(Invariant($"| {r.Title} | {V(r.Base)} ({r.Scenes}) | {V(r.New)} | {diff} | {counts} | {p} | "))
              .Append(verdict).Append(" |\n");
        }
        sb.Append('\n');
        sb.Append("Pass rates: exact sign test on the scenes one video passes and the other fails. Means: a 95% " +
                  "bootstrap interval of the mean paired difference and a sign-flip permutation test. FVD: a paired " +
                  "permutation test (each scene's two videos swapped at random) when both eval folders hold " +
                  "features.json, else not tested. A row is better or worse when its p-value passes Holm's " +
                  "correction over the tested rows at 0.05. Values in " +
                  "brackets: the paired scenes (FVD: the videos of each set).\n\n");
        var better = BetterRows.Select(r => r.Key).ToList();
        var worse = WorseRows.Select(r => r.Key).ToList();
        sb.Append(better.Count == 0 && worse.Count == 0
            ? $"No row differs beyond noise at {Prompts} scenes.\n"
            : $"The new system is better on {List(better)} and worse on {List(worse)}; the other rows are within noise.\n");
        sb.Append($"\nShipping rule (better beyond noise on some row and worse on none, PSNR, SSIM and continuation MSE " +
                  $"aside, as they reward a still or blurred video; docs/eval.md): " +
                  $"{(MeetsShippingRule ? "**met**" : "not met")}.\n");
        return sb.ToString();
    }

    static string List(List<string> keys) => keys.Count == 0 ? "no row" : string.Join(", ", keys);

    static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Compares two eval reports scene by scene (see the file header).</summary>
public static class EvalComparison
{
    /// <summary>Resamples of the bootstrap interval and of the permutation test.</summary>
    public const int Resamples = 10_000;

    /// <summary>The family-wise error rate of the verdicts.</summary>
    public const double Alpha = 0.05;

    /// <summary>
    /// Compares system <paramref name="system"/> of <paramref name="newer"/> against the same system of
    /// <paramref name="baseline"/>, and the same system's continuation scores when both continuation reports are given
    /// with per-scene scores. Throws ArgumentException when the reports are not of the same scenes or either lacks
    /// the system.
    /// </summary>
    public static ComparisonReport Compare(EvalReport baseline, EvalReport newer, string system = "model",
                                           string baseName = "base", string newName = "new",
                                           ContinuationReport? baseContinuation = null,
                                           ContinuationReport? newContinuation = null)
    {
        CheckSameScenes(baseline, newer, baseName, newName);
        var a = Find(baseline.Systems.Select(s => s.Name), baseline.Systems, system, baseName);
        var b = Find(newer.Systems.Select(s => s.Name), newer.Systems, system, newName);
        var rows = Metrics.All.Select(m => m.Metric == Metric.Fvd
            ? FvdRow(m, a[m.Metric], b[m.Metric], baseline.Features, newer.Features, system, baseName, newName)
            : Row(m.Key, m.Title, m.PassRate, m.HigherIsBetter, a.Videos.Select(v => v[(int)m.Metric]),
                  b.Videos.Select(v => v[(int)m.Metric]), seed: (int)m.Metric)).ToList();
        if (baseContinuation?.Videos is { } cva && newContinuation?.Videos is { } cvb)
        {
            if ((baseContinuation.Scenes, baseContinuation.Given, baseContinuation.Frames)
                != (newContinuation.Scenes, newContinuation.Given, newContinuation.Frames))
                throw new ArgumentException($"the continuation tests differ: {baseName} gave {baseContinuation.Given} " +
                    $"of {baseContinuation.Frames} frames in {baseContinuation.Scenes} scenes, {newName} " +
                    $"{newContinuation.Given} of {newContinuation.Frames} in {newContinuation.Scenes}");
            var ca = Find(baseContinuation.Systems.Select(s => s.Name), cva, system, baseName + "'s continuation");
            var cb = Find(newContinuation.Systems.Select(s => s.Name), cvb, system, newName + "'s continuation");
            rows.Add(Row("spatialIou", "continuation spatial IoU", false, true, ca.Select(c => (double?)c.SpatialIou),
                         cb.Select(c => (double?)c.SpatialIou), seed: 100));
            rows.Add(Row("spatiotemporalIou", "continuation spatiotemporal IoU", false, true,
                         ca.Select(c => (double?)c.SpatiotemporalIou), cb.Select(c => (double?)c.SpatiotemporalIou),
                         seed: 101));
            rows.Add(Row("mse", "continuation MSE", false, false, ca.Select(c => (double?)c.Mse),
                         cb.Select(c => (double?)c.Mse), seed: 102));
            rows.Add(Row("shapeKept", "continuation shape kept", true, true, ca.Select(c => c.ShapeKept),
                         cb.Select(c => c.ShapeKept), seed: 103));
        }
        return new ComparisonReport(baseName, newName, system, baseline.Settings.Prompts, Holm(rows));
    }

    // The FVD row: the reports' values, untested; or, when both carry the system's features against the same
    // reference, the values recomputed from them (the same up to rounding) and the permutation test's p-value.
    static MetricComparison FvdRow(MetricInfo m, MetricSummary a, MetricSummary b, FeatureSets? baseFeatures,
                                   FeatureSets? newFeatures, string system, string baseName, string newName)
    {
        var untested = new MetricComparison(m.Key, m.Title, m.PassRate, m.HigherIsBetter, Math.Min(a.Videos, b.Videos),
                                            a.Value, b.Value, null, null, 0, 0, null, Verdict.NotTested);
        if (baseFeatures?.Of(system) is not { } baseRows || newFeatures?.Of(system) is not { } newRows) return untested;
        if (!baseFeatures.SameReference(newFeatures))
            throw new ArgumentException($"the FVD reference features of {baseName} and {newName} differ: the evals " +
                                        "used different classifiers (or one was edited); their FVDs do not compare");
        if (baseRows.Count != newRows.Count || baseRows.Count < 2) return untested;
        var reference = new FrechetReference(baseFeatures.Reference);
        return untested with
        {
            Scenes = baseRows.Count, Base = reference.DistanceOf(baseRows), New = reference.DistanceOf(newRows),
            P = FrechetPermutation(baseRows, newRows, reference, FvdSeed),
        };
    }

    /// <summary>Resamples of the FVD's permutation test (each costs two Fréchet distances).</summary>
    public const int FvdResamples = 2_000;

    /// <summary>Seed of the FVD test's swaps (fixed, so a comparison reruns to the same p-value).</summary>
    const int FvdSeed = 0xFD;

    /// <summary>Two-sided paired permutation test of a difference in Fréchet distance: the share of random swaps of
    /// the two videos of each scene (<see cref="FvdResamples"/>, from a fixed seed) after which
    /// |FVD(new) - FVD(base)| is at least the observed one (counting the observed assignment, so never 0).
    /// <paramref name="baseRows"/>[i] and <paramref name="newRows"/>[i] are the two systems' videos of scene i.
    /// </summary>
    public static double FrechetPermutation(IReadOnlyList<float[]> baseRows, IReadOnlyList<float[]> newRows,
                                            FrechetReference reference, int seed)
    {
        if (baseRows.Count != newRows.Count)
            throw new ArgumentException($"FVD test: {baseRows.Count} base videos against {newRows.Count} new ones");
        int n = baseRows.Count;
        if (baseRows.Concat(newRows).Any(r => r.Length != reference.Width))
            throw new ArgumentException($"FVD test: feature rows of width {reference.Width} expected");
        // each row projected once (the distances' product with S_ref^(1/2)); a swap only regroups them
        var baseProjected = baseRows.Select(reference.Project).ToArray();
        var newProjected = newRows.Select(reference.Project).ToArray();
        double observed = Math.Abs(reference.DistanceOf(newRows, newProjected)
                                   - reference.DistanceOf(baseRows, baseProjected)) * (1 - 1e-9);
        if (observed == 0) return 1;
        var rng = new Random(seed);
        var swaps = new bool[FvdResamples][];                       // drawn in order first, so threads do not matter
        for (int r = 0; r < FvdResamples; r++)
        {
            swaps[r] = new bool[n];
            for (int i = 0; i < n; i++) swaps[r][i] = rng.Next(2) == 1;
        }
        int atLeast = 0;
        Parallel.For(0, FvdResamples, () => 0, (r, _, count) =>
        {
            var x = new float[n][];
            var y = new float[n][];
            var px = new double[n][];
            var py = new double[n][];
            for (int i = 0; i < n; i++)
                (x[i], y[i], px[i], py[i]) = swaps[r][i] ? (newRows[i], baseRows[i], newProjected[i], baseProjected[i])
                                                         : (baseRows[i], newRows[i], baseProjected[i], newProjected[i]);
            double difference = reference.DistanceOf(y, py) - reference.DistanceOf(x, px);
            return count + (Math.Abs(difference) >= observed ? 1 : 0);
        }, count => Interlocked.Add(ref atLeast, count));
        return (atLeast + 1.0) / (FvdResamples + 1.0);
    }

    // The entry of `names` equal to system, from the list beside it.
    static T Find<T>(IEnumerable<string> names, IReadOnlyList<T> items, string system, string label)
    {
        var list = names.ToList();
        int i = list.IndexOf(system);
        return i >= 0 ? items[i]
            : throw new ArgumentException($"{label} has no system '{system}'; it has " +
                                          string.Join(", ", list.Select(n => $"'{n}'")));
    }

    static void CheckSameScenes(EvalReport a, EvalReport b, string aName, string bName)
    {
        var (x, y) = (a.Settings, b.Settings);
        string Describe(EvalSettings s) => string.Create(CultureInfo.InvariantCulture,
            $"{s.Prompts} scenes of seed {s.Seed} at {s.Width}x{s.Height}, {s.Seconds:0.###} s at {s.Fps:0.###} fps");
        if (x with { SheetPrompts = 0, Seams = null } != y with { SheetPrompts = 0, Seams = null })
            throw new ArgumentException($"the reports are not of the same scenes: {aName} has {Describe(x)}, " +
                                        $"{bName} {Describe(y)} (run both evals with the same --prompts, --seed and --size)");
        for (int i = 0; i < a.Scenes.Count; i++)
            if (a.Scenes[i].Seed != b.Scenes[i].Seed || a.Scenes[i].Prompt != b.Scenes[i].Prompt)
                throw new ArgumentException($"scene {i} differs: {aName} has seed {a.Scenes[i].Seed} " +
                    $"('{a.Scenes[i].Prompt}'), {bName} seed {b.Scenes[i].Seed} ('{b.Scenes[i].Prompt}')");
    }

    // One tested row from the two systems' per-scene values (null: the row does not apply to that video).
    static MetricComparison Row(string key, string title, bool passRate, bool higherIsBetter,
                                IEnumerable<double?> baseValues, IEnumerable<double?> newValues, int seed)
    {
        var pairs = baseValues.Zip(newValues)
            .Where(p => p.First is not null && p.Second is not null)
            .Select(p => (Base: p.First!.Value, New: p.Second!.Value)).ToList();
        if (pairs.Count == 0)
            return new(key, title, passRate, higherIsBetter, 0, null, null, null, null, 0, 0, null, Verdict.NotTested);
        double baseMean = pairs.Average(p => p.Base), newMean = pairs.Average(p => p.New);
        // the difference in the metric's "better" direction, per scene
        double sign = higherIsBetter ? 1 : -1;
        int better = pairs.Count(p => sign * (p.New - p.Base) > 0), worse = pairs.Count(p => sign * (p.New - p.Base) < 0);
        if (passRate)
            return new(key, title, passRate, higherIsBetter, pairs.Count, baseMean, newMean, null, null, better, worse,
                       SignTest(better, worse), Verdict.WithinNoise);
        var diffs = pairs.Select(p => p.New - p.Base).ToArray();
        var (low, high) = Bootstrap(diffs, seed: 0x5EED + seed);
        return new(key, title, passRate, higherIsBetter, pairs.Count, baseMean, newMean, low, high, better, worse,
                   SignFlip(diffs, seed: 0xF11 + seed), Verdict.WithinNoise);
    }

    // Holm's step-down: the i-th smallest of n p-values is significant when it and every smaller one are below
    // alpha / (n - rank). Significant rows get the side their scene counts and means point to.
    static List<MetricComparison> Holm(List<MetricComparison> rows)
    {
        var tested = rows.Where(r => r.P is not null).OrderBy(r => r.P).ToList();
        var significant = new HashSet<MetricComparison>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < tested.Count; i++)
        {
            if (tested[i].P >= Alpha / (tested.Count - i)) break;
            significant.Add(tested[i]);
        }
        return rows.Select(r =>
        {
            if (r.P is null) return r;
            if (!significant.Contains(r)) return r with { Verdict = Verdict.WithinNoise };
            double gain = (r.New!.Value - r.Base!.Value) * (r.HigherIsBetter ? 1 : -1);
            return r with { Verdict = gain > 0 ? Verdict.Better : gain < 0 ? Verdict.Worse : Verdict.WithinNoise };
        }).ToList();
    }

    /// <summary>Exact two-sided sign test: the probability, with each of the <paramref name="better"/> +
    /// <paramref name="worse"/> discordant scenes going either way at 1/2, of a split at least this uneven.</summary>
    public static double SignTest(int better, int worse)
    {
        int n = better + worse, k = Math.Min(better, worse);
        if (n == 0) return 1;
        // P(X <= k) for X ~ Binomial(n, 1/2), summed in logs (n can be in the hundreds)
        double tail = 0;
        for (int i = 0; i <= k; i++) tail += Math.Exp(LogChoose(n, i) - n * Math.Log(2));
        return Math.Min(1, 2 * tail);
    }

    static double LogChoose(int n, int k)
    {
        double s = 0;
        for (int i = 1; i <= k; i++) s += Math.Log(n - k + i) - Math.Log(i);
        return s;
    }

    /// <summary>95% percentile bootstrap interval of the mean of <paramref name="d"/> (scenes resampled with
    /// replacement, <see cref="Resamples"/> times, from a fixed seed).</summary>
    public static (double Low, double High) Bootstrap(double[] d, int seed)
    {
        var rng = new Random(seed);
        var means = new double[Resamples];
        for (int r = 0; r < Resamples; r++)
        {
            double s = 0;
            for (int i = 0; i < d.Length; i++) s += d[rng.Next(d.Length)];
            means[r] = s / d.Length;
        }
        Array.Sort(means);
        return (means[(int)(0.025 * (Resamples - 1))], means[(int)Math.Ceiling(0.975 * (Resamples - 1))]);
    }

    /// <summary>Two-sided sign-flip permutation test of a zero mean: the share of random sign assignments whose mean
    /// is at least as far from 0 as the observed one (counting the observed assignment, so never 0).</summary>
    public static double SignFlip(double[] d, int seed)
    {
        double observed = Math.Abs(d.Sum()) * (1 - 1e-12);
        if (observed == 0) return 1;
        var rng = new Random(seed);
        int atLeast = 0;
        for (int r = 0; r < Resamples; r++)
        {
            double s = 0;
            for (int i = 0; i < d.Length; i++) s += rng.Next(2) == 0 ? d[i] : -d[i];
            if (Math.Abs(s) >= observed) atLeast++;
        }
        return (atLeast + 1.0) / (Resamples + 1.0);
    }
}
