// Conv2d: torch.nn.Conv2d without dilation or groups. weight (O, C, kh, kw), bias (O); initialised as PyTorch does,
// uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] with fan_in = C kh kw. Patch embedding of images uses it.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>2-d convolution over (B, C, H, W) images.</summary>
public sealed class Conv2d : Module
{
    readonly (int H, int W) stride, padding;

    /// <summary>(O, C, kh, kw).</summary>
    public Tensor Weight { get; }
    /// <summary>(O), or null without bias.</summary>
    public Tensor? Bias { get; }

    /// <summary>C -> O channels with a (kh, kw) kernel; stride defaults to (1, 1), padding (zeros) to (0, 0).</summary>
    public Conv2d(int inChannels, int outChannels, (int H, int W) kernel, Rng rng, (int H, int W) stride = default,
                  (int H, int W) padding = default, bool bias = true)
    {
        if (inChannels <= 0 || outChannels <= 0 || kernel.H <= 0 || kernel.W <= 0)
            throw new ArgumentOutOfRangeException(nameof(kernel), $"Conv2d: channels {inChannels} -> {outChannels} " +
                                                  $"and kernel {kernel} must be positive.");
        this.stride = stride == default ? (1, 1) : stride;
        this.padding = padding;
        Weight = Param("weight", Tensor.Zeros(outChannels, inChannels, kernel.H, kernel.W));
        if (bias) Bias = Param("bias", Tensor.Zeros(outChannels));
        float bound = 1f / MathF.Sqrt(inChannels * kernel.H * kernel.W);
        Init.Uniform(Weight, rng, -bound, bound);
        if (Bias is not null) Init.Uniform(Bias, rng, -bound, bound);
    }

    // x: (B, C, H, W) -> (B, O, Ho, Wo), Ho = (H + 2 padding.H - kh) / stride.H + 1
    /// <summary>Convolves <paramref name="x"/>.</summary>
    public Tensor Forward(Tensor x) => F.Conv2d(x, Weight, Bias, stride, padding);
}
