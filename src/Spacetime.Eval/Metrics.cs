// Metrics: what one video scores against the exactly known scene it was asked to show. Every metric is computed from
// the video's pixels (ObjectFinder) and the simulator's truth (ClipTruth) only, so the simulator's own video (the
// ceiling), a model's sample and the untrained floor are measured the same way. The definitions are in Metrics.All,
// the one list that the report's legend also prints.
//
// What the truth says about an object in a frame (Sight: Seen, Unsure, Gone; Metrics.Terms) lets a metric skip the
// frames where the finder may rightly go either way: an object half behind the block or half out of view.
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Eval;

/// <summary>The metrics, in report order.</summary>
public enum Metric { Colour, Shape, Count, Constancy, Direction, Permanence, Gravity, Flicker, Seam, Psnr, Ssim, Fvd }

/// <summary>What a metric is and how to read it.</summary>
/// <param name="Key">Name in report.json.</param>
/// <param name="Title">Row name in report.md.</param>
/// <param name="PassRate">True: each video passes (1) or fails (0) and the value is the fraction passing; false: the
/// value is the mean of a per-video number.</param>
/// <param name="HigherIsBetter">Which way is better.</param>
/// <param name="Definition">Exactly what is computed, and which videos it applies to.</param>
public sealed record MetricInfo(Metric Metric, string Key, string Title, bool PassRate, bool HigherIsBetter,
                                string Definition);

/// <summary>The metric definitions.</summary>
public static class Metrics
{
    /// <summary>Least net motion (world units, a tenth of the arena's short side) for a clear direction.</summary>
    public const double ClearMove = 1.0;
    /// <summary>PSNR of identical videos (+infinity) is counted as this many dB in means.</summary>
    public const double PsnrCap = 100;

    /// <summary>The words the definitions use, as the report prints them.</summary>
    public const string Terms =
        "The protagonist is the object the short prompt is about. The truth has an object Seen in a frame when at " +
        "least half of it is visible and that part covers at least 2 x MinArea pixels (MinArea: 0.2% of the frame, " +
        "at least 5), Gone when its visible part covers under MinArea / 2, and Unsure in between; a frame is sure " +
        "when no object in it is Unsure. An object is found when the object finder reports a blob of its colour " +
        "(a scene's objects have distinct colours).";

