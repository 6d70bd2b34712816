// Weight initializers, as torch.nn.init, drawing from an explicit Rng so that a model is a pure function of its seed.
// Each fills a parameter in place (unrecorded). Fans follow PyTorch's _calculate_fan_in_and_fan_out: for a weight
// (out, in, *kernel), fan_in = in * prod(kernel) and fan_out = out * prod(kernel).
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>Initializers for parameters (torch.nn.init), seeded through <see cref="Rng"/>.</summary>
public static class Init
{
    /// <summary>Uniform in [-a, a] with a = gain * sqrt(6 / (fan_in + fan_out)) (Glorot &amp; Bengio 2010);
    /// DiT's choice for every Linear.</summary>
    public static void XavierUniform(Tensor w, Rng rng, float gain = 1f)
    {
        var (fanIn, fanOut) = Fans(w, "XavierUniform");
        float a = gain * MathF.Sqrt(6f / (fanIn + fanOut));
        Uniform(w, rng, -a, a);
    }

    /// <summary>Uniform in [-bound, bound] with bound = gain * sqrt(3 / fan_in), gain = sqrt(2 / (1 + a^2)) (He et al.
    /// 2015). With a = sqrt(5), PyTorch's default for Linear and Conv weights, bound = 1 / sqrt(fan_in).</summary>
    public static void KaimingUniform(Tensor w, Rng rng, float a = 0f)
    {
        var (fanIn, _) = Fans(w, "KaimingUniform");
        float gain = MathF.Sqrt(2f / (1f + a * a));
        float bound = gain * MathF.Sqrt(3f / fanIn);
        Uniform(w, rng, -bound, bound);
    }

    /// <summary>Normal with standard deviation sqrt(2 / fan_in) (He et al. 2015, for ReLU).</summary>
    public static void KaimingNormal(Tensor w, Rng rng)
    {
        var (fanIn, _) = Fans(w, "KaimingNormal");
        Normal(w, rng, 0f, MathF.Sqrt(2f / fanIn));
    }

    /// <summary>Uniform in [low, high).</summary>
    public static void Uniform(Tensor w, Rng rng, float low, float high) => rng.FillUniform(w.AsSpan(), low, high);

    /// <summary>Normal N(mean, std^2).</summary>
    public static void Normal(Tensor w, Rng rng, float mean = 0f, float std = 1f) =>
        w.CopyFrom(rng.Normal(mean, std, w.Shape.ToArray()));

    /// <summary>All zeros (DiT zeroes its adaLN and final layers, so each block starts as the identity).</summary>
    public static void Zeros(Tensor w) => w.Fill(0f);

    /// <summary>All equal to <paramref name="value"/>.</summary>
    public static void Constant(Tensor w, float value) => w.Fill(value);

    /// <summary>(fan_in, fan_out) of a weight (out, in, *kernel), as PyTorch computes them.</summary>
    public static (float FanIn, float FanOut) Fans(Tensor w, string op = "Init")
    {
        if (w.Rank < 2)
            throw new ArgumentException($"{op}: fans need a weight of rank 2 or more, got shape " +
                                        $"({string.Join(", ", w.Shape.ToArray())}).");
        int receptive = 1;
        for (int i = 2; i < w.Rank; i++) receptive *= w.Size(i);
        return ((float)w.Size(1) * receptive, (float)w.Size(0) * receptive);
    }
}
