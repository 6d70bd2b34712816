// TextEmbedding: what the text encoder hands to the DiT: tokens (B, L, D) and which of them are real (B·L). Padding
// positions hold unspecified values; cross-attention must mask them with Mask. PerBlock, when not null, gives each DiT
// block its own tokens (a caption using a new word with per-block offsets, NewWords); else every block reads Tokens.
using Spacetime.Engine;

namespace Spacetime.Models.Text;

/// <summary>Encoded captions: tokens (B, L, D) and their valid flags (B·L), for cross-attention; optionally one
/// token tensor (B, L, D) per DiT block.</summary>
public sealed record TextEmbedding(Tensor Tokens, bool[] Valid, IReadOnlyList<Tensor>? PerBlock = null)
{
    /// <summary>The key padding mask for cross-attention to these tokens (keys are the L text tokens).</summary>
    public AttentionMask Mask => new(KeyValid: Valid);

    /// <summary>Captions <paramref name="start"/> .. start + count - 1 alone (e.g. the conditional half of a
    /// [conditional; unconditional] pair).</summary>
    public TextEmbedding Rows(int start, int count)
    {
        int L = Tokens.Size(1);
        return new TextEmbedding(Tokens.Slice(0, start, count), Valid[(start * L)..((start + count) * L)],
                                 PerBlock?.Select(p => p.Slice(0, start, count)).ToList());   // (count, L, D)
    }

    /// <summary>Mean of the valid tokens of each caption, (B, D): a pooled caption vector (e.g. for a probe, or for
    /// adding to the DiT's timestep embedding).</summary>
    public Tensor Pool()
    {
        int B = Tokens.Size(0), L = Tokens.Size(1);
        var weights = new float[B * L];
        for (int b = 0; b < B; b++)
        {
            int n = Valid.AsSpan(b * L, L).Count(true);
            for (int i = 0; i < L; i++) weights[b * L + i] = Valid[b * L + i] ? 1f / n : 0f;
        }
        return (Tokens * Tensor.From(weights, B, L, 1)).Sum([1]);      // (B, D)
    }
}
