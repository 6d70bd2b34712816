// The spacetime diffusion transformer of the Sora recipe: a noisy latent video (B, C, T, H, W) is cut into spacetime
// patches (pt x p x p), embedded, given fixed 3-D sin-cos positions by (t, h, w) coordinate (so any duration, size and
// aspect ratio works, including ones never seen in training), passed through VideoDitBlocks conditioned on the
// timestep (adaLN-Zero) and on caption tokens (cross-attention), and unpatchified back to (B, C', T, H, W).
// Several videos of different sizes can be packed into one sequence (NaViT): ForwardPacked takes per-token
// coordinates and segment ids, and attention stays inside each video.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>One video of a packed batch: its latent (C, T, H, W), its timestep, and its caption tokens (L, Dt).</summary>
public sealed record PackedClip(Tensor Latent, float Timestep, Tensor Text);

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
    /// <summary>The model output (velocity, noise, ...) for a batch of same-size latent videos: (B, C', T, H, W).</summary>
    public Tensor Forward(Tensor x, Tensor t, Tensor text, bool[]? textValid = null)
    {
        int B = x.Size(0), T = x.Size(2) / Config.PatchT, h = x.Size(3) / Config.Patch, w = x.Size(4) / Config.Patch;
        var tokens = xEmbedder.Forward(x);                                           // (B, N, D)
        tokens = tokens + Positions(T, h, w).Unsqueeze(0);                            // (B, N, D)
        var c = tEmbedder.Forward(t);                                                 // (B, D)
        if (yEmbedder is not null) c = c + yEmbedder.Forward(text, textValid);        // (B, D)
        var cross = textValid is null ? null : new AttentionMask(textValid);
        foreach (var block in blocks) tokens = block.Forward(tokens, c, text, (T, h * w), null, cross);
        tokens = finalLayer.Forward(tokens, c);                                       // (B, N, pt·p·p·C')
        return Patchify.UnVideo(tokens, Config.OutChannels, T, h, w, Config.PatchT, Config.Patch);
    }

    /// <summary>
    /// Several latent videos of different sizes packed into ONE sequence (NaViT): each clip's tokens attend only to
    /// themselves and cross-attend only to their own caption; each has its own timestep. Returns one output per clip,
    /// (C', T, H, W), equal to running the clips one by one. Needs full attention (factorized windows are per video).
    /// </summary>
    public Tensor[] ForwardPacked(IReadOnlyList<PackedClip> clips)
    {
        if (Config.Attention != AttentionLayout.Full)
            throw new NotSupportedException("VideoDit.ForwardPacked: packing needs AttentionLayout.Full.");
        var patches = new Tensor[clips.Count];
        var positions = new Tensor[clips.Count];
        var grids = new (int T, int H, int W)[clips.Count];
        var tokenClip = new List<int>();
        var textClip = new List<int>();
        for (int i = 0; i < clips.Count; i++)
        {
            var latent = clips[i].Latent;                                             // (C, T, H, W)
            grids[i] = (latent.Size(1) / Config.PatchT, latent.Size(2) / Config.Patch, latent.Size(3) / Config.Patch);
            patches[i] = Patchify.Video(latent.Unsqueeze(0), Config.PatchT, Config.Patch);   // (1, n_i, C·pt·p·p)
            positions[i] = Positions(grids[i].T, grids[i].H, grids[i].W);            // (n_i, D)
            tokenClip.AddRange(Enumerable.Repeat(i, patches[i].Size(1)));
            textClip.AddRange(Enumerable.Repeat(i, clips[i].Text.Size(0)));
        }
        int[] segQ = [.. tokenClip], segK = [.. textClip];
        var tokens = xEmbedder.Project(F.Concat(patches, 1)) + F.Concat(positions, 0).Unsqueeze(0);   // (1, N, D)
        var c = tEmbedder.Forward(Tensor.From(clips.Select(k => k.Timestep).ToArray()));            // (clips, D)
        if (yEmbedder is not null)
            c = c + F.Concat(clips.Select(k => yEmbedder.Forward(k.Text.Unsqueeze(0), null)).ToArray(), 0); // (clips, D)
        var text = F.Concat(clips.Select(k => k.Text).ToArray(), 0).Unsqueeze(0);                  // (1, ΣL, Dt)
        var self = AttentionMask.Segments(segQ);
        var cross = new AttentionMask(null, segQ, segK);
        foreach (var block in blocks) tokens = block.Forward(tokens, c, text, (1, segQ.Length), self, cross, segQ);
        tokens = finalLayer.Forward(tokens, c, segQ);                                 // (1, N, pt·p·p·C')
        var outputs = new Tensor[clips.Count];
        for (int i = 0, start = 0; i < clips.Count; start += patches[i].Size(1), i++)
        {
            var (t, h, w) = grids[i];
            outputs[i] = Patchify.UnVideo(tokens.Slice(1, start, patches[i].Size(1)), Config.OutChannels, t, h, w,
                                          Config.PatchT, Config.Patch).Squeeze(0);   // (C', T, H, W)
        }
        return outputs;
    }

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
