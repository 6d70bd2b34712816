// TokenBatch: B captions as token ids padded to one length L (the longest caption, or Lnull for an empty one), with
// the valid mask the encoder's self-attention and the DiT's cross-attention use. Row b holds <bos> tokens <eos> then
// <pad>s, or, for the empty caption, <empty> then <pad>s, of which the first Lnull positions are valid (they will
// hold the null embedding).
namespace Spacetime.Models.Text;

/// <summary>Token ids (B·L, row-major), valid flags (B·L) and which rows are the empty caption (B).</summary>
public sealed record TokenBatch(int[] Ids, bool[] Valid, bool[] IsEmpty, int Batch, int Length)
{
    /// <summary>Tokenizes <paramref name="captions"/> (truncated to <paramref name="maxTokens"/>) and pads them.
    /// </summary>
    public static TokenBatch Create(BpeTokenizer tokenizer, IReadOnlyList<string?> captions, int maxTokens,
                                    int nullTokens)
    {
        ArgumentNullException.ThrowIfNull(captions);
        if (captions.Count == 0) throw new ArgumentException("TokenBatch: no captions to encode.", nameof(captions));
        var rows = captions.Select(c => tokenizer.EncodeCaption(c, maxTokens)).ToArray();
        var isEmpty = captions.Select(BpeTokenizer.IsEmptyCaption).ToArray();
        int B = rows.Length, L = rows.Select((r, b) => isEmpty[b] ? nullTokens : r.Length).Max();
        var ids = new int[B * L];                                 // zero-filled: BpeTokenizer.Pad
        var valid = new bool[B * L];
        for (int b = 0; b < B; b++)
        {
            rows[b].CopyTo(ids, b * L);
            int n = isEmpty[b] ? nullTokens : rows[b].Length;
            Array.Fill(valid, true, b * L, n);
        }
        return new TokenBatch(ids, valid, isEmpty, B, L);
    }

    /// <summary>The rows of the captions that are not empty: ids and valid flags, (Bt·L) each.</summary>
    internal (int[] Ids, bool[] Valid, int Rows) TextRows()
    {
        var rows = Enumerable.Range(0, Batch).Where(b => !IsEmpty[b]).ToArray();
        var ids = rows.SelectMany(b => Ids.AsSpan(b * Length, Length).ToArray()).ToArray();
        var valid = rows.SelectMany(b => Valid.AsSpan(b * Length, Length).ToArray()).ToArray();
        return (ids, valid, rows.Length);
    }
}
