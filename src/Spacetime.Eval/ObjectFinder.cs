// ObjectFinder: finds the world's objects in a video's pixels by colour. The world's palette makes this reliable: the
// nine object colours are bright and far apart, the backgrounds are dark and unsaturated, the block is mid grey.
//
// 1) Pixels. A rendered (or blurred, or VAE-decoded) edge pixel is a mix of an object colour c and what lies behind
//    it, b, so a pixel p is read against every mixing line b -> c (b: the four background colours and the block's
//    grey): alpha = how far along the line p lies (clamped to [0, 1]), residual = distance from p to that point.
//    The pixel takes colour c of the best line when alpha >= 0.5 (more object than backdrop), residual <= MaxResidual
//    (it really is that hue) and the residual is smaller than p's distance to the nearest backdrop colour (the
//    block's grey lies halfway along the white line; it stays background). A nearest-colour rule would read a
//    yellow edge on black as orange and ring every yellow object with an orange blob.
// 2) Blobs. 4-connected components per colour. Blobs under MinArea (0.2% of the frame, at least 5 pixels) are
//    dropped, and so are blobs over MaxAreaFraction (25% of the frame; the largest object at the closest zoom covers
//    about 12%): a wash of colour is not an object.
// 3) Objects. A scene has at most one object per colour, so a colour counts as one object when its largest blob
//    holds at least MinShare (60%) of all the pixels of that colour in the frame. Upsampled noise (the untrained
//    model's output) makes many similar blobs of each colour; no one of them dominates, so none counts. And a frame
//    where more than MaxStrayFraction (10%) of the pixels carry object colours outside its objects is clutter, not
//    a scene: nothing is found in it (a render has almost none: only a few misread edge pixels).
// 4) Shape, from the blob's pixel moments, which blur changes less than its outline: Skew = the third standardised
//    moment of y (an apex-up triangle's mass sits low: -0.57 with y down; a disc or square: 0), and Squareness =
//    kurtosis along the diagonals minus kurtosis along the axes (a square's projection is uniform on the axes, 1.8,
//    and triangular on the diagonals, 2.4: +0.6; a disc's is the same every way: 0). Triangle when |Skew| > 0.2;
//    else square when Squareness > 0.2; else circle. No guess for blobs under MinShapeArea pixels or touching the
//    frame's left, right or top edge (cut by it; the bottom edge is the floor, which objects sit on and never pass).
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Eval;

/// <summary>
/// One connected region of one object colour in one frame. Pixel coordinates as in <see cref="ClipTruth"/>: x right,
/// y down, pixel centres at +0.5; the box's edges are X0, Y0 (first pixel) and X1, Y1 (one past the last pixel).
/// </summary>
/// <param name="Colour">The object colour the blob's pixels were read as.</param>
/// <param name="X">Centroid x in pixels.</param>
/// <param name="Y">Centroid y in pixels.</param>
/// <param name="Area">Pixels in the blob.</param>
/// <param name="Shape">The shape guess, or null when the blob is too small or cut by the frame's side or top.</param>
public sealed record Blob(Colour Colour, double X, double Y, int Area, int X0, int Y0, int X1, int Y1, Shape? Shape)
{
    /// <summary>Bounding-box width in pixels.</summary>
    public int Width => X1 - X0;
    /// <summary>Bounding-box height in pixels.</summary>
    public int Height => Y1 - Y0;
}

/// <summary>Finds the objects of a world video in its pixels, frame by frame.</summary>
public static class ObjectFinder
{
    /// <summary>Least blob area as a fraction of the frame (a small object fully seen covers ~1-1.5%).</summary>
    public const double MinAreaFraction = 0.002;
    /// <summary>Least blob area in pixels, whatever the frame size.</summary>
    public const int MinAreaPixels = 5;
    /// <summary>Largest blob area as a fraction of the frame.</summary>
    public const double MaxAreaFraction = 0.25;
    /// <summary>The share of a colour's pixels its largest blob needs for the colour to count as an object.</summary>
    public const double MinShare = 0.6;
    /// <summary>Largest distance (RGB levels) from a pixel to its mixing line.</summary>
    public const double MaxResidual = 64;
    /// <summary>A frame with more object-coloured pixels than this fraction outside its objects is clutter.</summary>
    public const double MaxStrayFraction = 0.1;
    /// <summary>Least blob area (pixels) for a shape guess.</summary>
    public const int MinShapeArea = 16;

    /// <summary>The least blob area in pixels for frames of this size.</summary>
    public static int MinArea(int width, int height) =>
        Math.Max(MinAreaPixels, (int)Math.Ceiling(MinAreaFraction * width * height));

    /// <summary>The objects in frame <paramref name="t"/>: at most one blob per colour (its largest), largest first;
    /// none in a cluttered frame.</summary>
    public static IReadOnlyList<Blob> Find(Frames video, int t)
    {
        var labels = new sbyte[video.Width * video.Height];              // (H, W) colour index or -1
        Label(video.Frame(t), labels);
        return Objects(labels, video.Width, video.Height);
    }

