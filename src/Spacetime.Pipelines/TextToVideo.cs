// TextToVideo: the sampling loop written out (diffusers' Wan pipeline, STYLE.md §8 example 6). This is the one place
// where the model and the sampler meet:
//     noise x (1, C, T, H, W) from the seed
//     for i in steps:   model(x, t) -> classifier-free guidance -> sampler.Step(i, ...)
//     decode the latent to frames
// The sampler never sees the model, only the delegate built here: (x_t (2B, ...), t (2B)) -> velocity, with the
// caption in the first half of the batch and the empty caption (or a negative prompt) in the second.
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Media;

namespace Spacetime.Pipelines;

/// <summary>What to generate.</summary>
/// <param name="Width">Width in pixels (divisible by the model's stride).</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Frames">Number of frames.</param>
/// <param name="Fps">Frame rate written into the video.</param>
/// <param name="Seed">Fixes the initial noise (and any sampler noise): same seed, same video.</param>
/// <param name="Steps">Sampler steps.</param>
/// <param name="Guidance">Classifier-free guidance scale (1: the conditional model alone).</param>
/// <param name="Negative">The unconditional branch's caption ("" is the learned null caption).</param>
public sealed record GenerateSettings(int Width, int Height, int Frames, double Fps, ulong Seed = 0, int Steps = 25,
                                     double Guidance = 4.0, string Negative = "");

/// <summary>Text-to-video sampling with a trained <see cref="TextVideoModel"/>. <paramref name="sampler"/> is a
/// sampler configuration (kind, grid shift, eta; e.g. <c>SamplerConfig.Presets["ddpm"]</c>) whose Steps are replaced
/// by <see cref="GenerateSettings.Steps"/>; <paramref name="path"/> defaults to rectified flow.</summary>
public sealed class TextToVideo(TextVideoModel model, SamplerConfig sampler, PathConfig? path = null)
{
    readonly IPath path = (path ?? PathConfig.Presets["RF"]).Create();

    /// <summary>Sampling with a sampler kind at its defaults (no shift, eta 0).</summary>
    public TextToVideo(TextVideoModel model, PathConfig? path = null,
                       SamplerKind sampler = SamplerKind.DpmSolverPlusPlus2M)
        : this(model, new SamplerConfig(sampler), path) { }

    /// <summary>Pixels per latent token side: sizes must divide by it.</summary>
    public int Stride => model.Latents.SpatialFactor * model.Dit.Config.Patch;

    /// <summary>The frame count nearest to <paramref name="frames"/> that the model's codec accepts (a 4x temporal
    /// VAE takes 1 + 4k frames).</summary>
    public int NearestFrames(int frames)
    {
        // the codec's accepted counts (1 + 4k for a 4x VAE) whose latent frame count divides by the time patch
        int pt = model.Dit.Config.PatchT, best = -1;
        for (int f = 1; f <= Math.Max(frames, 1) + 8 * pt * model.Latents.TemporalFactor; f++)
            if (model.Latents.NearestFrames(f) == f && model.Latents.LatentFrames(f) % pt == 0 &&
                (best < 0 || Math.Abs(f - frames) < Math.Abs(best - frames) ||
                 Math.Abs(f - frames) == Math.Abs(best - frames) && f > best))
                best = f;
        return best;
    }

    /// <summary>Which frame counts the model makes, in words ("1 + 4k frames", "multiples of 4 frames").</summary>
    public string FrameRule
    {
        get
        {
            int r = model.Latents.TemporalFactor, pt = model.Dit.Config.PatchT;
            return r > 1 ? (pt == 1 ? $"1 + {r}k frames" : $"1 + {r}k frames with k + 1 a multiple of {pt}")
                 : pt > 1 ? $"multiples of {pt} frames" : "any number of frames";
        }
    }

    /// <summary>Generates a video for <paramref name="prompt"/>; <paramref name="onStep"/> sees each finished step.</summary>
    public Frames Generate(string prompt, GenerateSettings s, Action<int>? onStep = null)
    {
        if (s.Width % Stride != 0 || s.Height % Stride != 0)
            throw new ArgumentException($"size {s.Width}x{s.Height}: width and height must divide by {Stride}.");
        if (s.Frames < 1 || s.Steps < 1)
            throw new ArgumentException($"frames {s.Frames} and steps {s.Steps} must be positive.");
        if (NearestFrames(s.Frames) != s.Frames)
            throw new ArgumentException($"frames {s.Frames}: this model makes {FrameRule}, e.g. {NearestFrames(s.Frames)}.");
        using var noGrad = Autograd.NoGrad();
        using var outer = TensorScope.Begin();
        var text = model.Text.Encode(prompt, s.Negative);                                  // (2, L, Dt): cond, uncond
        Func<Tensor, Tensor, Tensor> paired = (x, t) => model.Predict(x, t, text);        // (2, C, T, H, W)
        var guided = Guidance.ClassifierFree(paired, s.Guidance);                           // (1, ...) -> (1, ...)

        var solver = (sampler with { Steps = s.Steps }).Create(path);
        var rng = new Rng(s.Seed);
        int f = model.Latents.SpatialFactor, latentFrames = model.Latents.LatentFrames(s.Frames);
        var x = rng.Normal(1, model.Latents.Channels, latentFrames, s.Height / f, s.Width / f); // (1, C, T', h, w) noise
        Tensor? denoised = null;
        for (int i = 0; i < solver.Steps; i++)
        {
            using var scope = TensorScope.Begin();
            var step = solver.Step(i, x, guided, denoised, rng);                            // model -> CFG -> step
            (x, denoised) = (scope.Keep(step.Sample), scope.Keep(step.Denoised));
            onStep?.Invoke(i);
        }
        return model.Latents.Decode(x.Squeeze(0), s.Fps);                                  // (T, H, W, RGB)
    }
}
