// A noise path (SiT's `path.py`): how a clean sample x0 and Gaussian noise eps are mixed at time t,
//     x_t = alpha(t) x0 + sigma(t) eps,        t in [0, 1], t = 0 is the data, t = 1 is (almost) pure noise,
// and what the model is trained to predict there. Samplers only ever ask a path for these four numbers, so one
// sampler works for DDPM (VP) and rectified-flow models alike; PathMath turns them into tensor conversions.
namespace Spacetime.Diffusion;

/// <summary>What the model outputs (the training target).</summary>
public enum Prediction
{
    /// <summary>The noise eps (DDPM, DiT).</summary>
    Epsilon,
    /// <summary>The clean sample x0.</summary>
    Sample,
    /// <summary>v = alpha eps - sigma x0 (Salimans &amp; Ho 2022, "progressive distillation").</summary>
    V,
    /// <summary>The path's velocity dx_t/dt = alpha' x0 + sigma' eps (rectified flow, SiT: eps - x0 on the linear path).</summary>
    Velocity,
}

/// <summary>The coefficients of a path at one time: x_t = Alpha x0 + Sigma eps, and their time derivatives.</summary>
public readonly record struct PathPoint(double Alpha, double Sigma, double DAlpha, double DSigma)
{
    /// <summary>Half log signal-to-noise ratio, log(alpha / sigma): -inf at pure noise, +inf at the data.</summary>
    public double Lambda => Math.Log(Alpha) - Math.Log(Sigma);
}

/// <summary>A noise path with the prediction its model was trained for (SiT `path.py`, diffusers' scheduler config).</summary>
public interface IPath
{
    /// <summary>What the model predicts.</summary>
    Prediction Prediction { get; }

    /// <summary>alpha, sigma and their derivatives at time <paramref name="t"/> in [0, 1].</summary>
    PathPoint At(double t);
}
