// PatchDiscriminator: a small PatchGAN (Isola et al. 2017; the discriminator of VQGAN and SD's autoencoder, scaled
// down) that scores each frame's overlapping patches as real or reconstructed. Frames are judged one by one (B·T
// images), so it adds no temporal receptive field. Layout: conv 4x4 s2 -> LeakyReLU(0.2) -> conv 4x4 s2 -> GroupNorm
// -> LeakyReLU(0.2) -> conv 3x3 -> one logit per patch. Used only when VaeLoss.AdversarialWeight > 0; it is trained
// with its own optimizer and saved apart from the VAE.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>Per-frame patch discriminator for the VAE's optional adversarial loss.</summary>
public sealed class PatchDiscriminator : Module
{
    readonly Conv2d conv1, conv2, convOut;
    readonly GroupNorm norm2;

    /// <summary>A discriminator with <paramref name="channels"/> and 2 x channels hidden channels.</summary>
    public PatchDiscriminator(Rng rng, int channels = 32)
    {
        conv1 = Add("conv1", new Conv2d(3, channels, (4, 4), rng, (2, 2), (1, 1)));
        conv2 = Add("conv2", new Conv2d(channels, 2 * channels, (4, 4), rng, (2, 2), (1, 1)));
        norm2 = Add("norm2", new GroupNorm(Math.Min(32, 2 * channels), 2 * channels));
        convOut = Add("conv_out", new Conv2d(2 * channels, 1, (3, 3), rng, padding: (1, 1)));
    }

    // video: (B, 3, T, H, W) -> logits (B·T, 1, H / 4, W / 4)
    /// <summary>Real/fake logits for each patch of each frame.</summary>
    public Tensor Forward(Tensor video)
    {
        int b = video.Size(0), t = video.Size(2), h = video.Size(3), w = video.Size(4);
        var x = video.Permute(0, 2, 1, 3, 4).Reshape(b * t, 3, h, w);               // (B·T, 3, H, W)
        x = LeakyRelu(conv1.Forward(x));                                            // (B·T, C, H / 2, W / 2)
        x = LeakyRelu(norm2.Forward(conv2.Forward(x)));                             // (B·T, 2C, H / 4, W / 4)
        return convOut.Forward(x);                                                  // (B·T, 1, H / 4, W / 4)
    }

    static Tensor LeakyRelu(Tensor x) => F.Relu(x) - F.Relu(-x) * 0.2f;             // max(x, 0.2 x)
}
