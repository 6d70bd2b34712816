// Trainer: the ONE training loop (STYLE.md §8 example 9, after DiT's train.py and nanoGPT's train.py). A task (the
// VAE, the DiT) supplies the model and the loss of one micro-batch; the loop does everything else:
//
//     for step in firstStep..Steps:
//         for m in micro-batches:  loss = task.Loss(step, m, rng(step, m)) / Accumulate;  loss.backward()
//         clip the global gradient norm;  lr = warmup + cosine;  AdamW step;  EMA update
//         log a CSV row;  progress bar;  checkpoint every k steps and at the end or when the time budget is spent
//
// Exact resume: every random draw of step s comes from Rng(seed).Fork(s).Fork(m), and tasks draw their data from
// (seed, s, m) alone, so a run's state is its weights, EMA, optimizer state and step; a resumed run reproduces the
// uninterrupted one bit for bit (tested).
//
// Run folder DIR:
//     DIR/...                      the exported model (EMA weights), written by the task
//     DIR/train/                   state.json, model/ema/optimizer .safetensors (resume)
//     DIR/loss.csv, DIR/loss.png   step,loss,<task metrics>,lr,grad_norm,seconds and its plot
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Media;
using Spacetime.Nn;
using Spacetime.Nn.Optim;

namespace Spacetime.Training;

/// <summary>What a task trains and how one micro-batch's loss is computed.</summary>
public interface ITrainTask
{
    /// <summary>The module the optimizer trains (its state dict is checkpointed).</summary>
    Module Model { get; }
    /// <summary>Names of the extra numbers <see cref="Loss"/> reports, logged as CSV columns after the loss.</summary>
    IReadOnlyList<string> Metrics { get; }
    /// <summary>The loss of micro-batch <paramref name="micro"/> of step <paramref name="step"/> (a 0-d tensor to
    /// backpropagate) and its metrics; every random draw comes from <paramref name="rng"/> or from (step, micro).</summary>
    (Tensor Loss, float[] Metrics) Loss(int step, int micro, Rng rng);
    /// <summary>Writes the usable model (the task's own folder layout) into <paramref name="dir"/>; the model holds
    /// the weights to export (the EMA when there is one).</summary>
    void Export(string dir);
}

/// <summary>Runs a <see cref="ITrainTask"/> to a number of steps, with checkpoints and exact resume.</summary>
public static class Trainer
{
    /// <summary>True when <paramref name="dir"/> holds a run to resume.</summary>
    public static bool HasCheckpoint(string dir) => File.Exists(StatePath(dir));

