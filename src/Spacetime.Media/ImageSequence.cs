// ImageSequence: a video as a folder of numbered image files (000000.png, 000001.png, ...).
// Write: PNG frames; the fps goes in the first frame's tEXt chunk ("spacetime.fps"). The folder is filled beside the
// target and swapped in, so a failure never leaves half a sequence.
// Read: every image in the folder, in ordinal name order; PNG natively, other formats (.jpg, .bmp, .webp, ...)
// through ffmpeg. All images must have the same size.
using System.Globalization;

namespace Spacetime.Media;

/// <summary>A video as a folder of image files.</summary>
public static class ImageSequence
{
    internal const string FpsKey = "spacetime.fps";

    /// <summary>Image extensions read from a folder (PNG natively, the rest through ffmpeg).</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"];

    /// <summary>Writes one PNG per frame into <paramref name="dir"/>, replacing the folder if it exists.</summary>
    public static void Write(string dir, Frames frames)
    {
        if (File.Exists(dir))
            throw new MediaException(dir, "is a file, not a folder", "pass a folder path for an image sequence");
        AtomicFile.WriteDirectory(dir, temp =>
        {
            for (int t = 0; t < frames.Count; t++)
            {
                string fps = frames.Fps.ToString("R", CultureInfo.InvariantCulture);
                var text = t == 0 ? new Dictionary<string, string> { [FpsKey] = fps } : null;
                File.WriteAllBytes(Path.Combine(temp, $"{t:D6}.png"), Png.Encode(frames.Frame(t), frames.Width, frames.Height, text));
            }
        });
    }

    /// <summary>The image files of a sequence folder, in order.</summary>
    public static string[] List(string dir)
    {
        if (!Directory.Exists(dir))
            throw new MediaException(dir, "folder not found", "check the path");
        string[] files = Directory.GetFiles(dir)
            .Where(f => Extensions.Contains(MediaFiles.Extension(f)) && !Path.GetFileName(f).StartsWith('.'))
            .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
            .ToArray();
        if (files.Length == 0)
            throw new MediaException(dir, "folder has no image files", $"put frames named 000000.png, 000001.png, ... in it");
        return files;
    }

    /// <summary>Reads the folder as a video; <paramref name="defaultFps"/> applies when no frame says its fps.</summary>
    public static Frames Read(string dir, double defaultFps = 8)
    {
        string[] files = List(dir);
        var first = ReadImage(files[0], out double fps, defaultFps);
        var frames = new Frames(files.Length, first.Height, first.Width, fps);
        first.Rgb.CopyTo(frames.Frame(0));
        for (int t = 1; t < files.Length; t++)
        {
            var image = ReadImage(files[t], out _, defaultFps);
            if (image.Width != first.Width || image.Height != first.Height)
                throw new MediaException(files[t], $"is {image.Width}x{image.Height} but the sequence's first frame is " +
                                         $"{first.Width}x{first.Height}", "resize all frames to one size");
            image.Rgb.CopyTo(frames.Frame(t));
        }
        return frames;
    }

    /// <summary>Frame count, size and fps from the file list and the first frame.</summary>
    internal static VideoInfo Probe(string dir, double defaultFps = 8)
    {
        string[] files = List(dir);
        if (MediaFiles.Extension(files[0]) != ".png")
        {
            var image = ReadImage(files[0], out double f, defaultFps);
            return new VideoInfo(files.Length, image.Height, image.Width, f);
        }
        var (w, h, text) = Png.ReadHeader(files[0]);
        return new VideoInfo(files.Length, h, w, FpsFrom(text, defaultFps));
    }

    static PngImage ReadImage(string file, out double fps, double defaultFps)
    {
        if (MediaFiles.Extension(file) == ".png")
        {
            var png = Png.ReadImage(file);
            fps = FpsFrom(png.Text, defaultFps);
            return png;
        }
        var still = Ffmpeg.Read(file);
        fps = defaultFps;
        return new PngImage(still.Width, still.Height, still.Frame(0).ToArray(), new Dictionary<string, string>());
    }

    static double FpsFrom(IReadOnlyDictionary<string, string> text, double defaultFps) =>
        text.TryGetValue(FpsKey, out string? s) &&
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double f) && f > 0
            ? f : defaultFps;
}
