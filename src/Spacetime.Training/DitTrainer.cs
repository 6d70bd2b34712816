// DitTrainer: the training loop of the text-conditioned spacetime DiT, one readable function (STYLE.md §8 example 9,
// after DiT's train.py): draw world clips, encode them to latents, draw t (logit-normal) and noise, form x_t and the
// rectified-flow velocity target, MSE, backward, clip, AdamW with warmup + cosine, EMA, log every k, checkpoint
// every m. The text encoder trains jointly; captions are dropped to "" with probability CaptionDropout (for CFG).
//
// Exact resume: every random draw of step s comes from Rng(seed).Fork(s) and the clips of step s are the world
// seeds DeriveSeed(seed, s·B + i), so a run's state is its weights, EMA, optimizer state and step; a resumed run
// reproduces the uninterrupted one bit for bit (tested).
//
// Output folder DIR:
//     DIR/spacetime.json, DIR/dit/, DIR/text/   the EMA model, ready for `generate --model DIR`
//     DIR/train/                                state.json, model/ema/optimizer .safetensors (resume)
//     DIR/loss.csv                              step,loss,lr,grad_norm,seconds
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;
using Spacetime.Models.Text;
using Spacetime.Nn.Optim;
using Spacetime.Pipelines;
using Spacetime.World;

namespace Spacetime.Training;

/// <summary>The trainer's knobs.</summary>
public sealed record TrainConfig
{
    /// <summary>Total optimizer steps (also the length of the cosine schedule).</summary>
    public int Steps { get; init; } = 200;
    /// <summary>Clips per step.</summary>
    public int Batch { get; init; } = 4;
    /// <summary>Peak learning rate (small DiTs take 1e-3; DiT-XL uses 1e-4).</summary>
    public float Lr { get; init; } = 1e-3f;
    /// <summary>Final learning rate as a fraction of Lr (nanoGPT: 0.1).</summary>
    public float MinLrRatio { get; init; } = 0.1f;
    /// <summary>Linear warmup steps.</summary>
    public int WarmupSteps { get; init; } = 10;
    /// <summary>AdamW decoupled weight decay (DiT: 0).</summary>
    public float WeightDecay { get; init; } = 0f;
    /// <summary>Gradient clipping: max global L2 norm.</summary>
    public float ClipNorm { get; init; } = 1f;
    /// <summary>EMA decay (DiT: 0.9999 over 400k steps; short runs need a shorter memory).</summary>
    public float EmaDecay { get; init; } = 0.99f;
    /// <summary>Probability of training on the empty caption (PixArt/DiT: 0.1), for classifier-free guidance.</summary>
    public float CaptionDropout { get; init; } = 0.1f;
    /// <summary>Seed of weights, data and noise.</summary>
    public ulong Seed { get; init; } = 0;
    /// <summary>Write a checkpoint every this many steps (and always at the end or when stopped).</summary>
    public int CheckpointEvery { get; init; } = 50;
    /// <summary>Append a loss row every this many steps.</summary>
    public int LogEvery { get; init; } = 1;
    /// <summary>Stop (with a checkpoint) after this many minutes of wall time; 0: no limit.</summary>
    public double MaxMinutes { get; init; } = 0;

    /// <summary>Throws ArgumentException naming a bad value.</summary>
    public void Validate()
    {
        if (Steps < 1 || Batch < 1 || CheckpointEvery < 1 || LogEvery < 1 || WarmupSteps < 0)
            throw new ArgumentException("steps, batch, checkpoint-every and log-every must be positive");
        if (!(Lr > 0) || !(ClipNorm > 0) || EmaDecay is < 0 or >= 1 || CaptionDropout is < 0 or > 1 || MaxMinutes < 0)
            throw new ArgumentException($"lr {Lr}, clip {ClipNorm}, ema {EmaDecay}, caption dropout {CaptionDropout} " +
                                        $"or max minutes {MaxMinutes} out of range");
    }
}

/// <summary>One logged step, for progress bars.</summary>
public readonly record struct TrainProgress(int Step, int Steps, float Loss, float Lr, double StepsPerSecond, TimeSpan Eta);

/// <summary>How a run ended.</summary>
public sealed record TrainResult(int FirstStep, int Step, float LastLoss, bool StoppedByTime, TimeSpan Elapsed);

