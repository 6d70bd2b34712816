// Chart: the PNG decodes at the requested size, a y = x series inks the plot's diagonal and nothing else, ticks are
// nice numbers (decades on a log axis), the font covers every label, PlotCsv reads a trainer-style CSV and names the
// columns when one is unknown, non-finite points are skipped, and a failed write leaves the old file alone.
using Spacetime.Media;

namespace Spacetime.Tests.Media;

public class ChartTests
{
    static ChartSeries Series(string name, Func<double, double> f, int n, double x0 = 0, double x1 = 1) =>
        new(name, Enumerable.Range(0, n).Select(i => x0 + (x1 - x0) * i / (n - 1)).ToArray(),
            Enumerable.Range(0, n).Select(i => f(x0 + (x1 - x0) * i / (n - 1))).ToArray());

    // A decaying noisy loss like a trainer's: n points, multiplicative noise, fixed seed.
    static ChartSeries NoisyLoss(int n)
    {
        var rng = new Random(20240611);
        var x = Enumerable.Range(1, n).Select(i => 10.0 * i).ToArray();
        var y = x.Select(s => (0.1 + 2 * Math.Exp(-s / 800)) * Math.Exp(0.3 * (rng.NextDouble() - 0.5))).ToArray();
        return new ChartSeries("loss", x, y);
    }

    static bool IsDark(Rgb c) => Math.Min(c.R, Math.Min(c.G, c.B)) < 150;
    static bool IsLight(Rgb c) => Math.Min(c.R, Math.Min(c.G, c.B)) >= 200;   // the background or a grid line

    // A dark pixel at or next to (x, y): a 1.5-pixel line may pass between pixel centres.
    static bool DarkNear(Canvas canvas, double x, double y) =>
        Enumerable.Range(-1, 3).Any(dy => Enumerable.Range(-1, 3).Any(dx => IsDark(canvas[(int)x + dx, (int)y + dy])));

    [Theory]
    [InlineData(640, 400)]
    [InlineData(321, 203)]
    public void WritePng_Decodes_WithRequestedSize(int width, int height)
    {
        using var dir = new TempDir();
        Chart.WritePng(dir.File("c.png"), new ChartSpec([NoisyLoss(300)], "loss", "step", "loss", LogY: true,
                                                        Width: width, Height: height));
        var png = Png.ReadImage(dir.File("c.png"));
        Assert.Equal((width, height), (png.Width, png.Height));
        Assert.Equal((255, 255, 255), (png.Rgb[0], png.Rgb[1], png.Rgb[2]));     // white background
    }

    [Fact]
    public void Render_IdentitySeries_InksTheDiagonalAndNothingElse()
    {
        var image = Chart.Render(new ChartSpec([Series("y", x => x, 50)], "y = x", "x", "y"));
        var (ax, ay) = image.ToPixel(0, 0);
        var (bx, by) = image.ToPixel(1, 1);
        for (double t = 0.05; t <= 0.95; t += 0.05)                                  // on the line: dark
        {
            var (px, py) = image.ToPixel(t, t);
            Assert.True(DarkNear(image.Canvas, px, py), $"no ink at t={t}");
        }
        var plot = image.Plot;
        var legend = image.Legend!.Value;
        int dark = 0;
        for (int y = plot.Y + 1; y < plot.Bottom - 1; y++)                         // inside the frame
            for (int x = plot.X + 1; x < plot.Right - 1; x++)
            {
                if (legend.Contains(x, y))
                    continue;
                double d = DistanceToSegment(x + 0.5, y + 0.5, ax, ay, bx, by);
                if (d > 3)
                    Assert.True(IsLight(image.Canvas[x, y]), $"ink at ({x}, {y}), {d:F1} px from the line");
                else if (IsDark(image.Canvas[x, y]))
                    dark++;
            }
        Assert.True(dark > 0.9 * Math.Abs(bx - ax), $"only {dark} dark pixels along the line");
    }

