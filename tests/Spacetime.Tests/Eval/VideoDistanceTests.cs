// The Fréchet distance against closed forms (1-D, diagonal covariances), and the Jacobi eigensolver it rests on.
using Spacetime.Eval;

namespace Spacetime.Tests.Eval;

public class VideoDistanceTests
{
    [Fact]
    public void Jacobi_ReconstructsASymmetricMatrix()
    {
        var rng = new Random(3);
        int d = 7;
        var a = new double[d, d];
        for (int i = 0; i < d; i++) for (int j = 0; j <= i; j++) a[i, j] = a[j, i] = rng.NextDouble() * 2 - 1;
        var (values, v) = VideoDistance.Jacobi(a);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
            {
                double r = 0;
                for (int k = 0; k < d; k++) r += v[i, k] * values[k] * v[j, k];
                Assert.Equal(a[i, j], r, 10);
            }
    }

    [Fact]
    public void OneDimension_IsMeanGapSquaredPlusStdGapSquared()
    {
        // {-1, 1}: mean 0, variance 2; {2, 4}: mean 3, variance 2 -> 9 + (sqrt 2 - sqrt 2)^2
        Assert.Equal(9, VideoDistance.Frechet([[-1f], [1f]], [[2f], [4f]]), 9);
        // {-1, 1} against {-2, 2} (variance 8): 0 + (sqrt 2 - sqrt 8)^2 = 2
        Assert.Equal(2, VideoDistance.Frechet([[-1f], [1f]], [[-2f], [2f]]), 9);
    }

    [Fact]
    public void DiagonalCovariances_MatchTheClosedForm()
    {
        // a: (±1, 0), (0, ±2): mean 0, variances 2/3 and 8/3; b: (±2, 0), (0, ±1) shifted by (1, 1): 8/3 and 2/3
        float[][] a = [[1, 0], [-1, 0], [0, 2], [0, -2]];
        float[][] b = [[3, 1], [-1, 1], [1, 2], [1, 0]];
        double expected = 2 + 2 * Math.Pow(Math.Sqrt(2.0 / 3) - Math.Sqrt(8.0 / 3), 2);   // 10/3
        Assert.Equal(expected, VideoDistance.Frechet(a, b), 9);
    }

    [Fact]
    public void SameSet_IsZero_AndMoreFeaturesThanVideosStillWorks()
    {
        var rng = new Random(5);
        var rows = Enumerable.Range(0, 10).Select(_ => Enumerable.Range(0, 32).Select(_ => (float)rng.NextDouble()).ToArray())
                             .ToArray();
        Assert.Equal(0, VideoDistance.Frechet(rows, rows), 6);
        var shifted = rows.Select(r => r.Select(x => x + 1f).ToArray()).ToArray();
        Assert.Equal(32, VideoDistance.Frechet(rows, shifted), 4);                          // |mu gap|^2 = 32
    }

    [Fact]
    public void TooFewVideos_Throws() =>
        Assert.Throws<ArgumentException>(() => VideoDistance.Frechet([[1f]], [[1f], [2f]]));
}
