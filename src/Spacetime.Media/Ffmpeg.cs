// Ffmpeg: MP4 (H.264), WebM (VP9), MKV, MOV, AVI and anything else ffmpeg reads, through the ffmpeg command.
// Frames travel as raw rgb24 through pipes: `ffmpeg -f rawvideo -pix_fmt rgb24 -s WxH -r FPS -i - ... OUT` to write,
// `ffmpeg -i IN -f rawvideo -pix_fmt rgb24 -` to read; size and fps come from ffprobe (or ffmpeg's stderr when
// ffprobe is missing). ffmpeg is found on PATH (or SPACETIME_FFMPEG); when it is not there, a one-line error says how
// to install it.
using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Spacetime.Media;

/// <summary>How to encode through ffmpeg.</summary>
/// <param name="Crf">Quality: 0 is lossless for H.264, 18 is visually lossless, 23 is x264's default.</param>
/// <param name="PixelFormat">ffmpeg -pix_fmt; null = yuv420p (most compatible), or yuv444p when a side is odd.</param>
public sealed record FfmpegOptions(int Crf = 18, string? PixelFormat = null);

/// <summary>Video through the ffmpeg command.</summary>
public static partial class Ffmpeg
{
    /// <summary>The install hint printed when ffmpeg is missing.</summary>
    public const string InstallHint =
        "install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) " +
        "or set SPACETIME_FFMPEG to its path, or use .gif, .png or .y4m, which need no ffmpeg";

    /// <summary>Path of the ffmpeg executable, or null when it is not installed.</summary>
    public static string? FfmpegPath => Locate("ffmpeg", Environment.GetEnvironmentVariable("PATH"),
                                               Environment.GetEnvironmentVariable("SPACETIME_FFMPEG"));

    /// <summary>True when ffmpeg is installed.</summary>
    public static bool IsAvailable => FfmpegPath != null;

