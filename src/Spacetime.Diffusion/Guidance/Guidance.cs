// Classifier-free guidance (Ho & Salimans 2022) with an optional negative prompt. The pipeline gives a model whose
// batch is two halves, [conditional; unconditional] (the unconditional half sees the empty caption, or the negative
// prompt's embedding, which is what a negative prompt is), and Guided wraps it so that one forward of 2B evaluates both:
//     guided = cond + (scale - 1) (cond - uncond)        (= uncond + scale (cond - uncond))
// written so that scale 1 returns the conditional output bit for bit. Guidance is linear in the model output, so it
// gives the same result applied to eps, x0, v or velocity at the same (x_t, t).
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>Classifier-free guidance over a paired (conditional, unconditional) model.</summary>
public static class Guidance
{
    /// <summary>
    /// Wraps <paramref name="pairedModel"/>, which maps (x (2B, ...), t (2B)) to outputs whose first B rows are
    /// conditional and last B unconditional (or negative-prompt), into a guided model of (x (B, ...), t (B)).
    /// </summary>
    public static Func<Tensor, Tensor, Tensor> ClassifierFree(Func<Tensor, Tensor, Tensor> pairedModel, double scale) =>
        (x, t) =>
        {
            var both = pairedModel(ConcatBatch(x, x), ConcatBatch(t, t));    // (2B, ...): one forward for both passes
            if (both.Size(0) != 2 * x.Size(0))
                throw new InvalidOperationException($"Guidance: the paired model returned {both} for a batch of {2 * x.Size(0)}.");
            var (cond, uncond) = both.Chunk(2, dim: 0);                       // (B, ...) each
            return cond + (cond - uncond) * (float)(scale - 1);
        };

    /// <summary>[a; b] along dim 0 (shapes equal past dim 0); pipelines use it to pair text and negative-text embeddings.</summary>
    public static Tensor ConcatBatch(Tensor a, Tensor b)
    {
        if (a.Rank != b.Rank || !a.Shape[1..].SequenceEqual(b.Shape[1..]))
            throw new ArgumentException($"Guidance.ConcatBatch: {a} and {b} differ past the batch dim.");
        return F.Concat([a, b], 0);
    }
}