    /// <summary>Every metric, in report order.</summary>
    public static IReadOnlyList<MetricInfo> All { get; } =
    [
        new(Metric.Colour, "colour", "colour adherence", true, true,
            "The protagonist's colour is found in more than half of the frames where the truth has it Seen. " +
            "Videos: those whose protagonist is Seen in some frame."),
        new(Metric.Shape, "shape", "shape adherence", true, true,
            "Over the frames where the truth shows the protagonist whole (visible >= 0.95, clear of the frame's " +
            "sides and top, at least 2 x MinShapeArea pixels), the shape most often guessed for the blob of its " +
            "colour is its true shape (no guess at all fails). Videos: those with such a frame."),
        new(Metric.Count, "count", "object count", true, true,
            "The median over sure frames of the number of objects found equals the median of the number the truth " +
            "has Seen (lower medians). Videos: those with a sure frame."),
        new(Metric.Constancy, "constancy", "count constancy", true, true,
            "The number of objects found never changes between two consecutive sure frames whose Seen objects are " +
            "the same, and something is found in some frame (an empty video shows nothing that persists). " +
            "Videos: those with such a pair of frames."),
        new(Metric.Direction, "direction", "direction adherence", true, true,
            "Net motion = mean position over the last third of the frames where the truth has the protagonist Seen " +
            "minus the mean over the first third of them (at least 2 such frames). An axis " +
            "(horizontal, vertical) is clear when the protagonist's true net motion is at least ClearMove = 1 world " +
            "unit both in the world and on screen (pixels / (short side / 10)), with the same sign. Passes when, " +
            "on every clear axis, the found protagonist's net motion (mean of its found centroids in each third) " +
            "has the same sign and at least half of ClearMove. Videos: those with a clear axis."),
        new(Metric.Permanence, "permanence", "permanence through occlusion", true, true,
            "Every object that the truth says goes behind the block and reappears is found in more than half of " +
            "the frames after it reappears in which the truth has it Seen. Videos: those with such an object."),
        new(Metric.Gravity, "gravity", "gravity (parabolic flight)", true, true,
            "For the protagonist's longest free flight (frames between its bounces, collisions and stops where " +
            "the truth has it Seen, at least 5, whose true screen height fits a downward-accelerating parabola): " +
            "a least-squares parabola through the found centroid heights (at least 4) accelerates downward at " +
            "least a quarter as much as the truth's parabola, with an RMS residual of at most max(1 px, 3% of the " +
            "frame height). Videos: scenes with gravity and such a flight."),
        new(Metric.Flicker, "flicker", "flicker (levels, lower is better)", false, false,
            "Mean absolute change between consecutive frames (RGB levels 0..255, averaged over channels) over the " +
            "pixels that are static in the simulator's video and outside the boxes (grown by 1 px) of the objects " +
            "found in either frame; frame pairs with under 5% such pixels are skipped. Videos: those with such a pair."),
        new(Metric.Seam, "seam", "seam jump (x, 1 = none)", false, false,
            "How much more a video changes where the model's time tokens meet than elsewhere: the mean absolute " +
            "change between frames k - 1 and k over all pixels and channels (levels), averaged over the seam frames " +
            "k (each frame that starts a new DiT time token; LatentGeometry.Seams) and over the other frames, " +
            "plus 0.5 levels each, divided. A model that jumps every time token scores well above 1; the " +
            "simulator's smooth motion scores about 1. Videos: those with a seam and another frame pair."),
        new(Metric.Psnr, "psnr", "PSNR vs simulator (dB)", false, true,
            "PSNR of the video against the simulator's frames of the same scene (identical: counted as 100 dB). " +
            "A reconstruction measure (the VAE round trip); a generator that draws the scene differently scores " +
            "low by design. Videos: all."),
        new(Metric.Ssim, "ssim", "SSIM vs simulator", false, true,
            "Mean SSIM of the video's luma against the simulator's frames (11x11 Gaussian window, sigma 1.5). " +
            "Like PSNR, a reconstruction measure. Videos: all."),
        new(Metric.Fvd, "fvd", "Fréchet video distance (lower is better)", false, false,
            "A set metric, one value per system: the Fréchet distance between Gaussians fitted to the world " +
            "classifier's pooled features (`spacetime train classifier`; I3D's place in FVD) of the system's videos " +
            "and of ReferenceFactor x N simulator clips of other scenes (never the evaluated ones). The simulator " +
            "column is the ceiling (what sampling N scenes alone costs), the untrained model the floor; it compares " +
            "only at the same N. Videos: all, when `eval` has a classifier."),
    ];

    /// <summary>The definition of one metric.</summary>
    public static MetricInfo Info(Metric m) => All[(int)m];
}

/// <summary>What the truth says about one object in one frame (see the file header).</summary>
internal enum Sight { Seen, Unsure, Gone }

/// <summary>A scene's truth, read once: per frame and object its colour, shape and Sight.</summary>
internal sealed class SceneTruth
{
    public ClipTruth Truth { get; }
    /// <summary>The object the short prompt is about.</summary>
    public int Protagonist { get; }
    public Colour[] Colours { get; }
    public Shape[] Shapes { get; }
    readonly Sight[] sight;                                                   // (frames, objects)

    public SceneTruth(ClipTruth truth, int protagonist)
    {
        Truth = truth;
        Protagonist = protagonist;
        Colours = truth.Objects.Select(o => (Colour)IndexOf(CaptionGrammar.Colours, o.Colour)).ToArray();
        Shapes = truth.Objects.Select(o => CaptionGrammar.ShapeSynonyms[o.Shape]).ToArray();
        int minArea = ObjectFinder.MinArea(truth.Width, truth.Height);
        sight = new Sight[Frames * Objects];
        for (int k = 0; k < Frames; k++)
            for (int o = 0; o < Objects; o++)
            {
                var s = truth.Frames[k].Objects[o];
                double pixels = s.Visible * FullArea(o, k);
                sight[k * Objects + o] = s.Visible >= 0.5 && pixels >= 2 * minArea ? Sight.Seen
                                       : pixels < minArea / 2.0 ? Sight.Gone : Sight.Unsure;
            }
    }

