// How visible the watermark is on flat dark world clips (issue 19's "no visible pattern in a contact sheet"), before
// (the uniform 2.4-level step) and after (the perceptual step). Slow; the proxy is per-pixel CIE lightness:
//   dL* = |L*(marked) - L*(unmarked)|, L* of the pixel's relative luminance (sRGB), one unit ~ one just-noticeable
//   difference; reported over the flat dark pixels (unmarked luma < 64, 5 x 5 standard deviation < 0.5).
// With SPACETIME_WM_SHEET=FILE.png it also writes the contact sheet of docs/watermark-visibility.png:
//   SPACETIME_WM_SHEET=docs/watermark-visibility.png nice -n 10 \
//     dotnet test tests/Spacetime.Tests -c Release --filter "FullyQualifiedName~WatermarkVisibility"
using System.Globalization;
using System.Text;
using Spacetime.Media;
using Spacetime.Media.Provenance;
using Spacetime.World;
using Xunit.Abstractions;
using static Spacetime.Tests.Provenance.ProvenanceTestKit;

namespace Spacetime.Tests.Provenance;

[Trait("Category", "Slow")]
public sealed class WatermarkVisibility(ITestOutputHelper output)
{
    const uint Payload = 0xC0FFEE42;

    [Fact]
    public void Measure()
    {
        var report = new StringBuilder();
        report.AppendLine("| clip (plain background) | embed | PSNR dB | flat dark px | share dL* > 1 | mean dL* | max dL* | z | z CRF 28 | z CRF 35 |");
        report.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        Frames? sheetClip = null;
        using var tmp = new TempDir();
        foreach (var (seed, background) in PlainDarkClips(4))
        {
            var clip = WorldVideo(seed);
            sheetClip ??= background.Contains("navy", StringComparison.Ordinal) ? clip : null;
            foreach (bool perceptual in new[] { false, true })
            {
                var marked = Watermark.Embed(clip, Payload, new WatermarkSettings(Perceptual: perceptual));
                var (flat, above, mean, max) = LightnessChange(clip, marked);
                double z = Watermark.Detect(marked).ZScore;
                var zc = new double[2];
                if (Ffmpeg.IsAvailable)
                    for (int k = 0; k < 2; k++)
                    {
                        string path = tmp.File($"{seed}{perceptual}{k}.mp4");
                        VideoFile.Write(path, marked, new VideoWriteOptions { Ffmpeg = new(Crf: k == 0 ? 28 : 35) });
                        zc[k] = Watermark.Detect(VideoFile.Read(path)).ZScore;
                    }
                report.AppendLine(CultureInfo.InvariantCulture,
                    $"| {seed} ({background}) | {(perceptual ? "perceptual" : "uniform 2.4")} | {Psnr(clip, marked):F2} | " +
                    $"{flat} | {100.0 * above / Math.Max(1, flat):F1}% | {mean:F2} | {max:F2} | {z:F1} | {zc[0]:F1} | {zc[1]:F1} |");
            }
        }
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("SPACETIME_WM_REPORT") is { Length: > 0 } reportPath)
            File.WriteAllText(reportPath, report.ToString());
        if (Environment.GetEnvironmentVariable("SPACETIME_WM_SHEET") is { Length: > 0 } sheetPath && sheetClip != null)
            WriteSheet(sheetPath, sheetClip);
    }

    // The first `perColour` world clips (seeds from 1000) with a plain black, navy and dark grey background each.
    static IEnumerable<(long Seed, string Background)> PlainDarkClips(int perColour)
    {
        var found = new Dictionary<string, int>();
        for (long seed = 1000; seed < 3000 && found.Values.Sum() < 3 * perColour; seed++)
        {
            string bg = WorldClip.Describe(new ClipSettings(seed, 128, 128, 2, 8)).Background;
            if (!bg.StartsWith("plain:", StringComparison.Ordinal)) continue;
            string colour = bg[6..bg.IndexOf('/')];
            if (colour == "brown" || found.GetValueOrDefault(colour) >= perColour) continue;
            found[colour] = found.GetValueOrDefault(colour) + 1;
            yield return (seed, colour);
        }
    }

    /// <summary>Over the flat dark pixels of <paramref name="clip"/>: how many, how many changed by more than one unit
    /// of L*, the mean and the largest change.</summary>
    internal static (int Flat, int Above, double Mean, double Max) LightnessChange(Frames clip, Frames marked)
    {
        int W = clip.Width, H = clip.Height, flat = 0, above = 0;
        double sum = 0, max = 0;
        for (int t = 0; t < clip.Count; t++)
        {
            float[] y = Watermark.Luma(clip.Frame(t), W, H);
            for (int yy = 2; yy < H - 2; yy++)
                for (int xx = 2; xx < W - 2; xx++)
                {
                    double m = 0, m2 = 0;
                    for (int dy = -2; dy <= 2; dy++)
                        for (int dx = -2; dx <= 2; dx++) { double v = y[(yy + dy) * W + xx + dx]; m += v; m2 += v * v; }
                    m /= 25;
                    if (y[yy * W + xx] >= 64 || m2 / 25 - m * m >= 0.25) continue;
                    int i = ((t * H + yy) * W + xx) * 3;
                    double d = Math.Abs(PixelLightness(marked.Rgb, i) - PixelLightness(clip.Rgb, i));
                    flat++;
                    above += d > 1 ? 1 : 0;
                    sum += d;
                    max = Math.Max(max, d);
                }
        }
        return (flat, above, flat > 0 ? sum / flat : 0, max);
    }

    static double PixelLightness(byte[] rgb, int i) => Watermark.LightnessOfY(0.2126 * Watermark.SrgbToLinear(rgb[i]) +
        0.7152 * Watermark.SrgbToLinear(rgb[i + 1]) + 0.0722 * Watermark.SrgbToLinear(rgb[i + 2]));

    // Rows of four frames (0, 5, 10, 15), each pixel drawn 2 x 2: unmarked; uniform 2.4; perceptual; and each mark's
    // difference from the unmarked clip, times 16 around grey 128.
    static void WriteSheet(string path, Frames clip)
    {
        var uniform = Watermark.Embed(clip, Payload, new WatermarkSettings(Perceptual: false));
        var perceptual = Watermark.Embed(clip, Payload, new WatermarkSettings(Perceptual: true));
        int[] picks = [0, 5, 10, 15];
        int W = clip.Width, H = clip.Height;
        var rows = new List<Func<int, int, byte>>
        {
            (f, i) => clip.Rgb[f + i], (f, i) => uniform.Rgb[f + i], (f, i) => perceptual.Rgb[f + i],
            (f, i) => (byte)Math.Clamp(128 + 16 * (uniform.Rgb[f + i] - clip.Rgb[f + i]), 0, 255),
            (f, i) => (byte)Math.Clamp(128 + 16 * (perceptual.Rgb[f + i] - clip.Rgb[f + i]), 0, 255),
        };
        var sheet = new Frames(rows.Count * picks.Length, 2 * H, 2 * W, clip.Fps);
        for (int r = 0; r < rows.Count; r++)
            for (int k = 0; k < picks.Length; k++)
            {
                int f = picks[k] * clip.FrameBytes, o = (r * picks.Length + k) * sheet.FrameBytes;
                for (int y = 0; y < 2 * H; y++)
                    for (int x = 0; x < 2 * W; x++)
                        for (int c = 0; c < 3; c++)
                            sheet.Rgb[o + (y * 2 * W + x) * 3 + c] = rows[r](f, ((y / 2) * W + x / 2) * 3 + c);
            }
        ContactSheet.Write(path, sheet, new ContactSheetOptions(Columns: picks.Length,
            Label: "Rows 1-5: unmarked, marked uniform 2.4 levels (before), marked perceptual (after), " +
                   "difference x16 before, difference x16 after. Pixels drawn 2x2."));
    }
}
