// LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models", arXiv:2106.09685): a frozen Linear
// y = x W^T + b gains a trainable update of rank r,
//     y = x W^T + b + s · (x A^T) B^T        A: (r, in)   B: (out, r)   s = alpha / r
// A starts small and random (PyTorch's Linear init, uniform in ±1/sqrt(in), as PEFT does) and B at zero, so an adapted
// layer starts exactly equal to its base. The update is two ordinary Linears (lora_A, lora_B; PEFT's keys), so it
// needs no kernel or backward rule of its own. Merging folds it into the weight, W' = W + s·B·A, so that sampling with
// an adapter costs what the base costs.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>The low-rank update of one Linear: s · B(A(x)).</summary>
public sealed class LoraLayer : Module
{
    readonly Linear loraA, loraB;

    /// <summary>A: (rank, in).</summary>
    public Tensor A => loraA.Weight;
    /// <summary>B: (out, rank), zero at initialisation.</summary>
    public Tensor B => loraB.Weight;
    /// <summary>s = alpha / rank, the factor on B·A.</summary>
    public float Scale { get; }
    /// <summary>The rank r.</summary>
    public int Rank => A.Size(0);
    /// <summary>Input width of the adapted layer.</summary>
    public int InFeatures => A.Size(1);
    /// <summary>Output width of the adapted layer.</summary>
    public int OutFeatures => B.Size(0);

    /// <summary>An update for a Linear from <paramref name="inFeatures"/> to <paramref name="outFeatures"/>; the rank
    /// must be at least 1 and at most the smaller of the two (a larger one adds nothing a full update lacks).</summary>
    public LoraLayer(int inFeatures, int outFeatures, int rank, float alpha, Rng rng)
    {
        if (rank < 1 || rank > Math.Min(inFeatures, outFeatures))
            throw new ArgumentOutOfRangeException(nameof(rank), $"LoraLayer: rank {rank} must be 1 to " +
                                                  $"{Math.Min(inFeatures, outFeatures)} for a {inFeatures} -> " +
                                                  $"{outFeatures} layer.");
        if (!(alpha > 0) || float.IsInfinity(alpha))
            throw new ArgumentOutOfRangeException(nameof(alpha), $"LoraLayer: alpha {alpha} must be positive.");
        loraA = Add("lora_A", new Linear(inFeatures, rank, rng, bias: false));
        loraB = Add("lora_B", new Linear(rank, outFeatures, rng, bias: false));
        Scale = alpha / rank;
        using (Autograd.NoGrad()) Init.Zeros(B);        // B = 0: the adapted layer starts as its base
    }

    // x: (..., in) -> (..., out)
    /// <summary>The update s · (x A^T) B^T alone (the caller adds it to the base layer's output).</summary>
    public Tensor Forward(Tensor x) => loraB.Forward(loraA.Forward(x)) * Scale;           // (..., r) -> (..., out)

    /// <summary>Adds <paramref name="strength"/> · s · B·A to <paramref name="layer"/>'s weight, in place and unrecorded:
    /// afterwards the plain layer computes what the adapted one did (up to float rounding).</summary>
    public void MergeInto(Linear layer, float strength = 1f)
    {
        if (layer.Weight.Size(0) != OutFeatures || layer.Weight.Size(1) != InFeatures)
            throw new ArgumentException($"LoraLayer.MergeInto: a {InFeatures} -> {OutFeatures} update does not fit a " +
                                        $"{layer.Weight.Size(1)} -> {layer.Weight.Size(0)} layer.");
        using var noGrad = Autograd.NoGrad();
        using var scope = TensorScope.Begin();
        var delta = F.MatMul(B, A);                                                         // (out, r) x (r, in)
        layer.Weight.CopyFrom(layer.Weight + delta * (strength * Scale));                   // (out, in)
    }
}
