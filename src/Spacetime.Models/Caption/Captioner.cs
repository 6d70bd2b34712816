// Captioner: video latents -> a dense caption in the training style (MISSION item 5; Sora re-captions its training
// videos with a captioner, as DALL-E 3 did). An encoder-decoder transformer in the manner of the original Transformer
// (Vaswani et al. 2017) and of video captioners that read frozen visual features:
//
//   latents (B, C, T', h, w) -> patches of Patch x Patch latent pixels -> Linear -> + learned (t, y, x) positions
//     -> EncoderDepth pre-LN blocks (bidirectional self-attention, MLP) -> LayerNorm = memory (B, N, D)
//   ids (B, L): BOS, caption tokens -> token embedding + learned positions
//     -> DecoderDepth pre-LN blocks: causal self-attention, cross-attention to the memory, MLP
//     -> LayerNorm -> logits (B, L, V) with the token table's transpose (tied weights, as GPT-2)
//
// The latents are the frozen VAE's (the same that the DiT generates in), so a video is captioned by encoding it once;
// the positions are factorised into time, row and column tables, so every bucket's size (1:1, 16:9, 9:16, 9 or 17
// frames) is read by the same weights. Causal self-attention in training is built from a score matrix (L x L, with
// L <= MaxTokens it is small); decoding is greedy, one token at a time, with each layer's keys and values cached, so a
// caption of L tokens costs L single-token steps (DecodeState).
using Spacetime.Engine;
using Spacetime.Models.Dit;
using Spacetime.Models.Text;
using Spacetime.Nn;

namespace Spacetime.Models.Caption;

/// <summary>The video captioner (see the file header).</summary>
public sealed partial class Captioner : Module
{
    readonly Linear patchEmbed;
    readonly Tensor posT, posY, posX;                      // (MaxLatentFrames, D), (MaxGridSide, D) x 2
    readonly ModuleList<TextEncoderBlock> encoder;           // the text encoder's pre-LN block, on video tokens
    readonly LayerNorm encoderNorm;
    readonly Embedding tokenEmbedding;                     // (V, D), also the output projection
    readonly Tensor posTokens;                             // (MaxTokens, D)
    readonly ModuleList<DecoderBlock> decoder;
    readonly LayerNorm decoderNorm;

    /// <summary>Its sizes.</summary>
    public CaptionerConfig Config { get; }

    /// <summary>The tokenizer of its captions.</summary>
    public BpeTokenizer Tokenizer { get; }

    /// <summary>An untrained captioner with weights drawn from <paramref name="seed"/>.</summary>
    public Captioner(CaptionerConfig config, BpeTokenizer tokenizer, ulong seed = 0)
    {
        config.Validate();
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ArgumentException($"Captioner: the tokenizer has {tokenizer.VocabSize} tokens but the config " +
                                        $"allows {config.VocabSize} (VocabSize)");
        (Config, Tokenizer) = (config, tokenizer);
        var rng = new Rng(seed);
        int D = config.Width;
        patchEmbed = Add("patch_embed", new Linear(config.LatentChannels * config.Patch * config.Patch, D, rng));
        posT = Param("pos_t", Tensor.Zeros(config.MaxLatentFrames, D));
        posY = Param("pos_y", Tensor.Zeros(config.MaxGridSide, D));
        posX = Param("pos_x", Tensor.Zeros(config.MaxGridSide, D));
        encoder = Add("encoder", new ModuleList<TextEncoderBlock>(Enumerable.Range(0, config.EncoderDepth)
            .Select(_ => new TextEncoderBlock(D, config.Heads, config.MlpHidden, config.NormEps, rng))));
        encoderNorm = Add("encoder_norm", new LayerNorm(D, eps: config.NormEps));
        tokenEmbedding = Add("token_embedding", new Embedding(config.VocabSize, D, rng));
        posTokens = Param("pos_tokens", Tensor.Zeros(config.MaxTokens, D));
        decoder = Add("decoder", new ModuleList<DecoderBlock>(
            Enumerable.Range(0, config.DecoderDepth).Select(_ => new DecoderBlock(config, rng))));
        decoderNorm = Add("decoder_norm", new LayerNorm(D, eps: config.NormEps));
        // GPT-2's N(0, 0.02) for the tables (Embedding's N(0, 1) would swamp the positions and the tied logits)
        foreach (var table in new[] { tokenEmbedding.Weight, posT, posY, posX, posTokens }) Init.Normal(table, rng, 0f, 0.02f);
    }

