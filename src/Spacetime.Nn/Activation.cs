// The pointwise nonlinearities a layer can be configured with (an enum, not a string or a delegate, so configs
// serialise and typos do not compile).
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>A pointwise activation function.</summary>
public enum Activation
{
    /// <summary>GELU, tanh approximation (DiT, GPT-2; PyTorch approximate="tanh").</summary>
    GeluTanh,
    /// <summary>GELU, exact erf form (PyTorch's default nn.GELU()).</summary>
    GeluErf,
    /// <summary>x * sigmoid(x).</summary>
    Silu,
    /// <summary>max(x, 0).</summary>
    Relu,
}

/// <summary>Applies an <see cref="Activation"/>.</summary>
public static class Activations
{
    /// <summary>The activation <paramref name="a"/> applied to <paramref name="x"/>.</summary>
    public static Tensor Apply(this Activation a, Tensor x) => a switch
    {
        Activation.GeluTanh => F.Gelu(x, Gelu.Tanh),
        Activation.GeluErf => F.Gelu(x, Gelu.Erf),
        Activation.Silu => F.Silu(x),
        Activation.Relu => F.Relu(x),
        _ => throw new ArgumentOutOfRangeException(nameof(a), a, "Activation: unknown value."),
    };
}
