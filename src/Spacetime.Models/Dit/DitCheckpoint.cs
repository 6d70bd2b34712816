// Model folders: config.json (what to build) + model.safetensors (the state dict, PyTorch key names), and the import
// of reference DiT checkpoints (facebookresearch/DiT state dicts plus the reference constructor's arguments).
using System.Text.Json;
using System.Text.Json.Serialization;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>Which network a model folder holds.</summary>
public enum DitKind
{
    /// <summary>The class-conditional image DiT of the reference.</summary>
    Image,
    /// <summary>The text-conditioned spacetime DiT.</summary>
    Video,
}

/// <summary>The config.json of a DiT model folder.</summary>
public sealed record DitFolderConfig(DitKind Kind, DitConfig Dit, int InputSize = 0);

/// <summary>Saves, loads and imports DiT model folders.</summary>
public static class DitCheckpoint
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Writes config.json and model.safetensors into <paramref name="dir"/> (each via a temporary file).</summary>
    public static void Save(Module model, DitFolderConfig config, string dir)
    {
        Directory.CreateDirectory(dir);
        Safetensors.Write(Path.Combine(dir, "model.safetensors"), model.StateDict(),
                          new Dictionary<string, string> { ["format"] = "pt", ["kind"] = config.Kind.ToString() });
        var tmp = Path.Combine(dir, $".config.json.{Environment.ProcessId}.tmp");
        File.WriteAllText(tmp, JsonSerializer.Serialize(config, Json));
        File.Move(tmp, Path.Combine(dir, "config.json"), overwrite: true);
    }

    /// <summary>Reads a folder's config.json; errors name the folder and what is wrong.</summary>
    public static DitFolderConfig ReadConfig(string dir)
    {
        var path = Path.Combine(dir, "config.json");
        if (!Directory.Exists(dir)) throw new FileNotFoundException($"{dir}: no such model folder.");
        if (!File.Exists(path)) throw new FileNotFoundException($"{dir}: not a model folder (config.json is missing).");
        try
        {
            return JsonSerializer.Deserialize<DitFolderConfig>(File.ReadAllText(path), Json)
                   ?? throw new InvalidDataException($"{path}: empty config.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: not a valid model config ({e.Message}).");
        }
    }

    /// <summary>Builds the folder's model and loads its weights (strict: every key must match).</summary>
    public static (Module Model, DitFolderConfig Config) Load(string dir)
    {
        var config = ReadConfig(dir);
        Module model = config.Kind == DitKind.Image ? new Dit(config.Dit, config.InputSize) : new VideoDit(config.Dit);
        var weights = Path.Combine(dir, "model.safetensors");
        if (!File.Exists(weights)) throw new FileNotFoundException($"{dir}: model.safetensors is missing.");
        model.LoadStateDict(Safetensors.Read(weights).Tensors);
        return (model, config);
    }

    /// <summary>
    /// The reference's constructor arguments (input_size, patch_size, in_channels, hidden_size, depth, num_heads,
    /// mlp_ratio, class_dropout_prob, num_classes, learn_sigma) as our config.
    /// </summary>
    public static DitFolderConfig FromReferenceArgs(string jsonPath)
    {
        JsonElement root;
        try { root = JsonDocument.Parse(File.ReadAllText(jsonPath)).RootElement; }
        catch (JsonException e) { throw new InvalidDataException($"{jsonPath}: not valid JSON ({e.Message})."); }
        if (root.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{jsonPath}: expected a JSON object of the reference DiT's arguments, " +
                                           $"found {root.ValueKind.ToString().ToLowerInvariant()}.");
        JsonElement? Get(string name, JsonValueKind kind)
        {
            if (!root.TryGetProperty(name, out var v)) return null;
            bool ok = kind == JsonValueKind.True ? v.ValueKind is JsonValueKind.True or JsonValueKind.False : v.ValueKind == kind;
            return ok ? v : throw new InvalidDataException($"{jsonPath}: '{name}' is {v.ValueKind.ToString().ToLowerInvariant()}, " +
                                                           $"expected {(kind == JsonValueKind.True ? "true or false" : "a number")}.");
        }
        int Int(string name, int? fallback = null) => Get(name, JsonValueKind.Number) is { } v
            ? (v.TryGetInt32(out int i) ? i : throw new InvalidDataException($"{jsonPath}: '{name}' is not a whole number."))
            : fallback ?? throw new InvalidDataException($"{jsonPath}: missing '{name}' (the reference DiT's argument).");
        double Real(string name, double fallback) => Get(name, JsonValueKind.Number)?.GetDouble() ?? fallback;
        bool Bool(string name, bool fallback) => Get(name, JsonValueKind.True)?.GetBoolean() ?? fallback;
        var dit = new DitConfig
        {
            InChannels = Int("in_channels", 4), Patch = Int("patch_size", 2), Hidden = Int("hidden_size", 1152),
            Depth = Int("depth", 28), Heads = Int("num_heads", 16), MlpRatio = (float)Real("mlp_ratio", 4.0),
            NumClasses = Int("num_classes", 1000), ClassDropoutProb = (float)Real("class_dropout_prob", 0.1),
            LearnSigma = Bool("learn_sigma", true),
        };
        try { dit.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{jsonPath}: {e.Message}"); }
        return new DitFolderConfig(DitKind.Image, dit, Int("input_size", 32));
    }

    /// <summary>Builds an image DiT from a reference config and loads a reference state dict into it.</summary>
    public static Dit ImportReference(string safetensorsPath, string referenceConfigJson)
    {
        var config = FromReferenceArgs(referenceConfigJson);
        var model = new Dit(config.Dit, config.InputSize);
        model.LoadStateDict(Safetensors.Read(safetensorsPath).Tensors);
        return model;
    }
}
