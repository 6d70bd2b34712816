// Forward cost of a DiT, counted as the DiT paper counts it: one multiply-add of a linear layer, a convolution or an
// attention product is one FLOP (so these are GMACs; doubling gives hardware FLOPs), and each LayerNorm counts one
// FLOP per element it normalises. Other elementwise work and softmax are not counted.
// Why the LayerNorm term: with products alone, DiT-L/2 and DiT-XL/2 come to 80.70 and 118.62 GFLOPs, 0.02% under the
// paper's 80.71 and 118.64; adding one FLOP per normalised element (the convention of profilers such as
// torchprofile, which the DiT repository does not name) reproduces all four Table 4 figures: 6.06, 23.01, 80.71,
// 118.64 (tests/Spacetime.Tests/Models/DitConfigTests.cs).
namespace Spacetime.Models.Dit;

/// <summary>Parameter and FLOP accounting for DiT configurations.</summary>
public static class DitFlops
{
    /// <summary>Multiply-adds of one image-DiT forward pass for one latent of size latentSize x latentSize.</summary>
    public static double ImageForward(DitConfig c, int latentSize)
    {
        long n = (long)(latentSize / c.Patch) * (latentSize / c.Patch);         // tokens
        double patchEmbed = n * c.Hidden * (double)(c.InChannels * c.Patch * c.Patch);
        double timestep = TimestepEmbedder.FrequencySize * (double)c.Hidden + (double)c.Hidden * c.Hidden;
        double blocks = c.Depth * (SelfBlock(c, n, n) + Mlp(c, n) + 6.0 * c.Hidden * c.Hidden + 2.0 * n * c.Hidden);
        double final = 2.0 * c.Hidden * c.Hidden + n * c.Hidden * (double)(c.Patch * c.Patch * c.OutChannels)
                       + n * c.Hidden;
        return patchEmbed + timestep + blocks + final;
    }

    /// <summary>Multiply-adds of one video-DiT forward pass: latent (T, H, W) and textTokens caption tokens.</summary>
    public static double VideoForward(DitConfig c, int latentFrames, int latentH, int latentW, int textTokens)
    {
        long t = latentFrames / c.PatchT, s = (long)(latentH / c.Patch) * (latentW / c.Patch), n = t * s;
        double patchEmbed = n * c.Hidden * (double)(c.InChannels * c.PatchT * c.Patch * c.Patch);
        double timestep = TimestepEmbedder.FrequencySize * (double)c.Hidden + (double)c.Hidden * c.Hidden;
        // self-attention: full over n tokens, or spatial (s per frame) then temporal (t per position)
        double self = c.Attention == AttentionLayout.Full
            ? SelfBlock(c, n, n)
            : SelfBlock(c, n, s) + SelfBlock(c, n, t);
        double cross = n * (double)c.Hidden * c.Hidden * 2                          // q and output projections
                       + textTokens * 2.0 * c.TextHidden * c.Hidden                 // k, v from text tokens
                       + 2.0 * n * textTokens * c.Hidden;                           // q k^T and p v
        int norms = c.Attention == AttentionLayout.Full ? 3 : 4;                     // per block
        int mods = c.Attention == AttentionLayout.Full ? 6 : 9;                      // adaLN vectors per block
        double blocks = c.Depth * (self + cross + Mlp(c, n) + mods * (double)c.Hidden * c.Hidden
                                   + norms * (double)n * c.Hidden);
        double final = 2.0 * c.Hidden * c.Hidden + n * c.Hidden * (double)(c.PatchT * c.Patch * c.Patch * c.OutChannels)
                       + n * c.Hidden;
        return patchEmbed + timestep + blocks + final;
    }

    /// <summary>Parameters of the image DiT as the reference counts them (pos_embed included), computed from sizes.</summary>
    public static long ImageParameters(DitConfig c, int latentSize)
    {
        long d = c.Hidden, n = (long)(latentSize / c.Patch) * (latentSize / c.Patch), m = c.MlpHidden;
        long patchOut = (long)c.Patch * c.Patch * c.OutChannels;
        long embed = d * c.InChannels * c.Patch * c.Patch + d                            // x_embedder.proj
                     + TimestepEmbedder.FrequencySize * d + d + d * d + d                 // t_embedder.mlp
                     + (c.NumClasses + (c.ClassDropoutProb > 0 ? 1 : 0)) * d              // y_embedder
                     + n * d;                                                             // pos_embed
        long block = 3 * d * d + 3 * d + d * d + d                                        // attn.qkv, attn.proj
                     + d * m + m + m * d + d                                              // mlp.fc1, mlp.fc2
                     + 6 * d * d + 6 * d;                                                 // adaLN_modulation.1
        long final = d * patchOut + patchOut + 2 * d * d + 2 * d;
        return embed + c.Depth * block + final;
    }

    // qkv + output projection over n tokens, and attention products over groups of `window` tokens.
    static double SelfBlock(DitConfig c, long n, long window) =>
        n * 4.0 * c.Hidden * c.Hidden + 2.0 * n * window * c.Hidden;

    static double Mlp(DitConfig c, long n) => 2.0 * n * c.Hidden * (double)c.MlpHidden;
}
