// DitTrainer: the text-to-video DiT as a training task (the loop itself is Trainer.Run). One micro-batch:
//     clips -> latents x0 (B, C, T', h, w)     (rendered now, or drawn from the run's latent cache)
//     captions: dense caption, short prompt or "" (caption dropout, for classifier-free guidance)
//     t ~ logit-normal, noise ~ N(0, I), known frames from the mask mix (image-to-video, extend, ...)
//     x_t and the rectified-flow velocity target (known frames clean and out of the loss) -> MSE
// The text encoder trains jointly. With a VAE recipe, the clips are encoded once into DIR/train/latents.safetensors
// (the latent cache) and every step draws from it, so the frozen VAE costs nothing per step; the cache is part of
// the run (a resumed run reads it back, bit-identical).
// LoRA (TrainLora) is the same task in another mode: the base model's weights are frozen (no gradient is computed for
// them), the module the loop optimises, averages and checkpoints is the adapter set alone, and the export is the
// adapter file instead of a model folder. A LoRA run may mix in a second dataset (LoraMix.Prior: clips of what the base
// already does, drawn for a share of the micro-batches, as DreamBooth's prior preservation) and weigh the objects'
// latent pixels up where its clips carry the simulator's truth.
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
using Spacetime.Training.Distributed;
using Spacetime.World;

namespace Spacetime.Training;

/// <summary>Trains a text-to-video DiT (and its text encoder) on world clips.</summary>
public static class DitTrainer
{
    /// <summary>
    /// Trains into <paramref name="dir"/>, resuming from its checkpoint when there is one (the model is then rebuilt
    /// from the run's own folder, tokenizer included). A new run starts from <paramref name="init"/>'s weights when
    /// given (see <see cref="StartFrom"/>), else from a fresh model. A VAE recipe needs <paramref name="vaeDir"/> (a
    /// `train vae` folder) for a new run from scratch; a resumed run uses its own copy in DIR/vae.
    /// <paramref name="status"/> hears about slow preparation (the latent cache). <paramref name="comm"/>: the ranks
    /// of a data-parallel run (Trainer.Run); rank 0 builds the latent cache, the others read it.
    /// </summary>
    public static TrainResult Train(DitRecipe recipe, TrainConfig cfg, string dir, Action<TrainProgress>? progress = null,
                                    int? stopAt = null, string? vaeDir = null, Action<string, int, int>? status = null,
                                    Dataset? data = null, TextVideoModel? init = null, Communicator? comm = null,
                                    TextEncoder? text = null) =>
        Trainer.Run(NewTask(recipe, cfg, dir, vaeDir, status, data, init, comm, text), cfg, dir, progress, stopAt, comm);

    // the task of Train: the model resumed, started from `init` or fresh, and the latent cache opened; `text`, when
    // given, replaces a new run's text encoder and tokenizer (a resumed run has its own)
    internal static DitTask NewTask(DitRecipe recipe, TrainConfig cfg, string dir, string? vaeDir = null,
                                    Action<string, int, int>? status = null, Dataset? data = null,
                                    TextVideoModel? init = null, Communicator? comm = null, TextEncoder? text = null)
    {
        if (data is not null && recipe.CacheClips == 0)
            throw new ArgumentException("this recipe renders world clips every step; training on a folder needs a " +
                                        "recipe with a latent cache (e.g. world-s)");
        if (data is { Clips.Count: 0 }) throw new ArgumentException($"{data.Root}: the dataset has no usable clips");
        cfg.Validate();
        TextVideoModel model;
        bool resumed = Trainer.HasCheckpoint(dir);
        if (resumed) model = Resumed(recipe, dir);
        else if (init is not null) model = StartFrom(recipe, cfg.Seed, init).Model;
        else
        {
            var vae = recipe.Clip.Latents != LatentSpace.Vae ? null : VaeCheckpoint.Load(vaeDir ?? throw new ArgumentException(
                "this recipe trains in a VAE's latent space: give the VAE folder (`spacetime train vae` output)"));
            model = NewModel(recipe, cfg.Seed, vae);
        }
        if (text is not null && !resumed) model = WithText(recipe, model, text);
        (model.Latents as VaeLatents)?.Vae.Eval();
        if (recipe.TextLr == 0)
            foreach (var p in model.Text.Parameters()) p.RequiresGrad = false;
        return new DitTask(recipe, cfg, model, dir, data, status, comm ?? Communicator.Single);
    }