/// <summary>Trains a text-to-video DiT (and its text encoder) on world clips rendered on the fly.</summary>
public static class DitTrainer
{
    /// <summary>
    /// Trains into <paramref name="dir"/>, resuming from its checkpoint when there is one. <paramref name="stopAt"/>
    /// ends the run early at that step (as a time budget would), with a checkpoint.
    /// </summary>
    public static TrainResult Train(DitRecipe recipe, TrainConfig cfg, string dir, Action<TrainProgress>? progress = null,
                                    int? stopAt = null)
    {
        cfg.Validate();
        var clock = Stopwatch.StartNew();
        bool resume = File.Exists(StatePath(dir));
        var (model, firstStep) = resume ? (TextVideoModel.Load(dir), ReadState(dir, cfg)) : (NewModel(recipe, cfg.Seed), 0);
        model.Train();
        var path = PathConfig.Presets["RF"].Create();                      // rectified flow, velocity target
        var timesteps = TimestepSampler.Presets["logit-normal"];           // SD3's lognorm(0, 1)
        var opt = new AdamW(model.NamedParameters(), cfg.Lr, weightDecay: cfg.WeightDecay, noDecay: AdamW.BiasesAndNorms);
        var ema = new Ema(model, cfg.EmaDecay);
        if (resume) LoadTrainingState(dir, model, ema, opt);
        using var log = OpenLog(dir, firstStep);

        int step = firstStep;
        float loss = float.NaN;
        bool byTime = false;
        while (step < cfg.Steps && step < (stopAt ?? int.MaxValue))
        {
            if (cfg.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= cfg.MaxMinutes) { byTime = true; break; }
            using (var scope = TensorScope.Begin())
            {
                var rng = new Rng(cfg.Seed).Fork((ulong)step);              // every draw of this step
                var (x0, captions) = Batch(recipe, model.Latents, cfg, step, rng);   // (B, C, T, H, W), B captions
                var t = timesteps.Sample(cfg.Batch, rng);                    // (B) in (0, 1]
                var noise = rng.Normal(x0.Shape.ToArray());                  // (B, C, T, H, W)
                var example = Objective.Prepare(path, x0, noise, t);         // x_t and the velocity target
                var prediction = model.Predict(example.Input, t, model.Text.Encode(captions));
                var lossT = Objective.Loss(prediction, example.Target);
                opt.ZeroGrad();
                lossT.Backward();
                float gradNorm = Gradients.ClipGradNorm(model.Parameters(), cfg.ClipNorm);
                opt.Lr = LrSchedule.WarmupCosine(step, cfg.Lr, cfg.WarmupSteps, cfg.Steps, cfg.Lr * cfg.MinLrRatio);
                opt.Step();
                ema.Update(model);
                loss = lossT.Item();
                step++;
                if (step % cfg.LogEvery == 0)
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{step},{loss:G6},{opt.Lr:G6},{gradNorm:G6},{clock.Elapsed.TotalSeconds:F2}"));
            }
            double rate = (step - firstStep) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            progress?.Invoke(new TrainProgress(step, cfg.Steps, loss, opt.Lr, rate,
                                               TimeSpan.FromSeconds((cfg.Steps - step) / Math.Max(rate, 1e-9))));
            if (step % cfg.CheckpointEvery == 0 && step < cfg.Steps) Checkpoint(dir, model, ema, opt, step, cfg, log);
        }
        Checkpoint(dir, model, ema, opt, step, cfg, log);
        return new TrainResult(firstStep, step, loss, byTime, clock.Elapsed);
    }

    /// <summary>A fresh model: the tokenizer learned from world prompts, both networks initialised from the seed.</summary>
    public static TextVideoModel NewModel(DitRecipe recipe, ulong seed)
    {
        var prompts = Enumerable.Range(0, recipe.TokenizerCaptions)
            .Select(i => WorldClip.Describe(ClipFor(recipe.Clip, WorldClip.DeriveSeed((long)seed ^ 0x70CE, i))).Prompt);
        var tokenizer = BpeTokenizer.Train(prompts, recipe.Text.VocabSize);
        var text = new TextEncoder(recipe.Text, tokenizer, new Rng(seed).Fork(1));
        var dit = new VideoDit(recipe.Dit, seed);
        return new TextVideoModel(dit, text, recipe.Clip);
    }

