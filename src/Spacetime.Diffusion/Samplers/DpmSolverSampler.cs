// DPM-Solver++(2M) (Lu et al. 2022, "DPM-Solver++", Algorithm 2): the exact solution of the probability-flow ODE
// in lambda = log(alpha / sigma), with the data prediction x0(lambda) extrapolated linearly from this step and the last:
//     h = lambda_n - lambda_c,  r = h_prev / h,  D = (1 + 1/(2r)) x0_c - 1/(2r) x0_prev,
//     x_n = (sigma_n / sigma_c) x_c + alpha_n (1 - e^-h) D.
// The first step run (no previous estimate) uses D = x0_c (first order, = DDIM), and so does the last step when
// sigma_n = 0 (h is infinite there and x_n = alpha_n x0_c), as in diffusers and k-diffusion.
// On the rectified-flow path this is second order in the step size; on a VP path with a grid uniform in t the
// final denoising jump from sigma_{n-1}^2 = O(h) costs O(h) (docs/diffusion.md).
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>DPM-Solver++(2M): second-order multistep, one model call per step.</summary>
internal sealed class DpmSolverSampler(IPath path, double[] times) : SamplerBase(path, times)
{
    public override StepOutput Step(int step, Tensor x, Func<Tensor, Tensor, Tensor> model, Tensor? previousDenoised = null,
                                    Rng? rng = null)
    {
        var (t, tNext) = Interval(step);
        var (x0, _) = Path.Decompose(x, Call(model, x, t), t);
        var (c, n) = (Path.At(t), Path.At(tNext));
        if (n.Sigma == 0) return new StepOutput(x0 * (float)n.Alpha, x0);
        double h = n.Lambda - c.Lambda;
        var d = x0;
        if (previousDenoised is not null && step > 0)
        {
            double hPrev = c.Lambda - Path.At(Grid[step - 1]).Lambda;
            double k = h / (2 * hPrev);                       // 1 / (2r); 0 when the previous step started at alpha = 0
            d = PathMath.Mix(x0, 1 + k, previousDenoised, -k);
        }
        var next = PathMath.Mix(x, n.Sigma / c.Sigma, d, -n.Alpha * double.ExpM1(-h));
        return new StepOutput(next, x0);
    }
}
