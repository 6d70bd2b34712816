// TextEncoder: shapes and masks, padding invariance, the null embedding and its gradient, learning a small task,
// and checkpoints. Tiny config (D = 32, depth 2) so each test takes well under a second.
using Spacetime.Engine;
using Spacetime.Models.Text;
using Spacetime.Nn.Optim;
using Xunit.Abstractions;

namespace Spacetime.Tests.Models;

public class TextEncoderTests(ITestOutputHelper output)
{
    static readonly Lazy<BpeTokenizer> Tokenizer = new(() => BpeTokenizer.Train(TextCorpus.Small(), vocabSize: 384));
    static readonly TextEncoderConfig Tiny = TextEncoderConfig.Preset("world-xs") with
    {
        Width = 32, Depth = 2, Heads = 2, MaxTokens = 32, VocabSize = 384, NullTokens = 2,
    };

    static TextEncoder NewEncoder(ulong seed = 1, TextEncoderConfig? config = null) =>
        new(config ?? Tiny, Tokenizer.Value, new Rng(seed));

    static Tensor Param(TextEncoder model, string name) => model.StateDict()[name];

    [Fact]
    public void Encode_CaptionsOfDifferentLengths_PadsToLongestAndMasks()
    {
        var model = NewEncoder();
        string[] captions = ["A red ball bounces.", "A tiny purple cylinder slides across the floor in a room.", ""];
        using var scope = TensorScope.Begin();
        var e = model.Encode(captions);
        int[] lengths = captions.Select(c => model.Tokenizer.EncodeCaption(c, Tiny.MaxTokens).Length).ToArray();
        int L = Math.Max(lengths.Max(), Tiny.NullTokens);
        Assert.Equal([3, L, Tiny.Width], e.Tokens.Shape.ToArray());
        Assert.Equal(3 * L, e.Valid.Length);
        Assert.Equal(lengths[0], e.Valid.AsSpan(0, L).Count(true));
        Assert.Equal(lengths[1], e.Valid.AsSpan(L, L).Count(true));
        Assert.Equal(Tiny.NullTokens, e.Valid.AsSpan(2 * L, L).Count(true));   // the empty caption: Lnull valid
        Assert.True(e.Valid[0] && !e.Valid[L - 1]);                             // valid first, then padding
        Assert.Equal([3, Tiny.Width], e.Pool().Shape.ToArray());
        Assert.Equal([1, L, Tiny.Width], model.Encode(captions[1]).Tokens.Shape.ToArray());
    }

    [Fact]
    public void Encode_TooLongCaption_TruncatesToMaxTokens()
    {
        var model = NewEncoder();
        using var scope = TensorScope.Begin();
        var e = model.Encode(string.Join(" ", TextCorpus.Large(4)));
        Assert.Equal(Tiny.MaxTokens, e.Tokens.Size(1));
    }

    [Fact]
    public void Encode_PaddedInBatch_SameValidOutputsAsAlone()
    {
        var model = NewEncoder();
        const string caption = "A red ball bounces.";
        using var scope = TensorScope.Begin();
        var alone = model.Encode(caption).Tokens.ToArray();                    // (1, n, D)
        var batch = model.Encode("A large green cone spins in place against a dark sky, slowly.", caption, "");
        int n = alone.Length / Tiny.Width, L = batch.Tokens.Size(1);
        Assert.True(L > n);
        var row = batch.Tokens.Slice(0, 1, 1).Slice(1, 0, n).Contiguous().ToArray();
        for (int i = 0; i < alone.Length; i++)
            Assert.True(MathF.Abs(alone[i] - row[i]) <= 1e-5f * (1 + MathF.Abs(alone[i])),   // summation order only
                        $"element {i}: alone {alone[i]}, padded {row[i]}");
    }

    [Fact]
    public void Encode_EmptyCaption_IsTheNullEmbeddingAndItLearns()
    {
        var model = NewEncoder();
        using var scope = TensorScope.Begin();
        var nullTokens = Param(model, "null_tokens");                          // (Lnull, D)
        Assert.Equal(nullTokens.ToArray(), model.Encode("").Tokens.ToArray());
        Assert.Equal(nullTokens.ToArray(), model.Encode((string?)null).Tokens.ToArray());

        var e = model.Encode("A blue cube falls down.", "  ", "A red ring moves left.");
        var emptyRow = e.Tokens.Slice(0, 1, 1).Slice(1, 0, Tiny.NullTokens).Contiguous().ToArray();
        Assert.Equal(nullTokens.ToArray(), emptyRow);
        // A loss on the valid tokens (as cross-attention would see them) reaches null_tokens and the transformer.
        var weights = Tensor.From(e.Valid.Select(v => v ? 1f : 0f).ToArray(), 3, e.Tokens.Size(1), 1);
        (e.Tokens * e.Tokens * weights).Sum().Backward();
        Assert.NotNull(nullTokens.Grad);
        Assert.Contains(nullTokens.Grad!.ToArray(), g => g != 0f);
        foreach (var name in new[] { "token_embedding.weight", "pos_embed", "blocks.0.attn.qkv.weight", "norm.weight" })
            Assert.Contains(Param(model, name).Grad!.ToArray(), g => g != 0f);
    }

