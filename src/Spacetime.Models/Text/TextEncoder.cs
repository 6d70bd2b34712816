// TextEncoder: the caption encoder that conditions the DiT (MISSION item 4). PixArt and Open-Sora use a frozen
// pretrained T5; nothing pretrained can be downloaded here, so this is a small transformer trained together with the
// DiT: its parameters receive gradients through the DiT's cross-attention.
//
//   ids (B, L) -> token_embedding + pos_embed -> pre-LN blocks (self-attention masked to the caption's own tokens,
//   GELU MLP) -> norm -> tokens (B, L, D), with valid flags (B·L) for cross-attention.
//   With TokenSkip, each token's own embedding, normalised and mapped by a D x D linear map (token_skip, zero at the
//   start), is added to those tokens, so that no word's identity depends on the blocks having kept it.
//   With new words in use (UseWords, textual inversion), their tokens are looked up in NewWords instead of the table.
//   Words with block offsets (NewWords.BlockWeight, or merged: wordBlocks) add a second output, one token tensor per
//   DiT block: the tokens plus, at each such word's positions, its offset for that block. Captions without such a word
//   have none, and every block reads the same tokens, as before.
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
    NewWords? newWords;                                  // words being learned: the tokenizer's last K tokens
    Tensor? wordBlocks;                                  // (Blocks, W, D) merged words' block offsets, not trained

    /// <summary>The key under which a merged model's word block offsets (Blocks, W, D) are saved beside the weights;
    /// they are not a parameter (nothing trains them after the merge).</summary>
    public const string WordBlocksKey = "word_blocks";

    /// <summary>The token skip's state-dict key (with <see cref="TextEncoderConfig.TokenSkip"/>).</summary>
    public const string TokenSkipKey = "token_skip.weight";

    /// <summary>The sizes this encoder was built with.</summary>
    public TextEncoderConfig Config { get; }

    /// <summary>The tokenizer saved with this encoder (with any words added by <see cref="UseWords"/>).</summary>
    public BpeTokenizer Tokenizer { get; private set; }

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

    /// <summary>
    /// Teaches the encoder <paramref name="words"/>: its tokenizer reads each as a new token, whose embedding is that
    /// word's row of <paramref name="words"/> (so a gradient reaches it, and nothing else changes) until
    /// <see cref="MergeWords"/>. A word the tokenizer already reads as one token, a table without room for the new
    /// rows, or rows of another width: ArgumentException naming it.
    /// </summary>
    public void UseWords(NewWords words)
    {
        if (newWords is not null)
            throw new InvalidOperationException("TextEncoder.UseWords: new words are in use already; merge them first");
        if (words.Weight.Size(1) != Config.Width)
            throw new ArgumentException($"the new words' embeddings are {words.Weight.Size(1)} wide but this text " +
                                        $"encoder's tokens are {Config.Width}: they were made for another model");
        if (words.Blocks > 0 && wordBlocks is not null && wordBlocks.Size(0) != words.Blocks)
            throw new ArgumentException($"the new words carry offsets for {words.Blocks} blocks but this model's " +
                                        $"merged words for {wordBlocks.Size(0)}: they were made for another model");
        (Tokenizer, newWords) = (TokenizerWith(words.Words), words);
    }

    /// <summary>The tokenizer with <paramref name="words"/> added, checked against this encoder's table: a word it
    /// already reads as one token, a malformed word, or a table without room for them throws ArgumentException.
    /// </summary>
    public BpeTokenizer TokenizerWith(IReadOnlyList<string> words)
    {
        var tokenizer = Tokenizer.WithWords(words);
        if (tokenizer.VocabSize > Config.VocabSize)
            throw new ArgumentException($"the text encoder's table has {Config.VocabSize} rows and its tokenizer " +
                                        $"uses {Tokenizer.VocabSize}: no room for {words.Count} more words");
        return tokenizer;
    }

    // the first token of the words in use (their rows of the table are taken from NewWords)
    int FirstNew => Tokenizer.VocabSize - newWords!.Words.Count;

    /// <summary>Writes the words in use (<see cref="UseWords"/>) into the table, where <see cref="Save"/> keeps them
    /// with the tokenizer; captions then encode as they did with the words in use.</summary>
    public void MergeWords()
    {
        if (newWords is null) return;
        newWords.Weight.AsSpan().CopyTo(tokenEmbedding.Weight.AsSpan().Slice(FirstNew * Config.Width));
        if (WordBlocks > 0)
            using (Autograd.NoGrad())
            {
                var rows = Enumerable.Range(0, WordBlocks).Select(l => BlockTable(l).Slice(0, 1, Words).Unsqueeze(0));
                wordBlocks = F.Concat([.. rows], 0).CopyUnscoped();                           // (Blocks, W, D)
            }
        newWords = null;
    }

    /// <summary>DiT blocks that the words' offsets are for (0 when no word has any): an encoder with them outputs
    /// per-block tokens for captions that use such a word.</summary>
    public int WordBlocks => wordBlocks?.Size(0) ?? newWords?.Blocks ?? 0;

    int Words => Tokenizer.Words.Count;

    /// <summary>The mean embedding of the tokens of <paramref name="text"/> (D), e.g. to start a new word from a
    /// word that describes it roughly; null: the mean over every token of the tokenizer but the special ones. A text
    /// without tokens throws ArgumentException.</summary>
    public Tensor EmbeddingOf(string? text)
    {
        var ids = text is null ? Enumerable.Range(BpeTokenizer.FirstByte, Tokenizer.VocabSize - BpeTokenizer.FirstByte)
                                           .ToArray()
                               : Tokenizer.Encode(text);
        if (ids.Length == 0) throw new ArgumentException($"'{text}' has no tokens");
        var rows = new float[Config.Width];
        var table = tokenEmbedding.Weight.AsSpan();
        foreach (int id in ids)
            for (int d = 0; d < rows.Length; d++) rows[d] += table[id * Config.Width + d] / ids.Length;
        return Tensor.From(rows, Config.Width);                                           // (D)
    }

    /// <summary>Encodes <paramref name="captions"/> (null, "" or whitespace: the empty caption).</summary>
    public TextEmbedding Encode(params IReadOnlyList<string?> captions) => Forward(Tokenize(captions));

    /// <summary>Tokenizes and pads <paramref name="captions"/> (for data loaders that tokenize ahead).</summary>
    public TokenBatch Tokenize(IReadOnlyList<string?> captions) =>
        TokenBatch.Create(Tokenizer, captions, Config.MaxTokens, Config.NullTokens);

    // batch: B captions padded to L   ->   tokens (B, L, D), valid (B·L), per-block tokens (B, L, D) or null
    /// <summary>Encodes a tokenized batch; rows of the empty caption get the null embedding.</summary>
    public TextEmbedding Forward(TokenBatch batch)
    {
        var (ids, valid, rows) = batch.TextRows();
        var text = rows > 0 ? Transformer(ids, valid, rows, batch.Length) : null;        // (Bt, L, D)
        var tokens = rows == batch.Batch ? text! : WithNullRows(text, batch);           // (B, L, D)
        var perBlock = text is null ? null : BlockTokens(text, ids, rows, batch.Length)
            ?.Select(t => rows == batch.Batch ? t : WithNullRows(t, batch)).ToArray();  // Blocks x (B, L, D)
        return new TextEmbedding(tokens, batch.Valid, perBlock);
    }

    // Blocks x (Bt, L, D): the tokens plus each word's offset for that block at its positions; null when no caption
    // of the batch uses a word with offsets
    Tensor[]? BlockTokens(Tensor tokens, int[] ids, int rows, int L)
    {
        int blocks = WordBlocks, first = Tokenizer.FirstWordId;
        if (blocks == 0 || !ids.Any(id => id >= first)) return null;
        var rowOf = ids.Select(id => id >= first ? 1 + id - first : 0).ToArray();          // 0: no offset
        return Enumerable.Range(0, blocks)
                         .Select(l => tokens + F.Embedding(BlockTable(l), rowOf, rows, L)).ToArray();
    }

    // (1 + W, D): row 0 zero (every token that is not a word), then block l's offset of each word: merged words' from
    // wordBlocks, the words in use from NewWords, zero for a word without offsets
    Tensor BlockTable(int l)
    {
        int D = Config.Width, merged = wordBlocks?.Size(1) ?? 0, live = newWords is null ? 0 : newWords.Words.Count;
        int between = Words - merged - live;                   // words merged before any word had offsets
        var parts = new List<Tensor> { Tensor.Zeros(1, D) };
        if (merged > 0) parts.Add(wordBlocks!.Slice(0, l, 1).Reshape(merged, D));
        if (between > 0) parts.Add(Tensor.Zeros(between, D));
        if (live > 0)
            parts.Add(newWords!.BlockWeight is { } b ? b.Slice(0, l, 1).Reshape(live, D) : Tensor.Zeros(live, D));
        return F.Concat([.. parts], 0);
    }

    // ids, valid: (Bt·L)   ->   (Bt, L, D)
    Tensor Transformer(int[] ids, bool[] valid, int rows, int L)
    {
        var e = F.Embedding(Table(), ids, rows, L);                                       // (Bt, L, D)
        var x = e + posEmbed.Slice(0, 0, L);                                              // (Bt, L, D)
        var mask = new AttentionMask(KeyValid: valid);
        foreach (var block in blocks) x = block.Forward(x, mask);                         // (Bt, L, D)
        var tokens = norm.Forward(x);                                                     // (Bt, L, D)
        return tokenSkip is null ? tokens : tokens + tokenSkip.Forward(F.LayerNorm(e, null, null, Config.NormEps));
    }

    // (V, D): the token table, with the new words' rows taken from NewWords while they are being learned
    Tensor Table()
    {
        if (newWords is null) return tokenEmbedding.Weight;
        var table = tokenEmbedding.Weight;
        int first = FirstNew, after = Tokenizer.VocabSize;                               // the words' rows
        Tensor[] parts = after == Config.VocabSize ? [table.Slice(0, 0, first), newWords.Weight]
            : [table.Slice(0, 0, first), newWords.Weight, table.Slice(0, after, Config.VocabSize - after)];
        return F.Concat(parts, 0);                                                        // (V, D)
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
