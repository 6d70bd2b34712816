// spacetime generate "<prompt>": a video from a trained text-to-video model folder (written by `train dit`).
//   spacetime generate "a red ball falls and bounces" --model runs/tiny --size 32x32 --seconds 1 --fps 8 --seed 0
//       --steps 25 --sampler dpm++2m --guidance 4 --negative "a blue square" --out out.gif [--no-expand]
// The prompt is first expanded into a dense caption (PromptExpander: the style the model was trained on) unless
// --no-expand. Every input is checked before sampling starts, so a mistake costs no sampling time, prints one line,
// exits with code 2 and writes no file. The video is written atomically (a temporary file, then a rename).
using System.CommandLine;
using System.Diagnostics;
using Spacetime.Diffusion;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.World;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class GenerateCommands
{
    const int MaxPromptChars = 1000;

    /// <summary>Where the shipped model lives, relative to the repository root.</summary>
    internal const string ShippedModel = "models/spacetime";

    const string DefaultSampler = "dpm++2m";

    static string SamplerNames => string.Join(", ", SamplerConfig.Presets.Keys);

    public static Command Create(CliConsole io)
    {
        var prompt = new Argument<string>("prompt") { Description = "What the video shows." };
        var model = CliArgs.Option("--model", "Model folder (written by `spacetime train dit`).", ShippedModel);
        var size = new Option<string?>("--size") { Description = "Frame size WxH (default: the model's training size)." };
        var seconds = new Option<double?>("--seconds") { Description = "Duration (default: the model's clip length)." };
        var fps = new Option<double?>("--fps") { Description = "Frames per second (default: the model's)." };
        var seed = CliArgs.Option("--seed", "Noise seed; the same seed gives the same video.", 0L);
        var steps = new Option<int?>("--steps") { Description = "Sampler steps (default: the sampler's own)." };
        var sampler = CliArgs.Option("--sampler", $"Sampler: {SamplerNames}.", DefaultSampler);
        var guidance = CliArgs.Option("--guidance", "Classifier-free guidance scale (1: none).", 4.0);
        var negative = CliArgs.Option("--negative", "What to steer away from: the caption of the unconditional " +
                                                    "branch of guidance (default: the learned empty caption).", "");
        var noExpand = new Option<bool>("--no-expand") { Description = "Use the prompt as typed (default: expand it " +
                                                                       "into a dense caption first)." };
        var output = CliArgs.Option("--out", "Video file: .gif .png (contact sheet) .mp4 (needs ffmpeg) ...", "out.gif", "-o");
        var command = new Command("generate", "Generate a video from a text prompt.")
        {
            prompt, model, size, seconds, fps, seed, steps, sampler, guidance, negative, noExpand, output,
        };
        command.SetAction(parsed =>
        {
            // 1) the text and the knobs
            string text = Text("the prompt", parsed.GetValue(prompt));
            if (string.IsNullOrWhiteSpace(text)) throw new UserError("the prompt is empty; say what the video shows");
            string negativeText = Text("--negative", parsed.GetValue(negative));
            string outPath = parsed.GetValue(output)!;
            if (Directory.Exists(outPath))
                throw new UserError($"--out '{outPath}' is a folder; give a file, e.g. " +
                                    Path.Combine(outPath, "out.gif"));
            CliArgs.VideoOut("--out", outPath);
            long seedValue = parsed.GetValue(seed);
            if (seedValue < 0) throw new UserError($"--seed {seedValue}: must be 0 or more");
            string samplerName = parsed.GetValue(sampler)!.Trim().ToLowerInvariant();
            if (!SamplerConfig.Presets.TryGetValue(samplerName, out var samplerConfig))
                throw new UserError($"--sampler '{parsed.GetValue(sampler)}' is not a sampler; use one of " +
                                    SamplerNames);
            int stepCount = CliArgs.Positive("--steps", parsed.GetValue(steps) ?? samplerConfig.Steps);
            double scale = parsed.GetValue(guidance);
            if (!(scale >= 0) || double.IsInfinity(scale)) throw new UserError($"--guidance {scale}: must be 0 or more");

            // 2) the model, and the size and frame count it can make
            var m = LoadModel(parsed.GetValue(model)!);
            var pipeline = new TextToVideo(m, samplerConfig);
            var (w, h) = parsed.GetValue(size) is { } s ? CliArgs.Size("--size", s) : (m.Config.Width, m.Config.Height);
            if (w % pipeline.Stride != 0 || h % pipeline.Stride != 0)
                throw new UserError($"--size {w}x{h}: width and height must be multiples of {pipeline.Stride} for this " +
                                    $"model, e.g. {Round(w, pipeline.Stride)}x{Round(h, pipeline.Stride)}");
            double f = CliArgs.Positive("--fps", parsed.GetValue(fps) ?? m.Config.Fps);
            double sec = CliArgs.Positive("--seconds", parsed.GetValue(seconds) ?? m.Config.Frames / m.Config.Fps);
            int asked = (int)Math.Min(Math.Round(sec * f, MidpointRounding.AwayFromZero), int.MaxValue);
            if (asked < 1) throw new UserError($"--seconds {sec} at --fps {f} gives zero frames; ask for at least one");
            int frames = pipeline.NearestFrames(asked);
            CheckOutput(outPath);

            // 3) sample and write
            string caption = parsed.GetValue(noExpand) ? text : PromptExpander.Expand(text);
            if (frames != asked)
                io.OutWriter.WriteLine($"{asked} frames rounded to {frames} (this model makes {pipeline.FrameRule})");
            var settings = new GenerateSettings(w, h, frames, f, (ulong)seedValue, stepCount, scale, negativeText);
            var clock = Stopwatch.StartNew();
            Frames video = null!;
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("sampling", maxValue: stepCount);
                    video = pipeline.Generate(caption, settings, i => task.Value = i + 1);
                });
            VideoFile.Write(outPath, video);
            io.Out.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: {video.Count} frames of " +
                              $"{video.Width}x{video.Height} at {f:0.###} fps");
            io.OutWriter.WriteLine($"prompt: {text}");
            io.OutWriter.WriteLine(caption == text ? "caption: the prompt as typed" : $"caption: {caption}");
            if (negativeText.Length > 0) io.OutWriter.WriteLine($"negative: {negativeText}");
            io.OutWriter.WriteLine($"{w}x{h}, {frames} frames, seed {seedValue}, {stepCount} steps of {samplerName}, " +
                                   $"guidance {scale:0.##}, {clock.Elapsed.TotalSeconds:F1} s");
            return CliRunner.Ok;
        });
        return command;
    }

    static string Text(string what, string? value)
    {
        value ??= "";
        if (value.Length > MaxPromptChars)
            throw new UserError($"{what} has {value.Length} characters; at most {MaxPromptChars}");
        return value;
    }

    /// <summary>Loads a model folder; a missing shipped model says how to train one, any unreadable folder is a
    /// one-line error that names it.</summary>
    static TextVideoModel LoadModel(string dir)
    {
        if (!Directory.Exists(dir) && Path.GetFullPath(dir) == Path.GetFullPath(ShippedModel))
            throw new UserError($"the shipped model ({ShippedModel}) is missing; train it with " +
                                $"`./spacetime train dit --recipe world-s --out {ShippedModel}`, or pass --model DIR");
        TextVideoModel m;
        try { m = TextVideoModel.Load(dir); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException
                                    or System.Text.Json.JsonException or ArgumentException or FormatException)
        {
            throw new UserError($"--model {dir}: cannot load the model ({e.Message.TrimEnd('.')})");
        }
        m.Eval();
        return m;
    }

    /// <summary>The output's folder must exist or be creatable, and be writable: made and probed here, before
    /// sampling, so that a bad path costs no sampling time.</summary>
    static void CheckOutput(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"--out '{path}': cannot create the folder {dir} ({e.Message.TrimEnd('.')})");
        }
        string probe = Path.Combine(dir, $".spacetime-probe-{Guid.NewGuid():N}");
        try { using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { } }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"--out '{path}': cannot write in {dir} ({e.Message.TrimEnd('.')})");
        }
    }

    static int Round(int v, int stride) => Math.Max(stride, (v + stride / 2) / stride * stride);
}
