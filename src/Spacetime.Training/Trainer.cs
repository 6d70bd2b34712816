// Trainer: the ONE training loop (STYLE.md §8 example 9, after DiT's train.py and nanoGPT's train.py). A task (the
// VAE, the DiT) supplies the model and the loss of one micro-batch; the loop does everything else:
//
//     for step in firstStep..Steps:
//         for m in this rank's micro-batches:  loss = task.Loss(step, m, rng(step, m)) / M;  loss.backward()
//         sum the gradients (and the loss) over the ranks
//         clip the global gradient norm;  lr = warmup + cosine;  AdamW step;  EMA update
//         log a CSV row;  progress bar;  checkpoint every k steps and at the end or when the time budget is spent
//
// Data parallelism (MPI, Distributed/): a step is M = Accumulate · Ranks micro-batches of Batch clips; rank r
// computes micro-batches r·Accumulate .. (r+1)·Accumulate - 1 and every rank ends the step with the sum of all M
// gradients, so every rank takes the same optimizer step. N ranks with --accumulate A equal one process with
// --accumulate N·A (same draws, same loss curve and weights up to the order of float additions; tested), and a run
// resumes on any number of ranks that divides M. Rank 0 alone writes DIR; every rank reads it when resuming.
//
// Exact resume: every random draw of step s comes from Rng(seed).Fork(s).Fork(m), and tasks draw their data from
// (seed, s, m) alone, so a run's state is its weights, EMA, optimizer state and step; a resumed run reproduces the
// uninterrupted one bit for bit (tested).
//
// Run folder DIR:
//     DIR/...                      the exported model (EMA weights), written by the task
//     DIR/train/CURRENT            the name of the complete checkpoint to resume from, e.g. "step-000400"
//     DIR/train/step-000400/       state.json, model/ema/optimizer .safetensors of that checkpoint
//     DIR/loss.csv, DIR/loss.png   step,loss,<task metrics>,lr,grad_norm,seconds and its plot
// A checkpoint cannot tear: it is written whole into a new step-N folder (every file flushed, state.json last), then
// made current by one atomic rename of CURRENT; only then are older step folders removed. A run killed at any point
// resumes from the last checkpoint CURRENT names, bit for bit; leftovers of an interrupted write (step folders CURRENT
// does not name, temp files) are removed when the run resumes. (Runs written before CURRENT existed kept the files
// directly in DIR/train/; they resume from there and move to the new layout at their next checkpoint.)
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Media;
using Spacetime.Nn;
using Spacetime.Nn.Optim;
using Spacetime.Training.Distributed;

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
    /// <summary>A parameter's learning rate as a multiple of the run's, by its name in <see cref="Model"/>; null: 1
    /// for all.</summary>
    Func<string, float>? LrScale => null;
}

/// <summary>Runs a <see cref="ITrainTask"/> to a number of steps, with checkpoints and exact resume.</summary>
public static class Trainer
{
    /// <summary>A file of the checkpoint <paramref name="dir"/> would resume from ("model.safetensors",
    /// "ema.safetensors", "optimizer.safetensors", "state.json"); throws when there is none.</summary>
    public static string CheckpointFile(string dir, string file) =>
        Path.Combine(CurrentCheckpoint(dir) ?? throw new FileNotFoundException($"{dir}: no checkpoint"), file);

    static volatile bool stopRequested;

    /// <summary>Asks every run in this process to stop at the end of its current step, with a checkpoint (what the
    /// CLI does on Ctrl-C and SIGTERM: the signals are process-wide, so is this). Cleared when a run returns.</summary>
    public static void RequestStop() => stopRequested = true;

    /// <summary>True when <paramref name="dir"/> holds a run to resume.</summary>
    public static bool HasCheckpoint(string dir) => CurrentCheckpoint(dir) is not null;