    public int Frames => Truth.FrameCount;
    public int Objects => Truth.Objects.Count;
    public int Width => Truth.Width;
    public int Height => Truth.Height;
    /// <summary>Pixels per world unit when the camera shows the whole arena.</summary>
    public double PixelsPerUnit => Math.Min(Width, Height) / Scene.ShortSide;

    public Sight SightOf(int frame, int obj) => sight[frame * Objects + obj];
    public ObjectState State(int frame, int obj) => Truth.Frames[frame].Objects[obj];
    /// <summary>No object in the frame is Unsure.</summary>
    public bool Sure(int frame) => Enumerable.Range(0, Objects).All(o => SightOf(frame, o) != Sight.Unsure);
    public int SeenCount(int frame) => Enumerable.Range(0, Objects).Count(o => SightOf(frame, o) == Sight.Seen);

    /// <summary>The object's whole area in pixels, from its box: a disc fills pi/4 of it, a triangle half.</summary>
    public double FullArea(int obj, int frame)
    {
        var b = State(frame, obj).Box;
        double box = (b[2] - b[0]) * (b[3] - b[1]);
        return Shapes[obj] switch { Shape.Circle => Math.PI / 4 * box, Shape.Square => box, _ => box / 2 };
    }

    static int IndexOf(IReadOnlyList<string> words, string word)
    {
        for (int i = 0; i < words.Count; i++)
            if (words[i] == word) return i;
        throw new ArgumentException($"truth names an unknown colour '{word}'");
    }
}

/// <summary>Scores one video against its scene: a value per <see cref="Metric"/>, null where it does not apply.</summary>
internal static class VideoScorer
{
    public static double?[] Score(SceneTruth scene, Frames video, Frames simulator, IReadOnlyList<int>? seams = null)
    {
        var found = ObjectFinder.FindAll(video).Select(f => f.ToDictionary(b => b.Colour)).ToArray(); // (T) colour->object
        var scores = new double?[Metrics.All.Count];
        scores[(int)Metric.Colour] = ColourAdherence(scene, found);
        scores[(int)Metric.Shape] = ShapeAdherence(scene, found);
        scores[(int)Metric.Count] = ObjectCount(scene, found);
        scores[(int)Metric.Constancy] = CountConstancy(scene, found);
        scores[(int)Metric.Direction] = DirectionAdherence(scene, found);
        scores[(int)Metric.Permanence] = Permanence(scene, found);
        scores[(int)Metric.Gravity] = Gravity(scene, found);
        scores[(int)Metric.Flicker] = Flicker(video, simulator, found);
        scores[(int)Metric.Seam] = Seam(video, seams ?? []);
        scores[(int)Metric.Psnr] = Math.Min(Fidelity.Psnr(video, simulator), Metrics.PsnrCap);
        scores[(int)Metric.Ssim] = Fidelity.Ssim(video, simulator);
        return scores;
    }

    /// <summary>Shape adherence of <paramref name="video"/>'s frames from <paramref name="from"/> on (the
    /// continuation test's "shape kept").</summary>
    public static double? ShapeFrom(SceneTruth scene, Frames video, int from) =>
        ShapeAdherence(scene, ObjectFinder.FindAll(video).Select(f => f.ToDictionary(b => b.Colour)).ToArray(), from);

    static double Pass(bool ok) => ok ? 1 : 0;

    static double? ColourAdherence(SceneTruth s, Dictionary<Colour, Blob>[] found)
    {
        var seen = AllFrames(s).Where(k => s.SightOf(k, s.Protagonist) == Sight.Seen).ToList();
        if (seen.Count == 0) return null;
        return Pass(2 * seen.Count(k => found[k].ContainsKey(s.Colours[s.Protagonist])) > seen.Count);
    }

