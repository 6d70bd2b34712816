// spacetime lora ...: LoRA adapters (trained by `spacetime train lora`) outside generation.
//   spacetime lora merge --model models/spacetime --lora runs/my-lora [--scale 1] --out models/mine
//   spacetime lora info runs/my-lora
// and what `train lora` and `generate --lora` share: the --targets names, the dataset check, reading adapters with
// their scales and folding them into a model. An adapter is the file or its `train lora` run folder.
using System.CommandLine;
using System.Globalization;
using Spacetime.Data;
using Spacetime.Media.Provenance;
using Spacetime.Models.Dit;
using Spacetime.Pipelines;
using Spacetime.Training;

namespace Spacetime.Cli;

internal static class LoraCommands
{
    public static Command Create(CliConsole io)
    {
        var lora = new Command("lora", "Merge LoRA adapters into a model, or show what an adapter is.");
        lora.Subcommands.Add(Merge(io));
        lora.Subcommands.Add(Info(io));
        return lora;
    }

    static Command Merge(CliConsole io)
    {
        var model = CliArgs.Option("--model", "Base model folder.", GenerateCommands.ShippedModel);
        var adapters = AdapterOption("--lora", required: true);
        var scales = ScaleOption("--scale");
        var output = CliArgs.Required<string>("--out", "New model folder: the base with the adapters folded into its " +
                                                       "DiT weights.", "-o");
        var command = new Command("merge", "Write a model folder whose DiT weights include LoRA adapters (W + s·B·A), " +
                                           "so it samples at the base model's speed without --lora.")
        {
            model, adapters, scales, output,
        };
        command.SetAction(parsed =>
        {
            string outDir = parsed.GetValue(output)!, modelDir = parsed.GetValue(model)!;
            if (File.Exists(outDir) || Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
                throw new UserError($"--out {outDir} already exists; give a new folder (a merge never overwrites a model)");
            var m = GenerateCommands.LoadModel(modelDir);
            var applied = string.Join(", ", Apply(io, m, modelDir, parsed.GetValue(adapters)!, parsed.GetValue(scales),
                                                  "--lora", "--scale"));
            CliArgs.Writable("--out", Path.Combine(outDir, "spacetime.json"));
            // the folder is written whole under a temporary name beside it, then renamed: never half a model
            string full = Path.GetFullPath(outDir);
            string temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
            try
            {
                m.Save(temp);
                if (Directory.Exists(full)) Directory.Delete(full);              // empty, checked above
                Directory.Move(temp, full);
            }
            finally
            {
                if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            }
            io.OutWriter.WriteLine($"merged {applied} into {modelDir}'s DiT; model in {outDir}");
            return CliRunner.Ok;
        });
        return command;
    }

    static Command Info(CliConsole io)
    {
        var adapter = new Argument<string>("adapter") { Description = "Adapter file, or a `train lora` run folder." };
        var command = new Command("info", "Rank, alpha, targets, size and base model of a LoRA adapter.") { adapter };
        command.SetAction(parsed =>
        {
            string path = LoraAdapter.Resolve(parsed.GetValue(adapter)!);
            var header = LoraAdapter.ReadHeader(path);
            var (cfg, baseModel) = (header.Config, header.BaseModel);
            var tensors = Spacetime.Engine.IO.Safetensors.Read(path).Tensors;
            long values = tensors.Values.Sum(t => (long)t.Count);
            string layers = cfg.Targets == LoraTargets.None ? "no LoRA layers"
                : $"rank {cfg.Rank}, alpha {cfg.Alpha.ToString(CultureInfo.InvariantCulture)} (scale " +
                  $"{cfg.Scale.ToString("0.###", CultureInfo.InvariantCulture)}), targets {cfg.Targets}";
            string blocks = tensors.TryGetValue("new_words.block_weight", out var b) ? $" (offsets in {b.Size(0)} blocks)"
                : "";
            io.OutWriter.WriteLine($"{path}: {layers}, new words {header.WordList}{blocks}, {values:N0} parameters, " +
                                   $"{new FileInfo(path).Length:N0} bytes");
            io.OutWriter.WriteLine($"base model: '{baseModel.Id}', weights sha256 {baseModel.WeightsSha256}");
            return CliRunner.Ok;
        });
        return command;
    }

    /// <summary>--lora: one adapter; repeat it for several.</summary>
    public static Option<string[]> AdapterOption(string name, bool required) => new(name)
    {
        Description = "LoRA adapter (a file, or a `train lora` run folder); repeat for several.",
        Arity = ArgumentArity.OneOrMore, Required = required,
    };

    /// <summary>--lora-scale / --scale: the strength of each adapter, in the order the adapters are given.</summary>
    public static Option<double[]> ScaleOption(string name) => new(name)
    {
        Description = "Strength of each adapter, in the order given (one value: all of them; default 1).",
        Arity = ArgumentArity.OneOrMore,
    };

    /// <summary>An adapter as given, the file read, and the scale it was applied at.</summary>
    public sealed record Applied(string Given, string File, float Scale)
    {
        public override string ToString() =>
            $"{Given} (scale {Scale.ToString("0.###", CultureInfo.InvariantCulture)})";

        /// <summary>What a manifest records of it.</summary>
        public AdapterDigest Digest() => new(ProvenanceManifest.Sha256Hex(System.IO.File.ReadAllBytes(File)), Scale);
    }

    /// <summary>
    /// Reads every adapter for <paramref name="m"/>'s DiT (all read and checked before any is applied), then folds each
    /// into it at its scale; returns what was applied. Each adapter trained on another base of the same shapes gets a
    /// note; one of other layers or shapes is a UserError naming the differences.
    /// </summary>
    public static IReadOnlyList<Applied> Apply(CliConsole io, TextVideoModel m, string modelDir, string[] paths,
                                               double[]? scales, string adapterOption, string scaleOption)
    {
        if (paths.Length == 0) throw new UserError($"{adapterOption} needs an adapter file or folder");
        scales ??= [];
        if (scales.Length > 1 && scales.Length != paths.Length)
            throw new UserError($"{scaleOption}: {scales.Length} values for {paths.Length} adapters; give one value " +
                                "per adapter (in the same order), or one for all");
        foreach (double s in scales)
            if (!double.IsFinite(s))
                throw new UserError($"{scaleOption} {s.ToString(CultureInfo.InvariantCulture)}: must be a finite number");
        var identity = ModelIdentity.Of(modelDir);
        var adapters = paths.Select(path =>
        {
            try { return LoraAdapter.Load(path, m.Dit); }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or IOException
                                        or UnauthorizedAccessException)
            {
                throw new UserError($"{adapterOption} {e.Message.TrimEnd('.')}");
            }
        }).ToList();
        var applied = new List<Applied>();
        for (int i = 0; i < adapters.Count; i++)
        {
            float scale = (float)(scales.Length == 0 ? 1 : scales.Length == 1 ? scales[0] : scales[i]);
            if (adapters[i].NoteFor(identity) is { } note) io.OutWriter.WriteLine($"{paths[i]}: {note}");
            try { adapters[i].MergeInto(m, scale); }
            catch (InvalidDataException e) { throw new UserError($"{adapterOption} {paths[i]}: {e.Message}"); }
            applied.Add(new Applied(paths[i], LoraAdapter.Resolve(paths[i]), scale));
        }
        return applied;
    }

