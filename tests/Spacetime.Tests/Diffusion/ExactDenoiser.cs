// Test oracle: data whose every column is a 1-D Gaussian mixture, for which the ideal model is known in closed form.
// With x_t = a x0 + s eps and component k ~ N(m_k, v_k) of weight w_k, x_t | k ~ N(a m_k, a^2 v_k + s^2), so
//     r_k(x)      ∝ w_k N(x; a m_k, a^2 v_k + s^2)                          (posterior responsibilities)
//     E[x0 | x]   = sum_k r_k (m_k + a v_k (x - a m_k) / (a^2 v_k + s^2))
//     E[eps | x]  = s sum_k r_k (x - a m_k) / (a^2 v_k + s^2)
// and every prediction (eps, x0, v, velocity) is a linear combination of the two. The probability-flow ODE of a 1-D
// distribution preserves quantiles, so its exact solution from t = 1 to 0 is x0 = F_0^-1(F_1(x1)) (ExactFlow); for a
// single Gaussian that is the affine map mu + sd (x1 - a1 mu) / sqrt(a1^2 sd^2 + s1^2). Everything here is double.
using Spacetime.Diffusion;
using Spacetime.Engine;

namespace Spacetime.Tests.Diffusion;

/// <summary>A 1-D Gaussian mixture (a single Gaussian when it has one component).</summary>
internal sealed record Mixture(double[] Weights, double[] Means, double[] Stds)
{
    public static Mixture Gaussian(double mean, double std) => new([1.0], [mean], [std]);

    /// <summary>The two-bump mixture of the tests and the study: 0.3 N(-2, 0.5^2) + 0.7 N(1.5, 0.8^2).</summary>
    public static Mixture TwoBumps => new([0.3, 0.7], [-2.0, 1.5], [0.5, 0.8]);

    public double Mean => Enumerable.Range(0, Weights.Length).Sum(k => Weights[k] * Means[k]);

    public double Variance => Enumerable.Range(0, Weights.Length)
        .Sum(k => Weights[k] * (Stds[k] * Stds[k] + Means[k] * Means[k])) - Mean * Mean;

    /// <summary>Fourth central moment, for the Monte-Carlo error of a sample variance: Var(s^2) ≈ (mu4 - var^2) / n.</summary>
    public double FourthCentralMoment => Enumerable.Range(0, Weights.Length).Sum(k =>
    {
        double d = Means[k] - Mean, v = Stds[k] * Stds[k];
        return Weights[k] * (d * d * d * d + 6 * d * d * v + 3 * v * v);
    });

    /// <summary>E[x0 | x_t = x] and E[eps | x_t = x] at a path point.</summary>
    public (double X0, double Eps) Posterior(double x, PathPoint p)
    {
        double a = p.Alpha, s = p.Sigma;
        int n = Weights.Length;
        if (n == 1)                                                      // one Gaussian: no responsibilities to weigh
        {
            double var1 = a * a * Stds[0] * Stds[0] + s * s, d1 = x - a * Means[0];
            return (Means[0] + a * Stds[0] * Stds[0] * d1 / var1, s * d1 / var1);
        }
        Span<double> logR = stackalloc double[n];
        double max = double.NegativeInfinity;
        for (int k = 0; k < n; k++)
        {
            double var = a * a * Stds[k] * Stds[k] + s * s, d = x - a * Means[k];
            logR[k] = Math.Log(Weights[k]) - 0.5 * Math.Log(var) - 0.5 * d * d / var;
            max = Math.Max(max, logR[k]);
        }
        double z = 0, x0 = 0, eps = 0;
        for (int k = 0; k < n; k++)
        {
            double r = Math.Exp(logR[k] - max), var = a * a * Stds[k] * Stds[k] + s * s, d = x - a * Means[k];
            z += r;
            x0 += r * (Means[k] + a * Stds[k] * Stds[k] * d / var);
            eps += r * s * d / var;
        }
        return (x0 / z, eps / z);
    }

    /// <summary>What an ideal model trained for <paramref name="prediction"/> outputs at x.</summary>
    public double Output(double x, PathPoint p, Prediction prediction)
    {
        var (x0, eps) = Posterior(x, p);
        return prediction switch
        {
            Prediction.Epsilon => eps,
            Prediction.Sample => x0,
            Prediction.V => p.Alpha * eps - p.Sigma * x0,
            _ => p.DAlpha * x0 + p.DSigma * eps,
        };
    }

    /// <summary>CDF of x_t at a path point.</summary>
    public double Cdf(double x, double alpha, double sigma) => Enumerable.Range(0, Weights.Length).Sum(k =>
        Weights[k] * NormalCdf((x - alpha * Means[k]) / Math.Sqrt(alpha * alpha * Stds[k] * Stds[k] + sigma * sigma)));

