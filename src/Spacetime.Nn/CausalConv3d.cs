// CausalConv3d: a Conv3d that sees only the past in time (Open-Sora 1.2's VAE, after MAGVIT-v2). The input is padded
// with timePad = (kt - 1) + (1 - stride.T) zero frames in front and none behind, so output frame t depends on input
// frames up to t (with stride 1, T frames in give T frames out). Space is padded symmetrically by (kh / 2, kw / 2).
// Differences from Open-Sora: zero padding only (its pad_mode is "constant" too), no time dilation (F.Conv3d has none),
// and the spatial padding is done by the convolution itself rather than by F.pad (same result, one copy fewer).
// Keys: conv.weight, conv.bias, as in Open-Sora.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>A 3-d convolution that is causal in time: output frame t sees input frames up to t.</summary>
public sealed class CausalConv3d : Module
{
    readonly Conv3d conv;

    /// <summary>Zero frames added before the first frame.</summary>
    public int TimePad { get; }

    /// <summary>C -> O channels with a (kt, kh, kw) kernel (kh, kw odd); stride defaults to (1, 1, 1).</summary>
    public CausalConv3d(int inChannels, int outChannels, (int T, int H, int W) kernel, Rng rng,
                        (int T, int H, int W) stride = default, bool bias = true)
    {
        if (stride == default) stride = (1, 1, 1);
        TimePad = kernel.T - 1 + (1 - stride.T);
        if (TimePad < 0 || kernel.H % 2 == 0 || kernel.W % 2 == 0)
            throw new ArgumentException($"CausalConv3d: kernel {kernel} with stride {stride} gives time padding " +
                                        $"{TimePad}; need stride.T <= kt and odd kh, kw.");
        var spatialPad = (0, kernel.H / 2, kernel.W / 2);
        conv = Add("conv", new Conv3d(inChannels, outChannels, kernel, rng, stride, spatialPad, bias));
    }

    // x: (B, C, T, H, W) -> (B, O, To, Ho, Wo), To = (T + timePad - kt) / stride.T + 1
    /// <summary>Pads the past with zero frames and convolves.</summary>
    public Tensor Forward(Tensor x) => conv.Forward(F.Pad(x, [0, 0, 0, 0, TimePad, 0]));   // (B, C, timePad + T, H, W)
}
