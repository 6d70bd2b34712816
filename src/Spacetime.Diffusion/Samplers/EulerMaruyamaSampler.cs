// Euler-Maruyama on a reverse-time SDE with the probability-flow ODE's marginals. For any diffusion w(t) >= 0,
//     dx = [u(x, t) - w/2 grad log p_t(x)] dt + sqrt(w) dW,    integrated from t = 1 down to 0 (dt < 0),
// keeps every p_t (Fokker-Planck; SiT `transport.py` and Song et al. 2021 eq. 6). grad log p_t = -E[eps | x_t] / sigma,
// and we take w = eta sigma(t) (SiT's "sigma" diffusion form): finite at both ends for VP and the linear path, where
// DDPM's w = g^2 = -2 sigma^2 dlambda/dt is infinite at t = 1 on the linear path. So one step is
//     x_next = x + h (u + eta eps / 2) + sqrt(eta sigma |h|) z,      h = t_next - t,  z ~ N(0, I) from the Rng.
// eta = 0 is Euler. Weak order 1: the generated distribution's error falls like 1 / steps.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>Euler-Maruyama on the reverse SDE with diffusion eta sigma(t).</summary>
internal sealed class EulerMaruyamaSampler(IPath path, double[] times, double eta) : SamplerBase(path, times)
{
    public override StepOutput Step(int step, Tensor x, Func<Tensor, Tensor, Tensor> model, Tensor? previousDenoised = null,
                                    Rng? rng = null)
    {
        var (t, tNext) = Interval(step);
        double h = tNext - t;
        var (u, x0, eps) = Path.Flow(x, Call(model, x, t), t);
        var next = x + (u + eps * (float)(eta / 2)) * (float)h;
        double std = Math.Sqrt(eta * Path.At(t).Sigma * Math.Abs(h));
        if (std > 0) next += Noise(NeedRng(rng, "Euler-Maruyama"), x) * (float)std;
        return new StepOutput(next, x0);
    }
}
