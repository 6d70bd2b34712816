// The training objective, written out as DiT's train.py does it: draw t and noise, form x_t, regress the path's
// target. With a known-frame mask (MaskSampler), known frames stay clean in x_t and weigh 0 in the loss.
namespace Spacetime.Diffusion;

using Spacetime.Engine;
using Spacetime.Nn;

/// <summary>A training input: x_t, the target, and the loss weight ((B, 1, T, 1, 1), or null for all ones).</summary>
public readonly record struct TrainingExample(Tensor Input, Tensor Target, Tensor? Weight);

/// <summary>Forming training examples and the (masked) mean squared error.</summary>
public static class Objective
{
    /// <summary>x_t and the target for clean latents x0 (B, ...), noise like x0 and times t (B); with
    /// <paramref name="known"/> (B, 1, T, 1, 1), known frames are clean in x_t and left out of the loss.</summary>
    public static TrainingExample Prepare(IPath path, Tensor x0, Tensor noise, Tensor t, Tensor? known = null)
    {
        var xt = path.Interpolate(x0, noise, t);
        var target = path.Target(x0, noise, t);
        if (known is null) return new TrainingExample(xt, target, null);
        return new TrainingExample(x0 * known + xt * (1f - known), target, 1f - known);
    }

    /// <summary>Mean of weight (prediction - target)^2 over the elements with weight (the plain MSE when null).</summary>
    public static Tensor Loss(Tensor prediction, Tensor target, Tensor? weight = null) =>
        Losses.WeightedMeanSquare(prediction - target, weight);
}
