// Resize: changes a video's frame size with an area filter (each output pixel averages the source pixels it covers,
// weighted by overlap), the right filter for shrinking; when growing it takes the nearest source pixel.
namespace Spacetime.Media;

/// <summary>Frame resizing for the data pipeline.</summary>
public static class Resize
{
    /// <summary>Returns the video at <paramref name="height"/> x <paramref name="width"/> (the same object when the size
    /// already matches).</summary>
    public static Frames Area(Frames source, int height, int width)
    {
        if (height <= 0 || width <= 0)
            throw new ArgumentException($"Resize.Area: invalid target size {width}x{height}.");
        if (height == source.Height && width == source.Width)
            return source;
        var xs = Weights(source.Width, width);
        var ys = Weights(source.Height, height);
        var result = new Frames(source.Count, height, width, source.Fps);
        var row = new double[source.Width * 3];                   // one output row's vertical blend of source rows
        for (int t = 0; t < source.Count; t++)
        {
            ReadOnlySpan<byte> src = source.Frame(t);
            Span<byte> dst = result.Frame(t);
            for (int y = 0; y < height; y++)
            {
                Array.Clear(row);
                foreach (var (sy, wy) in ys[y])
                    for (int i = 0; i < row.Length; i++)
                        row[i] += wy * src[sy * source.Width * 3 + i];
                for (int x = 0; x < width; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        double v = 0;
                        foreach (var (sx, wx) in xs[x])
                            v += wx * row[sx * 3 + c];
                        dst[(y * width + x) * 3 + c] = (byte)Math.Clamp((int)Math.Round(v), 0, 255);
                    }
            }
        }
        return result;
    }

    // For each output index, the source indices it covers and their overlap weights (summing to 1).
    static List<(int Index, double Weight)>[] Weights(int sourceSize, int targetSize)
    {
        var result = new List<(int, double)>[targetSize];
        double scale = (double)sourceSize / targetSize;           // source pixels per output pixel
        for (int o = 0; o < targetSize; o++)
        {
            result[o] = [];
            if (scale <= 1)
            {
                result[o].Add((Math.Min(sourceSize - 1, (int)((o + 0.5) * scale)), 1.0));
                continue;
            }
            double lo = o * scale, hi = lo + scale;
            for (int s = (int)lo; s < Math.Min(sourceSize, (int)Math.Ceiling(hi)); s++)
            {
                double overlap = Math.Min(hi, s + 1) - Math.Max(lo, s);
                if (overlap > 0)
                    result[o].Add((s, overlap / scale));
            }
        }
        return result;
    }
}
