// TextVideoModel: the networks of a text-to-video model held as one Module ("dit.*", "text.*"), so that one
// optimizer, one EMA and one state dict cover the DiT and the jointly trained text encoder, plus the latent codec.
// A model folder (what `generate --model DIR` loads) is:
//     DIR/spacetime.json   what the model is (latent space, sizes it was trained at)
//     DIR/dit/             config.json + model.safetensors   (DitCheckpoint)
//     DIR/text/            config.json + model.safetensors + tokenizer.json   (TextEncoder.Save)
//     DIR/vae/             config.json + model.safetensors   (VaeCheckpoint; only for LatentSpace.Vae)
// The VAE is frozen while the DiT trains: it is held beside the module tree, not in it, so the optimizer, the EMA and
// the state dict cover exactly the DiT and the text encoder.
using System.Text.Json;
using System.Text.Json.Serialization;
using Spacetime.Engine;
using Spacetime.Models.Dit;
using Spacetime.Models.Text;
using Spacetime.Models.Vae;
using Spacetime.Nn;

namespace Spacetime.Pipelines;

/// <summary>Which latent space the DiT works in.</summary>
public enum LatentSpace
{
    /// <summary>Downsampled RGB frames (<see cref="PixelLatents"/>); no VAE.</summary>
    PixelSpace,
    /// <summary>The latents of a trained causal video VAE (<see cref="VaeLatents"/>), stored in DIR/vae.</summary>
    Vae,
}

/// <summary>The spacetime.json of a model folder.</summary>
/// <param name="Latents">The latent space.</param>
/// <param name="Factor">Pixels per latent cell in each spatial direction (PixelSpace; the VAE's own for Vae).</param>
/// <param name="Width">Training width in pixels (the default of `generate`).</param>
/// <param name="Height">Training height in pixels.</param>
/// <param name="Frames">Training frames per clip.</param>
/// <param name="Fps">Training frame rate.</param>
public sealed record TextVideoConfig(LatentSpace Latents, int Factor, int Width, int Height, int Frames, double Fps);

/// <summary>A VideoDit and its text encoder, trained together.</summary>
public sealed class TextVideoModel : Module
{
    /// <summary>RF times t in [0, 1] are scaled by this before the timestep embedder (SD3's 1000), whose
    /// frequencies were made for DDPM's integer steps.</summary>
    public const float TimeScale = 1000f;

    /// <summary>The diffusion transformer.</summary>
    public VideoDit Dit { get; }
    /// <summary>The caption encoder.</summary>
    public TextEncoder Text { get; }
    /// <summary>What the model is.</summary>
    public TextVideoConfig Config { get; }
    /// <summary>The latent codec.</summary>
    public ILatentCodec Latents { get; }

    /// <summary>Wraps the two networks; <paramref name="vae"/> is required for (and only for) LatentSpace.Vae.</summary>
    public TextVideoModel(VideoDit dit, TextEncoder text, TextVideoConfig config, VideoVae? vae = null)
    {
        if ((config.Latents == LatentSpace.Vae) != (vae is not null))
            throw new ArgumentException($"TextVideoModel: latent space {config.Latents} " +
                                        (vae is null ? "needs a VAE." : "takes no VAE."));
        if (vae is not null && vae.Config.SpatialCompression != config.Factor)
            throw new ArgumentException($"the model says its latents are {config.Factor}x down (spacetime.json) but the " +
                                        $"VAE (vae/) compresses {vae.Config.SpatialCompression}x: they do not belong " +
                                        "together; use the VAE the DiT was trained with.");
        Latents = vae is null ? new PixelLatents(config.Factor) : new VaeLatents(vae);
        if (dit.Config.InChannels != Latents.Channels)
            throw new ArgumentException(vae is null
                ? $"the DiT (dit/) takes {dit.Config.InChannels} channels but pixel-space latents have {Latents.Channels}."
                : $"the DiT (dit/) takes {dit.Config.InChannels} latent channels but the VAE (vae/) makes " +
                  $"{Latents.Channels}: they were not trained together; use the VAE the DiT was trained with " +
                  "(`train dit --vae` copies it into the model folder).");
        if (dit.Config.TextHidden != text.Config.Width)
            throw new ArgumentException($"TextVideoModel: the DiT expects text width {dit.Config.TextHidden}, " +
                                        $"the encoder gives {text.Config.Width}.");
        Dit = Add("dit", dit);
        Text = Add("text", text);
        Config = config;
    }

