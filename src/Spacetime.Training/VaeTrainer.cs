// VaeTrainer: the causal video VAE as a training task (the loop is Trainer.Run). One micro-batch: B world clips
// rendered at the recipe's size, a random window of Frames frames and a random Crop x Crop square of each (the VAE is
// convolutional: it trains on crops and runs on whole frames; of CropChoices random crops the one with the most edges
// is kept, since a flat crop teaches nothing), the recipe's reconstruction loss + KL. Logged: the L1, the KL
// and the PSNR of the reconstruction. The exported folder is a VaeCheckpoint whose LatentScale is measured on fixed
// whole clips at every checkpoint (1 / std of their latent means), ready for `train dit --vae DIR`.
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Nn;
using Spacetime.Pipelines;
using Spacetime.Training.Distributed;
using Spacetime.World;

namespace Spacetime.Training;

/// <summary>A VAE recipe: the network, and the world clips and crops it trains on.</summary>
/// <param name="Vae">The network.</param>
/// <param name="Width">Width the clips are rendered at (the objects' scale is the one generation uses).</param>
/// <param name="Height">Height the clips are rendered at.</param>
/// <param name="Seconds">Length of the rendered clip; each sample is a random window of it.</param>
/// <param name="Fps">Frame rate.</param>
/// <param name="Frames">Frames per training window (1 + 4k for a 4x temporal VAE).</param>
/// <param name="Crop">Side of the square crop trained on.</param>
/// <param name="Loss">The objective's weights.</param>
/// <param name="SampleLatent">Decode a posterior sample (SD) rather than its mode. With SD's KL weight the sample's
/// unit noise at initialisation swamps the latent for hundreds of steps before the encoder learns to shrink its
/// variance; a short CPU run decodes the mode (a deterministic autoencoder, the KL term a light pull on the means).</param>
/// <param name="CropChoices">Random crops drawn per sample; the one with the largest mean absolute difference between
/// neighbouring pixels (its edges) is trained on. 1: a plain random crop.</param>
/// <param name="DecoderOnly">Fine-tune the decoder of a trained VAE (`train vae --init DIR`), its encoder frozen: the
/// latents, and so every DiT, captioner and latent cache made with that VAE, stay exactly as they were, and the
/// decoded videos get better.</param>
public sealed record VaeRecipe(VideoVaeConfig Vae, int Width, int Height, double Seconds, double Fps, int Frames, int Crop,
                               VaeLoss Loss, bool SampleLatent = false, int CropChoices = 1, bool DecoderOnly = false)
{
    // declared before Presets, which uses it (static initialisers run in text order)
    static readonly VaeRecipe World = new(VideoVaeConfig.Presets["world-p2"], 128, 128, 2, 8, 9, 64,
                                          new VaeLoss(Distance: VaeReconstruction.Mse), CropChoices: 4);

    /// <summary>The recipes by name.</summary>
    public static IReadOnlyDictionary<string, VaeRecipe> Presets { get; } =
        new Dictionary<string, VaeRecipe>(StringComparer.OrdinalIgnoreCase)
        {
            // tests: 8-16 channels, 4x spatial, 4x temporal, on 16x16 crops of 32x32 clips
            ["tiny"] = new(new VideoVaeConfig { BaseChannels = 8, ChannelMultipliers = [1, 2, 2], NormGroups = 4 },
                           32, 32, 1, 8, 5, 16, new VaeLoss()),
            // the world VAE (VideoVaeConfig preset "world-p2": 2x2 pixel folding, 32-64-128 channels, 8x8 spatial and
            // 4x temporal compression, z = 16, per-frame GroupNorm, the residual shortcut), MSE, on 64x64 crops of 9-frame windows of
            // 128x128 clips, each the edgiest of 4 random crops. Chosen by measurement among 17 designs trained side by
            // side (bench/vae-lab/README.md); the previous design (per-frame GroupNorm at full resolution, 32x32 crops, no
            // folding) stalled near 24 dB.
            ["world"] = World,
            // the world VAE's decoder trained on from a trained world VAE (`--init`), the encoder frozen, so that a model
            // in its latents decodes better without retraining (models/spacetime/vae/README.md)
            ["world-decoder"] = World with { DecoderOnly = true },
            // the same with the temporal-difference term at λ = 1 (VaeLoss.TemporalWeight): the decoder's errors that
            // change between frames, as at the seams where latent frames meet, weigh up to 5x (session 40)
            ["world-decoder-temporal"] = World with { DecoderOnly = true,
                                                      Loss = World.Loss with { TemporalWeight = 1 } },
        };

    /// <summary>The recipe called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static VaeRecipe Preset(string name) => Presets.TryGetValue(name, out var r) ? r
        : throw new ArgumentException($"unknown VAE recipe '{name}'; known: {string.Join(", ", Presets.Keys)}");
}

