// DitTrainer: the text-to-video DiT as a training task (the loop itself is Trainer.Run). One micro-batch:
//     clips -> latents x0 (B, C, T', h, w)     (rendered now, or drawn from the run's latent cache)
//     captions: dense caption, short prompt or "" (caption dropout, for classifier-free guidance)
//     t ~ logit-normal, noise ~ N(0, I), known frames from the mask mix (image-to-video, extend, ...)
//     x_t and the rectified-flow velocity target (known frames clean and out of the loss) -> MSE
// The text encoder trains jointly. With a VAE recipe, the clips are encoded once into DIR/train/latents.safetensors
// (the latent cache) and every step draws from it, so the frozen VAE costs nothing per step; the cache is part of
// the run (a resumed run reads it back, bit-identical).
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;
using Spacetime.Models.Text;
using Spacetime.Models.Vae;
using Spacetime.Nn;
using Spacetime.Pipelines;
using Spacetime.World;

namespace Spacetime.Training;

/// <summary>Trains a text-to-video DiT (and its text encoder) on world clips.</summary>
public static class DitTrainer
{
    /// <summary>
    /// Trains into <paramref name="dir"/>, resuming from its checkpoint when there is one. A VAE recipe needs
    /// <paramref name="vaeDir"/> (a `train vae` folder) for a new run; a resumed run uses its own copy in DIR/vae.
    /// <paramref name="status"/> hears about slow preparation (the latent cache).
    /// </summary>
    public static TrainResult Train(DitRecipe recipe, TrainConfig cfg, string dir, Action<TrainProgress>? progress = null,
                                    int? stopAt = null, string? vaeDir = null, Action<string, int, int>? status = null)
    {
        cfg.Validate();
        var vae = recipe.Clip.Latents != LatentSpace.Vae ? null
                : Trainer.HasCheckpoint(dir) ? VaeCheckpoint.Load(Path.Combine(dir, "vae"))
                : VaeCheckpoint.Load(vaeDir ?? throw new ArgumentException(
                    "this recipe trains in a VAE's latent space: give the VAE folder (`spacetime train vae` output)"));
        vae?.Eval();
        var task = new DitTask(recipe, cfg, NewModel(recipe, cfg.Seed, vae), dir, status);
        return Trainer.Run(task, cfg, dir, progress, stopAt);
    }

    /// <summary>A fresh model: the tokenizer learned from world captions, both networks initialised from the seed.
    /// </summary>
    public static TextVideoModel NewModel(DitRecipe recipe, ulong seed, VideoVae? vae = null)
    {
        var texts = Enumerable.Range(0, recipe.TokenizerCaptions)
            .Select(i => WorldClip.Describe(ClipFor(recipe.Clip, WorldClip.DeriveSeed((long)seed ^ 0x70CE, i))))
            .SelectMany(truth => recipe.PromptShare >= 1 ? [truth.Prompt] : new[] { truth.Caption, truth.Prompt });
        var tokenizer = BpeTokenizer.Train(texts, recipe.Text.VocabSize);
        var text = new TextEncoder(recipe.Text, tokenizer, new Rng(seed).Fork(1));
        var dit = new VideoDit(recipe.Dit, seed);
        var config = vae is null ? recipe.Clip : recipe.Clip with { Factor = vae.Config.SpatialCompression };
        return new TextVideoModel(dit, text, config, vae);
    }

    internal static ClipSettings ClipFor(TextVideoConfig c, long seed) => new(seed, c.Width, c.Height, c.Frames / c.Fps, c.Fps);

