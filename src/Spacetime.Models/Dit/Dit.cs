// The class-conditional image DiT, exactly as the reference (facebookresearch/DiT models.py, class DiT): patch
// embedding + fixed 2-D sin-cos positions, timestep and label embedders summed into c, adaLN-Zero blocks, final
// layer, unpatchify; learned sigma doubles the output channels. State-dict keys are the reference's, so a converted
// checkpoint loads with `spacetime model import`. The video model (VideoDit) shares its blocks.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>Diffusion transformer over image latents, conditioned on a timestep and a class label.</summary>
public sealed class Dit : Module
{
    /// <summary>The configuration it was built with.</summary>
    public DitConfig Config { get; }
    /// <summary>Latent height and width the position table was built for (the reference's input_size).</summary>
    public int InputSize { get; }

    readonly PatchEmbed xEmbedder;
    readonly TimestepEmbedder tEmbedder;
    readonly LabelEmbedder yEmbedder;
    readonly Tensor posEmbed;              // (1, N, D), fixed sin-cos (a parameter without gradient, as in the reference)
    readonly ModuleList<DitBlock> blocks;
    readonly FinalLayer finalLayer;

    /// <summary>Builds the model for latents of inputSize x inputSize and initialises it as the reference does.</summary>
    public Dit(DitConfig cfg, int inputSize, ulong seed = 0)
    {
        cfg.Validate();
        if (inputSize % cfg.Patch != 0)
            throw new ArgumentException($"Dit: input size {inputSize} does not divide by patch {cfg.Patch}.");
        (Config, InputSize) = (cfg, inputSize);
        var rng = new Rng(seed);
        int grid = inputSize / cfg.Patch;
        xEmbedder = Add("x_embedder", new PatchEmbed(cfg.InChannels, cfg.Hidden, cfg.Patch, 1, video: false));
        tEmbedder = Add("t_embedder", new TimestepEmbedder(cfg.Hidden, rng));
        yEmbedder = Add("y_embedder", new LabelEmbedder(cfg.NumClasses, cfg.Hidden, cfg.ClassDropoutProb));
        posEmbed = Buffer("pos_embed", Tensor.From(PosEmbed.SinCos2d(cfg.Hidden, grid, grid), 1, grid * grid, cfg.Hidden));
        blocks = Add("blocks", new ModuleList<DitBlock>(Enumerable.Range(0, cfg.Depth).Select(_ => new DitBlock(cfg, rng))));
        finalLayer = Add("final_layer", new FinalLayer(cfg.Hidden, cfg.Patch * cfg.Patch * cfg.OutChannels, rng));
        InitializeWeights(rng);
    }

    // x: (B, C, H, W) latents   t: (B) timesteps   y: (B) labels (NumClasses = null label)
    /// <summary>Predicts noise (and variance when LearnSigma): (B, OutChannels, H, W).</summary>
    public Tensor Forward(Tensor x, Tensor t, int[] y, Rng? dropRng = null)
    {
        int h = x.Size(2) / Config.Patch, w = x.Size(3) / Config.Patch;
        var tokens = xEmbedder.Forward(x) + posEmbed;                              // (B, N, D)
        var c = tEmbedder.Forward(t) + yEmbedder.Forward(y, dropRng);              // (B, D)
        foreach (var block in blocks) tokens = block.Forward(tokens, c);           // (B, N, D)
        tokens = finalLayer.Forward(tokens, c);                                    // (B, N, p·p·outC)
        return Patchify.UnImage(tokens, Config.OutChannels, h, w, Config.Patch);  // (B, outC, H, W)
    }

    /// <summary>Parameters as the reference counts them: every tensor of the state dict, pos_embed included.</summary>
    public long ReferenceParameterCount => StateDict().Values.Sum(t => (long)t.Count);

    // The reference's initialize_weights: xavier linears, zero biases, xavier patch projection, N(0, 0.02) label
    // table and timestep MLP, then zero the adaLN regressions (blocks become identities) and the final layer.
    void InitializeWeights(Rng rng)
    {
        using var _ = Autograd.NoGrad();
        xEmbedder.InitializeWeights(rng);
        Init.Normal(yEmbedder.Table, rng, 0f, 0.02f);
        tEmbedder.InitializeWeights(rng);
        foreach (var block in blocks) block.InitializeWeights(rng);
        finalLayer.InitializeWeights();
    }
}