    /// <summary>The exact probability-flow ODE solution at t = 0 from x1 at t = 1: the quantile map.</summary>
    public double ExactFlow(double x1, PathPoint one)
    {
        if (Weights.Length == 1)
            return Means[0] + Stds[0] * (x1 - one.Alpha * Means[0]) / Math.Sqrt(one.Alpha * one.Alpha * Stds[0] * Stds[0] + one.Sigma * one.Sigma);
        return Quantile(Cdf(x1, one.Alpha, one.Sigma));
    }

    /// <summary>The data's quantile function, by bisection on the CDF.</summary>
    public double Quantile(double u)
    {
        double lo = -50, hi = 50;
        for (int i = 0; i < 200 && hi - lo > 1e-13; i++)
        {
            double mid = (lo + hi) / 2;
            if (Cdf(mid, 1, 0) < u) lo = mid; else hi = mid;
        }
        return (lo + hi) / 2;
    }

    public double Draw(Rng rng)
    {
        double u = rng.NextFloat(), acc = 0;
        int k = 0;
        for (; k < Weights.Length - 1; k++) if (u < (acc += Weights[k])) break;
        return Means[k] + Stds[k] * rng.NextNormal();
    }

    // Phi(z) = erfc(-z / sqrt 2) / 2, with erfc from its Taylor series (|x| < 3) or continued fraction (|x| >= 3).
    static double NormalCdf(double z) => 0.5 * Erfc(-z / Math.Sqrt(2));

    static double Erfc(double x)
    {
        if (x < 0) return 2 - Erfc(-x);
        if (x < 3)
        {
            double sum = 0, term = x;                                    // erf(x) = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1))
            for (int n = 0; n < 100; n++)
            {
                sum += term / (2 * n + 1);
                term *= -x * x / (n + 1);
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        double f = x;                                                    // erfc(x) = e^-x^2/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))
        for (int n = 60; n >= 1; n--) f = x + n / 2.0 / f;
        return Math.Exp(-x * x) / Math.Sqrt(Math.PI) / f;
    }
}

/// <summary>Data of shape (N, D) whose column j follows Columns[j]: sampling, the ideal model, the exact flow.</summary>
internal sealed class ExactDenoiser(IPath path, params Mixture[] columns)
{
    public Mixture[] Columns => columns;

    /// <summary>The ideal model for the path's prediction: (x (N, D), t (N)) -> output (N, D).</summary>
    public Tensor Model(Tensor x, Tensor t)
    {
        var p = path.At(t[0]);
        var xs = x.ToArray();
        int d = columns.Length;
        var output = new float[xs.Length];
        for (int i = 0; i < xs.Length; i++) output[i] = (float)columns[i % d].Output(xs[i], p, path.Prediction);
        return Tensor.From(output, x.Shape.ToArray());
    }

    /// <summary>Data x0, (N, D).</summary>
    public Tensor Data(int n, Rng rng)
    {
        var v = new float[n * columns.Length];
        for (int i = 0; i < v.Length; i++) v[i] = (float)columns[i % columns.Length].Draw(rng);
        return Tensor.From(v, n, columns.Length);
    }

    /// <summary>x at t = 1 drawn from its exact marginal: alpha(1) x0 + sigma(1) eps (alpha(1) &gt; 0 on VP paths).</summary>
    public Tensor Start(int n, Rng rng) => path.Interpolate(Data(n, rng), rng.Normal(n, columns.Length), 1.0);

    /// <summary>The exact ODE solution at t = 0 for each start x1.</summary>
    public double[] ExactFlow(Tensor x1)
    {
        var one = path.At(1.0);
        var xs = x1.ToArray();
        return xs.Select((v, i) => columns[i % columns.Length].ExactFlow(v, one)).ToArray();
    }

    /// <summary>Runs a sampler from x1 over steps [from, Steps) the way a pipeline does.</summary>
    public static Tensor Sample(ISampler sampler, Func<Tensor, Tensor, Tensor> model, Tensor x1, Rng? rng = null, int from = 0,
                                Func<Tensor, double, Tensor>? afterStep = null)
    {
        var x = x1;
        Tensor? denoised = null;
        for (int i = from; i < sampler.Steps; i++)
        {
            var step = sampler.Step(i, x, model, denoised, rng);
            x = afterStep is null ? step.Sample : afterStep(step.Sample, sampler.Times[i + 1]);
            denoised = step.Denoised;
        }
        return x;
    }

    /// <summary>Column-wise mean and (biased) variance of (N, D) samples.</summary>
    public static (double Mean, double Variance)[] Moments(Tensor samples)
    {
        var v = samples.ToArray();
        int d = samples.Size(1), n = samples.Size(0);
        var result = new (double, double)[d];
        for (int j = 0; j < d; j++)
        {
            double m = 0, m2 = 0;
            for (int i = 0; i < n; i++) m += v[i * d + j];
            m /= n;
            for (int i = 0; i < n; i++) m2 += (v[i * d + j] - m) * (v[i * d + j] - m);
            result[j] = (m, m2 / n);
        }
        return result;
    }
}
