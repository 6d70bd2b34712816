// TrainConfig: the trainer's knobs, shared by every task (VAE and DiT). A recipe says WHAT is trained; this says for
// how long and how. Stored in each checkpoint's state.json so that a resumed run can refuse settings that would make it a
// different run.
namespace Spacetime.Training;

/// <summary>The trainer's knobs.</summary>
public sealed record TrainConfig
{
    /// <summary>Total optimizer steps (also the length of the cosine schedule).</summary>
    public int Steps { get; init; } = 200;
    /// <summary>Clips per micro-batch (on each rank of a data-parallel run).</summary>
    public int Batch { get; init; } = 4;
    /// <summary>Micro-batches each rank adds up into one optimizer step (gradient accumulation).</summary>
    public int Accumulate { get; init; } = 1;
    /// <summary>Data-parallel processes (MPI ranks) sharing each step; 1 for one process. Rank r computes the step's
    /// micro-batches r·Accumulate .. r·Accumulate + Accumulate - 1, so the run is defined by MicroBatches, not by how it
    /// is split: a run resumes on any number of ranks that divides it.</summary>
    public int Ranks { get; init; } = 1;

    /// <summary>Micro-batches per optimizer step over all ranks; the global batch is MicroBatches · Batch clips.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int MicroBatches => Accumulate * Ranks;
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
    /// <summary>EMA decay (DiT: 0.9999 over 400k steps; short runs need a shorter memory); 0 turns the EMA off and
    /// the exported model is the trained weights.</summary>
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

    /// <summary>Run this many steps under an op profile (Engine's OpProfile), after the run's first step has filled
    /// the buffer pools; the table goes to DIR/profile.md and <see cref="TrainResult.Profile"/>. 0: none. Not part of
    /// the run (not saved in a checkpoint; free to change on resume).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public int ProfileSteps { get; init; }

    /// <summary>Throws ArgumentException naming a bad value.</summary>
    public void Validate()
    {
        if (Steps < 1 || Batch < 1 || Accumulate < 1 || Ranks < 1 || CheckpointEvery < 1 || LogEvery < 1 ||
            WarmupSteps < 0)
            throw new ArgumentException("steps, batch, accumulate, ranks, checkpoint-every and log-every must be positive");
        if (ProfileSteps < 0) throw new ArgumentException($"profile steps {ProfileSteps}: must be 0 or more");
        if (!(Lr > 0) || !(ClipNorm > 0) || EmaDecay is < 0 or >= 1 || CaptionDropout is < 0 or > 1 ||
            !(MaxMinutes >= 0) || double.IsInfinity(MaxMinutes) || !(WeightDecay >= 0) || !(MinLrRatio >= 0))
            throw new ArgumentException($"lr {Lr}, clip {ClipNorm}, ema {EmaDecay}, caption dropout {CaptionDropout} " +
                                        $"max minutes {MaxMinutes}, weight decay {WeightDecay} or min lr ratio " +
                                        $"{MinLrRatio} out of range");
    }
}

/// <summary>One logged step, for progress bars.</summary>
public readonly record struct TrainProgress(int Step, int Steps, float Loss, float Lr, double StepsPerSecond, TimeSpan Eta);

/// <summary>How a run ended.</summary>
public sealed record TrainResult(int FirstStep, int Step, float LastLoss, bool StoppedByTime, TimeSpan Elapsed)
{
    /// <summary>Stopped early by Trainer.RequestStop (Ctrl-C, SIGTERM), with a checkpoint.</summary>
    public bool Interrupted { get; init; }
    /// <summary>Seconds this rank spent moving and summing gradients over the ranks (0 for one process).</summary>
    public double AllreduceSeconds { get; init; }
    /// <summary>Seconds this rank waited at the end of its steps for slower ranks (0 for one process).</summary>
    public double WaitSeconds { get; init; }
    /// <summary>The op profile of <see cref="TrainConfig.ProfileSteps"/> steps as markdown (also DIR/profile.md), or
    /// null when none was asked for or the run ended before a profiled step.</summary>
    public string? Profile { get; init; }
}
