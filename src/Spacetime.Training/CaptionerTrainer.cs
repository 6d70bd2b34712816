// CaptionerTrainer: the video captioner (Models/Caption/Captioner) as a training task (the loop is Trainer.Run). Its
// data is a DiT recipe's latent cache (DitTrainer's LatentCache: the same world clips, buckets and frozen VAE, encoded
// once into DIR/train/latents.safetensors), drawn only from buckets of more than one latent frame (a single frame
// cannot show the motion a caption states). One micro-batch:
//     B cached latents of one bucket (B, C, T', h, w) and their dense captions
//     ids = <bos> caption <eos> (cut to MaxTokens), padded; the decoder reads ids[:-1] and predicts ids[1:]
//     loss = cross-entropy over the non-padding targets (teacher forcing)
// Logged: token accuracy (the share of targets predicted exactly). The exported folder is the captioner.
using Spacetime.Engine;
using Spacetime.Models.Caption;
using Spacetime.Models.Text;
using Spacetime.Models.Vae;
using Spacetime.Nn;
using Spacetime.Pipelines;
using Spacetime.Training.Distributed;
using Spacetime.World;

namespace Spacetime.Training;

/// <summary>A captioner recipe: the network, and the DiT recipe whose clips and latent cache it reads.</summary>
public sealed record CaptionerRecipe(CaptionerConfig Net, string Data, int TokenizerCaptions)
{
    /// <summary>The recipes by name.</summary>
    public static IReadOnlyDictionary<string, CaptionerRecipe> Presets { get; } =
        new Dictionary<string, CaptionerRecipe>(StringComparer.OrdinalIgnoreCase)
        {
            // tests: the tiny VAE recipe's 16 cached clips
            ["tiny"] = new(CaptionerConfig.Presets["tiny"], "tiny-vae", 100),
            // the world captioner: model v2's 4,000 cached clips in the shipped VAE's latents (128x128, 160x96,
            // 96x160 at 17 frames and 128x128 at 9), the cache `train dit --recipe world-v2` builds with the same seed
            ["world"] = new(CaptionerConfig.Presets["world"], "world-v2", 2000),
        };

    /// <summary>The recipe called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static CaptionerRecipe Preset(string name) => Presets.TryGetValue(name, out var r) ? r
        : throw new ArgumentException($"unknown captioner recipe '{name}'; known: {string.Join(", ", Presets.Keys)}");

    /// <summary>The DiT recipe whose clips it reads.</summary>
    public DitRecipe DataRecipe => DitRecipe.Preset(Data);
}

/// <summary>Trains the video captioner on a DiT recipe's cached world clips.</summary>
public static class CaptionerTrainer
{
    /// <summary>
    /// Trains into <paramref name="dir"/>, resuming from its checkpoint when there is one. A new run needs
    /// <paramref name="vaeDir"/> (the VAE whose latents it reads; a `train vae` folder) when the data recipe is in a
    /// VAE's latents; the run keeps a copy in DIR/vae. <paramref name="status"/> hears about the latent cache.
    /// <paramref name="comm"/>: the ranks of a data-parallel run (Trainer.Run); rank 0 writes the VAE's copy and the
    /// latent cache, the others read them.
    /// </summary>
    public static TrainResult Train(CaptionerRecipe recipe, TrainConfig cfg, string dir, string? vaeDir = null,
                                    Action<TrainProgress>? progress = null, int? stopAt = null,
                                    Action<string, int, int>? status = null, Communicator? comm = null)
    {
        comm ??= Communicator.Single;
        return Trainer.Run(NewTask(recipe, cfg, dir, vaeDir, status, comm), cfg, dir, progress, stopAt, comm);
    }

    internal static CaptionerTask NewTask(CaptionerRecipe recipe, TrainConfig cfg, string dir, string? vaeDir,
                                          Action<string, int, int>? status, Communicator? comm = null)
    {
        comm ??= Communicator.Single;
        cfg.Validate();
        var data = recipe.DataRecipe;
        if (data.CacheClips == 0)
            throw new ArgumentException($"captioner recipe: its data recipe '{recipe.Data}' has no latent cache");
        if (recipe.Net.ReadArea != data.Clip.Width * data.Clip.Height || recipe.Net.ReadFrames != data.Clip.Frames
            || recipe.Net.ReadFps != data.Clip.Fps)
            throw new ArgumentException($"captioner recipe: it reads {recipe.Net.ReadArea} pixels x {recipe.Net.ReadFrames} " +
                                        $"frames at {recipe.Net.ReadFps} fps but its data are {data.Clip.Width}x" +
                                        $"{data.Clip.Height} x {data.Clip.Frames} at {data.Clip.Fps}");
        var codec = Codec(data, dir, vaeDir, comm);
        if (codec.Channels != recipe.Net.LatentChannels)
            throw new ArgumentException($"captioner recipe: the network reads {recipe.Net.LatentChannels} latent " +
                                        $"channels but the data's latents have {codec.Channels}");
        Captioner model = Trainer.HasCheckpoint(dir) && Captioner.IsCaptionerFolder(dir) ? Captioner.Load(dir)
            : new Captioner(recipe.Net, Tokenizer(recipe, cfg.Seed), cfg.Seed);
        if (model.Config != recipe.Net)
            throw new ArgumentException($"{dir} holds a captioner of another recipe; resume it with the recipe it was " +
                                        "started with, or train into a new folder");
        model.Latents = LatentFingerprint.Of(codec);
        return new CaptionerTask(recipe, cfg, model, codec, dir, status, comm);
    }

