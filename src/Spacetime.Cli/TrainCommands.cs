// spacetime train ...: train a text-to-video DiT on world clips rendered on the fly, with a progress bar.
//   spacetime train dit --recipe tiny --steps 200 --out runs/tiny [--max-minutes 5] [--batch 4] [--lr 1e-3] [--seed 0]
// Running again into the same --out resumes from its checkpoint (exactly: same weights as an uninterrupted run).
using System.CommandLine;
using Spacetime.Training;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class TrainCommands
{
    public static Command Create(CliConsole io)
    {
        var train = new Command("train", "Train models on world-simulator clips.");
        train.Subcommands.Add(Dit(io));
        return train;
    }

    static Command Dit(CliConsole io)
    {
        var recipe = CliArgs.Option("--recipe", $"Recipe: {string.Join(", ", DitRecipe.Presets.Keys)}.", "tiny");
        var steps = CliArgs.Option("--steps", "Total optimizer steps.", 200);
        var output = CliArgs.Required<string>("--out", "Run folder: the model, checkpoints and loss.csv.", "-o");
        var maxMinutes = CliArgs.Option("--max-minutes", "Stop with a checkpoint after this many minutes (0: none).", 0.0);
        var batch = CliArgs.Option("--batch", "Clips per step.", new TrainConfig().Batch);
        var lr = CliArgs.Option("--lr", "Peak learning rate.", (double)new TrainConfig().Lr);
        var seed = CliArgs.Option("--seed", "Seed of weights, data and noise.", 0L);
        var checkpointEvery = CliArgs.Option("--checkpoint-every", "Checkpoint every N steps.", new TrainConfig().CheckpointEvery);
        var command = new Command("dit", "Train the text-conditioned spacetime DiT (and its text encoder).")
        {
            recipe, steps, output, maxMinutes, batch, lr, seed, checkpointEvery,
        };
        command.SetAction(parsed =>
        {
            var r = DitRecipe.Preset(parsed.GetValue(recipe)!);
            if (parsed.GetValue(seed) < 0) throw new UserError($"--seed {parsed.GetValue(seed)}: must be 0 or more");
            if (parsed.GetValue(maxMinutes) < 0) throw new UserError($"--max-minutes {parsed.GetValue(maxMinutes)}: must be 0 or more");
            var cfg = new TrainConfig
            {
                Steps = CliArgs.Positive("--steps", parsed.GetValue(steps)),
                Batch = CliArgs.Positive("--batch", parsed.GetValue(batch)),
                Lr = (float)CliArgs.Positive("--lr", parsed.GetValue(lr)),
                Seed = (ulong)parsed.GetValue(seed),
                MaxMinutes = parsed.GetValue(maxMinutes),
                CheckpointEvery = CliArgs.Positive("--checkpoint-every", parsed.GetValue(checkpointEvery)),
            };
            string dir = parsed.GetValue(output)!;
            TrainResult result = null!;
            io.Out.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                         new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("training", maxValue: cfg.Steps);
                    result = DitTrainer.Train(r, cfg, dir, p =>
                    {
                        task.Value = p.Step;
                        task.Description = $"step {p.Step}/{p.Steps} loss {p.Loss:F4} {p.StepsPerSecond:F2} steps/s " +
                                           $"ETA {p.Eta:hh\\:mm\\:ss}";
                    });
                });
            string how = result.StoppedByTime ? " (stopped by --max-minutes)" : "";
            io.OutWriter.WriteLine($"trained steps {result.FirstStep}..{result.Step} of {cfg.Steps} in " +
                                   $"{result.Elapsed.TotalSeconds:F1} s{how}; last loss {result.LastLoss:F4}; model in {dir}");
            return CliRunner.Ok;
        });
        return command;
    }
}
