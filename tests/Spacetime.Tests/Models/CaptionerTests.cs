// The captioner (Models/Caption/Captioner): decoding with cached keys and values equals decoding by the whole-prefix
// forward (the naive reference), the decoder is causal, a folder round-trips, and the trainer teaches a tiny one on
// the tiny VAE's cached clips (loss falls, the exported folder captions a video, and it refuses another VAE).
using Spacetime.Engine;
using Spacetime.Models.Caption;
using Spacetime.Models.Text;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Models;

public sealed class CaptionerTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-cap-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static readonly CaptionerConfig Tiny = CaptionerConfig.Presets["tiny"] with { MaxTokens = 24 };

    static BpeTokenizer Tokenizer() => BpeTokenizer.Train(
        Enumerable.Range(0, 40).Select(i => WorldClip.Describe(new ClipSettings(i, 32, 32, 1, 8)).Caption), 300);

    // a captioner whose logits are far from uniform (the tied token table scaled up), so greedy choices are not near-ties,
    // and whose captions run long
    static Captioner Sharp(ulong seed)
    {
        var model = new Captioner(Tiny, Tokenizer(), seed);
        var table = model.NamedParameters().First(p => p.Name == "token_embedding.weight").Parameter.AsSpan();
        for (int i = 0; i < table.Length; i++) table[i] *= 50f;
        table.Slice(BpeTokenizer.Eos * Tiny.Width, Tiny.Width).Clear();          // logit 0: <eos> rarely wins
        return model;
    }

    static Tensor Latents(int B, int seed) => new Rng((ulong)seed).Normal(B, 4, 2, 8, 6);   // (B, C, T', h, w)

    // greedy decoding by the whole-prefix forward: the reference for the cached decoder
    static int[][] NaiveTokens(Captioner model, Tensor latents)
    {
        using var noGrad = Autograd.NoGrad();
        var memory = model.Encode(latents);
        int B = latents.Size(0), V = model.Config.VocabSize;
        var rows = Enumerable.Range(0, B).Select(_ => new List<int> { BpeTokenizer.Bos }).ToArray();
        var done = new bool[B];
        for (int L = 1; L <= model.Config.MaxTokens && !done.All(d => d); L++)
        {
            var logits = model.Logits(memory, rows.SelectMany(r => r).ToArray(), L).ToArray();       // (B, L, V)
            for (int b = 0; b < B; b++)
            {
                int best = model.Greedy(logits.AsSpan((b * L + L - 1) * V, V));
                rows[b].Add(best);
                done[b] |= best == BpeTokenizer.Eos;
            }
        }
        return rows.Select(r => r.Skip(1).TakeWhile(t => t != BpeTokenizer.Eos).ToArray()).ToArray();
    }

    [Fact]
    public void CachedDecoding_EqualsTheWholePrefixForward()
    {
        var model = Sharp(3);
        var latents = Latents(3, 1);
        var fast = model.CaptionTokens(latents);
        var naive = NaiveTokens(model, latents);
        for (int b = 0; b < 3; b++) Assert.Equal(naive[b], fast[b]);
        Assert.Contains(fast, t => t.Length >= 5);
    }

    [Fact]
    public void Decoder_IsCausal_AndSeesTheVideo()
    {
        var model = new Captioner(Tiny, Tokenizer(), 4);
        var memory = model.Encode(Latents(1, 2));
        int[] a = [1, 40, 41, 42, 43, 44], b = [1, 40, 41, 99, 98, 97];
        float[] la = model.Logits(memory, a, 6).ToArray(), lb = model.Logits(memory, b, 6).ToArray();
        int V = Tiny.VocabSize;
        for (int i = 0; i < 3 * V; i++) Assert.Equal(la[i], lb[i], 5);          // positions 0..2 ignore tokens 3..5
        Assert.NotEqual(la[4 * V], lb[4 * V]);                                   // later positions do not
        var other = model.Logits(model.Encode(Latents(1, 3)), a, 6).ToArray();
        Assert.NotEqual(la[0], other[0]);                                         // another video, other logits
    }

    [Fact]
    public void Folder_RoundTrips_WithItsLatentSpace()
    {
        var model = Sharp(5);
        model.Latents = "vae/abc";
        string dir = Path.Combine(root, "cap");
        model.Save(dir);
        var back = Captioner.Load(dir);
        Assert.Equal("vae/abc", back.Latents);
        Assert.Equal(model.Config, back.Config);
        var latents = Latents(2, 7);
        Assert.Equal(model.Caption(latents), back.Caption(latents));
        File.Delete(Path.Combine(dir, "tokenizer.json"));
        Assert.Contains("tokenizer.json is missing", Assert.Throws<InvalidDataException>(() => Captioner.Load(dir)).Message);
    }

    [Fact]
    public void Teacher_ShiftsByOne_AndIgnoresPadding()
    {
        var tok = Tokenizer();
        var (inputs, targets, L) = CaptionerTrainer.Teacher(tok, ["A red ball.", "A video of one object."], 64);
        int[] first = tok.EncodeCaption("A red ball.", 65), second = tok.EncodeCaption("A video of one object.", 65);
        Assert.Equal(Math.Max(first.Length, second.Length) - 1, L);
        Assert.Equal(first[..^1], inputs[..(first.Length - 1)]);
        Assert.Equal(first[1..], targets[..(first.Length - 1)]);
        Assert.All(targets[(first.Length - 1)..L], t => Assert.Equal(-100, t));
        Assert.Equal(BpeTokenizer.Eos, targets[L + second.Length - 2]);
    }

    [Fact]
    public void TrainTiny_LossFalls_AndTheFolderCaptions()
    {
        string vaeDir = Path.Combine(root, "vae"), run = Path.Combine(root, "run");
        VaeTrainer.Train(VaeRecipe.Preset("tiny"), new TrainConfig { Steps = 1, Batch = 2, EmaDecay = 0, Seed = 1 }, vaeDir);
        var cfg = new TrainConfig { Steps = 150, Batch = 4, Lr = 3e-3f, WarmupSteps = 2, CheckpointEvery = 100, Seed = 2 };
        CaptionerTrainer.Train(CaptionerRecipe.Preset("tiny"), cfg, run, vaeDir);
        var losses = File.ReadLines(Trainer.LossCsv(run)).Skip(1).Select(l => float.Parse(l.Split(',')[1],
                                                                            System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.True(losses[^5..].Average() < 0.7f * losses[..5].Average(),
                    $"loss {losses[..5].Average():F3} -> {losses[^5..].Average():F3}");

        var captioner = Captioner.Load(run);
        var codec = new VaeLatents(VaeCheckpoint.Load(vaeDir));
        Assert.Equal(LatentFingerprint.Of(codec), captioner.Latents);
        var clip = WorldClip.Render(new ClipSettings(99, 32, 32, 5 / 8.0, 8));
        string caption = captioner.Caption(codec.Encode(clip.Frames).Unsqueeze(0))[0];
        Assert.StartsWith("A video of", caption);                                   // the training style, learned
    }
}
