// SDEdit video-to-video (Meng et al. 2022): noise the input to time t = strength and run the sampler from there, so
// strength 0 returns the input and strength 1 ignores it. The start is the first grid time at or below strength.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>SDEdit: where to start sampling from an input video.</summary>
public static class SdEdit
{
    /// <summary>The input (B, C, T, H, W) noised to the grid time nearest below <paramref name="strength"/>, and the
    /// step index to start the sampler loop at (Steps when strength is 0: nothing to run).</summary>
    public static (Tensor Start, int StartStep) Start(ISampler sampler, IPath path, Tensor latents, double strength, Rng rng)
    {
        if (!(strength >= 0 && strength <= 1))
            throw new ArgumentOutOfRangeException(nameof(strength), strength, "SdEdit: strength must be in [0, 1].");
        int i = 0;
        while (i < sampler.Steps && sampler.Times[i] > strength + 1e-9) i++;
        var noise = rng.Normal(latents.Shape.ToArray());
        return (path.Interpolate(latents, noise, sampler.Times[i]), i);
    }
}
