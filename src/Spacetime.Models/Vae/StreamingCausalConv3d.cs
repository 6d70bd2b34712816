// StreamingCausalConv3d: a 3-d convolution that is causal in time and can run a video chunk by chunk. Time is padded
// with timePad = kt - 1 zero frames in front (none behind), so with stride 1 output frame t sees input frames
// t - kt + 1 .. t, and with stride 2 (kt = 3) output frame 0 sees only input frame 0 and output frame j >= 1 sees
// input frames 2j - 2 .. 2j: frame 0 stays alone, which is how the VAE keeps a still image a one-frame video.
// Space is padded symmetrically by (kh / 2, kw / 2) inside the convolution.
//
// Differs from Spacetime.Nn.CausalConv3d (Open-Sora's timePad = kt - 1 + (1 - stride)): for stride 2 that pads one
// frame, so output 0 would mix frames 0 and 1. It also carries its past through a CausalState: after a chunk it keeps
// the padded input frames from where its next window starts (kt - stride of them when the chunk length is a multiple
// of the stride), and the next chunk starts from those instead of zeros. Keys: conv.weight, conv.bias.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>A causal-in-time 3-d convolution whose past can be carried across chunks.</summary>
internal sealed class StreamingCausalConv3d : Module
{
    readonly Conv3d conv;
    readonly (int T, int H, int W) kernel, stride;
    readonly int timePad;   // zero frames before frame 0

    public StreamingCausalConv3d(int inChannels, int outChannels, Rng rng, (int T, int H, int W) kernel,
                                 (int T, int H, int W) stride = default)
    {
        this.kernel = kernel;
        this.stride = stride == default ? (1, 1, 1) : stride;
        timePad = kernel.T - 1;
        conv = Add("conv", new Conv3d(inChannels, outChannels, kernel, rng, this.stride,
                                      (0, kernel.H / 2, kernel.W / 2)));
    }

    /// <summary>The convolution weight (O, C, kt, kh, kw), for initialisers.</summary>
    public Tensor Weight => conv.Weight;

    // x: (B, C, T, H, W) -> (B, O, To, Ho, Wo); one pass: To = (T - 1) / stride.T + 1
    public Tensor Forward(Tensor x, CausalState? state)
    {
        bool first = state?.FirstChunk(this) ?? true;
        var tail = state?.Tail(this);
        var padded = first ? (timePad == 0 ? x : F.Pad(x, [0, 0, 0, 0, timePad, 0])) // (B, C, timePad + T, H, W)
                   : tail is null ? x : F.Concat([tail, x], dim: 2);          // (B, C, kept + T, H, W)
        int p = padded.Size(2), outFrames = (p - kernel.T) / stride.T + 1;
        state?.SetTail(this, padded.Slice(2, outFrames * stride.T, p - outFrames * stride.T));
        var y = conv.Forward(padded);                                          // (B, O, outFrames, Ho, Wo)
        if (state is not null) state.MultiplyAdds += (long)y.Count * conv.Weight.Count / y.Size(1);
        return y;
    }
}
