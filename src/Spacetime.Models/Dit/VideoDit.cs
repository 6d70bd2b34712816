// The spacetime diffusion transformer of the Sora recipe: a noisy latent video (B, C, T, H, W) is cut into spacetime
// patches (pt x p x p), embedded, given fixed 3-D sin-cos positions by (t, h, w) coordinate (so any duration, size and
// aspect ratio works, including ones never seen in training), passed through VideoDitBlocks conditioned on the
// timestep (adaLN-Zero) and on caption tokens (cross-attention), and unpatchified back to (B, C', T, H, W).
// Videos of different sizes train in same-shape batches (buckets), not NaViT-packed sequences: the trainer's buckets
// never pad, and packing measured 0.92x their tokens/s (its per-token modulation costs more than it saves; issue 15).
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>Diffusion transformer over latent videos, conditioned on a timestep and caption tokens.</summary>
public sealed class VideoDit : Module
{
    /// <summary>The configuration it was built with.</summary>
    public DitConfig Config { get; }

    readonly PatchEmbed xEmbedder;
    readonly TimestepEmbedder tEmbedder;
    readonly PooledTextEmbedder? yEmbedder;   // cfg.PooledText only
    readonly ModuleList<VideoDitBlock> blocks;
    readonly FinalLayer finalLayer;

    /// <summary>Builds and initialises the model (adaLN and the final layer zeroed: it starts by predicting zeros).</summary>
    public VideoDit(DitConfig cfg, ulong seed = 0)
    {
        cfg.Validate();
        Config = cfg;
        var rng = new Rng(seed);
        xEmbedder = Add("x_embedder", new PatchEmbed(cfg.InChannels, cfg.Hidden, cfg.Patch, cfg.PatchT, video: true));
        tEmbedder = Add("t_embedder", new TimestepEmbedder(cfg.Hidden, rng));
        if (cfg.PooledText) yEmbedder = Add("y_embedder", new PooledTextEmbedder(cfg.TextHidden, cfg.Hidden, rng));
        blocks = Add("blocks", new ModuleList<VideoDitBlock>(
            Enumerable.Range(0, cfg.Depth).Select(_ => new VideoDitBlock(cfg, rng))));
        finalLayer = Add("final_layer", new FinalLayer(cfg.Hidden, cfg.PatchT * cfg.Patch * cfg.Patch * cfg.OutChannels, rng));
        InitializeWeights(rng);
    }

    // x: (B, C, T, H, W) latents   t: (B) timesteps   text: (B, L, Dt) caption tokens   textValid: (B·L) or null
    // blockText: null, or Depth tensors (B, L, Dt): block l's cross-attention reads blockText[l] instead of text
    /// <summary>The model output (velocity, noise, ...) for a batch of same-size latent videos: (B, C', T, H, W).
    /// </summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor text, bool[]? textValid = null,
                          IReadOnlyList<Tensor>? blockText = null)
    {
        if (blockText is not null && blockText.Count != Config.Depth)
            throw new ArgumentException($"the text gives tokens for {blockText.Count} blocks but this DiT has " +
                                        $"{Config.Depth} (new words made for another model)");
        int B = x.Size(0), T = x.Size(2) / Config.PatchT, h = x.Size(3) / Config.Patch, w = x.Size(4) / Config.Patch;
        var tokens = xEmbedder.Forward(x);                                           // (B, N, D)
        tokens = tokens + Positions(T, h, w).Unsqueeze(0);                            // (B, N, D)
        var c = tEmbedder.Forward(t);                                                 // (B, D)
        if (yEmbedder is not null) c = c + yEmbedder.Forward(text, textValid);        // (B, D)
        var cross = textValid is null ? null : new AttentionMask(textValid);
        for (int l = 0; l < blocks.Count; l++)
            tokens = blocks[l].Forward(tokens, c, blockText?[l] ?? text, (T, h * w), cross);
        tokens = finalLayer.Forward(tokens, c);                                       // (B, N, pt·p·p·C')
        return Patchify.UnVideo(tokens, Config.OutChannels, T, h, w, Config.PatchT, Config.Patch);
    }

    /// <summary>Splits a state-dict key of one of the blocks ("blocks.3.attn.qkv.weight") into the block's index (3)
    /// and the rest of the key ("attn.qkv.weight"); false for a key outside the blocks.</summary>
    public static bool TrySplitBlockKey(string key, out int block, out string rest)
    {
        const string prefix = "blocks.";
        (block, rest) = (-1, "");
        int dot = key.StartsWith(prefix, StringComparison.Ordinal) ? key.IndexOf('.', prefix.Length) : -1;
        if (dot < 0 || !int.TryParse(key.AsSpan(prefix.Length, dot - prefix.Length), out block)) return false;
        rest = key[(dot + 1)..];
        return true;
    }

    /// <summary>The state-dict key of <paramref name="rest"/> in block <paramref name="block"/>.</summary>
    public static string BlockKey(int block, string rest) => $"blocks.{block}.{rest}";

    /// <summary>(t·h·w, D) fixed sin-cos positions for a grid of patches.</summary>
    public Tensor Positions(int t, int h, int w)
    {
        float[] table;
        lock (positionTables)                          // computed once per grid: no new array per step
            if (!positionTables.TryGetValue((t, h, w), out table!))
                positionTables[(t, h, w)] = table = PosEmbed.SinCos3d(Config.Hidden, t, h, w);
        return Tensor.From(table, t * h * w, Config.Hidden);
    }

    readonly Dictionary<(int T, int H, int W), float[]> positionTables = [];

    void InitializeWeights(Rng rng)
    {
        using var _ = Autograd.NoGrad();
        xEmbedder.InitializeWeights(rng);
        tEmbedder.InitializeWeights(rng);
        yEmbedder?.InitializeWeights(rng);
        foreach (var block in blocks) block.InitializeWeights(rng);
        finalLayer.InitializeWeights();
    }
}
