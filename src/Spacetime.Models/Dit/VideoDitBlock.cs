// Spacetime DiT block: DiT's adaLN-Zero block over video tokens plus cross-attention to caption tokens after
// self-attention (PixArt-alpha style), with self-attention either full over all T·S tokens or factorized into
// spatial attention within each frame and temporal attention across frames at each position (Open-Sora's STDiT).
// Gates and the cross-attention output start at zero, so an untrained block is the identity.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>A video DiT block: modulated self-attention (full or factorized), cross-attention to text, MLP.</summary>
public sealed class VideoDitBlock : Module
{
    readonly DitConfig cfg;
    readonly Attention attn;                  // full, or spatial when factorized
    readonly Attention? attnTemporal;         // factorized only
    readonly LayerNorm normCross;
    readonly Attention crossAttn;
    readonly Mlp mlp;
    readonly Linear adaLn;                    // c -> 6 (full) or 9 (factorized) modulation vectors, zero-initialised

    /// <summary>Creates a block of width cfg.Hidden attending to text tokens of width cfg.TextHidden.</summary>
    public VideoDitBlock(DitConfig cfg, Rng rng)
    {
        this.cfg = cfg;
        attn = Add("attn", new Attention(cfg.Hidden, cfg.Heads, rng, qkvBias: true));
        if (cfg.Attention == AttentionLayout.Factorized)
            attnTemporal = Add("attn_temporal", new Attention(cfg.Hidden, cfg.Heads, rng, qkvBias: true));
        normCross = Add("norm_cross", new LayerNorm(cfg.Hidden, affine: true, eps: 1e-6f));
        crossAttn = Add("cross_attn", new Attention(cfg.Hidden, cfg.Heads, rng, qkvBias: true, contextDim: cfg.TextHidden));
        mlp = Add("mlp", new Mlp(cfg.Hidden, cfg.MlpHidden, Activation.GeluTanh, rng));
        adaLn = Add("adaLN_modulation.1", new Linear(cfg.Hidden, Modulations * cfg.Hidden, rng));
    }

    int Modulations => attnTemporal is null ? 6 : 9;

    // x: (B, N, D) with N = T·S   c: (B, D)   text: (B, L, Dt)   grid: (T, S) of each video
    /// <summary>Applies the block; <paramref name="cross"/> masks caption padding.</summary>
    public Tensor Forward(Tensor x, Tensor c, Tensor text, (int T, int S) grid, AttentionMask? cross)
    {
        var m = DitBlock.AdaLn(adaLn, c).Chunk(Modulations, dim: -1);                 // each (B, D)
        x = F.GatedAdd(x, m[2], SelfAttention(DitBlock.NormModulate(x, m[0], m[1]), grid));
        if (attnTemporal is not null)
            x = F.GatedAdd(x, m[8], Temporal(DitBlock.NormModulate(x, m[6], m[7]), grid));
        x = x + crossAttn.Forward(normCross.Forward(x), text, cross);                  // (B, N, D)
        x = F.GatedAdd(x, m[5], mlp.Forward(DitBlock.NormModulate(x, m[3], m[4])));   // (B, N, D)
        return x;
    }

    // Full: one attention over all tokens. Factorized: (B, T·S, D) -> (B·T, S, D), attention within each frame.
    Tensor SelfAttention(Tensor h, (int T, int S) grid)
    {
        if (attnTemporal is null) return attn.Forward(h);
        int B = h.Size(0), D = h.Size(2);
        return attn.Forward(h.Reshape(B * grid.T, grid.S, D)).Reshape(B, grid.T * grid.S, D);
    }

    // (B, T·S, D) -> (B, S, T, D) -> (B·S, T, D): attention across frames at each spatial position.
    Tensor Temporal(Tensor h, (int T, int S) grid)
    {
        int B = h.Size(0), D = h.Size(2);
        var seq = h.Reshape(B, grid.T, grid.S, D).Transpose(1, 2).Reshape(B * grid.S, grid.T, D);
        return attnTemporal!.Forward(seq).Reshape(B, grid.S, grid.T, D).Transpose(1, 2).Reshape(B, grid.T * grid.S, D);
    }

    /// <summary>Xavier linears, zero biases; zero adaLN and the cross-attention output, so the block is the identity.</summary>
    public void InitializeWeights(Rng rng)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (name, p) in NamedParameters())
            if (name.StartsWith("norm_cross")) continue;
            else if (name.EndsWith("weight")) Init.XavierUniform(p, rng);
            else Init.Zeros(p);
        foreach (var p in adaLn.Parameters()) Init.Zeros(p);
        foreach (var (name, p) in crossAttn.NamedParameters())
            if (name.StartsWith("proj")) Init.Zeros(p);
    }
}
