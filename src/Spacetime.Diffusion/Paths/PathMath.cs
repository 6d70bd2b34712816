// Tensor arithmetic on a path: noising x0 to x_t, the training target, and conversions between what a model predicts
// (eps, x0, v, velocity), so any sampler can drive any model. With x = alpha x0 + sigma eps:
//   eps      -> x0 = (x - sigma eps) / alpha
//   x0       -> eps = (x - alpha x0) / sigma
//   v        -> x0 = (alpha x - sigma v) / (alpha^2 + sigma^2),   eps = (sigma x + alpha v) / (alpha^2 + sigma^2)
//   velocity -> x0 = (sigma' x - sigma u) / det,                  eps = (alpha u - alpha' x) / det,
//               det = alpha sigma' - sigma alpha'   (for the linear path: x0 = x - t u, eps = x + (1 - t) u)
// and back: velocity u = alpha' x0 + sigma' eps, v = alpha eps - sigma x0. Coefficients are computed in double.
// Sampling uses a scalar t (the whole batch is at one time); training uses a tensor t of shape (B).
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>Noising, training targets and prediction conversions for an <see cref="IPath"/>.</summary>
public static class PathMath
{
    /// <summary>x_t = alpha(t) x0 + sigma(t) eps at one time for the whole batch.</summary>
    public static Tensor Interpolate(this IPath path, Tensor x0, Tensor noise, double t)
    {
        var p = path.At(t);
        return Mix(x0, p.Alpha, noise, p.Sigma);
    }

    /// <summary>x_t for per-sample times <paramref name="t"/> of shape (B); x0 and noise are (B, ...).</summary>
    public static Tensor Interpolate(this IPath path, Tensor x0, Tensor noise, Tensor t) =>
        x0 * Coefficient(path, t, x0.Rank, p => p.Alpha) + noise * Coefficient(path, t, x0.Rank, p => p.Sigma);

    /// <summary>What the model should output for (x0, noise) at per-sample times t (B): its <see cref="IPath.Prediction"/>.</summary>
    public static Tensor Target(this IPath path, Tensor x0, Tensor noise, Tensor t) => path.Prediction switch
    {
        Prediction.Epsilon => noise,
        Prediction.Sample => x0,
        Prediction.V => noise * Coefficient(path, t, x0.Rank, p => p.Alpha) - x0 * Coefficient(path, t, x0.Rank, p => p.Sigma),
        _ => x0 * Coefficient(path, t, x0.Rank, p => p.DAlpha) + noise * Coefficient(path, t, x0.Rank, p => p.DSigma),
    };

    /// <summary>The clean sample and the noise that a model output implies at x_t (x0 is undefined where alpha = 0
    /// for eps-prediction, eps where sigma = 0 for x0-prediction).</summary>
    public static (Tensor Denoised, Tensor Noise) Decompose(this IPath path, Tensor x, Tensor output, double t)
    {
        var (a, s, da, ds) = path.At(t);
        double n = a * a + s * s, det = a * ds - s * da;
        return path.Prediction switch
        {
            Prediction.Epsilon => (Mix(x, 1 / a, output, -s / a), output),
            Prediction.Sample => (output, Mix(x, 1 / s, output, -a / s)),
            Prediction.V => (Mix(x, a / n, output, -s / n), Mix(x, s / n, output, a / n)),
            _ => (Mix(x, ds / det, output, -s / det), Mix(x, -da / det, output, a / det)),
        };
    }

    /// <summary>The probability-flow velocity dx/dt that a model output implies at x_t.</summary>
    public static Tensor Velocity(this IPath path, Tensor x, Tensor output, double t) =>
        path.Prediction == Prediction.Velocity ? output : path.Flow(x, output, t).Velocity;

    /// <summary>Velocity, clean estimate and noise from one model output (samplers need all three).</summary>
    internal static (Tensor Velocity, Tensor Denoised, Tensor Noise) Flow(this IPath path, Tensor x, Tensor output, double t)
    {
        var (x0, eps) = path.Decompose(x, output, t);
        var p = path.At(t);
        return (path.Prediction == Prediction.Velocity ? output : Mix(x0, p.DAlpha, eps, p.DSigma), x0, eps);
    }

    /// <summary>A model output re-expressed as another prediction (what a model with that target would output).</summary>
    public static Tensor Convert(this IPath path, Tensor x, Tensor output, double t, Prediction to)
    {
        if (to == path.Prediction) return output;
        var (x0, eps) = path.Decompose(x, output, t);
        var p = path.At(t);
        return to switch
        {
            Prediction.Epsilon => eps,
            Prediction.Sample => x0,
            Prediction.V => Mix(eps, p.Alpha, x0, -p.Sigma),
            _ => Mix(x0, p.DAlpha, eps, p.DSigma),
        };
    }

    /// <summary>a ca + b cb, coefficients given in double.</summary>
    internal static Tensor Mix(Tensor a, double ca, Tensor b, double cb) => a * (float)ca + b * (float)cb;

    // A per-sample coefficient f(path.At(t_b)) shaped (B, 1, ..., 1) to broadcast over a rank-`rank` batch.
    static Tensor Coefficient(IPath path, Tensor t, int rank, Func<PathPoint, double> f)
    {
        if (t.Rank != 1) throw new ArgumentException($"PathMath: per-sample times must have shape (B), got {t}.");
        var values = t.ToArray().Select(ti => (float)f(path.At(ti))).ToArray();
        var shape = new int[rank];
        Array.Fill(shape, 1);
        shape[0] = values.Length;
        return Tensor.From(values, shape);
    }
}