    // Step `step`'s batch: world clips rendered now, as latents (B, C, T, H, W), and their prompts (some dropped).
    static (Tensor Latents, string[] Captions) Batch(DitRecipe recipe, ILatentCodec codec, TrainConfig cfg, int step, Rng rng)
    {
        var latents = new Tensor[cfg.Batch];
        var captions = new string[cfg.Batch];
        for (int i = 0; i < cfg.Batch; i++)
        {
            var clip = WorldClip.Render(ClipFor(recipe.Clip, WorldClip.DeriveSeed((long)cfg.Seed, (long)step * cfg.Batch + i)));
            latents[i] = codec.Encode(clip.Frames).Unsqueeze(0);                            // (1, C, T, H, W)
            captions[i] = rng.NextFloat() < cfg.CaptionDropout ? "" : clip.Prompt;
        }
        return (F.Concat(latents, 0), captions);
    }

    static ClipSettings ClipFor(TextVideoConfig c, long seed) => new(seed, c.Width, c.Height, c.Frames / c.Fps, c.Fps);

    //////// checkpoints

    // state.json: the step reached and the knobs that reached it (the model's own config is in the model folder)
    sealed record TrainState(int Step, TrainConfig Config);

    static readonly JsonSerializerOptions StateJson = new() { WriteIndented = true };

    static string TrainDir(string dir) => Path.Combine(dir, "train");
    static string StatePath(string dir) => Path.Combine(TrainDir(dir), "state.json");

    // The step to resume from. Only the length of the run and its logging may change on resume (a new Steps also
    // stretches the cosine schedule); anything else would not continue the same run, so it is refused.
    static int ReadState(string dir, TrainConfig cfg)
    {
        var state = JsonSerializer.Deserialize<TrainState>(File.ReadAllText(StatePath(dir)), StateJson)
                    ?? throw new InvalidDataException($"{StatePath(dir)}: empty training state.");
        var comparable = state.Config with
        {
            Steps = cfg.Steps, MaxMinutes = cfg.MaxMinutes, CheckpointEvery = cfg.CheckpointEvery, LogEvery = cfg.LogEvery,
        };
        if (comparable != cfg)
            throw new ArgumentException($"{dir} holds a run trained with {state.Config}; resume it with the same " +
                                        "settings (only steps, max minutes and checkpoint/log intervals may change)");
        return state.Step;
    }

    // The EMA weights as the model folder; the raw weights, EMA and optimizer state under train/; state.json last.
    // (Not yet atomic as a whole: a run killed mid-checkpoint can leave train/ files newer than state.json.)
    static void Checkpoint(string dir, TextVideoModel model, Ema ema, AdamW opt, int step, TrainConfig cfg,
                           StreamWriter log)
    {
        log.Flush();
        Directory.CreateDirectory(TrainDir(dir));
        Safetensors.Write(Path.Combine(TrainDir(dir), "model.safetensors"), model.StateDict());
        Safetensors.Write(Path.Combine(TrainDir(dir), "ema.safetensors"), ema.StateDict());
        Safetensors.Write(Path.Combine(TrainDir(dir), "optimizer.safetensors"), opt.StateDict());
        using (ema.SwapInto(model)) model.Save(dir);
        File.WriteAllText(StatePath(dir), JsonSerializer.Serialize(new TrainState(step, cfg), StateJson));
    }

    static void LoadTrainingState(string dir, TextVideoModel model, Ema ema, AdamW opt)
    {
        model.LoadStateDict(Safetensors.Read(Path.Combine(TrainDir(dir), "model.safetensors")).Tensors);
        ema.LoadStateDict(Safetensors.Read(Path.Combine(TrainDir(dir), "ema.safetensors")).Tensors);
        opt.LoadStateDict(Safetensors.Read(Path.Combine(TrainDir(dir), "optimizer.safetensors")).Tensors);
    }

    // loss.csv, keeping only the rows up to the step we resume from
    static StreamWriter OpenLog(string dir, int firstStep)
    {
        Directory.CreateDirectory(dir);
        var file = Path.Combine(dir, "loss.csv");
        var kept = File.Exists(file) && firstStep > 0
            ? File.ReadLines(file).Skip(1).Where(l => int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture) <= firstStep).ToList()
            : [];
        var writer = new StreamWriter(file, append: false);
        writer.WriteLine("step,loss,lr,grad_norm,seconds");
        foreach (var line in kept) writer.WriteLine(line);
        return writer;
    }
}
