// spacetime generate "<prompt>": a video from a trained text-to-video model folder (written by `train dit`), in every
// mode of the Sora report's "prompting with images and videos" (Pipelines/Generation.cs does the work):
//   spacetime generate "a red ball falls and bounces" [--model DIR] [--size 128x128] [--seconds 2 | --frames N]
//       [--fps 8] [--seed 0] [--steps 25] [--sampler dpm++2m] [--shift 1] [--guidance 4] [--guidance-interval 0..1]
//       [--negative "..."] [--no-expand]
//       [--image FILE | --video FILE [--strength 0.6] | --extend FILE [--backward] | --connect A B] [--loop]
//       [--lora ADAPTER [--lora-scale S]]... [--out out.gif]
// --image animates a still; --video edits a video (SDEdit); --extend adds frames after (or before) a video; --loop
// makes the end lead back into the start (from --image when given); --connect makes a transition from A's end to B's
// start; --seconds up to 60 goes beyond the model's window in chunks; --frames 1 makes an image (a plain .png);
// --lora folds LoRA adapters (`train lora`) into the DiT's weights at load time, each at its --lora-scale.
// Every input is checked and read before sampling starts, so a mistake costs no sampling time, prints one line,
// exits with code 2 and writes no file. The video is written atomically (a temporary file, then a rename).
using System.CommandLine;
using System.Diagnostics;
using Spacetime.Diffusion;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class GenerateCommands
{
    const int MaxPromptChars = GenerationRequest.MaxPromptChars;

    /// <summary>Where the shipped model lives, relative to the repository root.</summary>
    internal const string ShippedModel = "models/spacetime";

    const string DefaultSampler = "dpm++2m";

    /// <summary>--shift's help, shared with eval.</summary>
    internal const string ShiftHelp = "Timestep shift of the sampling grid, t -> s t / (1 + (s - 1) t) (SD3): 1 is " +
                                      "uniform in t; above 1 spends more steps at high noise, where the layout is " +
                                      "decided.";

    static string SamplerNames => string.Join(", ", SamplerConfig.Presets.Keys);

    public static Command Create(CliConsole io)
    {
        var prompt = new Argument<string>("prompt") { Description = "What the video shows." };
        var model = CliArgs.Option("--model", "Model folder (written by `spacetime train dit`).", ShippedModel);
        var size = new Option<string?>("--size") { Description = "Frame size WxH (default: the model's training size)." };
        var seconds = new Option<double?>("--seconds") { Description = "Duration, up to 60 (default: the model's clip length)." };
        var frameCount = new Option<int?>("--frames") { Description = "Frame count instead of --seconds; 1 makes an image." };
        var fps = new Option<double?>("--fps") { Description = "Frames per second (default: the model's)." };
        var seed = CliArgs.Option("--seed", "Noise seed; the same seed gives the same video.", 0L);
        var steps = new Option<int?>("--steps") { Description = "Sampler steps (default: the sampler's own)." };
        var sampler = CliArgs.Option("--sampler", $"Sampler: {SamplerNames}.", DefaultSampler);
        var shift = CliArgs.Option("--shift", ShiftHelp, 1.0);
        var guidance = CliArgs.Option("--guidance", "Classifier-free guidance scale (1: none).", 4.0);
        var interval = CliArgs.Option("--guidance-interval", "Path times LO..HI (0 data, 1 noise) at which guidance " +
                                                             "is applied; the conditional model alone elsewhere, at " +
                                                             "half the cost of a step.", "0..1");
        var negative = CliArgs.Option("--negative", "What to steer away from: the caption of the unconditional " +
                                                    "branch of guidance (default: the learned empty caption).", "");
        var noExpand = new Option<bool>("--no-expand") { Description = "Use the prompt as typed (the same as --expand " +
                                                                       "none)." };
        var expandMode = CliArgs.Option("--expand", "Who expands the prompt into a dense caption first: builtin (the " +
                                                    "offline grammar), llm (an OpenAI-compatible endpoint, --llm-url; " +
                                                    "the key from $SPACETIME_LLM_API_KEY or $OPENAI_API_KEY; falls back " +
                                                    "to builtin if it fails) or none.", "builtin");
        var llmUrl = new Option<string?>("--llm-url") { Description = "With --expand llm: the API base, e.g. " +
                                                                      "http://127.0.0.1:8080/v1." };
        var llmModel = CliArgs.Option("--llm-model", "With --expand llm: the model name sent.", "gpt-4o-mini");
        var image = new Option<string?>("--image") { Description = "Image to video: this image (PNG, JPEG, WebP, a GIF's " +
                                                                   "first frame) is frame 0." };
        var video = new Option<string?>("--video") { Description = "Video to video: change this video as the prompt says." };
        var strength = new Option<double?>("--strength") { Description = "With --video: how much to change, above 0 and " +
                                                                         "at most 1 (default 0.6)." };
        var extend = new Option<string?>("--extend") { Description = "Extend this video: its frames are kept, new ones " +
                                                                     "follow (or, with --backward, come before)." };
        var backward = new Option<bool>("--backward") { Description = "With --extend: new frames before the video." };
        var loop = new Option<bool>("--loop") { Description = "A seamless loop: the end leads back into the start." };
        var connect = new Option<string[]?>("--connect")
        {
            Description = "Connect two videos: a transition from the end of A to the start of B (--connect A B).",
            Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true,
        };
        var lora = LoraCommands.AdapterOption("--lora", required: false);
        var loraScale = LoraCommands.ScaleOption("--lora-scale");
        var output = CliArgs.Option("--out", "Video file: .gif .png (contact sheet; one frame: the image) .mp4 (needs ffmpeg) ...",
                                    "out.gif", "-o");
        var command = new Command("generate", "Generate a video from a text prompt, an image or videos.")
        {
            prompt, model, size, seconds, frameCount, fps, seed, steps, sampler, shift, guidance, interval, negative, noExpand,
            expandMode, llmUrl, llmModel, image, video, strength, extend, backward, loop, connect, lora, loraScale, output,
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
            double shiftValue = CliArgs.Shift("--shift", parsed.GetValue(shift));
            double scale = parsed.GetValue(guidance);
            if (!(scale >= 0 && scale <= GenerationRequest.MaxGuidance))
                throw new UserError($"--guidance {scale}: must be 0 to {GenerationRequest.MaxGuidance}");
            var guidanceInterval = CliArgs.GuidanceInterval("--guidance-interval", parsed.GetValue(interval)!);
            (int W, int H)? wh = parsed.GetValue(size) is { } s ? CliArgs.Size("--size", s) : null;
            var expander = Expander(parsed.GetValue(expandMode)!, parsed.GetValue(noExpand), parsed.GetValue(llmUrl),
                                    parsed.GetValue(llmModel)!);
            double? rate = parsed.GetValue(fps) is { } fv ? CliArgs.Positive("--fps", fv) : null;
            if (rate > GenerationRequest.MaxFps) throw new UserError($"--fps {rate}: at most {GenerationRequest.MaxFps}");
            double? sec = parsed.GetValue(seconds);
            if (sec is { } sv && !(sv > 0 && sv <= GenerationRequest.MaxSeconds))
                throw new UserError($"--seconds {sv}: must be above 0 and at most {GenerationRequest.MaxSeconds}");
            int? count = parsed.GetValue(frameCount) is { } fc ? CliArgs.Positive("--frames", fc) : null;
            if (count is not null && sec is not null) throw new UserError("--frames and --seconds both say how long; give one");

            // 2) the model and the inputs (read before any sampling)
            var m = LoadModel(parsed.GetValue(model)!);
            IReadOnlyList<LoraCommands.Applied> applied = [];
            if (parsed.GetValue(lora) is { Length: > 0 } adapters)
            {
                applied = LoraCommands.Apply(io, m, parsed.GetValue(model)!, adapters, parsed.GetValue(loraScale),
                                             "--lora", "--lora-scale");
                io.OutWriter.WriteLine("LoRA: " + string.Join(", ", applied));
            }
            else if (parsed.GetValue(loraScale) is { Length: > 0 })
                throw new UserError("--lora-scale goes with --lora ADAPTER");
            double rateUsed = rate ?? m.Config.Fps;
            if (count is null && sec is { } asked && Math.Round(asked * rateUsed, MidpointRounding.AwayFromZero) < 1)
                throw new UserError($"--seconds {asked} at --fps {rateUsed:0.###} gives zero frames; ask for at least one");
            var condition = ReadCondition(parsed, image, video, strength, extend, backward, loop, connect, m.Config.Fps);
            CliArgs.Writable("--out", outPath);

            // 3) sample and write
            var request = new GenerationRequest(text)
            {
                Negative = negativeText, Width = wh?.W, Height = wh?.H, Frames = count, Seconds = sec, Fps = rate,
                Seed = (ulong)seedValue, Sampler = samplerConfig with { Steps = stepCount, Shift = shiftValue }, Guidance = scale,
                GuidanceInterval = guidanceInterval, ExpandPrompt = expander is not null, Expander = expander, Condition = condition,
            };
            var generator = new Generator(m);
            var clock = Stopwatch.StartNew();
            GenerationResult result = null!;
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("sampling", maxValue: 1);
                    var progress = new SyncProgress<GenerationProgress>(p =>
                    {
                        if (p.Chunks > 1) task.Description = $"sampling chunk {p.Chunk + 1}/{p.Chunks}";
                        task.Value = (p.Chunk + p.Step / (double)p.Steps) / p.Chunks;
                    });
                    try { result = generator.Generate(request, progress); }
                    catch (GenerationRequestException e) { throw new UserError(e.Message); }
                });
            var made = ProvenanceCommands.WriteMarked(outPath, result, request, parsed.GetValue(model)!, samplerName,
                                                      applied.Select(a => a.Digest()).ToList());
            foreach (var note in result.Notes) io.OutWriter.WriteLine(note);
            if (result.Chunks > 1)                          // long videos wander: say how far, first vs last tenth
                io.OutWriter.WriteLine($"drift from the first to the last tenth: {Spacetime.Eval.Drift.Measure(made)}");
            io.Out.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: {made.Count} frame{(made.Count == 1 ? "" : "s")} " +
                              $"of {made.Width}x{made.Height} at {made.Fps:0.###} fps");
            io.OutWriter.WriteLine($"prompt: {text}");
            io.OutWriter.WriteLine(result.Caption == text ? "caption: the prompt as typed" : $"caption: {result.Caption}");
            if (negativeText.Length > 0) io.OutWriter.WriteLine($"negative: {negativeText}");
            io.OutWriter.WriteLine($"{made.Width}x{made.Height}, {made.Count} frame{(made.Count == 1 ? "" : "s")}, {Describe(condition)}, seed {seedValue}, " +
                                   $"{result.Steps} steps of {samplerName}{CliArgs.ShiftNote(shiftValue)}" +
                                   (result.Chunks > 1 ? $" x {result.Chunks} chunks" : "") +
                                   $", {CliArgs.Guidance(scale, guidanceInterval)}, {clock.Elapsed.TotalSeconds:F1} s");
            return CliRunner.Ok;
        });
        return command;
    }

    // The conditioning the options ask for; two modes that cannot combine are one line that says which can.
    static Conditioning ReadCondition(ParseResult parsed, Option<string?> image, Option<string?> video,
                                     Option<double?> strength, Option<string?> extend, Option<bool> backward,
                                     Option<bool> loop, Option<string[]?> connect, double fps)
    {
        string? imagePath = parsed.GetValue(image), videoPath = parsed.GetValue(video), extendPath = parsed.GetValue(extend);
        string[]? pair = parsed.GetValue(connect) is { Length: > 0 } given ? given : null;
        bool looped = parsed.GetValue(loop), back = parsed.GetValue(backward);
        var modes = new List<string>();
        if (imagePath is not null) modes.Add("--image");
        if (videoPath is not null) modes.Add("--video");
        if (extendPath is not null) modes.Add("--extend");
        if (pair is not null) modes.Add("--connect");
        if (looped) modes.Add("--loop");
        bool imageLoop = modes.Count == 2 && imagePath is not null && looped;
        if (modes.Count > 1 && !imageLoop)
            throw new UserError($"{string.Join(" and ", modes)} cannot be combined; give one of --image, --video, " +
                                "--extend, --connect, --loop (only --loop and --image go together)");
        if (back && extendPath is null) throw new UserError("--backward goes with --extend FILE");
        if (parsed.GetValue(strength) is not null && videoPath is null)
            throw new UserError("--strength goes with --video FILE");
        double edit = parsed.GetValue(strength) ?? 0.6;
        if (!(edit > 0 && edit <= 1)) throw new UserError($"--strength {edit}: must be above 0 and at most 1");
        if (looped) return Conditioning.Loop(imagePath is null ? null : ImageFile.Read(imagePath, fps));
        if (imagePath is not null) return Conditioning.FromImage(ImageFile.Read(imagePath, fps));
        if (videoPath is not null) return Conditioning.Edit(VideoFile.Read(videoPath, fps), edit);
        if (extendPath is not null) return Conditioning.Extend(VideoFile.Read(extendPath, fps), back);
        if (pair is not null) return Conditioning.Connect(VideoFile.Read(pair[0], fps), VideoFile.Read(pair[1], fps));
        return Conditioning.None;
    }

    static string Describe(Conditioning c) => c.Mode switch
    {
        GenerationMode.Text => "text to video",
        GenerationMode.Image => "image to video",
        GenerationMode.Edit => $"video to video at strength {c.Strength:0.##}",
        GenerationMode.ExtendForward => "extended forward",
        GenerationMode.ExtendBackward => "extended backward",
        GenerationMode.Loop => c.Input is null ? "a loop" : "a loop from the image",
        _ => "a connection",
    };

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    static string Text(string what, string? value)
    {
        value ??= "";
        if (value.Length > MaxPromptChars)
            throw new UserError($"{what} has {value.Length} characters; at most {MaxPromptChars}");
        return value;
    }

    /// <summary>How the prompt is expanded.</summary>
    enum ExpandMode { Builtin, Llm, None }

    // --expand / --no-expand / --llm-url as an expander, or null for none
    static IPromptExpander? Expander(string mode, bool noExpand, string? url, string llmModel)
    {
        if (!Enum.TryParse<ExpandMode>(mode.Trim(), ignoreCase: true, out var m) || int.TryParse(mode, out _))
            throw new UserError($"--expand '{mode}': use builtin, llm or none");
        if (noExpand && m != ExpandMode.None && mode.Trim().ToLowerInvariant() != "builtin")
            throw new UserError("--no-expand and --expand say different things; give one");
        if (noExpand || m == ExpandMode.None) return null;
        if (m == ExpandMode.Builtin)
        {
            if (url is not null) throw new UserError("--llm-url needs --expand llm");
            return BuiltInExpander.Instance;
        }
        if (url is null) throw new UserError("--expand llm needs --llm-url, e.g. --llm-url http://127.0.0.1:8080/v1");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new UserError($"--llm-url '{url}': give an absolute http(s) URL, e.g. http://127.0.0.1:8080/v1");
        return new LlmPromptExpander(new LlmExpanderConfig(uri, llmModel, LlmExpanderConfig.KeyFromEnvironment()));
    }

    /// <summary>Loads a model folder; a missing shipped model says where it was looked for, any unreadable folder is
    /// a one-line error that names it.</summary>
    internal static TextVideoModel LoadModel(string dir)
    {
        if (!Directory.Exists(dir) && Path.GetFullPath(dir) == Path.GetFullPath(ShippedModel))
            throw new UserError($"no model in {Path.GetFullPath(ShippedModel)}: the shipped model is read from " +
                                $"{ShippedModel} under the current folder, so run spacetime from the repository's " +
                                "folder, or pass --model DIR (a folder `train dit --out` wrote)");
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
}
