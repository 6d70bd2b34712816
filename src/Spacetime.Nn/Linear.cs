// Linear: y = x W^T + b over the last dim, as torch.nn.Linear (weight (out, in), bias (out)). Initialised as PyTorch
// does: weight and bias uniform in [-1/sqrt(in), 1/sqrt(in)] (kaiming_uniform with a = sqrt(5)), from the given Rng.
// A LoRA update (LoraLayer) can be attached: its output is added to the layer's. It is held beside the layer, not as
// a child, so the layer's state dict stays the base model's whether or not an adapter is attached.
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

    /// <summary>The attached low-rank update, or null (see <see cref="Attach"/>).</summary>
    public LoraLayer? Lora { get; private set; }

    /// <summary>Adds <paramref name="lora"/>'s output to this layer's from now on (null detaches it).</summary>
    public void Attach(LoraLayer? lora)
    {
        if (lora is not null && (lora.InFeatures != Weight.Size(1) || lora.OutFeatures != Weight.Size(0)))
            throw new ArgumentException($"Linear.Attach: a {lora.InFeatures} -> {lora.OutFeatures} LoRA update does " +
                                        $"not fit a {Weight.Size(1)} -> {Weight.Size(0)} layer.");
        Lora = lora;
    }

    // x: (..., in) -> (..., out)
    /// <summary>Applies the layer (and its LoRA update, when one is attached) to the last dim of
    /// <paramref name="x"/>.</summary>
    public Tensor Forward(Tensor x) =>
        Lora is null ? F.Linear(x, Weight, Bias) : F.Linear(x, Weight, Bias) + Lora.Forward(x);
}
