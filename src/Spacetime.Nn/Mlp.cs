// Mlp: the transformer feed-forward block, fc1 -> activation -> fc2, with timm's keys (fc1, fc2) so DiT and PixArt
// checkpoints load. No dropout (DiT trains without it).
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>Two linear layers with an activation between them (timm's Mlp).</summary>
public sealed class Mlp : Module
{
    readonly Linear fc1, fc2;
    readonly Activation activation;

    /// <summary>in -> hidden -> out (out defaults to in).</summary>
    public Mlp(int inFeatures, int hiddenFeatures, Activation activation, Rng rng, int? outFeatures = null,
               bool bias = true)
    {
        fc1 = Add("fc1", new Linear(inFeatures, hiddenFeatures, rng, bias));
        fc2 = Add("fc2", new Linear(hiddenFeatures, outFeatures ?? inFeatures, rng, bias));
        this.activation = activation;
    }

    // x: (..., in) -> (..., out)
    /// <summary>Applies fc2(activation(fc1(x))); fc1 + tanh GELU runs as one fused op (F.LinearGelu) unless fc1 has
    /// a LoRA update attached, which must be added before the activation.</summary>
    public Tensor Forward(Tensor x)
    {
        var h = activation == Activation.GeluTanh && fc1.Lora is null
            ? F.LinearGelu(x, fc1.Weight, fc1.Bias)                      // (..., hidden)
            : activation.Apply(fc1.Forward(x));
        return fc2.Forward(h);
    }
}
