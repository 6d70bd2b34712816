// Decoder: latent (B, z, 1 + k, h, w) -> video (B, 3, 1 + 4k, 8h, 8w), the encoder's mirror (SD's Decoder keys:
// conv_in, mid.block_1/2, up.i.block.j, up.i.upsample, norm_out, conv_out; up.i is level i, run from the deepest).
// Each level has ResBlocks + 1 ResNet blocks (as SD) and, except level 0, a 2x upsample to level i - 1's size and
// channels that also doubles time (frame 0 kept single) where the encoder halved it; where the encoder halved time after
// its last level, the deepest decoder level starts with a time-only upsample (up.L-1.upsample_time). The output is
// unfolded from Patch x Patch pixel blocks (PixelFold). Output frame j depends on latent frames up to ceil(j / 4) only.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>Causal 3-d convolutional decoder of the video VAE.</summary>
internal sealed class Decoder : Module
{
    readonly StreamingCausalConv3d convIn, convOut;
    readonly ResnetBlock3d midBlock1, midBlock2;
    readonly ModuleList<DecoderLevel> up;
    readonly FrameGroupNorm? normOut;      // null without norms
    readonly VideoVaeConfig cfg;

    public Decoder(VideoVaeConfig cfg, Rng rng)
    {
        this.cfg = cfg;
        int levels = cfg.ChannelMultipliers.Length, top = cfg.Channels(levels - 1);
        convIn = Add("conv_in", new StreamingCausalConv3d(cfg.LatentChannels, top, rng, (3, 3, 3)));
        midBlock1 = Add("mid.block_1", new ResnetBlock3d(top, top, cfg, rng));
        midBlock2 = Add("mid.block_2", new ResnetBlock3d(top, top, cfg, rng));
        up = Add("up", new ModuleList<DecoderLevel>());
        for (int i = 0; i < levels; i++)
            up.Append(new DecoderLevel(cfg, i, rng));
        if (FrameGroupNorm.For(cfg, cfg.Channels(0)) is { } norm) normOut = Add("norm_out", norm);
        convOut = Add("conv_out", new StreamingCausalConv3d(cfg.Channels(0), cfg.PixelChannels, rng, (3, 3, 3)));
        if (cfg.Shortcut)
            using (Autograd.NoGrad()) foreach (var p in convOut.Parameters()) Init.Zeros(p);
    }

    // z: (B, z, T', h, w) -> (B, 3, 1 + 4 (T' - 1), f h, f w) video in about [-1, 1]
    public Tensor Forward(Tensor z, CausalState? state)
    {
        var h = convIn.Forward(z, state);                                           // (B, Ctop, T', h, w)
        h = midBlock2.Forward(midBlock1.Forward(h, state), state);                  // (B, Ctop, T', h, w)
        for (int i = up.Count - 1; i >= 0; i--) h = up[i].Forward(h, state);        // (B, C0, T, f h, f w)
        var pixels = convOut.Forward(F.Silu(normOut?.Forward(h) ?? h), state);    // (B, 3 p², T, f h / p, f w / p)
        var video = PixelFold.Unfold(pixels, cfg.Patch);                            // (B, 3, T, f h, f w)
        if (!cfg.Shortcut) return video;
        return video + Shortcut.Repeat(z, cfg.SpatialCompression, cfg.TemporalCompression,
                                       first: state?.FirstChunk(this) ?? true);    // (B, 3, T, f h, f w)
    }
}

/// <summary>One decoder level: (deepest level only, when the encoder halved time after it) a time-only upsample, then
/// ResNet blocks at one resolution, then (except level 0) a 2x upsample.</summary>
internal sealed class DecoderLevel : Module
{
    readonly Upsample? upsampleTime;
    readonly ModuleList<ResnetBlock3d> block;
    readonly Upsample? upsample;

    public DecoderLevel(VideoVaeConfig cfg, int level, Rng rng)
    {
        int ch = cfg.Channels(level);
        if (level == cfg.ChannelMultipliers.Length - 1 && cfg.HalvesTime(level))
            upsampleTime = Add("upsample_time", new Upsample(ch, ch, time: true, space: false, rng));
        block = Add("block", new ModuleList<ResnetBlock3d>());
        for (int j = 0; j <= cfg.ResBlocks; j++)
            block.Append(new ResnetBlock3d(ch, ch, cfg, rng));
        if (level > 0)
            upsample = Add("upsample", new Upsample(ch, cfg.Channels(level - 1), cfg.HalvesTime(level - 1), space: true,
                                                    rng));
    }

    // x: (B, C_i, T, h, w) -> (B, C_{i-1}, 2T - 1 or T, 2h, 2w) (level 0: (B, C_0, T, h, w))
    public Tensor Forward(Tensor x, CausalState? state)
    {
        if (upsampleTime is not null) x = upsampleTime.Forward(x, state);           // (B, C_i, 2T - 1, h, w)
        foreach (var b in block) x = b.Forward(x, state);                           // (B, C_i, T, h, w)
        return upsample?.Forward(x, state) ?? x;
    }
}