    /// <summary>
    /// Trains <paramref name="task"/> into <paramref name="dir"/>, resuming from its checkpoint when there is one.
    /// <paramref name="stopAt"/> ends the run early at that step (as a time budget would), with a checkpoint.
    /// <paramref name="comm"/>: the ranks of a data-parallel run (cfg.Ranks of them); every rank calls Run with the
    /// same arguments, and rank 0 alone writes <paramref name="dir"/>.
    /// </summary>
    public static TrainResult Run(ITrainTask task, TrainConfig cfg, string dir, Action<TrainProgress>? progress = null,
                                  int? stopAt = null, Communicator? comm = null)
    {
        comm ??= Communicator.Single;
        cfg.Validate();
        if (cfg.Ranks != comm.Size)
            throw new InvalidOperationException($"Trainer.Run: cfg.Ranks is {cfg.Ranks} but {comm.Size} ranks run");
        var clock = Stopwatch.StartNew();
        var model = task.Model;
        string? checkpoint = CurrentCheckpoint(dir);
        int firstStep = checkpoint is null ? 0 : ReadState(checkpoint, dir, cfg);
        model.Train();
        var opt = new AdamW(model.NamedParameters(), cfg.Lr, weightDecay: cfg.WeightDecay, noDecay: AdamW.BiasesAndNorms,
                            lrScale: task.LrScale);
        var ema = cfg.EmaDecay > 0 ? new Ema(model, cfg.EmaDecay) : null;
        if (checkpoint is not null) LoadTrainingState(checkpoint, model, ema, opt);
        comm.EndSetup(comm.Size == 1 ? [] : StartingFacts(cfg, firstStep, model, ema, opt));
        if (comm.IsRoot) RemoveLeftovers(dir);
        using var log = comm.IsRoot ? OpenLog(dir, firstStep, task.Metrics) : null;
        var allreduce = comm.Size == 1 ? null : new GradientAllreduce(comm, model.Parameters().ToList());
        double allreduceSeconds = 0, waitSeconds = 0;

        int step = firstStep;
        float loss = float.NaN;
        bool byTime = false, interrupted = false;
        var metrics = new float[task.Metrics.Count];
        var scalars = new float[1 + metrics.Length];                                // loss, then metrics
        using var profiler = new StepProfiler(cfg.ProfileSteps, firstStep);
        while (step < cfg.Steps && step < (stopAt ?? int.MaxValue))
        {
            var (timeUp, stop) = Halt(comm, clock, cfg);
            if (timeUp) { byTime = true; break; }
            if (stop) { interrupted = true; break; }
            profiler.BeginStep(step);
            opt.ZeroGrad();
            loss = 0;
            Array.Clear(metrics);
            for (int m = 0; m < cfg.Accumulate; m++)
            {
                int micro = comm.Rank * cfg.Accumulate + m;                         // this rank's share of the step
                using var scope = TensorScope.Begin();
                var (lossT, values) = task.Loss(step, micro, StepRng(cfg, step, micro));
                // a loss that no trained weight reaches (a new-word adapter's micro-batch whose captions all lack
                // the word) adds no gradient
                if (lossT.RequiresGrad) (cfg.MicroBatches == 1 ? lossT : lossT * (1f / cfg.MicroBatches)).Backward();
                loss += lossT.Item() / cfg.MicroBatches;
                for (int k = 0; k < metrics.Length; k++) metrics[k] += values[k] / cfg.MicroBatches;
            }
            if (allreduce is not null)                                              // sums over ranks: the means
            {
                scalars[0] = loss;
                metrics.CopyTo(scalars, 1);
                allreduce.Run(scalars);
                loss = scalars[0];
                scalars.AsSpan(1).CopyTo(metrics);
                (allreduceSeconds, waitSeconds) = (allreduceSeconds + allreduce.TransferSeconds,
                                                   waitSeconds + allreduce.WaitSeconds);
            }
            long optimizerStart = Stopwatch.GetTimestamp();
            float gradNorm = Gradients.ClipGradNorm(model.Parameters(), cfg.ClipNorm);
            opt.Lr = LrSchedule.WarmupCosine(step, cfg.Lr, Math.Min(cfg.WarmupSteps, cfg.Steps), cfg.Steps, cfg.Lr * cfg.MinLrRatio);
            opt.Step();
            ema?.Update(model);
            profiler.Optimizer(optimizerStart);
            step++;
            profiler.EndStep();
            if (step % cfg.LogEvery == 0)
                log?.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{step},{loss:G6},{string.Concat(metrics.Select(v => $"{v:G6},"))}{opt.Lr:G6},{gradNorm:G6}," +
                    $"{clock.Elapsed.TotalSeconds:F2}"));
            double rate = (step - firstStep) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            progress?.Invoke(new TrainProgress(step, cfg.Steps, loss, opt.Lr, rate,
                                               TimeSpan.FromSeconds((cfg.Steps - step) / Math.Max(rate, 1e-9))));
            if (step % cfg.CheckpointEvery == 0 && step < cfg.Steps) Checkpoint(dir, task, ema, opt, step, cfg, log, comm);
        }
        Checkpoint(dir, task, ema, opt, step, cfg, log, comm);
        stopRequested = false;
        string? profile = profiler.Finish($"{dir} from step {firstStep + 2} ({cfg.MicroBatches} x {cfg.Batch} clips " +
                                          $"a step, {Spacetime.Engine.Kernels.Par.Threads} threads)");
        if (profile is not null && comm.IsRoot)
            AtomicFile.WriteAllBytes(Path.Combine(dir, ProfileFile), Encoding.UTF8.GetBytes(profile));
        return new TrainResult(firstStep, step, loss, byTime, clock.Elapsed)
        {
            Interrupted = interrupted, AllreduceSeconds = allreduceSeconds, WaitSeconds = waitSeconds, Profile = profile,
        };
    }

    /// <summary>The op profile of a run with <see cref="TrainConfig.ProfileSteps"/> (markdown), in its folder.</summary>
    public const string ProfileFile = "profile.md";

    // --profile N: steps first+1 .. first+N run under an OpProfile (the run's first step warms the buffer pools and
    // the JIT up); the optimizer (clipping, AdamW, EMA) is timed beside the tape, and the micro-batches' draws are
    // charged to no op (each task calls OpProfile.MarkCurrent after drawing, which also drops the gradient zeroing
    // and whatever else ran since the last op), so they show in "the rest" with logging. Does nothing when steps is 0;
    // disposing closes the profile however the run ends.
    sealed class StepProfiler(int steps, int firstStep) : IDisposable
    {
        readonly int from = firstStep + 1;
        OpProfile? profile;
        long started;
        double wall, optimizerSeconds;
        int done;

        bool Open => profile is not null && done < steps;

        public void BeginStep(int step)
        {
            if (steps == 0 || step != from) return;
            profile = OpProfile.Start();
            started = Stopwatch.GetTimestamp();
        }

        public void Optimizer(long start)
        {
            if (Open) optimizerSeconds += Stopwatch.GetElapsedTime(start).TotalSeconds;
        }

        public void EndStep()
        {
            if (!Open) return;
            done++;
            wall = Stopwatch.GetElapsedTime(started).TotalSeconds;
            if (done == steps) profile!.Dispose();
        }

        // the table, or null when nothing was profiled (no steps asked, or the run ended first)
        public string? Finish(string title)
        {
            if (profile is null || done == 0) return null;
            profile.Dispose();
            return profile.Summary(title, done, wall, ("optimizer (clip, AdamW, EMA)", optimizerSeconds));
        }

        public void Dispose() => profile?.Dispose();
    }

    // Whether to stop before the next step: the time budget is spent or a stop was requested, on any rank (one tiny
    // allreduce), so that every rank stops at the same step.
    static (bool TimeUp, bool Stop) Halt(Communicator comm, Stopwatch clock, TrainConfig cfg)
    {
        Span<float> flags = [cfg.MaxMinutes > 0 && clock.Elapsed.TotalMinutes >= cfg.MaxMinutes ? 1 : 0,
                             stopRequested ? 1 : 0];
        comm.AllreduceMax(flags);
        return (flags[0] > 0, flags[1] > 0);
    }

    // What every rank of a data-parallel run must share before the first step: the build (the MVIDs of the Spacetime
    // assemblies: a deterministic build of the same sources at the same path gives the same ones), the command line,
    // and the starting state (config, step, weights, EMA, optimizer).
    static Communicator.Fact[] StartingFacts(TrainConfig cfg, int firstStep, Module model, Ema? ema, AdamW opt) =>
    [
        Communicator.Fact.Of("the build", "start every rank from the same build (one checkout on a file system " +
                             "they share, or the same commit built at the same path)", hash =>
        {
            foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies()
                         .Where(a => a.GetName().Name?.StartsWith("Spacetime.", StringComparison.Ordinal) == true)
                         .OrderBy(a => a.GetName().Name, StringComparer.Ordinal))
                hash.AppendData(assembly.ManifestModule.ModuleVersionId.ToByteArray());
        }),
        Communicator.Fact.Of("the command line", "start every rank with the same arguments",
                             hash => hash.AppendData(Encoding.UTF8.GetBytes(
                                 string.Join('\0', Environment.GetCommandLineArgs())))),
        Communicator.Fact.Of("the starting state (config, step, weights)", "every rank must see the same run folder " +
                             "(OUT on a file system they share) and the same inputs", hash =>
        {
            hash.AppendData(JsonSerializer.SerializeToUtf8Bytes(new TrainState(firstStep, cfg)));
            HashTensors(hash, model.StateDict());
            if (ema is not null) HashTensors(hash, ema.StateDict());
            HashTensors(hash, opt.StateDict());
        }),
    ];

    static void HashTensors(IncrementalHash hash, OrderedDictionary<string, Tensor> tensors)
    {
        foreach (var (name, t) in tensors)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name));
            hash.AppendData(MemoryMarshal.AsBytes(t.AsSpan()));
        }
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
    static string PointerPath(string dir) => Path.Combine(TrainDir(dir), "CURRENT");
    const string StateFile = "state.json";
    static string StepFolder(int step) => $"step-{step:D6}";

    /// <summary>For tests: called with a point's name ("model", "ema", "optimizer", "state", "pointer", "export")
    /// just before the checkpoint writes it; throwing there is a crash at that point.</summary>
    internal static Action<string>? BeforeCheckpointWrite;

    // The folder of the checkpoint to resume from (CURRENT's, or the legacy DIR/train), or null for a new run.
    static string? CurrentCheckpoint(string dir)
    {
        string pointer = PointerPath(dir);
        if (File.Exists(pointer))
        {
            string name = File.ReadAllText(pointer).Trim();
            if (name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains(".."))
                throw new InvalidDataException($"{pointer}: '{name}' does not name a checkpoint folder");
            string folder = Path.Combine(TrainDir(dir), name);
            if (!File.Exists(Path.Combine(folder, StateFile)))
                throw new InvalidDataException($"{pointer} names {folder}, which holds no {StateFile}");
            return folder;
        }
        return File.Exists(Path.Combine(TrainDir(dir), StateFile)) ? TrainDir(dir) : null;
    }

    // The step to resume from. Only the length of the run, its logging and the number of ranks (with Accumulate
    // keeping the step's micro-batches) may change on resume (a new Steps also stretches the cosine schedule);
    // anything else would not continue the same run, so it is refused.
    static int ReadState(string checkpoint, string dir, TrainConfig cfg)
    {
        TrainState state;
        string path = Path.Combine(checkpoint, StateFile);
        try
        {
            state = JsonSerializer.Deserialize<TrainState>(File.ReadAllText(path), StateJson)
                    ?? throw new JsonException("the file holds null");
        }
        catch (JsonException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
        var saved = state.Config;
        if (saved.MicroBatches != cfg.MicroBatches)
        {
            string run = $"{dir} holds a run of {saved.MicroBatches} micro-batches of {saved.Batch} clips a step";
            throw new ArgumentException(saved.MicroBatches % cfg.Ranks != 0
                ? $"{run}, which {cfg.Ranks} ranks cannot share; use a number of ranks that divides " +
                  $"{saved.MicroBatches}, each with --accumulate {saved.MicroBatches} / ranks"
                : $"{run}; on {cfg.Ranks} rank{(cfg.Ranks == 1 ? "" : "s")} resume it with --accumulate " +
                  $"{saved.MicroBatches / cfg.Ranks}");
        }
        var comparable = saved with
        {
            Steps = cfg.Steps, MaxMinutes = cfg.MaxMinutes, CheckpointEvery = cfg.CheckpointEvery, LogEvery = cfg.LogEvery,
            ProfileSteps = cfg.ProfileSteps,
            Ranks = cfg.Ranks, Accumulate = cfg.Accumulate,                   // how the micro-batches are split
        };
        if (comparable != cfg)
            throw new ArgumentException($"{dir} holds a run trained with {state.Config}; resume it with the same " +
                                        "settings (only steps, max minutes, checkpoint/log intervals and the split " +
                                        "of micro-batches over ranks may change)");
        return state.Step;
    }

    // A new step folder with the raw weights, EMA, optimizer state and state.json (each written whole and flushed),
    // then CURRENT renamed onto it (the commit point), then older step folders and the legacy files removed, then the
    // exported model (EMA weights) and the loss plot. A crash before the commit leaves the previous checkpoint current.
    // In a data-parallel run every rank first checks that its weights are rank 0's (the allreduce gives every rank the
    // same sums, so they must be); rank 0 alone writes.
    static void Checkpoint(string dir, ITrainTask task, Ema? ema, AdamW opt, int step, TrainConfig cfg,
                           StreamWriter? log, Communicator comm)
    {
        if (comm.Size > 1)
            comm.Agree([Communicator.Fact.Of($"the weights at step {step}", "the ranks diverged: a bug (report it)",
                                             hash => HashTensors(hash, task.Model.StateDict()))], exitCode: 1);
        if (!comm.IsRoot) return;
        log?.Flush();
        string train = TrainDir(dir), name = StepFolder(step), folder = Path.Combine(train, name);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);   // an earlier write of this step
        Directory.CreateDirectory(folder);
        var model = task.Model;
        Write("model", () => Safetensors.Write(Path.Combine(folder, "model.safetensors"), model.StateDict()));
        if (ema is not null) Write("ema", () => Safetensors.Write(Path.Combine(folder, "ema.safetensors"), ema.StateDict()));
        Write("optimizer", () => Safetensors.Write(Path.Combine(folder, "optimizer.safetensors"), opt.StateDict()));
        Write("state", () => WriteFlushed(Path.Combine(folder, StateFile), JsonSerializer.Serialize(new TrainState(step, cfg), StateJson)));
        Write("pointer", () => WriteFlushed(PointerPath(dir), name));
        RemoveLeftovers(dir);
        model.Eval();
        Write("export", () =>
        {
            if (ema is null) task.Export(dir);
            else using (ema.SwapInto(model)) task.Export(dir);
        });
        model.Train();
        LossPlot.TryWrite(dir);
    }

    static void Write(string point, Action write)
    {
        BeforeCheckpointWrite?.Invoke(point);
        write();
    }

    // text to a temp file, flushed to disk, then renamed over path (atomic within the folder)
    static void WriteFlushed(string path, string text) =>
        AtomicFile.WriteAllBytes(path, System.Text.Encoding.UTF8.GetBytes(text), flushToDisk: true);

    // Step folders CURRENT does not name, the legacy checkpoint files once CURRENT exists, and temp files of
    // interrupted writes (ours end in .tmp) in DIR and DIR/train.
    static void RemoveLeftovers(string dir)
    {
        string train = TrainDir(dir);
        if (!Directory.Exists(train)) return;
        string? current = File.Exists(PointerPath(dir)) ? File.ReadAllText(PointerPath(dir)).Trim() : null;
        foreach (var folder in Directory.GetDirectories(train, "step-*"))
            if (current is not null && Path.GetFileName(folder) != current) Directory.Delete(folder, recursive: true);
        if (current is not null)
            foreach (var legacy in new[] { StateFile, "model.safetensors", "ema.safetensors", "optimizer.safetensors" })
                File.Delete(Path.Combine(train, legacy));
        foreach (var folder in new[] { dir, train })
            foreach (var temp in Directory.GetFiles(folder, "*.tmp").Concat(Directory.GetFiles(folder, ".*.tmp.*")))
                File.Delete(temp);
    }

    static void LoadTrainingState(string checkpoint, Module model, Ema? ema, AdamW opt)
    {
        model.LoadStateDict(Safetensors.Read(Path.Combine(checkpoint, "model.safetensors")).Tensors);
        ema?.LoadStateDict(Safetensors.Read(Path.Combine(checkpoint, "ema.safetensors")).Tensors);
        opt.LoadStateDict(Safetensors.Read(Path.Combine(checkpoint, "optimizer.safetensors")).Tensors);
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
