// Helpers for the Media tests: synthetic videos, a scratch folder, pixel error measures and running ffmpeg directly.
using System.Diagnostics;
using Spacetime.Media;

namespace Spacetime.Tests.Media;

/// <summary>A scratch folder deleted when the test ends.</summary>
internal sealed class TempDir : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("spacetime-test-").FullName;
    public string File(string name) => System.IO.Path.Combine(Path, name);
    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static class MediaTestKit
{
    /// <summary>A video like the world simulator's: a vertical gradient sky, a floor, and an anti-aliased disc and
    /// square that move, so there are flat areas, soft edges and many colours.</summary>
    public static Frames MovingShapes(int count, int height, int width, double fps = 8)
    {
        var frames = new Frames(count, height, width, fps);
        for (int t = 0; t < count; t++)
        {
            Span<byte> f = frames.Frame(t);
            double cx = width * (0.2 + 0.6 * t / Math.Max(1, count - 1)), cy = height * 0.4, r = height * 0.18;
            int sx = (int)(width * 0.7 - t), sy = (int)(height * 0.6);
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                {
                    int o = (y * width + x) * 3;
                    (int R, int G, int B) c = y > height * 0.8 ? (90, 70, 50) : (60 + 80 * y / height, 110 + 60 * y / height, 220);
                    if (x >= sx && x < sx + width / 6 && y >= sy && y < sy + height / 6)
                        c = (40, 200, 60);
                    double d = Math.Sqrt((x + 0.5 - cx) * (x + 0.5 - cx) + (y + 0.5 - cy) * (y + 0.5 - cy));
                    double cover = Math.Clamp(r - d + 0.5, 0, 1);                       // anti-aliased edge
                    c = ((int)(c.R + (230 - c.R) * cover), (int)(c.G + (30 - c.G) * cover), (int)(c.B + (40 - c.B) * cover));
                    (f[o], f[o + 1], f[o + 2]) = ((byte)c.R, (byte)c.G, (byte)c.B);
                }
        }
        return frames;
    }

    /// <summary>Uniform random pixels: the worst case for every codec.</summary>
    public static Frames Noise(int count, int height, int width, int seed, double fps = 8)
    {
        var frames = new Frames(count, height, width, fps);
        new Random(seed).NextBytes(frames.Rgb);
        return frames;
    }

    /// <summary>Mean and max absolute difference over all bytes.</summary>
    public static (double Mean, int Max) Error(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        Assert.Equal(a.Length, b.Length);
        long sum = 0;
        int max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            int d = Math.Abs(a[i] - b[i]);
            sum += d;
            max = Math.Max(max, d);
        }
        return (a.Length == 0 ? 0 : (double)sum / a.Length, max);
    }

    /// <summary>Runs ffmpeg with the arguments; returns stdout. Fails the test on a non-zero exit.</summary>
    public static byte[] RunFfmpeg(params string[] args)
    {
        string ffmpeg = Ffmpeg.FfmpegPath ?? throw new InvalidOperationException("these tests need ffmpeg on PATH (apt-get install ffmpeg)");
        var info = new ProcessStartInfo(ffmpeg, ["-hide_banner", "-loglevel", "error", .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var p = Process.Start(info)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(output);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "ffmpeg failed: " + err.Result);
        return output.ToArray();
    }

    /// <summary>ffmpeg's own decoding of a file to rgb24 bytes (all frames).</summary>
    public static byte[] FfmpegDecode(string path) => RunFfmpeg("-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-");

    /// <summary>Writes raw rgb24 frames with ffmpeg using the given output arguments.</summary>
    public static void FfmpegEncode(Frames frames, string output, params string[] codecArgs)
    {
        string raw = output + ".rgb";
        File.WriteAllBytes(raw, frames.Rgb);
        RunFfmpeg(["-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{frames.Width}x{frames.Height}", "-r",
                   frames.Fps.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", raw, .. codecArgs, output]);
        File.Delete(raw);
    }
}
