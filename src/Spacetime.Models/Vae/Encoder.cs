// Encoder: video (B, 3, 1 + 4k, H, W) -> posterior moments (B, 2z, 1 + k, H / 8, W / 8), causal in time. SD's
// Encoder layout and key names (conv_in, down.i.block.j, down.i.downsample, mid.block_1/2, norm_out, conv_out) with
// causal 3-d convolutions. The video is first folded into Patch x Patch pixel blocks (PixelFold; none for Patch 1);
// per level i (channels BaseChannels * ChannelMultipliers[i]), ResBlocks ResNet blocks, then a 2x downsample except
// after the last level. Time is halved, frame 0 kept alone, after the levels VideoVaeConfig.HalvesTime names (after
// the last level by a time-only downsample), so latent frame 0 is frame 0 and latent frame k >= 1 sees frames up to
// 4k (frames 4k-3..4k are its own). Unlike SD there is no mid-block attention (full attention over T would not be
// causal).
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>Causal 3-d convolutional encoder of the video VAE.</summary>
internal sealed class Encoder : Module
{
    readonly StreamingCausalConv3d convIn, convOut;
    readonly ModuleList<EncoderLevel> down;
    readonly ResnetBlock3d midBlock1, midBlock2;
    readonly FrameGroupNorm? normOut;      // null without norms
    readonly VideoVaeConfig cfg;

    public Encoder(VideoVaeConfig cfg, Rng rng)
    {
        this.cfg = cfg;
        int levels = cfg.ChannelMultipliers.Length, top = cfg.Channels(levels - 1);
        convIn = Add("conv_in", new StreamingCausalConv3d(cfg.PixelChannels, cfg.Channels(0), rng, (3, 3, 3)));
        down = Add("down", new ModuleList<EncoderLevel>());
        for (int i = 0; i < levels; i++)
            down.Append(new EncoderLevel(cfg, i, rng));
        midBlock1 = Add("mid.block_1", new ResnetBlock3d(top, top, cfg, rng));
        midBlock2 = Add("mid.block_2", new ResnetBlock3d(top, top, cfg, rng));
        if (FrameGroupNorm.For(cfg, top) is { } norm) normOut = Add("norm_out", norm);
        convOut = Add("conv_out", new StreamingCausalConv3d(top, 2 * cfg.LatentChannels, rng, (3, 3, 3)));
        if (cfg.Shortcut)
            using (Autograd.NoGrad()) foreach (var p in convOut.Parameters()) Init.Zeros(p);
    }

    // x: (B, 3, T, H, W) video in [-1, 1] -> (B, 2z, T', H / f, W / f) mean and log-variance, T' = 1 + (T - 1) / 4
    public Tensor Forward(Tensor x, CausalState? state)
    {
        var h = convIn.Forward(PixelFold.Fold(x, cfg.Patch), state);               // (B, C0, T, H / p, W / p)
        foreach (var level in down) h = level.Forward(h, state);                    // (B, Ctop, T', H / f, W / f)
        h = midBlock2.Forward(midBlock1.Forward(h, state), state);                  // (B, Ctop, T', H / f, W / f)
        var moments = convOut.Forward(F.Silu(normOut?.Forward(h) ?? h), state);   // (B, 2z, T', H / f, W / f)
        if (!cfg.Shortcut) return moments;
        var means = Shortcut.Means(x, cfg.SpatialCompression, cfg.TemporalCompression,
                                   first: state?.FirstChunk(this) ?? true);        // (B, 3, T', H / f, W / f)
        return moments + Shortcut.IntoMoments(means, cfg.LatentChannels);           // (B, 2z, T', H / f, W / f)
    }
}

/// <summary>One encoder level: ResNet blocks at one resolution, then (except last) a 2x downsample; the last level's
/// downsample, when it has one, halves time only.</summary>
internal sealed class EncoderLevel : Module
{
    readonly ModuleList<ResnetBlock3d> block;
    readonly Downsample? downsample;

    public EncoderLevel(VideoVaeConfig cfg, int level, Rng rng)
    {
        int inCh = cfg.Channels(Math.Max(level - 1, 0)), ch = cfg.Channels(level);
        block = Add("block", new ModuleList<ResnetBlock3d>());
        for (int j = 0; j < cfg.ResBlocks; j++)
            block.Append(new ResnetBlock3d(j == 0 ? inCh : ch, ch, cfg, rng));
        bool last = level == cfg.ChannelMultipliers.Length - 1;
        if (!last || cfg.HalvesTime(level))
            downsample = Add("downsample", new Downsample(ch, cfg.HalvesTime(level), space: !last, rng));
    }

    // x: (B, C_{i-1}, T, H, W) -> (B, C_i, T or 1 + (T - 1) / 2, H / 2, W / 2) (the last level keeps H, W)
    public Tensor Forward(Tensor x, CausalState? state)
    {
        foreach (var b in block) x = b.Forward(x, state);                           // (B, C_i, T, H, W)
        return downsample?.Forward(x, state) ?? x;
    }
}
