// The watermark's measured figures (issue 19): true-positive rate per transformation on marked world videos,
// false-positive rate on videos Spacetime did not mark, and payload bit accuracy. Slow; sizes come from the
// environment so the full set (100 positives, 1,000 negatives) and a quick one share the code:
//   SPACETIME_WM_POSITIVES=30 SPACETIME_WM_NEGATIVES=200 SPACETIME_WM_REPORT=wm.md nice -n 10 \
//     dotnet test tests/Spacetime.Tests -c Release --filter "FullyQualifiedName~WatermarkFigures"
// The positives are world renders, or with SPACETIME_WM_POSITIVES_FROM=MODEL_DIR (e.g. the repository's
// models/spacetime, as an absolute path) that model's own videos: `generate` of each world scene's short prompt, at the
// sizes below and the model's frame count, seed i.
// The report (a markdown table) goes to SPACETIME_WM_REPORT and the test output; the test then checks the goals.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Spacetime.Media;
using Spacetime.Media.Provenance;
using Spacetime.Pipelines;
using Spacetime.World;
using Xunit.Abstractions;
using static Spacetime.Tests.Provenance.ProvenanceTestKit;

namespace Spacetime.Tests.Provenance;

[Trait("Category", "Slow")]
public sealed class WatermarkFigures(ITestOutputHelper output)
{
    // Sizes the positives cycle through: the model's 128x128 and the simulator's landscape and portrait buckets.
    static readonly (int W, int H)[] Sizes = [(128, 128), (160, 96), (96, 160)];

    // Test sources of ffmpeg's lavfi, each with a random twist from its index (rate, size, seed, zoom).
    static string LavfiSource(int k, int w, int h, Random rng) => (k % 9) switch
    {
        0 => $"testsrc=s={w}x{h}:r=8",
        1 => $"testsrc2=s={w}x{h}:r=8",
        2 => $"smptebars=s={w}x{h}:r=8",
        3 => $"mandelbrot=s={w}x{h}:r=8:start_scale={1 + 2 * rng.NextDouble():F3}",
        4 => $"cellauto=s={w}x{h}:r=8:rule={rng.Next(1, 255)}:random_seed={rng.Next()}",
        5 => $"life=s={w}x{h}:r=8:seed={rng.Next()}:mold=10",
        6 => $"gradients=s={w}x{h}:r=8:seed={rng.Next()}",
        7 => $"rgbtestsrc=s={w}x{h}:r=8",
        _ => $"color=c=0x{rng.Next(1 << 24):x6}:s={w}x{h}:r=8,noise=alls={rng.Next(5, 60)}:allf=t",
    };