    /// <summary>Shape adherence over the frames from <paramref name="from"/> on: the majority shape of the
    /// protagonist's colour, over the frames where the truth has it whole, in view and large enough to tell; null where
    /// there are none.</summary>
    internal static double? ShapeAdherence(SceneTruth s, Dictionary<Colour, Blob>[] found, int from = 0)
    {
        int p = s.Protagonist;
        var whole = Enumerable.Range(from, Math.Max(0, s.Frames - from)).Where(k =>
        {
            var st = s.State(k, p);
            return st.Visible >= 0.95 && st.Box[0] >= 1 && st.Box[1] >= 1 && st.Box[2] <= s.Width - 1
                   && s.FullArea(p, k) >= 2 * ObjectFinder.MinShapeArea;
        }).ToList();
        if (whole.Count == 0) return null;
        var votes = whole.Select(k => found[k].GetValueOrDefault(s.Colours[p])?.Shape).OfType<Shape>()
                         .GroupBy(x => x).Select(g => (Shape: g.Key, Votes: g.Count())).ToList();
        if (votes.Count == 0) return 0;
        int most = votes.Max(v => v.Votes);
        var winners = votes.Where(v => v.Votes == most).ToList();
        return Pass(winners.Count == 1 && winners[0].Shape == s.Shapes[p]);
    }

    static double? ObjectCount(SceneTruth s, Dictionary<Colour, Blob>[] found)
    {
        var sure = AllFrames(s).Where(s.Sure).ToList();
        if (sure.Count == 0) return null;
        return Pass(LowerMedian(sure.Select(k => found[k].Count)) == LowerMedian(sure.Select(s.SeenCount)));
    }

    static double? CountConstancy(SceneTruth s, Dictionary<Colour, Blob>[] found)
    {
        var steady = Enumerable.Range(1, Math.Max(0, s.Frames - 1))
            .Where(k => s.Sure(k - 1) && s.Sure(k)
                        && Enumerable.Range(0, s.Objects).All(o => s.SightOf(k - 1, o) == s.SightOf(k, o)))
            .ToList();
        if (steady.Count == 0) return null;
        bool anything = found.Any(f => f.Count > 0);
        return Pass(anything && steady.All(k => found[k - 1].Count == found[k].Count));
    }

    static double? DirectionAdherence(SceneTruth s, Dictionary<Colour, Blob>[] found)
    {
        int p = s.Protagonist;
        var seen = AllFrames(s).Where(k => s.SightOf(k, p) == Sight.Seen).ToArray();
        if (seen.Length < 2) return null;
        int m = Math.Max(1, seen.Length / 3);
        int[] first = seen[..m], last = seen[^m..];
        double scale = s.PixelsPerUnit;
        // Net motion per axis (x, y), in world units with y up: in the world, on screen, and as found.
        (double X, double Y) World(int[] ks) =>
            (ks.Average(k => s.State(k, p).CenterWorld[0]), ks.Average(k => s.State(k, p).CenterWorld[1]));
        (double X, double Y) Screen(int[] ks) =>
            (ks.Average(k => s.State(k, p).CenterPx[0]) / scale, -ks.Average(k => s.State(k, p).CenterPx[1]) / scale);
        var (w0, w1, s0, s1) = (World(first), World(last), Screen(first), Screen(last));
        double[] world = [w1.X - w0.X, w1.Y - w0.Y], screen = [s1.X - s0.X, s1.Y - s0.Y];
        var clear = Enumerable.Range(0, 2).Where(a => Math.Abs(world[a]) >= Metrics.ClearMove
            && Math.Abs(screen[a]) >= Metrics.ClearMove && Math.Sign(world[a]) == Math.Sign(screen[a])).ToList();
        if (clear.Count == 0) return null;

        var colour = s.Colours[p];
        var b0 = first.Select(k => found[k].GetValueOrDefault(colour)).OfType<Blob>().ToList();
        var b1 = last.Select(k => found[k].GetValueOrDefault(colour)).OfType<Blob>().ToList();
        if (b0.Count == 0 || b1.Count == 0) return 0;
        double[] moved = [(b1.Average(b => b.X) - b0.Average(b => b.X)) / scale,
                          -(b1.Average(b => b.Y) - b0.Average(b => b.Y)) / scale];
        return Pass(clear.All(a => Math.Sign(moved[a]) == Math.Sign(world[a])
                                   && Math.Abs(moved[a]) >= Metrics.ClearMove / 2));
    }

