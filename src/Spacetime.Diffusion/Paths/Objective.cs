// The training objective, written out as DiT's train.py does it: draw t and noise, form x_t, regress the path's
// target. With a known-frame mask (MaskSampler), known frames stay clean in x_t and weigh 0 in the loss.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

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
        WeightedMeanSquare(prediction - target, weight);

    // mean of weight e^2 over the elements with weight (weight broadcasts against e)
    static Tensor WeightedMeanSquare(Tensor e, Tensor? weight)
    {
        var squared = e * e;
        if (weight is null) return squared.Mean();
        float weighted = weight.Sum().Item() * ((float)squared.Count / weight.Count);   // weight summed over the broadcast
        return (squared * weight).Sum() * (weighted > 0 ? 1f / weighted : 0f);
    }

    /// <summary>The temporal-difference loss: the weighted mean over neighbouring frame pairs of the squared change of
    /// the error e = prediction - target along time, (e[t+1] - e[t])^2, for tensors (B, C, T, h, w) with T >= 2 (null
    /// when T = 1: no pairs). A pair weighs the geometric mean of its two frames' weights (so a known frame, weight 0,
    /// takes both its pairs out). Added to the MSE with a factor λ, the loss of the error e along time is (up to the two
    /// means' counts) the quadratic form e·(I + λL)e, L the path graph's Laplacian: an error constant over time weighs 1 and one that alternates
    /// frame to frame up to 1 + 4λ. The form is positive definite, so the minimiser is still the conditional mean of
    /// the target, exactly as with the plain MSE; what changes is which errors a model of limited capacity and training
    /// fixes first: the ones that flicker or jump between frames.</summary>
    public static Tensor? TemporalLoss(Tensor prediction, Tensor target, Tensor? weight = null)
    {
        int T = prediction.Size(2);
        if (T < 2) return null;
        var diff = prediction - target;                                                  // (B, C, T, h, w)
        var change = diff.Slice(2, 1, T - 1) - diff.Slice(2, 0, T - 1);                   // (B, C, T-1, h, w)
        Tensor? pair = weight is null ? null                                              // (B, 1, T-1, ., .)
            : F.Sqrt(weight.Slice(2, 1, T - 1) * weight.Slice(2, 0, T - 1));
        return WeightedMeanSquare(change, pair);
    }
}
