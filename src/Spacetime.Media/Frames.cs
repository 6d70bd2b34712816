// Frames: a decoded video in memory, T frames of H x W pixels, 8-bit RGB, row-major, frame-major.
namespace Spacetime.Media;

/// <summary>A video as raw pixels: <c>Rgb[((t * Height + y) * Width + x) * 3 + c]</c>, plus its frame rate.</summary>
public sealed class Frames
{
    /// <summary>Number of frames (T).</summary>
    public int Count { get; }
    /// <summary>Frame height in pixels (H).</summary>
    public int Height { get; }
    /// <summary>Frame width in pixels (W).</summary>
    public int Width { get; }
    /// <summary>Frames per second.</summary>
    public double Fps { get; }
    /// <summary>T x H x W x 3 bytes.</summary>
    public byte[] Rgb { get; }

    /// <summary>Makes a video of black frames.</summary>
    public Frames(int count, int height, int width, double fps)
        : this(count, height, width, fps, new byte[checked((long)count * height * width * 3)]) { }

    /// <summary>Wraps existing pixels; <paramref name="rgb"/> must hold exactly count x height x width x 3 bytes.</summary>
    public Frames(int count, int height, int width, double fps, byte[] rgb)
    {
        if (count < 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"Frames: invalid size {count} frames of {width}x{height}; " +
                                        "width and height must be positive and the frame count non-negative.");
        if (!(fps > 0) || double.IsInfinity(fps))
            throw new ArgumentException($"Frames: fps must be a positive number, got {fps}.");
        if (rgb.LongLength != (long)count * height * width * 3)
            throw new ArgumentException($"Frames: expected {(long)count * height * width * 3} bytes for " +
                                        $"{count}x{height}x{width}x3, got {rgb.LongLength}.");
        (Count, Height, Width, Fps, Rgb) = (count, height, width, fps, rgb);
    }

    /// <summary>Bytes in one frame (H x W x 3).</summary>
    public int FrameBytes => Height * Width * 3;

    /// <summary>The pixels of frame t, H x W x 3.</summary>
    public Span<byte> Frame(int t) => Rgb.AsSpan(checked(t * FrameBytes), FrameBytes);

    /// <summary>Duration in seconds.</summary>
    public double Seconds => Count / Fps;
}