    /// <summary>
    /// Trains LoRA adapters shaped by <paramref name="lora"/> for <paramref name="model"/> (loaded from the folder
    /// that <paramref name="identity"/> names) on the clips of <paramref name="data"/>, into the run folder
    /// <paramref name="dir"/> (export: DIR/adapter.safetensors). The model is frozen and the adapters stay attached to
    /// its DiT. The clips are resampled to the model's training size and length and trained text-to-video only (no
    /// masked frames). With <paramref name="words"/>, the adapter also teaches the text encoder those new words, each
    /// an embedding of its own (textual inversion; targets None trains the words alone). A run resumes from its
    /// checkpoint when there is one; another base model, rank, alpha, targets or words than the run's is refused.
    /// </summary>
    public static TrainResult TrainLora(TextVideoModel model, ModelIdentity identity, LoraConfig lora, TrainConfig cfg,
                                        string dir, Dataset data, Action<TrainProgress>? progress = null,
                                        int? stopAt = null, Action<string, int, int>? status = null,
                                        Communicator? comm = null, LoraMix? mix = null, LoraWords? words = null) =>
        Trainer.Run(NewLoraTask(model, identity, lora, cfg, dir, data, status, comm, mix, words), cfg, dir, progress,
                    stopAt, comm);

    // the task of TrainLora: the base frozen, the adapters built (A from the run's seed, B zero) and attached
    internal static DitTask NewLoraTask(TextVideoModel model, ModelIdentity identity, LoraConfig lora, TrainConfig cfg,
                                        string dir, Dataset data, Action<string, int, int>? status = null,
                                        Communicator? comm = null, LoraMix? mix = null, LoraWords? words = null)
    {
        if (data.Clips.Count == 0) throw new ArgumentException($"{data.Root}: the dataset has no usable clips");
        mix ??= new LoraMix();
        mix.Validate();
        cfg.Validate();
        var wordList = words?.Words ?? [];
        lora.Validate(newWords: wordList.Count > 0);
        string exported = Path.Combine(dir, LoraAdapter.FileName);
        if (Trainer.HasCheckpoint(dir) && File.Exists(exported))
        {
            var was = LoraAdapter.ReadHeader(exported);
            if (was.BaseModel.WeightsSha256 != identity.WeightsSha256)
                throw new ArgumentException($"{dir} holds adapters trained on another base model " +
                                            $"('{was.BaseModel.Id}'); resume with that --model, or train into a new " +
                                            "folder");
            if (was.Config != lora || !was.Words.SequenceEqual(wordList))
                throw new ArgumentException($"{dir} holds adapters of rank {was.Config.Rank}, alpha " +
                                            $"{was.Config.Alpha}, targets {was.Config.Targets}, new words " +
                                            $"{was.WordList}; resume with the same, or train into a new folder");
        }
        foreach (var p in model.Parameters()) p.RequiresGrad = false;
        var newWords = wordList.Count == 0 ? null : words!.Start(model);
        var adapter = new LoraAdapter(new DitLora(model.Dit, lora, cfg.Seed, newWords), identity);
        adapter.Attach(model);
        (model.Latents as VaeLatents)?.Vae.Eval();
        // the prior's clips weigh 1 everywhere (no truth read): they stand for the base as it is, unbiased
        var recipe = LoraRecipe(model, data.Clips.Count, mix.ObjectWeight);
        comm ??= Communicator.Single;
        (LatentCache, double)? prior = mix.Prior is not { } priorData ? null
            : (LatentCache.Open(recipe with { CacheClips = priorData.Clips.Count, ObjectWeight = 0 }, cfg.Seed,
                                model.Latents, Path.Combine(dir, "train"), priorData, status, comm, LatentCache.PriorFile),
               mix.PriorShare);
        return new DitTask(recipe, cfg, model, dir, data, status, comm, adapter, prior);
    }