    static double? Permanence(SceneTruth s, Dictionary<Colour, Blob>[] found)
    {
        var checks = new List<bool>();
        for (int o = 0; o < s.Objects; o++)
        {
            var events = s.Truth.Events.Where(e => e.Object == o).ToList();
            var back = events.FirstOrDefault(e => e.Kind == "reappears"
                                                  && events.Any(g => g.Kind == "goesBehind" && g.Time < e.Time));
            if (back is null) continue;
            var after = Enumerable.Range(back.Frame, s.Frames - back.Frame)
                                  .Where(k => s.SightOf(k, o) == Sight.Seen).ToList();
            if (after.Count == 0) continue;
            checks.Add(2 * after.Count(k => found[k].ContainsKey(s.Colours[o])) > after.Count);
        }
        return checks.Count == 0 ? null : Pass(checks.All(ok => ok));
    }

    /// <summary>A free flight lasts at least this many frames with the protagonist Seen.</summary>
    const int MinFlightFrames = 5;

    static double? Gravity(SceneTruth s, Dictionary<Colour, Blob>[] found)
    {
        if (!s.Truth.Gravity) return null;
        int p = s.Protagonist;
        double tolerance = Math.Max(1, 0.03 * s.Height);                       // RMS residual, pixels
        double least = 0.5 * (0.5 * Scene.G * s.PixelsPerUnit);          // half of g/2 in px/s², whole view
        var cuts = s.Truth.Events
                              .Where(e => e.Object == p && e.Kind is "floorBounce" or "collision" or "ceiling" or "stop")
                                 .Select(e => e.Frame).Append(0).Append(s.Frames).Distinct().Order().ToList();
        List<int>? flight = null;
        double trueA = 0;
        for (int c = 0; c + 1 < cuts.Count; c++)
        {
            var ks = Enumerable.Range(cuts[c], cuts[c + 1] - cuts[c]).Where(k => s.SightOf(k, p) == Sight.Seen).ToList();
            if (ks.Count < MinFlightFrames || (flight is not null && ks.Count <= flight.Count)) continue;
            var fit = Parabola.Fit(ks.Select(k => s.Truth.Frames[k].Time).ToArray(),
                                   ks.Select(k => s.State(k, p).CenterPx[1]).ToArray());
            if (fit.A >= least && fit.Rms <= tolerance) (flight, trueA) = (ks, fit.A);
        }
        if (flight is null) return null;
        var track = flight.Where(k => found[k].ContainsKey(s.Colours[p])).ToList();
        if (track.Count < 4) return 0;
        var seen = Parabola.Fit(track.Select(k => s.Truth.Frames[k].Time).ToArray(),
                                track.Select(k => found[k][s.Colours[p]].Y).ToArray());
        return Pass(seen.A >= 0.25 * trueA && seen.Rms <= tolerance);
    }

    static double? Flicker(Frames video, Frames simulator, Dictionary<Colour, Blob>[] found)
    {
        int w = video.Width, h = video.Height, n = w * h;
        var near = found.Select(f => NearObjects(f.Values, w, h)).ToArray();   // (T)(H, W): on or next to an object
        double total = 0;
        int pairs = 0;
        for (int k = 1; k < video.Count; k++)
        {
            ReadOnlySpan<byte> a = video.Frame(k - 1), b = video.Frame(k);
            ReadOnlySpan<byte> sa = simulator.Frame(k - 1), sb = simulator.Frame(k);
            long sum = 0;
            int count = 0;
            for (int i = 0; i < n; i++)
            {
                int o = 3 * i;
                if (near[k - 1][i] || near[k][i] || sa[o] != sb[o] || sa[o + 1] != sb[o + 1] || sa[o + 2] != sb[o + 2])
                    continue;
                sum += Math.Abs(a[o] - b[o]) + Math.Abs(a[o + 1] - b[o + 1]) + Math.Abs(a[o + 2] - b[o + 2]);
                count++;
            }
            if (count < 0.05 * n) continue;
            total += sum / (3.0 * count);
            pairs++;
        }
        return pairs == 0 ? null : total / pairs;
    }