    /// <summary>
    /// Trains <paramref name="task"/> into <paramref name="dir"/>, resuming from its checkpoint when there is one.
    /// <paramref name="stopAt"/> ends the run early at that step (as a time budget would), with a checkpoint.
    /// </summary>
    public static TrainResult Run(ITrainTask task, TrainConfig cfg, string dir, Action<TrainProgress>? progress = null,
                                  int? stopAt = null)
    {
        cfg.Validate();
        var clock = Stopwatch.StartNew();
        var model = task.Model;
        bool resume = HasCheckpoint(dir);
        int firstStep = resume ? ReadState(dir, cfg) : 0;
        model.Train();
        var opt = new AdamW(model.NamedParameters(), cfg.Lr, weightDecay: cfg.WeightDecay, noDecay: AdamW.BiasesAndNorms);
        var ema = cfg.EmaDecay > 0 ? new Ema(model, cfg.EmaDecay) : null;
        if (resume) LoadTrainingState(dir, model, ema, opt);
        using var log = OpenLog(dir, firstStep, task.Metrics);

        int step = firstStep;
        float loss = float.NaN;
        bool byTime = false;
        var metrics = new float[task.Metrics.Count];
        while (step < cfg.Steps && step < (stopAt ?? int.MaxValue))
        {
            if (cfg.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= cfg.MaxMinutes) { byTime = true; break; }
            opt.ZeroGrad();
            loss = 0;
            Array.Clear(metrics);
            for (int m = 0; m < cfg.Accumulate; m++)
            {
                using var scope = TensorScope.Begin();
                var (lossT, values) = task.Loss(step, m, StepRng(cfg, step, m));
                (cfg.Accumulate == 1 ? lossT : lossT * (1f / cfg.Accumulate)).Backward();
                loss += lossT.Item() / cfg.Accumulate;
                for (int k = 0; k < metrics.Length; k++) metrics[k] += values[k] / cfg.Accumulate;
            }
            float gradNorm = Gradients.ClipGradNorm(model.Parameters(), cfg.ClipNorm);
            opt.Lr = LrSchedule.WarmupCosine(step, cfg.Lr, Math.Min(cfg.WarmupSteps, cfg.Steps), cfg.Steps, cfg.Lr * cfg.MinLrRatio);
            opt.Step();
            ema?.Update(model);
            step++;
            if (step % cfg.LogEvery == 0)
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{step},{loss:G6},{string.Concat(metrics.Select(v => $"{v:G6},"))}{opt.Lr:G6},{gradNorm:G6}," +
                    $"{clock.Elapsed.TotalSeconds:F2}"));
            double rate = (step - firstStep) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            progress?.Invoke(new TrainProgress(step, cfg.Steps, loss, opt.Lr, rate,
                                               TimeSpan.FromSeconds((cfg.Steps - step) / Math.Max(rate, 1e-9))));
            if (step % cfg.CheckpointEvery == 0 && step < cfg.Steps) Checkpoint(dir, task, ema, opt, step, cfg, log);
        }
        Checkpoint(dir, task, ema, opt, step, cfg, log);
        return new TrainResult(firstStep, step, loss, byTime, clock.Elapsed);
    }

    /// <summary>The generator of every random draw of micro-batch <paramref name="micro"/> of step index
    /// <paramref name="step"/> (0-based): Rng(seed).Fork(step).Fork(micro).</summary>
    internal static Rng StepRng(TrainConfig cfg, int step, int micro) =>
        new Rng(cfg.Seed).Fork((ulong)step).Fork((ulong)micro);

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
        TrainState state;
        try
        {
            state = JsonSerializer.Deserialize<TrainState>(File.ReadAllText(StatePath(dir)), StateJson)
                    ?? throw new JsonException("the file holds null");
        }
        catch (JsonException e) { throw new InvalidDataException($"{StatePath(dir)}: {e.Message}", e); }
        var comparable = state.Config with
        {
            Steps = cfg.Steps, MaxMinutes = cfg.MaxMinutes, CheckpointEvery = cfg.CheckpointEvery, LogEvery = cfg.LogEvery,
        };
        if (comparable != cfg)
            throw new ArgumentException($"{dir} holds a run trained with {state.Config}; resume it with the same " +
                                        "settings (only steps, max minutes and checkpoint/log intervals may change)");
        return state.Step;
    }

    // The raw weights, EMA and optimizer state under train/, then the exported model (EMA weights), then state.json:
    // state.json is written last, so a run killed mid-checkpoint resumes from the previous complete one... as long as
    // the tensors it names are whole. Each file is itself written to a temp file and renamed (Safetensors.Write).
    static void Checkpoint(string dir, ITrainTask task, Ema? ema, AdamW opt, int step, TrainConfig cfg, StreamWriter log)
    {
        log.Flush();
        Directory.CreateDirectory(TrainDir(dir));
        var model = task.Model;
        Safetensors.Write(Path.Combine(TrainDir(dir), "model.safetensors"), model.StateDict());
        if (ema is not null) Safetensors.Write(Path.Combine(TrainDir(dir), "ema.safetensors"), ema.StateDict());
        Safetensors.Write(Path.Combine(TrainDir(dir), "optimizer.safetensors"), opt.StateDict());
        model.Eval();
        if (ema is null) task.Export(dir);
        else using (ema.SwapInto(model)) task.Export(dir);
        model.Train();
        LossPlot.TryWrite(dir);
        AtomicFile.WriteAllText(StatePath(dir), JsonSerializer.Serialize(new TrainState(step, cfg), StateJson));
    }

    static void LoadTrainingState(string dir, Module model, Ema? ema, AdamW opt)
    {
        model.LoadStateDict(Safetensors.Read(Path.Combine(TrainDir(dir), "model.safetensors")).Tensors);
        ema?.LoadStateDict(Safetensors.Read(Path.Combine(TrainDir(dir), "ema.safetensors")).Tensors);
        opt.LoadStateDict(Safetensors.Read(Path.Combine(TrainDir(dir), "optimizer.safetensors")).Tensors);
    }

    /// <summary>The loss log of a run folder.</summary>
    public static string LossCsv(string dir) => Path.Combine(dir, "loss.csv");

    // loss.csv, keeping only the rows up to the step we resume from
    static StreamWriter OpenLog(string dir, int firstStep, IReadOnlyList<string> metrics)
    {
        Directory.CreateDirectory(dir);
        var file = LossCsv(dir);
        var kept = File.Exists(file) && firstStep > 0
            ? File.ReadLines(file).Skip(1).Where(l => int.Parse(l.Split(',')[0], CultureInfo.InvariantCulture) <= firstStep).ToList()
            : [];
        var writer = new StreamWriter(file, append: false);
        writer.WriteLine($"step,loss,{string.Concat(metrics.Select(m => m + ","))}lr,grad_norm,seconds");
        foreach (var line in kept) writer.WriteLine(line);
        return writer;
    }
}
