// spacetime data ...: make a synthetic dataset from the world simulator, and look inside a dataset folder.
//   spacetime data synth --count 1000 --out data/world --sizes 64x64,96x64,64x96 --seconds 1..4 --fps 8 --seed 0
//   spacetime data inspect data/world
// Benchmark (MISSION: speed is measured): synth prints clips per minute at the end, e.g.
//   ./spacetime data synth --count 2000 --out /tmp/bench --sizes 64x64 --seconds 2 --fps 8   (64x64 x 16 frames)
using System.CommandLine;
using System.Diagnostics;
using Spacetime.Data;
using Spacetime.World;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class DataCommands
{
    public static Command Create(CliConsole io)
    {
        var data = new Command("data", "Datasets: synthesise world clips, inspect a dataset folder.");
        data.Subcommands.Add(Synth(io));
        data.Subcommands.Add(Inspect(io));
        return data;
    }

    static Command Synth(CliConsole io)
    {
        var count = CliArgs.Required<int>("--count", "Number of clips to make.", "-n");
        var output = CliArgs.Required<string>("--out", "Dataset folder (new clips are numbered after old ones).", "-o");
        var sizes = CliArgs.Option("--sizes", "Frame sizes WxH, comma-separated; one per clip.", "64x64,96x64,64x96");
        var seconds = CliArgs.Option("--seconds", "Duration, or a range LO..HI (whole seconds if both whole).", "1..4");
        var fps = CliArgs.Option("--fps", "Frames per second.", 8.0);
        var seed = CliArgs.Option("--seed", "Dataset seed; clip i uses a seed derived from it.", 0L);
        var format = CliArgs.Option("--format", "Clip file type: .gif .y4m .png .mp4 .webm.", ".gif");
        var jobs = CliArgs.Option("--jobs", "Clips made in parallel.", Environment.ProcessorCount, "-j");
        var noTruth = CliArgs.Option("--no-truth", "Do not write the per-frame ground truth JSON.", false);
        var command = new Command("synth", "Render world clips into a dataset folder (clips, truth, captions.jsonl).")
        {
            count, output, sizes, seconds, fps, seed, format, jobs, noTruth,
        };
        command.SetAction(parsed =>
        {
            int n = CliArgs.Positive("--count", parsed.GetValue(count));
            string dir = parsed.GetValue(output)!;
            var sizeList = CliArgs.Sizes("--sizes", parsed.GetValue(sizes)!);
            var (lo, hi) = CliArgs.Range("--seconds", parsed.GetValue(seconds)!);
            double f = CliArgs.Positive("--fps", parsed.GetValue(fps));
            int parallel = CliArgs.Positive("--jobs", parsed.GetValue(jobs));
            string ext = parsed.GetValue(format)!.Trim().ToLowerInvariant();
            if (!ext.StartsWith('.')) ext = "." + ext;
            CliArgs.VideoOut("--format", "clip" + ext);
            if ((int)Math.Round(lo * f, MidpointRounding.AwayFromZero) < 1)
                throw new UserError($"--seconds {lo} at --fps {f} gives zero frames; ask for at least one frame");
            var plan = SynthPlan.Make(parsed.GetValue(seed), n, sizeList, lo, hi, f);
            bool truth = !parsed.GetValue(noTruth);

            var clock = Stopwatch.StartNew();
            long frames = 0;
            int done = 0;
            using (var writer = new DatasetWriter(dir, ext))
            {
                io.Out.Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                             new RemainingTimeColumn(), new SpinnerColumn())
                    .Start(ctx =>
                    {
                        var task = ctx.AddTask($"synth {n} clips", maxValue: n);
                        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = parallel }, i =>
                        {
                            var clip = WorldClip.Render(plan[i]);
                            writer.Add(clip.Frames, clip.Caption, clip.Prompt, truth ? clip.Truth.ToJson() : null);
                            Interlocked.Add(ref frames, clip.Frames.Count);
                            Interlocked.Increment(ref done);
                            lock (task) task.Value = Volatile.Read(ref done);
                        });
                    });
            }
            double secs = clock.Elapsed.TotalSeconds;
            io.Out.MarkupLine($"[green]wrote[/] {n} clips ({frames} frames) to {Markup.Escape(Path.GetFullPath(dir))}");
            io.Out.MarkupLine($"[bold]speed:[/] {n / secs * 60:0} clips/min, {frames / secs:0} frames/s " +
                              $"({secs:0.00} s, {parallel} jobs, {Environment.ProcessorCount} cores, {ext})");
            return CliRunner.Ok;
        });
        return command;
    }

    static Command Inspect(CliConsole io)
    {
        var dir = new Argument<string>("dir") { Description = "Dataset folder (captions.jsonl, or videos with .txt)." };
        var tokens = CliArgs.Option("--tokens", "Token budget per batch for the bucket table.", 16384L);
        var top = CliArgs.Option("--top", "Caption words to list.", 40);
        var command = new Command("inspect", "Counts, sizes, durations, bucket table and caption vocabulary of a dataset.")
        {
            dir, tokens, top,
        };
        command.SetAction(parsed =>
        {
            long budget = CliArgs.Positive("--tokens", (int)Math.Min(int.MaxValue, parsed.GetValue(tokens)));
            int topWords = CliArgs.Positive("--top", parsed.GetValue(top));
            var dataset = Dataset.Load(parsed.GetValue(dir)!);
            var summary = DatasetInspector.Summarize(dataset, BucketConfig.Default(budget), topWords);
            DatasetReport.Print(io, summary);
            return CliRunner.Ok;
        });
        return command;
    }
}

/// <summary>The settings of every clip of a synth run, fixed before any work starts (so threads don't matter).</summary>
internal static class SynthPlan
{
    public static ClipSettings[] Make(long seed, int count, IReadOnlyList<(int Width, int Height)> sizes,
                                      double lo, double hi, double fps)
    {
        bool wholeSeconds = lo == Math.Floor(lo) && hi == Math.Floor(hi);
        int fLo = Math.Max(1, (int)Math.Round(lo * fps, MidpointRounding.AwayFromZero));
        int fHi = Math.Max(fLo, (int)Math.Round(hi * fps, MidpointRounding.AwayFromZero));
        var plan = new ClipSettings[count];
        for (int i = 0; i < count; i++)
        {
            long clipSeed = WorldClip.DeriveSeed(seed, i);
            var (w, h) = sizes[(int)((ulong)WorldClip.DeriveSeed(clipSeed, 1) % (ulong)sizes.Count)];
            ulong pick = (ulong)WorldClip.DeriveSeed(clipSeed, 2);
            double s = wholeSeconds
                ? lo + (double)(pick % (ulong)(hi - lo + 1))                    // 1, 2, 3 or 4 seconds
                : (fLo + (int)(pick % (ulong)(fHi - fLo + 1))) / fps;           // any whole number of frames
            plan[i] = CliArgs.Checked(new ClipSettings(clipSeed, w, h, s, fps));
        }
        return plan;
    }
}
