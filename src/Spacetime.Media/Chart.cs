// Chart: line charts as PNG, e.g. a training run's loss curve written beside its loss.csv at each checkpoint.
// White background, a light grid at the major ticks, ticks with numeric labels (ChartAxis: nice 1/2/5 x 10^k steps, or
// decades on a log axis), axis labels, a title and a legend, and anti-aliased lines (Canvas) in distinct colours.
// Text uses our own pixel font (BitmapFont), scaled by an integer factor that grows with the image.
// Smoothing: a noisy series of n >= 100 points is drawn faint (35% opacity) and, over it, its exponential moving
// average ema[i] = a·ema[i-1] + (1 - a)·y[i] with a = 1 - 50/n (a window of about n/50 points, 2% of the run),
// divided by 1 - a^(i+1) so that it starts at y[0], not 0 (TensorBoard's debiased EMA). Both are taken in plotted
// space, i.e. on log10(y) for a log axis. "Noisy" means the median of |y[i] - (y[i-1] + y[i+1])/2| is over 0.2% of
// the range of y: a loss curve is, a learning-rate schedule is not (an EMA would only make it lag). The legend gives
// each series' last value (of the EMA when smoothed) and, when any series is smoothed, the EMA's window.
// Points whose x or y is not finite are skipped (the line joins their neighbours). A log axis (x or y) is used only when
// asked for and every value on it is > 0; otherwise that axis is linear (log-log: a scaling study's loss against compute). With no finite point at all the chart says "no data".
using System.Globalization;

namespace Spacetime.Media;

/// <summary>One line of a chart: Y[i] against X[i].</summary>
public sealed record ChartSeries(string Name, double[] X, double[] Y);

/// <summary>What to draw: the series, the text around them, the scales and the image size in pixels.</summary>
public sealed record ChartSpec(IReadOnlyList<ChartSeries> Series, string? Title = null, string? XLabel = null,
                               string? YLabel = null, bool LogY = false, int Width = 640, int Height = 400,
                               bool LogX = false);

/// <summary>Line charts written as PNG.</summary>
public static class Chart
{
    internal const int SmoothFrom = 100;            // points in a series before it can be drawn smoothed
    internal const double SmoothWindow = 50;         // the EMA's window is n / SmoothWindow points
    const int Margin = 10;                           // pixels between the image edge and anything drawn
    static readonly Rgb White = new(255, 255, 255);
    static readonly Rgb Ink = new(40, 40, 40);       // title and axis labels
    static readonly Rgb Muted = new(90, 90, 90);     // tick labels, ticks and the frame
    static readonly Rgb Grid = new(228, 228, 228);
    static readonly Rgb MinorGrid = new(243, 243, 243);
    static readonly Rgb[] Palette =                  // well apart in hue and lightness; cycled after ten series
    [
        new(31, 102, 175), new(230, 110, 20), new(40, 150, 60), new(200, 40, 45), new(130, 90, 180),
        new(140, 90, 60), new(215, 100, 170), new(100, 100, 100), new(170, 170, 30), new(20, 170, 190),
    ];

    /// <summary>Draws <paramref name="spec"/> and writes it as a PNG, atomically: an existing file is replaced only
    /// once the new one is complete.</summary>
    public static void WritePng(string path, ChartSpec spec)
    {
        var image = Render(spec);
        Png.WriteImage(path, image.Canvas.Pixels, image.Canvas.Width, image.Canvas.Height);
    }

