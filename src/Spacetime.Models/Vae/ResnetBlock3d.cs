// ResnetBlock3d: the VAE's residual block (SD's ResnetBlock, with causal 3x3x3 convolutions as in CogVideoX and
// MAGVIT-v2): norm1 -> SiLU -> conv1 -> norm2 -> SiLU -> conv2, plus the input (through a 1x1x1 nin_shortcut when the
// channel count changes). No dropout and no timestep input (a VAE has none). Without norms (VaeNorm.None) conv2 starts
// at zero, so the block starts as the identity (or its 1x1x1 shortcut) and stacking blocks does not grow activations.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>Residual block of two causal 3x3x3 convolutions with per-frame GroupNorm and SiLU.</summary>
internal sealed class ResnetBlock3d : Module
{
    readonly FrameGroupNorm? norm1, norm2;      // null without norms
    readonly StreamingCausalConv3d conv1, conv2;
    readonly StreamingCausalConv3d? ninShortcut;   // 1x1x1, only when inChannels != outChannels

    public ResnetBlock3d(int inChannels, int outChannels, VideoVaeConfig cfg, Rng rng)
    {
        norm1 = AddNorm("norm1", FrameGroupNorm.For(cfg, inChannels));
        conv1 = Add("conv1", new StreamingCausalConv3d(inChannels, outChannels, rng, (3, 3, 3)));
        norm2 = AddNorm("norm2", FrameGroupNorm.For(cfg, outChannels));
        conv2 = Add("conv2", new StreamingCausalConv3d(outChannels, outChannels, rng, (3, 3, 3)));
        if (inChannels != outChannels)
            ninShortcut = Add("nin_shortcut", new StreamingCausalConv3d(inChannels, outChannels, rng, (1, 1, 1)));
        if (cfg.Norm == VaeNorm.None)
            using (Autograd.NoGrad()) foreach (var p in conv2.Parameters()) Init.Zeros(p);
    }

    FrameGroupNorm? AddNorm(string name, FrameGroupNorm? norm) => norm is null ? null : Add(name, norm);

    // x: (B, C, T, H, W) -> (B, O, T, H, W)
    public Tensor Forward(Tensor x, CausalState? state)
    {
        var h = conv1.Forward(F.Silu(norm1?.Forward(x) ?? x), state);             // (B, O, T, H, W)
        h = conv2.Forward(F.Silu(norm2?.Forward(h) ?? h), state);                 // (B, O, T, H, W)
        return (ninShortcut?.Forward(x, state) ?? x) + h;                         // (B, O, T, H, W)
    }
}