    // What a LoRA run trains on: the base model's networks and clip size, every clip of the folder in the latent cache
    // (one bucket: the base's size), a quarter short prompts as the world recipes have, text-to-video only.
    static DitRecipe LoraRecipe(TextVideoModel m, int clips, float objectWeight) =>
        new(m.Dit.Config, m.Text.Config, m.Config, TokenizerCaptions: 0, PromptShare: 0.25, CacheClips: clips,
            ObjectWeight: objectWeight);

    // the run's exported folder (written at every checkpoint) rebuilt; the trainer then loads the raw weights
    static TextVideoModel Resumed(DitRecipe recipe, string dir)
    {
        var model = TextVideoModel.Load(dir);
        if (model.Dit.Config != recipe.Dit || model.Text.Config != recipe.Text)
            throw new ArgumentException($"{dir} holds a run of another recipe (its networks differ); resume it with " +
                                        "the recipe it was started with, or train into a new folder");
        return model;
    }

    /// <summary>
    /// A new run's model started from a trained one (fine-tuning, or a recipe's second stage): the text encoder and
    /// tokenizer as they are (or with the token skip added, when the recipe's encoder differs only by it), the DiT
    /// built from the recipe with every weight the trained DiT has. Tensors the recipe adds keep their initialisation
    /// (returned by name); the trained model must not have weights the recipe lacks, nor another text encoder or
    /// latent space.
    /// </summary>
    public static (TextVideoModel Model, IReadOnlyList<string> Fresh) StartFrom(DitRecipe recipe, ulong seed,
                                                                              TextVideoModel init)
    {
        var text = init.Text;
        if (text.Config != recipe.Text)
        {
            // the one change allowed: the recipe adds the token skip, which starts at zero (the same tokens)
            if (!recipe.Text.TokenSkip || text.Config with { TokenSkip = true } != recipe.Text)
                throw new ArgumentException("--init: its text encoder differs from the recipe's");
            text = new TextEncoder(recipe.Text, init.Text.Tokenizer, new Rng(seed));
            text.LoadStateDict(init.Text.StateDict(), strict: false);   // all but token_skip, which stays zero
        }
        if (init.Config.Latents != recipe.Clip.Latents || init.Config.Latents == LatentSpace.PixelSpace
            && init.Config.Factor != recipe.Clip.Factor)
            throw new ArgumentException($"--init: its latent space ({init.Config.Latents}, {init.Config.Factor}x) " +
                                        $"differs from the recipe's ({recipe.Clip.Latents}, {recipe.Clip.Factor}x)");
        var dit = new VideoDit(recipe.Dit, seed);
        var state = Grown(init.Dit.StateDict(), init.Dit.Config, recipe.Dit);
        LoadResult loaded;
        try { loaded = dit.LoadStateDict(state, strict: false); }
        catch (InvalidDataException e) { throw new ArgumentException($"--init: {e.Message}"); }
        if (loaded.Unexpected.Count > 0)
            throw new ArgumentException($"--init: its DiT has weights the recipe's lacks ({loaded.Unexpected[0]}, ...)");
        var config = recipe.Clip with { Factor = init.Config.Factor };
        var fresh = text == init.Text ? loaded.Missing : [.. loaded.Missing, TokenSkipName];
        return (new TextVideoModel(dit, text, config, (init.Latents as VaeLatents)?.Vae), fresh);
    }

    /// <summary>
    /// Where block i of a DiT with <paramref name="from"/> blocks goes in one grown to <paramref name="to"/> (depth
    /// growth, `train dit --init` with a deeper recipe): spread evenly, first to first and last to last
    /// (i (to - 1) / (from - 1), rounded down: strictly increasing, as to &gt;= from).
    /// </summary>
    public static int GrownBlock(int i, int from, int to) => from == 1 ? 0 : (int)((long)i * (to - 1) / (from - 1));

    /// <summary>True when <paramref name="recipe"/> is the <paramref name="trained"/> DiT with more blocks, which
    /// `--init` grows (see <see cref="GrownBlock"/>).</summary>
    public static bool Grows(DitConfig trained, DitConfig recipe) =>
        recipe.Depth > trained.Depth && trained with { Depth = recipe.Depth } == recipe;

