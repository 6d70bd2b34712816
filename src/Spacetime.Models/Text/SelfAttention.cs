// SelfAttention: multi-head self-attention with timm's keys (qkv: D -> 3D fused, proj: D -> D), the subset of
// Spacetime.Nn.Attention the text encoder needs. Kept here until Nn's Attention is on this branch; the keys are the
// same, so switching to it changes no checkpoint.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Text;

/// <summary>Multi-head self-attention over (B, L, D) tokens with an optional key padding mask.</summary>
internal sealed class SelfAttention : Module
{
    readonly int heads, headDim;
    readonly Linear qkv, proj;

    internal SelfAttention(int dim, int heads, Rng rng)
    {
        (this.heads, headDim) = (heads, dim / heads);
        qkv = Add("qkv", new Linear(dim, 3 * dim, rng));
        proj = Add("proj", new Linear(dim, dim, rng));
    }

    // x: (B, L, D)   mask.KeyValid: (B·L)   ->   (B, L, D)
    internal Tensor Forward(Tensor x, AttentionMask? mask = null)
    {
        int B = x.Size(0), L = x.Size(1), D = x.Size(2);
        var (q, k, v) = qkv.Forward(x).Reshape(B, L, 3 * heads, headDim).Transpose(1, 2).Chunk(3, dim: 1);
        var o = F.Attention(q, k, v, mask);                                   // (B, NH, L, HD)
        return proj.Forward(o.Transpose(1, 2).Reshape(B, L, D));              // (B, L, D)
    }
}
