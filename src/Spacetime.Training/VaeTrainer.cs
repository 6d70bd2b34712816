// VaeTrainer: the causal video VAE as a training task (the loop is Trainer.Run). One micro-batch: B world clips
// rendered at the recipe's size, a random window of Frames frames and a random Crop x Crop square of each (the VAE is
// convolutional: it trains on crops and runs on whole frames), L1 + KL on a posterior sample. Logged: the L1, the KL
// and the PSNR of the reconstruction. The exported folder is a VaeCheckpoint whose LatentScale is measured on fixed
// whole clips at every checkpoint (1 / std of their latent means), ready for `train dit --vae DIR`.
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Nn;
using Spacetime.Pipelines;
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
public sealed record VaeRecipe(VideoVaeConfig Vae, int Width, int Height, double Seconds, double Fps, int Frames, int Crop,
                               VaeLoss Loss, bool SampleLatent = false)
{
    /// <summary>The recipes by name.</summary>
    public static IReadOnlyDictionary<string, VaeRecipe> Presets { get; } =
        new Dictionary<string, VaeRecipe>(StringComparer.OrdinalIgnoreCase)
        {
            // tests: 8-16 channels, 4x spatial, 4x temporal, on 16x16 crops of 32x32 clips
            ["tiny"] = new(new VideoVaeConfig { BaseChannels = 8, ChannelMultipliers = [1, 2, 2], NormGroups = 4 },
                           32, 32, 1, 8, 5, 16, new VaeLoss()),
            // the shipped VAE: 16-32-64 channels, 4x4 spatial and 4x temporal compression, z = 4, the residual
            // shortcut (the latent's first 3 channels carry the area means, so it starts as the pixel codec), trained
            // on 32x32 crops of 5-frame windows of 128x128 clips. Without the shortcut it stalled at ~17 dB: a 32x32
            // crop is mostly flat background, and the per-frame GroupNorm before conv_out removes a flat region's
            // level, so its colour can only leak in from the zero-padded borders. MSE, not L1: starting as the pixel
            // codec it is exact on the flat pixels, where L1's kink pins the decoder's conv_out at zero (its Adam
            // steps cancelled, |m| / sqrt(v) ~ 0.03; with MSE ~ 0.2 and the layer moves).
            ["world"] = new(new VideoVaeConfig { BaseChannels = 16, ChannelMultipliers = [1, 2, 4], NormGroups = 8,
                                                 Shortcut = true },
                            128, 128, 2, 8, 5, 32, new VaeLoss(Distance: VaeReconstruction.Mse)),
        };

    /// <summary>The recipe called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static VaeRecipe Preset(string name) => Presets.TryGetValue(name, out var r) ? r
        : throw new ArgumentException($"unknown VAE recipe '{name}'; known: {string.Join(", ", Presets.Keys)}");
}

/// <summary>Trains the video VAE on world clips rendered on the fly.</summary>
public static class VaeTrainer
{
    /// <summary>Trains into <paramref name="dir"/> (a VaeCheckpoint folder plus train/ and loss.csv), resuming from
    /// its checkpoint when there is one.</summary>
    public static TrainResult Train(VaeRecipe recipe, TrainConfig cfg, string dir, Action<TrainProgress>? progress = null,
                                    int? stopAt = null) =>
        Trainer.Run(NewTask(recipe, cfg), cfg, dir, progress, stopAt);

    // the recipe checked, and a fresh VAE (weights from the seed) as a task
    internal static VaeTask NewTask(VaeRecipe recipe, TrainConfig cfg)
    {
        cfg.Validate();
        recipe.Vae.Validate();
        var clip = new ClipSettings(0, recipe.Width, recipe.Height, recipe.Seconds, recipe.Fps);
        clip.Validate();
        int f = recipe.Vae.SpatialCompression, r = recipe.Vae.TemporalCompression;
        if (recipe.Crop % f != 0 || recipe.Crop > Math.Min(recipe.Width, recipe.Height) || (recipe.Frames - 1) % r != 0 ||
            recipe.Frames > clip.FrameCount)
            throw new ArgumentException($"VAE recipe: crop {recipe.Crop} must divide by {f} and fit in " +
                                        $"{recipe.Width}x{recipe.Height}; frames {recipe.Frames} must be 1 + {r}k and at " +
                                        $"most the clip's {clip.FrameCount}");
        return new VaeTask(recipe, cfg, new VideoVae(recipe.Vae, new Rng(cfg.Seed)));
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
            var (reconstruction, posterior) = vae.Forward(video, recipe.SampleLatent ? rng : null);
            var parts = recipe.Loss.Compute(video, reconstruction, posterior);
            float psnr;
            using (Autograd.NoGrad()) psnr = Psnr(video, reconstruction);
            return (parts.Total, [parts.Reconstruction.Item(), parts.Kl.Item(), psnr]);
        }

        // B clips (world seeds DeriveSeed(seed ^ salt, (step·A + micro)·B + i)), each a random window and crop; the
        // first draws of `rng`, so the batch of a step can be drawn again outside the loop (TrainParity)
        internal Tensor Batch(int step, int micro, Rng rng)
        {
            int T = recipe.Frames, c = recipe.Crop;
            var parts = new Tensor[cfg.Batch];
            long first = ((long)step * cfg.Accumulate + micro) * cfg.Batch;
            for (int i = 0; i < cfg.Batch; i++)
            {
                var clip = WorldClip.Render(new ClipSettings(WorldClip.DeriveSeed((long)cfg.Seed ^ DataSalt, first + i),
                                                             recipe.Width, recipe.Height, recipe.Seconds, recipe.Fps));
                int t0 = rng.NextInt(clip.Frames.Count - T + 1);
                int y0 = rng.NextInt(recipe.Height - c + 1), x0 = rng.NextInt(recipe.Width - c + 1);
                var video = VideoTensors.ToVideo(clip.Frames);                               // (3, Tc, H, W)
                parts[i] = video.Slice(1, t0, T).Slice(2, y0, c).Slice(3, x0, c).Unsqueeze(0); // (1, 3, T, c, c)
            }
            return F.Concat(parts, 0);
        }

        // the VAE folder, with LatentScale measured on the posterior means of 8 fixed whole clips
        public void Export(string dir)
        {
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
