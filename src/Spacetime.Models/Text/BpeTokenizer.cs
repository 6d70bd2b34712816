// BpeTokenizer: byte-level byte-pair encoding (Sennrich et al. 2016, "Neural Machine Translation of Rare Words with
// Subword Units"; byte-level as in GPT-2), learned from the caption corpus by BpeTrainer and saved with the model.
//
// Vocabulary, in id order:
//   0..3     special tokens <pad>, <bos>, <eos>, <empty>. No text ever encodes to them (typing "<pad>" gives bytes).
//   4..259   the 256 bytes, always present: any string encodes, an unknown word simply costs more tokens.
//   260..    one token per merge, in the order learned: merge r joins tokens (A, B) into token 260 + r.
//   then     the added words (WithWords), one token each: words a trained model never saw, taught to it later with an
//            embedding of their own (textual inversion, `train lora --new-word`).
// Encoding a piece (ByteLevel.Split) starts from its UTF-8 bytes and repeatedly applies the lowest-ranked merge that
// occurs, at every place it occurs, until none applies. Decoding concatenates bytes and reads them as UTF-8, so
// Decode(Encode(s)) == s for every well-formed string (lone surrogates become U+FFFD, as in any UTF-8 encoder).
// An added word is matched as a whole piece before any merge: " olive" (after a space, as inside a caption) and "olive"
// (at the start of the text) both become its one token, which decodes to " olive"; so with added words, Decode(Encode(s))
// can gain a space before a text that starts with one. Pieces that are not exactly an added word encode as before, so
// adding a word changes no other text's tokens.
//
// Captions: EncodeCaption wraps the tokens as <bos> ... <eos>. Truncation policy: a caption longer than maxTokens
// keeps <bos>, its first maxTokens - 2 tokens and <eos> (the end of a long caption is dropped, as CLIP does). The
// empty caption (null, "" or only whitespace) is the single token <empty>, which the text encoder maps to its
// learned null embedding (classifier-free guidance).
using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Spacetime.Models.Text;

/// <summary>A byte-level BPE tokenizer: 4 special tokens, 256 byte tokens, then learned merges.</summary>
public sealed class BpeTokenizer
{
    /// <summary>Padding (never attended to).</summary>
    public const int Pad = 0;
    /// <summary>Begin of caption.</summary>
    public const int Bos = 1;
    /// <summary>End of caption.</summary>
    public const int Eos = 2;
    /// <summary>The empty caption, whose embedding is the encoder's learned null embedding.</summary>
    public const int Empty = 3;
    internal const int FirstByte = 4;                // token FirstByte + b is byte b
    internal const int FirstMerge = FirstByte + 256; // token FirstMerge + r is merge r
    internal static readonly string[] SpecialNames = ["<pad>", "<bos>", "<eos>", "<empty>"];
    const string Format = "spacetime-bpe-1";
    const int CacheLimit = 1 << 16;                  // pieces remembered before the cache is cleared

    readonly (int A, int B)[] merges;
    readonly string[] words;                         // the added words; word k is token FirstMerge + merges + k
    readonly Dictionary<string, int> wordIds;        // " word" and "word" -> its token
    readonly Dictionary<long, int> rankOf;           // pair key (A << 32 | B) -> merge rank
    readonly byte[][] tokenBytes;                    // id -> its bytes (empty for special tokens)
    readonly ConcurrentDictionary<string, int[]> cache = new(StringComparer.Ordinal);

