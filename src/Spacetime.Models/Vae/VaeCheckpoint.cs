// VaeCheckpoint: a VAE on disk is a folder with config.json (VideoVaeConfig, LatentScale included) and
// model.safetensors (the state dict, F32, PyTorch-style keys). Load rebuilds the model from the config and loads the
// weights strictly: missing, unexpected and mis-shaped keys are named together in one message.
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

    /// <summary>Reads a VAE written by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">The folder lacks config.json or model.safetensors.</exception>
    /// <exception cref="ArgumentException">The weights do not match the config (every bad key named).</exception>
    public static VideoVae Load(string dir)
    {
        string configPath = Path.Combine(dir, ConfigFile), weightsPath = Path.Combine(dir, WeightsFile);
        foreach (var p in new[] { configPath, weightsPath })
            if (!File.Exists(p))
                throw new FileNotFoundException($"VaeCheckpoint.Load: {p} does not exist; a VAE checkpoint folder " +
                                                $"holds {ConfigFile} and {WeightsFile}.", p);
        var vae = new VideoVae(VideoVaeConfig.FromJson(File.ReadAllText(configPath)), new Rng(0));
        var weights = Safetensors.Read(weightsPath);
        try { vae.LoadStateDict(weights.Tensors); }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"VaeCheckpoint.Load {weightsPath}: {e.Message}", e);
        }
        return vae;
    }
}
