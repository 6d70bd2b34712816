// DDIM (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", eq. 12), written for any path
// x_t = alpha x0 + sigma eps rather than only alpha^2 + sigma^2 = 1:
//     x_next = alpha_n x0 + sqrt(sigma_n^2 - s^2) eps + s z,     s = eta sigma_n sqrt(1 - r^2),
//     r = (alpha_c sigma_n) / (alpha_n sigma_c) = exp(lambda_c - lambda_n)   (c: current time, n: next time).
// s^2 with eta = 1 is the DDPM posterior variance of x_n given (x_c, x0), so eta = 1 is ancestral sampling;
// eta = 0 is the deterministic DDIM map, a first-order exponential integrator of the probability-flow ODE.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>DDIM with eta (0: deterministic; 1: DDPM ancestral).</summary>
internal sealed class DdimSampler(IPath path, double[] times, double eta) : SamplerBase(path, times)
{
    public override StepOutput Step(int step, Tensor x, Func<Tensor, Tensor, Tensor> model, Tensor? previousDenoised = null,
                                    Rng? rng = null)
    {
        var (t, tNext) = Interval(step);
        var (x0, eps) = Path.Decompose(x, Call(model, x, t), t);
        var (c, n) = (Path.At(t), Path.At(tNext));
        double r = c.Alpha * n.Sigma / (n.Alpha * c.Sigma);
        double s = eta > 0 ? eta * n.Sigma * Math.Sqrt(Math.Max(0, 1 - r * r)) : 0;
        var next = PathMath.Mix(x0, n.Alpha, eps, Math.Sqrt(Math.Max(0, n.Sigma * n.Sigma - s * s)));
        if (s > 0) next += Noise(NeedRng(rng, "DDIM"), x) * (float)s;
        return new StepOutput(next, x0);
    }
}
