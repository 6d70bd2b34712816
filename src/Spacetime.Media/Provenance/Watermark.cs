// Watermark: an invisible spread-spectrum mark carrying a 32-bit payload, embedded in luma and found again after
// re-encoding, scaling, cropping, palette quantisation, re-timing and cutting (docs/provenance.md: method and figures).
//
// Embed: the keyed tile of +/-1 cells (WatermarkLayout) times a per-pixel step is added to R, G and B alike (so to luma
// only) at every pixel of every frame, the tile repeated from pixel (0, 0). The same mark in every frame means
// re-timing, dropped or cut frames change nothing but how many frames the detector averages. The step
// (WatermarkSettings.Perceptual, the default) is at most one just-noticeable difference (one unit of CIE lightness, 2
// levels) on flat areas and up to 6 levels on edges and texture, the frame's mean square held at Amplitude^2 or less
// (PSNR); without it, Amplitude (dithered) everywhere.
//
// Detect, for each scale hypothesis s (1: as made; 0.5: halved; ...):
//   1) per frame: luma Y, high-passed r = clip(Y - sigmamean(Y), +/-Amplitude/2), sigmamean an edge-preserving
//      local mean (of the neighbours within a few levels of the pixel), so flat colour, gradients, piecewise-constant
//      textures (checkerboards, stripes) and the strong edges of the picture weigh little against the mark;
//   2) fold: F[y mod Ps, x mod Ps] = mean of r over all frames and tiles, Ps = s * tile. A crop by any offset is now
//      a circular shift of F, and averaging over frames and tiles lifts the mark above the picture;
//   3) F is resampled to the tile's own size (P x P), its spectrum partly flattened (a static texture that repeats
//      with the tile, like a checkerboard floor, would otherwise swamp the mark), and summed over each cell-sized
//      window: B[y, x];
//   4) for every one of the P x P circular offsets o, with r_j = B at cell j's corner under o:
//        T(o) = sum_sync sign_j r_j + sum_k | sum_{j in bit k} sign_j r_j |
//      (the sync cells plus the payload cells whatever their bits, so the whole mark's energy counts);
//   5) z = (max T - mean T) / std T over the offsets away from the peak (the null spread), and the p-value is
//      Q(z) x (offsets x scales), Bonferroni for having looked at every offset and scale. The payload is read at
//      the peak: bit k = sign of its cells' correlation.
// The decision is p < DecisionPValue.
namespace Spacetime.Media.Provenance;

/// <summary>What <see cref="Watermark.Detect"/> found.</summary>
/// <param name="Watermarked">True when <see cref="PValue"/> is below <see cref="Watermark.DecisionPValue"/>.</param>
/// <param name="Payload">The 32 bits read at the best offset (meaningful only when watermarked).</param>
/// <param name="PValue">Probability that an unmarked video scores this high (Bonferroni-corrected; 0 = below 1e-300).</param>
/// <param name="ZScore">The peak's distance from the null spread, in standard deviations.</param>
/// <param name="Scale">The scale hypothesis that won (1 = original size, 0.5 = halved).</param>
/// <param name="FramesUsed">Frames averaged.</param>
public sealed record WatermarkDetection(bool Watermarked, uint Payload, double PValue, double ZScore, double Scale,
                                        int FramesUsed);

/// <summary>Embeds and detects the watermark.</summary>
public static class Watermark
{
    /// <summary>A video is called watermarked below this p-value. The Gaussian null makes this one in a million; the
    /// null's tail is heavier on structured scenes (measured in docs/provenance.md), hence the margin below the
    /// issue's 0.1%.</summary>
    public const double DecisionPValue = 1e-6;

    /// <summary>Size hypotheses the detector tries: as made, and each side halved (also 3/4 and doubled).</summary>
    public static readonly IReadOnlyList<double> Scales = [1.0, 0.5, 0.75, 2.0];

    /// <summary>The smallest side a video may have for detection: half a tile (a quarter of the tile's cells, or a
    /// whole tile of a halved video). Presence is found from there; every payload bit needs a whole tile in view
    /// (64 pixels a side as made, 32 when halved), as the bits' cells are spread over the tile.</summary>
    public static int MinSidePx(WatermarkSettings settings) => settings.TilePx / 2;

    /// <summary>At most this many frames are read (evenly spaced); more adds time, not evidence.</summary>
    public const int MaxFramesRead = 256;

