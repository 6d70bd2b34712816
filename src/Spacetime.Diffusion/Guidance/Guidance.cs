// Classifier-free guidance (Ho & Salimans 2022) with an optional negative prompt. The pipeline gives a model whose
// batch is two halves, [conditional; unconditional] (the unconditional half sees the empty caption, or the negative
// prompt's embedding, which is what a negative prompt is), and Guided wraps it so that one forward of 2B evaluates both:
//     guided = cond + (scale - 1) (cond - uncond)        (= uncond + scale (cond - uncond))
// written so that scale 1 returns the conditional output bit for bit. Guidance is linear in the model output, so it
// gives the same result applied to eps, x0, v or velocity at the same (x_t, t).
//
// A guidance interval (Kynkäänniemi et al. 2024, "Applying guidance in a limited interval improves sample and
// distribution quality in diffusion models") guides only at the path times t in [Lo, Hi] and runs the conditional model
// alone elsewhere (one forward of B instead of 2B): guidance at the highest noise levels pushes every sample towards
// the same layout, and at the lowest it does little. Their EDM2 interval, sigma in (0.28, 5.42], is t in (0.22, 0.84]
// on the rectified-flow path (sigma = t / (1 - t)).
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>The path times [Lo, Hi] (0 = data, 1 = noise) at which guidance is applied.</summary>
public sealed record GuidanceInterval(double Lo, double Hi)
{
    /// <summary>Guidance at every time: the classic sampler.</summary>
    public static readonly GuidanceInterval Everywhere = new(0, 1);

    /// <summary>Whether a step at path time <paramref name="t"/> is guided (the bounds rounded to float like the
    /// times themselves, so a time written as the bound is inside).</summary>
    public bool Contains(float t) => t >= (float)Lo && t <= (float)Hi;

    /// <summary>Throws ArgumentException unless 0 &lt;= Lo &lt;= Hi &lt;= 1.</summary>
    public void Validate()
    {
        if (!(Lo >= 0 && Lo <= Hi && Hi <= 1))
            throw new ArgumentException($"guidance interval {Lo}..{Hi}: needs 0 <= LO <= HI <= 1 (path times: 0 is the " +
                                        "data, 1 pure noise)");
    }
}

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

    /// <summary>
    /// Guidance applied only at times inside <paramref name="interval"/>: there the paired model runs as in
    /// <see cref="ClassifierFree(Func{Tensor, Tensor, Tensor}, double)"/>, elsewhere <paramref name="conditional"/>
    /// (the model on the conditional captions alone, a batch of B) does. Every row of t must be the same time (a
    /// sampler's step).
    /// </summary>
    public static Func<Tensor, Tensor, Tensor> ClassifierFree(Func<Tensor, Tensor, Tensor> pairedModel, double scale,
                                                              GuidanceInterval interval,
                                                              Func<Tensor, Tensor, Tensor> conditional)
    {
        interval.Validate();
        var guided = ClassifierFree(pairedModel, scale);
        if (interval == GuidanceInterval.Everywhere) return guided;
        return (x, t) =>
        {
            var times = t.ToArray();
            if (times.Any(v => v != times[0]))
                throw new ArgumentException("Guidance: a guidance interval needs one time for the whole batch.");
            return interval.Contains(times[0]) ? guided(x, t) : conditional(x, t);
        };
    }

    /// <summary>[a; b] along dim 0 (shapes equal past dim 0); pipelines use it to pair text and negative-text embeddings.</summary>
    public static Tensor ConcatBatch(Tensor a, Tensor b)
    {
        if (a.Rank != b.Rank || !a.Shape[1..].SequenceEqual(b.Shape[1..]))
            throw new ArgumentException($"Guidance.ConcatBatch: {a} and {b} differ past the batch dim.");
        return F.Concat([a, b], 0);
    }
}
