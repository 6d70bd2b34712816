// VideoVaeConfig: the shape of the video compression network (MISSION item 1), as an immutable record with presets
// (nanoGPT's GPTConfig, DiT's DiT_models). The encoder first folds each Patch x Patch pixel block into channels (no
// fold for Patch 1), then has one level per entry of ChannelMultipliers; every level but the last ends in a 2x spatial
// downsample, so SpatialCompression = Patch * 2^(levels - 1). Time is halved (frame 0 kept alone) after the levels of
// TimeHalvingLevels (by default the first log2(TemporalCompression) levels); naming the last level adds a time-only
// step after it. The decoder mirrors it. Stored beside the weights as JSON.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spacetime.Models.Vae;

/// <summary>Configuration of a <see cref="VideoVae"/>. Override presets with <c>with</c>.</summary>
public sealed record VideoVaeConfig
{
    /// <summary>Latent channels z: 4, 8 or 16 (SD uses 4; video VAEs 4 to 16, more channels = better detail).</summary>
    public int LatentChannels { get; init; } = 4;

    /// <summary>Channels of the first level; level i has BaseChannels * ChannelMultipliers[i].</summary>
    public int BaseChannels { get; init; } = 32;

    /// <summary>One multiplier per level (SD's ch_mult (1, 2, 4, 4) gives 8x); 4 levels = 8x, 3 levels = 4x.</summary>
    public int[] ChannelMultipliers { get; init; } = [1, 2, 4, 4];

    /// <summary>ResNet blocks per encoder level (the decoder has one more per level, as in SD's decoder).</summary>
    public int ResBlocks { get; init; } = 1;

    /// <summary>Temporal compression: 4 (two stride-2 causal steps), 2 or 1 (none); frame 0 is always encoded
    /// alone.</summary>
    public int TemporalCompression { get; init; } = 4;

    /// <summary>GroupNorm groups; must divide every level's channels (SD: 32).</summary>
    public int NormGroups { get; init; } = 8;

    /// <summary>
    /// The latent scale factor (SD's 0.18215): the diffusion model sees z * LatentScale, so its latents have unit
    /// variance. 1.0 until measured on data with <see cref="VideoVae.MeasureLatentScale"/>; set it with
    /// <c>cfg with { LatentScale = s }</c> before saving. This is the only place the number lives.
    /// </summary>
    public float LatentScale { get; init; } = 1f;

    /// <summary>
    /// Per-channel normalisation after LatentScale (null: none): the diffusion model sees (z * LatentScale - ChannelMean[c])
    /// / ChannelStd[c], each channel at zero mean and unit variance, as Wan's VAE normalises its latents. With a
    /// shortcut the three area-mean channels vary twice as much as the detail channels that carry the objects' outlines
    /// (docs/model-v2.md), so under one global scale the noise buries the outlines first. Measured on data with
    /// <see cref="VideoVae.MeasureChannelStats"/> (`spacetime vae normalize`). A DiT trained without it does not work
    /// with it: the latents differ (and so does the latent fingerprint).
    /// </summary>
    public float[]? ChannelMean { get; init; }

    /// <summary>Per-channel standard deviations of the normalisation (with <see cref="ChannelMean"/>; both or
    /// neither).</summary>
    public float[]? ChannelStd { get; init; }

    /// <summary>
    /// Residual autoencoding (DC-AE, Chen et al. 2024): the first three latent channels carry the video's area means
    /// (over f x f pixels; frame 0 alone, then each group of TemporalCompression frames) on top of what the encoder
    /// computes, and the decoder adds them back, repeated over the pixels and frames they came from, to its output.
    /// The networks then learn only what the means miss; the decoder's and encoder's last convolutions start at zero,
    /// so an untrained VAE is already the pixel-space codec. Needs LatentChannels >= 3.
    /// </summary>
    public bool Shortcut { get; init; }

