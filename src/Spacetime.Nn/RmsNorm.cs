// RMSNorm over the last dim (Zhang & Sennrich 2019): x / sqrt(mean(x^2) + eps) * weight, key weight (ones). Used for
// the q/k normalisation of attention (STDiT, SD3). eps defaults to 1e-6 as in LlamaRMSNorm and Open-Sora.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>Root-mean-square normalisation over the last dimension, with an optional learned scale.</summary>
public sealed class RmsNorm : Module
{
    readonly float eps;

    /// <summary>(dim), or null without affine.</summary>
    public Tensor? Weight { get; }

    /// <summary>Normalises vectors of size <paramref name="dim"/>.</summary>
    public RmsNorm(int dim, float eps = 1e-6f, bool affine = true)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "RmsNorm: dim must be positive.");
        this.eps = eps;
        if (affine) Weight = Param("weight", Tensor.Ones(dim));
    }

    // x: (..., dim) -> (..., dim)
    /// <summary>x / sqrt(mean(x^2) + eps) * weight over the last dim.</summary>
    public Tensor Forward(Tensor x) => F.RmsNorm(x, Weight, eps);
}