    // x: (B, C, T, H, W) at RF times t: (B) in [0, 1]   text: encoded captions (B, L, Dt)   -> (B, C, T, H, W)
    /// <summary>The model output (velocity) for latents at times <paramref name="t"/> given encoded captions.</summary>
    public Tensor Predict(Tensor x, Tensor t, TextEmbedding text) =>
        Dit.Forward(x, t * TimeScale, text.Tokens, text.Valid, text.PerBlock);

    /// <summary>A fresh model: a BPE tokenizer learned from <paramref name="tokenizerTexts"/>, the DiT and the text
    /// encoder initialised from <paramref name="seed"/>; with a VAE, the latent factor is the VAE's.</summary>
    public static TextVideoModel Create(DitConfig dit, TextEncoderConfig text, TextVideoConfig config,
                                       IEnumerable<string> tokenizerTexts, ulong seed, VideoVae? vae = null)
    {
        var tokenizer = BpeTokenizer.Train(tokenizerTexts, text.VocabSize);
        var encoder = new TextEncoder(text, tokenizer, new Rng(seed).Fork(1));
        var clip = vae is null ? config : config with { Factor = vae.Config.SpatialCompression };
        return new TextVideoModel(new VideoDit(dit, seed), encoder, clip, vae);
    }

    /// <summary>The same model with a freshly initialised DiT (adaLN-Zero: it predicts exactly zero): the untrained
    /// floor an evaluation compares with. Shares the text encoder and the codec.</summary>
    public TextVideoModel Untrained(ulong seed = 0) =>
        new(new VideoDit(Dit.Config, seed), Text, Config, (Latents as VaeLatents)?.Vae);

    static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Writes the model folder (current weights).</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        DitCheckpoint.Save(Dit, new DitFolderConfig(DitKind.Video, Dit.Config), Path.Combine(dir, "dit"));
        Text.Save(Path.Combine(dir, "text"));
        if (Latents is VaeLatents v) VaeCheckpoint.Save(v.Vae, Path.Combine(dir, "vae"));
        File.WriteAllText(Path.Combine(dir, "spacetime.json"), JsonSerializer.Serialize(Config, Json));
    }

    /// <summary>Loads a model folder; a missing or broken folder throws an InvalidDataException naming it.</summary>
    public static TextVideoModel Load(string dir)
    {
        var configPath = Path.Combine(dir, "spacetime.json");
        if (!Directory.Exists(dir)) throw new InvalidDataException($"{dir}: no such model folder.");
        if (!File.Exists(configPath))
            throw new InvalidDataException($"{dir}: not a text-to-video model folder (spacetime.json is missing).");
        TextVideoConfig config;
        try
        {
            config = JsonSerializer.Deserialize<TextVideoConfig>(File.ReadAllText(configPath), Json)
                     ?? throw new JsonException("the file holds null");
        }
        catch (JsonException e) { throw new InvalidDataException($"{configPath}: {e.Message}", e); }
        if (config.Factor < 1 || config.Width < 1 || config.Height < 1 || config.Frames < 1
            || !(config.Fps > 0) || double.IsInfinity(config.Fps))
            throw new InvalidDataException($"{configPath}: factor, width, height, frames and fps must be positive " +
                                           $"(read {config}).");
        try
        {
            var (dit, _) = DitCheckpoint.Load(Path.Combine(dir, "dit"));
            if (dit is not VideoDit videoDit) throw new InvalidDataException($"{dir}/dit: not a video DiT.");
            var vae = config.Latents == LatentSpace.Vae ? VaeCheckpoint.Load(Path.Combine(dir, "vae")) : null;
            vae?.Eval();
            var model = new TextVideoModel(videoDit, TextEncoder.Load(Path.Combine(dir, "text")), config, vae);
            foreach (var (name, p) in model.NamedParameters().Concat(vae?.NamedParameters().Select(kv => ("vae." + kv.Name, kv.Parameter)) ?? []))
                if (!p.ToArray().All(float.IsFinite))
                    throw new InvalidDataException($"{dir}: weight {name} holds NaN or infinite values; the model is broken");
            return model;
        }
        catch (Exception e) when (e is FileNotFoundException or ArgumentException or DirectoryNotFoundException)
        {
            throw new InvalidDataException($"{dir}: {e.Message}", e);
        }
    }
}
