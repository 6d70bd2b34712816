// VaeCheckpoint: a VAE on disk is a folder with config.json (VideoVaeConfig, LatentScale included) and
// model.safetensors (the state dict, F32, PyTorch-style keys). Load rebuilds the model from the config and loads the
// weights strictly. A folder that is missing, a config that does not parse, a truncated or corrupt weights file, and
// weights that do not fit the config (missing, unexpected and mis-shaped keys, named together) each give one line
// that says what is wrong and how to fix it, so the command line can print it as a user error.
using System.Text.Json;
using Spacetime.Engine;
using Spacetime.Engine.IO;

namespace Spacetime.Models.Vae;

/// <summary>Saves and loads <see cref="VideoVae"/> folders (config.json + model.safetensors).</summary>
public static class VaeCheckpoint
{
    /// <summary>The config file inside a checkpoint folder.</summary>
    public const string ConfigFile = "config.json";
    /// <summary>The weights file inside a checkpoint folder.</summary>
    public const string WeightsFile = "model.safetensors";

    /// <summary>Writes <paramref name="vae"/> to <paramref name="dir"/> (created if needed; files replaced), with
    /// <paramref name="latentScale"/> in its config when given (measured after training).</summary>
    public static void Save(VideoVae vae, string dir, float? latentScale = null)
    {
        Directory.CreateDirectory(dir);
        Safetensors.Write(Path.Combine(dir, WeightsFile), vae.StateDict(),
                          new Dictionary<string, string> { ["format"] = "spacetime-video-vae" });
        var config = latentScale is { } s ? vae.Config with { LatentScale = s } : vae.Config;
        string tmp = Path.Combine(dir, ConfigFile + ".tmp");
        File.WriteAllText(tmp, config.ToJson());
        File.Move(tmp, Path.Combine(dir, ConfigFile), overwrite: true);
    }

    /// <summary>Reads a VAE written by <see cref="Save"/>. Every problem with the folder is one line that names the
    /// file, what is wrong and how to fix it.</summary>
    /// <exception cref="FileNotFoundException">The folder, or its config.json or model.safetensors, is missing.
    /// </exception>
    /// <exception cref="InvalidDataException">config.json is not a valid VAE config; model.safetensors is truncated
    /// or corrupt; or the weights do not fit the config (the keys that differ are named, the first few of each kind).
    /// </exception>
    public static VideoVae Load(string dir)
    {
        string configPath = Path.Combine(dir, ConfigFile), weightsPath = Path.Combine(dir, WeightsFile);
        if (!Directory.Exists(dir))
            throw new FileNotFoundException($"VAE folder {dir} does not exist; pass a folder written by " +
                                            "`spacetime train vae` (or a model folder's vae/).", dir);
        foreach (var p in new[] { configPath, weightsPath })
            if (!File.Exists(p))
                throw new FileNotFoundException($"VAE folder {dir}: {Path.GetFileName(p)} does not exist; " +
                    (File.Exists(Path.Combine(dir, "vae", ConfigFile))
                        ? $"this looks like a model folder, so pass {Path.Combine(dir, "vae")}."
                        : $"a VAE folder holds {ConfigFile} and {WeightsFile}, as `spacetime train vae` writes them."),
                    p);
        VideoVaeConfig config;
        try { config = VideoVaeConfig.FromJson(File.ReadAllText(configPath)); }
        catch (Exception e) when (e is JsonException or ArgumentException or NotSupportedException)
        {
            throw new InvalidDataException($"VAE folder {dir}: {ConfigFile} is not a VAE config " +
                                           $"({OneLine(e.Message)}); rewrite it or copy the folder again.", e);
        }
        var vae = new VideoVae(config, new Rng(0));
        SafetensorsFile weights;
        try { weights = Safetensors.Read(weightsPath); }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"VAE folder {dir}: {WeightsFile} is truncated or corrupt " +
                                           $"({OneLine(e.Message)}); copy or export the folder again.", e);
        }
        if (Mismatch(vae.StateDict(), weights.Tensors) is { } problems)
            throw new InvalidDataException($"VAE folder {dir}: {WeightsFile} does not fit {ConfigFile} ({problems}); " +
                                           "both files must come from the same `spacetime train vae` run.");
        foreach (var (name, t) in weights.Tensors)
            if (!t.ToArray().All(float.IsFinite))
                throw new InvalidDataException($"VAE folder {dir}: {WeightsFile} holds NaN or infinite values in {name}; " +
                                               "the VAE is broken (a diverged run?): export it again from a good checkpoint.");
        vae.LoadStateDict(weights.Tensors);
        return vae;
    }

    // The keys of `weights` that the model lacks, lacks in `weights`, or has with another shape, the first few of
    // each kind (a config of another size differs in dozens of keys); null when they fit.
    static string? Mismatch(IReadOnlyDictionary<string, Tensor> model, IReadOnlyDictionary<string, Tensor> weights)
    {
        const int Shown = 3;
        static string Shape(Tensor t) => "(" + string.Join(", ", t.Shape.ToArray()) + ")";
        static string List(List<string> keys, string one, string many) =>
            $"{keys.Count} {(keys.Count == 1 ? one : many)}: {string.Join(", ", keys.Take(Shown))}" +
            (keys.Count > Shown ? $", and {keys.Count - Shown} more" : "");
        var misShaped = model.Where(kv => weights.TryGetValue(kv.Key, out var w) &&
                                          !w.Shape.SequenceEqual(kv.Value.Shape))
                             .Select(kv => $"{kv.Key} is {Shape(weights[kv.Key])} in the file, " +
                                           $"{Shape(kv.Value)} in the config").ToList();
        var missing = model.Keys.Where(k => !weights.ContainsKey(k)).ToList();
        var unexpected = weights.Keys.Where(k => !model.ContainsKey(k)).ToList();
        var parts = new List<string>();
        if (misShaped.Count > 0) parts.Add(List(misShaped, "key with the wrong shape", "keys with the wrong shape"));
        if (missing.Count > 0) parts.Add(List(missing, "missing key", "missing keys"));
        if (unexpected.Count > 0) parts.Add(List(unexpected, "unexpected key", "unexpected keys"));
        return parts.Count == 0 ? null : string.Join("; ", parts);
    }

    static string OneLine(string text) => text.Replace('\r', ' ').Replace('\n', ' ').TrimEnd('.');
}