    [Fact]
    public void Measure()
    {
        if (!Ffmpeg.IsAvailable) return;
        int positives = Env("SPACETIME_WM_POSITIVES", 30), negatives = Env("SPACETIME_WM_NEGATIVES", 200);
        string? modelDir = Environment.GetEnvironmentVariable("SPACETIME_WM_POSITIVES_FROM") is { Length: > 0 } m ? m : null;
        var generator = modelDir is null ? null : new Generator(TextVideoModel.Load(modelDir));
        using var tmp = new TempDir();
        var clock = Stopwatch.StartNew();
        var rng = new Random(20261206);

        // 1) positives: marked world videos through every transformation
        var names = new[] { "none (lossless)" }.Concat(Transformation.All.Select(t => t.Name)).ToArray();
        var found = new int[names.Length];
        var exact = new int[names.Length];
        var bitsRight = new long[names.Length];
        var worstZ = Enumerable.Repeat(double.PositiveInfinity, names.Length).ToArray();
        double minPsnr = double.PositiveInfinity;
        for (int i = 0; i < positives; i++)
        {
            var (w, h) = Sizes[i % Sizes.Length];
            var clip = generator is null ? WorldVideo(seed: 1000 + i, w, h)
                : generator.Generate(new GenerationRequest(WorldClip.Describe(new ClipSettings(1000 + i, w, h, 2, 8)).Prompt)
                  { Width = w, Height = h, Seed = (ulong)i }).Video;
            uint payload = (uint)rng.NextInt64(1L << 32);
            var marked = Watermark.Embed(clip, payload);
            minPsnr = Math.Min(minPsnr, Psnr(clip, marked));
            string source = tmp.File($"p{i}.y4m");
            VideoFile.Write(source, marked);
            for (int k = 0; k < names.Length; k++)
            {
                string path = k == 0 ? source : Transformation.All[k - 1].Apply(source, tmp.Path, $"p{i}t{k}");
                var d = Watermark.Detect(VideoFile.Read(path));
                found[k] += d.Watermarked ? 1 : 0;
                exact[k] += d.Watermarked && d.Payload == payload ? 1 : 0;
                bitsRight[k] += 32 - System.Numerics.BitOperations.PopCount(d.Payload ^ payload);
                worstZ[k] = Math.Min(worstZ[k], d.ZScore);
                if (k > 0) File.Delete(path);
            }
            File.Delete(source);
        }
        double positiveSeconds = clock.Elapsed.TotalSeconds;

        // 2) negatives: videos nobody marked, of five kinds
        var kinds = new[] { "world render", "world render, H.264 CRF 23", "ffmpeg test source, H.264 CRF 23",
                            "uniform random", "smooth random field" };
        var falsePositives = new int[kinds.Length];
        var count = new int[kinds.Length];
        var kindMaxZ = Enumerable.Repeat(double.NegativeInfinity, kinds.Length).ToArray();
        double maxNullZ = double.NegativeInfinity, minNullP = 1;
        for (int i = 0; i < negatives; i++)
        {
            int kind = i % kinds.Length;
            int w = 2 * rng.Next(32, 97), h = 2 * rng.Next(32, 97);                  // 64..192, even
            Frames video = kind switch
            {
                0 => WorldVideo(seed: 50_000 + i, w, h),
                1 => Encoded(WorldVideo(seed: 50_000 + i, w, h), tmp.File($"n{i}.mp4")),
                2 => FromLavfi(LavfiSource(i / kinds.Length, w, h, rng), tmp.File($"n{i}.mp4")),
                3 => UniformNoise(w, h, rng),
                _ => SmoothField(w, h, rng),
            };
            var d = Watermark.Detect(video);
            count[kind]++;
            falsePositives[kind] += d.Watermarked ? 1 : 0;
            maxNullZ = Math.Max(maxNullZ, d.ZScore);
            kindMaxZ[kind] = Math.Max(kindMaxZ[kind], d.ZScore);
            minNullP = Math.Min(minNullP, d.PValue);
        }

        // 3) the report
        var report = new StringBuilder();
        string origin = generator is null ? "world videos (16 frames at 8 fps)"
                                        : $"videos generated by {modelDir} (its frame count and fps)";
        report.AppendLine(CultureInfo.InvariantCulture, $"Watermark figures: {positives} marked {origin} " +
            $"({string.Join(", ", Sizes.Select(s => $"{s.W}x{s.H}"))}), {negatives} unmarked; " +
            $"decision p < {Watermark.DecisionPValue:G}; {clock.Elapsed.TotalSeconds:F0} s " +
            $"({positiveSeconds:F0} s positives).");
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture, $"Embedding PSNR, worst video: {minPsnr:F2} dB");
        report.AppendLine();
        report.AppendLine("| transformation | TPR | payload exact | bit accuracy | lowest z |");
        report.AppendLine("|---|---|---|---|---|");
        for (int k = 0; k < names.Length; k++)
            report.AppendLine(CultureInfo.InvariantCulture,
                $"| {names[k]} | {Rate(found[k], positives)} | {Rate(exact[k], positives)} | " +
                $"{100.0 * bitsRight[k] / (32.0 * positives):F2}% | {worstZ[k]:F1} |");
        report.AppendLine();
        report.AppendLine("| unmarked videos | count | false positives | highest z |");
        report.AppendLine("|---|---|---|---|");
        for (int k = 0; k < kinds.Length; k++)
            report.AppendLine(CultureInfo.InvariantCulture, $"| {kinds[k]} | {count[k]} | {falsePositives[k]} | {kindMaxZ[k]:F2} |");
        report.AppendLine(CultureInfo.InvariantCulture,
            $"| all | {negatives} | {falsePositives.Sum()} ({Rate(falsePositives.Sum(), negatives)}); highest null z " +
            $"{maxNullZ:F2}, lowest p {minNullP:G3} |");
        // 4) issue 19's goals, reported (figures, not a pass/fail: 30 positives cannot show 99%; docs/provenance.md)
        report.AppendLine();
        for (int k = 0; k < names.Length; k++)
        {
            double goal = names[k] == "H.264 CRF 35" ? 0.95 : 0.99;
            report.AppendLine(CultureInfo.InvariantCulture,
                $"goal TPR >= {goal:P0} after {names[k]}: {(found[k] >= goal * positives ? "met" : "NOT met")}");
        }
        output.WriteLine(report.ToString());
        if (Environment.GetEnvironmentVariable("SPACETIME_WM_REPORT") is { Length: > 0 } reportPath)
            File.WriteAllText(reportPath, report.ToString());
        // what must hold whatever the robustness: an untouched marked video is found, and the threshold keeps the
        // false positives at or under 0.1%
        Assert.Equal(positives, found[0]);
        Assert.True(falsePositives.Sum() <= 0.001 * negatives, $"FPR {Rate(falsePositives.Sum(), negatives)} above 0.1%");
    }

    static string Rate(int k, int n) => n == 0 ? "-" : $"{100.0 * k / n:F1}% ({k}/{n})";

    static int Env(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), out int v) && v >= 0 ? v : fallback;

    static Frames Encoded(Frames video, string path)
    {
        VideoFile.Write(path, video, new VideoWriteOptions { Ffmpeg = new(Crf: 23) });
        var back = VideoFile.Read(path);
        File.Delete(path);
        return back;
    }

    static Frames FromLavfi(string source, string path)
    {
        RunFfmpeg(["-f", "lavfi", "-i", source, "-t", "2", "-c:v", "libx264", "-crf", "23", "-pix_fmt", "yuv420p", path]);
        var back = VideoFile.Read(path);
        File.Delete(path);
        return back;
    }

    static Frames UniformNoise(int w, int h, Random rng)
    {
        var v = new Frames(16, h, w, 8);
        rng.NextBytes(v.Rgb);
        return v;
    }

    // "Natural-looking": a few random low-frequency waves per channel, drifting over time, plus mild grain.
    static Frames SmoothField(int w, int h, Random rng)
    {
        var v = new Frames(16, h, w, 8);
        var waves = Enumerable.Range(0, 12).Select(_ => (Fx: rng.NextDouble() * 0.1, Fy: rng.NextDouble() * 0.1,
            Ft: rng.NextDouble() * 0.5, Phase: rng.NextDouble() * 6.3, Amp: 10 + rng.NextDouble() * 30, C: rng.Next(3))).ToArray();
        for (int t = 0; t < v.Count; t++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        double value = 128 + rng.NextDouble() * 4;
                        foreach (var wv in waves)
                            if (wv.C == c) value += wv.Amp * Math.Sin(wv.Fx * x + wv.Fy * y + wv.Ft * t + wv.Phase);
                        v.Rgb[((t * h + y) * w + x) * 3 + c] = (byte)Math.Clamp(value, 0, 255);
                    }
        return v;
    }
}
