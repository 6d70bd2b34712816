// DitTrainer: the text-to-video DiT as a training task (the loop itself is Trainer.Run). One micro-batch:
//     clips -> latents x0 (B, C, T', h, w)     (rendered now, or drawn from the run's latent cache)
//     captions: dense caption, short prompt or "" (caption dropout, for classifier-free guidance)
//     t ~ logit-normal, noise ~ N(0, I), known frames from the mask mix (image-to-video, extend, ...)
//     x_t and the rectified-flow velocity target (known frames clean and out of the loss) -> MSE
// The text encoder trains jointly. With a VAE recipe, the clips are encoded once into DIR/train/latents.safetensors
// (the latent cache) and every step draws from it, so the frozen VAE costs nothing per step; the cache is part of
// the run (a resumed run reads it back, bit-identical).
using Spacetime.Data;
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Media;
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
                                    int? stopAt = null, string? vaeDir = null, Action<string, int, int>? status = null,
                                    Dataset? data = null)
    {
        if (data is not null && recipe.CacheClips == 0)
            throw new ArgumentException("this recipe renders world clips every step; training on a folder needs a " +
                                        "recipe with a latent cache (e.g. world-s)");
        if (data is { Clips.Count: 0 }) throw new ArgumentException($"{data.Root}: the dataset has no usable clips");
        cfg.Validate();
        var vae = recipe.Clip.Latents != LatentSpace.Vae ? null
                : Trainer.HasCheckpoint(dir) ? VaeCheckpoint.Load(Path.Combine(dir, "vae"))
                : VaeCheckpoint.Load(vaeDir ?? throw new ArgumentException(
                    "this recipe trains in a VAE's latent space: give the VAE folder (`spacetime train vae` output)"));
        vae?.Eval();
        var task = new DitTask(recipe, cfg, NewModel(recipe, cfg.Seed, vae), dir, data, status);
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

    internal static ClipSettings ClipFor(TextVideoConfig c, long seed, ClipBucket? bucket = null)
    {
        var (w, h, frames) = bucket is { } b ? (b.Width, b.Height, b.Frames) : (c.Width, c.Height, c.Frames);
        return new(seed, w, h, frames / c.Fps, c.Fps);
    }

    sealed class DitTask(DitRecipe recipe, TrainConfig cfg, TextVideoModel model, string dir, Dataset? data,
                         Action<string, int, int>? status) : ITrainTask
    {
        readonly IPath path = PathConfig.Presets["RF"].Create();                     // rectified flow, velocity
        readonly TimestepSampler timesteps = TimestepSampler.Presets["logit-normal"]; // SD3's lognorm(0, 1)
        readonly LatentCache? cache = recipe.CacheClips > 0
            ? LatentCache.Open(recipe, cfg.Seed, model.Latents, Path.Combine(dir, "train"), data, status) : null;

        public Module Model => model;
        public IReadOnlyList<string> Metrics => [];

        public (Tensor Loss, float[] Metrics) Loss(int step, int micro, Rng rng)
        {
            var (x0, texts) = cache?.Draw(cfg.Batch, rng) ?? Render(step, micro);         // (B, C, T', h, w)
            var captions = texts.Select(text => Caption(text, rng)).ToArray();
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
        // (a clip without one of the two uses the other)
        string Caption(CachedText text, Rng rng)
        {
            float u = rng.NextFloat();
            bool prompt = u < cfg.CaptionDropout + recipe.PromptShare * (1 - cfg.CaptionDropout);
            return u < cfg.CaptionDropout ? ""
                 : prompt && text.Prompt.Length > 0 || text.Caption.Length == 0 ? text.Prompt : text.Caption;
        }

        // clips of this micro-batch rendered now: the world seeds DeriveSeed(seed, (step·A + micro)·B + i)
        (Tensor, CachedText[]) Render(int step, int micro)
        {
            var latents = new Tensor[cfg.Batch];
            var truths = new CachedText[cfg.Batch];
            long first = ((long)step * cfg.Accumulate + micro) * cfg.Batch;
            for (int i = 0; i < cfg.Batch; i++)
            {
                var clip = WorldClip.Render(ClipFor(recipe.Clip, WorldClip.DeriveSeed((long)cfg.Seed, first + i)));
                latents[i] = model.Latents.Encode(clip.Frames).Unsqueeze(0);                 // (1, C, T', h, w)
                truths[i] = new CachedText(clip.Caption, clip.Prompt);
            }
            return (F.Concat(latents, 0), truths);
        }
    }
}

/// <summary>One caption-able training clip of the cache: its captions (what the world or the dataset says).</summary>
internal readonly record struct CachedText(string Caption, string Prompt);

/// <summary>
/// The latents of a fixed set of clips, encoded once, grouped by bucket (one latent shape per bucket). World clips:
/// clip i is world seed DeriveSeed(seed ^ 0xCAC4E, i) rendered at bucket i mod (number of buckets), so its captions are
/// recomputed from the seed (physics only) and only the latents are stored. Folder clips (a `data synth` or user
/// dataset): each goes to the bucket nearest its aspect ratio, resampled to the bucket's frames, fps and size.
/// </summary>
internal sealed class LatentCache
{
    readonly Tensor[] latents;        // per bucket (N_b, C, T', h, w), unscoped
    readonly CachedText[][] texts;    // per bucket

    LatentCache(Tensor[] latents, CachedText[][] texts) => (this.latents, this.texts) = (latents, texts);

    internal static long Seed(ulong runSeed, int index) => WorldClip.DeriveSeed((long)runSeed ^ 0xCAC4E, index);

    /// <summary>Clips in the cache.</summary>
    public int Count => texts.Sum(t => t.Length);

    public static LatentCache Open(DitRecipe recipe, ulong seed, ILatentCodec codec, string trainDir, Dataset? data,
                                   Action<string, int, int>? status)
    {
        var buckets = recipe.AllBuckets;
        var sources = data is null ? WorldSources(recipe, seed) : FolderSources(recipe, data);
        var texts = buckets.Select((_, b) => sources.Where(x => x.Bucket == b).Select(x => x.Text).ToArray()).ToArray();
        string file = Path.Combine(trainDir, "latents.safetensors");
        if (File.Exists(file))
        {
            var stored = Safetensors.Read(file).Tensors;
            var tensors = buckets.Select((_, b) => stored.GetValueOrDefault($"bucket{b}")).ToArray();
            if (tensors.Select((t, b) => t?.Size(0) == texts[b].Length).All(ok => ok))
                return new LatentCache(tensors!, texts);
        }
        using var noGrad = Autograd.NoGrad();
        var parts = buckets.Select(_ => new List<Tensor>()).ToArray();
        for (int i = 0; i < sources.Count; i++)
        {
            using var scope = TensorScope.Begin();
            parts[sources[i].Bucket].Add(codec.Encode(sources[i].Frames()).CopyUnscoped());  // (C, T', h, w)
            status?.Invoke("encoding clips", i + 1, sources.Count);
        }
        var all = parts.Select(Stack).ToArray();                                             // (N_b, C, T', h, w)
        Directory.CreateDirectory(trainDir);
        Safetensors.Write(file, all.Select((t, b) => ($"bucket{b}", t)).ToDictionary(x => x.Item1, x => x.t));
        return new LatentCache(all, texts);
    }

    sealed record Source(int Bucket, CachedText Text, Func<Frames> Frames);

    static List<Source> WorldSources(DitRecipe recipe, ulong seed)
    {
        var buckets = recipe.AllBuckets;
        return Enumerable.Range(0, recipe.CacheClips).Select(i =>
        {
            int b = i % buckets.Count;
            var settings = DitTrainer.ClipFor(recipe.Clip, Seed(seed, i), buckets[b]);
            var truth = WorldClip.Describe(settings);
            return new Source(b, new CachedText(truth.Caption, truth.Prompt), () => WorldClip.Render(settings).Frames);
        }).ToList();
    }

    static List<Source> FolderSources(DitRecipe recipe, Dataset data)
    {
        var buckets = recipe.AllBuckets;
        return data.Clips.Select(clip =>
        {
            double aspect = clip.Width / (double)clip.Height;
            int b = Enumerable.Range(0, buckets.Count)
                .MinBy(k => Math.Abs(Math.Log(buckets[k].Width / (double)buckets[k].Height / aspect)));
            var spec = new SampleSpec(buckets[b].Frames, recipe.Clip.Fps, buckets[b].Height, buckets[b].Width);
            return new Source(b, new CachedText(clip.Caption, clip.Prompt), () => ClipSampler.Sample(clip.Load(), spec));
        }).ToList();
    }

    static Tensor Stack(List<Tensor> parts)
    {
        if (parts.Count == 0) return Tensor.Zeros(0);
        int per = parts[0].Count;
        var data = new float[parts.Count * per];
        for (int i = 0; i < parts.Count; i++) parts[i].AsSpan().CopyTo(data.AsSpan(i * per));
        return Tensor.From(data, [parts.Count, .. parts[0].Shape.ToArray()]);   // outside any scope: unpooled
    }

    /// <summary>A bucket drawn in proportion to its clips, then B of its clips (with replacement), by
    /// <paramref name="rng"/>.</summary>
    public (Tensor Latents, CachedText[] Texts) Draw(int batch, Rng rng)
    {
        int pick = rng.NextInt(Count), b = 0;
        while (pick >= texts[b].Length) pick -= texts[b++].Length;
        var src = latents[b];
        var picks = Enumerable.Range(0, batch).Select(_ => rng.NextInt(texts[b].Length)).ToArray();
        int per = src.Count / src.Size(0);
        var x = Tensor.Zeros([batch, .. src.Shape.ToArray()[1..]]);                          // (B, C, T', h, w)
        for (int i = 0; i < batch; i++) src.AsSpan().Slice(picks[i] * per, per).CopyTo(x.AsSpan().Slice(i * per, per));
        return (x, picks.Select(p => texts[b][p]).ToArray());
    }
}