    /// <summary>
    /// Space-to-depth stem: 1 (none), 2 or 4. The encoder starts by folding every Patch x Patch pixel block of each frame
    /// into 3 Patch^2 channels and the decoder ends by unfolding them, so the first level already runs at 1 / Patch of the
    /// resolution: full-resolution convolutions are the costliest part of a VAE, and on flat-coloured video they buy
    /// little (measured: Patch 2 trained to a higher PSNR per step than Patch 1 at a similar cost).
    /// </summary>
    public int Patch { get; init; } = 1;

    /// <summary>The normalisation inside the ResNet blocks and before each conv_out: per-frame GroupNorm (SD) or none.
    /// With none, every ResNet block's second convolution starts at zero, so each block starts as the identity and the
    /// activations keep their scale through the depth.</summary>
    public VaeNorm Norm { get; init; } = VaeNorm.Group;

    /// <summary>
    /// The encoder levels after which time is halved (frame 0 kept alone); log2(TemporalCompression) distinct levels in
    /// 0 .. levels - 1. A level before the last halves time in its spatial downsample; the last level gets a time-only
    /// downsample of its own (in the decoder, a time-only upsample before that level's blocks). Null: the first
    /// log2(TemporalCompression) levels, where time and space are halved together.
    /// </summary>
    public int[]? TimeHalvingLevels { get; init; }

    /// <summary>Spatial compression per side, Patch * 2^(levels - 1): 8 or 4.</summary>
    [JsonIgnore] public int SpatialCompression => Patch << (ChannelMultipliers.Length - 1);

    /// <summary>Input channels of the encoder's first convolution (and output channels of the decoder's last): the RGB
    /// channels of a Patch x Patch pixel block.</summary>
    internal int PixelChannels => 3 * Patch * Patch;

    /// <summary>Channels of level <paramref name="level"/>.</summary>
    internal int Channels(int level) => BaseChannels * ChannelMultipliers[level];

    /// <summary>True when time is halved after encoder level <paramref name="level"/>: by its spatial downsample, or,
    /// after the last level, by a time-only step.</summary>
    internal bool HalvesTime(int level) => TimeHalvingLevels?.Contains(level)
                                           ?? level < System.Numerics.BitOperations.Log2((uint)TemporalCompression);

    /// <summary>The presets, by name. "world-s" trains on a 2-core CPU in minutes at 64x64 to 128x128.</summary>
    public static IReadOnlyDictionary<string, VideoVaeConfig> Presets { get; } = new Dictionary<string, VideoVaeConfig>
    {
        // 32-64-128-128 channels, 8x8x4 compression, z = 4: the world simulator's default VAE.
        ["world-s"] = new(),
        // The same with 4x spatial compression (32-64-128): sharper, 4x more latent tokens.
        ["world-s-f4"] = new() { ChannelMultipliers = [1, 2, 4] },
        // 64-128-256-256 channels, two ResNet blocks per level, z = 16 (CogVideoX/WAN-style wide latent).
        ["world-b"] = new() { BaseChannels = 64, ResBlocks = 2, LatentChannels = 16, NormGroups = 32 },
        // The world VAE: 2x2 pixel blocks folded into channels, then 32-64-128 channels (8x8 spatial), time halved in
        // the second downsample and in a time-only step at the 16x16 level (4x temporal), per-frame GroupNorm, z = 16,
        // residual shortcut. Without a norm the same network learned slightly faster per step but diverged at the end
        // of warmup (lr 1e-3, gradient norm 1e8) and never recovered; with GroupNorm it trained in every run.
        ["world-p2"] = new()
        {
            Patch = 2, BaseChannels = 32, ChannelMultipliers = [1, 2, 4], TimeHalvingLevels = [1, 2],
            Norm = VaeNorm.Group, LatentChannels = 16, Shortcut = true,
        },
    };

