// Conv3d: torch.nn.Conv3d without dilation or groups, over videos (B, C, T, H, W). weight (O, C, kt, kh, kw), bias (O);
// initialised as PyTorch does, uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] with fan_in = C kt kh kw.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>3-d convolution over (B, C, T, H, W) videos.</summary>
public sealed class Conv3d : Module
{
    readonly (int T, int H, int W) stride, padding;

    /// <summary>(O, C, kt, kh, kw).</summary>
    public Tensor Weight { get; }
    /// <summary>(O), or null without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>C -> O channels with a (kt, kh, kw) kernel; stride defaults to 1, padding (zeros, both sides)
    /// to 0.</summary>
    public Conv3d(int inChannels, int outChannels, (int T, int H, int W) kernel, Rng rng,
                  (int T, int H, int W) stride = default, (int T, int H, int W) padding = default, bool bias = true)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernel.T <= 0 || kernel.H <= 0 || kernel.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernel), $"Conv3d: channels {inChannels} -> {outChannels} " +
                                                  $"and kernel {kernel} must be positive.");
        this.stride = stride == default ? (1, 1, 1) : stride;
        this.padding = padding;
        Weight = Param("weight", Tensor.Zeros(outChannels, inChannels, kernel.T, kernel.H, kernel.W));
        if (bias) Bias = Param("bias", Tensor.Zeros(outChannels));
        float bound = 1f / MathF.Sqrt(inChannels * kernel.T * kernel.H * kernel.W);
        Init.Uniform(Weight, rng, -bound, bound);
        if (Bias is not null) Init.Uniform(Bias, rng, -bound, bound);
    }

    // x: (B, C, T, H, W) -> (B, O, To, Ho, Wo), To = (T + 2 padding.T - kt) / stride.T + 1, likewise H, W
    /// <summary>Convolves <paramref name="x"/>.</summary>
    public Tensor Forward(Tensor x) => F.Conv3d(x, Weight, Bias, stride, padding);
}