    /// <summary>Why <paramref name="video"/> cannot carry or show the mark, or null when it can.</summary>
    public static string? WhyTooSmall(Frames video, WatermarkSettings? settings = null)
    {
        settings ??= new WatermarkSettings();
        int min = MinSidePx(settings);
        if (video.Count == 0) return "the video has no frames";
        if (video.Width < min || video.Height < min)
            return $"{video.Width}x{video.Height} is too small to carry the watermark (at least {min}x{min} pixels)";
        return null;
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Embedding

    /// <summary>A copy of <paramref name="video"/> with the watermark carrying <paramref name="payload"/>.</summary>
    public static Frames Embed(Frames video, uint payload, WatermarkSettings? settings = null)
    {
        var layout = new WatermarkLayout(settings ?? new WatermarkSettings());
        var s = layout.Settings;
        sbyte[] cells = layout.CellValues(payload);
        int P = s.TilePx, c = s.CellPx, n = s.TileCells, W = video.Width, H = video.Height;
        // Each tile pixel's sign (P, P) and dither threshold: a fractional amplitude a rounds up at tile pixel i when
        // frac(i x golden ratio) < frac(a), so in any region about frac(a) of the pixels get the larger step (a uniform
        // 2.4 = 60% twos and 40% threes: MSE 6.0, PSNR 40.35 dB before clipping at 0 and 255).
        var sign = new int[P * P];
        var dither = new double[P * P];
        for (int y = 0; y < P; y++)
            for (int x = 0; x < P; x++)
            {
                sign[y * P + x] = cells[(y / c) * n + x / c];
                dither[y * P + x] = (y * P + x) * 0.6180339887498949 % 1.0;
            }
        var rgb = (byte[])video.Rgb.Clone();
        var level = new int[W * H];                             // (H, W) the integer step of this frame's pixels
        for (int t = 0; t < video.Count; t++)
        {
            Span<byte> frame = rgb.AsSpan(t * video.FrameBytes, video.FrameBytes);   // (H, W, 3)
            Levels(level, frame, W, H, s, dither);
            for (int y = 0; y < H; y++)
            {
                int row = (y % P) * P;
                for (int x = 0; x < W; x++)
                {
                    int p = y * W + x, d = level[p] * sign[row + x % P], i = 3 * p;
                    frame[i] = Clamp(frame[i] + d);
                    frame[i + 1] = Clamp(frame[i + 1] + d);
                    frame[i + 2] = Clamp(frame[i + 2] + d);
                }
            }
        }
        return new Frames(video.Count, H, W, video.Fps, rgb);
    }

    // The step (luma levels, >= 0) at each pixel of one unmarked (H, W, 3) frame, into level (H, W).
    //   uniform:    a = Amplitude everywhere, dithered;
    //   perceptual: a = min(MaxAmplitude, JND) (Jnd: one unit of CIE lightness on a flat area, more where the local
    //               contrast masks it), scaled down by g <= 1 so the frame's mean a^2 is at most Amplitude^2 (the PSNR
    //               the uniform mark has: dithering adds at most 0.25 to each pixel's expected square), dithered, and
    //               never above floor(JND): the dither's rounding up must not put a flat pixel past one JND.
    static void Levels(int[] level, ReadOnlySpan<byte> frame, int W, int H, WatermarkSettings s, double[] dither)
    {
        int P = s.TilePx;
        if (!s.Perceptual)
        {
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) level[y * W + x] = Dithered(s.Amplitude, dither[(y % P) * P + x % P]);
            return;
        }
        float[] jnd = Jnd(Luma(frame, W, H), W, H);
        double sumSq = 0;
        foreach (float j in jnd) sumSq += Math.Min(MaxAmplitude, j) * (double)Math.Min(MaxAmplitude, j);
        double g = Math.Min(1.0, s.Amplitude / Math.Sqrt(sumSq / jnd.Length));
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
            {
                float j = jnd[y * W + x];
                level[y * W + x] = Math.Min((int)j, Dithered(g * Math.Min(MaxAmplitude, j), dither[(y % P) * P + x % P]));
            }
    }

    static int Dithered(double a, double threshold) => (int)Math.Floor(a) + (threshold < a - Math.Floor(a) ? 1 : 0);

