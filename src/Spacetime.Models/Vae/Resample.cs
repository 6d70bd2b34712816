// Downsample and Upsample: the VAE's 2x steps between levels. Both halve/double height and width (unless `space` is
// off: a time-only step); when `time` is set they also halve/double the frames after frame 0, which is never merged
// with another frame:
//   Downsample (time):  a causal 3x3x3 conv with stride (2, 2, 2) and two zero frames in front, so output frame 0
//                       sees input frame 0 alone and output j >= 1 sees input frames 2j - 2 .. 2j
//                       (T = 1 + 2m -> 1 + m).
//   Upsample (time):    nearest 2x in T, H, W, then drop the first frame: [x0, x1, .., xm] -> [x0, x0, x1, x1, ..]
//                       -> [x0, x1, x1, .., xm, xm] (1 + m -> 1 + 2m), then a causal 3x3x3 conv. Output frame i
//                       comes from latent frame ceil(i / 2), so nothing depends on a later frame. The conv maps
//                       the level's channels to the next (larger) level's, so no full-resolution conv runs at the
//                       deeper level's width (SD keeps the width there, which costs twice as much at level 0).
// In chunked runs only the chunk holding frame 0 drops a frame (CausalState.FirstChunk).
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>2x spatial and/or 2x temporal (frame 0 kept alone) downsampling by a strided causal conv.</summary>
internal sealed class Downsample : Module
{
    readonly StreamingCausalConv3d conv;

    public Downsample(int channels, bool time, bool space, Rng rng) =>
        conv = Add("conv", new StreamingCausalConv3d(channels, channels, rng, (3, 3, 3),
                                                      (time ? 2 : 1, space ? 2 : 1, space ? 2 : 1)));

    // x: (B, C, T, H, W) -> (B, C, T', H / 2, W / 2) (H, W kept without space), T' = 1 + (T - 1) / 2 when halving
    // time, else T
    public Tensor Forward(Tensor x, CausalState? state) => conv.Forward(x, state);
}

/// <summary>2x nearest spatial and/or temporal (frame 0 kept single) upsampling followed by a causal conv that also
/// changes the channel count to the next level's (WAN's VAE halves channels in its upsampling conv).</summary>
internal sealed class Upsample : Module
{
    readonly StreamingCausalConv3d conv;
    readonly bool time, space;

    public Upsample(int inChannels, int outChannels, bool time, bool space, Rng rng)
    {
        (this.time, this.space) = (time, space);
        conv = Add("conv", new StreamingCausalConv3d(inChannels, outChannels, rng, (3, 3, 3)));
    }

    // x: (B, C, T, H, W) -> (B, O, T', 2H, 2W) (H, W kept without space), T' = 2T - 1 when doubling time (2T on chunks
    // after the first), else T
    public Tensor Forward(Tensor x, CausalState? state)
    {
        bool first = state?.FirstChunk(this) ?? true;
        int s = space ? 2 : 1;
        var up = F.UpsampleNearest(x, time ? 2 : 1, s, s);                          // (B, C, 2T or T, sH, sW)
        if (time && first) up = up.Slice(2, 1, up.Size(2) - 1);                     // (B, C, 2T - 1, sH, sW)
        return conv.Forward(up, state);
    }
}