    // The trained DiT's state with its blocks renumbered to their places in a deeper recipe (depth growth): when the
    // recipe's DiT is the trained one with more blocks, block i's weights go to GrownBlock(i); the blocks between
    // keep their fresh initialisation, which makes each an identity (adaLN-Zero: gates and the cross-attention
    // output start at zero), so the grown model predicts exactly what the trained one did and training goes on from
    // there with the extra depth. Any other recipe gets the state unchanged.
    static IReadOnlyDictionary<string, Tensor> Grown(IReadOnlyDictionary<string, Tensor> state, DitConfig trained,
                                                     DitConfig recipe)
    {
        if (!Grows(trained, recipe)) return state;
        return state.ToDictionary(kv => VideoDit.TrySplitBlockKey(kv.Key, out int block, out string rest)
                                      ? VideoDit.BlockKey(GrownBlock(block, trained.Depth, recipe.Depth), rest)
                                      : kv.Key,
                                  kv => kv.Value);
    }

    // the token skip's name among a TextVideoModel's parameters
    const string TokenSkipName = "text." + TextEncoder.TokenSkipKey;

    /// <summary>The same DiT and latent space with another trained model's text encoder and tokenizer (`train dit
    /// --text-from`); its configuration must be the recipe's.</summary>
    public static TextVideoModel WithText(DitRecipe recipe, TextVideoModel model, TextEncoder text)
    {
        CheckText(recipe, text);
        return new TextVideoModel(model.Dit, text, model.Config, (model.Latents as VaeLatents)?.Vae);
    }

    /// <summary>Throws ArgumentException unless <paramref name="text"/> is built as the recipe's text encoder.</summary>
    public static void CheckText(DitRecipe recipe, TextEncoder text)
    {
        if (text.Config != recipe.Text)
            throw new ArgumentException($"its text encoder (width {text.Config.Width}, depth {text.Config.Depth}, " +
                                        $"vocabulary {text.Config.VocabSize}) is not the recipe's (width " +
                                        $"{recipe.Text.Width}, depth {recipe.Text.Depth}, vocabulary " +
                                        $"{recipe.Text.VocabSize})");
    }

    /// <summary>A fresh model: the tokenizer learned from world captions, both networks initialised from the seed.
    /// </summary>
    public static TextVideoModel NewModel(DitRecipe recipe, ulong seed, VideoVae? vae = null)
    {
        var texts = Enumerable.Range(0, recipe.TokenizerCaptions)
            .Select(i => WorldClip.Describe(ClipFor(recipe.Clip, WorldClip.DeriveSeed((long)seed ^ 0x70CE, i))))
            .SelectMany(truth => recipe.PromptShare >= 1 ? [truth.Prompt] : new[] { truth.Caption, truth.Prompt });
        return TextVideoModel.Create(recipe.Dit, recipe.Text, recipe.Clip, texts, seed, vae);
    }

    // (B, 1, T', h, w): 1 + extra on the latent pixels under an object's box (any part of it visible) in a frame that
    // the latent frame covers, 1 elsewhere and for clips without truth
    internal static Tensor ObjectWeights(IReadOnlyList<ClipTruth?> truths, ILatentCodec codec, float extra, int frames,
                                         int h, int w)
    {
        var map = new float[truths.Count * frames * h * w];
        Array.Fill(map, 1f);
        int f = codec.SpatialFactor, k = codec.TemporalFactor;
        for (int i = 0; i < truths.Count; i++)
        {
            if (truths[i] is not { } truth) continue;
            for (int j = 0; j < frames; j++)
                for (int v = j == 0 ? 0 : (j - 1) * k + 1; v <= j * k && v < truth.Frames.Count; v++)   // j's frames
                    foreach (var o in truth.Frames[v].Objects.Where(o => o.Visible > 0))
                    {
                        int x0 = Math.Max(0, (int)Math.Floor(o.Box[0] / f)), x1 = Math.Min(w, (int)Math.Ceiling(o.Box[2] / f));
                        int y0 = Math.Max(0, (int)Math.Floor(o.Box[1] / f)), y1 = Math.Min(h, (int)Math.Ceiling(o.Box[3] / f));
                        for (int y = y0; y < y1 && x1 > x0; y++)
                            map.AsSpan(((i * frames + j) * h + y) * w + x0, x1 - x0).Fill(1 + extra);
                    }
        }
        return Tensor.From(map, truths.Count, 1, frames, h, w);
    }