    /// <summary>The objects in every frame (see <see cref="Find"/>).</summary>
    public static IReadOnlyList<IReadOnlyList<Blob>> FindAll(Frames video) =>
        Enumerable.Range(0, video.Count).Select(t => Find(video, t)).ToArray();

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // 1) Pixels

    static readonly Colour[] ObjectColours = Enum.GetValues<Colour>();

    /// <summary>What may lie behind an object: the four background colours and the block.</summary>
    static readonly (double R, double G, double B)[] Backdrops =
        [.. Enum.GetValues<BackgroundColour>().Select(c => Rgb(CaptionGrammar.Rgb(c))), Rgb(CaptionGrammar.OccluderRgb)];

    /// <summary>The mixing lines, backdrop-major: Lines[k * 9 + c] runs from backdrop k to object colour c.</summary>
    static readonly Line[] Lines =
        [.. from k in Backdrops from c in ObjectColours select new Line(k, Rgb(CaptionGrammar.Rgb(c)))];

    readonly record struct Line(double VR, double VG, double VB, double InvLength2)
    {
        public Line((double R, double G, double B) from, (double R, double G, double B) to)
            : this(to.R - from.R, to.G - from.G, to.B - from.B,
                   1 / (Sq(to.R - from.R) + Sq(to.G - from.G) + Sq(to.B - from.B))) { }
    }

    static (double, double, double) Rgb((byte R, byte G, byte B) c) => (c.R, c.G, c.B);

    /// <summary>The object colour (index into <see cref="Colour"/>) a pixel shows, or -1 for background.</summary>
    internal static int ClassifyPixel(byte r, byte g, byte b)
    {
        double background = double.MaxValue;                             // squared distance to the nearest backdrop
        int best = -1;
        double bestResidual = double.MaxValue, bestAlpha = 0;
        for (int k = 0; k < Backdrops.Length; k++)
        {
            double pr = r - Backdrops[k].R, pg = g - Backdrops[k].G, pb = b - Backdrops[k].B;   // p - backdrop
            double d2 = pr * pr + pg * pg + pb * pb;
            background = Math.Min(background, d2);
            for (int c = 0; c < ObjectColours.Length; c++)
            {
                var v = Lines[k * ObjectColours.Length + c];
                double dot = pr * v.VR + pg * v.VG + pb * v.VB;
                double alpha = Math.Clamp(dot * v.InvLength2, 0, 1);
                double residual = d2 - 2 * alpha * dot + alpha * alpha / v.InvLength2;   // |p - k - alpha v|²
                if (residual < bestResidual) (best, bestResidual, bestAlpha) = (c, residual, alpha);
            }
        }
        bool isObject = bestAlpha >= 0.5 && bestResidual <= MaxResidual * MaxResidual && bestResidual < background;
        return isObject ? best : -1;
    }

    static double Sq(double x) => x * x;

    /// <summary>Labels every pixel of one frame (H x W x 3 bytes) with its colour index, or -1.</summary>
    internal static void Label(ReadOnlySpan<byte> rgb, sbyte[] labels)
    {
        int last = -1;                                                   // the previous pixel as 0xRRGGBB
        sbyte label = -1;
        for (int i = 0; i < labels.Length; i++)
        {
            int colour = rgb[3 * i] << 16 | rgb[3 * i + 1] << 8 | rgb[3 * i + 2];
            if (colour != last)
                (last, label) = (colour, (sbyte)ClassifyPixel(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]));
            labels[i] = label;                                           // runs of one colour are read once
        }
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // 2) Blobs and 3) objects

    /// <summary>The objects in one labelled frame: per colour its largest blob when it is one; none in clutter.</summary>
    internal static IReadOnlyList<Blob> Objects(sbyte[] labels, int width, int height)
    {
        int minArea = MinArea(width, height);
        double maxArea = MaxAreaFraction * width * height;
        var pixelsOf = new int[ObjectColours.Length];                    // all pixels of each colour
        foreach (var l in labels)
            if (l >= 0) pixelsOf[l]++;
        var largest = new Blob?[ObjectColours.Length];
        foreach (var blob in Blobs(labels, width, height))
            if (largest[(int)blob.Colour] is not { } other || blob.Area > other.Area) largest[(int)blob.Colour] = blob;
        var objects = largest
            .OfType<Blob>()
            .Where(b => b.Area >= minArea && b.Area <= maxArea && b.Area >= MinShare * pixelsOf[(int)b.Colour])
            .OrderByDescending(b => b.Area).ThenBy(b => b.Colour)
            .ToArray();
        int stray = pixelsOf.Sum() - objects.Sum(b => b.Area);
        return stray > MaxStrayFraction * labels.Length ? [] : objects;
    }

