// Euler on the probability-flow ODE in the path's own time: x_next = x + (t_next - t) u(x, t), where u is the
// velocity the model output implies (PathMath.Velocity). With the linear path and the exact velocity of a single
// data point this lands on it in one step (paths are straight); in general it is first order.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>Euler on the probability-flow ODE.</summary>
internal sealed class EulerSampler(IPath path, double[] times) : SamplerBase(path, times)
{
    public override StepOutput Step(int step, Tensor x, Func<Tensor, Tensor, Tensor> model, Tensor? previousDenoised = null,
                                    Rng? rng = null)
    {
        var (t, tNext) = Interval(step);
        var (u, x0, _) = Path.Flow(x, Call(model, x, t), t);
        return new StepOutput(x + u * (float)(tNext - t), x0);
    }
}
