// Canvas: an 8-bit RGB raster for charts, with filled rectangles and anti-aliased polylines.
// A polyline is drawn in two passes. First each segment adds its coverage to a mask over the clip rectangle: a pixel
// whose centre lies at distance d from the segment is covered clamp(width/2 + 1/2 - d, 0, 1), a capsule whose edge
// fades out over one pixel. Segments combine by max, not by sum. Then the mask is blended onto the canvas once, so the
// joints of a line, and the thousands of overlapping segments of a dense noisy curve, never darken where they overlap:
// a translucent curve stays one even tint.
namespace Spacetime.Media;

/// <summary>An 8-bit RGB colour.</summary>
internal readonly record struct Rgb(byte R, byte G, byte B)
{
    /// <summary>(1 - t)·a + t·b per channel, t in [0, 1].</summary>
    public static Rgb Mix(Rgb a, Rgb b, double t) =>
        new(Lerp(a.R, b.R, t), Lerp(a.G, b.G, t), Lerp(a.B, b.B, t));

    static byte Lerp(byte a, byte b, double t) => (byte)Math.Round(a + (b - a) * Math.Clamp(t, 0, 1));
}

/// <summary>A pixel rectangle: columns X .. X + Width - 1, rows Y .. Y + Height - 1.</summary>
internal readonly record struct Rect(int X, int Y, int Width, int Height)
{
    public int Right => X + Width;      // one past the last column
    public int Bottom => Y + Height;    // one past the last row
    public bool Contains(int x, int y) => x >= X && x < Right && y >= Y && y < Bottom;
    public bool Contains(double x, double y) => x >= X && x < Right && y >= Y && y < Bottom;
}

internal sealed class Canvas
{
    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }   // (H, W, 3) RGB

    public Canvas(int width, int height, Rgb background)
    {
        Width = width;
        Height = height;
        Pixels = new byte[width * height * 3];
        Fill(new Rect(0, 0, width, height), background);
    }

    public Rgb this[int x, int y]
    {
        get
        {
            int o = (y * Width + x) * 3;
            return new Rgb(Pixels[o], Pixels[o + 1], Pixels[o + 2]);
        }
    }

    /// <summary>Paints <paramref name="r"/> (clipped to the canvas).</summary>
    public void Fill(Rect r, Rgb color)
    {
        int x0 = Math.Max(0, r.X), x1 = Math.Min(Width, r.Right);
        int y0 = Math.Max(0, r.Y), y1 = Math.Min(Height, r.Bottom);
        for (int y = y0; y < y1; y++)
            for (int o = (y * Width + x0) * 3; o < (y * Width + x1) * 3; o += 3)
                (Pixels[o], Pixels[o + 1], Pixels[o + 2]) = (color.R, color.G, color.B);
    }

    /// <summary>Paints a 1-pixel outline just inside <paramref name="r"/>.</summary>
    public void Outline(Rect r, Rgb color)
    {
        Fill(r with { Height = 1 }, color);
        Fill(r with { Y = r.Bottom - 1, Height = 1 }, color);
        Fill(r with { Width = 1 }, color);
        Fill(r with { X = r.Right - 1, Width = 1 }, color);
    }

    /// <summary>Mixes <paramref name="color"/> into pixel (x, y) with weight <paramref name="alpha"/> (0..1).</summary>
    public void Blend(int x, int y, Rgb color, double alpha)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height || alpha <= 0)
            return;
        int o = (y * Width + x) * 3;
        var mixed = Rgb.Mix(new Rgb(Pixels[o], Pixels[o + 1], Pixels[o + 2]), color, alpha);
        (Pixels[o], Pixels[o + 1], Pixels[o + 2]) = (mixed.R, mixed.G, mixed.B);
    }

    /// <summary>Draws the polyline through (xs[i], ys[i]) (pixel coordinates, y down, pixel centres at +0.5) with
    /// round joints and caps, <paramref name="width"/> pixels wide, clipped to <paramref name="clip"/>. A single point
    /// draws a dot of diameter <paramref name="width"/>.</summary>
    public void Polyline(ReadOnlySpan<double> xs, ReadOnlySpan<double> ys, double width, Rgb color, double opacity,
                         Rect clip)
    {
        var mask = new float[clip.Width * clip.Height];         // (clipH, clipW) coverage
        for (int i = 0; i < xs.Length; i++)
        {
            int j = Math.Max(0, i - 1);                           // segment (j, i); i = 0 is the point itself
            if (i > 0 || xs.Length == 1)
                AddSegment(mask, clip, xs[j], ys[j], xs[i], ys[i], width / 2);
        }
        for (int y = 0; y < clip.Height; y++)
            for (int x = 0; x < clip.Width; x++)
                if (mask[y * clip.Width + x] > 0)
                    Blend(clip.X + x, clip.Y + y, color, mask[y * clip.Width + x] * opacity);
    }

    /// <summary>Draws a filled disc of diameter <paramref name="diameter"/> at each point.</summary>
    public void Dots(ReadOnlySpan<double> xs, ReadOnlySpan<double> ys, double diameter, Rgb color, Rect clip)
    {
        var mask = new float[clip.Width * clip.Height];
        for (int i = 0; i < xs.Length; i++)
            AddSegment(mask, clip, xs[i], ys[i], xs[i], ys[i], diameter / 2);
        for (int y = 0; y < clip.Height; y++)
            for (int x = 0; x < clip.Width; x++)
                Blend(clip.X + x, clip.Y + y, color, mask[y * clip.Width + x]);
    }

    // Max-combines the coverage of the capsule around segment (ax, ay)-(bx, by) with radius r into mask.
    static void AddSegment(float[] mask, Rect clip, double ax, double ay, double bx, double by, double r)
    {
        double reach = r + 0.5;
        int x0 = Math.Max(clip.X, (int)Math.Floor(Math.Min(ax, bx) - reach));
        int x1 = Math.Min(clip.Right - 1, (int)Math.Ceiling(Math.Max(ax, bx) + reach));
        int y0 = Math.Max(clip.Y, (int)Math.Floor(Math.Min(ay, by) - reach));
        int y1 = Math.Min(clip.Bottom - 1, (int)Math.Ceiling(Math.Max(ay, by) + reach));
        double dx = bx - ax, dy = by - ay, length2 = dx * dx + dy * dy;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                double px = x + 0.5 - ax, py = y + 0.5 - ay;        // pixel centre relative to a
                double t = length2 > 0 ? Math.Clamp((px * dx + py * dy) / length2, 0, 1) : 0;
                double ex = px - t * dx, ey = py - t * dy;           // from the nearest point of the segment
                float cover = (float)Math.Clamp(reach - Math.Sqrt(ex * ex + ey * ey), 0, 1);
                int m = (y - clip.Y) * clip.Width + (x - clip.X);
                if (cover > mask[m])
                    mask[m] = cover;
            }
    }
}
