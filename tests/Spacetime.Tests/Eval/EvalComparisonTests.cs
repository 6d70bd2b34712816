// Comparing two evals scene by scene: the tests' p-values against exact values, the verdicts on reports whose
// difference is known (clear, noise, lower-is-better), reports of other scenes refused, report.json read back whole,
// and `spacetime eval compare` through the command layer.
using Spacetime.Eval;
using Spacetime.Tests.Cli;

namespace Spacetime.Tests.Eval;

public sealed class EvalComparisonTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-evalcmp-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    const int Scenes = 12;
    static readonly EvalSettings Twelve = new(Prompts: Scenes, Width: 32, Height: 32, Seconds: 0.625, Fps: 8);

    // A report whose 'model' column has colour passes (1/0 per scene) and flicker values; the other rows do not apply.
    static EvalReport Report(int[] colour, double[] flicker, EvalSettings? settings = null, double[]? psnr = null)
    {
        var s = settings ?? Twelve;
        var videos = Enumerable.Range(0, s.Prompts).Select(i =>
        {
            var v = new double?[Metrics.All.Count];
            v[(int)Metric.Colour] = colour[i];
            v[(int)Metric.Flicker] = flicker[i];
            if (psnr is not null) v[(int)Metric.Psnr] = psnr[i];
            return (IReadOnlyList<double?>)v;
        }).ToList();
        var summary = Metrics.All.Select(m =>
        {
            var values = videos.Select(v => v[(int)m.Metric]).OfType<double>().ToList();
            return new MetricSummary(m.Metric, values.Count > 0 ? values.Average() : m.Metric == Metric.Fvd ? 40 : null,
                                     values.Count);
        }).ToList();
        var scenes = Enumerable.Range(0, s.Prompts).Select(i => new EvalScene(i, s.SceneSeed(i), $"scene {i}")).ToList();
        return new EvalReport(s, scenes, [new SystemResult("model", summary, videos)], []);
    }

    static int[] Passes(params int[] passing) =>
        Enumerable.Range(0, Scenes).Select(i => passing.Contains(i) ? 1 : 0).ToArray();

    static double[] Flicker(Func<int, double> f) => Enumerable.Range(0, Scenes).Select(f).ToArray();

    [Fact]
    public void SignTest_IsTheExactBinomialTail_TwoSided()
    {
        Assert.Equal(1.0, EvalComparison.SignTest(0, 0));
        Assert.Equal(1.0, EvalComparison.SignTest(5, 5));
        Assert.Equal(2.0 / 1024, EvalComparison.SignTest(10, 0), 12);
        Assert.Equal(2.0 / 1024, EvalComparison.SignTest(0, 10), 12);
        Assert.Equal(2 * 176.0 / 1024, EvalComparison.SignTest(7, 3), 12);   // P(X <= 3), n = 10: 1 + 10 + 45 + 120
        Assert.Equal(1.0, EvalComparison.SignTest(300, 0) / (2 * Math.Pow(0.5, 300)), 9);   // in logs: exact at large n
    }

    [Fact]
    public void SignFlip_AndBootstrap_OnKnownDifferences()
    {
        // 12 equal positive differences: exactly 2 of 4096 sign patterns are as extreme (p = 0.00049)
        double[] same = Enumerable.Repeat(0.5, 12).ToArray();
        Assert.InRange(EvalComparison.SignFlip(same, seed: 1), 1.0 / 10_001, 0.0015);
        Assert.Equal((0.5, 0.5), EvalComparison.Bootstrap(same, seed: 1));
        // differences symmetric about 0: nothing to see
        double[] balanced = [1, -1, 2, -2, 3, -3, 0.5, -0.5];
        Assert.Equal(1.0, EvalComparison.SignFlip(balanced, seed: 1), 3);
        var (lo, hi) = EvalComparison.Bootstrap(balanced, seed: 1);
        Assert.True(lo < 0 && hi > 0, $"({lo}, {hi})");
        Assert.Equal(1.0, EvalComparison.SignFlip([0, 0, 0], seed: 1));
        // reproducible: the same seed gives the same numbers
        Assert.Equal(EvalComparison.Bootstrap(balanced, seed: 7), EvalComparison.Bootstrap(balanced, seed: 7));
    }

    [Fact]
    public void Compare_CallsAClearGainBetter_AndAFewVideosEitherWayNoise()
    {
        var baseline = Report(Passes(0, 1), Flicker(i => 3.0 + 0.1 * (i % 3)));
        // colour: the new model passes every scene (10 won, 0 lost); flicker: 0.5 levels lower on every scene
        var clear = EvalComparison.Compare(baseline, Report(Passes([.. Enumerable.Range(0, Scenes)]),
                                                            Flicker(i => 2.5 + 0.1 * (i % 3))));
        var colour = clear.Rows.Single(r => r.Key == "colour");
        Assert.Equal((Scenes, 10, 0, Verdict.Better), (colour.Scenes, colour.Better, colour.Worse, colour.Verdict));
        Assert.Equal((2.0 / 12, 1.0), (colour.Base!.Value, colour.New!.Value));
        Assert.Equal(2.0 / 1024, colour.P!.Value, 12);
        var flicker = clear.Rows.Single(r => r.Key == "flicker");
        Assert.Equal((12, 0, Verdict.Better), (flicker.Better, flicker.Worse, flicker.Verdict));   // lower is better
        Assert.Equal(-0.5, flicker.Low!.Value, 9);
        Assert.Equal(-0.5, flicker.High!.Value, 9);
        Assert.Equal(["colour", "flicker"], clear.BetterRows.Select(r => r.Key));
        Assert.Empty(clear.WorseRows);
        Assert.True(clear.MeetsShippingRule);
        Assert.Contains("Shipping rule", clear.ToMarkdown());
        // rows that apply to no scene, and FVD (one value per set), are shown untested
        var shape = clear.Rows.Single(r => r.Key == "shape");
        Assert.Equal((0, Verdict.NotTested), (shape.Scenes, shape.Verdict));
        var fvd = clear.Rows.Single(r => r.Key == "fvd");
        Assert.Equal((40.0, 40.0, Verdict.NotTested, (double?)null), (fvd.Base, fvd.New, fvd.Verdict, fvd.P));

        // three scenes won and two lost, flicker up and down: within noise, said so
        var noisy = EvalComparison.Compare(baseline, Report(Passes(2, 3, 4), Flicker(i => i % 2 == 0 ? 3.3 : 2.9)));
        Assert.All(noisy.Rows.Where(r => r.P is not null), r => Assert.Equal(Verdict.WithinNoise, r.Verdict));
        colour = noisy.Rows.Single(r => r.Key == "colour");
        Assert.Equal((3, 2), (colour.Better, colour.Worse));
        string md = noisy.ToMarkdown();
        Assert.Contains("| colour adherence | 0.17 (12) | 0.25 | +0.08 | 3 / 2 | 1.000 | within noise |", md);
        Assert.Contains($"No row differs beyond noise at {Scenes} scenes.", md);
        Assert.Contains("| Fréchet video distance (lower is better) | 40 (0) | 40 | 0 | – | – | not tested |", md);

        // the other way round the clear gain is a clear loss
        var back = EvalComparison.Compare(Report(Passes([.. Enumerable.Range(0, Scenes)]), Flicker(_ => 2.5)), baseline);
        Assert.Equal(["colour", "flicker"], back.WorseRows.Select(r => r.Key));
        Assert.Contains("worse on colour, flicker", back.ToMarkdown());
        Assert.False(back.MeetsShippingRule);
        Assert.False(noisy.MeetsShippingRule);                        // nothing better beyond noise
    }

    [Fact]
    public void ShippingRule_LeavesTheDistanceRowsAside()
    {
        var psnr = Flicker(i => 14 + 0.1 * (i % 3));
        var baseline = Report(Passes(0, 1), Flicker(_ => 3), psnr: psnr);
        // better on colour, PSNR 0.5 dB lower on every scene: worse beyond noise on a distance row only
        var sharper = EvalComparison.Compare(baseline, Report(Passes([.. Enumerable.Range(0, Scenes)]), Flicker(_ => 3),
                                                              psnr: psnr.Select(x => x - 0.5).ToArray()));
        Assert.Equal(["psnr"], sharper.WorseRows.Select(r => r.Key));
        Assert.True(sharper.MeetsShippingRule);
        Assert.Contains("**met**", sharper.ToMarkdown());
        // worse on flicker as well (a gating row): not met
        var flickering = EvalComparison.Compare(baseline, Report(Passes([.. Enumerable.Range(0, Scenes)]),
                                                                 Flicker(_ => 3.5), psnr: psnr));
        Assert.Equal(["flicker"], flickering.WorseRows.Select(r => r.Key));
        Assert.False(flickering.MeetsShippingRule);
        Assert.True(ComparisonReport.DistanceRows.SetEquals(["psnr", "ssim", "mse"]));
    }

    [Fact]
    public void Compare_Holm_AsksMoreOfTheBestRow_WhenSeveralRowsAreTested()
    {
        // 6 scenes won and none lost: p = 2/64 = 0.031 < 0.05 alone, but not below 0.05/2 beside a second tested row
        var baseline = Report(Passes(), Flicker(_ => 3));
        var six = Report(Passes(0, 1, 2, 3, 4, 5), Flicker(_ => 3));
        var row = EvalComparison.Compare(baseline, six).Rows.Single(r => r.Key == "colour");
        Assert.Equal(2.0 / 64, row.P!.Value, 12);
        Assert.Equal(Verdict.WithinNoise, row.Verdict);
    }

    [Fact]
    public void Compare_RefusesOtherScenes_AndNamesAMissingSystem()
    {
        var a = Report(Passes(), Flicker(_ => 3));
        var other = Report(Passes(), Flicker(_ => 3), Twelve with { Seed = 5 });
        var e = Assert.Throws<ArgumentException>(() => EvalComparison.Compare(a, other, baseName: "A", newName: "B"));
        Assert.Contains("not of the same scenes: A has 12 scenes of seed 1000000 at 32x32", e.Message);
        Assert.Contains("B 12 scenes of seed 5", e.Message);
        var wider = Report(Passes(), Flicker(_ => 3), Twelve with { Width = 64 });
        Assert.Throws<ArgumentException>(() => EvalComparison.Compare(a, wider));
        e = Assert.Throws<ArgumentException>(() => EvalComparison.Compare(a, a, system: "untrained", newName: "B"));
        Assert.Contains("has no system 'untrained'; it has 'model'", e.Message);
    }

    [Fact]
    public void Read_GivesBackWhatWriteWrote()
    {
        var report = Report(Passes(1, 5), Flicker(i => 0.25 * i));
        report.Write(dir);
        var back = EvalReport.Read(Path.Combine(dir, "report.json"));
        Assert.Equal(report.Settings with { SheetPrompts = 0 }, back.Settings with { SheetPrompts = 0 });
        Assert.Equal(report.Scenes, back.Scenes);
        Assert.Equal(report["model"].Summary, back["model"].Summary);
        for (int i = 0; i < Scenes; i++) Assert.Equal(report["model"].Videos[i], back["model"].Videos[i]);

        File.WriteAllText(Path.Combine(dir, "bad.json"), "{\"settings\": {}, \"scenes\": [], \"systems\": []}");
        var e = Assert.Throws<InvalidDataException>(() => EvalReport.Read(Path.Combine(dir, "bad.json")));
        Assert.Contains("a field is missing", e.Message);
        File.WriteAllText(Path.Combine(dir, "bad.json"), "[1, 2");
        Assert.Throws<InvalidDataException>(() => EvalReport.Read(Path.Combine(dir, "bad.json")));
    }

    // Feature rows near `center` (8 features; scene i's noise from seed + i).
    static float[][] Features(int count, float center, int seed) => Enumerable.Range(0, count).Select(i =>
    {
        var rng = new Random(seed + i);
        return Enumerable.Range(0, 8).Select(_ => center + (float)(rng.NextDouble() - 0.5)).ToArray();
    }).ToArray();

    static EvalReport WithFeatures(EvalReport report, float[][] reference, float[][] model) =>
        new(report.Settings, report.Scenes, report.Systems, [],
            new FeatureSets(reference, [("model", (IReadOnlyList<float[]>)model)]));

    [Fact]
    public void FvdPermutation_SameDistributionIsNoise_AShiftIsSignificant()
    {
        var reference = new FrechetReference(Features(120, 0, seed: 1));
        var baseRows = Features(40, 0.6f, seed: 100);
        // the same distribution, other draws: no difference
        double same = EvalComparison.FrechetPermutation(baseRows, Features(40, 0.6f, seed: 200), reference, seed: 1);
        Assert.True(same > 0.05, $"p = {same}");
        // much nearer the reference: a clear difference, at the test's resolution
        double shifted = EvalComparison.FrechetPermutation(baseRows, Features(40, 0, seed: 300), reference, seed: 1);
        Assert.True(shifted < 0.002, $"p = {shifted}");
        Assert.Equal(shifted, EvalComparison.FrechetPermutation(baseRows, Features(40, 0, seed: 300), reference, seed: 1));
        // identical sets: nothing to test
        Assert.Equal(1, EvalComparison.FrechetPermutation(baseRows, baseRows, reference, seed: 1));
        Assert.Throws<ArgumentException>(() => EvalComparison.FrechetPermutation(baseRows, baseRows[..5], reference, 1));
    }

    [Fact]
    public void Compare_TestsFvd_WhenBothHaveFeatures_AndRefusesAnotherReference()
    {
        var reference = Features(48, 0, seed: 1);
        var flicker = Flicker(i => 1);
        var baseline = WithFeatures(Report(Passes(1), flicker), reference, Features(Scenes, 1.5f, seed: 100));
        var nearer = WithFeatures(Report(Passes(1), flicker), reference, Features(Scenes, 0, seed: 200));
        var row = EvalComparison.Compare(baseline, nearer).Rows.Single(r => r.Key == "fvd");
        Assert.NotNull(row.P);
        Assert.True(row.P < 0.01, $"p = {row.P}");
        // 12 scenes, one other tested row (colour: no discordant scene) and flicker (no change): FVD survives Holm
        Assert.Equal(Verdict.Better, row.Verdict);
        Assert.Contains("| Fréchet video distance", EvalComparison.Compare(baseline, nearer).ToMarkdown());

        // without features on one side: shown, not tested
        Assert.Equal(Verdict.NotTested,
                     EvalComparison.Compare(baseline, Report(Passes(1), flicker)).Rows.Single(r => r.Key == "fvd").Verdict);
        // features against another reference (another classifier): refused
        var other = WithFeatures(Report(Passes(1), flicker), Features(48, 0, seed: 2), Features(Scenes, 0, seed: 200));
        var e = Assert.Throws<ArgumentException>(() => EvalComparison.Compare(baseline, other));
        Assert.Contains("reference features", e.Message);
    }

    [Fact]
    public void Features_WrittenBesideTheReport_ReadBackBitForBit()
    {
        var features = Features(Scenes, 0.25f, seed: 7);
        features[0][0] = 1.0000001f;                                 // a float that decimal rounding would change
        var report = WithFeatures(Report(Passes(1, 5), Flicker(i => 0.25 * i)), Features(24, 0, seed: 1), features);
        report.Write(dir);
        Assert.True(File.Exists(Path.Combine(dir, FeatureSets.FileName)));
        var back = EvalReport.Read(Path.Combine(dir, "report.json"));
        Assert.NotNull(back.Features);
        Assert.True(back.Features!.SameReference(report.Features!));
        // the reference as another CPU's rounding gives it is the same reference; a change of 1% is not
        FeatureSets Nudged(float by) => back.Features with
        {
            Reference = back.Features.Reference.Select(r => r.Select(v => v * (1 + by)).ToArray()).ToArray(),
        };
        Assert.True(Nudged(1e-6f).SameReference(report.Features!));
        Assert.False(Nudged(1e-2f).SameReference(report.Features!));
        var rows = back.Features.Of("model")!;
        for (int i = 0; i < Scenes; i++) Assert.Equal(features[i], rows[i]);

        // a features.json whose rows do not match the report's scenes is refused, naming the file
        File.WriteAllText(Path.Combine(dir, FeatureSets.FileName),
                          new FeatureSets(Features(24, 0, seed: 1), [("model", (IReadOnlyList<float[]>)features[..3])]).ToJson());
        var e = Assert.Throws<InvalidDataException>(() => EvalReport.Read(Path.Combine(dir, "report.json")));
        Assert.Contains(FeatureSets.FileName, e.Message);
    }

    // A continuation report of 'model' and the static row: per scene the given IoU and MSE, shape kept on even scenes.
    static ContinuationReport Continued(Func<int, double> iou, Func<int, double> mse, Func<int, double> shape)
    {
        var model = Enumerable.Range(0, Scenes)
            .Select(i => new ContinuationScore(iou(i), iou(i) / 2, mse(i), i % 2 == 0 ? shape(i) : null)).ToList();
        var still = Enumerable.Range(0, Scenes).Select(i => new ContinuationScore(0, 0, 0.01, i % 2 == 0 ? 1 : null))
                              .ToList();
        return new ContinuationReport(Scenes, 2, 5,
            [("model", new ContinuationScore(model.Average(c => c.SpatialIou), 0, model.Average(c => c.Mse), 0.5)),
             ("static (last given frame held)", new ContinuationScore(0, 0, 0.01, 1))], Scenes / 2, [model, still]);
    }

    [Fact]
    public void Compare_AddsTheContinuationRows_WhenBothHavePerSceneScores()
    {
        var a = Report(Passes(), Flicker(_ => 3));
        var ca = Continued(i => 0.30 + 0.01 * i, _ => 0.040, _ => 0);
        var cb = Continued(i => 0.45 + 0.01 * i, _ => 0.040, i => i < 4 ? 1 : 0);    // IoU up by 0.15 everywhere
        var rows = EvalComparison.Compare(a, a, baseContinuation: ca, newContinuation: cb).Rows;
        Assert.Equal(Metrics.All.Count + 4, rows.Count);
        var spatial = rows.Single(r => r.Key == "spatialIou");
        Assert.Equal((Scenes, 12, 0, Verdict.Better), (spatial.Scenes, spatial.Better, spatial.Worse, spatial.Verdict));
        Assert.Equal(0.15, spatial.New!.Value - spatial.Base!.Value, 9);
        var shape = rows.Single(r => r.Key == "shapeKept");                         // scenes 0 and 2 won, of 6
        Assert.Equal((6, 2, 0, Verdict.WithinNoise), (shape.Scenes, shape.Better, shape.Worse, shape.Verdict));
        var mse = rows.Single(r => r.Key == "mse");
        Assert.Equal((0, 0, 1.0), (mse.Better, mse.Worse, mse.P!.Value));
        // without both, the main table alone
        Assert.Equal(Metrics.All.Count, EvalComparison.Compare(a, a, baseContinuation: ca).Rows.Count);
        var other = ca with { Given = 3 };
        var e = Assert.Throws<ArgumentException>(() =>
            EvalComparison.Compare(a, a, baseName: "A", newName: "B", baseContinuation: ca, newContinuation: other));
        Assert.Contains("the continuation tests differ: A gave 2 of 5 frames in 12 scenes, B 3 of 5", e.Message);
    }

    [Fact]
    public void ContinuationJson_ReadsBackWhatWasWritten()
    {
        var c = Continued(i => 0.25 * (i % 4), i => 0.001 * i, i => i % 4 == 0 ? 1 : 0);
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, "continuation.json");
        File.WriteAllText(path, c.ToJson());
        var back = ContinuationReport.Read(path);
        Assert.Equal((c.Scenes, c.Given, c.Frames, c.ShapeScenes), (back.Scenes, back.Given, back.Frames, back.ShapeScenes));
        Assert.Equal(c.Systems, back.Systems);
        Assert.Equal(c.Videos![0], back.Videos![0]);
        Assert.Equal(c.Videos[1], back.Videos[1]);
        File.WriteAllText(path, "{\"scenes\": 3}");
        Assert.Contains("a field is missing", Assert.Throws<InvalidDataException>(() => ContinuationReport.Read(path)).Message);
    }

    [Fact]
    public void Cli_EvalCompare_PrintsTheTable_WritesOut_AndRefusesBadInputInOneLine()
    {
        string a = Path.Combine(dir, "a"), b = Path.Combine(dir, "b"), other = Path.Combine(dir, "other");
        Report(Passes(0, 1), Flicker(_ => 3)).Write(a);
        Report(Passes([.. Enumerable.Range(0, Scenes)]), Flicker(_ => 2.5)).Write(b);
        File.WriteAllText(Path.Combine(a, "continuation.json"), Continued(_ => 0.3, _ => 0.04, _ => 0).ToJson());
        Report(Passes(), Flicker(_ => 3), Twelve with { Prompts = 8 }).Write(other);
        string md = Path.Combine(dir, "cmp.md");
        var (code, stdout, err) = CliTests.Run("eval", "compare", a, Path.Combine(b, "report.json"), "--out", md);
        Assert.True(code == 0, err);
        Assert.Contains("| colour adherence | 0.17 (12) | 1.00 | +0.83 | 10 / 0 | 0.002 | **better** |", stdout);
        Assert.Contains("better on colour, flicker and worse on no row", stdout);
        Assert.Equal(stdout.Split("wrote")[0], File.ReadAllText(md));
        Assert.Contains("continuation test is not compared", stdout);              // b has no continuation.json
        Assert.Contains("FVD is not tested", stdout);                              // nor features.json
        File.WriteAllText(Path.Combine(b, "continuation.json"), Continued(_ => 0.5, _ => 0.04, _ => 1).ToJson());
        (code, stdout, err) = CliTests.Run("eval", "compare", a, b);
        Assert.True(code == 0, err);
        Assert.Contains("| continuation spatial IoU | 0.300 (12) | 0.500 | +0.200 (0.200 to 0.200) | 12 / 0 |", stdout);
        Assert.DoesNotContain("not compared", stdout);

        CliTests.AssertOneLineError(["eval", "compare", a, Path.Combine(dir, "nope")], "nope", "report.json");
        CliTests.AssertOneLineError(["eval", "compare", a, other], "not of the same scenes", "8 scenes");
        CliTests.AssertOneLineError(["eval", "compare", a, b, "--system", "untrained"], "no system 'untrained'");
        File.WriteAllText(Path.Combine(dir, "junk.json"), "not json");
        CliTests.AssertOneLineError(["eval", "compare", a, Path.Combine(dir, "junk.json")], "junk.json", "not valid JSON");
    }
}