    /// <summary>The perceptual mark's largest step, in luma levels, on an edge or texture.</summary>
    internal const float MaxAmplitude = 6;

    /// <summary>Texture masking: the JND rises by this times the local standard deviation of luma.</summary>
    internal const float TextureMasking = 0.25f;

    /// <summary>Radius of the window (5 x 5) over which Jnd takes the local mean and standard deviation.</summary>
    internal const int JndRadius = 2;

    // A just-noticeable difference per pixel, in luma levels: JND = max(Tl(mean), TextureMasking x std), mean and std of
    // luma over the (2 JndRadius + 1)^2 window clipped to the frame (the max of a luminance and a texture threshold is
    // Chou and Li's 1995 form). Tl(v) = the levels that move a grey of sRGB value v by one unit of CIE L* (about 2.0 at
    // 30-60, 2.55 at 128, 3.65 near black: LevelsPerLightness). y, result: (H, W). Integral images, O(W H); JndNaive
    // is the definition pixel by pixel.
    internal static float[] Jnd(float[] y, int W, int H)
    {
        int r = JndRadius, W1 = W + 1;
        var sum = new double[(H + 1) * W1];                     // (H + 1, W + 1) integral images of y and y^2
        var sq = new double[(H + 1) * W1];
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++)
            {
                double v = y[yy * W + xx];
                int i = (yy + 1) * W1 + xx + 1;
                sum[i] = v + sum[i - 1] + sum[i - W1] - sum[i - W1 - 1];
                sq[i] = v * v + sq[i - 1] + sq[i - W1] - sq[i - W1 - 1];
            }
        var jnd = new float[W * H];
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++)
            {
                int y0 = Math.Max(0, yy - r), y1 = Math.Min(H, yy + r + 1), x0 = Math.Max(0, xx - r), x1 = Math.Min(W, xx + r + 1);
                double k = (y1 - y0) * (x1 - x0);
                double s1 = sum[y1 * W1 + x1] - sum[y0 * W1 + x1] - sum[y1 * W1 + x0] + sum[y0 * W1 + x0];
                double s2 = sq[y1 * W1 + x1] - sq[y0 * W1 + x1] - sq[y1 * W1 + x0] + sq[y0 * W1 + x0];
                double mean = s1 / k, std = Math.Sqrt(Math.Max(0, s2 / k - mean * mean));
                jnd[yy * W + xx] = (float)Math.Max(LuminanceJnd(mean), TextureMasking * std);
            }
        return jnd;
    }

    // Jnd by its definition: every window summed directly, the variance as the mean squared deviation. O(W H r^2).
    internal static float[] JndNaive(float[] y, int W, int H)
    {
        int r = JndRadius;
        var jnd = new float[W * H];
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++)
            {
                double sum = 0;
                int k = 0;
                for (int dy = -r; dy <= r; dy++)
                    for (int dx = -r; dx <= r; dx++)
                        if (yy + dy >= 0 && yy + dy < H && xx + dx >= 0 && xx + dx < W) { sum += y[(yy + dy) * W + xx + dx]; k++; }
                double mean = sum / k, dev = 0;
                for (int dy = -r; dy <= r; dy++)
                    for (int dx = -r; dx <= r; dx++)
                        if (yy + dy >= 0 && yy + dy < H && xx + dx >= 0 && xx + dx < W)
                            dev += (y[(yy + dy) * W + xx + dx] - mean) * (y[(yy + dy) * W + xx + dx] - mean);
                jnd[yy * W + xx] = (float)Math.Max(LuminanceJnd(mean), TextureMasking * Math.Sqrt(dev / k));
            }
        return jnd;
    }

    // Tl(v): LevelsPerLightness at grey v, linearly interpolated between whole levels.
    static double LuminanceJnd(double v)
    {
        v = Math.Clamp(v, 0, 255);
        int i = Math.Min(254, (int)v);
        return LevelsPerLightness[i] + (v - i) * (LevelsPerLightness[i + 1] - LevelsPerLightness[i]);
    }

    // Per grey level v = 0..255: the sRGB levels per unit of CIE L* there, 1 / (L*(v + 1/2) - L*(v - 1/2)), the step
    // clipped to 0..255. CIELAB's L* was built so that one unit is about one just-noticeable lightness difference.
    static readonly double[] LevelsPerLightness = Enumerable.Range(0, 256).Select(v =>
    {
        double lo = Math.Max(0, v - 0.5), hi = Math.Min(255, v + 0.5);
        return (hi - lo) / (Lightness(hi) - Lightness(lo));
    }).ToArray();

    /// <summary>CIE L* (0..100) of a grey whose R, G and B are <paramref name="v"/> (0..255, sRGB).</summary>
    internal static double Lightness(double v) => LightnessOfY(SrgbToLinear(v));

    /// <summary>CIE L* of relative luminance <paramref name="y"/> (0..1).</summary>
    internal static double LightnessOfY(double y) => y > 216.0 / 24389 ? 116 * Math.Cbrt(y) - 16 : 24389.0 / 27 * y;

    /// <summary>The sRGB transfer function: an 8-bit value to linear light (0..1).</summary>
    internal static double SrgbToLinear(double v)
    {
        double c = v / 255;
        return c <= 0.04045 ? c / 12.92 : Math.Pow((c + 0.055) / 1.055, 2.4);
    }

    static byte Clamp(int v) => (byte)Math.Clamp(v, 0, 255);

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Detection

    /// <summary>Looks for the watermark in <paramref name="video"/>; never throws for odd sizes or frame counts
    /// (a video smaller than <see cref="MinSidePx"/> is reported unmarked with p = 1; check
    /// <see cref="WhyTooSmall"/> first to say so).</summary>
    public static WatermarkDetection Detect(Frames video, WatermarkSettings? settings = null)
    {
        var layout = new WatermarkLayout(settings ?? new WatermarkSettings());
        if (WhyTooSmall(video, layout.Settings) != null)
            return new WatermarkDetection(false, 0, 1.0, 0.0, 1.0, 0);
        int stride = Math.Max(1, (video.Count + MaxFramesRead - 1) / MaxFramesRead);
        var frames = Enumerable.Range(0, video.Count).Where(t => t % stride == 0).ToArray();
        var lumas = frames.Select(t => Luma(video.Frame(t), video.Width, video.Height)).ToArray();
        WatermarkDetection? best = null;
        double bestZ = double.NegativeInfinity;
        foreach (double scale in Scales)
        {
            var found = DetectAtScale(lumas, video.Width, video.Height, scale, layout);
            if (found is { } f && f.Z > bestZ)
            {
                bestZ = f.Z;
                double p = Math.Min(1.0, UpperTail(f.Z) * f.Offsets * Scales.Count);   // Bonferroni over all tries
                best = new WatermarkDetection(p < DecisionPValue, f.Payload, p, f.Z, scale, frames.Length);
            }
        }
        return best ?? new WatermarkDetection(false, 0, 1.0, 0.0, 1.0, frames.Length);
    }

    // Luma (BT.601 weights) of one (H, W, 3) frame, as floats (H * W).
    internal static float[] Luma(ReadOnlySpan<byte> rgb, int W, int H)
    {
        var y = new float[W * H];
        for (int i = 0; i < y.Length; i++)
            y[i] = 0.299f * rgb[3 * i] + 0.587f * rgb[3 * i + 1] + 0.114f * rgb[3 * i + 2];
        return y;
    }

    readonly record struct ScaleResult(double Z, uint Payload, int Offsets);

    // Steps 1-5 of the header for one scale; null when the frame holds less than half the tile each way at this scale.
    static ScaleResult? DetectAtScale(float[][] lumas, int W, int H, double scale, WatermarkLayout layout)
    {
        var s = layout.Settings;
        int P = s.TilePx, c = s.CellPx, n = s.TileCells;
        int Ps = (int)Math.Round(P * scale);                     // the tile's period in this video's pixels
        if (Ps < 2 || 2 * W < Ps || 2 * H < Ps) return null;   // at least half the tile in each direction
        int radius = Math.Max(1, (int)Math.Round(1.5 * c * scale));   // a window of about 3 x 3 cells
        // Clipping at half the amplitude makes each pixel vote little more than its sign: an edge or a codec's
        // ringing then counts no more than a flat pixel. Measured on world clips at CRF 35, clips of 4, 2, 1 and 0.5
        // times the amplitude gave z = 4.4-14, 7-15, 10-15 and 12-16 (docs/provenance.md).
        float clip = (float)(s.Amplitude / 2);
        var fold = new double[Ps * Ps];                         // (Ps, Ps) running sum of r
        var count = new int[Ps * Ps];
        var r = new float[W * H];
        foreach (var y in lumas)
        {
            HighPass(r, y, W, H, radius, clip);
            for (int yy = 0; yy < H; yy++)
            {
                int row = (yy % Ps) * Ps;
                for (int xx = 0; xx < W; xx++)
                {
                    fold[row + xx % Ps] += r[yy * W + xx];
                    count[row + xx % Ps]++;
                }
            }
        }
        for (int i = 0; i < fold.Length; i++) fold[i] = count[i] > 0 ? fold[i] / count[i] : 0;   // 0: not seen
        double[] tile = Ps == P ? fold : ResampleCircular(fold, Ps, P);   // (P, P)
        Whiten(tile, P, WhiteningPower);
        double[] box = CellBoxSums(tile, P, c);                             // (P, P)
        return BestOffset(box, layout);
    }

    /// <summary>Luma levels within which a neighbour counts as the same surface in <see cref="SigmaMean"/>: above the
    /// mark's own peak-to-peak (2 x 3 levels, so a flat area's + and - cells are averaged together, with room for a
    /// codec's noise) and below the smallest step between two world background colours (dark grey and brown, about 10
    /// levels of luma). On the textured world clips 5, 6 and 8 measured alike; 10, 12 and 16 let those steps back in
    /// (docs/provenance.md).</summary>
    const float SigmaLevels = 8;

    // r = clip(y - SigmaMean(y), +/-clip). y, r: (H, W).
    static void HighPass(float[] r, float[] y, int W, int H, int radius, float clip)
    {
        float[] mean = SigmaMean(y, W, H, radius, SigmaLevels);
        for (int i = 0; i < r.Length; i++) r[i] = Math.Clamp(y[i] - mean[i], -clip, clip);
    }

    // An edge-preserving local mean: Lee's sigma filter (1983), made separable. Along each row, the mean of the pixels
    // within `radius` whose luma is within `levels` of the centre pixel's; then along each column, the mean of those row
    // means that are within `levels` of the centre pixel's luma (the window is clipped to the frame; the centre always
    // counts, so no mean is empty). A piecewise-constant background (a checkerboard, stripes) is predicted up to its
    // edges and leaves no residual, where a box mean leaves the step's sign for a radius around every edge, and that
    // folds into the tile with the texture. The mark's cells (+/-3 levels at most) stay in the same mean, so they
    // stay in the residual. y, result: (H, W). O(W H radius); SigmaMeanNaive is the definition, pixel by pixel.
    internal static float[] SigmaMean(float[] y, int W, int H, int radius, float levels) =>
        SigmaPass(SigmaPass(y, y, W, H, radius, levels, alongX: true), y, W, H, radius, levels, alongX: false);

    // One pass of SigmaMean: result[p] = the mean of src over the pixels within `radius` of p along x (or y) whose value
    // is within `levels` of centre[p]. In both passes src[p] is within `levels` of centre[p] (pass 1: it is centre[p];
    // pass 2: a mean of such values), so no mean is empty. src, centre, result: (H, W).
    static float[] SigmaPass(float[] src, float[] centre, int W, int H, int radius, float levels, bool alongX)
    {
        var result = new float[W * H];
        int n = alongX ? W : H, step = alongX ? 1 : W;
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++)
            {
                int p = yy * W + xx, at = alongX ? xx : yy;
                float c = centre[p];
                double sum = 0;
                int k = 0;
                for (int j = Math.Max(0, at - radius); j <= Math.Min(n - 1, at + radius); j++)
                {
                    float v = src[p + (j - at) * step];
                    if (Math.Abs(v - c) <= levels) { sum += v; k++; }
                }
                result[p] = (float)(sum / k);
            }
        return result;
    }

    // SigmaMean by its definition, one output pixel at a time, recomputing every row mean it needs: the reference the
    // tests compare the two-pass version against. O(W H radius^2).
    internal static float[] SigmaMeanNaive(float[] y, int W, int H, int radius, float levels)
    {
        float RowMean(int yy, int xx)                           // mean along row yy of the pixels near y[yy, xx]
        {
            double sum = 0;
            int k = 0;
            for (int dx = -radius; dx <= radius; dx++)
                if (xx + dx >= 0 && xx + dx < W && Math.Abs(y[yy * W + xx + dx] - y[yy * W + xx]) <= levels)
                {
                    sum += y[yy * W + xx + dx];
                    k++;
                }
            return (float)(sum / k);
        }
        var mean = new float[W * H];
        for (int yy = 0; yy < H; yy++)
            for (int xx = 0; xx < W; xx++)
            {
                double sum = 0;
                int k = 0;
                for (int dy = -radius; dy <= radius; dy++)
                {
                    if (yy + dy < 0 || yy + dy >= H) continue;
                    float v = RowMean(yy + dy, xx);
                    if (Math.Abs(v - y[yy * W + xx]) <= levels) { sum += v; k++; }
                }
                mean[yy * W + xx] = (float)(sum / k);
            }
        return mean;
    }

    /// <summary>How far the folded tile's spectrum is flattened: X(k) / |X(k)|^power. 1 would be phase only (JAWS's
    /// SPOMF); on world clips both 1 and 0.5 rescued the checkerboard scenes that no whitening missed, but 1 also
    /// pushed unmarked clips up to z 5.5 (the codec leaves only noise in the high frequencies, which full whitening
    /// weighs as much as the rest), while 0.5 kept them below 4.9 (docs/provenance.md).</summary>
    const double WhiteningPower = 0.5;

    // Spectral whitening of the folded tile, in place: each 2-D DFT coefficient X(k) becomes X(k) / |X(k)|^power,
    // the mean removed. A static texture repeating with the tile (a checkerboard background) puts its energy in a few
    // frequencies, which whitening turns down toward the level of the rest, where the broadband mark lives.
    // tile: (P, P), real.
    static void Whiten(double[] tile, int P, double power)
    {
        var re = (double[])tile.Clone();
        var im = new double[P * P];
        Dft2(re, im, P, inverse: false);
        re[0] = im[0] = 0;                                      // the mean carries no mark
        for (int i = 1; i < re.Length; i++)
        {
            double mag = Math.Sqrt(re[i] * re[i] + im[i] * im[i]);
            double scale = mag > 1e-12 ? Math.Pow(mag, -power) : 0;
            re[i] *= scale;
            im[i] *= scale;
        }
        Dft2(re, im, P, inverse: true);
        Array.Copy(re, tile, tile.Length);                      // the imaginary part is round-off: the input was real
    }

    // Separable 2-D DFT of a (P, P) complex array in place, rows then columns; O(P^3), 0.5 M products at P = 64.
    static void Dft2(double[] re, double[] im, int P, bool inverse)
    {
        var cos = new double[P];
        var sin = new double[P];
        for (int k = 0; k < P; k++)
        {
            cos[k] = Math.Cos(2 * Math.PI * k / P);
            sin[k] = (inverse ? 1 : -1) * Math.Sin(2 * Math.PI * k / P);
        }
        var rowRe = new double[P];
        var rowIm = new double[P];
        for (int pass = 0; pass < 2; pass++)                    // pass 0: along x (stride 1); pass 1: along y (stride P)
        {
            int stride = pass == 0 ? 1 : P, step = pass == 0 ? P : 1;
            for (int line = 0; line < P; line++)
            {
                int first = line * step;
                for (int k = 0; k < P; k++)
                {
                    double sr = 0, si = 0;
                    for (int x = 0; x < P; x++)
                    {
                        int t = (k * x) % P, i = first + x * stride;
                        sr += re[i] * cos[t] - im[i] * sin[t];
                        si += re[i] * sin[t] + im[i] * cos[t];
                    }
                    rowRe[k] = sr;
                    rowIm[k] = si;
                }
                for (int k = 0; k < P; k++)
                {
                    re[first + k * stride] = rowRe[k];
                    im[first + k * stride] = rowIm[k];
                }
            }
        }
    }

    // Bilinear resampling of a circular (Ps, Ps) tile to (P, P): output pixel y looks at (y + 0.5) Ps / P - 0.5.
    static double[] ResampleCircular(double[] src, int Ps, int P)
    {
        var dst = new double[P * P];
        double k = (double)Ps / P;
        for (int y = 0; y < P; y++)
        {
            double sy = (y + 0.5) * k - 0.5;
            int y0 = (int)Math.Floor(sy);
            double fy = sy - y0;
            int ya = Mod(y0, Ps), yb = Mod(y0 + 1, Ps);
            for (int x = 0; x < P; x++)
            {
                double sx = (x + 0.5) * k - 0.5;
                int x0 = (int)Math.Floor(sx);
                double fx = sx - x0;
                int xa = Mod(x0, Ps), xb = Mod(x0 + 1, Ps);
                dst[y * P + x] = (1 - fy) * ((1 - fx) * src[ya * Ps + xa] + fx * src[ya * Ps + xb])
                               + fy * ((1 - fx) * src[yb * Ps + xa] + fx * src[yb * Ps + xb]);
            }
        }
        return dst;
    }

    static int Mod(int a, int m) => ((a % m) + m) % m;

    // B[y, x] = sum of tile over the c x c window whose top-left corner is (y, x), circularly. tile, B: (P, P).
    static double[] CellBoxSums(double[] tile, int P, int c)
    {
        var box = new double[P * P];
        for (int y = 0; y < P; y++)
            for (int x = 0; x < P; x++)
            {
                double sum = 0;
                for (int dy = 0; dy < c; dy++)
                    for (int dx = 0; dx < c; dx++)
                        sum += tile[((y + dy) % P) * P + (x + dx) % P];
                box[y * P + x] = sum;
            }
        return box;
    }

    // Step 4 and 5: T at every circular offset, the peak's z against the offsets away from it, the payload there.
    static ScaleResult BestOffset(double[] box, WatermarkLayout layout)
    {
        var s = layout.Settings;
        int P = s.TilePx, c = s.CellPx, n = s.TileCells;
        var score = new double[P * P];
        var bitCorr = new double[WatermarkSettings.PayloadBits];
        int peak = 0;
        for (int oy = 0; oy < P; oy++)
            for (int ox = 0; ox < P; ox++)
            {
                Correlate(box, layout, oy, ox, bitCorr, out double sync);
                double t = sync;
                foreach (double b in bitCorr) t += Math.Abs(b);
                score[oy * P + ox] = t;
                if (t > score[peak]) peak = oy * P + ox;
            }
        // the null spread: every offset at least one cell from the peak (closer ones overlap the peak's cells)
        int py = peak / P, px = peak % P;
        double sum = 0, sumSq = 0;
        int m = 0;
        for (int oy = 0; oy < P; oy++)
            for (int ox = 0; ox < P; ox++)
            {
                int dy = Math.Min(Mod(oy - py, P), Mod(py - oy, P)), dx = Math.Min(Mod(ox - px, P), Mod(px - ox, P));
                if (dy < c && dx < c) continue;
                sum += score[oy * P + ox];
                sumSq += score[oy * P + ox] * score[oy * P + ox];
                m++;
            }
        double mean = sum / m, std = Math.Sqrt(Math.Max(0, sumSq / m - mean * mean));
        double z = std > 1e-12 ? (score[peak] - mean) / std : 0;   // a constant tile (a flat video) has no evidence
        Correlate(box, layout, py, px, bitCorr, out _);
        uint payload = 0;
        for (int b = 0; b < bitCorr.Length; b++)
            if (bitCorr[b] > 0) payload |= 1u << b;
        return new ScaleResult(z, payload, P * P);
    }

    // The sync correlation and each bit's correlation with the tile origin at (oy, ox).
    static void Correlate(double[] box, WatermarkLayout layout, int oy, int ox, double[] bitCorr, out double sync)
    {
        int P = layout.Settings.TilePx, c = layout.Settings.CellPx, n = layout.N;
        Array.Clear(bitCorr);
        sync = 0;
        for (int j = 0; j < layout.Sign.Length; j++)
        {
            int cy = j / n, cx = j % n;
            double v = layout.Sign[j] * box[((oy + cy * c) % P) * P + (ox + cx * c) % P];
            if (layout.Role[j] < 0) sync += v;
            else bitCorr[layout.Role[j]] += v;
        }
    }

    /// <summary>Q(z) = P(N(0,1) > z), accurate to about 1e-7 relative even far in the tail.</summary>
    public static double UpperTail(double z) => 0.5 * Erfc(z / Math.Sqrt(2));

    // erfc by the Chebyshev-fitted exponential of Press et al., Numerical Recipes §6.2 (fractional error < 1.2e-7).
    static double Erfc(double x)
    {
        double z = Math.Abs(x), t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
                   t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 +
                   t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? r : 2 - r;
    }
}
