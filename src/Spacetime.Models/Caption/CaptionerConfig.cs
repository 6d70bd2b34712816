// CaptionerConfig: the sizes of the captioner (Captioner.cs): its latent input, its video encoder and its caption
// decoder. A record with presets, stored as the config.json of a captioner folder.
using System.Text.Json.Serialization;

namespace Spacetime.Models.Caption;

/// <summary>The captioner's shape.</summary>
public sealed record CaptionerConfig
{
    /// <summary>Channels of the latents it reads (the VAE's latent channels).</summary>
    public int LatentChannels { get; init; } = 16;
    /// <summary>Latent pixels per token side (a token is Patch x Patch latent pixels of one latent frame).</summary>
    public int Patch { get; init; } = 2;
    /// <summary>Token width of encoder and decoder.</summary>
    public int Width { get; init; } = 128;
    /// <summary>Heads of every attention.</summary>
    public int Heads { get; init; } = 4;
    /// <summary>Blocks of the video encoder (bidirectional self-attention).</summary>
    public int EncoderDepth { get; init; } = 3;
    /// <summary>Blocks of the caption decoder (causal self-attention, cross-attention to the video).</summary>
    public int DecoderDepth { get; init; } = 2;
    /// <summary>MLP hidden width over the token width.</summary>
    public float MlpRatio { get; init; } = 4f;
    /// <summary>Longest caption in tokens, BOS included (longer training captions are cut; decoding stops here). World
    /// captions are 163 tokens on average and up to about 420 (BPE of 1,024 tokens; a larger vocabulary shortens them
    /// no further: the captions' words are few).</summary>
    public int MaxTokens { get; init; } = 448;
    /// <summary>Rows of the token table (at least the tokenizer's vocabulary).</summary>
    public int VocabSize { get; init; } = 1024;
    /// <summary>Most latent frames, and most token rows and columns, the learned positions cover.</summary>
    public int MaxLatentFrames { get; init; } = 8;
    /// <summary>See <see cref="MaxLatentFrames"/>.</summary>
    public int MaxGridSide { get; init; } = 16;
    /// <summary>Pixels per frame of the videos it reads (a video is resized to about this area at its own aspect
    /// ratio; the training clips' area).</summary>
    public int ReadArea { get; init; } = 128 * 128;
    /// <summary>Frames it reads from the start of a video (the training clips' count).</summary>
    public int ReadFrames { get; init; } = 17;
    /// <summary>The rate those frames are taken at.</summary>
    public double ReadFps { get; init; } = 8;
    /// <summary>LayerNorm epsilon.</summary>
    public float NormEps { get; init; } = 1e-5f;

    /// <summary>MLP hidden width.</summary>
    [JsonIgnore] public int MlpHidden => (int)(Width * MlpRatio);

    /// <summary>The presets by name.</summary>
    public static IReadOnlyDictionary<string, CaptionerConfig> Presets { get; } =
        new Dictionary<string, CaptionerConfig>(StringComparer.OrdinalIgnoreCase)
        {
            // tests: narrow and shallow
            ["tiny"] = new() { LatentChannels = 4, Patch = 1, Width = 32, Heads = 2, EncoderDepth = 1, DecoderDepth = 1,
                               MaxTokens = 96, VocabSize = 384, ReadArea = 32 * 32, ReadFrames = 5 },
            // the world captioner: 16-channel VAE latents of 128x128 x 17 frames are 5 x 8 x 8 = 320 tokens; most
            // of its width goes to seeing (3 encoder blocks): the captions' grammar is fixed and the decoder small
            ["world"] = new(),
        };

    /// <summary>Throws ArgumentException naming a bad value.</summary>
    public void Validate()
    {
        if (LatentChannels < 1 || Patch < 1 || Width < 1 || Heads < 1 || Width % Heads != 0 || EncoderDepth < 1 ||
            DecoderDepth < 1 || !(MlpRatio > 0) || MaxTokens < 2 || VocabSize < 4 || MaxLatentFrames < 1 ||
            MaxGridSide < 1 || !(NormEps > 0) || ReadArea < 1 || ReadFrames < 1 || !(ReadFps > 0))
            throw new ArgumentException($"CaptionerConfig: channels {LatentChannels}, patch {Patch}, width {Width} " +
                                        $"in {Heads} heads, depths {EncoderDepth}/{DecoderDepth}, max tokens " +
                                        $"{MaxTokens}, vocabulary {VocabSize}: each must be positive, the width a " +
                                        "multiple of the heads, at least 2 tokens and 4 vocabulary rows");
    }
}