    [Fact]
    public void CrossAttention_ToTextTokens_SendsGradientsIntoEncoderAndIgnoresPadding()
    {
        // As the DiT uses it: queries (B, N, Dq) attend to the text tokens under their padding mask.
        var model = NewEncoder();
        var cross = new Spacetime.Nn.Attention(16, 2, new Rng(2), contextDim: Tiny.Width);
        using var scope = TensorScope.Begin();
        var queries = new Rng(3).Normal(3, 5, 16);                              // (B, N, Dq)
        var e = model.Encode("A blue cube falls down.", "", "A large red ring moves left against a dark sky.");
        var y = cross.Forward(queries, e.Tokens, e.Mask);                       // (B, N, Dq)
        (y * y).Sum().Backward();
        foreach (var name in new[] { "null_tokens", "token_embedding.weight", "pos_embed", "blocks.1.mlp.fc2.weight" })
            Assert.Contains(Param(model, name).Grad!.ToArray(), g => g != 0f);
        // Changing what sits in the padding positions changes nothing.
        var junk = Tensor.From(e.Valid.Select(v => v ? 0f : 1000f).ToArray(), 3, e.Tokens.Size(1), 1);
        using (Autograd.NoGrad())
        {
            var y2 = cross.Forward(queries, e.Tokens.Detach() + junk, e.Mask);
            Assert.Equal(y.ToArray(), y2.ToArray());
        }
    }

    [Fact]
    public void Encode_OnlyEmptyCaptions_DoesNotRunTheTransformer()
    {
        var model = NewEncoder();
        using var scope = TensorScope.Begin();
        var e = model.Encode("", "");
        e.Tokens.Sum().Backward();
        Assert.Null(Param(model, "token_embedding.weight").Grad);
        Assert.All(Param(model, "null_tokens").Grad!.ToArray(), g => Assert.Equal(2f, g));   // used by both rows
    }