    // (mean change into a seam frame + 0.5) / (mean change into any other frame + 0.5), levels; see the definition
    internal static double? Seam(Frames video, IReadOnlyList<int> seams)
    {
        double atSeams = 0, elsewhere = 0;
        int seamPairs = 0, otherPairs = 0;
        for (int k = 1; k < video.Count; k++)
        {
            ReadOnlySpan<byte> a = video.Frame(k - 1), b = video.Frame(k);
            long sum = 0;
            for (int i = 0; i < a.Length; i++) sum += Math.Abs(a[i] - b[i]);
            double change = sum / (double)a.Length;
            if (seams.Contains(k)) (atSeams, seamPairs) = (atSeams + change, seamPairs + 1);
            else (elsewhere, otherPairs) = (elsewhere + change, otherPairs + 1);
        }
        return seamPairs == 0 || otherPairs == 0 ? null : (atSeams / seamPairs + 0.5) / (elsewhere / otherPairs + 0.5);
    }

    /// <summary>The found objects' bounding boxes grown by one pixel (their blurred edges) as a mask (H, W).</summary>
    static bool[] NearObjects(IEnumerable<Blob> objects, int w, int h)
    {
        var near = new bool[w * h];
        foreach (var b in objects)
            for (int y = Math.Max(0, b.Y0 - 1); y < Math.Min(h, b.Y1 + 1); y++)
                for (int x = Math.Max(0, b.X0 - 1); x < Math.Min(w, b.X1 + 1); x++)
                    near[y * w + x] = true;
        return near;
    }

    static IEnumerable<int> AllFrames(SceneTruth s) => Enumerable.Range(0, s.Frames);

    static int LowerMedian(IEnumerable<int> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[(sorted.Length - 1) / 2];
    }
}

/// <summary>Least-squares parabola y = A t² + B t + C.</summary>
internal readonly record struct Parabola(double A, double B, double C, double Rms)
{
    /// <summary>Fits at least three points (fewer give A = 0 and the residual of the mean).</summary>
    public static Parabola Fit(double[] t, double[] y)
    {
        int n = t.Length;
        double mean = t.Average();                                             // centre t for conditioning
        var m = new double[3, 4];                                              // normal equations [X'X | X'y]
        for (int i = 0; i < n; i++)
        {
            double u = t[i] - mean;
            double[] row = [u * u, u, 1];
            for (int r = 0; r < 3; r++)
            {
                for (int c = 0; c < 3; c++) m[r, c] += row[r] * row[c];
                m[r, 3] += row[r] * y[i];
            }
        }
        var (a, b, c0) = n >= 3 && Solve(m) is { } x ? (x[0], x[1], x[2]) : (0.0, 0.0, y.Average());
        double ss = 0;
        for (int i = 0; i < n; i++)
        {
            double u = t[i] - mean, e = y[i] - (a * u * u + b * u + c0);
            ss += e * e;
        }
        // back to uncentred t: a (t - mean)² + b (t - mean) + c0
        return new Parabola(a, b - 2 * a * mean, a * mean * mean - b * mean + c0, Math.Sqrt(ss / n));
    }

    /// <summary>Gaussian elimination with partial pivoting on a 3 x 4 augmented matrix; null when singular.</summary>
    static double[]? Solve(double[,] m)
    {
        for (int col = 0; col < 3; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < 3; r++)
                if (Math.Abs(m[r, col]) > Math.Abs(m[pivot, col])) pivot = r;
            if (Math.Abs(m[pivot, col]) < 1e-12) return null;
            for (int c = 0; c < 4; c++) (m[col, c], m[pivot, c]) = (m[pivot, c], m[col, c]);
            for (int r = 0; r < 3; r++)
            {
                if (r == col) continue;
                double f = m[r, col] / m[col, col];
                for (int c = col; c < 4; c++) m[r, c] -= f * m[col, c];
            }
        }
        return [m[0, 3] / m[0, 0], m[1, 3] / m[1, 1], m[2, 3] / m[2, 2]];
    }
}