    /// <summary>Throws when the configuration cannot build a model, naming every problem.</summary>
    public void Validate()
    {
        var problems = new List<string>();
        if (LatentChannels <= 0) problems.Add($"LatentChannels {LatentChannels} must be positive");
        if (BaseChannels <= 0) problems.Add($"BaseChannels {BaseChannels} must be positive");
        if (ChannelMultipliers is not { Length: >= 1 } || ChannelMultipliers.Any(m => m <= 0))
            problems.Add("ChannelMultipliers must hold at least one positive multiplier");
        else
        {
            int halvings = TemporalCompression is 1 or 2 or 4 ? System.Numerics.BitOperations.Log2((uint)TemporalCompression) : -1;
            if (halvings < 0)
                problems.Add($"TemporalCompression {TemporalCompression} must be 1, 2 or 4");
            else if (TimeHalvingLevels is null && halvings > ChannelMultipliers.Length - 1)
                problems.Add($"TemporalCompression {TemporalCompression} needs at least log2 of it downsampling " +
                             $"levels (there are {ChannelMultipliers.Length - 1}), or TimeHalvingLevels");
            else if (TimeHalvingLevels is not null &&
                     (TimeHalvingLevels.Length != halvings || TimeHalvingLevels.Distinct().Count() != halvings ||
                      TimeHalvingLevels.Any(l => l < 0 || l >= ChannelMultipliers.Length)))
                problems.Add($"TimeHalvingLevels [{string.Join(", ", TimeHalvingLevels)}] must be {halvings} " +
                             $"distinct levels in 0..{ChannelMultipliers.Length - 1} for TemporalCompression " +
                             $"{TemporalCompression}");
            if (Norm == VaeNorm.Group && (NormGroups <= 0 || ChannelMultipliers.Any(m => BaseChannels * m % NormGroups != 0)))
                problems.Add($"NormGroups {NormGroups} must divide every level's channels " +
                             $"({string.Join(", ", ChannelMultipliers.Select(m => BaseChannels * m))})");
        }
        if (Shortcut && LatentChannels < 3) problems.Add($"Shortcut needs LatentChannels >= 3 (has {LatentChannels})");
        if (Patch is not (1 or 2 or 4)) problems.Add($"Patch {Patch} must be 1, 2 or 4");
        if (!Enum.IsDefined(Norm)) problems.Add($"Norm {Norm} is not a known normalisation");
        if (ResBlocks <= 0) problems.Add($"ResBlocks {ResBlocks} must be positive");
        if (!(LatentScale > 0) || float.IsInfinity(LatentScale)) problems.Add($"LatentScale {LatentScale} must be > 0");
        if ((ChannelMean is null) != (ChannelStd is null))
            problems.Add("ChannelMean and ChannelStd come together (both or neither)");
        else if (ChannelMean is not null && (ChannelMean.Length != LatentChannels || ChannelStd!.Length != LatentChannels ||
                                             !ChannelMean.All(float.IsFinite) || !ChannelStd.All(x => x > 0 && float.IsFinite(x))))
            problems.Add($"ChannelMean and ChannelStd need {LatentChannels} finite values each, the deviations > 0");
        if (problems.Count > 0)
            throw new ArgumentException($"VideoVaeConfig: {string.Join("; ", problems)}.");
    }

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The configuration as indented JSON.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Reads a configuration written by <see cref="ToJson"/> (missing fields take their defaults).</summary>
    public static VideoVaeConfig FromJson(string json)
    {
        var cfg = JsonSerializer.Deserialize<VideoVaeConfig>(json, Json)
                  ?? throw new ArgumentException("VideoVaeConfig: the JSON is null.");
        cfg.Validate();
        return cfg;
    }
}

/// <summary>The normalisation of the VAE's ResNet blocks.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<VaeNorm>))]
public enum VaeNorm
{
    /// <summary>GroupNorm over each frame separately (NormGroups groups), as SD's VAE but causal.</summary>
    Group,
    /// <summary>No normalisation; residual branches start at zero.</summary>
    None,
}