    internal static ClipSettings ClipFor(TextVideoConfig c, long seed, ClipBucket? bucket = null)
    {
        var (w, h, frames) = bucket is { } b ? (b.Width, b.Height, b.Frames) : (c.Width, c.Height, c.Frames);
        return new(seed, w, h, frames / c.Fps, c.Fps);
    }

    /// <summary>The draws of one micro-batch: clean latents x0 (B, C, T', h, w) and their texts, the captions
    /// trained on ("" when dropped), times t (B), noise like x0, and the known frames (B, 1, T', 1, 1) or null.</summary>
    internal sealed record Draws(Tensor X0, CachedText[] Texts, string[] Captions, Tensor T, Tensor Noise, Tensor? Known);

    // lora: null trains the whole model; else only these adapters (attached to the frozen model's DiT)
    // prior: a second latent cache that a share of the micro-batches is drawn from (LoRA's prior preservation)
    internal sealed class DitTask(DitRecipe recipe, TrainConfig cfg, TextVideoModel model, string dir, Dataset? data,
                                  Action<string, int, int>? status, Communicator comm,
                                  LoraAdapter? lora = null, (LatentCache Cache, double Share)? prior = null) : ITrainTask
    {
        readonly IPath path = PathConfig.Presets["RF"].Create();                     // rectified flow, velocity
        readonly TimestepSampler timesteps = TimestepSampler.Presets["logit-normal"]; // SD3's lognorm(0, 1)
        readonly LatentCache? cache = recipe.CacheClips > 0
            ? LatentCache.Open(recipe, cfg.Seed, model.Latents, Path.Combine(dir, "train"), data, status, comm,
                               resumed: Trainer.HasCheckpoint(dir)) : null;

        public Module Model => lora is null ? model : lora.Layers;

        // the text encoder's parameters ("text." in the TextVideoModel) at the recipe's TextLr (a LoRA recipe's is 1),
        // but the token skip at the full rate: it is new, where the rest is a trained encoder kept slow
        public Func<string, float>? LrScale => recipe.TextLr == 1 ? null
            : name => name.StartsWith("text.", StringComparison.Ordinal) && name != TokenSkipName ? recipe.TextLr : 1f;
        // tflop: the micro-batch's training cost in hardware FLOPs (10^12): forward multiply-adds of the DiT as the DiT
        // paper counts them (DitFlops), x2 FLOPs per multiply-add, x3 for forward + backward; the text encoder (under
        // 2% of the DiT's) is not counted. Summed over a run's rows, it is the x axis of the scaling study. A LoRA run
        // computes no weight gradients for the frozen base, so x2 (forward + input gradients) instead of x3 (the
        // adapters' own few percent are not counted).
        // temporal: the temporal-difference term (Losses.TemporalDifference) before its λ, for recipes that add it
        public IReadOnlyList<string> Metrics => recipe.TemporalWeight > 0 ? ["tflop", "temporal"] : ["tflop"];

        public TextVideoModel TextVideo => model;

        public (Tensor Loss, float[] Metrics) Loss(int step, int micro, Rng rng)
        {
            var d = Draw(step, micro, rng);
            var example = Objective.Prepare(path, d.X0, d.Noise, d.T, d.Known);             // x_t, velocity target
            var weight = example.Weight;                                                    // (B, 1, T', 1, 1) or null
            if (ObjectWeights(d) is { } objects) weight = weight is null ? objects : weight * objects;
            OpProfile.MarkCurrent();                       // the draw, x_t and the weights are no op's time
            var text = model.Text.Encode(d.Captions);                                       // (B, L, Dt)
            var prediction = model.Predict(example.Input, d.T, text);                       // (B, C, T', h, w)
            double macs = DitFlops.VideoForward(recipe.Dit, d.X0.Size(2), d.X0.Size(3), d.X0.Size(4), text.Tokens.Size(1));
            double passes = lora is null ? 6 : 4;
            float tflop = (float)(passes * macs * cfg.Batch / 1e12);
            if (recipe.TemporalWeight <= 0) return (Objective.Loss(prediction, example.Target, weight), [tflop]);
            var error = prediction - example.Target;                                        // (B, C, T', h, w)
            var loss = Losses.WeightedMeanSquare(error, weight);                            // Objective.Loss, from it
            // a single-frame bucket has no frame pairs: its term is 0
            var temporal = Losses.TemporalDifference(error, weight);
            return temporal is null ? (loss, [tflop, 0f])
                 : (loss + temporal * recipe.TemporalWeight, [tflop, temporal.Item()]);
        }

        // Every random draw of a micro-batch, from `rng` alone, so a step's draws can be made again outside the loop
        // (TrainParity).
        internal Draws Draw(int step, int micro, Rng rng)
        {
            var source = prior is { } p && rng.NextFloat() < p.Share ? p.Cache : cache;  // no draw without a prior
            var (x0, texts) = source?.Draw(cfg.Batch, rng) ?? Render(step, micro);        // (B, C, T', h, w)
            var captions = texts.Select(text => Caption(text, rng)).ToArray();
            var t = timesteps.Sample(cfg.Batch, rng);                                        // (B) in (0, 1]
            var noise = rng.Normal(x0.Shape.ToArray());                                      // (B, C, T', h, w)
            var known = recipe.Masks?.Sample(cfg.Batch, x0.Size(2), rng);                     // (B, 1, T', 1, 1)
            return new Draws(x0, texts, captions, t, noise, known);
        }

        // (B, 1, T', h, w) extra weight on the objects' latent pixels, or null when the recipe has none
        internal Tensor? ObjectWeights(Draws d) => recipe.ObjectWeight <= 0 ? null
            : DitTrainer.ObjectWeights(d.Texts.Select(x => x.Truth).ToArray(), model.Latents, recipe.ObjectWeight,
                                       d.X0.Size(2), d.X0.Size(3), d.X0.Size(4));

        public void Export(string dir)
        {
            if (lora is null) model.Save(dir);
            else lora.Save(Path.Combine(dir, LoraAdapter.FileName));
        }

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

        // clips of this micro-batch rendered now: the world seeds DeriveSeed(seed, (step·M + micro)·B + i), M the
        // micro-batches per step over all ranks (micro is the global micro-batch index)
        (Tensor, CachedText[]) Render(int step, int micro)
        {
            var latents = new Tensor[cfg.Batch];
            var truths = new CachedText[cfg.Batch];
            long first = ((long)step * cfg.MicroBatches + micro) * cfg.Batch;
            for (int i = 0; i < cfg.Batch; i++)
            {
                var clip = WorldClip.Render(ClipFor(recipe.Clip, WorldClip.DeriveSeed((long)cfg.Seed, first + i)));
                latents[i] = model.Latents.Encode(clip.Frames).Unsqueeze(0);                 // (1, C, T', h, w)
                truths[i] = new CachedText(clip.Caption, clip.Prompt, clip.Truth);
            }
            return (F.Concat(latents, 0), truths);
        }
    }
}

