// DitConfig: the sizes of a diffusion transformer, with the DiT paper's presets (Peebles & Xie 2023, Table 4):
//   DiT-S  depth 12, width  384, 6 heads     DiT-B  depth 12, width  768, 12 heads
//   DiT-L  depth 24, width 1024, 16 heads    DiT-XL depth 28, width 1152, 16 heads
// each with patch 2, 4 or 8 ("DiT-XL/2"). The same record sizes the class-conditional image DiT (the reference
// model, facebookresearch/DiT models.py) and the spacetime video DiT, which adds a time patch, text conditioning and
// the attention layout.
namespace Spacetime.Models.Dit;

/// <summary>How self-attention covers the spacetime tokens.</summary>
public enum AttentionLayout
{
    /// <summary>Every token attends to every token of its video (full spatiotemporal attention).</summary>
    Full,
    /// <summary>Spatial attention within each frame, then temporal attention across frames at each position.</summary>
    Factorized,
}

/// <summary>Sizes and options of a DiT. Override presets with <c>with</c>.</summary>
public sealed record DitConfig
{
    /// <summary>Width D of every token.</summary>
    public int Hidden { get; init; } = 384;
    /// <summary>Number of DiT blocks.</summary>
    public int Depth { get; init; } = 12;
    /// <summary>Attention heads; Hidden must divide by it.</summary>
    public int Heads { get; init; } = 6;
    /// <summary>MLP width as a multiple of Hidden (4 in DiT).</summary>
    public float MlpRatio { get; init; } = 4f;
    /// <summary>Latent channels C of the input.</summary>
    public int InChannels { get; init; } = 4;
    /// <summary>Spatial patch size (ph = pw).</summary>
    public int Patch { get; init; } = 2;
    /// <summary>Temporal patch size pt (video DiT only; 1 keeps every latent frame its own token).</summary>
    public int PatchT { get; init; } = 1;
    /// <summary>Predict a variance too: the output has 2C channels (the reference's learn_sigma).</summary>
    public bool LearnSigma { get; init; } = true;
    /// <summary>Class labels of the image DiT; the null label used by guidance is NumClasses.</summary>
    public int NumClasses { get; init; } = 1000;
    /// <summary>Probability of dropping a label (or caption) in training, for classifier-free guidance.</summary>
    public float ClassDropoutProb { get; init; } = 0.1f;
    /// <summary>Width of the text encoder's tokens (video DiT; cross-attention keys come from them).</summary>
    public int TextHidden { get; init; } = 256;
    /// <summary>Full or factorized (spatial, then temporal) self-attention (video DiT).</summary>
    public AttentionLayout Attention { get; init; } = AttentionLayout.Full;
    /// <summary>Also condition adaLN on the caption: the mean of its valid tokens, through a two-layer MLP, is added to
    /// the timestep embedding (SD3's pooled text vector), so the whole caption steers every block from the first
    /// steps, before cross-attention has learned where to look (video DiT).</summary>
    public bool PooledText { get; init; }

    /// <summary>Channels the model outputs.</summary>
    public int OutChannels => LearnSigma ? 2 * InChannels : InChannels;
    /// <summary>Hidden width of the MLP.</summary>
    public int MlpHidden => (int)(Hidden * MlpRatio);
    /// <summary>Width of one head.</summary>
    public int HeadDim => Hidden / Heads;

    /// <summary>The DiT paper's models by name, e.g. "DiT-XL/2".</summary>
    public static IReadOnlyDictionary<string, DitConfig> Presets { get; } = MakePresets();

    static Dictionary<string, DitConfig> MakePresets()
    {
        var sizes = new (string Name, int Depth, int Hidden, int Heads)[]
        {
            ("S", 12, 384, 6), ("B", 12, 768, 12), ("L", 24, 1024, 16), ("XL", 28, 1152, 16),
        };
        var d = new Dictionary<string, DitConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, depth, hidden, heads) in sizes)
            foreach (int p in new[] { 2, 4, 8 })
                d[$"DiT-{name}/{p}"] = new DitConfig { Depth = depth, Hidden = hidden, Heads = heads, Patch = p };
        return d;
    }

    /// <summary>The preset called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static DitConfig Preset(string name) => Presets.TryGetValue(name, out var c) ? c
        : throw new ArgumentException($"Unknown model '{name}'. Known: {string.Join(", ", Presets.Keys)}.");

    /// <summary>Throws when the sizes are inconsistent.</summary>
    public void Validate()
    {
        if (Hidden <= 0 || Depth < 0 || Heads <= 0 || Hidden % Heads != 0)
            throw new ArgumentException($"DitConfig: Hidden {Hidden} must be positive and divide by Heads {Heads}.");
        if (Patch <= 0 || PatchT <= 0 || InChannels <= 0)
            throw new ArgumentException($"DitConfig: Patch {Patch}, PatchT {PatchT} and InChannels {InChannels} " +
                                        "must be positive.");
    }
}
