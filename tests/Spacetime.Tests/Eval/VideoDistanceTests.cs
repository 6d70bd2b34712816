// The Fréchet distance against closed forms (1-D, diagonal covariances), the Jacobi eigensolver it rests on, and the
// fast path for many sets against one reference (Householder + QL eigenvalues) against both.
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

    static double[,] RandomSymmetric(Random rng, int d)
    {
        var a = new double[d, d];
        for (int i = 0; i < d; i++) for (int j = 0; j <= i; j++) a[i, j] = a[j, i] = rng.NextDouble() * 2 - 1;
        return a;
    }

    static void AssertSameSpectrum(double[,] a)
    {
        var expected = VideoDistance.Jacobi(a).Values.Order().ToArray();
        var actual = VideoDistance.SymmetricEigenvalues(a).Order().ToArray();
        double scale = Math.Max(1, expected.Max(Math.Abs));
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-10 * scale,
            $"eigenvalue {i} of {expected.Length}: Jacobi {expected[i]}, QL {actual[i]}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(17)]
    [InlineData(40)]
    public void SymmetricEigenvalues_MatchJacobi(int d)
    {
        var rng = new Random(d);
        AssertSameSpectrum(RandomSymmetric(rng, d));
        // a rank-deficient Gram matrix (what the FVD's fast path feeds it): d x d from 3 rows
        var rows = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, d).Select(_ => rng.NextDouble()).ToArray()).ToArray();
        var gram = new double[d, d];
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) gram[i, j] = rows.Sum(r => r[i] * r[j]);
        AssertSameSpectrum(gram);
    }

    [Fact]
    public void SymmetricEigenvalues_DiagonalZeroAndRepeated()
    {
        Assert.Equal([-2.0, 0.5, 3.0], VideoDistance.SymmetricEigenvalues(new double[,] { { 3, 0, 0 }, { 0, -2, 0 }, { 0, 0, 0.5 } })
                                                  .Order().ToArray());
        Assert.All(VideoDistance.SymmetricEigenvalues(new double[5, 5]), l => Assert.Equal(0, l));
        var identityish = new double[4, 4];
        for (int i = 0; i < 4; i++) identityish[i, i] = 2;
        identityish[0, 3] = identityish[3, 0] = 1;           // eigenvalues 1, 2, 2, 3
        Assert.Equal([1.0, 2.0, 2.0, 3.0], VideoDistance.SymmetricEigenvalues(identityish).Order()
                                                        .Select(l => Math.Round(l, 12)).ToArray());
    }

    [Theory]
    [InlineData(12, 16)]      // fewer videos than features (the eval's case): the n x n Gram matrix
    [InlineData(40, 6)]       // more videos than features: the d x d one
    public void FrechetReference_MatchesFrechet(int n, int d)
    {
        var rng = new Random(n * 100 + d);
        float[][] Rows(int count, float shift) => Enumerable.Range(0, count)
            .Select(_ => Enumerable.Range(0, d).Select(j => (float)(rng.NextDouble() * (1 + j % 3)) + shift).ToArray())
            .ToArray();
        var reference = Rows(3 * n, 0);
        var prepared = new FrechetReference(reference);
        foreach (var set in new[] { Rows(n, 0), Rows(n, 0.5f), reference })
        {
            double expected = VideoDistance.Frechet(set, reference);
            // sqrt of the zero eigenvalues' rounding (~1e-17) moves the result by ~1e-9: agreement to 1e-7
            Assert.True(Math.Abs(expected - prepared.DistanceOf(set)) <= 1e-7 * Math.Max(1, expected),
                        $"{expected} against {prepared.DistanceOf(set)}");
        }
        Assert.Throws<ArgumentException>(() => prepared.DistanceOf([new float[d]]));
        Assert.Throws<ArgumentException>(() => prepared.DistanceOf([new float[d + 1], new float[d + 1]]));
    }
}