/// <summary>New words a LoRA run teaches the text encoder (textual inversion): each gets a token and an embedding of
/// its own, the only text weights that train.</summary>
/// <param name="Words">The words, as captions write them (letters only, lower case as in the world's captions).</param>
/// <param name="Init">A known word that roughly describes the new ones ("yellow" for olive): each starts from its
/// embedding, as in Gal et al.; null starts them from the mean embedding of the tokenizer's tokens.</param>
/// <param name="PerBlock">Also learn each word's offset to its token in every DiT block (P+, NewWords), zero at the
/// start.</param>
public sealed record LoraWords(IReadOnlyList<string> Words, string? Init = null, bool PerBlock = false)
{
    /// <summary>The words' starting embeddings for <paramref name="model"/>'s text encoder (and its DiT's blocks).
    /// </summary>
    public NewWords Start(TextVideoModel model)
    {
        var row = model.Text.EmbeddingOf(Init is null ? null : " " + Init).ToArray();              // (D)
        int K = Words.Count, D = row.Length;
        var rows = new float[K * D];
        for (int k = 0; k < K; k++) row.CopyTo(rows, k * D);
        return new NewWords(Words, Tensor.From(rows, K, D),                                        // (K, D)
                            PerBlock ? Tensor.Zeros(model.Dit.Config.Depth, K, D) : null);         // (Blocks, K, D)
    }
}

