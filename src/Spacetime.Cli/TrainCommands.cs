// spacetime train ...: train the VAE and the text-to-video DiT on world clips, with a progress bar.
//   spacetime train vae --recipe world --steps 2000 --out runs/vae [--max-minutes 30]
//   spacetime train dit --recipe world-s-base --steps 1500 --out runs/dit [--max-minutes 60]   (pixel space)
//   spacetime train dit --recipe world-s --init runs/dit --steps 1700 --out runs/dit2   (a stage from a trained model)
//   spacetime train dit --recipe tiny-vae --vae runs/vae --data my-clips --out runs/mine   (VAE latents, a folder)
//   spacetime train dit --recipe tiny --steps 200 --out runs/tiny       (pixel-space smoke recipe, no VAE)
//   spacetime train captioner --recipe world --vae models/spacetime/vae --out runs/captioner   (video -> caption)
//   spacetime train lora --model models/spacetime --data my-clips --rank 8 --steps 200 --out runs/my-lora
//       (LoRA adapters only, the model frozen; the adapter is runs/my-lora/adapter.safetensors)
// Running again into the same --out resumes from its checkpoint (exactly: same weights as an uninterrupted run).
// Data-parallel over MPI: mpirun -np N ./spacetime train ... runs every command on N ranks (--batch and --accumulate
// are per rank; rank 0 shows progress and writes --out): see OnRanks and docs/distributed.md.
// --dump-parity DIR also writes what bench/parity/parity.py needs to replay the run in PyTorch (TrainParity).
using System.CommandLine;
using Spacetime.Data;
using Spacetime.Models.Dit;
using Spacetime.Models.Text;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.Training.Distributed;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class TrainCommands
{
    public static Command Create(CliConsole io)
    {
        var train = new Command("train", "Train models on world-simulator clips.");
        train.Subcommands.Add(Vae(io));
        train.Subcommands.Add(Classifier(io));
        train.Subcommands.Add(Captioner(io));
        train.Subcommands.Add(Dit(io));
        train.Subcommands.Add(Lora(io));
        return train;
    }

    // the options every `train` command shares, and the TrainConfig they make
    sealed class Knobs
    {
        readonly Option<int> steps, batch, accumulate, checkpointEvery, profile;
        readonly Option<string> output;
        readonly Option<string?> parity;
        readonly Option<double> maxMinutes, lr, weightDecay, ema;
        readonly Option<long> seed;

        public Knobs(Command command, TrainConfig defaults)
        {
            steps = CliArgs.Option("--steps", "Total optimizer steps (the cosine schedule's length).", defaults.Steps);
            output = CliArgs.Required<string>("--out", "Run folder: the model, checkpoints, loss.csv and loss.png.", "-o");
            maxMinutes = CliArgs.Option("--max-minutes", "Stop with a checkpoint after this many minutes (0: none).", 0.0);
            batch = CliArgs.Option("--batch", "Clips per micro-batch (per rank under mpirun).", defaults.Batch);
            accumulate = CliArgs.Option("--accumulate", "Micro-batches per optimizer step (gradient accumulation; per " +
                                        "rank under mpirun).", 1);
            lr = CliArgs.Option("--lr", "Peak learning rate.", (double)(decimal)defaults.Lr);   // 0.001, not 0.00100000004749
            seed = CliArgs.Option("--seed", "Seed of weights, data and noise.", 0L);
            weightDecay = CliArgs.Option("--weight-decay", "AdamW weight decay of the matrices (biases and norms get " +
                                         "none).", (double)defaults.WeightDecay);
            ema = CliArgs.Option("--ema", "Decay of the weights' exponential moving average, which is what the run " +
                                 "exports (0: no average, the trained weights; 0.99 remembers about 100 steps, 0.999 " +
                                 "about 1,000).", (double)(decimal)defaults.EmaDecay);
            checkpointEvery = CliArgs.Option("--checkpoint-every", "Checkpoint every N steps.", defaults.CheckpointEvery);
            profile = CliArgs.Option("--profile", "Time N steps op by op, after the first (forward and backward per " +
                                     "op and shape, the optimizer, the rest): printed and written to OUT/profile.md.", 0);
            parity = new Option<string?>("--dump-parity")
            {
                Description = "Also write this folder: the initial weights, every step's inputs, step 1's gradients, " +
                              "the losses and the final weights, for bench/parity/parity.py to replay in PyTorch " +
                              "(a new run only).",
            };
            foreach (var o in new Option[] { steps, output, maxMinutes, batch, accumulate, lr, weightDecay, ema, seed,
                                             checkpointEvery, profile, parity })
                command.Options.Add(o);
        }

        public string Dir(ParseResult p) => p.GetValue(output)!;

        /// <summary>The --dump-parity folder, or null.</summary>
        public string? ParityDir(ParseResult p, Communicator world) => p.GetValue(parity) is not { } dir ? null
            : world.Size == 1 ? dir : throw new UserError("--dump-parity: runs in one process, not under mpirun");

        /// <summary>The knobs given, for a run on the ranks of <paramref name="world"/>.</summary>
        public TrainConfig Config(ParseResult p, TrainConfig defaults, Communicator world)
        {
            if (p.GetValue(seed) < 0) throw new UserError($"--seed {p.GetValue(seed)}: must be 0 or more");
            if (!(p.GetValue(maxMinutes) >= 0) || double.IsInfinity(p.GetValue(maxMinutes)))
                throw new UserError($"--max-minutes {p.GetValue(maxMinutes)}: must be a number, 0 (no limit) or more");
            return defaults with
            {
                Steps = CliArgs.Positive("--steps", p.GetValue(steps)),
                Batch = CliArgs.Positive("--batch", p.GetValue(batch)),
                Accumulate = CliArgs.Positive("--accumulate", p.GetValue(accumulate)),
                Lr = (float)CliArgs.Positive("--lr", p.GetValue(lr)),
                WeightDecay = p.GetValue(weightDecay) >= 0 ? (float)p.GetValue(weightDecay)
                    : throw new UserError($"--weight-decay {p.GetValue(weightDecay)}: must be 0 or more"),
                EmaDecay = p.GetValue(ema) is >= 0 and < 1 ? (float)p.GetValue(ema)
                    : throw new UserError($"--ema {p.GetValue(ema)}: must be 0 (no average) or more and below 1"),
                Seed = (ulong)p.GetValue(seed),
                MaxMinutes = p.GetValue(maxMinutes),
                CheckpointEvery = CliArgs.Positive("--checkpoint-every", p.GetValue(checkpointEvery)),
                ProfileSteps = p.GetValue(profile) >= 0 ? p.GetValue(profile)
                    : throw new UserError($"--profile {p.GetValue(profile)}: give a number of steps, 0 (none) or more"),
                Ranks = world.Size,
            };
        }
    }

    /// <summary>The VAE's knobs: no EMA (the exported model is the trained weights), lr 1e-3 after 200 warmup steps,
    /// 8 crops a step, 3,000 steps (the world recipe's schedule measured in bench/vae-lab).</summary>
    static readonly TrainConfig VaeDefaults = new() { Steps = 3000, Batch = 8, Lr = 1e-3f, EmaDecay = 0, WarmupSteps = 200,
                                                      CheckpointEvery = 100 };
    /// <summary>The DiT's knobs.</summary>
    static readonly TrainConfig DitDefaults = new() { Steps = 200, Batch = 4, Lr = 1e-3f, CheckpointEvery = 50 };

    /// <summary>The classifier's knobs: no EMA, lr 1e-3, 16 clips a step, 1,500 steps.</summary>
    static readonly TrainConfig ClassifierDefaults = new() { Steps = 1500, Batch = 16, Lr = 1e-3f, EmaDecay = 0,
                                                             WarmupSteps = 50, CheckpointEvery = 100 };

    static Command Classifier(CliConsole io)
    {
        var recipe = CliArgs.Option("--recipe", $"Recipe: {string.Join(", ", ClassifierRecipe.Presets.Keys)}.", "world");
        var command = new Command("classifier", "Train the world-clip classifier whose features `eval` uses for the " +
                                                "Fréchet video distance.") { recipe };
        var knobs = new Knobs(command, ClassifierDefaults);
        command.SetAction(parsed => OnRanks(io, (world, io) =>
        {
            var r = Recipe(() => ClassifierRecipe.Preset(parsed.GetValue(recipe)!));
            var cfg = knobs.Config(parsed, ClassifierDefaults, world);
            string dir = knobs.Dir(parsed);
            var result = WithProgress(io, cfg, world, (p, _) => ClassifierTrainer.Train(r, cfg, dir, p, comm: world));
            return Report(io, cfg, dir, result);
        }));
        return command;
    }

    /// <summary>The captioner's knobs: lr 1e-3 after 100 warmup steps, 16 clips a step, 3,000 steps.</summary>
    static readonly TrainConfig CaptionerDefaults = new() { Steps = 3000, Batch = 16, Lr = 1e-3f, WarmupSteps = 100,
                                                            CheckpointEvery = 100 };

    static Command Captioner(CliConsole io)
    {
        var recipe = CliArgs.Option("--recipe", $"Recipe: {string.Join(", ", CaptionerRecipe.Presets.Keys)}.", "world");
        var vae = new Option<string?>("--vae") { Description = "The VAE whose latents it reads (a `train vae` folder, " +
                                                               "e.g. models/spacetime/vae); a resumed run uses its copy." };
        var command = new Command("captioner", "Train the video captioner (video -> dense caption, for `spacetime " +
                                               "caption`) on world clips in a VAE's latents.") { recipe, vae };
        var knobs = new Knobs(command, CaptionerDefaults);
        command.SetAction(parsed => OnRanks(io, (world, io) =>
        {
            var r = Recipe(() => CaptionerRecipe.Preset(parsed.GetValue(recipe)!));
            var cfg = knobs.Config(parsed, CaptionerDefaults, world);
            string dir = knobs.Dir(parsed);
            string? vaeDir = parsed.GetValue(vae);
            if (vaeDir is not null && !File.Exists(Path.Combine(vaeDir, "config.json")))
                throw new UserError($"--vae {vaeDir}: not a VAE folder (no config.json); the shipped one is " +
                                    "models/spacetime/vae");
            var result = WithProgress(io, cfg, world, (p, status) => CaptionerTrainer.Train(r, cfg, dir, vaeDir, p,
                                                                                            status: status, comm: world));
            return Report(io, cfg, dir, result);
        }));
        return command;
    }

    static Command Vae(CliConsole io)
    {
        var recipe = CliArgs.Option("--recipe", $"Recipe: {string.Join(", ", VaeRecipe.Presets.Keys)}.", "world");
        var init = new Option<string?>("--init") { Description = "Start a new run from this trained VAE folder " +
                                                                 "(needed by world-decoder, which trains its decoder " +
                                                                 "on); ignored when OUT already holds a run to resume." };
        var command = new Command("vae", "Train the causal video VAE (the latent space the DiT works in).") { recipe, init };
        var knobs = new Knobs(command, VaeDefaults);
        command.SetAction(parsed => OnRanks(io, (world, io) =>
        {
            var r = Recipe(() => VaeRecipe.Preset(parsed.GetValue(recipe)!));
            var cfg = knobs.Config(parsed, VaeDefaults, world);
            string dir = knobs.Dir(parsed);
            Spacetime.Models.Vae.VideoVae? start = null;     // world-decoder without one: VaeTrainer's refusal
            if (parsed.GetValue(init) is { } initDir && !Trainer.HasCheckpoint(dir))
                start = VaeCommands.Load(initDir, "--init");
            var parityDir = knobs.ParityDir(parsed, world);
            if (r.DecoderOnly && parityDir is not null)
                throw new UserError("--dump-parity replays runs from scratch; world-decoder starts from a trained VAE");
            var result = parityDir is not null
                ? WithProgress(io, cfg, world, (p, _) => TrainParity.Vae(r, cfg, dir, parityDir, p))
                : WithProgress(io, cfg, world, (p, _) => VaeTrainer.Train(r, cfg, dir, p, comm: world, init: start));
            return Report(io, cfg, dir, result);
        }));
        return command;
    }

    // --init MODEL with --vae DIR: the model's DiT and text encoder in another VAE's latents (of the same channels and
    // strides), e.g. the same VAE normalised per channel (`vae normalize`); the stage then adapts the DiT to them
    static TextVideoModel WithVae(CliConsole io, TextVideoModel start, string vaeDir)
    {
        if (start.Latents is not VaeLatents old)
            throw new UserError("--vae with --init: the --init model is in pixel space; a VAE replaces a VAE only");
        var vae = VaeCommands.Load(vaeDir);
        if (vae.Config.LatentChannels != old.Channels || vae.Config.SpatialCompression != old.SpatialFactor ||
            vae.Config.TemporalCompression != old.TemporalFactor)
            throw new UserError($"--vae {vaeDir}: {vae.Config.LatentChannels} channels, {vae.Config.SpatialCompression}x " +
                                $"in space, {vae.Config.TemporalCompression}x in time; the --init model's VAE has " +
                                $"{old.Channels}, {old.SpatialFactor}x, {old.TemporalFactor}x, which its DiT is built for");
        bool same = LatentFingerprint.Of(new VaeLatents(vae)) == LatentFingerprint.Of(old);
        io.OutWriter.WriteLine(same ? $"--vae {vaeDir}: the same latents as the --init model's VAE"
                                    : $"--vae {vaeDir}: other latents than the --init model was trained in; this stage " +
                                      "adapts its DiT to them");
        return new TextVideoModel(start.Dit, start.Text, start.Config, vae);
    }

    static Command Dit(CliConsole io)
    {
        var recipe = CliArgs.Option("--recipe", $"Recipe: {string.Join(", ", DitRecipe.Presets.Keys)}.", "tiny");
        var vae = new Option<string?>("--vae") { Description = "VAE folder (`spacetime train vae --out`) for recipes " +
                                                               "in VAE latent space; with --init, replaces the " +
                                                               "model's VAE (same channels and strides)." };
        var data = new Option<string?>("--data") { Description = "Train on a dataset folder (captions.jsonl from `data " +
                                                                 "synth`, or videos with captions) instead of world " +
                                                                 "clips rendered by the recipe." };
        var init = new Option<string?>("--init") { Description = "Start a new run from this trained model folder's " +
                                                                 "weights (a recipe's second stage, or fine-tuning); " +
                                                                 "ignored when OUT already holds a run to resume." };
        var textFrom = new Option<string?>("--text-from") { Description = "Start a new run with this trained model " +
                                                                          "folder's text encoder and tokenizer (with a " +
                                                                          "recipe that freezes text, e.g. world-v2-text); " +
                                                                          "ignored when OUT already holds a run." };
        var cacheClips = new Option<int?>("--cache-clips") { Description = "World clips in the run's latent cache " +
                                                                         "(default: the recipe's, e.g. 4,000): fewer " +
                                                                         "start sooner, for trials and timings." };
        var command = new Command("dit", "Train the text-conditioned spacetime DiT (and its text encoder).")
        {
            recipe, vae, data, init, textFrom, cacheClips,
        };
        var knobs = new Knobs(command, DitDefaults);
        command.SetAction(parsed => OnRanks(io, (world, io) =>
        {
            var r = Recipe(() => DitRecipe.Preset(parsed.GetValue(recipe)!));
            var cfg = knobs.Config(parsed, DitDefaults, world);
            string dir = knobs.Dir(parsed);
            if (parsed.GetValue(cacheClips) is { } clips)
            {
                if (r.CacheClips == 0)
                    throw new UserError($"--cache-clips: recipe {parsed.GetValue(recipe)} renders its clips every " +
                                        "step and keeps no cache");
                if (parsed.GetValue(data) is not null)
                    throw new UserError("--cache-clips: with --data the cache holds every clip of the folder");
                r = r with { CacheClips = CliArgs.Positive("--cache-clips", clips) };
            }
            string? vaeDir = parsed.GetValue(vae);
            if (vaeDir is not null && !File.Exists(Path.Combine(vaeDir, "config.json")))
                throw new UserError($"--vae {vaeDir}: not a VAE folder (no config.json); train one with " +
                                    "`spacetime train vae --recipe world --out runs/vae`");
            Dataset? dataset = null;
            if (parsed.GetValue(data) is { } dataDir)
            {
                if (!Directory.Exists(dataDir)) throw new UserError($"--data {dataDir}: no such folder");
                dataset = Dataset.Load(dataDir);
                io.OutWriter.WriteLine($"{dataDir}: {dataset.Clips.Count} clips" +
                                       (dataset.Problems.Count > 0 ? $", {dataset.Problems.Count} skipped (see `spacetime data inspect`)" : ""));
            }
            TextVideoModel? start = null;
            if (parsed.GetValue(init) is { } initDir && !Trainer.HasCheckpoint(dir))
            {
                try { start = TextVideoModel.Load(initDir); }
                catch (InvalidDataException e) { throw new UserError($"--init: {e.Message}"); }
                if (vaeDir is not null) start = WithVae(io, start, vaeDir);
                try
                {
                    var fresh = DitTrainer.StartFrom(r, cfg.Seed, start).Fresh;
                    io.OutWriter.WriteLine($"starting from {initDir}" + (fresh.Count == 0 ? "" :
                        $"; new in this recipe (initialised): {FreshNames(fresh)}") +
                        (DitTrainer.Grows(start.Dit.Config, r.Dit)
                            ? $" (its {start.Dit.Config.Depth} blocks spread over {r.Dit.Depth}; each new block " +
                              "starts as an identity, so the model predicts what it did)" : ""));
                }
                catch (ArgumentException e) { throw new UserError(e.Message); }
            }
            TextEncoder? text = null;
            if (parsed.GetValue(textFrom) is { } textDir && !Trainer.HasCheckpoint(dir))
            {
                try
                {
                    text = TextVideoModel.Load(textDir).Text;
                    DitTrainer.CheckText(r, text);
                }
                catch (Exception e) when (e is InvalidDataException or ArgumentException)
                {
                    throw new UserError($"--text-from {textDir}: {e.Message}");
                }
                io.OutWriter.WriteLine($"text encoder and tokenizer from {textDir}" +
                                       (r.TextLr == 0 ? " (frozen)" : $" (trained on at {r.TextLr:G3}x the learning rate)"));
            }
            var result = knobs.ParityDir(parsed, world) is { } parityDir
                ? WithProgress(io, cfg, world, (p, status) => TrainParity.Dit(r, cfg, dir, parityDir, p,
                                                                              vaeDir: vaeDir, status: status,
                                                                              data: dataset, init: start))
                : WithProgress(io, cfg, world, (p, status) => DitTrainer.Train(r, cfg, dir, p, vaeDir: vaeDir,
                                                                               status: status, data: dataset,
                                                                               init: start, comm: world,
                                                                               text: text));
            return Report(io, cfg, dir, result);
        }));
        return command;
    }

    // the names of a started run's new tensors, a DiT block's as "blocks.N.*" rather than each of its tensors
    static string FreshNames(IReadOnlyList<string> fresh)
    {
        var blocks = fresh.Select(n => VideoDit.TrySplitBlockKey(n, out int b, out _) ? b : -1)
                          .Where(b => b >= 0).Distinct().Order();
        var rest = fresh.Where(n => !VideoDit.TrySplitBlockKey(n, out _, out _));
        return string.Join(", ", rest.Concat(blocks.Select(b => VideoDit.BlockKey(b, "*"))));
    }

    /// <summary>LoRA's knobs: the DiT's, without EMA (the adapter is exported as trained).</summary>
    static readonly TrainConfig LoraDefaults = DitDefaults with { EmaDecay = 0 };

    static Command Lora(CliConsole io)
    {
        var model = CliArgs.Option("--model", "Base model folder, frozen (written by `spacetime train dit`).",
                                   GenerateCommands.ShippedModel);
        var data = CliArgs.Required<string>("--data", "Dataset folder, as `train dit --data` reads (captions.jsonl " +
                                                      "from `data synth`, or videos with captions).");
        var rank = CliArgs.Option("--rank", "Rank of each low-rank update.", new LoraConfig().Rank);
        var alpha = new Option<double?>("--alpha") { Description = "Updates are scaled by alpha / rank (default: " +
                                                                   "the rank, a scale of 1)." };
        var targets = CliArgs.Option("--targets", $"Adapted layers of each DiT block, comma-separated: " +
                                                  $"{LoraCommands.TargetNames}.", "all");
        var prior = new Option<string?>("--prior") { Description = "A second dataset folder of what the base model " +
                                                                    "already does (e.g. `spacetime data synth` world " +
                                                                    "clips), mixed in to keep it doing that (prior " +
                                                                    "preservation)." };
        var priorShare = CliArgs.Option("--prior-share", "Share of micro-batches drawn from --prior.",
                                        new LoraMix().PriorShare);
        var objectWeight = CliArgs.Option("--object-weight", "Extra loss weight on the objects' pixels, for clips " +
                                                             "with the simulator's truth (`data synth` writes it) at " +
                                                             "the model's clip size (0: none).", 0.0);
        var newWord = new Option<string[]>("--new-word")
        {
            Description = "A word the model has never seen, taught as a token with an embedding of its own (textual " +
                          "inversion); captions and prompts with it change, others not at all. Repeat for several; " +
                          "with --targets none, only the words train.",
            Arity = ArgumentArity.OneOrMore,
        };
        var initWord = new Option<string?>("--init-word") { Description = "A known word that roughly describes the " +
                                                                          "new ones (\"yellow\" for olive): they " +
                                                                          "start from its embedding (default: the " +
                                                                          "mean of every token's)." };
        var wordBlocks = new Option<bool>("--word-blocks")
        {
            Description = "Also learn each new word's offset to its token in every DiT block (P+), so the word can " +
                          "mean what one embedding cannot (e.g. a colour the model never drew); still only captions " +
                          "with the word change.",
        };
        var command = new Command("lora", "Train LoRA adapters on a dataset folder; the base model stays frozen and " +
                                          "the adapter is saved apart (OUT/adapter.safetensors).")
        {
            model, data, rank, alpha, targets, prior, priorShare, objectWeight, newWord, initWord, wordBlocks,
        };
        var knobs = new Knobs(command, LoraDefaults);
        command.SetAction(parsed => OnRanks(io, (world, io) =>
        {
            var cfg = knobs.Config(parsed, LoraDefaults, world);
            string dir = knobs.Dir(parsed);
            if (knobs.ParityDir(parsed, world) is not null)
                throw new UserError("--dump-parity replays whole-model runs; train lora does not take it");
            int r = CliArgs.Positive("--rank", parsed.GetValue(rank));
            double a = parsed.GetValue(alpha) is { } given ? CliArgs.Positive("--alpha", given) : r;
            var lora = new LoraConfig
            {
                Rank = r, Alpha = (float)a, Targets = LoraCommands.Targets("--targets", parsed.GetValue(targets)!),
            };
            string dataDir = parsed.GetValue(data)!;
            var dataset = LoraCommands.Clips(dataDir);
            var priorData = parsed.GetValue(prior) is { } priorDir ? LoraCommands.Clips(priorDir, "--prior") : null;
            double share = parsed.GetValue(priorShare), weight = parsed.GetValue(objectWeight);
            if (!(share >= 0 && share < 1))
                throw new UserError($"--prior-share {share}: must be at least 0 and below 1 (the share of " +
                                    "micro-batches drawn from --prior)");
            if (!(weight >= 0 && weight <= 100))
                throw new UserError($"--object-weight {weight}: must be 0 to 100 (an object's pixel weighs 1 + it)");
            var mix = new LoraMix(priorData, share, (float)weight);
            string modelDir = parsed.GetValue(model)!;
            var m = GenerateCommands.LoadModel(modelDir);
            var identity = ModelIdentity.Of(modelDir);
            var words = LoraCommands.Words(m, parsed.GetValue(newWord) ?? [], parsed.GetValue(initWord),
                                           parsed.GetValue(wordBlocks), lora);
            try { LoraCommands.Describe(io, new DitLora(m.Dit, lora, words: words?.Start(m)), m); }
            catch (ArgumentException e) { throw new UserError($"--rank: {e.Message}"); }
            io.OutWriter.WriteLine($"{dataDir}: {dataset.Clips.Count} clips" + (dataset.Problems.Count > 0
                ? $", {dataset.Problems.Count} skipped (see `spacetime data inspect`)" : "") + (priorData is null ? ""
                : $"; prior {priorData.Root}: {priorData.Clips.Count} clips, {mix.PriorShare:0.##} of the micro-batches"));
            var result = WithProgress(io, cfg, world, (p, status) =>
                DitTrainer.TrainLora(m, identity, lora, cfg, dir, dataset, p, status: status, comm: world, mix: mix,
                                     words: words));
            return Report(io, cfg, dir, result, $"adapter in {Path.Combine(dir, LoraAdapter.FileName)}");
        }));
        return command;
    }

    static T Recipe<T>(Func<T> get)
    {
        try { return get(); }
        catch (ArgumentException e) { throw new UserError($"--recipe: {e.Message}"); }
    }

    // Runs a train command on every rank of an mpirun job, or in this one process. Rank 0 alone shows progress and
    // results (the others get a console that prints only errors). A failure before the first step stops every rank
    // there, the failed ranks saying why (Communicator's header); after it, the rank that failed says why and aborts
    // the job, and the same command resumes from the last checkpoint.
    static int OnRanks(CliConsole io, Func<Communicator, CliConsole, int> command)
    {
        using var world = Mpi.Join();
        if (world.Size == 1) return command(world, io);
        try
        {
            return command(world, world.IsRoot ? io : CliConsole.ForWriters(TextWriter.Null, io.ErrWriter));
        }
        catch (PeerFailedException e) { return e.ExitCode; }                     // the failed rank said why
        catch (DistributedException e) when (e.OnEveryRank)
        {
            if (world.IsRoot) io.Fail(e.Message);
            return e.ExitCode;
        }
        catch (Exception e)
        {
            var (code, message) = CliRunner.Describe(e);
            string rank = $"rank {world.Rank} of {world.Size}: ";
            if (!world.SetupDone)
            {
                var (rootFailed, jobCode) = world.ReportSetupFailure(code);
                if (world.IsRoot || !rootFailed) io.Fail(world.IsRoot ? message : rank + message);
                return jobCode;
            }
            io.Fail($"{rank}{message}; ending the job (rerun the same command to resume from the last checkpoint)");
            if (code == CliRunner.Bug && Environment.GetEnvironmentVariable("SPACETIME_DEBUG") == "1") io.ErrWriter.WriteLine(e);
            world.Abort(code);
            return code;
        }
    }

    static TrainResult WithProgress(CliConsole io, TrainConfig cfg, Communicator world,
                                    Func<Action<TrainProgress>, Action<string, int, int>, TrainResult> run)
    {
        using var signals = new StopOnSignal(io, world);
        if (!world.IsRoot) return AsUserErrors(() => run(_ => { }, (_, _, _) => { }));
        TrainResult result = null!;
        io.Out.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask? prep = null;
                var task = ctx.AddTask("training", maxValue: cfg.Steps);
                result = AsUserErrors(() => run(p =>
                {
                    task.Value = p.Step;
                    task.Description = $"step {p.Step}/{p.Steps} loss {p.Loss:F4} {p.StepsPerSecond:F2} steps/s " +
                                       $"ETA {p.Eta:hh\\:mm\\:ss}";
                }, (what, done, total) =>
                {
                    prep ??= ctx.AddTaskBefore(what, new ProgressTaskSettings { MaxValue = total }, task);
                    prep.Value = done;
                    prep.Description = $"{what} {done}/{total}";
                }));
            });
        return result;
    }

    // the trainers' refusals of a user's settings or files, as user errors
    static TrainResult AsUserErrors(Func<TrainResult> run)
    {
        try { return run(); }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or FileNotFoundException)
        {
            throw new UserError(e.Message);
        }
    }

    /// <summary>Exit code of a run stopped by Ctrl-C or SIGTERM (with a checkpoint): 128 + SIGINT, as shells do.</summary>
    public const int Interrupted = 130;

    static int Report(CliConsole io, TrainConfig cfg, string dir, TrainResult result, string? made = null)
    {
        string how = result.StoppedByTime ? " (stopped by --max-minutes)"
                   : result.Interrupted ? " (interrupted, with a checkpoint: rerun the same command to resume)" : "";
        double total = Math.Max(result.Elapsed.TotalSeconds, 1e-9);
        string ranks = cfg.Ranks == 1 ? "" : $" on {cfg.Ranks} ranks (allreduce {result.AllreduceSeconds:F3} s, " +
                       $"{100 * result.AllreduceSeconds / total:F1}% of rank 0's time; waiting for other ranks " +
                       $"{result.WaitSeconds:F3} s, {100 * result.WaitSeconds / total:F1}%)";
        if (result.Step == result.FirstStep && result.Step >= cfg.Steps)   // a finished run, run again: nothing trained
        {
            io.OutWriter.WriteLine($"{dir} is already at step {result.Step} of {cfg.Steps}: nothing to train (give a " +
                                   $"larger --steps to go on); {made ?? $"model in {dir}"}");
            return CliRunner.Ok;
        }
        io.OutWriter.WriteLine($"trained steps {result.FirstStep}..{result.Step} of {cfg.Steps} in " +
                               $"{result.Elapsed.TotalSeconds:F1} s{ranks}{how}; last loss {result.LastLoss:F4}; " +
                               $"{made ?? $"model in {dir}"}");
        if (result.Profile is { } profile)
            io.OutWriter.WriteLine($"\n{profile}(also in {Path.Combine(dir, Trainer.ProfileFile)})");
        else if (cfg.ProfileSteps > 0)
            io.OutWriter.WriteLine($"--profile {cfg.ProfileSteps}: no step ran after the first, so nothing was profiled " +
                                   "(give a larger --steps)");
        return result.Interrupted ? Interrupted : CliRunner.Ok;
    }

    // Ctrl-C or SIGTERM while training: stop at the end of the step with a checkpoint; a second Ctrl-C kills at once.
    // Under mpirun, Ctrl-C reaches mpirun, which sends SIGTERM to every rank (as it does when a rank dies) and SIGKILL
    // moments later: the ranks stop together if the step ends in time, else the last checkpoint is where to resume.
    sealed class StopOnSignal : IDisposable
    {
        readonly CliConsole io;
        readonly Communicator world;
        readonly System.Runtime.InteropServices.PosixSignalRegistration? term;
        bool asked;

        public StopOnSignal(CliConsole io, Communicator world)
        {
            (this.io, this.world) = (io, world);
            Console.CancelKeyPress += OnCancel;
            if (!OperatingSystem.IsWindows())
                term = System.Runtime.InteropServices.PosixSignalRegistration.Create(
                    System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; Stop(); });
        }

        void OnCancel(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = !asked;                         // the second Ctrl-C is not caught
            Stop();
        }

        void Stop()
        {
            if (asked) return;
            asked = true;
            io.ErrWriter.WriteLine(world.Size == 1
                ? "stopping at the end of this step, with a checkpoint (Ctrl-C again to kill)"
                : $"rank {world.Rank} of {world.Size}: mpirun is ending the job (Ctrl-C, or a rank died); stopping at " +
                  "the end of this step if it has time; rerun the same command to resume from the last checkpoint");
            io.ErrWriter.Flush();
            Trainer.RequestStop();
        }

        public void Dispose()
        {
            Console.CancelKeyPress -= OnCancel;
            term?.Dispose();
        }
    }
}