/// <summary>Trains the video VAE on world clips rendered on the fly.</summary>
public static class VaeTrainer
{
    /// <summary>Trains into <paramref name="dir"/> (a VaeCheckpoint folder plus train/ and loss.csv), resuming from
    /// its checkpoint when there is one; <paramref name="comm"/>: the ranks of a data-parallel run (Trainer.Run).
    /// <paramref name="init"/>: a new run starts from this trained VAE (the recipe's config, its LatentScale aside);
    /// a DecoderOnly recipe needs one.</summary>
    public static TrainResult Train(VaeRecipe recipe, TrainConfig cfg, string dir, Action<TrainProgress>? progress = null,
                                    int? stopAt = null, Communicator? comm = null, VideoVae? init = null)
    {
        // a DecoderOnly run that resumes takes its latent space (scale, channel normalisation) from its own export,
        // written with every checkpoint; the checkpoint then restores the weights
        if (recipe.DecoderOnly && Trainer.HasCheckpoint(dir)) init = VaeCheckpoint.Load(dir);
        return Trainer.Run(NewTask(recipe, cfg, init), cfg, dir, progress, stopAt, comm);
    }

    // the recipe checked, and a VAE (fresh, with weights from the seed, or a copy of `init`) as a task; a DecoderOnly
    // recipe's encoder is frozen (no gradient, so AdamW never moves it), also when the run resumes
    internal static VaeTask NewTask(VaeRecipe recipe, TrainConfig cfg, VideoVae? init = null)
    {
        cfg.Validate();
        recipe.Vae.Validate();
        var clip = new ClipSettings(0, recipe.Width, recipe.Height, recipe.Seconds, recipe.Fps);
        clip.Validate();
        int f = recipe.Vae.SpatialCompression, r = recipe.Vae.TemporalCompression;
        if (recipe.Crop % f != 0 || recipe.Crop > Math.Min(recipe.Width, recipe.Height) || (recipe.Frames - 1) % r != 0 ||
            recipe.Frames > clip.FrameCount || recipe.CropChoices < 1)
            throw new ArgumentException($"VAE recipe: crop {recipe.Crop} must divide by {f} and fit in " +
                                        $"{recipe.Width}x{recipe.Height}; frames {recipe.Frames} must be 1 + {r}k and at " +
                                        $"most the clip's {clip.FrameCount}; crop choices {recipe.CropChoices} >= 1");
        if (recipe.DecoderOnly && init is null)
            throw new ArgumentException("this recipe fine-tunes a trained VAE's decoder: give the VAE to start from " +
                                        "(--init DIR, e.g. models/spacetime/vae)");
        // LatentScale and the channel normalisation are measured, not designed: any values fit; everything else must be
        // the recipe's. A DecoderOnly run keeps them (the same encoder, so the same latents); a whole run measures anew.
        static VideoVaeConfig Design(VideoVaeConfig c) => c with { LatentScale = 1, ChannelMean = null, ChannelStd = null };
        if (init is not null && Design(init.Config).ToJson() != Design(recipe.Vae).ToJson())
            throw new ArgumentException("--init: that VAE's config is not this recipe's (train it with the recipe " +
                                        "that made it, e.g. world-decoder for a world VAE)");
        var vae = new VideoVae(recipe.DecoderOnly ? init!.Config : recipe.Vae, new Rng(cfg.Seed));
        if (init is not null) vae.LoadStateDict(init.StateDict());
        if (recipe.DecoderOnly)
            foreach (var (name, p) in vae.NamedParameters())
                if (name.StartsWith(VideoVae.EncoderPrefix, StringComparison.Ordinal)) p.RequiresGrad = false;
        return new VaeTask(recipe, cfg, vae);
    }

    /// <summary>PSNR in dB of a reconstruction of video in [-1, 1] (peak-to-peak 2): 10 log10(4 / MSE).</summary>
    public static float Psnr(Tensor video, Tensor reconstruction)
    {
        var d = (F.Clamp(reconstruction, -1f, 1f) - video).ToArray();
        double mse = d.Average(v => (double)v * v);
        return (float)(10 * Math.Log10(4 / Math.Max(mse, 1e-12)));
    }

    internal sealed class VaeTask(VaeRecipe recipe, TrainConfig cfg, VideoVae vae) : ITrainTask
    {
        const long DataSalt = 0x5AE;       // the VAE's clips are not the DiT's clips of the same seed

        public Module Model => vae;
        public IReadOnlyList<string> Metrics => [recipe.Loss.Distance.ToString().ToLowerInvariant(), "kl", "psnr"];

