// Training recipes (STYLE.md §8 example 2): what to build and what data to draw, by name. The trainer's knobs
// (steps, lr, ...) are the separate TrainConfig, so that a recipe's model can be trained for longer or shorter.
using Spacetime.Diffusion;
using Spacetime.Models.Dit;
using Spacetime.Models.Text;
using Spacetime.Pipelines;

namespace Spacetime.Training;

/// <summary>A clip size trained on: width and height in pixels, frames.</summary>
public readonly record struct ClipBucket(int Width, int Height, int Frames);

/// <summary>A text-to-video DiT recipe: networks, latent space and the world clips it trains on.</summary>
/// <param name="Dit">The DiT (InChannels must equal the latent channels; TextHidden the text width).</param>
/// <param name="Text">The text encoder, trained jointly.</param>
/// <param name="Clip">Latent space, clip size and length (every clip is rendered at exactly this).</param>
/// <param name="TokenizerCaptions">How many world scenes' captions the BPE tokenizer is learned from.</param>
/// <param name="PromptShare">Of the captions not dropped, the share that are short prompts (the rest are dense
/// captions); 1 trains on prompts only.</param>
/// <param name="Masks">The masked-frame conditioning mix (image-to-video, extend, ...); null: text-to-video only.</param>
/// <param name="CacheClips">Clips encoded once into the run's latent cache (0: render and encode every step).</param>
/// <param name="Buckets">More clip sizes trained on besides Clip's (the cache spreads its clips evenly over all).</param>
/// <param name="ObjectWeight">Extra loss weight on the latent pixels that the world's objects cover (their boxes, from
/// the simulator's truth): a pixel inside weighs 1 + ObjectWeight. Objects cover 1-5% of a frame, so with 0 the
/// loss is nearly all background. Clips from a folder weigh 1 everywhere unless they carry the simulator's truth
/// (`data synth` writes it) at exactly the bucket's size, frame count and fps.</param>
/// <param name="TextLr">The text encoder's learning rate as a multiple of the run's: 1 trains it jointly with the DiT;
/// 0 freezes it (no gradient is computed; usually another trained model's encoder, `train dit --text-from`, as a
/// pretrained text encoder is used in Sora-like systems); between, it moves slower than the DiT.</param>
/// <param name="TemporalWeight">λ of the temporal-difference loss added to the MSE (Losses.TemporalDifference: the
/// squared change of the velocity error between neighbouring latent frames): errors that flicker or jump between
/// frames weigh up to 1 + 4λ times one that is constant in time. 0: the plain MSE.</param>
public sealed record DitRecipe(DitConfig Dit, TextEncoderConfig Text, TextVideoConfig Clip, int TokenizerCaptions,
                               double PromptShare = 1, MaskSampler? Masks = null, int CacheClips = 0,
                               IReadOnlyList<ClipBucket>? Buckets = null, float ObjectWeight = 0,
                               float TextLr = 1, float TemporalWeight = 0)
{
    /// <summary>Every size trained on: Clip's first, then Buckets.</summary>
    public IReadOnlyList<ClipBucket> AllBuckets => [new(Clip.Width, Clip.Height, Clip.Frames), .. Buckets ?? []];

    // declared before Presets, which uses it (static initialisers run in text order)
    static readonly DitRecipe WorldS = new(
        new DitConfig { Hidden = 256, Depth = 6, Heads = 4, InChannels = 3, Patch = 4, PatchT = 4,
                        LearnSigma = false, TextHidden = 128 },
        new TextEncoderConfig { Width = 128, Depth = 2, Heads = 2, MaxTokens = 128, VocabSize = 1024 },
        new TextVideoConfig(LatentSpace.PixelSpace, Factor: 4, Width: 128, Height: 128, Frames: 16, Fps: 8),
        TokenizerCaptions: 2000, PromptShare: 0.25, Masks: new MaskSampler(0.8, 0.1, 0.04, 0.02, 0.02, 0.02),
        CacheClips: 4000);

    // Model v2 (issue 15): DiTs in the shipped world VAE's latents (16 channels, 8x down in space, 4x in time; a clip of
    // 17 frames is 5 latent frames, the first one frame alone). Spatial patch 2, time patch 1: 128x128x17 is
    // (16, 5, 16, 16) -> 5 x 8 x 8 = 320 tokens, and no token spans more than one latent frame, so nothing in the DiT
    // works in 4-frame blocks. Native sizes as buckets: 1:1, 16:9-ish 160x96 and 9:16 96x160 (2.0 s), 128x128 x 9
    // frames (1.0 s) and single frames (images, 64 tokens). The scaling study (docs/scaling.md) trains the four
    // "world-v2-*" networks on identical draws; "world-v2" is the one its curves picked.
    static readonly DitRecipe WorldV2 = new(
        new DitConfig { Hidden = 256, Depth = 6, Heads = 4, InChannels = 16, Patch = 2, PatchT = 1,
                        LearnSigma = false, TextHidden = 128, PooledText = true },
        new TextEncoderConfig { Width = 128, Depth = 2, Heads = 2, MaxTokens = 128, VocabSize = 1024 },
        new TextVideoConfig(LatentSpace.Vae, Factor: 8, Width: 128, Height: 128, Frames: 17, Fps: 8),
        TokenizerCaptions: 2000, PromptShare: 0.25, Masks: new MaskSampler(0.8, 0.1, 0.04, 0.02, 0.02, 0.02),
        CacheClips: 4000, Buckets: [new(160, 96, 17), new(96, 160, 17), new(128, 128, 9), new(128, 128, 1)]);

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
            // the tiny VAE-latent recipe (tests): a `train vae --recipe tiny` VAE, dense captions, the mask mix
            ["tiny-vae"] = new(
                new DitConfig { Hidden = 32, Depth = 2, Heads = 4, InChannels = 4, Patch = 1, PatchT = 1,
                                LearnSigma = false, TextHidden = 32 },
                new TextEncoderConfig { Width = 32, Depth = 1, Heads = 2, MaxTokens = 48, VocabSize = 384 },
                new TextVideoConfig(LatentSpace.Vae, Factor: 4, Width: 32, Height: 32, Frames: 5, Fps: 8),
                TokenizerCaptions: 100, PromptShare: 0.25, Masks: MaskSampler.Presets["sora"], CacheClips: 16,
                Buckets: [new(48, 32, 5)]),
            // stage 1 of the shipped model: 128x128, 16 frames (2 s at 8 fps) in pixel-space latents 4x down
            // (3, 16, 32, 32), cut into 4x4x4 spacetime patches -> 256 tokens; dense captions with a quarter short
            // prompts; 80% text-to-video, 20% masked frames. Pixel space, not the VAE: on this 2-core machine the
            // `world` VAE did not get past ~17 dB PSNR in the minutes a session can give it (models/spacetime/README.md).
            ["world-s-base"] = WorldS,
            // stage 2: world-s-base's networks plus the pooled caption in adaLN, and a loss that weighs the objects'
            // pixels 5x; started from a trained world-s-base (`train dit --init DIR`). The weighting teaches colours
            // and places fast but biases the model toward drawing too much object (the weight depends on where the
            // objects are, so the optimum is a posterior tilted toward them), hence stage 3.
            ["world-s-objects"] = WorldS with { Dit = WorldS.Dit with { PooledText = true }, ObjectWeight = 4 },
            // stage 3, the shipped model: the same networks on the plain, unbiased loss; started from stage 2
            ["world-s"] = WorldS with { Dit = WorldS.Dit with { PooledText = true } },
            // model v2: the study's pick (docs/scaling.md): width 256, depth 6, full attention had the lowest loss at
            // every compute budget read (the wider, the deeper and the factorized DiTs trailed it)
            ["world-v2"] = WorldV2,
            // model v2's second stage, as the pixel model's: the loss weighted 5x on the latent cells under the objects,
            // started from a world-v2 run (`--init`); its first 3,300 steps drew the background and rarely the objects
            ["world-v2-objects"] = WorldV2 with { ObjectWeight = 4 },
            // model v2's third stage: the objects weighted 3x, started from world-v2-objects. A plain third stage (as the
            // pixel model's) lost the second stage's gains within 1,238 steps (colour 0.17 -> 0.06, FVD 56 -> 122): the
            // plain loss is ~97% background, so a lighter tilt is kept instead
            ["world-v2-stage3"] = WorldV2 with { ObjectWeight = 2 },
            // model v2's fourth stage: the previous, pixel-space model's text encoder (`--text-from` that model's
            // folder), frozen. v2's jointly trained encoder had erased the colour words (docs/model-v2.md,
            // bench/probe/colour.cs)
            ["world-v2-text"] = WorldV2 with { ObjectWeight = 2, TextLr = 0 },
            // the same with that encoder trained on at a tenth of the DiT's rate (can the shape words come back?)
            ["world-v2-joint"] = WorldV2 with { ObjectWeight = 2, TextLr = 0.1f },
            // model v2's sixth stage: stage 5 (`--init` the shipped model) with the token skip added to its encoder, so
            // the shape words, which its blocks had buried (circle->square 0.025 against red->blue 0.356 at the encoder's
            // output), reach cross-attention as themselves
            ["world-v2-words"] = WorldV2 with { ObjectWeight = 2, TextLr = 0.1f,
                                                Text = WorldV2.Text with { TokenSkip = true } },
            // model v2 grown (session 35): world-v2-words with 11 blocks instead of 6, started (`--init`) from the
            // 6-block model: its blocks go to 0, 2, ..., 10 and the five between start as identities, so training
            // goes on from what it predicted with 1.8x the DiT (15.6 M parameters; 11 is the depth that keeps
            // models/spacetime under 100 MB with the VAE: 12 would make it 104 MB). The scaling study compared
            // networks at 70 TFLOP; the shipped model has had many times that, where a bigger network should pay
            ["world-v2-deep"] = WorldV2 with { ObjectWeight = 2, TextLr = 0.1f,
                                               Text = WorldV2.Text with { TokenSkip = true },
                                               Dit = WorldV2.Dit with { Depth = 11 } },
            // model v2's twelfth stage (session 40): world-v2-words with the temporal-difference loss at λ = 1, started
            // from the shipped model. Stages 9 and 11 (more blocks) bought appearance and FVD and lost flicker, the seam
            // and free fall; this one aims the same training at the errors that change between latent frames
            ["world-v2-motion"] = WorldV2 with { ObjectWeight = 2, TextLr = 0.1f,
                                                 Text = WorldV2.Text with { TokenSkip = true }, TemporalWeight = 1 },
            // the scaling study's four networks (same data, text encoder and draws; only the DiT differs)
            ["world-v2-w256d6"] = WorldV2,
            ["world-v2-w256d6-fact"] = WorldV2 with { Dit = WorldV2.Dit with { Attention = AttentionLayout.Factorized } },
            ["world-v2-w384d6"] = WorldV2 with { Dit = WorldV2.Dit with { Hidden = 384, Heads = 6 } },
            ["world-v2-w256d12"] = WorldV2 with { Dit = WorldV2.Dit with { Depth = 12 } },
        };

    /// <summary>The recipe called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static DitRecipe Preset(string name) => Presets.TryGetValue(name, out var r) ? r
        : throw new ArgumentException($"unknown recipe '{name}'; known: {string.Join(", ", Presets.Keys)}");
}
