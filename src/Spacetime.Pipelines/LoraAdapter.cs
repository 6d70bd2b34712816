// LoraAdapter: a trained set of LoRA updates for a DiT (DitLora) and the base model it was trained on, saved apart
// from the model as one safetensors file (written to a temporary file, then renamed):
//     tensors       "<Linear path in the DiT>.lora_A.weight" (r, in), ".lora_B.weight" (out, r), F32
//     __metadata__  format "spacetime-lora", rank, alpha, targets (LoraTargets' names), base_model (the base folder's
//                   name) and base_weights_sha256 (ModelIdentity: the SHA-256 of its weight files)
// `train lora --out DIR` writes DIR/adapter.safetensors; wherever an adapter is read, the file or that folder may be
// given. An adapter applies to a model whose DiT has exactly the layers and shapes it was made for; anything else is
// refused, naming what differs. A model of the same shapes but other weights (a fine-tuned or merged base) takes it,
// with a note that it was trained on another base.
using System.Globalization;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;

namespace Spacetime.Pipelines;

/// <summary>LoRA adapters of a DiT and the identity of the base model they were trained on.</summary>
public sealed class LoraAdapter(DitLora layers, ModelIdentity baseModel)
{
    /// <summary>The adapter's file name inside a `train lora` run folder.</summary>
    public const string FileName = "adapter.safetensors";

    const string Format = "spacetime-lora";

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
        Safetensors.Write(path, Layers.StateDict(), new Dictionary<string, string>
        {
            ["format"] = Format,
            ["rank"] = cfg.Rank.ToString(CultureInfo.InvariantCulture),
            ["alpha"] = cfg.Alpha.ToString("R", CultureInfo.InvariantCulture),
            ["targets"] = cfg.Targets.ToString(),
            ["base_model"] = BaseModel.Id,
            ["base_weights_sha256"] = BaseModel.WeightsSha256,
        });
    }

    /// <summary>The rank, alpha, targets and base model an adapter file states, without its tensors' fit to any
    /// model. A file that is not a Spacetime adapter throws InvalidDataException naming it.</summary>
    public static (LoraConfig Config, ModelIdentity BaseModel) ReadHeader(string path)
    {
        path = Resolve(path);
        return Header(path, Safetensors.Read(path));
    }

    /// <summary>Reads the adapter at <paramref name="path"/> (file or run folder) for <paramref name="dit"/>. An
    /// adapter made for other layers or shapes throws InvalidDataException saying which names or shapes differ.</summary>
    public static LoraAdapter Load(string path, VideoDit dit)
    {
        path = Resolve(path);
        var file = Safetensors.Read(path);
        var (cfg, baseModel) = Header(path, file);
        DitLora layers;
        try { layers = new DitLora(dit, cfg); }
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

    static (LoraConfig, ModelIdentity) Header(string path, SafetensorsFile file)
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
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        return (cfg, new ModelIdentity(Get("base_model"), Get("base_weights_sha256")));
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