        public (Tensor Loss, float[] Metrics) Loss(int step, int micro, Rng rng)
        {
            var video = Batch(step, micro, rng);                                             // (B, 3, T, c, c)
            OpProfile.MarkCurrent();                                    // rendering the clips is no op's time
            var (reconstruction, posterior) = vae.Forward(video, recipe.SampleLatent ? rng : null);
            var parts = recipe.Loss.Compute(video, reconstruction, posterior);
            float psnr;
            using (Autograd.NoGrad()) psnr = Psnr(video, reconstruction);
            return (parts.Total, [parts.Reconstruction.Item(), parts.Kl.Item(), psnr]);
        }

        // B clips (world seeds DeriveSeed(seed ^ salt, (step·M + micro)·B + i), M the micro-batches per step over all
        // ranks), each a window and crop: the edgiest of CropChoices random ones. These are the first draws of `rng`,
        // so the batch of a step can be drawn again outside the loop (TrainParity)
        internal Tensor Batch(int step, int micro, Rng rng)
        {
            int T = recipe.Frames, c = recipe.Crop;
            var parts = new Tensor[cfg.Batch];
            long first = ((long)step * cfg.MicroBatches + micro) * cfg.Batch;
            for (int i = 0; i < cfg.Batch; i++)
            {
                var clip = WorldClip.Render(new ClipSettings(WorldClip.DeriveSeed((long)cfg.Seed ^ DataSalt, first + i),
                                                             recipe.Width, recipe.Height, recipe.Seconds, recipe.Fps));
                var video = VideoTensors.ToVideo(clip.Frames);                               // (3, Tc, H, W)
                var pixels = recipe.CropChoices > 1 ? video.ToArray() : null;
                (int T0, int Y0, int X0) best = default;
                double bestEdges = double.NegativeInfinity;
                for (int k = 0; k < recipe.CropChoices; k++)
                {
                    var w = (rng.NextInt(clip.Frames.Count - T + 1), rng.NextInt(recipe.Height - c + 1),
                             rng.NextInt(recipe.Width - c + 1));
                    double edges = pixels is null ? 0 : EdgeContent(pixels, clip.Frames.Count, recipe.Height,
                                                                    recipe.Width, w, T, c);
                    if (edges > bestEdges) (best, bestEdges) = (w, edges);
                }
                parts[i] = video.Slice(1, best.T0, T).Slice(2, best.Y0, c).Slice(3, best.X0, c)
                                .Unsqueeze(0);                                                // (1, 3, T, c, c)
            }
            return F.Concat(parts, 0);
        }

        // Mean |difference| between horizontally and vertically neighbouring pixels of a (3, T, c, c) window of the
        // (3, Tc, H, W) video at (t0, y0, x0): 0 for a flat crop, larger the more object edges it holds.
        static double EdgeContent(float[] v, int tc, int h, int w, (int T0, int Y0, int X0) at, int T, int c)
        {
            double sum = 0;
            for (int ch = 0; ch < 3; ch++)
                for (int t = at.T0; t < at.T0 + T; t++)
                    for (int y = at.Y0; y < at.Y0 + c; y++)
                    {
                        long row = (((long)ch * tc + t) * h + y) * w;
                        for (int x = at.X0; x < at.X0 + c; x++)
                        {
                            if (x + 1 < at.X0 + c) sum += Math.Abs(v[row + x + 1] - v[row + x]);
                            if (y + 1 < at.Y0 + c) sum += Math.Abs(v[row + w + x] - v[row + x]);
                        }
                    }
            return sum / (3.0 * T * c * c);
        }

        // the VAE folder, with LatentScale measured on the posterior means of 8 fixed whole clips (a DecoderOnly run
        // keeps its start's scale and channel normalisation: the same encoder, and a scale measured on other clips
        // would change every latent)
        public void Export(string dir)
        {
            if (recipe.DecoderOnly)
            {
                VaeCheckpoint.Save(vae, dir);
                return;
            }
            using var noGrad = Autograd.NoGrad();
            using var scope = TensorScope.Begin();
            var means = new Tensor[8];
            for (int i = 0; i < means.Length; i++)
            {
                var clip = WorldClip.Render(new ClipSettings(WorldClip.DeriveSeed(0x5CA1E, i), recipe.Width,
                                                             recipe.Height, recipe.Frames / recipe.Fps, recipe.Fps));
                means[i] = vae.Encode(VideoTensors.ToVideo(clip.Frames).Unsqueeze(0)).Mode();   // (1, z, T', h, w)
            }
            VaeCheckpoint.Save(vae, dir, VideoVae.MeasureLatentScale(F.Concat(means, 0)));
        }
    }
}
