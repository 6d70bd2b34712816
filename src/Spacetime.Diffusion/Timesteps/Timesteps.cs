// Time grids for sampling and the resolution-dependent timestep shift.
//
// Shift (Esser et al. 2024, "Scaling Rectified Flow Transformers" (SD3), §5.3.2; Open-Sora 1.2 applies it to video):
//     t' = s t / (1 + (s - 1) t),      s = sqrt(tokens / baseTokens).
// A video with more tokens carries the same image with more redundancy, so at the same t its signal-to-noise ratio is
// effectively higher: with n times the tokens, averaging n copies lowers the noise std by sqrt(n). The shift maps t so
// that, on the linear path, sigma/alpha is multiplied by s (t'/(1-t') = s t/(1-t)); it keeps t = 0 and t = 1 fixed
// and moves the steps toward the noisy end. s = 1 is no shift; SD3 uses s = 3 at 1024^2. The base is the token count
// the schedule was tuned at (e.g. 256 for a 16x16-token image).
namespace Spacetime.Diffusion;

/// <summary>Sampling time grids and the token-count timestep shift.</summary>
public static class Timesteps
{
    /// <summary>The shift s t / (1 + (s - 1) t); s &gt; 1 spends more time at high noise.</summary>
    public static double Shift(double t, double shift)
    {
        if (!(shift > 0)) throw new ArgumentOutOfRangeException(nameof(shift), shift, "Timesteps.Shift: the shift must be positive.");
        return shift * t / (1 + (shift - 1) * t);
    }

    /// <summary>The shift for a sequence of <paramref name="tokens"/> tokens: sqrt(tokens / baseTokens).</summary>
    public static double ShiftForTokens(int tokens, int baseTokens)
    {
        if (tokens < 1 || baseTokens < 1)
            throw new ArgumentOutOfRangeException(nameof(tokens), $"Timesteps.ShiftForTokens: token counts must be positive " +
                                                                  $"(tokens {tokens}, baseTokens {baseTokens}).");
        return Math.Sqrt((double)tokens / baseTokens);
    }

    /// <summary>
    /// The sampling grid: <paramref name="steps"/> + 1 decreasing times from 1 (noise) to 0 (data), uniform in t, then
    /// shifted. Step i of a sampler moves from grid[i] to grid[i + 1].
    /// </summary>
    public static double[] Grid(int steps, double shift = 1)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "Timesteps.Grid: need at least one step.");
        var t = new double[steps + 1];
        for (int i = 0; i <= steps; i++) t[i] = Shift(1 - (double)i / steps, shift);
        t[0] = 1;
        t[steps] = 0;                               // exact endpoints whatever the rounding
        return t;
    }
}
