// Fidelity: how close one video is to another, pixel by pixel. PSNR over all RGB bytes; SSIM (Wang, Bovik, Sheikh
// and Simoncelli 2004) on luma with their 11 x 11 Gaussian window (sigma 1.5) and constants K1 = 0.01, K2 = 0.03,
// L = 255, averaged over the positions where the window lies inside the frame, then over frames. Used for the VAE's
// round trip (frames -> latents -> frames) against the simulator's frames.
using Spacetime.Media;

namespace Spacetime.Eval;

/// <summary>Full-reference image quality of one video against another of the same size.</summary>
public static class Fidelity
{
    /// <summary>Window side of SSIM (frames smaller than the window use their largest odd side).</summary>
    public const int SsimWindow = 11;
    const double SsimSigma = 1.5;
    const double C1 = 0.01 * 255 * 0.01 * 255, C2 = 0.03 * 255 * 0.03 * 255;

    /// <summary>Peak signal-to-noise ratio in dB: 10 log10(255² / MSE), the MSE over every byte of every frame;
    /// +infinity for identical videos. An offset of one level everywhere gives 48.13 dB.</summary>
    public static double Psnr(Frames a, Frames b)
    {
        CheckSameSize(a, b);
        double sum = 0;
        for (long i = 0; i < a.Rgb.LongLength; i++)
        {
            double d = a.Rgb[i] - b.Rgb[i];
            sum += d * d;
        }
        double mse = sum / a.Rgb.LongLength;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    /// <summary>Mean structural similarity of the frames' luma (BT.601: 0.299 R + 0.587 G + 0.114 B), in [-1, 1];
    /// exactly 1 for identical videos.</summary>
    public static double Ssim(Frames a, Frames b)
    {
        CheckSameSize(a, b);
        if (a.Count == 0) return 1;
        double sum = 0;
        for (int t = 0; t < a.Count; t++)
            sum += SsimFrame(Luma(a.Frame(t)), Luma(b.Frame(t)), a.Width, a.Height);
        return sum / a.Count;
    }

    /// <summary>SSIM of two luma images (H x W), the mean of the SSIM map over the valid window positions.</summary>
    internal static double SsimFrame(double[] x, double[] y, int width, int height)
    {
        var g = Gaussian(Math.Min(SsimWindow, OddAtMost(Math.Min(width, height))));
        var (mx, my) = (Filter(x, width, height, g), Filter(y, width, height, g));            // (H', W') local means
        var xx = Filter(Product(x, x), width, height, g);
        var yy = Filter(Product(y, y), width, height, g);
        var xy = Filter(Product(x, y), width, height, g);
        double sum = 0;
        for (int i = 0; i < mx.Length; i++)
        {
            double vx = xx[i] - mx[i] * mx[i], vy = yy[i] - my[i] * my[i], cov = xy[i] - mx[i] * my[i];
            sum += (2 * mx[i] * my[i] + C1) * (2 * cov + C2)
                   / ((mx[i] * mx[i] + my[i] * my[i] + C1) * (vx + vy + C2));
        }
        return sum / mx.Length;
    }

    /// <summary>The normalised 1-D Gaussian of SSIM, <paramref name="size"/> taps.</summary>
    internal static double[] Gaussian(int size)
    {
        var g = new double[size];
        int r = size / 2;
        for (int i = 0; i < size; i++) g[i] = Math.Exp(-(i - r) * (i - r) / (2 * SsimSigma * SsimSigma));
        double total = g.Sum();
        for (int i = 0; i < size; i++) g[i] /= total;
        return g;
    }

    // image (H, W) -> (H - k + 1, W - k + 1): separable 'valid' filtering with g (k taps), rows then columns
    static double[] Filter(double[] image, int width, int height, double[] g)
    {
        int k = g.Length, w = width - k + 1, h = height - k + 1;
        var rows = new double[height * w];                                                      // (H, W')
        for (int y = 0; y < height; y++)
            for (int x = 0; x < w; x++)
            {
                double s = 0;
                for (int j = 0; j < k; j++) s += g[j] * image[y * width + x + j];
                rows[y * w + x] = s;
            }
        var result = new double[h * w];                                                         // (H', W')
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                double s = 0;
                for (int j = 0; j < k; j++) s += g[j] * rows[(y + j) * w + x];
                result[y * w + x] = s;
            }
        return result;
    }

    static double[] Product(double[] a, double[] b)
    {
        var p = new double[a.Length];
        for (int i = 0; i < a.Length; i++) p[i] = a[i] * b[i];
        return p;
    }

    /// <summary>BT.601 luma of one frame (H x W x 3 bytes) as an H x W image in levels.</summary>
    internal static double[] Luma(ReadOnlySpan<byte> rgb)
    {
        var y = new double[rgb.Length / 3];
        for (int i = 0; i < y.Length; i++)
            y[i] = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
        return y;
    }

    static int OddAtMost(int n) => n % 2 == 1 ? n : n - 1;

    static void CheckSameSize(Frames a, Frames b)
    {
        if (a.Count != b.Count || a.Width != b.Width || a.Height != b.Height)
            throw new ArgumentException($"videos differ in size: {a.Count} frames of {a.Width}x{a.Height} vs " +
                                        $"{b.Count} frames of {b.Width}x{b.Height}");
    }
}
