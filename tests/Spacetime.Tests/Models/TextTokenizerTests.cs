// BpeTokenizer: learning merges, round trips on any text, byte fallback, determinism, tokenizer.json, captions.
using System.Diagnostics;
using Spacetime.Models.Text;
using Xunit.Abstractions;

namespace Spacetime.Tests.Models;

public class TextTokenizerTests(ITestOutputHelper output)
{
    static readonly Lazy<BpeTokenizer> Trained = new(() => BpeTokenizer.Train(TextCorpus.Small(), vocabSize: 512));

    static readonly string[] Unusual =
    [
        "", " ", "   \n\t  ", "a", "zyzzyva quixotic xylophones", "café naïve Ünïcödé façade", "日本語のテキスト",
        "Привет, мир!", "emoji 🚀🌍 and 👍🏽 skin tone, 👨‍👩‍👧 family", "  leading and trailing  ",
        "tabs\tand\nnewlines\r\n",
        "<pad><bos><eos><empty>", "numbers 12345 and 3.14159", "a\u0301 combining", "mixed RED Ball moves LEFT!!!",
        new string('x', 1000), "\u0000\u0001\u007f control", "a red ball moves left" + new string(' ', 200) + "end",
    ];

    [Fact]
    public void Train_SmallCorpus_MergesShortenEncodingSeveralFold()
    {
        var corpus = TextCorpus.Small();
        var tok = Trained.Value;
        long bytes = corpus.Sum(c => System.Text.Encoding.UTF8.GetByteCount(c));
        long tokens = corpus.Sum(c => tok.Encode(c).Length);
        output.WriteLine($"vocab {tok.VocabSize}, {tok.Merges.Count} merges, {bytes} bytes -> {tokens} tokens");
        Assert.True(tok.Merges.Count > 50, $"only {tok.Merges.Count} merges learned");
        Assert.True(tokens * 4 < bytes, $"{bytes} bytes encode to {tokens} tokens; expected at least 4x fewer");
        Assert.Equal(BpeTokenizer.FirstMerge + tok.Merges.Count, tok.VocabSize);
        Assert.True(tok.VocabSize <= 512);
    }

