// DiagonalGaussian: the VAE posterior q(z | x) = N(mean, diag(exp(logvar))) (Kingma & Welling 2014; SD's
// DiagonalGaussianDistribution). The encoder's 2z output channels are split into mean and logvar; logvar is clamped to
// [-30, 20] as in SD, so exp never overflows and a collapsed variance cannot give -inf.
using Spacetime.Engine;

namespace Spacetime.Models.Vae;

/// <summary>A diagonal Gaussian over latents (B, z, T, h, w): sample, mode and KL to N(0, I).</summary>
public sealed class DiagonalGaussian
{
    /// <summary>Clamp range of the log-variance (SD's).</summary>
    public const float LogvarMin = -30f, LogvarMax = 20f;

    /// <summary>(B, z, T, h, w).</summary>
    public Tensor Mean { get; }
    /// <summary>(B, z, T, h, w), clamped to [LogvarMin, LogvarMax].</summary>
    public Tensor Logvar { get; }

    /// <summary>From encoder moments (B, 2z, T, h, w): the first z channels are the mean, the rest the
    /// log-variance.</summary>
    public DiagonalGaussian(Tensor moments)
    {
        var (mean, logvar) = moments.Chunk(2, dim: 1);                                 // each (B, z, T, h, w)
        Mean = mean;
        Logvar = F.Clamp(logvar, LogvarMin, LogvarMax);
    }

    /// <summary>mean + exp(logvar / 2) * eps, eps ~ N(0, I) from <paramref name="rng"/> (reparameterised).</summary>
    public Tensor Sample(Rng rng) => Mean + F.Exp(Logvar * 0.5f) * rng.Normal(Mean.Shape.ToArray());

    /// <summary>The most likely latent: the mean.</summary>
    public Tensor Mode() => Mean;

    /// <summary>KL(q || N(0, I)) = 0.5 * sum(mean^2 + var - 1 - logvar) over each sample's latent elements, averaged
    /// over the batch: a 0-d tensor (SD's kl(), then mean over the batch).</summary>
    public Tensor Kl()
    {
        var perElement = Mean * Mean + F.Exp(Logvar) - 1f - Logvar;                   // (B, z, T, h, w)
        return F.Sum(perElement) * (0.5f / Mean.Size(0));
    }
}
