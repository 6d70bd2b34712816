// FrameGroupNorm: GroupNorm applied to each frame on its own. torch's GroupNorm over a video (B, C, T, H, W) pools
// statistics over all T frames, so frame 0 would see the future and a chunk would see only its own frames; both break
// causality and chunked == one pass (CogVideoX's VAE accepts that mismatch). Normalising (B·T, C, H, W) frames instead
// keeps every frame independent, as per-frame norms do in WAN's causal VAE. Keys: weight, bias (torch.nn.GroupNorm).
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>GroupNorm over the channels and pixels of each frame separately.</summary>
internal sealed class FrameGroupNorm : Module
{
    readonly int groups;

    public Tensor Weight { get; }   // (C), ones
    public Tensor Bias { get; }     // (C), zeros

    public FrameGroupNorm(int groups, int channels)
    {
        if (groups <= 0 || channels % groups != 0)
            throw new ArgumentException($"FrameGroupNorm: {channels} channels cannot be split into {groups} groups.");
        this.groups = groups;
        Weight = Param("weight", Tensor.Ones(channels));
        Bias = Param("bias", Tensor.Zeros(channels));
    }

    /// <summary>The norm a VAE of <paramref name="cfg"/> puts before a layer of <paramref name="channels"/> channels: a
    /// FrameGroupNorm, or null (no norm) for <see cref="VaeNorm.None"/>.</summary>
    public static FrameGroupNorm? For(VideoVaeConfig cfg, int channels) =>
        cfg.Norm == VaeNorm.Group ? new FrameGroupNorm(cfg.NormGroups, channels) : null;

    // x: (B, C, T, H, W) -> (B, C, T, H, W); for T = 1 the reshapes are views and no copy is made
    public Tensor Forward(Tensor x)
    {
        int b = x.Size(0), c = x.Size(1), t = x.Size(2), h = x.Size(3), w = x.Size(4);
        var frames = x.Permute(0, 2, 1, 3, 4).Reshape(b * t, c, h, w);           // (B·T, C, H, W)
        var y = F.GroupNorm(frames, groups, Weight, Bias, eps: 1e-6f);             // (B·T, C, H, W)
        return y.Reshape(b, t, c, h, w).Permute(0, 2, 1, 3, 4);                    // (B, C, T, H, W), a view
    }
}