    /// <summary>The --targets names, as users write them.</summary>
    public static string TargetNames =>
        "all, self-attention, cross-attention, mlp, or single layers: self-qkv, self-proj, cross-q, cross-kv, " +
        "cross-proj, mlp-fc1, mlp-fc2 (none: only --new-word trains)";

    /// <summary>
    /// The new words of `train lora` (--new-word, started from --init-word), checked against
    /// <paramref name="m"/>'s tokenizer and table; null when none are given. A bad or known word, an init word the
    /// model does not know, or --targets none without a word is a UserError.
    /// </summary>
    public static LoraWords? Words(TextVideoModel m, string[] words, string? init, bool perBlock, LoraConfig lora)
    {
        if (words.Length == 0)
        {
            if (perBlock) throw new UserError("--word-blocks learns offsets of a --new-word; give the new word too");
            if (lora.Targets == LoraTargets.None)
                throw new UserError("--targets none adapts no layer, so there is nothing to train; add --new-word " +
                                    $"WORD or name layers: {TargetNames}");
            if (init is not null) throw new UserError("--init-word starts a --new-word; give the new word too");
            return null;
        }
        try { m.Text.TokenizerWith(words); }
        catch (ArgumentException e) { throw new UserError($"--new-word: {e.Message}"); }
        if (init is not null && m.Text.Tokenizer.Encode(" " + init) is not [_])
            throw new UserError($"--init-word '{init}': not a word this model reads as one token; give a word its " +
                                "captions use (e.g. a colour or shape)");
        return new LoraWords(words, init, perBlock);
    }

