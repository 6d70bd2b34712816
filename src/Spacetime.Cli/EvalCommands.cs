// spacetime eval: scores a trained model against world scenes no training run draws, beside the simulator (the
// ceiling: the scene itself) and the same model with an untrained DiT (the floor), plus the VAE's round trip when the
// model has a VAE. Writes report.json, report.md, contact.png, the continuation test's files and (with a classifier)
// features.json, the FVD's features that `eval compare` tests, into --out and prints the table.
//   spacetime eval --model runs/tiny --prompts 32 --seed 1000000 --out eval --steps 25 --guidance 4
// Videos are made at the model's training size, frame rate and (nearest accepted) frame count, from each scene's
// short prompt, with the scene's seed as the noise seed (the model and the floor start from the same noise).
using System.CommandLine;
using System.Diagnostics;
using Spacetime.Diffusion;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Models.Probe;
using Spacetime.Pipelines;
using Spacetime.World;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class EvalCommands
{
    /// <summary>The shipped world-clip classifier (the FVD's feature network).</summary>
    const string DefaultClassifier = "models/world-classifier";

    public static Command Create(CliConsole io)
    {
        var defaults = new EvalSettings();
        var model = CliArgs.Option("--model", "Model folder (written by `spacetime train dit`).", "models/spacetime");
        var prompts = CliArgs.Option("--prompts", "Number of world scenes (one prompt each).", defaults.Prompts);
        var seed = CliArgs.Option("--seed", "Scene family (never drawn by training).", defaults.Seed);
        var output = CliArgs.Option("--out", "Report folder: report.json, report.md, continuation.md, continuation.json, " +
                                             "contact.png, features.json (the FVD's features, for eval compare).",
                                    "eval", "-o");
        var steps = CliArgs.Option("--steps", "Sampler steps (DPM-Solver++(2M)).", 25);
        var shift = CliArgs.Option("--shift", GenerateCommands.ShiftHelp, 1.0);
        var guidance = CliArgs.Option("--guidance", "Classifier-free guidance scale (1: none).", 4.0);
        var noFloor = new Option<bool>("--no-floor")
        {
            Description = "Leave out the untrained floor (its videos and continuations: about 40% of the time); for " +
                          "evals made to be compared with `eval compare`, which pairs the model columns.",
        };
        var interval = CliArgs.Option("--guidance-interval", "Path times LO..HI at which guidance is applied (as " +
                                                             "generate's).", "0..1");
        var noExpand = new Option<bool>("--no-expand")
        {
            Description = "Give the model the scenes' short prompts as they are (default: expanded into dense captions, " +
                          "as `generate` does).",
        };
        var vae = new Option<string?>("--vae")
        {
            Description = "Measure this VAE folder's round trip in the codec column instead of the model's own latent " +
                          "codec (a VAE the model does not use yet); clips are padded to the 1 + 4k frames it takes " +
                          "with copies of the last frame, and trimmed back.",
        };
        var classifier = new Option<string?>("--classifier")
        {
            Description = $"World-clip classifier folder for the Fréchet video distance (`spacetime train classifier`); " +
                          $"default {DefaultClassifier} when it exists.",
        };
        var size = new Option<string?>("--size")
        {
            Description = "Frame size WxH to evaluate at (default: the model's training size), e.g. 160x96 or 96x160 " +
                          "for the 16:9 and 9:16 framing; rounded to what the model makes.",
        };
        var command = new Command("eval", "Score a model's videos against world scenes with known truth.")
        {
            model, prompts, seed, output, steps, shift, guidance, interval, noExpand, noFloor, vae, classifier, size,
        };
        command.SetAction(parsed =>
        {
            int count = CliArgs.Positive("--prompts", parsed.GetValue(prompts));
            long seedValue = parsed.GetValue(seed);
            if (seedValue < 0) throw new UserError($"--seed {seedValue}: must be 0 or more");
            int stepCount = CliArgs.Positive("--steps", parsed.GetValue(steps));
            double shiftValue = CliArgs.Shift("--shift", parsed.GetValue(shift));
            double scale = parsed.GetValue(guidance);
            if (!(scale >= 0) || double.IsInfinity(scale)) throw new UserError($"--guidance {scale}: must be 0 or more");
            var guidanceInterval = CliArgs.GuidanceInterval("--guidance-interval", parsed.GetValue(interval)!);
            string dir = parsed.GetValue(output)!;
            TextVideoModel m;
            try { m = TextVideoModel.Load(parsed.GetValue(model)!); }
            catch (InvalidDataException e) { throw new UserError($"--model: {e.Message}"); }
            m.Eval();
            var trained = new Generator(m);

            int frames = trained.WindowFrames;
            var seams = m.Latents.Geometry(m.Dit.Config.PatchT, m.Dit.Config.Patch).Seams(frames);
            var geometry = m.Latents.Geometry(m.Dit.Config.PatchT, m.Dit.Config.Patch);
            var (width, height) = parsed.GetValue(size) is { } text ? CliArgs.Size("--size", text)
                                                                     : (m.Config.Width, m.Config.Height);
            (width, height) = (geometry.RoundSize(width), geometry.RoundSize(height));
            var settings = new EvalSettings(count, seedValue, width, height, frames / m.Config.Fps,
                                            m.Config.Fps, Seams: seams);
            bool expand = !parsed.GetValue(noExpand);
            // every video of the eval, a scene's own (text to video) or its continuation, is this request
            GenerationRequest Request(string prompt, ClipSettings c) => new(prompt)
            {
                Width = c.Width, Height = c.Height, Frames = c.FrameCount, Fps = c.Fps, Seed = (ulong)c.Seed,
                Sampler = new SamplerConfig(Steps: stepCount, Shift: shiftValue), Guidance = scale, GuidanceInterval = guidanceInterval,
                ExpandPrompt = expand,
            };
            // the model, and the untrained floor unless --no-floor
            var generators = new List<(string Name, Generator Generator)> { ("model", trained) };
            if (!parsed.GetValue(noFloor))
            {
                var floorModel = m.Untrained();
                floorModel.Eval();
                generators.Add(("untrained", new Generator(floorModel)));
            }
            var systems = generators.Select(g => new EvalSystem(g.Name,
                (prompt, c) => g.Generator.Generate(Request(prompt, c)).Video)).ToList();
            // the latent codec's own loss: VAE (or pixel-space downsampling) encode + decode of the real clips
            Func<Frames, Frames> roundTrip = f => m.Latents.Decode(m.Latents.Encode(f), f.Fps);
            if (parsed.GetValue(vae) is { } vaeDir)
            {
                var codec = new VaeLatents(VaeCommands.Load(vaeDir));
                if (width % codec.SpatialFactor != 0 || height % codec.SpatialFactor != 0)
                    throw new UserError($"--vae {vaeDir}: the evaluated {width}x{height} frames do not " +
                                        $"divide by the VAE's {codec.SpatialFactor}x");
                roundTrip = f => RoundTripPadded(codec, f);
            }

            // the FVD's feature network: the shipped classifier unless another is named
            string? classifierDir = parsed.GetValue(classifier) ?? (Directory.Exists(DefaultClassifier) ? DefaultClassifier : null);
            Func<IReadOnlyList<Frames>, float[][]>? features = null;
            if (classifierDir is not null)
            {
                ClipClassifier net;
                try { net = ClipClassifier.Load(classifierDir); }
                catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
                {
                    throw new UserError($"--classifier: {e.Message}");
                }
                features = videos => ClassifierInput.Features(net, videos);
            }
            else io.OutWriter.WriteLine($"no classifier at {DefaultClassifier}: the Fréchet video distance is left out");

            var clock = Stopwatch.StartNew();
            EvalReport report = null!;
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                                      new RemainingTimeColumn())
                .Start(ctx =>
                {
                    int videos = count * (systems.Count + 1 + 1);
                    var task = ctx.AddTask("evaluating", maxValue: videos);
                    report = Evaluator.Run(settings, systems, roundTrip, p =>
                    {
                        task.Value = p.Done;
                        task.Description = $"{p.System}, scene {p.Prompt + 1}/{count}";
                    }, features);
                });
            // the continuation test: the same scenes, the first frames given (extend forward)
            int given = Continuation.GivenFrames(m.Latents.Geometry(m.Dit.Config.PatchT, m.Dit.Config.Patch), frames);
            ContinuationReport continuation = null!;
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                                      new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var continued = generators.Select(g => new ContinuationSystem(g.Name, (prompt, head, c) =>
                        g.Generator.Generate(Request(prompt, c) with { Condition = Conditioning.Extend(head) }).Video))
                        .ToList();
                    var task = ctx.AddTask("continuing scenes", maxValue: count * (continued.Count + 1));
                    continuation = Continuation.Run(settings, given, continued, (done, _) => task.Value = done);
                });
            report.Write(dir);
            AtomicFile.WriteAllText(Path.Combine(dir, "continuation.md"), continuation.ToMarkdown());
            AtomicFile.WriteAllText(Path.Combine(dir, "continuation.json"), continuation.ToJson());
            io.OutWriter.Write(report.ToMarkdownTable());
            io.OutWriter.WriteLine();
            io.OutWriter.Write(continuation.ToMarkdown());
            io.OutWriter.WriteLine($"{count} scene{(count == 1 ? "" : "s")} at {settings.Width}x{settings.Height}, " +
                                   $"{frames} frames, {stepCount} steps{CliArgs.ShiftNote(shiftValue)}, {CliArgs.Guidance(scale, guidanceInterval)}, " +
                                   $"{clock.Elapsed.TotalSeconds:F1} s; " +
                                   $"wrote report.json, report.md, continuation.md, continuation.json, " +
                                   $"{(report.Features is null ? "" : "features.json, ")}contact.png in {dir}");
            return CliRunner.Ok;
        });
        command.Subcommands.Add(Scaling(io));
        command.Subcommands.Add(CaptionerCommand(io));
        command.Subcommands.Add(Compare(io));
        return command;
    }

    // spacetime eval compare BASE NEW [--system model] [--out FILE]: is NEW better than BASE beyond noise (EvalComparison)
    static Command Compare(CliConsole io)
    {
        var baseline = new Argument<string>("base") { Description = "The base eval: its --out folder or its report.json." };
        var newer = new Argument<string>("new") { Description = "The new eval, of the same scenes." };
        var system = CliArgs.Option("--system", "The column compared (model, untrained, codec round trip, ...).", "model");
        var output = new Option<string?>("--out", "-o") { Description = "Also write the comparison to this markdown file." };
        var command = new Command("compare", "Compare two eval reports of the same scenes, scene by scene: per metric " +
                                             "the difference, the scenes better and worse, a paired test, and whether " +
                                             "it is beyond noise (Holm-corrected).") { baseline, newer, system, output };
        command.SetAction(parsed =>
        {
            string baseArg = parsed.GetValue(baseline)!, newArg = parsed.GetValue(newer)!;
            var (a, ca) = ReadReport(baseArg);
            var (b, cb) = ReadReport(newArg);
            string? outFile = parsed.GetValue(output);
            if (outFile is not null) CliArgs.Writable("--out", outFile);
            ComparisonReport comparison;
            try { comparison = EvalComparison.Compare(a, b, parsed.GetValue(system)!, baseArg, newArg, ca, cb); }
            catch (ArgumentException e) { throw new UserError(e.Message); }
            string md = comparison.ToMarkdown();
            if (ca?.Videos is null || cb?.Videos is null)
                md += "(The continuation test is not compared: it needs the continuation.json that `spacetime eval` " +
                      "writes beside both reports.)\n";
            if (a.Features is null || b.Features is null)
                md += "(FVD is not tested: it needs the features.json that `spacetime eval` with a classifier writes " +
                      "beside both reports.)\n";
            io.OutWriter.Write(md);
            if (outFile is not null)
            {
                AtomicFile.WriteAllText(outFile, md);
                io.OutWriter.WriteLine($"wrote {outFile}");
            }
            return CliRunner.Ok;
        });
        return command;
    }

    // An eval folder or its report.json, read, with the continuation.json beside it when there is one; a missing or
    // unreadable one is the user's to fix.
    static (EvalReport Report, ContinuationReport? Continuation) ReadReport(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, "report.json") : path;
        if (!File.Exists(file))
            throw new UserError($"{path}: no eval report there (expected a folder with report.json or the file " +
                                "itself; write one with `spacetime eval --out DIR`)");
        string continuation = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(file))!, "continuation.json");
        try
        {
            return (EvalReport.Read(file), File.Exists(continuation) ? ContinuationReport.Read(continuation) : null);
        }
        catch (InvalidDataException e) { throw new UserError(e.Message); }
        catch (IOException e) { throw new UserError($"{file}: cannot be read ({e.Message})"); }
    }

    // spacetime eval scaling RUN RUN ... --out DIR: loss against training compute (ScalingStudy)
    static Command Scaling(CliConsole io)
    {
        var runs = new Argument<string[]>("runs")
        {
            Description = "Run folders of `spacetime train dit` (two or more), trained with the same seed.",
            Arity = ArgumentArity.OneOrMore,
        };
        var output = CliArgs.Option("--out", "Folder for scaling.png and scaling.md.", "scaling", "-o");
        var command = new Command("scaling", "Plot training loss against training FLOPs for several runs (log-log) and " +
                                             "tabulate the loss at equal compute.") { runs, output };
        command.SetAction(parsed =>
        {
            var list = new List<ScalingRun>();
            foreach (string run in parsed.GetValue(runs)!)
            {
                try { list.Add(ScalingStudy.Read(run)); }
                catch (ArgumentException e) { throw new UserError(e.Message); }
                catch (InvalidDataException e) { throw new UserError($"{run}: {e.Message}"); }
            }
            if (list.Any(r => r.TotalCompute <= 0))
                throw new UserError($"{list.First(r => r.TotalCompute <= 0).Name}: no steps logged yet");
            string dir = parsed.GetValue(output)!;
            CliArgs.Writable("--out", Path.Combine(dir, "scaling.png"));
            ScalingStudy.Plot(list, Path.Combine(dir, "scaling.png"));
            string table = ScalingStudy.Table(list, ScalingStudy.Budgets(list));
            AtomicFile.WriteAllText(Path.Combine(dir, "scaling.md"), table);
            io.OutWriter.Write(table);
            io.OutWriter.WriteLine($"wrote scaling.png and scaling.md in {dir}");
            return CliRunner.Ok;
        });
        return command;
    }

    // spacetime eval captioner [--captioner DIR] [--vae DIR] --clips 200 --out DIR: facts a captioner gets right
    static Command CaptionerCommand(CliConsole io)
    {
        var captioner = CliArgs.Option("--captioner", "Captioner folder.", CaptionCommands.DefaultCaptioner);
        var vae = CliArgs.Option("--vae", "The VAE the captioner was trained with.", CaptionCommands.DefaultVae);
        var clips = CliArgs.Option("--clips", "Held-out world clips to caption and score.", 200);
        var seed = CliArgs.Option("--seed", "Scene family (the same as `eval`'s: no training run draws it).", 1_000_000L);
        var output = CliArgs.Option("--out", "Folder for report.md.", "eval-captioner", "-o");
        var command = new Command("captioner", "Caption held-out world clips and score each fact the captions state " +
                                               "(colour, shape, count, direction, bounces, occlusion, camera, ...) " +
                                               "against the simulator's truth.") { captioner, vae, clips, seed, output };
        command.SetAction(parsed =>
        {
            int n = CliArgs.Positive("--clips", parsed.GetValue(clips));
            if (n < 2) throw new UserError($"--clips {n}: at least 2 (the chance row needs another clip)");
            if (parsed.GetValue(seed) < 0) throw new UserError($"--seed {parsed.GetValue(seed)}: must be 0 or more");
            string dir = parsed.GetValue(output)!;
            CliArgs.Writable("--out", Path.Combine(dir, "report.md"));
            var captioning = CaptionCommands.Load(parsed.GetValue(captioner)!, parsed.GetValue(vae)!);
            CaptionerReport report = null!;
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                                      new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("captioning", maxValue: n);
                    report = CaptionerEval.Run(captioning, n, parsed.GetValue(seed), (done, _) => task.Value = done);
                });
            string md = report.ToMarkdown();
            AtomicFile.WriteAllText(Path.Combine(dir, "report.md"), md);
            io.OutWriter.Write(md);
            io.OutWriter.WriteLine($"wrote report.md in {dir}");
            return CliRunner.Ok;
        });
        return command;
    }

    // the codec's round trip of f, padded with copies of its last frame to a frame count the codec takes, trimmed back
    static Frames RoundTripPadded(ILatentCodec codec, Frames f)
    {
        int r = codec.TemporalFactor, need = 1 + r * ((f.Count - 1 + r - 1) / r);
        var back = codec.Decode(codec.Encode(Pad.Edge(f, f.Height, f.Width, need)), f.Fps);
        return Pad.Crop(back, f.Height, f.Width, f.Count);
    }
}
