// TextEncoderBlock: a pre-LN transformer block (GPT-2, Radford et al. 2019; as in CLIP's text tower), without the
// causal mask: every caption token sees the whole caption, padding keys excepted. Keys follow timm's ViT Block
// (norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2). The captioner's video encoder uses the same block over video
// tokens (no mask).
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Text;

/// <summary>x + attn(norm1(x)), then x + mlp(norm2(x)).</summary>
internal sealed class TextEncoderBlock : Module
{
    readonly LayerNorm norm1, norm2;
    readonly Attention attn;
    readonly Mlp mlp;

    internal TextEncoderBlock(TextEncoderConfig cfg, Rng rng) : this(cfg.Width, cfg.Heads, cfg.MlpHidden, cfg.NormEps, rng)
    {
    }

    internal TextEncoderBlock(int width, int heads, int mlpHidden, float eps, Rng rng)
    {
        norm1 = Add("norm1", new LayerNorm(width, eps: eps));
        attn = Add("attn", new Attention(width, heads, rng));
        norm2 = Add("norm2", new LayerNorm(width, eps: eps));
        mlp = Add("mlp", new Mlp(width, mlpHidden, Activation.GeluTanh, rng));
    }

    // x: (B, L, D)   mask: padding keys of the B captions, or null (every token sees every token)   ->   (B, L, D)
    internal Tensor Forward(Tensor x, AttentionMask? mask = null)
    {
        x = x + attn.Forward(norm1.Forward(x), mask: mask);     // (B, L, D)
        x = x + mlp.Forward(norm2.Forward(x));            // (B, L, D)
        return x;
    }
}
