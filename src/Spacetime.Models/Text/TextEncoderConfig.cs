// TextEncoderConfig: the sizes of the caption encoder (TextEncoder), with presets named after the data they suit.
// Nothing pretrained can be downloaded here, so the encoder is small and trained together with the DiT; the world
// simulator's captions use a few hundred words, which a 4-block, 256-wide encoder covers comfortably.
//   world-xs  width  64, depth 2, 2 heads, 64 tokens,  1024-token vocabulary   (tests, quick experiments)
//   world-s   width 256, depth 4, 4 heads, 96 tokens,  4096-token vocabulary   (the default)
//   world-b   width 512, depth 8, 8 heads, 128 tokens, 8192-token vocabulary   (users' own, more varied captions)
namespace Spacetime.Models.Text;

/// <summary>Sizes of the text encoder. Override presets with <c>with</c>.</summary>
public sealed record TextEncoderConfig
{
    /// <summary>Width D of every text token (the DiT's cross-attention reads tokens of this width).</summary>
    public int Width { get; init; } = 256;
    /// <summary>Number of transformer blocks.</summary>
    public int Depth { get; init; } = 4;
    /// <summary>Attention heads; Width must divide by it.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>MLP width as a multiple of Width (4, as GPT-2 and CLIP).</summary>
    public float MlpRatio { get; init; } = 4f;
    /// <summary>Longest token sequence, &lt;bos&gt; and &lt;eos&gt; included; longer captions are truncated.</summary>
    public int MaxTokens { get; init; } = 96;
    /// <summary>Rows of the token table: the tokenizer is trained to at most this many tokens (4 special + 256 bytes
    /// + merges); a smaller learned vocabulary leaves the last rows unused.</summary>
    public int VocabSize { get; init; } = 4096;
    /// <summary>Length Lnull of the learned null embedding that stands for the empty caption (classifier-free
    /// guidance). One token is enough: the DiT's null class label is one vector too.</summary>
    public int NullTokens { get; init; } = 1;
    /// <summary>LayerNorm epsilon (PyTorch's default).</summary>
    public float NormEps { get; init; } = 1e-5f;
    /// <summary>Adds each token's own embedding, normalised and mapped by a learned D x D matrix `token_skip` (zero at
    /// the start), to the encoder's output: tokens = norm(blocks(e + pos)) + token_skip(LayerNorm(e)). The blocks can
    /// bury a word that the DiT did not need yet (the pixel model's encoder tells "circle" from "square" 14x less than
    /// "red" from "blue", though the words' embeddings are as far apart); the skip keeps every word's identity within
    /// reach of cross-attention. A matrix rather than a per-channel gate: a gate is shared by every word, so its
    /// gradient averages over words whose embeddings point every way (measured: a gate's rms reached 0.0026 in 200
    /// steps), where the matrix's gradient is a sum of per-word outer products. Zero at the start, so an encoder
    /// trained without it gives the same tokens until training moves it.</summary>
    public bool TokenSkip { get; init; }

    /// <summary>Hidden width of the MLP.</summary>
    public int MlpHidden => (int)(Width * MlpRatio);

    /// <summary>The presets by name ("world-xs", "world-s", "world-b").</summary>
    public static IReadOnlyDictionary<string, TextEncoderConfig> Presets { get; } =
        new Dictionary<string, TextEncoderConfig>(StringComparer.OrdinalIgnoreCase)
        {
            ["world-xs"] = new() { Width = 64, Depth = 2, Heads = 2, MaxTokens = 64, VocabSize = 1024 },
            ["world-s"] = new(),
            ["world-b"] = new() { Width = 512, Depth = 8, Heads = 8, MaxTokens = 128, VocabSize = 8192 },
        };

    /// <summary>The preset called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static TextEncoderConfig Preset(string name) => Presets.TryGetValue(name, out var c) ? c
        : throw new ArgumentException($"Unknown text encoder '{name}'. Known: {string.Join(", ", Presets.Keys)}.");

    /// <summary>Throws when the sizes are inconsistent.</summary>
    public void Validate()
    {
        if (Width <= 0 || Heads <= 0 || Width % Heads != 0 || Depth < 0 || MlpHidden <= 0)
            throw new ArgumentException($"TextEncoderConfig: Width {Width} must be positive and divide by Heads " +
                                        $"{Heads}; Depth {Depth} must not be negative; MlpRatio {MlpRatio} positive.");
        if (MaxTokens < 3 || NullTokens < 1 || NullTokens > MaxTokens)
            throw new ArgumentException($"TextEncoderConfig: MaxTokens {MaxTokens} must be at least 3 and NullTokens " +
                                        $"{NullTokens} in [1, MaxTokens].");
        if (VocabSize < BpeTokenizer.FirstMerge)
            throw new ArgumentException($"TextEncoderConfig: VocabSize {VocabSize} must be at least " +
                                        $"{BpeTokenizer.FirstMerge} (4 special tokens + 256 bytes).");
    }
}