    static double DistanceToSegment(double px, double py, double ax, double ay, double bx, double by)
    {
        double dx = bx - ax, dy = by - ay;
        double t = Math.Clamp(((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy), 0, 1);
        return Math.Sqrt(Math.Pow(px - ax - t * dx, 2) + Math.Pow(py - ay - t * dy, 2));
    }

    [Fact]
    public void BitmapFont_One_DiffersFromSeven()
    {
        Assert.False(BitmapFont.Glyph('1').SequenceEqual(BitmapFont.Glyph('7')));
    }

    [Fact]
    public void BitmapFont_PrintableAscii_HasDistinctGlyphs()
    {
        var seen = new Dictionary<string, char>();
        for (char c = '!'; c <= '~'; c++)
        {
            Assert.True(BitmapFont.HasGlyph(c), $"no glyph for '{c}'");
            string key = Convert.ToHexString(BitmapFont.Glyph(c));
            Assert.False(seen.TryGetValue(key, out char twin), $"'{c}' looks the same as '{twin}'");
            seen[key] = c;
        }
    }

    [Fact]
    public void BitmapFont_UnknownCharacter_DrawsABox()
    {
        Assert.False(BitmapFont.HasGlyph('€'));
        ReadOnlySpan<byte> box = BitmapFont.Glyph('€');
        Assert.Equal(0b11111, box[0]);
        Assert.Equal(0b10001, box[3]);
        var canvas = new Canvas(20, 12, new Rgb(255, 255, 255));
        BitmapFont.Draw(canvas, "€", 1, 1, 1, new Rgb(0, 0, 0));
        Assert.Equal(new Rgb(0, 0, 0), canvas[1, 1]);                                 // the box's top-left corner
        Assert.Equal(new Rgb(255, 255, 255), canvas[3, 3]);                           // hollow
    }

    [Fact]
    public void Render_EveryLabelCharacter_HasAGlyph()
    {
        ChartSpec[] specs =
        [
            new([NoisyLoss(1000)], "run/loss.csv", "step", "loss", LogY: true),
            new([Series("lr", x => 3e-4 * x, 200, 0, 200_000)], "lr (warmup)", "step", "lr"),
            new([Series("l1", x => -x, 20, -5, 5), Series("kl_div", x => x * x, 20, -5, 5)], "A_b: 50% (e=1/2)", "x"),
            new([Series("psnr", x => 20 + x, 10, 0, 3e7)], null, "step", "psnr [dB]", LogY: true),
            new([], "empty", "step", "loss"),
        ];
        foreach (var spec in specs)
        {
            var image = Chart.Render(spec);
            Assert.NotEmpty(image.Texts);
            foreach (string text in image.Texts)
                Assert.All(text, c => Assert.True(BitmapFont.HasGlyph(c), $"'{c}' in \"{text}\" has no glyph"));
        }
    }

    [Fact]
    public void LogAxis_LabelledTicks_ArePowersOfTen()
    {
        var axis = ChartAxis.Logarithmic(0.001, 10, pad: 0.04, maxLabels: 8);
        var labelled = axis.Ticks.Where(t => t.Label != null).ToList();
        Assert.Equal(["0.001", "0.01", "0.1", "1", "10"], labelled.Select(t => t.Label));
        Assert.All(labelled, t => Assert.Equal(Math.Round(Math.Log10(t.Value)), Math.Log10(t.Value), 12));
        Assert.Contains(axis.Ticks, t => t.Label == null && Math.Abs(t.Value - 0.002) < 1e-12);      // a minor tick

        var image = Chart.Render(new ChartSpec([Series("loss", x => Math.Pow(10, x), 50, -3, 1)], LogY: true));
        Assert.True(image.YAxis!.Log);
        Assert.Contains("0.01", image.Texts);
    }

    [Fact]
    public void LogLog_PowerLaw_IsAStraightLineWithDecadesOnBothAxes()
    {
        // loss = 3 * C^-0.25 over C in 1e9 .. 1e14: straight on log-log axes, so the ink at the midpoint in pixels
        // (between the ends' pixels) must be on the curve; on a linear x axis it would not be
        var xs = Enumerable.Range(0, 60).Select(i => Math.Pow(10, 9 + 5.0 * i / 59)).ToArray();
        var law = new ChartSeries("law", xs, xs.Select(c => 3 * Math.Pow(c, -0.25)).ToArray());
        var image = Chart.Render(new ChartSpec([law], "scaling", "FLOPs", "loss", LogY: true, LogX: true));
        Assert.True(image.XAxis!.Log);
        Assert.True(image.YAxis!.Log);
        Assert.Contains("1e10", image.Texts);                                   // decades far from 1 as powers
        var (ax, ay) = image.ToPixel(xs[0], law.Y[0]);
        var (bx, by) = image.ToPixel(xs[^1], law.Y[^1]);
        Assert.True(DarkNear(image.Canvas, (ax + bx) / 2, (ay + by) / 2), "the power law bends on log-log axes");
        var (mx, _) = image.ToPixel(Math.Pow(10, 11.5), 1);                      // the middle decade is mid-plot
        Assert.InRange(mx, (ax + bx) / 2 - 2, (ax + bx) / 2 + 2);
    }

    [Fact]
    public void LogX_WithANonPositiveX_FallsBackToLinear()
    {
        var image = Chart.Render(new ChartSpec([Series("y", x => x, 20, 0, 5)], LogX: true));
        Assert.False(image.XAxis!.Log);
    }

    [Fact]
    public void LogAxis_NarrowRange_LabelsTwoAndFive()
    {
        var axis = ChartAxis.Logarithmic(0.08, 2.5, pad: 0, maxLabels: 8);
        Assert.Equal(["0.1", "0.2", "0.5", "1", "2"], axis.Ticks.Where(t => t.Label != null).Select(t => t.Label));
    }

    [Fact]
    public void Render_LogY_WithANonPositiveValue_FallsBackToLinear()
    {
        var image = Chart.Render(new ChartSpec([Series("y", x => x, 20)], LogY: true));   // y[0] = 0
        Assert.False(image.YAxis!.Log);
    }

    [Theory]
    [InlineData(0.13, 0.2)]
    [InlineData(1, 1)]
    [InlineData(3, 5)]
    [InlineData(7, 10)]
    [InlineData(2e-5, 2e-5)]
    public void NiceStep_RoundsUpTo1_2_5(double rough, double nice)
    {
        Assert.Equal(nice, ChartAxis.NiceStep(rough), 12);
    }

    [Fact]
    public void LinearAxis_Ticks_AreMultiplesOfANiceStep()
    {
        var axis = ChartAxis.Linear(0, 10_000, pad: 0, maxLabels: 5);
        Assert.Equal(["0", "2k", "4k", "6k", "8k", "10k"], axis.Ticks.Select(t => t.Label));   // one style per axis
        axis = ChartAxis.Linear(0.12, 0.31, pad: 0, maxLabels: 4);
        Assert.Equal(["0.15", "0.20", "0.25", "0.30"], axis.Ticks.Select(t => t.Label));
        axis = ChartAxis.Linear(0, 3e-4, pad: 0, maxLabels: 3);
        Assert.Equal(["0", "1e-4", "2e-4", "3e-4"], axis.Ticks.Select(t => t.Label));
    }

    [Fact]
    public void Render_NonFinitePoints_AreSkipped()
    {
        var clean = Series("loss", x => 1 + x, 40);
        var x = clean.X.ToList();
        var y = clean.Y.ToList();
        foreach (int i in new[] { 30, 20, 10 })                                     // extra rows that must not count
        {
            x.Insert(i, x[i]);
            y.Insert(i, i == 20 ? double.PositiveInfinity : double.NaN);
        }
        x.Insert(5, double.NaN);
        y.Insert(5, 1e6);
        var withGaps = new ChartSeries("loss", x.ToArray(), y.ToArray());
        var a = Chart.Render(new ChartSpec([clean], "t", LogY: true));
        var b = Chart.Render(new ChartSpec([withGaps], "t", LogY: true));
        Assert.Equal(a.Canvas.Pixels, b.Canvas.Pixels);

        var none = Chart.Render(new ChartSpec([new ChartSeries("loss", [1, 2], [double.NaN, double.NaN])], "t"));
        Assert.Contains("no data", none.Texts);
    }

    [Fact]
    public void Render_NoSeries_SaysNoData()
    {
        var image = Chart.Render(new ChartSpec([], "empty run"));
        Assert.Contains("no data", image.Texts);
        Assert.Null(image.YAxis);
    }

    [Fact]
    public void Render_NoisySeries_IsSmoothed_ASmoothOneIsNot()
    {
        Assert.True(Chart.IsNoisy(NoisyLoss(500).Y));
        Assert.False(Chart.IsNoisy(Series("lr", x => Math.Cos(x), 500, 0, 3).Y));
        Assert.False(Chart.IsNoisy(NoisyLoss(Chart.SmoothFrom - 1).Y));               // too few points
        Assert.Contains("smoothed: EMA, 10 points", Chart.Render(new ChartSpec([NoisyLoss(500)])).Texts);
    }

    [Fact]
    public void Ema_IsDebiased()
    {
        double[] ema = Chart.Ema([3, 3, 3, 3], 0.9);
        Assert.All(ema, v => Assert.Equal(3, v, 12));                               // starts at y[0], not at 0
        double[] step = Chart.Ema([0, 2], 0.9);
        Assert.Equal(0, step[0]);
        Assert.Equal(0.1 * 2 / (1 - 0.9 * 0.9), step[1], 12);                        // debiased by 1 - a^2
    }

    [Fact]
    public void Render_MismatchedLengths_Throws()
    {
        var spec = new ChartSpec([new ChartSeries("loss", [1, 2], [1])]);
        var e = Assert.Throws<ArgumentException>(() => Chart.Render(spec));
        Assert.Contains("loss", e.Message);
    }

    const string LossCsv = """
        step,loss,lr,grad_norm,seconds
        1,2.5,1e-5,3.1,0.5
        2,2.1,2e-5,2.9,1.0
        3,nan,3e-5,,1.5
        4,1.6,4e-5,2.2,2.0
        5,1.2,5e-5,1.9,2.5
        6,1.
        """;

    [Fact]
    public void PlotCsv_SmallCsv_WritesAChart()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("loss.csv"), LossCsv);
        Chart.PlotCsv(dir.File("loss.csv"), dir.File("loss.png"), "step", ["loss", "grad_norm"]);
        var png = Png.ReadImage(dir.File("loss.png"));
        Assert.Equal((640, 400), (png.Width, png.Height));
        Assert.Contains(png.Rgb, b => b < 100);                                        // something was drawn
    }

    [Fact]
    public void PlotCsv_UnknownColumn_NamesTheColumnsPresent()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("loss.csv"), LossCsv);
        var e = Assert.Throws<ArgumentException>(
            () => Chart.PlotCsv(dir.File("loss.csv"), dir.File("a.png"), "step", ["psnr"]));
        Assert.Contains("'psnr'", e.Message);
        Assert.Contains("step, loss, lr, grad_norm, seconds", e.Message);
        Assert.False(File.Exists(dir.File("a.png")));
    }

    [Fact]
    public void PlotCsv_BadFiles_ThrowClearErrors()
    {
        using var dir = new TempDir();
        void Plot(string csv) => Chart.PlotCsv(dir.File(csv), dir.File("a.png"), "step", ["loss"]);
        var missing = Assert.Throws<ArgumentException>(() => Plot("no.csv"));
        Assert.Contains("no.csv", missing.Message);
        File.WriteAllText(dir.File("empty.csv"), "\n");
        Assert.Throws<InvalidDataException>(() => Plot("empty.csv"));
        File.WriteAllText(dir.File("bad.csv"), "step,loss\n1,0.5\n2,zero\n3,0.4\n");
        var bad = Assert.Throws<InvalidDataException>(() => Plot("bad.csv"));
        Assert.Contains("line 3", bad.Message);
        Assert.Contains("'loss'", bad.Message);
    }

    [Fact]
    public void WritePng_ReplacesAnExistingFile_OnlyOnSuccess()
    {
        using var dir = new TempDir();
        string path = dir.File("loss.png");
        File.WriteAllText(path, "old");
        Assert.Throws<ArgumentException>(() => Chart.WritePng(path, new ChartSpec([NoisyLoss(10)], Width: 10)));
        Assert.Throws<ArgumentException>(() => Chart.PlotCsv(dir.File("none.csv"), path, "step", ["loss"]));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(dir.Path));                          // no temporary file left

        Chart.WritePng(path, new ChartSpec([NoisyLoss(10)]));
        Assert.Equal(640, Png.ReadImage(path).Width);
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }
}
