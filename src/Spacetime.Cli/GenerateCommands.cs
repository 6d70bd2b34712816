// spacetime generate "<prompt>": a video from a trained text-to-video model folder (written by `train dit`).
//   spacetime generate "a red circle falls" --model runs/tiny --size 32x32 --seconds 1 --fps 8 --seed 0 --steps 25
//       --guidance 4 --out out.gif
using System.CommandLine;
using System.Diagnostics;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class GenerateCommands
{
    const int MaxPromptChars = 1000;

    public static Command Create(CliConsole io)
    {
        var prompt = new Argument<string>("prompt") { Description = "What the video shows." };
        var model = CliArgs.Option("--model", "Model folder (written by `spacetime train dit`).", "models/spacetime");
        var size = new Option<string?>("--size") { Description = "Frame size WxH (default: the model's training size)." };
        var seconds = new Option<double?>("--seconds") { Description = "Duration (default: the model's clip length)." };
        var fps = new Option<double?>("--fps") { Description = "Frames per second (default: the model's)." };
        var seed = CliArgs.Option("--seed", "Noise seed; the same seed gives the same video.", 0L);
        var steps = CliArgs.Option("--steps", "Sampler steps (DPM-Solver++(2M)).", 25);
        var guidance = CliArgs.Option("--guidance", "Classifier-free guidance scale (1: none).", 4.0);
        var output = CliArgs.Option("--out", "Video file: .gif .png (contact sheet) .mp4 (needs ffmpeg) ...", "out.gif", "-o");
        var command = new Command("generate", "Generate a video from a text prompt.")
        {
            prompt, model, size, seconds, fps, seed, steps, guidance, output,
        };
        command.SetAction(parsed =>
        {
            string text = parsed.GetValue(prompt) ?? "";
            if (string.IsNullOrWhiteSpace(text)) throw new UserError("the prompt is empty; say what the video shows");
            if (text.Length > MaxPromptChars)
                throw new UserError($"the prompt has {text.Length} characters; at most {MaxPromptChars}");
            string outPath = parsed.GetValue(output)!;
            CliArgs.VideoOut("--out", outPath);
            long seedValue = parsed.GetValue(seed);
            if (seedValue < 0) throw new UserError($"--seed {seedValue}: must be 0 or more");
            int stepCount = CliArgs.Positive("--steps", parsed.GetValue(steps));
            double scale = parsed.GetValue(guidance);
            if (!(scale >= 0) || double.IsInfinity(scale)) throw new UserError($"--guidance {scale}: must be 0 or more");
            string dir = parsed.GetValue(model)!;
            TextVideoModel m;
            try { m = TextVideoModel.Load(dir); }
            catch (InvalidDataException e) { throw new UserError($"--model: {e.Message}"); }
            m.Eval();
            var pipeline = new TextToVideo(m);

            var (w, h) = parsed.GetValue(size) is { } s ? CliArgs.Size("--size", s) : (m.Config.Width, m.Config.Height);
            if (w % pipeline.Stride != 0 || h % pipeline.Stride != 0)
                throw new UserError($"--size {w}x{h}: width and height must be multiples of {pipeline.Stride} for this " +
                                    $"model, e.g. {Round(w, pipeline.Stride)}x{Round(h, pipeline.Stride)}");
            double f = CliArgs.Positive("--fps", parsed.GetValue(fps) ?? m.Config.Fps);
            double sec = CliArgs.Positive("--seconds", parsed.GetValue(seconds) ?? m.Config.Frames / m.Config.Fps);
            int frames = (int)Math.Round(sec * f, MidpointRounding.AwayFromZero);
            if (frames < 1) throw new UserError($"--seconds {sec} at --fps {f} gives zero frames; ask for at least one");

            var settings = new GenerateSettings(w, h, frames, f, (ulong)seedValue, stepCount, scale);
            var clock = Stopwatch.StartNew();
            Frames video = null!;
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("sampling", maxValue: stepCount);
                    video = pipeline.Generate(text, settings, i => task.Value = i + 1);
                });
            WorldCommands.CreateParent(outPath);
            VideoFile.Write(outPath, video);
            io.Out.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: {video.Count} frames of {video.Width}x{video.Height} " +
                              $"at {f:0.###} fps");
            io.OutWriter.WriteLine($"prompt: {text}");
            io.OutWriter.WriteLine($"seed {seedValue}, {stepCount} steps, guidance {scale:0.##}, " +
                                   $"{clock.Elapsed.TotalSeconds:F1} s");
            return CliRunner.Ok;
        });
        return command;
    }

    static int Round(int v, int stride) => Math.Max(stride, (v + stride / 2) / stride * stride);
}