    /// <summary>"self-attention,mlp" to the flags ("none": no layer); an unknown name is a UserError listing the known
    /// ones.</summary>
    public static LoraTargets Targets(string option, string text)
    {
        if (text.Trim().Equals("none", StringComparison.OrdinalIgnoreCase)) return LoraTargets.None;
        var result = LoraTargets.None;
        foreach (string name in text.Split(',', StringSplitOptions.TrimEntries))
        {
            string plain = name.Replace("-", "");
            if (plain.Length == 0 || plain.Any(char.IsDigit) || plain.Equals("none", StringComparison.OrdinalIgnoreCase)
                || !Enum.TryParse<LoraTargets>(plain, ignoreCase: true, out var t))
                throw new UserError($"{option} '{text}': '{name}' is not a layer group; use {TargetNames}");
            result |= t;
        }
        return result;
    }

    /// <summary>The clips of a dataset folder; a missing folder or one with no usable clip is a UserError.</summary>
    public static Dataset Clips(string dir, string option = "--data")
    {
        if (!Directory.Exists(dir)) throw new UserError($"{option} {dir}: no such folder");
        var dataset = Dataset.Load(dir);
        if (dataset.Clips.Count == 0)
            throw new UserError($"{option} {dir}: no usable clips" + (dataset.Problems.Count > 0
                ? $" ({dataset.Problems.Count} entries failed, the first: {dataset.Problems[0]})"
                : "") + "; give a folder of videos with captions (clip.mp4 + clip.txt) or captions.jsonl, e.g. " +
                "from `spacetime data synth`");
        return dataset;
    }

    /// <summary>One line: how many layers the adapters cover, the new words, and their size against the DiT's.
    /// </summary>
    public static void Describe(CliConsole io, DitLora lora, TextVideoModel m) =>
        io.OutWriter.WriteLine((lora.Layers.Count == 0 ? "no LoRA layers"
                                   : $"LoRA rank {lora.Config.Rank}, alpha " +
                                     $"{lora.Config.Alpha.ToString(CultureInfo.InvariantCulture)} on " +
                                     $"{lora.Layers.Count} layers ({lora.Config.Targets})") + (lora.Words is { } w
                                   ? $", new words {string.Join(", ", w.Words)} (textual inversion" +
                                     (w.Blocks > 0 ? $", offsets in {w.Blocks} blocks)" : ")") : "") +
                               $": {lora.ParameterCount:N0} parameters, " +
                               $"{100.0 * lora.ParameterCount / m.Dit.ParameterCount:0.##}% of the DiT's " +
                               $"{m.Dit.ParameterCount:N0}");
}
