// BpeTrainer: learns the merges of a BpeTokenizer from a corpus (Sennrich et al. 2016, Algorithm 1, on bytes).
//
//   1) cut every caption into pieces (ByteLevel.Split) and count each distinct piece once;
//   2) write each piece as its UTF-8 byte tokens, and count every adjacent pair, weighted by the piece's count;
//   3) merge the most frequent pair into a new token everywhere it occurs, update the counts of the pieces that
//      contained it, and repeat until the vocabulary has vocabSize tokens or no pair occurs MinPairCount times.
// Deterministic: ties go to the pair with the smaller (A, B) ids, and pieces are processed in ordinal order, so the
// same corpus (in any caption order) gives the same tokenizer. Finding the best pair scans the live pair counts (a
// few thousand on caption corpora), which is simpler than a heap and fast enough: 20k captions and 3.8k merges take
// about 2 s of CPU (TextTokenizerTests measures it).
namespace Spacetime.Models.Text;

/// <summary>Learns byte-level BPE merges from a corpus.</summary>
internal static class BpeTrainer
{
    /// <summary>A pair is merged only when it occurs at least this often (a merge seen once does not generalise).
    /// </summary>
    internal const int MinPairCount = 2;

    /// <summary>A tokenizer of at most <paramref name="vocabSize"/> tokens learned from <paramref name="corpus"/>.
    /// </summary>
    internal static BpeTokenizer Train(IEnumerable<string> corpus, int vocabSize)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        if (vocabSize < BpeTokenizer.FirstMerge)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "BpeTokenizer.Train: the vocabulary " +
                $"needs at least {BpeTokenizer.FirstMerge} tokens (4 special + 256 bytes).");
        var (words, freq) = CountPieces(corpus);                  // words[w]: token ids of piece w; freq[w]: count
        var pairCount = new Dictionary<long, long>();             // pair key -> weighted count
        var where = new Dictionary<long, HashSet<int>>();         // pair key -> pieces that may contain it
        for (int w = 0; w < words.Length; w++) AddPairs(words[w], w, freq[w], pairCount, where);

        var merges = new List<(int A, int B)>();
        while (BpeTokenizer.FirstMerge + merges.Count < vocabSize)
        {
            long best = -1, bestCount = MinPairCount - 1;
            foreach (var (key, count) in pairCount)
                if (count > bestCount || (count == bestCount && key < best)) (best, bestCount) = (key, count);
            if (best < 0) break;                                  // nothing occurs MinPairCount times
            int a = (int)(best >> 32), b = (int)best, merged = BpeTokenizer.FirstMerge + merges.Count;
            merges.Add((a, b));
            foreach (int w in where[best].Order().ToArray())
            {
                if (!Contains(words[w], a, b)) continue;          // stale entry: an earlier merge took the pair
                RemovePairs(words[w], freq[w], pairCount);
                words[w] = Merge(words[w], a, b, merged);
                AddPairs(words[w], w, freq[w], pairCount, where);
            }
            where.Remove(best);
        }
        return new BpeTokenizer(merges);
    }

    // Distinct pieces in ordinal order, as byte tokens, with how often each occurs.
    static (int[][] Words, long[] Freq) CountPieces(IEnumerable<string> corpus)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();          // counts a piece without a Substring
        var spans = new List<(int Start, int Length)>();
        foreach (var text in corpus)
        {
            if (text is null) continue;
            spans.Clear();
            ByteLevel.Split(text, spans);
            foreach (var (start, length) in spans)
            {
                var piece = text.AsSpan(start, length);
                lookup[piece] = lookup.TryGetValue(piece, out long n) ? n + 1 : 1;
            }
        }
        var pieces = counts.Keys.Order(StringComparer.Ordinal).ToArray();
        var words = pieces.Select(p => System.Text.Encoding.UTF8.GetBytes(p).Select(x => BpeTokenizer.FirstByte + x)
                                                                            .ToArray()).ToArray();
        return (words, pieces.Select(p => counts[p]).ToArray());
    }

    static void AddPairs(int[] word, int w, long freq, Dictionary<long, long> pairCount,
                         Dictionary<long, HashSet<int>> where)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            long key = BpeTokenizer.Key(word[i], word[i + 1]);
            pairCount[key] = pairCount.GetValueOrDefault(key) + freq;
            if (!where.TryGetValue(key, out var set)) where[key] = set = [];
            set.Add(w);
        }
    }

    static void RemovePairs(int[] word, long freq, Dictionary<long, long> pairCount)
    {
        for (int i = 0; i + 1 < word.Length; i++)
        {
            long key = BpeTokenizer.Key(word[i], word[i + 1]);
            long left = pairCount[key] - freq;
            if (left == 0) pairCount.Remove(key);
            else pairCount[key] = left;
        }
    }

    static bool Contains(int[] word, int a, int b)
    {
        for (int i = 0; i + 1 < word.Length; i++)
            if (word[i] == a && word[i + 1] == b) return true;
        return false;
    }

    // Every non-overlapping (a, b), left to right, replaced by merged (as BpeTokenizer.EncodePiece does).
    static int[] Merge(int[] word, int a, int b, int merged)
    {
        var result = new List<int>(word.Length);
        for (int i = 0; i < word.Length; i++)
        {
            bool join = i + 1 < word.Length && word[i] == a && word[i + 1] == b;
            result.Add(join ? merged : word[i]);
            if (join) i++;
        }
        return [.. result];
    }
}