    /// <summary>Every 4-connected component of equal labels (>= 0), in scan order.</summary>
    internal static List<Blob> Blobs(sbyte[] labels, int width, int height)
    {
        var seen = new bool[labels.Length];
        var stack = new Stack<int>();
        var pixels = new List<int>();
        var blobs = new List<Blob>();
        for (int start = 0; start < labels.Length; start++)
        {
            if (labels[start] < 0 || seen[start]) continue;
            sbyte colour = labels[start];
            pixels.Clear();
            seen[start] = true;
            stack.Push(start);
            while (stack.Count > 0)
            {
                int i = stack.Pop(), x = i % width, y = i / width;
                pixels.Add(i);
                if (x > 0) Visit(i - 1);
                if (x < width - 1) Visit(i + 1);
                if (y > 0) Visit(i - width);
                if (y < height - 1) Visit(i + width);
            }
            blobs.Add(Describe(ObjectColours[colour], pixels, width, height));

            void Visit(int j)
            {
                if (seen[j] || labels[j] != colour) return;
                seen[j] = true;
                stack.Push(j);
            }
        }
        return blobs;
    }

    /// <summary>Centroid, box and shape of one blob's pixels (indices y * width + x).</summary>
    static Blob Describe(Colour colour, List<int> pixels, int width, int height)
    {
        int x0 = width, y0 = height, x1 = -1, y1 = -1;
        double sumX = 0, sumY = 0;
        foreach (int i in pixels)
        {
            int x = i % width, y = i / width;
            (x0, y0, x1, y1) = (Math.Min(x0, x), Math.Min(y0, y), Math.Max(x1, x), Math.Max(y1, y));
            sumX += x + 0.5;
            sumY += y + 0.5;
        }
        double cx = sumX / pixels.Count, cy = sumY / pixels.Count;
        bool cut = x0 == 0 || y0 == 0 || x1 == width - 1;               // the floor is the frame's bottom: never cut
        Shape? shape = cut || pixels.Count < MinShapeArea ? null : GuessShape(Features(pixels, width, cx, cy));
        return new Blob(colour, cx, cy, pixels.Count, x0, y0, x1 + 1, y1 + 1, shape);
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // 4) Shape

    /// <summary>Moment features of a blob: Skew = third standardised moment of y (an apex-up triangle: -0.57 with y
    /// down; circle, square: 0); Squareness = kurtosis along the diagonals minus kurtosis along the axes (a square:
    /// 2.4 - 1.8 = 0.6, a disc: 2 - 2 = 0).</summary>
    internal readonly record struct ShapeFeatures(double Skew, double Squareness);

    internal static ShapeFeatures Features(List<int> pixels, int width, double cx, double cy)
    {
        double m2x = 0, m2y = 0, m3y = 0, m4x = 0, m4y = 0, m2u = 0, m2v = 0, m4u = 0, m4v = 0;
        foreach (int i in pixels)
        {
            double dx = i % width + 0.5 - cx, dy = i / width + 0.5 - cy;
            double u = (dx + dy) * Math.Sqrt(0.5), v = (dx - dy) * Math.Sqrt(0.5);   // the two diagonals
            m2x += dx * dx; m2y += dy * dy; m3y += dy * dy * dy;
            m4x += dx * dx * dx * dx; m4y += dy * dy * dy * dy;
            m2u += u * u; m2v += v * v; m4u += u * u * u * u; m4v += v * v * v * v;
        }
        double n = pixels.Count;
        double Kurt(double m4, double m2) => m2 > 0 ? m4 * n / (m2 * m2) : 0;     // (Σd⁴/n) / (Σd²/n)²
        double skew = m2y > 0 ? m3y / n / Math.Pow(m2y / n, 1.5) : 0;
        double axes = (Kurt(m4x, m2x) + Kurt(m4y, m2y)) / 2, diagonals = (Kurt(m4u, m2u) + Kurt(m4v, m2v)) / 2;
        return new ShapeFeatures(skew, diagonals - axes);
    }

    /// <summary>Triangle when |Skew| > 0.2; else square when Squareness > 0.2; else circle.</summary>
    internal static Shape GuessShape(ShapeFeatures f) =>
        Math.Abs(f.Skew) > SkewLimit ? Shape.Triangle : f.Squareness > SquarenessLimit ? Shape.Square : Shape.Circle;

    // Both limits sit about a third of the way from the round shape's 0 to the clean value (0.57, 0.6): blur (a VAE's
    // output) pulls triangles and squares toward a disc, never a disc toward them. Measured on the fully visible
    // objects of 40 scenes: 98-100% right on clean renders at 32-128 px; 96-100% after a Gaussian blur of 1.2 px (at
    // 64 px, scaled with the size) plus +-10 levels of noise; 87-92% at 2 px.
    const double SkewLimit = 0.2, SquarenessLimit = 0.2;
}
