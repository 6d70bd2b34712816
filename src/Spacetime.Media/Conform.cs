// Conform: brings a user's video to the size and frame rate a model makes, the way a video editor fits a clip to a
// timeline. Cover scales the frames (area filter) until they cover the target size, keeping the aspect ratio, then
// crops the centre; Retime picks, for each output frame time t / fps, the source frame shown at that time (the most
// recent one), so a faster source drops frames and a slower one repeats them.
namespace Spacetime.Media;

/// <summary>Fitting videos to a size and frame rate.</summary>
public static class Conform
{
    /// <summary>The video scaled to cover <paramref name="width"/> x <paramref name="height"/> and centre-cropped to
    /// it (the source itself when the size already matches).</summary>
    public static Frames Cover(Frames source, int height, int width)
    {
        if (height <= 0 || width <= 0) throw new ArgumentException($"Conform.Cover: invalid size {width}x{height}.");
        if (source.Height == height && source.Width == width) return source;
        double scale = Math.Max(height / (double)source.Height, width / (double)source.Width);
        int h = Math.Max(height, (int)Math.Round(source.Height * scale)), w = Math.Max(width, (int)Math.Round(source.Width * scale));
        var scaled = Resize.Area(source, h, w);
        int y0 = (h - height) / 2, x0 = (w - width) / 2;
        var result = new Frames(source.Count, height, width, source.Fps);
        for (int t = 0; t < source.Count; t++)
            for (int y = 0; y < height; y++)
                scaled.Frame(t).Slice(((y0 + y) * w + x0) * 3, width * 3).CopyTo(result.Frame(t).Slice(y * width * 3));
        return result;
    }

    /// <summary>The video at <paramref name="fps"/>: output frame i shows the source frame on screen at time i / fps
    /// (clamped to the last), for as many frames as cover the source's duration (at least one).</summary>
    public static Frames Retime(Frames source, double fps)
    {
        if (!(fps > 0)) throw new ArgumentException($"Conform.Retime: fps {fps} must be positive.");
        if (Math.Abs(source.Fps - fps) < 1e-9) return source;
        int count = Math.Max(1, (int)Math.Round(source.Count * fps / source.Fps, MidpointRounding.AwayFromZero));
        var result = new Frames(count, source.Height, source.Width, fps);
        for (int i = 0; i < count; i++)
        {
            int t = Math.Min(source.Count - 1, (int)Math.Floor(i * source.Fps / fps + 1e-9));
            source.Frame(t).CopyTo(result.Frame(i));
        }
        return result;
    }

    /// <summary>Frames [<paramref name="start"/>, start + count) of the video.</summary>
    public static Frames Range(Frames source, int start, int count)
    {
        if (start < 0 || count < 1 || start + count > source.Count)
            throw new ArgumentException($"Conform.Range: frames {start}..{start + count - 1} of a {source.Count}-frame video.");
        var result = new Frames(count, source.Height, source.Width, source.Fps);
        source.Rgb.AsSpan(start * source.FrameBytes, count * source.FrameBytes).CopyTo(result.Rgb);
        return result;
    }
}
