// Training recipes (STYLE.md §8 example 2): what to build and what data to draw, by name. The trainer's knobs
// (steps, lr, ...) are the separate TrainConfig, so that a recipe's model can be trained for longer or shorter.
using Spacetime.Models.Dit;
using Spacetime.Models.Text;
using Spacetime.Pipelines;

namespace Spacetime.Training;

/// <summary>A text-to-video DiT recipe: networks, latent space and the world clips it trains on.</summary>
/// <param name="Dit">The DiT (InChannels must equal the latent channels; TextHidden the text width).</param>
/// <param name="Text">The text encoder, trained jointly.</param>
/// <param name="Clip">Clip size and length: every clip is rendered at exactly this (no buckets yet).</param>
/// <param name="TokenizerCaptions">How many world prompts the BPE tokenizer is learned from.</param>
public sealed record DitRecipe(DitConfig Dit, TextEncoderConfig Text, TextVideoConfig Clip, int TokenizerCaptions)
{
    /// <summary>The recipes by name.</summary>
    public static IReadOnlyDictionary<string, DitRecipe> Presets { get; } =
        new Dictionary<string, DitRecipe>(StringComparer.OrdinalIgnoreCase)
        {
            // the end-to-end smoke recipe: 32x32 pixels, 5 frames, 4x pixel-space latents (3, 5, 8, 8), 80 tokens
            ["tiny"] = new(
                new DitConfig { Hidden = 32, Depth = 2, Heads = 4, InChannels = 3, Patch = 2, PatchT = 1,
                                LearnSigma = false, TextHidden = 32 },
                new TextEncoderConfig { Width = 32, Depth = 1, Heads = 2, MaxTokens = 32, VocabSize = 384 },
                new TextVideoConfig(LatentSpace.PixelSpace, Factor: 4, Width: 32, Height: 32, Frames: 5, Fps: 8),
                TokenizerCaptions: 200),
        };

    /// <summary>The recipe called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static DitRecipe Preset(string name) => Presets.TryGetValue(name, out var r) ? r
        : throw new ArgumentException($"unknown recipe '{name}'; known: {string.Join(", ", Presets.Keys)}");
}
