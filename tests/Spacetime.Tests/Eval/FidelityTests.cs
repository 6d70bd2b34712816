// PSNR and SSIM: known values on small synthetic videos, and SSIM against a naive windowed reference.
using Spacetime.Eval;
using Spacetime.Media;

namespace Spacetime.Tests.Eval;

public sealed class FidelityTests
{
    static Frames Random(int count, int height, int width, int seed)
    {
        var f = new Frames(count, height, width, 8);
        new Random(seed).NextBytes(f.Rgb);
        return f;
    }

    static Frames Constant(int count, int height, int width, byte value)
    {
        var f = new Frames(count, height, width, 8);
        Array.Fill(f.Rgb, value);
        return f;
    }

    [Fact]
    public void Psnr_Identical_IsInfinity()
    {
        var a = Random(2, 9, 7, 1);
        Assert.Equal(double.PositiveInfinity, Fidelity.Psnr(a, a));
    }

    [Fact]
    public void Psnr_OffsetOfOneLevel_Is48_13dB()
    {
        var a = Random(2, 9, 7, 1);
        var b = new Frames(2, 9, 7, 8, a.Rgb.Select(v => (byte)(v == 255 ? 254 : v + 1)).ToArray());
        Assert.Equal(10 * Math.Log10(255.0 * 255), Fidelity.Psnr(a, b), 12);
        Assert.Equal(48.13, Fidelity.Psnr(a, b), 2);
    }

    [Fact]
    public void Psnr_HalfTheBytesOff_ByTen_Is10Log10Of255SquaredOver50()
    {
        var a = Constant(1, 4, 4, 100);
        var b = Constant(1, 4, 4, 100);
        for (int i = 0; i < b.Rgb.Length; i += 2) b.Rgb[i] = 110;               // MSE = 100 / 2
        Assert.Equal(10 * Math.Log10(255.0 * 255 / 50), Fidelity.Psnr(a, b), 12);
    }

    [Fact]
    public void Ssim_Identical_IsOne()
    {
        var a = Random(3, 20, 16, 2);
        Assert.Equal(1.0, Fidelity.Ssim(a, a), 12);
    }

    [Fact]
    public void Ssim_ConstantFrames_IsLuminanceTerm()
    {
        // No variance: SSIM = (2 x y + C1) / (x² + y² + C1) with C1 = (0.01 x 255)².
        var (a, b) = (Constant(2, 16, 16, 100), Constant(2, 16, 16, 120));
        double c1 = 2.55 * 2.55, expected = (2 * 100.0 * 120 + c1) / (100.0 * 100 + 120.0 * 120 + c1);
        Assert.Equal(expected, Fidelity.Ssim(a, b), 9);
    }

    [Fact]
    public void Ssim_MatchesNaiveWindowedReference_AndIsSymmetric()
    {
        var (a, b) = (Random(1, 15, 13, 3), Random(1, 15, 13, 4));
        for (int i = 0; i < a.Rgb.Length; i++) b.Rgb[i] = (byte)((a.Rgb[i] * 3 + b.Rgb[i]) / 4);   // correlated
        double ssim = Fidelity.Ssim(a, b);
        Assert.Equal(NaiveSsim(Fidelity.Luma(a.Frame(0)), Fidelity.Luma(b.Frame(0)), 13, 15), ssim, 10);
        Assert.Equal(ssim, Fidelity.Ssim(b, a), 12);
        Assert.InRange(ssim, 0.3, 0.99);
    }

    [Fact]
    public void Ssim_FrameSmallerThanWindow_UsesLargestOddWindow()
    {
        var (a, b) = (Random(1, 6, 9, 5), Random(1, 6, 9, 6));
        Assert.Equal(NaiveSsim(Fidelity.Luma(a.Frame(0)), Fidelity.Luma(b.Frame(0)), 9, 6, window: 5),
                     Fidelity.Ssim(a, b), 10);
    }

    [Fact]
    public void PsnrAndSsim_DifferentSizes_Throw()
    {
        Assert.Throws<ArgumentException>(() => Fidelity.Psnr(Random(2, 8, 8, 1), Random(3, 8, 8, 1)));
        Assert.Throws<ArgumentException>(() => Fidelity.Ssim(Random(2, 8, 8, 1), Random(2, 8, 9, 1)));
    }

    /// <summary>SSIM straight from the definition: a 2-D Gaussian window at every valid position, float64.</summary>
    static double NaiveSsim(double[] x, double[] y, int width, int height, int window = 11)
    {
        int r = window / 2;
        var w2 = new double[window, window];
        double total = 0;
        for (int i = 0; i < window; i++)
            for (int j = 0; j < window; j++)
                total += w2[i, j] = Math.Exp(-((i - r) * (i - r) + (j - r) * (j - r)) / (2 * 1.5 * 1.5));
        double c1 = Math.Pow(0.01 * 255, 2), c2 = Math.Pow(0.03 * 255, 2), sum = 0;
        int count = 0;
        for (int y0 = 0; y0 + window <= height; y0++)
            for (int x0 = 0; x0 + window <= width; x0++)
            {
                double mx = 0, my = 0, xx = 0, yy = 0, xy = 0;
                for (int i = 0; i < window; i++)
                    for (int j = 0; j < window; j++)
                    {
                        double wt = w2[i, j] / total, a = x[(y0 + i) * width + x0 + j], b = y[(y0 + i) * width + x0 + j];
                        (mx, my) = (mx + wt * a, my + wt * b);
                        (xx, yy, xy) = (xx + wt * a * a, yy + wt * b * b, xy + wt * a * b);
                    }
                double vx = xx - mx * mx, vy = yy - my * my, cov = xy - mx * my;
                sum += (2 * mx * my + c1) * (2 * cov + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2));
                count++;
            }
        return sum / count;
    }
}