    [Fact]
    public void Construct_SameSeed_SameOutputs()
    {
        using var scope = TensorScope.Begin();
        float[] Run(ulong seed) => NewEncoder(seed).Encode("A red ball.").Tokens.ToArray();
        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5), Run(6));
    }

    [Fact]
    public void Train_LinearProbeOnPooledOutput_LearnsColourWord()
    {
        // 8 captions that differ in the colour word (and shape/motion, which the probe must ignore); a linear probe
        // on the pooled encoder output learns the colour, encoder and probe trained together.
        var captions = TextCorpus.Colours.Select((c, i) =>
            $"A {c} {TextCorpus.Shapes[i % 6]} {TextCorpus.Motions[(i * 3) % 7]}.").ToArray();
        int[] labels = Enumerable.Range(0, 8).ToArray();
        var model = NewEncoder(seed: 3);
        var probe = new Spacetime.Nn.Linear(Tiny.Width, 8, new Rng(4));
        var opt = new AdamW(model.NamedParameters().Concat(probe.NamedParameters().Select(p => ("probe." + p.Name,
                            p.Parameter))), lr: 3e-3f, weightDecay: 0f);
        var batch = model.Tokenize(captions);
        float first = 0, last = 0;
        int steps = 0;
        for (; steps < 300 && (steps == 0 || last > first / 10); steps++)
        {
            using var scope = TensorScope.Begin();
            var loss = F.CrossEntropy(probe.Forward(model.Forward(batch).Pool()), labels);
            loss.Backward();
            opt.Step();
            opt.ZeroGrad();
            last = loss.Item();
            if (steps == 0) first = last;
        }
        output.WriteLine($"probe loss {first:F3} -> {last:F4} in {steps} steps");
        Assert.True(last < first / 10, $"loss {first} -> {last} after {steps} steps; expected a 10x drop");
    }

    [Fact]
    public void TokenSkip_ZeroAtStart_SameTokens_ThenItsGradientMovesIt_AndItCarriesTheWord()
    {
        var plain = NewEncoder(seed: 4);
        var skip = new TextEncoder(Tiny with { TokenSkip = true }, Tokenizer.Value, new Rng(4));
        var loaded = skip.LoadStateDict(plain.StateDict(), strict: false);
        Assert.Equal(["token_skip.weight"], loaded.Missing);
        string[] captions = ["A red circle bounces.", "A red square bounces.", ""];
        using var scope = TensorScope.Begin();
        Assert.Equal(plain.Encode(captions).Tokens.ToArray(), skip.Encode(captions).Tokens.ToArray());   // skip 0

        var skipWeight = Param(skip, "token_skip.weight");                // (D, D)
        var tokens = skip.Encode(captions).Tokens;
        (tokens * tokens).Sum().Backward();
        Assert.Contains(skipWeight.Grad!.ToArray(), g => g != 0f);             // the loss reaches the zero skip

        // as the identity, the skip moves the tokens where the two captions differ: "circle" against "square"
        var identity = new float[Tiny.Width * Tiny.Width];
        for (int i = 0; i < Tiny.Width; i++) identity[i * Tiny.Width + i] = 1f;
        using (Autograd.NoGrad()) skipWeight.CopyFrom(Tensor.From(identity, Tiny.Width, Tiny.Width));
        Tensor Diff(TextEncoder m)                                          // sum of squares of caption 0 - caption 1
        {
            var e = m.Encode(captions[..2]).Tokens;                         // (2, L, D)
            var d = e.Slice(0, 0, 1) - e.Slice(0, 1, 1);                   // (1, L, D)
            return (d * d).Sum();
        }
        float closed = Diff(plain).Item(), open = Diff(skip).Item();
        output.WriteLine($"circle vs square: squared distance {closed:F3} closed, {open:F3} open");
        Assert.True(open > closed, $"{open} <= {closed}");
    }

    [Fact]
    public void UseWords_OtherCaptionsUnchanged_GradientReachesOnlyTheWord_MergedEqualsLive()
    {
        var model = NewEncoder(seed: 4, config: Tiny with { VocabSize = 400 });           // room for new words
        string[] plain = ["A red ball bounces.", "A tiny purple cylinder slides.", ""];
        string[] taught = ["An olive ball bounces.", "A red ball and an olive square."];
        using var scope = TensorScope.Begin();
        var before = model.Encode(plain).Tokens.ToArray();
        var words = new NewWords(["olive"], model.EmbeddingOf(" red").Reshape(1, Tiny.Width).CopyUnscoped()); // (1, D)
        foreach (var p in model.Parameters()) p.RequiresGrad = false;
        model.UseWords(words);
        Assert.Equal(before, model.Encode(plain).Tokens.ToArray());                           // bit for bit
        // the word starts as "red": the caption reads as "an red ball" does, but for its one token instead of "red"'s
        var live = model.Encode(taught).Tokens;                                               // (2, L, D)
        (live * live).Sum().Backward();
        Assert.True(words.Weight.Grad!.ToArray().Any(v => v != 0), "the new word got no gradient");
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        // merged into the table (and saved), the encoder gives the same tokens without NewWords
        var expected = live.ToArray();
        model.MergeWords();
        Assert.Equal(expected, model.Encode(taught).Tokens.ToArray());
        string dir = Directory.CreateTempSubdirectory("spacetime-text-").FullName;
        try
        {
            model.Save(dir);
            var loaded = TextEncoder.Load(dir);
            Assert.Equal(["olive"], loaded.Tokenizer.Words);
            Assert.Equal(expected, loaded.Encode(taught).Tokens.ToArray());
            Assert.Equal(before, loaded.Encode(plain).Tokens.ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void UseWords_WithBlockOffsets_OnlyTheWordsPositionsMove_AndMergedSavedEncodersAgree()
    {
        var model = NewEncoder(seed: 5, config: Tiny with { VocabSize = 400 });
        const int Blocks = 3;
        var rng = new Rng(6);
        var offsets = rng.Normal([Blocks, 1, Tiny.Width]);                                    // (Blocks, K, D)
        var words = new NewWords(["olive"], rng.Normal([1, Tiny.Width]), offsets);
        model.UseWords(words);
        Assert.Equal(Blocks, model.WordBlocks);
        using var scope = TensorScope.Begin();
        Assert.Null(model.Encode("A red ball bounces.", "").PerBlock);                     // no word: every block alike
        string[] captions = ["An olive ball and a red one.", "", "A red ball."];
        var e = model.Encode(captions);
        var perBlock = Assert.IsAssignableFrom<IReadOnlyList<Tensor>>(e.PerBlock);
        Assert.Equal(Blocks, perBlock.Count);
        var ids = model.Tokenizer.EncodeCaption(captions[0], Tiny.MaxTokens);
        int at = Array.IndexOf(ids, model.Tokenizer.FirstWordId), L = e.Tokens.Size(1), D = Tiny.Width;
        var tokens = e.Tokens.ToArray();
        for (int l = 0; l < Blocks; l++)
        {
            var block = perBlock[l].ToArray();
            var offset = offsets.ToArray().AsSpan(l * D, D);
            for (int i = 0; i < tokens.Length; i++)
            {
                int b = i / (L * D), pos = i / D % L, d = i % D;
                float expected = b == 0 && pos == at ? tokens[i] + offset[d] : tokens[i];
                Assert.Equal(expected, block[i]);
            }
        }
        var expectedBlocks = perBlock.Select(t => t.ToArray()).ToList();
        model.MergeWords();
        Assert.Equal(expectedBlocks, model.Encode(captions).PerBlock!.Select(t => t.ToArray()).ToList());
        string dir = Directory.CreateTempSubdirectory("spacetime-text-").FullName;
        try
        {
            model.Save(dir);
            var loaded = TextEncoder.Load(dir);
            Assert.Equal(Blocks, loaded.WordBlocks);
            Assert.Equal(expectedBlocks, loaded.Encode(captions).PerBlock!.Select(t => t.ToArray()).ToList());
            Assert.Null(loaded.Encode("A red ball.").PerBlock);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void UseWords_NoRoomKnownWordOrOtherWidth_IsRefused()
    {
        var full = NewEncoder(config: Tiny with { VocabSize = Tokenizer.Value.VocabSize });
        var e = Assert.Throws<ArgumentException>(() => full.UseWords(new NewWords(["olive"], Tensor.Zeros(1, Tiny.Width))));
        Assert.Contains("no room", e.Message);
        var model = NewEncoder(config: Tiny with { VocabSize = 400 });
        e = Assert.Throws<ArgumentException>(() => model.UseWords(new NewWords(["olive"], Tensor.Zeros(1, 16))));
        Assert.Contains("another model", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.UseWords(new NewWords(["red"], Tensor.Zeros(1, Tiny.Width))));
        Assert.Contains("already a word", e.Message);
    }

    [Fact]
    public void SaveLoad_Folder_SameOutputs()
    {
        var model = NewEncoder(seed: 9);
        string dir = Directory.CreateTempSubdirectory("spacetime-text-").FullName;
        try
        {
            model.Save(dir);
            Assert.True(File.Exists(Path.Combine(dir, "model.safetensors")));
            var loaded = TextEncoder.Load(dir);
            Assert.Equal(model.Config, loaded.Config);
            Assert.Equal(model.Tokenizer.Merges, loaded.Tokenizer.Merges);
            using var scope = TensorScope.Begin();
            string[] captions = ["A red ball bounces.", "", "an unseen word: zyzzyva 🚀"];
            Assert.Equal(model.Encode(captions).Tokens.ToArray(), loaded.Encode(captions).Tokens.ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Load_WeightsOfAnotherConfig_NamesMissingAndMisShapedKeys()
    {
        var model = NewEncoder();
        string dir = Directory.CreateTempSubdirectory("spacetime-text-").FullName;
        try
        {
            model.Save(dir);
            var wider = Tiny with { Depth = 3, NullTokens = 3 };               // one more block, longer null
            File.WriteAllText(Path.Combine(dir, "config.json"), File.ReadAllText(Path.Combine(dir, "config.json"))
                .Replace("\"depth\": 2", "\"depth\": 3").Replace("\"null_tokens\": 2", "\"null_tokens\": 3"));
            var e = Assert.Throws<InvalidDataException>(() => TextEncoder.Load(dir));
            output.WriteLine(e.Message);
            Assert.Contains("null_tokens is (2, 32) in the state dict but (3, 32) in the model", e.Message);
            Assert.Contains("blocks.2.attn.qkv.weight", e.Message);
            Assert.Contains("missing key", e.Message);
            Assert.Equal(3, wider.Depth);

            File.WriteAllText(Path.Combine(dir, "config.json"), "{\"widht\": 32}");
            Assert.Contains("config.json", Assert.Throws<InvalidDataException>(() => TextEncoder.Load(dir)).Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Presets_WorldS_HasTheDocumentedSizes()
    {
        var cfg = TextEncoderConfig.Preset("world-s");
        Assert.Equal((256, 4, 4, 96), (cfg.Width, cfg.Depth, cfg.Heads, cfg.MaxTokens));
        var model = new TextEncoder(cfg, Tokenizer.Value, new Rng(0));
        // 4096·256 tokens + 96·256 positions + 256 null + 4 blocks · (2·2·256 norms + 256·768+768 qkv
        // + 256·256+256 proj + 256·1024+1024 fc1 + 1024·256+256 fc2) + 2·256 final norm
        long expected = 4096 * 256 + 96 * 256 + 256 + 4 * (4 * 256 + 256 * 768 + 768 + 256 * 256 + 256 + 256 * 1024 +
                                                          1024 + 1024 * 256 + 256) + 2 * 256;
        output.WriteLine($"world-s: {model.ParameterCount:N0} parameters");
        Assert.Equal(expected, model.ParameterCount);
        Assert.Throws<ArgumentException>(() => TextEncoderConfig.Preset("world-q"));
    }
}
