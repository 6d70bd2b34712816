// LayerNorm over the last dim, as torch.nn.LayerNorm(dim, elementwise_affine=affine, eps): keys weight (ones) and
// bias (zeros) when affine. DiT's norm1/norm3 are affine-free: adaLN supplies the scale and shift.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>Layer normalisation over the last dimension, with optional learned scale and shift.</summary>
public sealed class LayerNorm : Module
{
    readonly float eps;

    /// <summary>(dim), or null without affine.</summary>
    public Tensor? Weight { get; }
    /// <summary>(dim), or null without affine.</summary>
    public Tensor? Bias { get; }

    /// <summary>Normalises vectors of size <paramref name="dim"/>.</summary>
    public LayerNorm(int dim, bool affine = true, float eps = 1e-5f)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), dim, "LayerNorm: dim must be positive.");
        this.eps = eps;
        if (!affine) return;
        Weight = Param("weight", Tensor.Ones(dim));
        Bias = Param("bias", Tensor.Zeros(dim));
    }

    // x: (..., dim) -> (..., dim)
    /// <summary>(x - mean) / sqrt(var + eps) * weight + bias over the last dim.</summary>
    public Tensor Forward(Tensor x) => F.LayerNorm(x, Weight, Bias, eps);
}