    // latents: (B, C, T', h, w) -> memory (B, N, D), N = T' · h/p · w/p
    /// <summary>The encoded video tokens of a batch of latents of one size.</summary>
    public Tensor Encode(Tensor latents)
    {
        int p = Config.Patch;
        if (latents.Rank != 5 || latents.Size(1) != Config.LatentChannels)
            throw new ArgumentException($"Captioner: latents ({string.Join(", ", latents.Shape.ToArray())}); " +
                                        $"expected (B, {Config.LatentChannels}, T', h, w)");
        int D = Config.Width, T = latents.Size(2), gh = latents.Size(3) / p, gw = latents.Size(4) / p;
        if (T > Config.MaxLatentFrames || gh > Config.MaxGridSide || gw > Config.MaxGridSide || latents.Size(3) % p != 0
            || latents.Size(4) % p != 0)
            throw new ArgumentException($"Captioner: latents of {T} frames and {latents.Size(3)}x{latents.Size(4)} " +
                                        $"cells do not fit it (at most {Config.MaxLatentFrames} frames and " +
                                        $"{Config.MaxGridSide * p} cells a side, a multiple of {p})");
        var x = patchEmbed.Forward(Patchify.Video(latents, 1, p));                       // (B, N, D)
        var pos = posT.Slice(0, 0, T).Reshape(T, 1, 1, D) + posY.Slice(0, 0, gh).Reshape(1, gh, 1, D)
                  + posX.Slice(0, 0, gw).Reshape(1, 1, gw, D);                           // (T, gh, gw, D)
        x = x + pos.Reshape(1, T * gh * gw, D);                                // (B, N, D)
        foreach (var block in encoder) x = block.Forward(x);                              // (B, N, D)
        return encoderNorm.Forward(x);                                                    // (B, N, D)
    }

    // memory (B, N, D), ids (B·L) -> logits (B, L, V)
    /// <summary>Next-token logits at every position of <paramref name="ids"/> (B rows of L tokens, BOS first),
    /// each position seeing only itself and earlier ones.</summary>
    public Tensor Logits(Tensor memory, int[] ids, int L)
    {
        int B = memory.Size(0);
        if (ids.Length != B * L || L > Config.MaxTokens)
            throw new ArgumentException($"Captioner: {ids.Length} ids for {B} rows of {L} (at most {Config.MaxTokens})");
        var x = tokenEmbedding.Forward(ids, B, L) + posTokens.Slice(0, 0, L);             // (B, L, D)
        var causal = CausalBias(L);                                                        // (L, L)
        foreach (var block in decoder) x = block.Forward(x, memory, causal);              // (B, L, D)
        return F.MatMul(decoderNorm.Forward(x), tokenEmbedding.Weight, transB: true);      // (B, L, V)
    }

    // (L, L): 0 where key l <= query n, -inf above the diagonal
    static Tensor CausalBias(int L)
    {
        var bias = new float[L * L];
        for (int n = 0; n < L; n++)
            for (int l = n + 1; l < L; l++) bias[n * L + l] = float.NegativeInfinity;
        return Tensor.From(bias, L, L);
    }

    /// <summary>
    /// Greedy captions of a batch of latents of one size (B, C, T', h, w): from BOS, the most likely next token each
    /// step, until every row has said EOS or MaxTokens is reached. Runs without gradients.
    /// </summary>
    public string[] Caption(Tensor latents) =>
        CaptionTokens(latents).Select(t => Tokenizer.Decode(t).Trim()).ToArray();

    /// <summary>The token ids of <see cref="Caption"/>'s captions (without BOS and EOS).</summary>
    public int[][] CaptionTokens(Tensor latents)
    {
        using var noGrad = Autograd.NoGrad();
        var memory = Encode(latents);                                                      // (B, N, D)
        int B = memory.Size(0);
        var state = new DecodeState(decoder.Select(b => b.CrossKeys(memory)).ToArray());
        var tokens = Enumerable.Range(0, B).Select(_ => new List<int>()).ToArray();
        var done = new bool[B];
        var next = Enumerable.Repeat(BpeTokenizer.Bos, B).ToArray();
        for (int position = 0; position < Config.MaxTokens && !done.All(d => d); position++)
        {
            var x = tokenEmbedding.Forward(next, B, 1) + posTokens.Slice(0, position, 1);    // (B, 1, D)
            for (int i = 0; i < decoder.Count; i++) x = decoder[i].Step(x, state, i);         // (B, 1, D)
            var logits = F.MatMul(decoderNorm.Forward(x), tokenEmbedding.Weight, transB: true).ToArray(); // (B, 1, Vt)
            for (int b = 0; b < B; b++)
            {
                next[b] = Greedy(logits.AsSpan(b * Config.VocabSize, Config.VocabSize));
                if (done[b]) continue;
                if (next[b] == BpeTokenizer.Eos) done[b] = true;
                else tokens[b].Add(next[b]);
            }
        }
        return tokens.Select(t => t.ToArray()).ToArray();
    }

    /// <summary>The most likely token a caption can continue with: one of the tokenizer's, and neither padding, BOS
    /// nor the empty-caption token (never training targets).</summary>
    public int Greedy(ReadOnlySpan<float> logits)
    {
        int best = BpeTokenizer.Eos;
        for (int k = BpeTokenizer.Empty + 1; k < Tokenizer.VocabSize; k++) if (logits[k] > logits[best]) best = k;
        return best;
    }

