// TextEncoder: the caption encoder that conditions the DiT (MISSION item 4). PixArt and Open-Sora use a frozen
// pretrained T5; nothing pretrained can be downloaded here, so this is a small transformer trained together with the
// DiT: its parameters receive gradients through the DiT's cross-attention.
//
//   ids (B, L) -> token_embedding + pos_embed -> pre-LN blocks (self-attention masked to the caption's own tokens,
//   GELU MLP) -> norm -> tokens (B, L, D), with valid flags (B·L) for cross-attention.
//   With TokenSkip, each token's own embedding, normalised and mapped by a D x D linear map (token_skip, zero at the
//   start), is added to those tokens, so that no word's identity depends on the blocks having kept it.
//
// The empty caption does not run the transformer: it IS the learned null embedding null_tokens (Lnull, D), the text
// analogue of DiT's extra null class label, used by classifier-free guidance (captions dropped in training, and the
// unconditional branch at sampling). Differences from CLIP's text tower: no causal mask, no projection head, and the
// output is every token rather than the <eos> token.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Text;

/// <summary>A transformer text encoder with its tokenizer and a learned null embedding for the empty caption.</summary>
public sealed partial class TextEncoder : Module
{
    readonly Embedding tokenEmbedding;                   // (V, D)
    readonly Tensor posEmbed;                            // (MaxTokens, D), learned
    readonly Tensor nullTokens;                          // (Lnull, D), the empty caption
    readonly Linear? tokenSkip;                          // D -> D, zero at the start; only with Config.TokenSkip
    readonly ModuleList<TextEncoderBlock> blocks;
    readonly LayerNorm norm;

    /// <summary>The token skip's state-dict key (with <see cref="TextEncoderConfig.TokenSkip"/>).</summary>
    public const string TokenSkipKey = "token_skip.weight";

    /// <summary>The sizes this encoder was built with.</summary>
    public TextEncoderConfig Config { get; }

    /// <summary>The tokenizer saved with this encoder.</summary>
    public BpeTokenizer Tokenizer { get; }

    /// <summary>An untrained encoder, initialised from <paramref name="rng"/>.</summary>
    public TextEncoder(TextEncoderConfig config, BpeTokenizer tokenizer, Rng rng)
    {
        config.Validate();
        if (tokenizer.VocabSize > config.VocabSize)
            throw new ArgumentException($"TextEncoder: the tokenizer has {tokenizer.VocabSize} tokens but the config " +
                                        $"allows {config.VocabSize} (VocabSize).");
        (Config, Tokenizer) = (config, tokenizer);
        posEmbed = Param("pos_embed", Tensor.Zeros(config.MaxTokens, config.Width));
        nullTokens = Param("null_tokens", Tensor.Zeros(config.NullTokens, config.Width));
        tokenEmbedding = Add("token_embedding", new Embedding(config.VocabSize, config.Width, rng));
        blocks = Add("blocks", new ModuleList<TextEncoderBlock>(
            Enumerable.Range(0, config.Depth).Select(_ => new TextEncoderBlock(config, rng))));
        norm = Add("norm", new LayerNorm(config.Width, eps: config.NormEps));
        if (config.TokenSkip) tokenSkip = Add("token_skip", new Linear(config.Width, config.Width, rng, bias: false));
        InitializeWeights(rng);
    }

    /// <summary>Encodes <paramref name="captions"/> (null, "" or whitespace: the empty caption).</summary>
    public TextEmbedding Encode(params IReadOnlyList<string?> captions) => Forward(Tokenize(captions));

    /// <summary>Tokenizes and pads <paramref name="captions"/> (for data loaders that tokenize ahead).</summary>
    public TokenBatch Tokenize(IReadOnlyList<string?> captions) =>
        TokenBatch.Create(Tokenizer, captions, Config.MaxTokens, Config.NullTokens);

    // batch: B captions padded to L   ->   tokens (B, L, D), valid (B·L)
    /// <summary>Encodes a tokenized batch; rows of the empty caption get the null embedding.</summary>
    public TextEmbedding Forward(TokenBatch batch)
    {
        var (ids, valid, rows) = batch.TextRows();
        var text = rows > 0 ? Transformer(ids, valid, rows, batch.Length) : null;        // (Bt, L, D)
        var tokens = rows == batch.Batch ? text! : WithNullRows(text, batch);           // (B, L, D)
        return new TextEmbedding(tokens, batch.Valid);
    }

    // ids, valid: (Bt·L)   ->   (Bt, L, D)
    Tensor Transformer(int[] ids, bool[] valid, int rows, int L)
    {
        var e = tokenEmbedding.Forward(ids, rows, L);                                     // (Bt, L, D)
        var x = e + posEmbed.Slice(0, 0, L);                                              // (Bt, L, D)
        var mask = new AttentionMask(KeyValid: valid);
        foreach (var block in blocks) x = block.Forward(x, mask);                         // (Bt, L, D)
        var tokens = norm.Forward(x);                                                     // (Bt, L, D)
        return tokenSkip is null ? tokens : tokens + tokenSkip.Forward(F.LayerNorm(e, null, null, Config.NormEps));
    }

    // The encoded rows in order, with null_tokens (padded to L) in place of each empty caption.
    Tensor WithNullRows(Tensor? text, TokenBatch batch)
    {
        int L = batch.Length;
        var nullRow = F.Pad(nullTokens.Unsqueeze(0), [0, 0, 0, L - Config.NullTokens]);  // (1, L, D)
        var parts = new Tensor[batch.Batch];
        for (int b = 0, k = 0; b < batch.Batch; b++)
            parts[b] = batch.IsEmpty[b] ? nullRow : text!.Slice(0, k++, 1);               // (1, L, D)
        return F.Concat(parts, 0);                                                        // (B, L, D)
    }

    // Embeddings N(0, 0.02) as GPT-2 (Embedding's default N(0, 1) would swamp the positions); null_tokens N(0, 1),
    // the scale of the final LayerNorm's output it stands in for; the token skip zero (the tokens of an encoder
    // trained without it, until training moves it). Other Linear layers keep PyTorch's default init.
    void InitializeWeights(Rng rng)
    {
        if (tokenSkip is not null) tokenSkip.Weight.AsSpan().Clear();
        Init.Normal(tokenEmbedding.Weight, rng, 0f, 0.02f);
        Init.Normal(posEmbed, rng, 0f, 0.02f);
        Init.Normal(nullTokens, rng, 0f, 1f);
    }
}