    // the data recipe's codec: pixels, or the VAE (the run's own copy in DIR/vae, which rank 0 makes from vaeDir
    // for a new run while the other ranks wait)
    static ILatentCodec Codec(DitRecipe data, string dir, string? vaeDir, Communicator comm)
    {
        if (data.Clip.Latents != LatentSpace.Vae) return new PixelLatents(data.Clip.Factor);
        string own = Path.Combine(dir, "vae");
        if (comm.IsRoot && !Directory.Exists(own))
        {
            if (vaeDir is null)
                throw new ArgumentException("this captioner reads a VAE's latents: give the VAE folder (--vae, a " +
                                            "`spacetime train vae` output such as models/spacetime/vae)");
            var vae = VaeCheckpoint.Load(vaeDir);
            VaeCheckpoint.Save(vae, own);
        }
        comm.SetupPoint();
        var latents = new VaeLatents(VaeCheckpoint.Load(own));
        latents.Vae.Eval();
        return latents;
    }

    // BPE learned from world captions of seeds no training clip uses (as DitTrainer.NewModel does for the DiT)
    static BpeTokenizer Tokenizer(CaptionerRecipe recipe, ulong seed)
    {
        var data = recipe.DataRecipe;
        var captions = Enumerable.Range(0, recipe.TokenizerCaptions)
            .Select(i => WorldClip.Describe(DitTrainer.ClipFor(data.Clip, WorldClip.DeriveSeed((long)seed ^ 0x70CE, i))).Caption);
        return BpeTokenizer.Train(captions, recipe.Net.VocabSize);
    }

    internal sealed class CaptionerTask(CaptionerRecipe recipe, TrainConfig cfg, Captioner model, ILatentCodec codec,
                                        string dir, Action<string, int, int>? status, Communicator comm) : ITrainTask
    {
        readonly LatentCache cache = LatentCache.Open(recipe.DataRecipe, cfg.Seed, codec, Path.Combine(dir, "train"),
                                                      null, status, comm);

        public Module Model => model;
        public IReadOnlyList<string> Metrics => ["token_acc"];
        public Captioner Captioner => model;

        public (Tensor Loss, float[] Metrics) Loss(int step, int micro, Rng rng)
        {
            var (latents, texts) = cache.Draw(cfg.Batch, rng, minLatentFrames: 2);         // (B, C, T', h, w)
            var (inputs, targets, L) = Teacher(model.Tokenizer, texts.Select(t => t.Caption).ToArray(),
                                               model.Config.MaxTokens);
            OpProfile.MarkCurrent();                                    // the draw is no op's time
            var logits = model.Logits(model.Encode(latents), inputs, L);                   // (B, L, V)
            var flat = logits.Reshape(cfg.Batch * L, model.Config.VocabSize);              // (B·L, V)
            return (F.CrossEntropy(flat, targets), [TokenAccuracy(flat, targets)]);
        }

        public void Export(string dir) => model.Save(dir);
    }

    /// <summary>Lengths are padded up to a multiple of this, so that a run sees a few tensor shapes rather than one per
    /// caption length: the engine pools buffers by exact size, and a shape per length grew it past 15 GB.</summary>
    internal const int LengthStep = 64;

    /// <summary>Teacher forcing for B captions: inputs (B·L) = &lt;bos&gt; caption, targets (B·L) = caption
    /// &lt;eos&gt;, padded to the longest rounded up to <see cref="LengthStep"/> (at most maxTokens; inputs with
    /// &lt;pad&gt;, targets with -100, which the loss ignores).</summary>
    internal static (int[] Inputs, int[] Targets, int L) Teacher(BpeTokenizer tokenizer, string[] captions, int maxTokens)
    {
        var rows = captions.Select(c => tokenizer.EncodeCaption(c, maxTokens + 1)).ToArray();   // <bos> .. <eos>
        int longest = Math.Max(1, rows.Max(r => r.Length) - 1);
        int L = Math.Min(maxTokens, (longest + LengthStep - 1) / LengthStep * LengthStep);
        var inputs = new int[rows.Length * L];
        var targets = new int[rows.Length * L];
        Array.Fill(targets, -100);
        for (int b = 0; b < rows.Length; b++)
            for (int i = 0; i + 1 < rows[b].Length; i++)
                (inputs[b * L + i], targets[b * L + i]) = (rows[b][i], rows[b][i + 1]);
        return (inputs, targets, L);
    }

    // the share of non-ignored targets whose logit is the row's largest
    static float TokenAccuracy(Tensor logits, int[] targets)
    {
        int V = logits.Size(1);
        var values = logits.ToArray();
        int right = 0, counted = 0;
        for (int r = 0; r < targets.Length; r++)
        {
            if (targets[r] < 0) continue;
            var row = values.AsSpan(r * V, V);
            int best = 0;
            for (int k = 1; k < V; k++) if (row[k] > row[best]) best = k;
            counted++;
            if (best == targets[r]) right++;
        }
        return counted == 0 ? 0 : right / (float)counted;
    }
}
