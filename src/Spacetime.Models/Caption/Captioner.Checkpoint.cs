// A captioner on disk: a folder with config.json (CaptionerConfig), tokenizer.json and model.safetensors, whose
// metadata names the latent space it reads ("latents": the fingerprint of the VAE whose latents it was trained on), so
// that captioning with another VAE is refused rather than read as noise.
using System.Text.Json;
using Spacetime.Engine.IO;
using Spacetime.Models.Text;

namespace Spacetime.Models.Caption;

public sealed partial class Captioner
{
    const string WeightsFile = "model.safetensors", ConfigFile = "config.json", TokenizerFile = "tokenizer.json";

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The fingerprint of the latent space it reads (see Pipelines' LatentFingerprint); "" when unknown.</summary>
    public string Latents { get; set; } = "";

    /// <summary>Writes weights, config and tokenizer into <paramref name="dir"/> (each whole, then renamed).</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        Safetensors.Write(Path.Combine(dir, WeightsFile), StateDict(),
                          new Dictionary<string, string> { ["format"] = "spacetime-captioner", ["latents"] = Latents });
        WriteWhole(Path.Combine(dir, ConfigFile), JsonSerializer.Serialize(Config, JsonOptions));
        WriteWhole(Path.Combine(dir, TokenizerFile), Tokenizer.ToJson());
    }

    static void WriteWhole(string path, string text)
    {
        File.WriteAllText(path + ".tmp", text);
        File.Move(path + ".tmp", path, overwrite: true);
    }

    /// <summary>True when <paramref name="dir"/> holds a captioner's three files.</summary>
    public static bool IsCaptionerFolder(string dir) =>
        new[] { WeightsFile, ConfigFile, TokenizerFile }.All(f => File.Exists(Path.Combine(dir, f)));

    /// <summary>Reads a folder written by <see cref="Save"/>; a missing or broken folder is one
    /// InvalidDataException naming the folder and the problem.</summary>
    public static Captioner Load(string dir)
    {
        foreach (var file in new[] { WeightsFile, ConfigFile, TokenizerFile })
            if (!File.Exists(Path.Combine(dir, file)))
                throw new InvalidDataException($"captioner folder {dir}: {file} is missing (train one with " +
                                               "`spacetime train captioner --out DIR`)");
        CaptionerConfig config;
        try
        {
            config = JsonSerializer.Deserialize<CaptionerConfig>(File.ReadAllText(Path.Combine(dir, ConfigFile)),
                                                                 JsonOptions)
                     ?? throw new JsonException("the file holds null");
            config.Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"captioner folder {dir}: {ConfigFile}: {e.Message}", e);
        }
        var model = new Captioner(config, BpeTokenizer.Load(Path.Combine(dir, TokenizerFile)));
        var weights = Safetensors.Read(Path.Combine(dir, WeightsFile));
        try { model.LoadStateDict(weights.Tensors); }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"captioner folder {dir}: {WeightsFile}: {e.Message}", e);
        }
        model.Latents = weights.Metadata.GetValueOrDefault("latents", "");
        return model;
    }
}