/// <summary>What a LoRA run mixes into its own clips (all off by default).</summary>
/// <param name="Prior">Clips of what the base model already does (e.g. `spacetime data synth` world clips), drawn for
/// <paramref name="PriorShare"/> of the micro-batches with their own captions: DreamBooth's prior preservation, which
/// keeps the adapter from changing what the new word does not name.</param>
/// <param name="PriorShare">Share of micro-batches drawn from <paramref name="Prior"/> (0 to 1, exclusive of 1).</param>
/// <param name="ObjectWeight">Extra loss weight on the latent pixels under the objects, for the run's own clips that
/// carry the simulator's truth (DitRecipe.ObjectWeight); a new colour or shape lives on a few percent of the pixels.
/// The prior's clips are never weighted: weighting tilts a model toward drawing more object than there is.</param>
public sealed record LoraMix(Dataset? Prior = null, double PriorShare = 0.5, float ObjectWeight = 0)
{
    /// <summary>Throws ArgumentException naming a bad value.</summary>
    public void Validate()
    {
        if (!(PriorShare >= 0 && PriorShare < 1))
            throw new ArgumentException($"prior share {PriorShare}: must be at least 0 and below 1 (the share of " +
                                        "micro-batches drawn from the prior clips)");
        if (Prior is { Clips.Count: 0 }) throw new ArgumentException($"{Prior.Root}: the prior dataset has no usable clips");
        if (!(ObjectWeight >= 0) || float.IsInfinity(ObjectWeight))
            throw new ArgumentException($"object weight {ObjectWeight}: must be 0 or more");
    }
}