    /// <summary>Per decoder layer: the cross-attention keys and values of the memory (fixed) and the self-attention
    /// keys and values of the tokens decoded so far (grown one position per step).</summary>
    internal sealed class DecodeState(Tensor[][] cross)
    {
        internal readonly Tensor[][] Cross = cross;                                     // per layer: k, v (B, NH, N, HD)
        internal readonly Tensor?[] Keys = new Tensor?[cross.Length], Values = new Tensor?[cross.Length];
    }

    /// <summary>Pre-LN block of the caption decoder: causal self-attention, cross-attention to the video, MLP.
    /// The projections are its own (not Nn.Attention) so that decoding can cache keys and values.</summary>
    internal sealed class DecoderBlock : Module
    {
        readonly int heads, headDim;
        readonly LayerNorm norm1, norm2, norm3;
        readonly Linear qkv, selfProj, q, kv, crossProj;
        readonly Mlp mlp;

        internal DecoderBlock(CaptionerConfig c, Rng rng)
        {
            (heads, headDim) = (c.Heads, c.Width / c.Heads);
            norm1 = Add("norm1", new LayerNorm(c.Width, eps: c.NormEps));
            qkv = Add("self_qkv", new Linear(c.Width, 3 * c.Width, rng));
            selfProj = Add("self_proj", new Linear(c.Width, c.Width, rng));
            norm2 = Add("norm2", new LayerNorm(c.Width, eps: c.NormEps));
            q = Add("cross_q", new Linear(c.Width, c.Width, rng));
            kv = Add("cross_kv", new Linear(c.Width, 2 * c.Width, rng));
            crossProj = Add("cross_proj", new Linear(c.Width, c.Width, rng));
            norm3 = Add("norm3", new LayerNorm(c.Width, eps: c.NormEps));
            mlp = Add("mlp", new Mlp(c.Width, c.MlpHidden, Activation.GeluTanh, rng));
        }

        // x: (B, L, D), memory: (B, N, D), causal: (L, L) -> (B, L, D)
        internal Tensor Forward(Tensor x, Tensor memory, Tensor causal)
        {
            int B = x.Size(0), L = x.Size(1);
            var (qh, kh, vh) = Split(qkv.Forward(norm1.Forward(x)), 3);                      // 3 x (B, NH, L, HD)
            var scores = F.MatMul(qh, kh, transB: true) * (1f / MathF.Sqrt(headDim)) + causal; // (B, NH, L, L)
            var o = F.MatMul(F.Softmax(scores, -1), vh);                                      // (B, NH, L, HD)
            x = x + selfProj.Forward(Merge(o, B, L));                                         // (B, L, D)
            x = x + Cross(norm2.Forward(x), CrossKeys(memory));                               // (B, L, D)
            return x + mlp.Forward(norm3.Forward(x));                                         // (B, L, D)
        }

        // x: (B, 1, D), the token at the next position -> (B, 1, D); appends its keys and values to the cache
        internal Tensor Step(Tensor x, DecodeState state, int layer)
        {
            int B = x.Size(0);
            var (qh, kh, vh) = Split(qkv.Forward(norm1.Forward(x)), 3);                      // 3 x (B, NH, 1, HD)
            var keys = state.Keys[layer] is { } k0 ? F.Concat([k0, kh.Contiguous()], 2) : kh.Contiguous(); // (B, NH, t, HD)
            var values = state.Values[layer] is { } v0 ? F.Concat([v0, vh.Contiguous()], 2) : vh.Contiguous();
            (state.Keys[layer], state.Values[layer]) = (keys, values);
            var o = F.Attention(qh, keys, values);                                            // (B, NH, 1, HD)
            x = x + selfProj.Forward(Merge(o, B, 1));                                         // (B, 1, D)
            x = x + Cross(norm2.Forward(x), state.Cross[layer]);                              // (B, 1, D)
            return x + mlp.Forward(norm3.Forward(x));                                         // (B, 1, D)
        }

        // memory (B, N, D) -> its keys and values, 2 x (B, NH, N, HD)
        internal Tensor[] CrossKeys(Tensor memory) => Heads(kv.Forward(memory), 2);

        // x (B, L, D) attends to the memory's keys and values -> (B, L, D)
        Tensor Cross(Tensor x, Tensor[] memoryKeys)
        {
            int B = x.Size(0), L = x.Size(1);
            var qh = Heads(q.Forward(x), 1)[0];                                               // (B, NH, L, HD)
            return crossProj.Forward(Merge(F.Attention(qh, memoryKeys[0], memoryKeys[1]), B, L));
        }

        (Tensor, Tensor, Tensor) Split(Tensor y, int parts)
        {
            var h = Heads(y, parts);
            return (h[0], h[1], h[2]);
        }

        // (B, L, parts·NH·HD) -> parts views of (B, NH, L, HD)
        Tensor[] Heads(Tensor y, int parts) =>
            y.Reshape(y.Size(0), y.Size(1), parts * heads, headDim).Transpose(1, 2).Chunk(parts, dim: 1);

        // (B, NH, L, HD) -> (B, L, D)
        Tensor Merge(Tensor o, int B, int L) => o.Transpose(1, 2).Reshape(B, L, heads * headDim);
    }
}
