// Multi-head attention, self or cross (Vaswani et al. 2017), with timm's and PixArt's keys:
//   self:  qkv (D -> 3D, one fused projection), proj          cross: q (D -> D), kv (context dim -> 2D), proj
//   optional q_norm / k_norm: RMSNorm over the head dim (qk-norm, as STDiT3 and SD3), applied before the product.
// The projections are laid out as (3 | 2, NH, HD) along their output dim, as timm's reshape(B, N, 3, NH, HD), so
// PyTorch checkpoints load. F.MultiHeadAttention reads the heads straight out of the projections and writes their
// gradients straight back (never an (N, N) matrix); with qk-norm, the normalised (B, NH, tokens, HD) views go to
// F.Attention. The mask carries key padding and segment ids (block-diagonal attention over packed sequences).
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>Multi-head self- or cross-attention over token sequences.</summary>
public sealed class Attention : Module
{
    readonly int heads, headDim;
    readonly Linear? qkv, q, kv;
    readonly RmsNorm? qNorm, kNorm;
    readonly Linear proj;

    /// <summary>True for cross-attention (queries from x, keys and values from a context).</summary>
    public bool IsCross { get; }

    /// <summary>Attention over <paramref name="dim"/>-wide tokens in <paramref name="heads"/> heads: self-attention,
    /// or cross-attention to a context of width <paramref name="contextDim"/> when that is given.</summary>
    public Attention(int dim, int heads, Rng rng, bool qkvBias = true, bool qkNorm = false, int? contextDim = null)
    {
        if (heads <= 0 || dim % heads != 0 || contextDim <= 0)
            throw new ArgumentException($"Attention: dim {dim} is not divisible into {heads} heads, or context " +
                                        $"width {contextDim} is not positive.");
        (this.heads, headDim, IsCross) = (heads, dim / heads, contextDim is not null);
        if (contextDim is int dc)
        {
            q = Add("q", new Linear(dim, dim, rng, qkvBias));
            kv = Add("kv", new Linear(dc, 2 * dim, rng, qkvBias));
        }
        else qkv = Add("qkv", new Linear(dim, 3 * dim, rng, qkvBias));
        if (qkNorm)
        {
            qNorm = Add("q_norm", new RmsNorm(headDim));
            kNorm = Add("k_norm", new RmsNorm(headDim));
        }
        proj = Add("proj", new Linear(dim, dim, rng));
    }

    // x: (B, N, D)   context: (B, L, Dc) for cross-attention, null for self   ->   (B, N, D)
    /// <summary>Attends from the tokens of <paramref name="x"/> to themselves, or to
    /// <paramref name="context"/>.</summary>
    public Tensor Forward(Tensor x, Tensor? context = null, AttentionMask? mask = null)
    {
        if (x.Rank != 3 || (context is not null) != IsCross || context is { Rank: not 3 })
            throw new ArgumentException($"Attention: x {Shape(x)}" +
                (context is null ? "" : $", context {Shape(context)}") + "; expected x (B, N, D)" +
                (IsCross ? " and a context (B, L, Dc)." : " and no context (self-attention)."));
        int B = x.Size(0), N = x.Size(1), D = x.Size(2);
        if (qNorm is null)                                                             // heads split in the op
            return proj.Forward(qkv is not null
                ? F.MultiHeadAttention(qkv.Forward(x), null, heads, mask)                // (B, N, D)
                : F.MultiHeadAttention(q!.Forward(x), kv!.Forward(context!), heads, mask));
        Tensor qh, kh, vh;
        if (qkv is not null)
            (qh, kh, vh) = Heads(qkv.Forward(x), 3);                                   // 3 x (B, NH, N, HD)
        else
        {
            qh = Heads(q!.Forward(x), 1)[0];                                           // (B, NH, N, HD)
            (kh, vh) = Heads(kv!.Forward(context!), 2);                                // 2 x (B, NH, L, HD)
        }
        if (qNorm is not null) (qh, kh) = (qNorm.Forward(qh), kNorm!.Forward(kh));
        var o = F.Attention(qh, kh, vh, mask);                                         // (B, NH, N, HD)
        return proj.Forward(o.Transpose(1, 2).Reshape(B, N, D));                       // (B, N, D)
    }

    // (B, T, parts·NH·HD) -> parts views of (B, NH, T, HD), in timm's (parts, NH, HD) order.
    Tensor[] Heads(Tensor y, int parts) =>
        y.Reshape(y.Size(0), y.Size(1), parts * heads, headDim).Transpose(1, 2).Chunk(parts, dim: 1);

    static string Shape(Tensor t) => "(" + string.Join(", ", t.Shape.ToArray()) + ")";
}