/// <summary>One caption-able training clip of the cache: its captions (what the world or the dataset says) and, for
/// world clips, the simulator's truth (where the objects are).</summary>
internal readonly record struct CachedText(string Caption, string Prompt, ClipTruth? Truth = null);

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

    /// <summary>The cache file of a run's clips, and of a LoRA run's prior clips, in DIR/train.</summary>
    internal const string MainFile = "latents.safetensors", PriorFile = "prior-latents.safetensors";

    /// <summary>Clips in the cache.</summary>
    public int Count => texts.Sum(t => t.Length);

    /// <summary>The cache of the run in <paramref name="trainDir"/>, read or else encoded and written. In a
    /// data-parallel run rank 0 does that; the other ranks wait for it (a setup point) and read its file. A
    /// <paramref name="resumed"/> run whose file holds another number of clips than the recipe asks for (a run
    /// started with another `--cache-clips`) is refused rather than trained on on other data.</summary>
    public static LatentCache Open(DitRecipe recipe, ulong seed, ILatentCodec codec, string trainDir, Dataset? data,
                                   Action<string, int, int>? status, Communicator comm, string fileName = MainFile,
                                   bool resumed = false)
    {
        var buckets = recipe.AllBuckets;
        var sources = data is null ? WorldSources(recipe, seed) : FolderSources(recipe, data);
        var texts = buckets.Select((_, b) => sources.Where(x => x.Bucket == b).Select(x => x.Text).ToArray()).ToArray();
        string file = Path.Combine(trainDir, fileName);
        if (!comm.IsRoot)
        {
            comm.SetupPoint();                                                       // rank 0 has written it
            return Read(file, buckets.Count, texts, out _) ?? throw new DistributedException(
                $"rank {comm.Rank} cannot read {file}, which rank 0 wrote: every rank must see the run folder " +
                "(OUT on a file system they share)");
        }
        var cache = Read(file, buckets.Count, texts, out long stored);
        if (cache is null && resumed && stored > 0 && stored != sources.Count)
            throw new ArgumentException($"{file} holds {stored} clips and this run asks for {sources.Count}: resume " +
                                        "with the data and --cache-clips the run started with, or train into a new " +
                                        "folder");
        cache ??= Encode(sources, texts, buckets.Count, codec, file, status);
        comm.SetupPoint();
        return cache;
    }

    // the cache stored in `file` when it holds every bucket's clips, else null; `stored`: the clips the file holds
    // (0 when there is none)
    static LatentCache? Read(string file, int buckets, CachedText[][] texts, out long stored)
    {
        stored = 0;
        if (!File.Exists(file)) return null;
        var all = Safetensors.Read(file).Tensors;
        var tensors = Enumerable.Range(0, buckets).Select(b => all.GetValueOrDefault($"bucket{b}")).ToArray();
        stored = tensors.Sum(t => t?.Size(0) ?? 0);
        return tensors.Select((t, b) => t?.Size(0) == texts[b].Length).All(ok => ok) ? new LatentCache(tensors!, texts)
                                                                                     : null;
    }

    static LatentCache Encode(List<Source> sources, CachedText[][] texts, int buckets, ILatentCodec codec, string file,
                              Action<string, int, int>? status)
    {
        using var noGrad = Autograd.NoGrad();
        var parts = Enumerable.Range(0, buckets).Select(_ => new List<Tensor>()).ToArray();
        for (int i = 0; i < sources.Count; i++)
        {
            using var scope = TensorScope.Begin();
            parts[sources[i].Bucket].Add(codec.Encode(sources[i].Frames()).CopyUnscoped());  // (C, T', h, w)
            status?.Invoke("encoding clips", i + 1, sources.Count);
        }
        var all = parts.Select(Stack).ToArray();                                             // (N_b, C, T', h, w)
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
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
            return new Source(b, new CachedText(truth.Caption, truth.Prompt, truth), () => WorldClip.Render(settings).Frames);
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
            var truth = recipe.ObjectWeight > 0 ? FolderTruth(clip, buckets[b], recipe.Clip.Fps) : null;
            return new Source(b, new CachedText(clip.Caption, clip.Prompt, truth),
                              () => ClipSampler.Sample(clip.Load(), spec));
        }).ToList();
    }

    // A folder clip's truth (a `data synth` clip's truth JSON) when the clip is trained as it is: the bucket's size,
    // frame count and fps, so the boxes need no mapping. Else null: the clip weighs 1 everywhere.
    static ClipTruth? FolderTruth(Clip clip, ClipBucket bucket, double fps)
    {
        if (clip.TruthPath is not { } path || !File.Exists(path)) return null;
        ClipTruth truth;
        try { truth = ClipTruth.FromJson(File.ReadAllText(path)); }
        catch (System.Text.Json.JsonException e)
        {
            throw new InvalidDataException($"{path}: not a truth JSON ({e.Message}); remove its \"truth\" entry from " +
                                           "captions.jsonl or write it again with `spacetime data synth`");
        }
        return truth.Width == bucket.Width && truth.Height == bucket.Height && truth.FrameCount == bucket.Frames
               && Math.Abs(truth.Fps - fps) < 1e-9 && truth.Frames.Count == truth.FrameCount ? truth : null;
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
    /// <paramref name="rng"/>; only buckets of at least <paramref name="minLatentFrames"/> latent frames.</summary>
    public (Tensor Latents, CachedText[] Texts) Draw(int batch, Rng rng, int minLatentFrames = 1)
    {
        bool Allowed(int k) => latents[k].Rank == 5 && latents[k].Size(2) >= minLatentFrames && texts[k].Length > 0;
        int allowed = Enumerable.Range(0, texts.Length).Where(Allowed).Sum(k => texts[k].Length);
        if (allowed == 0) throw new InvalidOperationException($"the latent cache has no clips of {minLatentFrames}+ latent frames");
        int pick = rng.NextInt(allowed), b = 0;                    // with every bucket allowed: the draws of old
        for (; !Allowed(b) || pick >= texts[b].Length; b++)
            if (Allowed(b)) pick -= texts[b].Length;
        var src = latents[b];
        var picks = Enumerable.Range(0, batch).Select(_ => rng.NextInt(texts[b].Length)).ToArray();
        int per = src.Count / src.Size(0);
        var x = Tensor.Zeros([batch, .. src.Shape.ToArray()[1..]]);                          // (B, C, T', h, w)
        for (int i = 0; i < batch; i++) src.AsSpan().Slice(picks[i] * per, per).CopyTo(x.AsSpan().Slice(i * per, per));
        return (x, picks.Select(p => texts[b][p]).ToArray());
    }
}
