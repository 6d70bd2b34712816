// Heun (explicit trapezoid) on the probability-flow ODE: an Euler predictor x~ = x + h u(x, t), then
//     x_next = x + h (u(x, t) + u(x~, t_next)) / 2,       h = t_next - t.
// Second order, two model calls per step. The last step, to sigma = 0, stays Euler (Karras et al. 2022, Algorithm 1):
// at sigma = 0 the velocity of an eps- or x0-predicting model is 0 * inf; one O(h^2) step keeps the order at 2.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>Heun's second-order method on the probability-flow ODE.</summary>
internal sealed class HeunSampler(IPath path, double[] times) : SamplerBase(path, times)
{
    public override int ModelCallsPerStep => 2;

    public override StepOutput Step(int step, Tensor x, Func<Tensor, Tensor, Tensor> model, Tensor? previousDenoised = null,
                                    Rng? rng = null)
    {
        var (t, tNext) = Interval(step);
        float h = (float)(tNext - t);
        var (u, denoised, _) = Path.Flow(x, Call(model, x, t), t);
        var predictor = x + u * h;
        if (Path.At(tNext).Sigma == 0) return new StepOutput(predictor, denoised);
        var uNext = Path.Velocity(predictor, Call(model, predictor, tNext), tNext);
        return new StepOutput(x + (u + uNext) * (h / 2), denoised);
    }
}
