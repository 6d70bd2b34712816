// GroupNorm (Wu & He 2018), as torch.nn.GroupNorm(groups, channels, eps, affine): channels split into groups, each
// normalised over its channels and all positions; keys weight (ones) and bias (zeros). The VAE's normalisation.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>Group normalisation of (B, C, *) tensors.</summary>
public sealed class GroupNorm : Module
{
    readonly int groups;
    readonly float eps;

    /// <summary>(C), or null without affine.</summary>
    public Tensor? Weight { get; }
    /// <summary>(C), or null without affine.</summary>
    public Tensor? Bias { get; }

    /// <summary>Normalises <paramref name="channels"/> channels in <paramref name="groups"/> groups.</summary>
    public GroupNorm(int groups, int channels, float eps = 1e-5f, bool affine = true)
    {
        if (groups <= 0 || channels <= 0 || channels % groups != 0)
            throw new ArgumentException($"GroupNorm: {channels} channels cannot be split into {groups} groups.");
        (this.groups, this.eps) = (groups, eps);
        if (!affine) return;
        Weight = Param("weight", Tensor.Ones(channels));
        Bias = Param("bias", Tensor.Zeros(channels));
    }

    // x: (B, C, *) -> (B, C, *)
    /// <summary>Normalises each group of channels, then scales and shifts each channel.</summary>
    public Tensor Forward(Tensor x) => F.GroupNorm(x, groups, Weight, Bias, eps);
}