    /// <summary>Plots columns <paramref name="ys"/> against column <paramref name="x"/> of a CSV file with a header
    /// line (invariant culture, no quoting, as the trainer writes loss.csv). Empty, "nan" and "inf" cells are skipped,
    /// and so is a short last line (one still being written). A missing file or an unknown column throws
    /// <see cref="ArgumentException"/>; a malformed file throws <see cref="InvalidDataException"/>.</summary>
    public static void PlotCsv(string csvPath, string pngPath, string x, IReadOnlyList<string> ys, string? title = null,
                               bool logY = true)
    {
        if (ys.Count == 0)
            throw new ArgumentException("Chart.PlotCsv: no y column given.", nameof(ys));
        var columns = ReadCsv(csvPath, [x, .. ys]);
        var series = ys.Select(y => new ChartSeries(y, columns[x], columns[y])).ToList();
        title ??= Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(csvPath))) + "/" + Path.GetFileName(csvPath);
        WritePng(pngPath, new ChartSpec(series, title, XLabel: x, YLabel: ys.Count == 1 ? ys[0] : null, LogY: logY));
    }

    /// <summary>The drawn chart, where its plot area is, and every string drawn on it (for tests).</summary>
    internal sealed record ChartImage(Canvas Canvas, Rect Plot, ChartAxis? XAxis, ChartAxis? YAxis, Rect? Legend,
                                      List<string> Texts)
    {
        /// <summary>Pixel coordinates (y down) of data point (x, y); only for a chart with data.</summary>
        public (double X, double Y) ToPixel(double x, double y) =>
            (Plot.X + XAxis!.Fraction(XAxis.Plotted(x)) * Plot.Width,
             Plot.Bottom - YAxis!.Fraction(YAxis.Plotted(y)) * Plot.Height);
    }

    // A series with its non-finite points removed, in plotted space, and its EMA when it is noisy.
    sealed record Line(string Name, Rgb Color, double[] X, double[] Y, double[]? Smooth);

    // A line's points in pixel coordinates (y down).
    readonly record struct Pixels(double[] Xs, double[] Raw, double[]? Smooth);

    internal static ChartImage Render(ChartSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Width is < 240 or > 8192 || spec.Height is < 160 or > 8192)
            throw new ArgumentException($"Chart: size {spec.Width}x{spec.Height} is outside 240x160 .. 8192x8192.");
        foreach (var s in spec.Series)
            if (s.X.Length != s.Y.Length)
                throw new ArgumentException(
                    $"Chart: series '{s.Name}' has {s.X.Length} x values but {s.Y.Length} y values.");

        var texts = new List<string>();
        var canvas = new Canvas(spec.Width, spec.Height, White);
        int scale = Math.Max(1, Math.Min(spec.Width / 640, spec.Height / 400));   // font pixels per glyph pixel
        int charH = BitmapFont.CapHeight * scale, tick = 4 * scale;
        bool logY = spec.LogY && spec.Series.All(s => Enumerable.Range(0, s.Y.Length)
                                                      .All(i => !IsPoint(s, i) || s.Y[i] > 0));
        bool logX = spec.LogX && spec.Series.All(s => Enumerable.Range(0, s.X.Length)
                                                      .All(i => !IsPoint(s, i) || s.X[i] > 0));
        var lines = spec.Series.Select((s, i) => Finite(s, logX, logY, Palette[i % Palette.Length]))
                               .Where(l => l.X.Length > 0).ToList();                 // colours stay with the index

        int top = Margin;
        if (spec.Title is { Length: > 0 } title)
        {
            int w = BitmapFont.MeasureWidth(title, scale + 1);
            Text(canvas, texts, title, (spec.Width - w) / 2, top, scale + 1, Ink);
            top += BitmapFont.CapHeight * (scale + 1) + 3 * Margin / 2;
        }
        int xTitleH = spec.XLabel is { Length: > 0 } ? charH + Margin : 0;
        int bottom = spec.Height - Margin - xTitleH - charH - 3 * scale - tick;
        if (lines.Count == 0)
            return NoData(canvas, texts, new Rect(Margin, top, spec.Width - 2 * Margin, bottom - top), scale);

        // y first: its labels' width sets the left margin, which sets the x axis length
        double yLo = lines.Min(l => l.Y.Min()), yHi = lines.Max(l => l.Y.Max());          // plotted space
        int plotH = bottom - top, maxYLabels = Math.Max(2, plotH / (5 * charH));
        var yAxis = logY ? ChartAxis.Logarithmic(Math.Pow(10, yLo), Math.Pow(10, yHi), 0.04, maxYLabels)
                         : ChartAxis.Linear(yLo, yHi, 0.05, maxYLabels);
        int yLabelsW = yAxis.Ticks.Where(t => t.Label != null).Max(t => BitmapFont.MeasureWidth(t.Label!, scale));
        int yTitleW = spec.YLabel is { Length: > 0 } ? BitmapFont.Rows * scale + Margin / 2 + 2 * scale : 0;
        int left = Margin + yTitleW + yLabelsW + 3 * scale + tick;
        int right = spec.Width - Margin - 8 * scale;
        var plot = new Rect(left, top, right - left, bottom - top);

        var xAxis = XAxis(lines.Min(l => l.X.Min()), lines.Max(l => l.X.Max()), logX, plot.Width, scale);
        var image = new ChartImage(canvas, plot, xAxis, yAxis, null, texts);
        DrawAxes(image, scale, spec.XLabel, spec.YLabel);

        var pixels = lines.Select(l => ToPixels(image, l)).ToList();
        DrawLines(canvas, new Rect(plot.X + 1, plot.Y + 1, plot.Width - 2, plot.Height - 2), lines, pixels, scale);
        return image with { Legend = DrawLegend(image, lines, pixels, scale) };
    }

    // Faint raw curves first, under every line; then each line (its EMA when smoothed), with dots when it is sparse.
    static void DrawLines(Canvas canvas, Rect clip, List<Line> lines, List<Pixels> pixels, int scale)
    {
        for (int i = 0; i < lines.Count; i++)
            if (pixels[i].Smooth != null)
                canvas.Polyline(pixels[i].Xs, pixels[i].Raw, 0.5 + scale / 2.0, lines[i].Color, opacity: 0.35, clip);
        for (int i = 0; i < lines.Count; i++)
        {
            var (xs, raw, smooth) = pixels[i];
            double width = smooth != null ? 1 + scale : 0.5 + scale;
            canvas.Polyline(xs, smooth ?? raw, width, lines[i].Color, opacity: 1, clip);
            if (smooth == null && xs.Length <= 30)
                canvas.Dots(xs, raw, 4.0 * scale, lines[i].Color, clip);
        }
    }

    static ChartImage NoData(Canvas canvas, List<string> texts, Rect plot, int scale)
    {
        canvas.Outline(plot, Grid);
        const string message = "no data";
        int w = BitmapFont.MeasureWidth(message, 2 * scale);
        int y = plot.Y + (plot.Height - BitmapFont.CapHeight * 2 * scale) / 2;
        Text(canvas, texts, message, plot.X + (plot.Width - w) / 2, y, 2 * scale, Muted);
        return new ChartImage(canvas, plot, null, null, null, texts);
    }

    // The most ticks whose labels still leave room between them (eight characters' width, so they read apart).
    // lo, hi in plotted space (log10 of the data on a log axis); as many labels as fit side by side
    static ChartAxis XAxis(double lo, double hi, bool log, int length, int scale)
    {
        for (int n = Math.Max(2, length / (20 * scale)); ; n--)
        {
            var axis = log ? ChartAxis.Logarithmic(Math.Pow(10, lo), Math.Pow(10, hi), 0.02, n)
                           : ChartAxis.Linear(lo, hi, 0.02, n);
            var labels = axis.Ticks.Where(t => t.Label != null).ToList();
            int widest = labels.Max(t => BitmapFont.MeasureWidth(t.Label!, scale));
            if (n <= 2 || labels.Count * (widest + 8 * BitmapFont.Advance * scale) <= length)
                return axis;
        }
    }

    static void DrawAxes(ChartImage image, int scale, string? xLabel, string? yLabel)
    {
        var (canvas, plot, x, y) = (image.Canvas, image.Plot, image.XAxis!, image.YAxis!);
        int charH = BitmapFont.CapHeight * scale, tick = 4 * scale;
        foreach (var t in y.Ticks)                                              // grid first, so the frame covers it
            canvas.Fill(new Rect(plot.X, RowOf(image, t.Value), plot.Width, 1), t.Label != null ? Grid : MinorGrid);
        foreach (var t in x.Ticks)
            canvas.Fill(new Rect(ColumnOf(image, t.Value), plot.Y, 1, plot.Height), t.Label != null ? Grid : MinorGrid);
        canvas.Outline(plot, Muted);
        foreach (var t in y.Ticks)
        {
            int row = RowOf(image, t.Value);
            int length = t.Label != null ? tick : tick / 2;                     // minor ticks are half as long
            canvas.Fill(new Rect(plot.X - length, row, length, 1), Muted);
            if (t.Label != null)
                Text(image, t.Label, plot.X - tick - 3 * scale - BitmapFont.MeasureWidth(t.Label, scale),
                     row - charH / 2, scale, Muted);
        }
        foreach (var t in x.Ticks)
        {
            int column = ColumnOf(image, t.Value);
            canvas.Fill(new Rect(column, plot.Bottom, 1, t.Label != null ? tick : tick / 2), Muted);
            if (t.Label != null)
                Text(image, t.Label, column - BitmapFont.MeasureWidth(t.Label, scale) / 2,
                     plot.Bottom + tick + 3 * scale, scale, Muted);
        }
        if (xLabel is { Length: > 0 })
            Text(image, xLabel, plot.X + (plot.Width - BitmapFont.MeasureWidth(xLabel, scale)) / 2,
                 plot.Bottom + tick + 3 * scale + charH + Margin, scale, Ink);
        if (yLabel is { Length: > 0 })
        {
            image.Texts.Add(yLabel);
            BitmapFont.DrawVertical(canvas, yLabel, Margin,
                                    plot.Y + (plot.Height + BitmapFont.MeasureWidth(yLabel, scale)) / 2, scale, Ink);
        }
    }

    // A box in the corner of the plot that hides the fewest line points: a swatch and "name  last-value" per series,
    // and a note on the smoothing when a series is smoothed.
    static Rect DrawLegend(ChartImage image, List<Line> lines, List<Pixels> pixels, int scale)
    {
        var canvas = image.Canvas;
        int swatch = 16 * scale, pad = 6 * scale, rowH = (BitmapFont.CapHeight + 5) * scale;
        string Last(Line l) => ChartAxis.FormatValue(Unplot(image.YAxis!, (l.Smooth ?? l.Y)[^1]));
        int nameLength = lines.Max(l => l.Name.Length);                        // monospace: values line up
        var labels = lines.Select(l => l.Name.PadRight(nameLength) + "  " + Last(l)).ToList();
        var windows = lines.Where(l => l.Smooth != null).Select(l => (int)Math.Round(l.Y.Length / SmoothWindow))
                           .Distinct().ToList();
        string? note = windows.Count switch
        {
            0 => null,
            1 => $"smoothed: EMA, {windows[0]} points",
            _ => "smoothed: EMA",
        };
        int rows = lines.Count + (note != null ? 1 : 0);
        int w = 2 * pad + Math.Max(swatch + pad + labels.Max(s => BitmapFont.MeasureWidth(s, scale)),
                                   note != null ? BitmapFont.MeasureWidth(note, scale) : 0);
        int h = 2 * pad + rows * rowH - 5 * scale;
        var plot = image.Plot;
        int inset = 8 * scale;
        int x0 = plot.X + inset, x1 = plot.Right - inset - w, y0 = plot.Y + inset, y1 = plot.Bottom - inset - h;
        Rect[] corners = [new(x1, y0, w, h), new(x0, y0, w, h), new(x0, y1, w, h), new(x1, y1, w, h)];
        var box = corners.MinBy(r => pixels.Sum(p => Hidden(r, p.Xs, p.Raw) + Hidden(r, p.Xs, p.Smooth)));  // ties: 1st
        canvas.Fill(box, White);
        canvas.Outline(box, Grid);
        for (int i = 0; i < lines.Count; i++)
        {
            int rowY = box.Y + pad + i * rowH;
            int swatchY = rowY + BitmapFont.CapHeight * scale / 2 - scale;
            canvas.Fill(new Rect(box.X + pad, swatchY, swatch, 2 * scale), lines[i].Color);
            Text(image, labels[i], box.X + pad + swatch + pad, rowY, scale, Ink);
        }
        if (note != null)
            Text(image, note, box.X + pad, box.Y + pad + lines.Count * rowH, scale, Muted);
        return box;
    }

    static int Hidden(Rect r, double[] xs, double[]? ys)
    {
        int count = 0;
        for (int i = 0; ys != null && i < xs.Length; i++)
            if (r.Contains(xs[i], ys[i]))
                count++;
        return count;
    }

    static Pixels ToPixels(ChartImage image, Line line)
    {
        var p = image.Plot;
        double[] xs = line.X.Select(v => p.X + image.XAxis!.Fraction(v) * p.Width).ToArray();
        double[] Rows(double[] ys) => ys.Select(v => p.Bottom - image.YAxis!.Fraction(v) * p.Height).ToArray();
        return new Pixels(xs, Rows(line.Y), line.Smooth == null ? null : Rows(line.Smooth));
    }

    // The pixel row / column of a tick at data value v, kept inside the plot.
    static int RowOf(ChartImage image, double v) =>
        Math.Clamp((int)(image.Plot.Bottom - image.YAxis!.Fraction(image.YAxis.Plotted(v)) * image.Plot.Height),
                   image.Plot.Y, image.Plot.Bottom - 1);

    static int ColumnOf(ChartImage image, double v) =>
        Math.Clamp((int)(image.Plot.X + image.XAxis!.Fraction(image.XAxis.Plotted(v)) * image.Plot.Width),
                   image.Plot.X, image.Plot.Right - 1);

    static double Unplot(ChartAxis axis, double plotted) => axis.Log ? Math.Pow(10, plotted) : plotted;

    static bool IsPoint(ChartSeries s, int i) => double.IsFinite(s.X[i]) && double.IsFinite(s.Y[i]);

    // The finite points of s in plotted space, and their EMA when there are enough of them (see the file header).
    static Line Finite(ChartSeries s, bool logX, bool logY, Rgb color)
    {
        var keep = Enumerable.Range(0, s.X.Length).Where(i => IsPoint(s, i)).ToArray();
        double[] x = keep.Select(i => logX ? Math.Log10(s.X[i]) : s.X[i]).ToArray();
        double[] y = keep.Select(i => logY ? Math.Log10(s.Y[i]) : s.Y[i]).ToArray();
        return new Line(s.Name, color, x, y, IsNoisy(y) ? Ema(y, 1 - SmoothWindow / y.Length) : null);
    }

    /// <summary>True when y has at least SmoothFrom points and the median of |y[i] - (y[i-1] + y[i+1])/2| (zero on
    /// any straight or gently curving stretch) is over 0.2% of the range of y.</summary>
    internal static bool IsNoisy(double[] y)
    {
        if (y.Length < SmoothFrom)
            return false;
        var bend = new double[y.Length - 2];
        for (int i = 1; i < y.Length - 1; i++)
            bend[i - 1] = Math.Abs(y[i] - (y[i - 1] + y[i + 1]) / 2);
        Array.Sort(bend);
        return bend[bend.Length / 2] > 0.002 * (y.Max() - y.Min());
    }

    /// <summary>Debiased exponential moving average: out[i] = sum_j a^(i-j)(1-a) y[j] / (1 - a^(i+1)).</summary>
    internal static double[] Ema(double[] y, double a)
    {
        var output = new double[y.Length];
        double sum = 0, weight = 0;
        for (int i = 0; i < y.Length; i++)
        {
            sum = a * sum + (1 - a) * y[i];
            weight = a * weight + (1 - a);                                      // = 1 - a^(i+1)
            output[i] = sum / weight;
        }
        return output;
    }

    static void Text(ChartImage image, string text, int x, int y, int scale, Rgb color) =>
        Text(image.Canvas, image.Texts, text, x, y, scale, color);

    static void Text(Canvas canvas, List<string> texts, string text, int x, int y, int scale, Rgb color)
    {
        texts.Add(text);
        BitmapFont.Draw(canvas, text, x, y, scale, color);
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // CSV

    /// <summary>The named columns of a CSV file as doubles (NaN where a cell is empty or not finite), read as
    /// <see cref="PlotCsv"/> reads it; the same errors.</summary>
    public static Dictionary<string, double[]> ReadCsv(string path, IReadOnlyList<string> wanted)
    {
        if (!File.Exists(path))
            throw new ArgumentException($"Chart.PlotCsv: {path} does not exist.", "csvPath");
        string[] lines;                                                         // blank lines included: numbers match
        var share = FileShare.ReadWrite | FileShare.Delete;                    // the trainer may hold it open
        using (var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, share)))
            lines = reader.ReadToEnd().Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        int last = Array.FindLastIndex(lines, l => l.Trim().Length > 0);
        if (last < 0)
            throw new InvalidDataException($"Chart.PlotCsv: {path} is empty (no header line).");
        int first = Array.FindIndex(lines, l => l.Trim().Length > 0);
        string[] header = lines[first].Split(',').Select(h => h.Trim()).ToArray();
        var index = new Dictionary<string, int>();
        foreach (string name in wanted)
        {
            index[name] = Array.IndexOf(header, name);
            if (index[name] < 0)
                throw new ArgumentException(
                    $"Chart.PlotCsv: column '{name}' is not in {path}; its columns are: {string.Join(", ", header)}.");
        }
        var values = index.Keys.ToDictionary(name => name, _ => new List<double>());
        for (int n = first + 1; n <= last; n++)
        {
            if (lines[n].Trim().Length == 0)
                continue;
            string[] cells = lines[n].Split(',');
            if (cells.Length < header.Length && n == last)
                break;                                                          // a last line still being written
            if (cells.Length != header.Length)
                throw new InvalidDataException($"Chart.PlotCsv: {path} line {n + 1} has {cells.Length} fields " +
                                               $"but the header has {header.Length}.");
            foreach (var (name, i) in index)
                values[name].Add(Cell(cells[i], path, n + 1, name));
        }
        return values.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
    }

    static double Cell(string cell, string path, int line, string column)
    {
        string s = cell.Trim();
        if (s.Length == 0)
            return double.NaN;
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            return v;
        if (s.ToLowerInvariant() is "nan" or "-nan" or "inf" or "+inf" or "-inf" or "infinity" or "-infinity")
            return double.NaN;
        throw new InvalidDataException($"Chart.PlotCsv: {path} line {line}, column '{column}': '{s}' is not a number.");
    }
}