    [Fact]
    public void EncodeDecode_CorpusAndUnusualText_RoundTrips()
    {
        var tok = Trained.Value;
        foreach (var text in TextCorpus.Small().Take(50).Concat(TextCorpus.Large(20)).Concat(Unusual))
        {
            var ids = tok.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, BpeTokenizer.FirstByte, tok.VocabSize - 1));
            Assert.Equal(text, tok.Decode(ids));
        }
    }

    [Fact]
    public void Encode_UnknownWord_FallsBackToByteTokens()
    {
        var tok = Trained.Value;
        var ids = tok.Encode("ж");                                      // Cyrillic: 2 UTF-8 bytes, never seen
        Assert.Equal([BpeTokenizer.FirstByte + 0xD0, BpeTokenizer.FirstByte + 0xB6], ids);
        var known = tok.Encode(" red");                                 // a corpus word is a single token
        Assert.Single(known);
        Assert.Equal("Ġred", tok.TokenName(known[0]));
        Assert.True(tok.Encode(" qwxz").Length > 1);                    // an unseen word costs several tokens
    }

    [Fact]
    public void Encode_SpecialTokenText_IsNotSpecial()
    {
        var ids = Trained.Value.Encode("<pad>");
        Assert.DoesNotContain(ids, id => id < BpeTokenizer.FirstByte);
    }

    [Fact]
    public void Train_SameCorpusInAnyOrder_GivesSameTokenizer()
    {
        var corpus = TextCorpus.Small();
        var a = BpeTokenizer.Train(corpus, 400);
        var shuffled = corpus.OrderBy(c => c.GetHashCode(StringComparison.Ordinal) ^ 12345).ToList();
        var b = BpeTokenizer.Train(shuffled, 400);
        Assert.Equal(a.Merges, b.Merges);
        Assert.Equal(a.ToJson(), b.ToJson());
    }

    [Fact]
    public void Train_TinyCorpus_StopsWhenNoPairRepeats()
    {
        var tok = BpeTokenizer.Train(["ab ab", "cd"], vocabSize: 4096);   // only (a, b) occurs twice
        Assert.Equal([(BpeTokenizer.FirstByte + 'a', BpeTokenizer.FirstByte + 'b')], tok.Merges);
        Assert.Equal(BpeTokenizer.FirstMerge + 1, tok.VocabSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => BpeTokenizer.Train(["x"], vocabSize: 100));
    }

    [Fact]
    public void Json_SaveLoad_RoundTrips()
    {
        var tok = Trained.Value;
        string dir = Directory.CreateTempSubdirectory("spacetime-bpe-").FullName;
        try
        {
            string path = Path.Combine(dir, "tokenizer.json");
            tok.Save(path);
            var loaded = BpeTokenizer.Load(path);
            Assert.Equal(tok.Merges, loaded.Merges);
            foreach (var text in TextCorpus.Large(10).Concat(Unusual))
                Assert.Equal(tok.Encode(text), loaded.Encode(text));
            Assert.Contains("\"Ġred\"", File.ReadAllText(path));        // readable token names
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"format\": \"other\"}")]
    [InlineData("{\"format\": \"spacetime-bpe-1\", \"vocab\": [], \"merges\": [[4, 999]]}")]
    [InlineData("{\"format\": \"spacetime-bpe-1\", \"vocab\": [], \"merges\": []}")]
    public void Json_Malformed_ThrowsInvalidData(string json)
    {
        var e = Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromJson(json, "t.json"));
        Assert.StartsWith("t.json: ", e.Message);
    }

    [Fact]
    public void EncodeCaption_WrapsTruncatesAndMapsEmpty()
    {
        var tok = Trained.Value;
        var ids = tok.EncodeCaption("A red ball bounces.", maxTokens: 96);
        Assert.Equal(BpeTokenizer.Bos, ids[0]);
        Assert.Equal(BpeTokenizer.Eos, ids[^1]);
        Assert.Equal("A red ball bounces.", tok.Decode(ids));
        var longCaption = string.Join(" ", TextCorpus.Large(5));
        var cut = tok.EncodeCaption(longCaption, maxTokens: 16);
        Assert.Equal(16, cut.Length);
        Assert.Equal(BpeTokenizer.Eos, cut[^1]);                        // truncation keeps <eos>, drops the end
        Assert.Equal(tok.Encode(longCaption)[..14], cut[1..15]);
        foreach (var empty in new[] { null, "", "  \t" })
            Assert.Equal([BpeTokenizer.Empty], tok.EncodeCaption(empty, 16));
    }

    [Fact]
    public void Split_AnyText_PiecesConcatenateBackWithLeadingSpaces()
    {
        Assert.Equal(["A", " red", " ball", ",", " moving", "  ", " left", "."],
                     Spacetime.Models.Text.ByteLevel.Pieces("A red ball, moving   left."));
        foreach (var text in Unusual) Assert.Equal(text, string.Concat(Spacetime.Models.Text.ByteLevel.Pieces(text)));
    }

    // A size check on a realistic corpus; the time is printed for reading, never asserted (speed lives in benchmarks).
    // Measured alone: about 1.5 s of CPU for 20k captions and 3836 merges.
    [Fact, Trait("Category", "Slow")]
    public void Train_20kCaptions_FillsTheVocabulary()
    {
        var corpus = TextCorpus.Varied(20_000);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        var tok = BpeTokenizer.Train(corpus, vocabSize: 4096);
        watch.Stop();
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        long chars = corpus.Sum(c => c.Length), tokens = corpus.Take(1000).Sum(c => tok.Encode(c).Length) * 20L;
        output.WriteLine($"trained on {corpus.Count} captions ({chars} chars) in {watch.ElapsedMilliseconds} ms " +
                         $"({cpuSeconds:F2} s of process CPU): {tok.VocabSize} tokens, {tok.Merges.Count} merges; " +
                         $"~{tokens} tokens for the corpus");
        Assert.Equal(4096, tok.VocabSize);
    }

    [Fact]
    public void WithWords_NewWord_IsOneTokenAndNoOtherTextChanges()
    {
        var tok = Trained.Value;
        var taught = tok.WithWords(["olive", "zorp"]);
        Assert.Equal(tok.VocabSize + 2, taught.VocabSize);
        Assert.Equal(tok.VocabSize, taught.FirstWordId);
        int olive = taught.FirstWordId;
        // inside a caption (after a space) and at the start of a text: the one token, which reads " olive"
        Assert.Equal([.. tok.Encode("a"), olive, .. tok.Encode(" ball")], taught.Encode("a olive ball"));
        Assert.Equal([olive, .. tok.Encode(" ball")], taught.Encode("olive ball"));
        Assert.Equal([olive + 1], taught.Encode(" zorp"));
        Assert.Equal("a olive ball", taught.Decode(taught.Encode("a olive ball")));
        Assert.Equal("Ġolive", taught.TokenName(olive));
        // a word that only contains it, or differs in case, is read as before
        foreach (string text in TextCorpus.Small().Concat(Unusual).Append("olives Olive oliveoil"))
            Assert.Equal(tok.Encode(text), taught.Encode(text));
    }

    [Fact]
    public void WithWords_KnownOrMalformedWord_IsRefusedSayingWhy()
    {
        var tok = Trained.Value;
        string known = TextCorpus.Small().SelectMany(c => c.Split(' ')).First(w => w.Length > 2 && w.All(char.IsLetter)
                                                                                  && tok.Encode(" " + w).Length == 1);
        var e = Assert.Throws<ArgumentException>(() => tok.WithWords([known]));
        Assert.Contains("already a word this model reads as one token", e.Message);
        foreach (string bad in new[] { "", "two words", "x1", "olive!", new string('a', 65) })
            Assert.Throws<ArgumentException>(() => tok.WithWords([bad]));
        e = Assert.Throws<ArgumentException>(() => tok.WithWords(["olive"]).WithWords(["olive"]));
        Assert.Contains("already added", e.Message);
        Assert.Throws<ArgumentException>(() => tok.WithWords(["olive", "olive"]));
    }

    [Fact]
    public void WithWords_ToJsonAndBack_KeepsTheWords()
    {
        var taught = Trained.Value.WithWords(["olive"]);
        var back = BpeTokenizer.FromJson(taught.ToJson());
        Assert.Equal(["olive"], back.Words);
        Assert.Equal(taught.VocabSize, back.VocabSize);
        Assert.Equal(taught.Encode("an olive square"), back.Encode("an olive square"));
        Assert.DoesNotContain("\"words\"", Trained.Value.ToJson());                 // files without words unchanged
        var broken = taught.ToJson().Replace("\"olive\"", "\"two words\"");
        Assert.Throws<InvalidDataException>(() => BpeTokenizer.FromJson(broken));
    }
}
