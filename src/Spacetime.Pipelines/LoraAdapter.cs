// LoraAdapter: a trained set of LoRA updates for a DiT (DitLora) and the base model it was trained on, saved apart
// from the model as one safetensors file (written to a temporary file, then renamed):
//     tensors       "<Linear path in the DiT>.lora_A.weight" (r, in), ".lora_B.weight" (out, r), F32; with new
//                   words, "new_words.weight" (K, D): their embeddings for the text encoder (textual inversion),
//                   and with block offsets "new_words.block_weight" (Depth, K, D) (P+, NewWords)
//     __metadata__  format "spacetime-lora", rank, alpha, targets (LoraTargets' names; "None" for words alone),
//                   words (the new words, comma-separated; absent when none), base_model (the base folder's name) and
//                   base_weights_sha256 (ModelIdentity: the SHA-256 of its weight files)
// `train lora --out DIR` writes DIR/adapter.safetensors; wherever an adapter is read, the file or that folder may be
// given. An adapter applies to a model whose DiT has exactly the layers and shapes it was made for; anything else is
// refused, naming what differs. A model of the same shapes but other weights (a fine-tuned or merged base) takes it,
// with a note that it was trained on another base.
using System.Globalization;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;
using Spacetime.Models.Text;

namespace Spacetime.Pipelines;

/// <summary>LoRA adapters of a DiT and the identity of the base model they were trained on.</summary>
public sealed class LoraAdapter(DitLora layers, ModelIdentity baseModel)
{
    /// <summary>The adapter's file name inside a `train lora` run folder.</summary>
    public const string FileName = "adapter.safetensors";

    const string Format = "spacetime-lora", WordsKey = "new_words.weight", BlocksKey = "new_words.block_weight";

    /// <summary>What an adapter file states besides its tensors.</summary>
    public sealed record Header(LoraConfig Config, IReadOnlyList<string> Words, ModelIdentity BaseModel)
    {
        /// <summary>"olive, teal" or "none".</summary>
        public string WordList => Words.Count == 0 ? "none" : string.Join(", ", Words);
    }

    /// <summary>The updates, one per adapted Linear.</summary>
    public DitLora Layers { get; } = layers;

    /// <summary>The model the adapter was trained on.</summary>
    public ModelIdentity BaseModel { get; } = baseModel;

    /// <summary>The adapter file that <paramref name="path"/> names: the file itself, or a run folder's
    /// adapter.safetensors. A path that is neither throws FileNotFoundException naming it.</summary>
    public static string Resolve(string path)
    {
        if (File.Exists(path)) return path;
        string inFolder = Path.Combine(path, FileName);
        if (Directory.Exists(path))
            return File.Exists(inFolder) ? inFolder
                : throw new FileNotFoundException($"{path}: a folder without {FileName} (not a `train lora` output)");
        throw new FileNotFoundException($"{path}: no such adapter file or folder");
    }