    sealed class DitTask(DitRecipe recipe, TrainConfig cfg, TextVideoModel model, string dir,
                         Action<string, int, int>? status) : ITrainTask
    {
        readonly IPath path = PathConfig.Presets["RF"].Create();                     // rectified flow, velocity
        readonly TimestepSampler timesteps = TimestepSampler.Presets["logit-normal"]; // SD3's lognorm(0, 1)
        readonly LatentCache? cache = recipe.CacheClips > 0
            ? LatentCache.Open(recipe, cfg.Seed, model.Latents, Path.Combine(dir, "train"), status) : null;

        public Module Model => model;
        public IReadOnlyList<string> Metrics => [];

        public (Tensor Loss, float[] Metrics) Loss(int step, int micro, Rng rng)
        {
            var (x0, truths) = cache?.Draw(cfg.Batch, rng) ?? Render(step, micro);        // (B, C, T', h, w)
            var captions = truths.Select(truth => Caption(truth, rng)).ToArray();
            var t = timesteps.Sample(cfg.Batch, rng);                                        // (B) in (0, 1]
            var noise = rng.Normal(x0.Shape.ToArray());                                      // (B, C, T', h, w)
            var known = recipe.Masks?.Sample(cfg.Batch, x0.Size(2), rng);                     // (B, 1, T', 1, 1)
            var example = Objective.Prepare(path, x0, noise, t, known);                      // x_t, velocity target
            var prediction = model.Predict(example.Input, t, model.Text.Encode(captions));   // (B, C, T', h, w)
            return (Objective.Loss(prediction, example.Target, example.Weight), []);
        }

        public void Export(string dir) => model.Save(dir);

        // dropped ("") with probability CaptionDropout, else the short prompt with probability PromptShare, else
        // the dense caption
        string Caption(ClipTruth truth, Rng rng)
        {
            float u = rng.NextFloat();
            return u < cfg.CaptionDropout ? ""
                 : u < cfg.CaptionDropout + recipe.PromptShare * (1 - cfg.CaptionDropout) ? truth.Prompt
                 : truth.Caption;
        }

        // clips of this micro-batch rendered now: the world seeds DeriveSeed(seed, (step·A + micro)·B + i)
        (Tensor, ClipTruth[]) Render(int step, int micro)
        {
            var latents = new Tensor[cfg.Batch];
            var truths = new ClipTruth[cfg.Batch];
            long first = ((long)step * cfg.Accumulate + micro) * cfg.Batch;
            for (int i = 0; i < cfg.Batch; i++)
            {
                var clip = WorldClip.Render(ClipFor(recipe.Clip, WorldClip.DeriveSeed((long)cfg.Seed, first + i)));
                latents[i] = model.Latents.Encode(clip.Frames).Unsqueeze(0);                 // (1, C, T', h, w)
                truths[i] = clip.Truth;
            }
            return (F.Concat(latents, 0), truths);
        }
    }
}

/// <summary>
/// The latents of a fixed set of world clips, encoded once: clip i is world seed DeriveSeed(seed ^ 0xCAC4E, i), so the
/// captions are recomputed from the seeds (physics only) and only the latents are stored.
/// </summary>
internal sealed class LatentCache
{
    readonly Tensor latents;          // (N, C, T', h, w), unscoped
    readonly ClipTruth[] truths;

    LatentCache(Tensor latents, ClipTruth[] truths) => (this.latents, this.truths) = (latents, truths);

    internal static long Seed(ulong runSeed, int index) => WorldClip.DeriveSeed((long)runSeed ^ 0xCAC4E, index);

    public static LatentCache Open(DitRecipe recipe, ulong seed, ILatentCodec codec, string trainDir,
                                   Action<string, int, int>? status)
    {
        int n = recipe.CacheClips;
        var truths = new ClipTruth[n];
        for (int i = 0; i < n; i++) truths[i] = WorldClip.Describe(DitTrainer.ClipFor(recipe.Clip, Seed(seed, i)));
        string file = Path.Combine(trainDir, "latents.safetensors");
        if (File.Exists(file))
        {
            var stored = Safetensors.Read(file).Tensors["latents"];
            if (stored.Size(0) == n) return new LatentCache(stored, truths);
        }
        using var noGrad = Autograd.NoGrad();
        var parts = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            using var scope = TensorScope.Begin();
            var clip = WorldClip.Render(DitTrainer.ClipFor(recipe.Clip, Seed(seed, i)));
            parts[i] = codec.Encode(clip.Frames).CopyUnscoped();                             // (C, T', h, w)
            status?.Invoke("encoding clips", i + 1, n);
        }
        var all = Stack(parts);                                                              // (N, C, T', h, w)
        Directory.CreateDirectory(trainDir);
        Safetensors.Write(file, new Dictionary<string, Tensor> { ["latents"] = all });
        return new LatentCache(all, truths);
    }

    static Tensor Stack(Tensor[] parts)
    {
        int per = parts[0].Count;
        var data = new float[parts.Length * per];
        for (int i = 0; i < parts.Length; i++) parts[i].AsSpan().CopyTo(data.AsSpan(i * per));
        return Tensor.From(data, [parts.Length, .. parts[0].Shape.ToArray()]);   // outside any scope: unpooled
    }

    /// <summary>B clips drawn uniformly (with replacement) by <paramref name="rng"/>.</summary>
    public (Tensor Latents, ClipTruth[] Truths) Draw(int batch, Rng rng)
    {
        var picks = Enumerable.Range(0, batch).Select(_ => rng.NextInt(truths.Length)).ToArray();
        int per = latents.Count / latents.Size(0);
        var x = Tensor.Zeros([batch, .. latents.Shape.ToArray()[1..]]);                      // (B, C, T', h, w)
        var src = latents.AsSpan();
        for (int i = 0; i < batch; i++) src.Slice(picks[i] * per, per).CopyTo(x.AsSpan().Slice(i * per, per));
        return (x, picks.Select(p => truths[p]).ToArray());
    }
}
