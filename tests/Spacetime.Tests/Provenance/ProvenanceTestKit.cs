// Shared helpers of the provenance tests: world clips, in-memory edits (crop, cut, re-time), PSNR, and ffmpeg
// transformations of a video file (the edits a marked video meets in the wild).
using System.Diagnostics;
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Tests.Provenance;

/// <summary>An ffmpeg edit of a video: its name in reports and the ffmpeg output arguments.</summary>
internal sealed record Transformation(string Name, string FfmpegArgs)
{
    const string H264 = "-c:v libx264 -preset medium -pix_fmt yuv420p";

    /// <summary>Each transformation of issue 19; geometric and timing edits are re-encoded at x264's default CRF 23.
    /// </summary>
    public static readonly IReadOnlyList<Transformation> All =
    [
        new("H.264 CRF 23", $"{H264} -crf 23"),
        new("H.264 CRF 28", $"{H264} -crf 28"),
        new("H.264 CRF 35", $"{H264} -crf 35"),
        new("half size", $"-vf scale=trunc(iw/4)*2:trunc(ih/4)*2 {H264} -crf 23"),
        new("crop 10% each side", $"-vf crop=trunc(iw*0.4)*2:trunc(ih*0.4)*2 {H264} -crf 23"),
        new("re-timed to 24 fps", $"-vf fps=24 {H264} -crf 23"),
        new("first 8 frames cut", $"-vf select=gte(n\\,8),setpts=N/FRAME_RATE/TB {H264} -crf 23"),
        new("GIF palette", "-vf split[a][b];[a]palettegen[p];[b][p]paletteuse .gif"),
    ];

    /// <summary>Writes <paramref name="source"/> through this transformation into <paramref name="dir"/>.</summary>
    public string Apply(string source, string dir, string stem)
    {
        bool gif = FfmpegArgs.EndsWith(".gif", StringComparison.Ordinal);
        string output = Path.Combine(dir, stem + (gif ? ".gif" : ".mp4"));
        string args = gif ? FfmpegArgs[..^4] : FfmpegArgs;
        ProvenanceTestKit.RunFfmpeg(["-i", source, .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries), output]);
        return output;
    }
}

internal static class ProvenanceTestKit
{
    /// <summary>A world-simulator clip (the kind of video Spacetime makes), unmarked.</summary>
    public static Frames WorldVideo(long seed, int width = 128, int height = 128, double seconds = 2, double fps = 8) =>
        WorldClip.Render(new ClipSettings(seed, width, height, seconds, fps)).Frames;

    /// <summary>PSNR in dB of b against a over all bytes (infinity when equal).</summary>
    public static double Psnr(Frames a, Frames b)
    {
        double sum = 0;
        for (int i = 0; i < a.Rgb.Length; i++)
        {
            double d = a.Rgb[i] - b.Rgb[i];
            sum += d * d;
        }
        return sum == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 * a.Rgb.Length / sum);
    }

    /// <summary>The rectangle [top, top + height) x [left, left + width) of every frame.</summary>
    public static Frames Crop(Frames v, int top, int left, int height, int width)
    {
        var rgb = new byte[v.Count * height * width * 3];
        for (int t = 0; t < v.Count; t++)
            for (int y = 0; y < height; y++)
                v.Rgb.AsSpan(((t * v.Height + top + y) * v.Width + left) * 3, width * 3)
                     .CopyTo(rgb.AsSpan(((t * height + y) * width) * 3));
        return new Frames(v.Count, height, width, v.Fps, rgb);
    }

    /// <summary>Frames [start, start + count).</summary>
    public static Frames Cut(Frames v, int start, int count) =>
        new(count, v.Height, v.Width, v.Fps, v.Rgb.AsSpan(start * v.FrameBytes, count * v.FrameBytes).ToArray());

    /// <summary>Nearest-frame re-timing to <paramref name="fps"/> (what ffmpeg's fps filter does).</summary>
    public static Frames Retime(Frames v, double fps)
    {
        int count = Math.Max(1, (int)Math.Round(v.Seconds * fps));
        var rgb = new byte[count * v.FrameBytes];
        for (int k = 0; k < count; k++)
        {
            int src = Math.Min(v.Count - 1, (int)Math.Round(k * v.Fps / fps));
            v.Frame(src).CopyTo(rgb.AsSpan(k * v.FrameBytes));
        }
        return new Frames(count, v.Height, v.Width, fps, rgb);
    }

    /// <summary>Runs ffmpeg quietly; a failure fails the test with ffmpeg's message.</summary>
    public static void RunFfmpeg(string[] args)
    {
        var info = new ProcessStartInfo(global::Spacetime.Media.Ffmpeg.FfmpegPath!, ["-hide_banner", "-loglevel", "error", "-y", .. args])
        {
            RedirectStandardError = true, UseShellExecute = false,
        };
        using var p = Process.Start(info)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"ffmpeg {string.Join(' ', args)}: {err}");
    }

    /// <summary>A fresh temporary folder, deleted by <see cref="TempDir.Dispose"/>.</summary>
    public sealed class TempDir : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(),
                                                             "spacetime-prov-" + Guid.NewGuid().ToString("N")[..8]);
        public TempDir() => Directory.CreateDirectory(Path);
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose()
        {
            if (Directory.Exists(Path)) Directory.Delete(Path, recursive: true);
        }
    }
}
