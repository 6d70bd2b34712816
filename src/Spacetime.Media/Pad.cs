// Pad: grows a video to a larger size and frame count by repeating its edges, and crops it back. Growth is on the
// right, at the bottom and at the end, so the source stays at the top-left of frame 0 and Crop is its inverse:
//   padded[t, y, x] = source[min(t, T - 1), min(y, H - 1), min(x, W - 1)]
// Edge (replicate) padding rather than black or mirrored borders: a codec that averages over blocks sees a flat
// continuation of the last row and column, which costs it the least at the seam and does not invent motion.
namespace Spacetime.Media;

/// <summary>Edge padding and cropping of videos.</summary>
public static class Pad
{
    /// <summary>The video at <paramref name="width"/> x <paramref name="height"/> with <paramref name="count"/>
    /// frames, each at least the source's: new columns repeat the last column, new rows the last row, new frames the
    /// last frame. Returns the source itself when nothing grows.</summary>
    public static Frames Edge(Frames source, int height, int width, int count)
    {
        if (height < source.Height || width < source.Width || count < source.Count || source.Count == 0)
            throw new ArgumentException($"Pad.Edge: cannot pad {source.Count} frames of {source.Width}x" +
                                        $"{source.Height} to {count} frames of {width}x{height}; padding only grows.");
        if (height == source.Height && width == source.Width && count == source.Count)
            return source;
        var result = new Frames(count, height, width, source.Fps);
        int rowBytes = width * 3, sourceRowBytes = source.Width * 3;
        for (int t = 0; t < source.Count; t++)
        {
            ReadOnlySpan<byte> src = source.Frame(t);
            Span<byte> dst = result.Frame(t);
            for (int y = 0; y < height; y++)
            {
                Span<byte> row = dst.Slice(y * rowBytes, rowBytes);
                src.Slice(Math.Min(y, source.Height - 1) * sourceRowBytes, sourceRowBytes).CopyTo(row);
                for (int x = source.Width; x < width; x++)                   // repeat the last pixel of the row
                    row.Slice((source.Width - 1) * 3, 3).CopyTo(row.Slice(x * 3, 3));
            }
        }
        for (int t = source.Count; t < count; t++)                           // repeat the last (padded) frame
            result.Frame(source.Count - 1).CopyTo(result.Frame(t));
        return result;
    }

    /// <summary>The top-left <paramref name="width"/> x <paramref name="height"/> pixels of the first
    /// <paramref name="count"/> frames, each at most the source's. Returns the source itself when nothing shrinks.
    /// </summary>
    public static Frames Crop(Frames source, int height, int width, int count)
    {
        if (height > source.Height || width > source.Width || count > source.Count || height <= 0 || width <= 0)
            throw new ArgumentException($"Pad.Crop: cannot crop {source.Count} frames of {source.Width}x" +
                                        $"{source.Height} to {count} frames of {width}x{height}.");
        if (height == source.Height && width == source.Width && count == source.Count)
            return source;
        var result = new Frames(count, height, width, source.Fps);
        for (int t = 0; t < count; t++)
        {
            ReadOnlySpan<byte> src = source.Frame(t);
            Span<byte> dst = result.Frame(t);
            for (int y = 0; y < height; y++)
                src.Slice(y * source.Width * 3, width * 3).CopyTo(dst.Slice(y * width * 3, width * 3));
        }
        return result;
    }
}
