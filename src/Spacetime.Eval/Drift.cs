// Drift: how far a long video wanders between its start and its end (the failure of long generation by chunked
// extension: colours shift, objects appear or vanish, detail washes out). Measured on the first and the last tenth
// of the frames:
//   colour     total-variation distance between the two parts' colour histograms (4 x 4 x 4 RGB bins): 0 = the same
//              colours in the same amounts, 1 = no colour in common
//   objects    mean number of objects ObjectFinder sees per frame in each part
//   sharpness  mean absolute luma step between neighbouring pixels (|dx| + |dy|, 0-255 levels) in each part
namespace Spacetime.Eval;

using Spacetime.Media;

/// <summary>Start-to-end change of a video (first vs last tenth of its frames).</summary>
public sealed record DriftReport(double ColourDistance, double ObjectsFirst, double ObjectsLast, double SharpnessFirst,
                                 double SharpnessLast)
{
    /// <summary>One line for a console: "colour 0.04, objects 2.1 -> 1.8, sharpness 9.5 -> 7.2".</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"colour distance {ColourDistance:0.00}, objects {ObjectsFirst:0.0} -> {ObjectsLast:0.0}, " +
        $"sharpness {SharpnessFirst:0.0} -> {SharpnessLast:0.0}");
}

/// <summary>Measures <see cref="DriftReport"/>.</summary>
public static class Drift
{
    /// <summary>Compares the first and last <paramref name="share"/> of the frames (at least one frame each).</summary>
    public static DriftReport Measure(Frames video, double share = 0.1)
    {
        if (video.Count == 0) throw new ArgumentException("Drift: the video has no frames.");
        int n = Math.Max(1, (int)Math.Round(video.Count * share));
        var first = Enumerable.Range(0, n).ToArray();
        var last = Enumerable.Range(video.Count - n, n).ToArray();
        double[] h1 = Histogram(video, first), h2 = Histogram(video, last);
        double distance = 0.5 * h1.Zip(h2, (a, b) => Math.Abs(a - b)).Sum();
        return new DriftReport(distance, Objects(video, first), Objects(video, last), Sharpness(video, first),
                               Sharpness(video, last));
    }

    // colour histogram over 4 x 4 x 4 RGB bins, normalised to sum 1
    static double[] Histogram(Frames video, int[] frames)
    {
        var h = new double[64];
        foreach (int t in frames)
        {
            ReadOnlySpan<byte> rgb = video.Frame(t);
            for (int i = 0; i < rgb.Length; i += 3) h[(rgb[i] >> 6) * 16 + (rgb[i + 1] >> 6) * 4 + (rgb[i + 2] >> 6)]++;
        }
        double total = h.Sum();
        for (int i = 0; i < h.Length; i++) h[i] /= total;
        return h;
    }

    static double Objects(Frames video, int[] frames) => frames.Average(t => ObjectFinder.Find(video, t).Count);

    static double Sharpness(Frames video, int[] frames)
    {
        int w = video.Width, h = video.Height;
        double sum = 0;
        var luma = new double[w * h];
        foreach (int t in frames)
        {
            ReadOnlySpan<byte> rgb = video.Frame(t);
            for (int i = 0; i < luma.Length; i++) luma[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    if (x + 1 < w) sum += Math.Abs(luma[y * w + x + 1] - luma[y * w + x]);
                    if (y + 1 < h) sum += Math.Abs(luma[(y + 1) * w + x] - luma[y * w + x]);
                }
        }
        return sum / (frames.Length * (double)w * h);
    }
}
