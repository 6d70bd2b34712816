// DiT block with adaLN-Zero conditioning (Peebles & Xie 2023, Fig. 3), as the reference's DiTBlock: the conditioning
// vector c regresses six vectors (shift, scale, gate for attention and MLP); gates start at zero, so an untrained
// block is the identity. Keys: norm1/norm2 (no parameters), attn.qkv, attn.proj, mlp.fc1, mlp.fc2, adaLN_modulation.1.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>A DiT block: adaLN-Zero modulated self-attention and MLP.</summary>
public sealed class DitBlock : Module
{
    readonly Attention attn;
    readonly Mlp mlp;
    readonly Linear adaLn;                 // c -> 6 modulation vectors, zero-initialised

    /// <summary>Creates a block of width cfg.Hidden.</summary>
    public DitBlock(DitConfig cfg, Rng rng)
    {
        attn = Add("attn", new Attention(cfg.Hidden, cfg.Heads, rng, qkvBias: true));
        mlp = Add("mlp", new Mlp(cfg.Hidden, cfg.MlpHidden, Activation.GeluTanh, rng));
        adaLn = Add("adaLN_modulation.1", new Linear(cfg.Hidden, 6 * cfg.Hidden, rng));
    }

    // x: (B, N, D) tokens   c: (B, D) conditioning
    /// <summary>Applies the block.</summary>
    public Tensor Forward(Tensor x, Tensor c)
    {
        // Fused forms of the reference's lines: F.SiluLinear = adaLN_modulation(c), F.LayerNormModulate =
        // modulate(norm(x), shift, scale), F.GatedAdd(x, g, y) = x + g.unsqueeze(1) * y.
        var (shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp) = AdaLn(adaLn, c).Chunk(6, dim: 1);
        x = F.GatedAdd(x, gateMsa, attn.Forward(F.LayerNormModulate(x, shiftMsa, scaleMsa)));   // (B, N, D)
        x = F.GatedAdd(x, gateMlp, mlp.Forward(F.LayerNormModulate(x, shiftMlp, scaleMlp)));    // (B, N, D)
        return x;
    }

    /// <summary>Zeroes the adaLN regression, so the block starts as the identity (adaLN-Zero).</summary>
    public void InitializeWeights(Rng rng)
    {
        foreach (var (name, p) in attn.NamedParameters().Concat(mlp.NamedParameters()))
            if (name.EndsWith("weight")) Init.XavierUniform(p, rng); else Init.Zeros(p);
        foreach (var p in adaLn.Parameters()) Init.Zeros(p);
    }

    internal static Tensor Norm(Tensor x) => F.LayerNorm(x, null, null, 1e-6f);

    // adaLN_modulation = Sequential(SiLU, Linear), fused: (B, D) -> (B, k·D)
    internal static Tensor AdaLn(Linear adaLn, Tensor c) => F.SiluLinear(c, adaLn.Weight, adaLn.Bias);

    // modulate(norm(x), shift, scale) for x (B, N, D): fused for (B, D) vectors; (B|1, 1|N, D) ones (packed
    // sequences: one vector per token) take the plain ops.
    internal static Tensor NormModulate(Tensor x, Tensor shift, Tensor scale) =>
        shift.Rank == 2 ? F.LayerNormModulate(x, shift, scale, 1e-6f) : Norm(x) * (1f + scale) + shift;
}

/// <summary>The DiT's last layer: adaLN-modulated LayerNorm, then a linear map to patch pixels (zero-initialised).</summary>
public sealed class FinalLayer : Module
{
    readonly Linear linear, adaLn;

    /// <summary>Maps width <paramref name="hidden"/> to <paramref name="outFeatures"/> per token.</summary>
    public FinalLayer(int hidden, int outFeatures, Rng rng)
    {
        linear = Add("linear", new Linear(hidden, outFeatures, rng));
        adaLn = Add("adaLN_modulation.1", new Linear(hidden, 2 * hidden, rng));
    }

    // x: (B, N, D), c: (B, D) -> (B, N, outFeatures)
    /// <summary>Applies the layer.</summary>
    public Tensor Forward(Tensor x, Tensor c)
    {
        var (shift, scale) = DitBlock.AdaLn(adaLn, c).Chunk(2, dim: -1);
        return linear.Forward(DitBlock.NormModulate(x, shift, scale));          // (B, N, outFeatures)
    }

    /// <summary>Zeroes everything, so the untrained model outputs zeros.</summary>
    public void InitializeWeights()
    {
        foreach (var p in Parameters()) Init.Zeros(p);
    }
}
