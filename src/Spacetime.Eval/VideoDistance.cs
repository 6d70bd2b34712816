// VideoDistance: the Fréchet distance between two sets of video features (FVD, Unterthiner et al. 2018, with our world
// classifier's pooled features in place of I3D's; Models/Probe/ClipClassifier). Each set is summarised by a Gaussian
// (mean mu, covariance S, the unbiased N - 1 estimate), and
//     d^2 = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))
// The eigenvalues of S1 S2 equal those of the symmetric positive semi-definite M = S1^(1/2) S2 S1^(1/2), so
// Tr((S1 S2)^(1/2)) = sum of sqrt(eigenvalues of M): two symmetric eigendecompositions (cyclic Jacobi, in double), no
// complex square root of a non-symmetric matrix. Tiny negative eigenvalues from rounding are taken as 0.
// With fewer videos than feature dimensions the covariances are rank-deficient; the distance is still defined, but
// biased upward at small N, so only distances at the same N compare (the evaluator uses one N for every system).
namespace Spacetime.Eval;

/// <summary>Fréchet distance between feature sets.</summary>
public static class VideoDistance
{
    /// <summary>The Fréchet distance between Gaussians fitted to <paramref name="a"/> and <paramref name="b"/> (rows
    /// are videos, columns features; at least two rows each, equal widths).</summary>
    public static double Frechet(IReadOnlyList<float[]> a, IReadOnlyList<float[]> b)
    {
        if (a.Count < 2 || b.Count < 2)
            throw new ArgumentException($"Fréchet distance: need at least 2 videos a set, got {a.Count} and {b.Count}");
        int d = a[0].Length;
        if (a.Concat(b).Any(r => r.Length != d))
            throw new ArgumentException("Fréchet distance: feature rows differ in width");
        var (muA, sA) = Gaussian(a);
        var (muB, sB) = Gaussian(b);
        double mean = 0;
        for (int i = 0; i < d; i++) mean += (muA[i] - muB[i]) * (muA[i] - muB[i]);
        var rootA = Apply(sA, Math.Sqrt);                                           // S1^(1/2)
        var m = Multiply(Multiply(rootA, sB), rootA);                               // S1^(1/2) S2 S1^(1/2)
        Symmetrise(m);
        double cross = Eigenvalues(m).Sum(l => Math.Sqrt(Math.Max(0, l)));
        double trace = 0;
        for (int i = 0; i < d; i++) trace += sA[i, i] + sB[i, i];
        return Math.Max(0, mean + trace - 2 * cross);
    }

    static (double[] Mean, double[,] Cov) Gaussian(IReadOnlyList<float[]> rows)
    {
        int n = rows.Count, d = rows[0].Length;
        var mu = new double[d];
        foreach (var r in rows) for (int i = 0; i < d; i++) mu[i] += r[i] / (double)n;
        var cov = new double[d, d];
        foreach (var r in rows)
            for (int i = 0; i < d; i++)
            {
                double di = r[i] - mu[i];
                for (int j = 0; j <= i; j++) cov[i, j] += di * (r[j] - mu[j]);
            }
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) cov[j, i] = cov[i, j] /= n - 1;
        return (mu, cov);
    }

    // f(S) = V f(L) V^T of a symmetric S (f applied to the eigenvalues, negatives from rounding clamped to 0 first)
    static double[,] Apply(double[,] s, Func<double, double> f)
    {
        int d = s.GetLength(0);
        var (values, vectors) = Jacobi(s);
        var r = new double[d, d];
        for (int k = 0; k < d; k++)
        {
            double fk = f(Math.Max(0, values[k]));
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) r[i, j] += vectors[i, k] * fk * vectors[j, k];
        }
        return r;
    }

    internal static double[] Eigenvalues(double[,] s) => Jacobi(s).Values;

    // Cyclic Jacobi: rotations zero each off-diagonal entry in turn until the off-diagonal mass is negligible.
    // Returns the eigenvalues and the eigenvectors as columns.
    internal static (double[] Values, double[,] Vectors) Jacobi(double[,] input)
    {
        int d = input.GetLength(0);
        var a = (double[,])input.Clone();
        var v = new double[d, d];
        for (int i = 0; i < d; i++) v[i, i] = 1;
        double scale = 0;
        for (int i = 0; i < d; i++) for (int j = 0; j < d; j++) scale += a[i, j] * a[i, j];
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int i = 0; i < d; i++) for (int j = i + 1; j < d; j++) off += a[i, j] * a[i, j];
            if (off <= 1e-24 * Math.Max(scale, 1e-300)) break;
            for (int p = 0; p < d; p++)
                for (int q = p + 1; q < d; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < d; k++)                                    // columns p, q of A
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < d; k++)                                    // rows p, q of A
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < d; k++)                                    // V <- V J
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[d];
        for (int i = 0; i < d; i++) values[i] = a[i, i];
        return (values, v);
    }

    static double[,] Multiply(double[,] x, double[,] y)
    {
        int d = x.GetLength(0);
        var r = new double[d, d];
        for (int i = 0; i < d; i++)
            for (int k = 0; k < d; k++)
            {
                double xik = x[i, k];
                if (xik == 0) continue;
                for (int j = 0; j < d; j++) r[i, j] += xik * y[k, j];
            }
        return r;
    }

    static void Symmetrise(double[,] m)
    {
        int d = m.GetLength(0);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++) m[i, j] = m[j, i] = (m[i, j] + m[j, i]) / 2;
    }
}
