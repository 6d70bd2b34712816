// Packer: NaViT-style sequence packing (Dehghani et al. 2023, "Patch n' Pack"). Clips of different token counts are
// packed whole into sequences of at most maxLength tokens (first-fit decreasing), so a batch wastes little on padding.
// Each sequence carries per-token segment ids: tokens of the k-th clip in the sequence have id k (0, 1, ...), padding
// has id Packer.Padding (-1). Attention is block-diagonal: token i attends to token j only when ids[i] == ids[j] != -1.
namespace Spacetime.Data;

/// <summary>One clip's tokens inside a packed sequence: tokens [Offset, Offset + Length) have id SegmentId.</summary>
public sealed record PackedSegment(int ClipIndex, int SegmentId, int Offset, int Length);

/// <summary>A packed sequence: per-token segment ids (length maxLength) and the clips it holds.</summary>
public sealed record PackedSequence(int[] SegmentIds, IReadOnlyList<PackedSegment> Segments)
{
    /// <summary>Tokens that belong to clips (the rest is padding).</summary>
    public int UsedTokens => Segments.Sum(s => s.Length);
}

/// <summary>Packs clips into fixed-length sequences without splitting any clip.</summary>
public static class Packer
{
    /// <summary>Segment id of padding tokens.</summary>
    public const int Padding = -1;

    /// <summary>Packs clips with the given token counts (indexed by clip) into sequences of at most
    /// <paramref name="maxLength"/> tokens. Every clip appears exactly once, whole. A clip longer than maxLength
    /// cannot be packed and throws.</summary>
    public static IReadOnlyList<PackedSequence> Pack(IReadOnlyList<int> tokenCounts, int maxLength)
    {
        if (maxLength <= 0)
            throw new ArgumentException($"Packer: maxLength must be positive, got {maxLength}.");
        for (int i = 0; i < tokenCounts.Count; i++)
            if (tokenCounts[i] <= 0 || tokenCounts[i] > maxLength)
                throw new ArgumentException($"Packer: clip {i} has {tokenCounts[i]} tokens, which does not fit a sequence of " +
                                            $"{maxLength}; raise maxLength or bucket it apart.");

        // First-fit decreasing: longest clips first (ties by index, so the result is deterministic).
        int[] order = Enumerable.Range(0, tokenCounts.Count).OrderByDescending(i => tokenCounts[i]).ThenBy(i => i).ToArray();
        var bins = new List<List<int>>();
        var free = new List<int>();
        foreach (int clip in order)
        {
            int bin = free.FindIndex(room => room >= tokenCounts[clip]);
            if (bin < 0)
            {
                bins.Add([]);
                free.Add(maxLength);
                bin = bins.Count - 1;
            }
            bins[bin].Add(clip);
            free[bin] -= tokenCounts[clip];
        }

        var sequences = new List<PackedSequence>(bins.Count);
        foreach (var bin in bins)
        {
            var ids = new int[maxLength];
            Array.Fill(ids, Padding);
            var segments = new List<PackedSegment>(bin.Count);
            int offset = 0;
            foreach (int clip in bin)
            {
                int id = segments.Count;
                ids.AsSpan(offset, tokenCounts[clip]).Fill(id);
                segments.Add(new PackedSegment(clip, id, offset, tokenCounts[clip]));
                offset += tokenCounts[clip];
            }
            sequences.Add(new PackedSequence(ids, segments));
        }
        return sequences;
    }
}
