// NewWords: words a trained text encoder has never seen, each with an embedding of its own that training learns while
// every other weight stays frozen (textual inversion: Gal et al. 2022, "An Image is Worth One Word"). The tokenizer
// reads each word as one new token (BpeTokenizer.WithWords) and the encoder looks that token up here instead of in its
// table (TextEncoder.UseWords), so a caption without the word encodes exactly as before. Merging
// (TextEncoder.MergeWords) writes the rows into the encoder's table, where a saved model keeps them.
// With block offsets (P+: Voynov et al. 2023, "P+: Extended Textual Conditioning in Text-to-Image Generation"), each
// word also gets, for each DiT block, an offset added to its encoded token where that block's cross-attention reads
// it: one embedding must serve every block, and measured on the shipped model it cannot make a colour the DiT never
// drew (olive came out orange), where per-block offsets reach each block's keys and values for the word alone.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Text;

/// <summary>New words and their learned token embeddings, weight (K, D): row k is word k's.</summary>
public sealed class NewWords : Module
{
    /// <summary>The words, in token order.</summary>
    public IReadOnlyList<string> Words { get; }

    /// <summary>(K, D): one embedding per word, of the text encoder's width.</summary>
    public Tensor Weight { get; }

    /// <summary>(Blocks, K, D): each word's offset to its encoded token in each DiT block, or null.</summary>
    public Tensor? BlockWeight { get; }

    /// <summary>DiT blocks the offsets are for (0 without them).</summary>
    public int Blocks => BlockWeight?.Size(0) ?? 0;

    /// <summary>Words with the embeddings <paramref name="weight"/> (K, D), K = the number of words, and optionally
    /// per-block offsets <paramref name="blockWeight"/> (Blocks, K, D).</summary>
    public NewWords(IReadOnlyList<string> words, Tensor weight, Tensor? blockWeight = null)
    {
        if (words.Count == 0 || weight.Rank != 2 || weight.Size(0) != words.Count)
            throw new ArgumentException($"NewWords: {words.Count} words need a ({words.Count}, D) weight, not " +
                                        $"({string.Join(", ", weight.Shape.ToArray())})");
        if (blockWeight is not null && (blockWeight.Rank != 3 || blockWeight.Size(0) < 1
                                        || blockWeight.Size(1) != words.Count || blockWeight.Size(2) != weight.Size(1)))
            throw new ArgumentException($"NewWords: block offsets must be (Blocks, {words.Count}, {weight.Size(1)}), " +
                                        $"not ({string.Join(", ", blockWeight.Shape.ToArray())})");
        Words = [.. words];
        Weight = Param("weight", weight);
        if (blockWeight is not null) BlockWeight = Param("block_weight", blockWeight);
    }
}
