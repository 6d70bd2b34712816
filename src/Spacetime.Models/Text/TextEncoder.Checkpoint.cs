// TextEncoder checkpoints: a folder with the weights (model.safetensors, state-dict keys as in NamedParameters),
// the sizes (config.json, a TextEncoderConfig) and the tokenizer (tokenizer.json). Loading rebuilds the model from
// the config and loads the weights strictly: missing, unexpected and mis-shaped keys are named in one message. A model
// that merged words with block offsets also saves them in the weights file, under WordBlocksKey (not a parameter).
using System.Text.Json;
using Spacetime.Engine;
using Spacetime.Engine.IO;

namespace Spacetime.Models.Text;

public sealed partial class TextEncoder
{
    const string WeightsFile = "model.safetensors", ConfigFile = "config.json", TokenizerFile = "tokenizer.json";

    static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Writes weights, config and tokenizer into <paramref name="directory"/> (created if needed).</summary>
    public void Save(string directory)
    {
        Directory.CreateDirectory(directory);
        var tensors = StateDict();
        if (wordBlocks is not null) tensors[WordBlocksKey] = wordBlocks;
        Safetensors.Write(Path.Combine(directory, WeightsFile), tensors,
                          new Dictionary<string, string> { ["format"] = "pt", ["model"] = "spacetime-text-encoder" });
        File.WriteAllText(Path.Combine(directory, ConfigFile), JsonSerializer.Serialize(Config, JsonOptions));
        Tokenizer.Save(Path.Combine(directory, TokenizerFile));
    }

    /// <summary>Reads an encoder saved by <see cref="Save"/>. A missing file, a bad config or tokenizer, or weights
    /// that do not fit the config throw an InvalidDataException that names the folder and every problem.</summary>
    public static TextEncoder Load(string directory)
    {
        foreach (var file in new[] { WeightsFile, ConfigFile, TokenizerFile })
            if (!File.Exists(Path.Combine(directory, file)))
                throw new InvalidDataException($"Text encoder checkpoint {directory}: {file} is missing.");
        TextEncoderConfig config;
        try
        {
            string json = File.ReadAllText(Path.Combine(directory, ConfigFile));
            config = JsonSerializer.Deserialize<TextEncoderConfig>(json, JsonOptions)
                     ?? throw new JsonException("the file holds null");
            config.Validate();
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"Text encoder checkpoint {directory}: {ConfigFile}: {e.Message}", e);
        }
        var tokenizer = BpeTokenizer.Load(Path.Combine(directory, TokenizerFile));
        var model = new TextEncoder(config, tokenizer, new Rng(0));
        var weights = Safetensors.Read(Path.Combine(directory, WeightsFile));
        var tensors = weights.Tensors.ToDictionary();
        if (tensors.Remove(WordBlocksKey, out var blocks))
        {
            if (blocks.Rank != 3 || blocks.Size(1) != tokenizer.Words.Count || blocks.Size(2) != config.Width)
                throw new InvalidDataException($"Text encoder checkpoint {directory}: {WeightsFile}: {WordBlocksKey} " +
                                               $"must be (blocks, {tokenizer.Words.Count}, {config.Width}), one row " +
                                               "per added word of the tokenizer");
            model.wordBlocks = blocks.CopyUnscoped();
        }
        try { model.LoadStateDict(tensors); }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"Text encoder checkpoint {directory}: {WeightsFile}: {e.Message}", e);
        }
        return model;
    }
}
