// "Pixel-space latents": the stand-in for the video VAE in the thin end-to-end path. A video is area-downsampled by
// Factor in each spatial direction and its RGB bytes scaled to [-1, 1]; that small video IS the latent (C = 3, no
// temporal compression). It lets the trainer, the sampler loop and `generate` be built and tested before a trained
// VideoVae exists; the VAE-latent option replaces Encode/Decode and nothing else.
using Spacetime.Engine;
using Spacetime.Media;

namespace Spacetime.Pipelines;

/// <summary>Frames to and from pixel-space latents (3, T, H/Factor, W/Factor) in [-1, 1].</summary>
public sealed record PixelLatents(int Factor) : ILatentCodec
{
    /// <summary>Latent channels: RGB.</summary>
    public int Channels => 3;
    /// <inheritdoc/>
    public int SpatialFactor => Factor;
    /// <inheritdoc/>
    public int TemporalFactor => 1;

    // frames (T, H, W, RGB bytes) -> (3, T, H/f, W/f)
    /// <summary>The latent of a video whose width and height divide by Factor.</summary>
    public Tensor Encode(Frames frames)
    {
        if (frames.Height % Factor != 0 || frames.Width % Factor != 0)
            throw new ArgumentException($"PixelLatents: {frames.Width}x{frames.Height} does not divide by {Factor}.");
        return VideoTensors.ToVideo(Resize.Area(frames, frames.Height / Factor, frames.Width / Factor));
    }

    // latent (3, T, h, w) -> frames (T, h·f, w·f): clamp to [-1, 1], to bytes, area (nearest) upsampling
    /// <summary>The video of a latent, at Factor times its size.</summary>
    public Frames Decode(Tensor latent, double fps) =>
        Resize.Area(VideoTensors.ToFrames(latent, fps), latent.Size(2) * Factor, latent.Size(3) * Factor);
}