    /// <summary>A tokenizer from its merges (token ids, in learned order); see <see cref="BpeTrainer"/>.</summary>
    internal BpeTokenizer(IReadOnlyList<(int A, int B)> merges, IReadOnlyList<string>? words = null)
    {
        this.merges = [.. merges];
        this.words = [.. words ?? []];
        rankOf = new Dictionary<long, int>(merges.Count);
        tokenBytes = new byte[FirstMerge + merges.Count + this.words.Length][];
        for (int i = 0; i < FirstByte; i++) tokenBytes[i] = [];
        for (int b = 0; b < 256; b++) tokenBytes[FirstByte + b] = [(byte)b];
        for (int r = 0; r < merges.Count; r++)
        {
            var (a, b) = merges[r];
            int id = FirstMerge + r;
            if (a < FirstByte || b < FirstByte || a >= id || b >= id || !rankOf.TryAdd(Key(a, b), r))
                throw new ArgumentException($"BpeTokenizer: merge {r} ({a}, {b}) must join two earlier non-special " +
                                            "tokens, and appear once.");
            tokenBytes[id] = [.. tokenBytes[a], .. tokenBytes[b]];
        }
        wordIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < this.words.Length; k++)
        {
            string word = this.words[k];
            int id = FirstMerge + merges.Count + k;
            string? problem = WordProblem(word) ?? (wordIds.ContainsKey(word) ? "it is added twice" : null);
            if (problem is not null) throw new ArgumentException($"BpeTokenizer: added word '{word}': {problem}.");
            tokenBytes[id] = Encoding.UTF8.GetBytes(" " + word);
            wordIds[word] = wordIds[" " + word] = id;
        }
    }

    /// <summary>The added words (<see cref="WithWords"/>), in token order: word k is token
    /// <see cref="FirstWordId"/> + k.</summary>
    public IReadOnlyList<string> Words => words;

    /// <summary>The token of the first added word (the vocabulary before any word was added).</summary>
    public int FirstWordId => FirstMerge + merges.Length;

    /// <summary>This tokenizer with <paramref name="added"/> appended to its words, each one new token. A word must be
    /// one run of letters (what pre-tokenization keeps whole) that this tokenizer does not already read as a single
    /// token, since re-teaching a known word would change every caption that uses it; else ArgumentException.
    /// </summary>
    public BpeTokenizer WithWords(IReadOnlyList<string> added)
    {
        foreach (string word in added)
        {
            if (WordProblem(word) is { } problem) throw new ArgumentException($"the new word '{word}': {problem}");
            if (wordIds.ContainsKey(word)) throw new ArgumentException($"the new word '{word}' is already added");
            if (Encode(" " + word) is [var known])
                throw new ArgumentException($"'{word}' is already a word this model reads as one token " +
                                            $"('{TokenName(known)}'); choose a word it has never seen");
        }
        return new BpeTokenizer(merges, [.. words, .. added]);
    }

    // why a string cannot be an added word (null when it can): it must be exactly one letters-only piece
    static string? WordProblem(string word) =>
        word.Length == 0 || word.Length > ByteLevel.MaxPieceChars ? $"give 1 to {ByteLevel.MaxPieceChars} letters"
        : ByteLevel.Pieces(word) is not [var piece] || piece != word || !word.EnumerateRunes().All(Rune.IsLetter)
            ? "use letters only (one word, no spaces, digits or punctuation)"
            : null;

    /// <summary>Number of tokens: 4 special + 256 bytes + the merges.</summary>
    public int VocabSize => tokenBytes.Length;

    /// <summary>The learned merges, as pairs of token ids, in the order they apply.</summary>
    public IReadOnlyList<(int A, int B)> Merges => merges;

    /// <summary>Learns a tokenizer of at most <paramref name="vocabSize"/> tokens from <paramref name="corpus"/>.
    /// </summary>
    public static BpeTokenizer Train(IEnumerable<string> corpus, int vocabSize) => BpeTrainer.Train(corpus, vocabSize);

    internal static long Key(int a, int b) => (long)a << 32 | (uint)b;

    /// <summary>The tokens of <paramref name="text"/>, without special tokens.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 1);
        var pieces = new List<(int Start, int Length)>();
        ByteLevel.Split(text, pieces);
        var cached = cache.GetAlternateLookup<ReadOnlySpan<char>>();          // looks a piece up without a Substring
        var added = wordIds.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var (start, length) in pieces)
        {
            var piece = text.AsSpan(start, length);
            if (words.Length > 0 && added.TryGetValue(piece, out int word))
            {
                ids.Add(word);
                continue;
            }
            if (!cached.TryGetValue(piece, out var tokens))
            {
                tokens = EncodePiece(piece);
                if (cache.Count >= CacheLimit) cache.Clear();
                cached[piece] = tokens;
            }
            ids.AddRange(tokens);
        }
        return [.. ids];
    }

    // Bytes, then the lowest-ranked applicable merge at every place it occurs, until no merge applies.
    int[] EncodePiece(ReadOnlySpan<char> piece)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(piece)];
        Encoding.UTF8.GetBytes(piece, bytes);
        var symbols = bytes.Select(b => FirstByte + b).ToList();
        while (symbols.Count > 1)
        {
            int best = int.MaxValue;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (rankOf.TryGetValue(Key(symbols[i], symbols[i + 1]), out int r) && r < best) best = r;
            if (best == int.MaxValue) break;
            var (a, b) = merges[best];
            int w = 0;
            for (int i = 0; i < symbols.Count; i++, w++)
            {
                bool join = i + 1 < symbols.Count && symbols[i] == a && symbols[i + 1] == b;
                symbols[w] = join ? FirstMerge + best : symbols[i];
                if (join) i++;
            }
            symbols.RemoveRange(w, symbols.Count - w);
        }
        return [.. symbols];
    }

    /// <summary>The text of <paramref name="ids"/>; special tokens are skipped, bad UTF-8 becomes U+FFFD.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var bytes = new List<byte>(ids.Length * 4);
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)VocabSize)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"BpeTokenizer.Decode: id {id} is outside " +
                                                                       $"the vocabulary [0, {VocabSize}).");
            bytes.AddRange(tokenBytes[id]);
        }
        return Encoding.UTF8.GetString([.. bytes]);
    }

    /// <summary>True for the empty caption (null, "" or whitespace only), which maps to the null embedding.</summary>
    public static bool IsEmptyCaption(string? caption) => string.IsNullOrWhiteSpace(caption);

    /// <summary>
    /// <c>&lt;bos&gt; tokens &lt;eos&gt;</c>, truncated to <paramref name="maxTokens"/> by dropping the caption's
    /// last tokens (the result still ends with &lt;eos&gt;); the empty caption is <c>[&lt;empty&gt;]</c>.
    /// </summary>
    public int[] EncodeCaption(string? caption, int maxTokens)
    {
        if (maxTokens < 3)
            throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens,
                                                  "BpeTokenizer.EncodeCaption: maxTokens must be at least 3.");
        if (IsEmptyCaption(caption)) return [Empty];
        var body = Encode(caption!);
        int keep = Math.Min(body.Length, maxTokens - 2);
        return [Bos, .. body.AsSpan(0, keep), Eos];
    }

    /// <summary>The printable name of token <paramref name="id"/> ("Ġred", "&lt;pad&gt;").</summary>
    public string TokenName(int id) => id < FirstByte ? SpecialNames[id] : ByteLevel.Name(tokenBytes[id]);

    // ---- tokenizer.json: {"format", "vocab": [name of id 0, ...], "merges": [[A, B], ...], "words": [...]} ----
    // Merges are id pairs and words are the added words (absent when none), which define the vocabulary; the names
    // (ByteLevel) are there for people and checked on load.

    /// <summary>The tokenizer as JSON: the token names by id (for reading) and the merges (which define it).</summary>
    public string ToJson()
    {
        var vocab = new JsonArray();
        for (int id = 0; id < VocabSize; id++) vocab.Add(TokenName(id));
        var pairs = new JsonArray();
        foreach (var (a, b) in merges) pairs.Add(new JsonArray(a, b));
        var root = new JsonObject { ["format"] = Format, ["vocab"] = vocab, ["merges"] = pairs };
        if (words.Length > 0) root["words"] = new JsonArray([.. words.Select(w => (JsonNode)w)]);
        return root.ToJsonString(JsonOptions);
    }

    /// <summary>Reads a tokenizer written by <see cref="ToJson"/>; a malformed file throws InvalidDataException.
    /// </summary>
    public static BpeTokenizer FromJson(string json, string source = "tokenizer.json")
    {
        try
        {
            var root = JsonNode.Parse(json) ?? throw Bad(source, "the file is empty");
            if (root["format"]?.GetValue<string>() != Format) throw Bad(source, $"\"format\" is not \"{Format}\"");
            if (root["merges"] is not JsonArray pairs) throw Bad(source, "there is no \"merges\" array");
            var merges = pairs.Select((p, r) => p is JsonArray { Count: 2 } ab
                ? (ab[0]?.GetValue<int>() ?? -1, ab[1]?.GetValue<int>() ?? -1)
                : throw Bad(source, $"merge {r} is not a pair of token ids")).ToList();
            var added = root["words"] is null ? null
                : (root["words"] as JsonArray ?? throw Bad(source, "\"words\" is not an array"))
                  .Select(w => w?.GetValue<string>() ?? throw Bad(source, "\"words\" holds a null")).ToList();
            var tokenizer = new BpeTokenizer(merges, added);
            var names = (root["vocab"] as JsonArray)?.Select(n => n?.GetValue<string>()).ToList();
            var expected = Enumerable.Range(0, tokenizer.VocabSize).Select(tokenizer.TokenName);
            if (names is null || !names.SequenceEqual(expected))
                throw Bad(source, $"\"vocab\" does not list the {tokenizer.VocabSize} token names the merges make");
            return tokenizer;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException
                                       or FormatException)
        {
            throw Bad(source, e.Message.TrimEnd('.'));
        }
    }

    /// <summary>Writes <see cref="ToJson"/> to <paramref name="path"/>.</summary>
    public void Save(string path) => File.WriteAllText(path, ToJson());

    /// <summary>Reads a tokenizer saved by <see cref="Save"/>.</summary>
    public static BpeTokenizer Load(string path) => FromJson(File.ReadAllText(path), path);

    // Indented, with token names such as "Ġred" written as themselves rather than as \u escapes (a file, not HTML).
    static readonly JsonSerializerOptions JsonOptions =
        new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static InvalidDataException Bad(string source, string what) => new($"{source}: {what}.");
}
