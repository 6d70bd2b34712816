// Linear: y = x W^T + b over the last dim, as torch.nn.Linear (weight (out, in), bias (out)). Initialised as PyTorch
// does: weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)] (kaiming_uniform with a = sqrt(5)), from the given Rng.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>A fully connected layer: y = x W^T + b.</summary>
public sealed class Linear : Module
{
    /// <summary>(out, in).</summary>
    public Tensor Weight { get; }
    /// <summary>(out), or null without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>Creates a layer from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>.</summary>
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true)
    {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new ArgumentOutOfRangeException(nameof(inFeatures),
                                                  $"Linear: sizes {inFeatures} -> {outFeatures} must be positive.");
        Weight = Param("weight", Tensor.Zeros(outFeatures, inFeatures));
        if (bias) Bias = Param("bias", Tensor.Zeros(outFeatures));
        float bound = 1f / MathF.Sqrt(inFeatures);
        Init.Uniform(Weight, rng, -bound, bound);
        if (Bias is not null) Init.Uniform(Bias, rng, -bound, bound);
    }

    // x: (..., in) -> (..., out)
    /// <summary>Applies the layer to the last dim of <paramref name="x"/>.</summary>
    public Tensor Forward(Tensor x) => F.Linear(x, Weight, Bias);
}
