// VaeLoss: the objective the VAE trains on (SD's LPIPSWithDiscriminator without LPIPS; the perceptual net would need
// pretrained weights we do not have):
//   total = L1(x, x_rec) + KlWeight * KL / (pixel values per sample) + AdversarialWeight * (-mean D(x_rec))
// L1 is the mean over pixel values (or the mean squared error, VaeReconstruction.Mse: a VAE that starts as the pixel
// codec, VideoVaeConfig.Shortcut, is exact on flat regions, and L1's kink there holds its output layer at zero).
// KL is per sample (summed over latent elements, averaged over the batch) and is divided by the pixel values per
// sample, so KlWeight = 1e-6 keeps SD's ratio (its losses are sums over pixels and latents with kl_weight 1e-6) at any
// resolution. The adversarial term is a hinge GAN (VQGAN) with a fixed weight (no adaptive weight); it is off by
// default, and its discriminator learns from DiscriminatorLoss. The generator term also leaves gradients on the
// discriminator's parameters: zero them before the discriminator's own step.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>The parts of the VAE loss (0-d tensors); <see cref="Total"/> is what to backpropagate.</summary>
/// <param name="Total">Reconstruction + KlWeight * Kl / pixel values + AdversarialWeight * Adversarial.</param>
/// <param name="Reconstruction">Mean absolute (or squared, <see cref="VaeReconstruction.Mse"/>) error over pixel values.</param>
/// <param name="Kl">KL(q || N(0, I)) per sample, summed over latent elements.</param>
/// <param name="Adversarial">The generator's hinge term -mean D(x_rec), or null when the GAN is off.</param>
public sealed record VaeLossParts(Tensor Total, Tensor Reconstruction, Tensor Kl, Tensor? Adversarial);

/// <summary>The reconstruction term of the VAE objective.</summary>
public enum VaeReconstruction
{
    /// <summary>Mean absolute error (SD's VAE).</summary>
    L1,
    /// <summary>Mean squared error: smooth at zero error, so a VAE that starts exact on most pixels can still move.</summary>
    Mse,
}

/// <summary>Weights of the VAE objective: L1 (or MSE) reconstruction + KL (+ optional adversarial term).</summary>
/// <param name="KlWeight">Weight of the KL per pixel value (SD's kl_weight, 1e-6).</param>
/// <param name="AdversarialWeight">Weight of the generator's GAN term; 0 turns the discriminator off (default).</param>
/// <param name="Distance">The reconstruction term: L1 (default) or MSE.</param>
/// <param name="TemporalWeight">λ of the temporal-difference term on the reconstruction error
/// (Losses.TemporalDifference: the squared change of the error between neighbouring frames), aimed at the jump where
/// one latent frame's four frames meet the next's; 0: none.</param>
public sealed record VaeLoss(float KlWeight = 1e-6f, float AdversarialWeight = 0f,
                             VaeReconstruction Distance = VaeReconstruction.L1, float TemporalWeight = 0f)
{
    /// <summary>The VAE's loss for <paramref name="video"/> (B, 3, T, H, W), its reconstruction and posterior;
    /// <paramref name="discriminator"/> is needed when AdversarialWeight &gt; 0.</summary>
    public VaeLossParts Compute(Tensor video, Tensor reconstruction, DiagonalGaussian posterior,
                                PatchDiscriminator? discriminator = null)
    {
        var rec = Distance == VaeReconstruction.Mse ? F.MseLoss(reconstruction, video)  // ()
                                                    : F.L1Loss(reconstruction, video);
        var kl = posterior.Kl();                                                         // ()
        var total = rec + kl * (KlWeight * video.Size(0) / video.Count);
        if (TemporalWeight > 0 && Losses.TemporalDifference(reconstruction - video) is { } temporal)
            total = total + temporal * TemporalWeight;
        if (AdversarialWeight <= 0) return new VaeLossParts(total, rec, kl, null);
        if (discriminator is null)
            throw new ArgumentException("VaeLoss: AdversarialWeight > 0 needs a PatchDiscriminator.");
        var adv = -F.Mean(discriminator.Forward(reconstruction));                       // ()
        return new VaeLossParts(total + adv * AdversarialWeight, rec, kl, adv);
    }

    /// <summary>Hinge loss of the discriminator: mean relu(1 - D(real)) + mean relu(1 + D(fake)), with the
    /// reconstruction detached so only the discriminator learns from it.</summary>
    public static Tensor DiscriminatorLoss(PatchDiscriminator discriminator, Tensor video, Tensor reconstruction)
    {
        var real = discriminator.Forward(video);                                         // (B·T, 1, h, w)
        var fake = discriminator.Forward(reconstruction.Detach());                       // (B·T, 1, h, w)
        return F.Mean(F.Relu(1f - real)) + F.Mean(F.Relu(1f + fake));
    }
}