    /// <summary>Finds <paramref name="tool"/> in the folders of <paramref name="pathVariable"/>; an explicit
    /// <paramref name="overridePath"/> (the file itself) wins when it exists.</summary>
    internal static string? Locate(string tool, string? pathVariable, string? overridePath = null)
    {
        if (!string.IsNullOrEmpty(overridePath))
        {
            if (tool == "ffprobe")
                overridePath = Path.Combine(Path.GetDirectoryName(overridePath) ?? "", "ffprobe" + Path.GetExtension(overridePath));
            if (File.Exists(overridePath))
                return overridePath;
        }
        string exe = OperatingSystem.IsWindows() ? tool + ".exe" : tool;
        foreach (string dir in (pathVariable ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir.Trim('"'), exe);
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>The error for a file that needs ffmpeg when it is missing.</summary>
    internal static MediaException Missing(string path) =>
        new(path, $"{MediaFiles.Extension(path)} video needs ffmpeg, which is not on PATH", InstallHint);

    static string Require(string path) => FfmpegPath ?? throw Missing(path);

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Writing

    /// <summary>Encodes <paramref name="frames"/> with the codec that suits the extension (atomically).</summary>
    public static void Write(string path, Frames frames, FfmpegOptions? options = null)
    {
        options ??= new FfmpegOptions();
        string ffmpeg = Require(path);
        if (frames.Count == 0)
            throw new ArgumentException("Ffmpeg.Write: a video needs at least one frame.");
        bool odd = frames.Width % 2 != 0 || frames.Height % 2 != 0;
        string pixFmt = options.PixelFormat ?? (odd ? "yuv444p" : "yuv420p");
        string codec = MediaFiles.Extension(path) switch
        {
            ".webm" => $"-c:v libvpx-vp9 -crf {options.Crf + 12} -b:v 0 -deadline good -cpu-used 4 -pix_fmt {pixFmt}",
            ".avi" => "-c:v mpeg4 -q:v 2 -pix_fmt yuv420p",
            _ => $"-c:v libx264 -preset medium -crf {options.Crf} -pix_fmt {pixFmt}",
        };                                                       // VP9's crf scale is 0..63, x264's 0..51
        string fps = frames.Fps.ToString("R", CultureInfo.InvariantCulture);
        AtomicFile.Write(path, temp =>
        {
            string input = $"-f rawvideo -pix_fmt rgb24 -s {frames.Width}x{frames.Height} -r {fps} -i -";
            string[] args = [.. $"-hide_banner -loglevel error -y {input} {codec} -an".Split(' '), temp];
            Run(ffmpeg, args, path, stdin: frames.Rgb, readStdout: false);
        });
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Reading

    /// <summary>Decodes any video ffmpeg reads to RGB frames.</summary>
    public static Frames Read(string path)
    {
        string ffmpeg = Require(path);
        if (!File.Exists(path))
            throw new MediaException(path, "file not found", "check the path");
        var info = Probe(path);
        byte[] raw = Run(ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", path, "-map", "0:v:0", "-f", "rawvideo",
                                  "-pix_fmt", "rgb24", "-"], path, stdin: null, readStdout: true);
        int frameBytes = info.Width * info.Height * 3;
        int count = raw.Length / frameBytes;
        if (count == 0)
            throw new MediaException(path, "ffmpeg decoded no frames (truncated or corrupt video)", "re-export the file");
        return new Frames(count, info.Height, info.Width, info.Fps, raw.AsSpan(0, count * frameBytes).ToArray());
    }

    /// <summary>Size and fps (and frame count when the container states it; else an estimate from the duration).</summary>
    public static VideoInfo Probe(string path)
    {
        string ffmpeg = Require(path);
        if (!File.Exists(path))
            throw new MediaException(path, "file not found", "check the path");
        // ffmpeg -i prints the stream line to stderr and exits 1 ("At least one output file must be specified").
        string stderr = RunForStderr(ffmpeg, ["-hide_banner", "-i", path]);
        var stream = VideoStreamLine().Match(stderr);
        if (!stream.Success)
            throw new MediaException(path, "ffmpeg found no video stream (not a video, or corrupt)", "check the file");
        int w = int.Parse(stream.Groups["w"].Value, CultureInfo.InvariantCulture);
        int h = int.Parse(stream.Groups["h"].Value, CultureInfo.InvariantCulture);
        double fps = ParseRate(stream.Groups["fps"].Value);
        var duration = DurationLine().Match(stderr);
        int frames = 0;
        if (duration.Success)
        {
            double seconds = TimeSpan.ParseExact(duration.Groups["t"].Value, @"hh\:mm\:ss\.ff",
                                                 CultureInfo.InvariantCulture).TotalSeconds;
            frames = Math.Max(1, (int)Math.Round(seconds * fps));
        }
        return new VideoInfo(frames, h, w, fps);
    }

    static double ParseRate(string text)
    {
        double value = text.EndsWith('k') ? double.Parse(text[..^1], CultureInfo.InvariantCulture) * 1000
                                          : double.Parse(text, CultureInfo.InvariantCulture);
        return value > 0 ? value : 25;
    }

    // "Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 64x48 [SAR 1:1 DAR 4:3], 8 fps"
    [GeneratedRegex(@"Stream #\d+:\d+.*?: Video: .*?, (?<w>\d{1,5})x(?<h>\d{1,5})[ ,].*?(?<fps>[\d.]+k?) (fps|tbr)")]
    private static partial Regex VideoStreamLine();

    [GeneratedRegex(@"Duration: (?<t>\d\d:\d\d:\d\d\.\d\d)")]
    private static partial Regex DurationLine();

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Running the process

    // Runs ffmpeg, feeding stdin and collecting stdout while stderr drains on its own task (no pipe deadlock).
    static byte[] Run(string exe, string[] args, string path, byte[]? stdin, bool readStdout)
    {
        var info = new ProcessStartInfo(exe, args)
        {
            RedirectStandardInput = stdin != null,
            RedirectStandardOutput = readStdout,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(info) ?? throw Missing(path);
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = new MemoryStream();
        var reading = readStdout ? process.StandardOutput.BaseStream.CopyToAsync(stdout) : Task.CompletedTask;
        if (stdin != null)
        {
            try
            {
                process.StandardInput.BaseStream.Write(stdin);
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // ffmpeg exited early; its stderr below says why.
            }
        }
        reading.Wait();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            string why = stderr.Result.Trim().Split('\n').LastOrDefault()?.Trim() ?? "";
            throw new MediaException(path, $"ffmpeg failed (exit {process.ExitCode}): {why}",
                                     "check that the file is a valid video and the size/codec are supported");
        }
        return stdout.ToArray();
    }

    static string RunForStderr(string exe, string[] args)
    {
        var info = new ProcessStartInfo(exe, args) { RedirectStandardError = true, UseShellExecute = false };
        using var process = Process.Start(info)!;
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return stderr;
    }
}
