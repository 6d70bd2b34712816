// Training-time sampling of t in (0, 1]. Uniform is DDPM's choice (every timestep equally often). Logit-normal,
// t = sigmoid(m + s n) with n ~ N(0, 1), puts more training on the middle of the path, where the velocity is hardest
// to predict; SD3 (Esser et al. 2024, §3.1) found logit-normal(0, 1) the best of the samplers they compared for
// rectified flow. Either can be shifted (Timesteps.Shift) to train on the noise levels a larger size samples at.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>How training times are drawn.</summary>
public enum TimestepSampling
{
    /// <summary>t uniform in (0, 1].</summary>
    Uniform,
    /// <summary>t = sigmoid(Mean + Std n), n standard normal.</summary>
    LogitNormal,
}

/// <summary>A training-time sampler of t.</summary>
/// <param name="Sampling">Uniform or logit-normal (default: logit-normal, as SD3 for rectified flow).</param>
/// <param name="Mean">Logit-normal location m (0: centred on t = 0.5).</param>
/// <param name="Std">Logit-normal scale s (1 as in SD3).</param>
/// <param name="Shift">Timestep shift applied after drawing (1: none); see <see cref="Timesteps.Shift"/>.</param>
public sealed record TimestepSampler(
    TimestepSampling Sampling = TimestepSampling.LogitNormal,
    double Mean = 0,
    double Std = 1,
    double Shift = 1)
{
    /// <summary>Named samplers.</summary>
    public static IReadOnlyDictionary<string, TimestepSampler> Presets { get; } = new Dictionary<string, TimestepSampler>
    {
        ["uniform"] = new(TimestepSampling.Uniform),               // DDPM, DiT
        ["logit-normal"] = new(),                                  // SD3's lognorm(0, 1)
    };

    /// <summary>Draws <paramref name="batch"/> times, shape (B), each in (0, 1].</summary>
    public Tensor Sample(int batch, Rng rng)
    {
        var t = new float[batch];
        for (int i = 0; i < batch; i++)
        {
            double u = Sampling == TimestepSampling.Uniform
                ? 1 - rng.NextFloat()                                      // (0, 1]: t = 0 (no noise) teaches nothing
                : 1 / (1 + Math.Exp(-(Mean + Std * rng.NextNormal())));
            t[i] = (float)Math.Clamp(Timesteps.Shift(u, Shift), 1e-6, 1.0);
        }
        return Tensor.From(t, batch);
    }
}
