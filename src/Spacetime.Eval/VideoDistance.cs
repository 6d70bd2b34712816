// VideoDistance: the Fréchet distance between two sets of video features (FVD, Unterthiner et al. 2018, with our world
// classifier's pooled features in place of I3D's; Models/Probe/ClipClassifier). Each set is summarised by a Gaussian
// (mean mu, covariance S, the unbiased N - 1 estimate), and
//     d^2 = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))
// The eigenvalues of S1 S2 equal those of the symmetric positive semi-definite M = S1^(1/2) S2 S1^(1/2), so
// Tr((S1 S2)^(1/2)) = sum of sqrt(eigenvalues of M): two symmetric eigendecompositions (cyclic Jacobi, in double), no
// complex square root of a non-symmetric matrix. Tiny negative eigenvalues from rounding are taken as 0.
// With fewer videos than feature dimensions the covariances are rank-deficient; the distance is still defined, but
// biased upward at small N, so only distances at the same N compare (the evaluator uses one N for every system).
//
// Many sets against one reference (`FrechetReference`, for the permutation test of `eval compare`): the reference's
// mean, trace and R = S_ref^(1/2) are computed once; for a set X (n x d, centred Xc) S = Xc^T Xc / (n - 1), so
// R S R = Y^T Y with Y = Xc R / sqrt(n - 1), whose nonzero eigenvalues are those of the n x n Gram matrix Y Y^T
// (or of the d x d Y^T Y when n > d). The smaller one goes through SymmetricEigenvalues: a Householder reduction to
// tridiagonal form and the implicit QL iteration with shifts, O(n^3) with a small constant, where Jacobi's sweeps cost
// several times more. The product with R is linear in each row, so a row that enters many sets (the permutation test)
// is projected once (`Project`) and each set only centres its projections. `VideoDistance.Frechet` stays the plain
// version, the reference the fast path is tested against.
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

    internal static (double[] Mean, double[,] Cov) Gaussian(IReadOnlyList<float[]> rows)
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
    internal static double[,] Apply(double[,] s, Func<double, double> f)
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

    /// <summary>The eigenvalues of a symmetric matrix (unordered), without its eigenvectors: Householder reflections
    /// bring it to tridiagonal form (diagonal d, off-diagonal e), then the implicit QL iteration with Wilkinson-like
    /// shifts deflates it one eigenvalue at a time. Agrees with <see cref="Jacobi"/> to rounding (tested).</summary>
    internal static double[] SymmetricEigenvalues(double[,] input)
    {
        int n = input.GetLength(0);
        var a = (double[,])input.Clone();
        var d = new double[n];
        var e = new double[n];                 // e[i] = T[i, i + 1]; e[n - 1] = 0
        var v = new double[n];
        var w = new double[n];
        // Householder: for column k, H = I - 2 v v^T (v over rows k+1..n-1) maps A[k+1.., k] to (alpha, 0, ..., 0),
        // and the trailing block B becomes H B H = B - 2 (v w^T + w v^T) with p = B v, w = p - (v^T p) v.
        for (int k = 0; k < n - 2; k++)
        {
            double norm = 0;
            for (int i = k + 1; i < n; i++) norm += a[i, k] * a[i, k];
            norm = Math.Sqrt(norm);
            if (norm == 0) { e[k] = 0; continue; }
            double alpha = a[k + 1, k] > 0 ? -norm : norm;          // the sign that avoids cancellation in v
            double vNorm = 0;
            for (int i = k + 1; i < n; i++) v[i] = a[i, k];
            v[k + 1] -= alpha;
            for (int i = k + 1; i < n; i++) vNorm += v[i] * v[i];
            vNorm = Math.Sqrt(vNorm);
            for (int i = k + 1; i < n; i++) v[i] /= vNorm;
            double vp = 0;
            for (int i = k + 1; i < n; i++)
            {
                double s = 0;
                for (int j = k + 1; j < n; j++) s += a[i, j] * v[j];
                w[i] = s;
                vp += v[i] * s;
            }
            for (int i = k + 1; i < n; i++) w[i] -= vp * v[i];
            for (int i = k + 1; i < n; i++)
                for (int j = k + 1; j < n; j++) a[i, j] -= 2 * (v[i] * w[j] + w[i] * v[j]);
            e[k] = alpha;
        }
        for (int i = 0; i < n; i++) d[i] = a[i, i];
        if (n >= 2) e[n - 2] = a[n - 1, n - 2];

        // Implicit QL: for each l, find the first negligible e[m] at or after l; if m > l, one shifted QL sweep over
        // l..m chases the bulge up with Givens rotations, until e[l] is negligible and d[l] is an eigenvalue.
        for (int l = 0; l < n; l++)
        {
            for (int iteration = 0; ; iteration++)
            {
                int m = l;
                for (; m < n - 1; m++)
                    if (Math.Abs(e[m]) <= 1e-15 * (Math.Abs(d[m]) + Math.Abs(d[m + 1]))) break;
                if (m == l) break;
                if (iteration == 100) throw new InvalidOperationException("SymmetricEigenvalues: no convergence");
                double g = (d[l + 1] - d[l]) / (2 * e[l]);
                double r = Hypot(g, 1);
                g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));      // the shift, from the 2 x 2 block at l
                double s = 1, c = 1, p = 0;
                int i = m - 1;
                bool underflow = false;
                for (; i >= l; i--)
                {
                    double f = s * e[i], b = c * e[i];
                    r = Hypot(f, g);
                    e[i + 1] = r;
                    if (r == 0) { d[i + 1] -= p; e[m] = 0; underflow = true; break; }
                    s = f / r;
                    c = g / r;
                    g = d[i + 1] - p;
                    r = (d[i] - g) * s + 2 * c * b;
                    p = s * r;
                    d[i + 1] = g + p;
                    g = c * r - b;
                }
                if (underflow) continue;
                d[l] -= p;
                e[l] = g;
                e[m] = 0;
            }
        }
        return d;
    }

    static double Hypot(double x, double y)
    {
        double ax = Math.Abs(x), ay = Math.Abs(y);
        if (ax < ay) (ax, ay) = (ay, ax);
        if (ax == 0) return 0;
        double t = ay / ax;
        return ax * Math.Sqrt(1 + t * t);
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

/// <summary>One reference set's Gaussian, prepared for the Fréchet distance of many sets to it (the file header).
/// </summary>
public sealed class FrechetReference
{
    readonly double[] mean;
    readonly double[,] root;                   // S_ref^(1/2)
    readonly double trace;                     // Tr(S_ref)

    /// <summary>The reference's feature rows (at least two).</summary>
    public FrechetReference(IReadOnlyList<float[]> rows)
    {
        if (rows.Count < 2)
            throw new ArgumentException($"Fréchet distance: need at least 2 reference videos, got {rows.Count}");
        var (mu, cov) = VideoDistance.Gaussian(rows);
        mean = mu;
        root = VideoDistance.Apply(cov, Math.Sqrt);
        for (int i = 0; i < mu.Length; i++) trace += cov[i, i];
    }

    /// <summary>Feature width.</summary>
    public int Width => mean.Length;

    /// <summary>The Fréchet distance of <paramref name="rows"/> (at least two, of the reference's width) to the
    /// reference: the same value as <see cref="VideoDistance.Frechet"/>(rows, reference) up to rounding.</summary>
    public double DistanceOf(IReadOnlyList<float[]> rows)
    {
        if (rows.Any(r => r.Length != mean.Length))
            throw new ArgumentException($"Fréchet distance: feature rows of width {mean.Length} expected");
        return DistanceOf(rows, rows.Select(Project).ToList());
    }

    /// <summary>x R of one feature row x (R = S_ref^(1/2)): what <see cref="DistanceOf(IReadOnlyList{float[]},
    /// IReadOnlyList{double[]})"/> needs of each row, so a row that enters many sets is projected once.</summary>
    internal double[] Project(float[] row)
    {
        int d = mean.Length;
        var p = new double[d];
        for (int i = 0; i < d; i++)
        {
            double xi = row[i];
            if (xi == 0) continue;
            for (int j = 0; j < d; j++) p[j] += xi * root[i, j];
        }
        return p;
    }

    /// <summary>The distance of <paramref name="rows"/>, given each row's <see cref="Project"/>: Y = Xc R / sqrt(n - 1)
    /// is (x R - mean of x R) / sqrt(n - 1) row by row, so no product with R is left to do here.</summary>
    internal double DistanceOf(IReadOnlyList<float[]> rows, IReadOnlyList<double[]> projected)
    {
        int n = rows.Count, d = mean.Length;
        if (n < 2) throw new ArgumentException($"Fréchet distance: need at least 2 videos a set, got {n}");
        var mu = new double[d];
        var muR = new double[d];
        for (int v = 0; v < n; v++)
            for (int i = 0; i < d; i++) { mu[i] += rows[v][i] / (double)n; muR[i] += projected[v][i] / n; }
        double gap = 0, traceS = 0;
        for (int i = 0; i < d; i++) gap += (mu[i] - mean[i]) * (mu[i] - mean[i]);
        var y = new double[n, d];                                                  // Y = Xc R / sqrt(n - 1), (n, d)
        double scale = 1 / Math.Sqrt(n - 1);
        for (int v = 0; v < n; v++)
            for (int i = 0; i < d; i++)
            {
                double xc = rows[v][i] - mu[i];
                traceS += xc * xc;
                y[v, i] = (projected[v][i] - muR[i]) * scale;
            }
        traceS /= n - 1;
        // the smaller Gram matrix: Y Y^T (n, n) or Y^T Y (d, d)
        int g = Math.Min(n, d);
        var gram = new double[g, g];
        for (int i = 0; i < g; i++)
            for (int j = 0; j <= i; j++)
            {
                double s = 0;
                if (n <= d) for (int k = 0; k < d; k++) s += y[i, k] * y[j, k];
                else for (int k = 0; k < n; k++) s += y[k, i] * y[k, j];
                gram[i, j] = gram[j, i] = s;
            }
        double cross = VideoDistance.SymmetricEigenvalues(gram).Sum(l => Math.Sqrt(Math.Max(0, l)));
        return Math.Max(0, gap + traceS + trace - 2 * cross);
    }
}
