// Losses shared by the model families: the weighted mean square, and its temporal-difference form that both the
// diffusion objective (Diffusion/Objective) and the VAE's reconstruction (Models/Vae/VaeLoss) add.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>Weighted mean squares of an error tensor.</summary>
public static class Losses
{
    /// <summary>Mean of weight e^2 over the elements with weight (weight broadcasts against e; null: the plain mean
    /// square).</summary>
    public static Tensor WeightedMeanSquare(Tensor e, Tensor? weight = null)
    {
        var squared = e * e;
        if (weight is null) return squared.Mean();
        float weighted = weight.Sum().Item() * ((float)squared.Count / weight.Count);   // weight summed over the broadcast
        return (squared * weight).Sum() * (weighted > 0 ? 1f / weighted : 0f);
    }

    /// <summary>The temporal-difference loss of an error e (B, C, T, ...) with T >= 2 (null when T = 1: no pairs): the
    /// weighted mean over neighbouring frame pairs of (e[t+1] - e[t])^2. A pair weighs the geometric mean of its two
    /// frames' weights (weight (B, 1, T, ...) or null), so a frame of weight 0 takes both its pairs out. Added to the
    /// mean square with a factor λ, the loss of e along time is (up to the two means' counts) the quadratic form
    /// e·(I + λL)e, L the path graph's Laplacian: an error constant over time weighs 1 and one that alternates frame to
    /// frame up to 1 + 4λ. The form is positive definite, so a regression's minimiser is still the conditional mean of
    /// its target, as with the plain mean square; what changes is which errors a model of limited capacity and
    /// training fixes first: the ones that flicker or jump between frames.</summary>
    public static Tensor? TemporalDifference(Tensor e, Tensor? weight = null)
    {
        int T = e.Size(2);
        if (T < 2) return null;
        var change = e.Slice(2, 1, T - 1) - e.Slice(2, 0, T - 1);                         // (B, C, T-1, ...)
        Tensor? pair = weight is null ? null                                              // (B, 1, T-1, ...)
            : F.Sqrt(weight.Slice(2, 1, T - 1) * weight.Slice(2, 0, T - 1));
        return WeightedMeanSquare(change, pair);
    }
}