    /// <summary>Writes the adapter to <paramref name="path"/> (a temporary file, then a rename).</summary>
    public void Save(string path)
    {
        var cfg = Layers.Config;
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["rank"] = cfg.Rank.ToString(CultureInfo.InvariantCulture),
            ["alpha"] = cfg.Alpha.ToString("R", CultureInfo.InvariantCulture),
            ["targets"] = cfg.Targets.ToString(),
            ["base_model"] = BaseModel.Id,
            ["base_weights_sha256"] = BaseModel.WeightsSha256,
        };
        if (Layers.Words is { } words) meta["words"] = string.Join(",", words.Words);
        Safetensors.Write(path, Layers.StateDict(), meta);
    }

    /// <summary>Makes <paramref name="model"/> compute with the adapter unmerged, for training: the DiT's Linears add
    /// the updates and the text encoder reads the new words from <see cref="DitLora.Words"/>.</summary>
    public void Attach(TextVideoModel model)
    {
        Layers.Attach(model.Dit);
        if (Layers.Words is { } words) model.Text.UseWords(words);
    }

    /// <summary>Folds the adapter into <paramref name="model"/>: strength · s · B·A into each adapted DiT weight, and
    /// the new words (whole: the strength scales only the low-rank updates) into the text encoder's tokenizer and
    /// table. A word the model already knows, or no room for it: InvalidDataException.</summary>
    public void MergeInto(TextVideoModel model, float strength = 1f)
    {
        if (Layers.Words is { } words)
        {
            try { model.Text.UseWords(words); }
            catch (ArgumentException e) { throw new InvalidDataException($"the adapter's new words: {e.Message}"); }
            model.Text.MergeWords();
        }
        Layers.MergeInto(model.Dit, strength);
    }

    /// <summary>The rank, alpha, targets, words and base model an adapter file states, without its tensors' fit to
    /// any model. A file that is not a Spacetime adapter throws InvalidDataException naming it.</summary>
    public static Header ReadHeader(string path)
    {
        path = Resolve(path);
        return HeaderOf(path, Safetensors.Read(path));
    }

    /// <summary>Reads the adapter at <paramref name="path"/> (file or run folder) for <paramref name="dit"/>. An
    /// adapter made for other layers or shapes throws InvalidDataException saying which names or shapes differ.</summary>
    public static LoraAdapter Load(string path, VideoDit dit)
    {
        path = Resolve(path);
        var file = Safetensors.Read(path);
        var (cfg, wordList, baseModel) = HeaderOf(path, file);
        NewWords? words = null;
        if (wordList.Count > 0)
        {
            if (!file.Tensors.TryGetValue(WordsKey, out var rows) || rows.Rank != 2 || rows.Size(0) != wordList.Count)
                throw new InvalidDataException($"{path}: the adapter names {wordList.Count} new words but holds no " +
                                               $"({wordList.Count}, D) tensor {WordsKey}");
            var blocks = file.Tensors.GetValueOrDefault(BlocksKey);
            if (blocks is not null && (blocks.Rank != 3 || blocks.Size(0) != dit.Config.Depth
                                       || blocks.Size(1) != wordList.Count || blocks.Size(2) != rows.Size(1)))
                throw new InvalidDataException($"{path} does not fit this model: {BlocksKey} is " +
                                               $"{Shape(blocks)} but this model needs ({dit.Config.Depth}, " +
                                               $"{wordList.Count}, {rows.Size(1)}); it was trained on " +
                                               $"{Describe(baseModel)}");
            words = new NewWords(wordList, Tensor.Zeros(rows.Size(0), rows.Size(1)),
                                 blocks is null ? null : Tensor.Zeros(blocks.Shape.ToArray()));
        }
        DitLora layers;
        try { layers = new DitLora(dit, cfg, words: words); }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path} does not fit this model ({e.Message}); it was trained on " +
                                           $"{Describe(baseModel)}");
        }
        var differences = Differences(layers, file.Tensors);
        if (differences.Count > 0)
            throw new InvalidDataException($"{path} does not fit this model: {string.Join("; ", differences)}; it " +
                                           $"was trained on {Describe(baseModel)}");
        layers.LoadStateDict(file.Tensors);
        foreach (var (name, t) in file.Tensors)
            if (!t.ToArray().All(float.IsFinite))
                throw new InvalidDataException($"{path}: {name} holds NaN or infinite values; the adapter is broken");
        return new LoraAdapter(layers, baseModel);
    }

    /// <summary>A note when <paramref name="model"/> is not the base this adapter was trained on (same shapes, other
    /// weights), else null.</summary>
    public string? NoteFor(ModelIdentity model) => model.WeightsSha256 == BaseModel.WeightsSha256 ? null
        : $"note: the adapter was trained on {Describe(BaseModel)}, not on this model ('{model.Id}', weights " +
          $"{model.WeightsSha256[..12]}); its layers fit, so it is applied";

    static string Describe(ModelIdentity m) => $"'{m.Id}' (weights {m.WeightsSha256[..Math.Min(12, m.WeightsSha256.Length)]})";

    static Header HeaderOf(string path, SafetensorsFile file)
    {
        var meta = file.Metadata;
        if (meta.GetValueOrDefault("format") != Format)
            throw new InvalidDataException($"{path}: not a LoRA adapter (its metadata has no format \"{Format}\"); " +
                                           "make one with `spacetime train lora`");
        string Get(string key) => meta.GetValueOrDefault(key)
            ?? throw new InvalidDataException($"{path}: the adapter's metadata lacks '{key}'");
        if (!int.TryParse(Get("rank"), NumberStyles.None, CultureInfo.InvariantCulture, out int rank)
            || !float.TryParse(Get("alpha"), NumberStyles.Float, CultureInfo.InvariantCulture, out float alpha)
            || !Enum.TryParse<LoraTargets>(Get("targets"), out var targets) || int.TryParse(Get("targets"), out _))
            throw new InvalidDataException($"{path}: the adapter's rank '{Get("rank")}', alpha '{Get("alpha")}' or " +
                                           $"targets '{Get("targets")}' cannot be read");
        var cfg = new LoraConfig { Rank = rank, Alpha = alpha, Targets = targets };
        var words = meta.GetValueOrDefault("words")?.Split(',') ?? [];
        try { cfg.Validate(newWords: words.Length > 0); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        return new Header(cfg, words, new ModelIdentity(Get("base_model"), Get("base_weights_sha256")));
    }

    // What differs between the tensors a model's adapters need and those a file holds: the first few names missing,
    // unexpected or of another shape, each kind with its count.
    static List<string> Differences(DitLora expected, IReadOnlyDictionary<string, Tensor> file)
    {
        const int Shown = 3;
        var own = expected.StateDict();
        var missing = own.Keys.Where(k => !file.ContainsKey(k)).ToList();
        var unexpected = file.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var shapes = own.Where(kv => file.TryGetValue(kv.Key, out var t) && !t.Shape.SequenceEqual(kv.Value.Shape))
            .Select(kv => $"{kv.Key} is {Shape(file[kv.Key])} in the adapter but {Shape(kv.Value)} for this model")
            .ToList();
        var found = new List<string>();
        void Report(List<string> items, string what)
        {
            if (items.Count == 0) return;
            found.Add($"{items.Count} {what} ({string.Join(", ", items.Take(Shown))}{(items.Count > Shown ? ", ..." : "")})");
        }
        Report(shapes, "tensors of another shape");
        Report(missing, "tensors this model needs are missing");
        Report(unexpected, "tensors name layers this model lacks");
        return found;
    }

    static string Shape(Tensor t) => "(" + string.Join(", ", t.Shape.ToArray()) + ")";
}
