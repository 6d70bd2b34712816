// "Pixel-space latents": the stand-in for the video VAE in the thin end-to-end path. A video is area-downsampled by
// Factor in each spatial direction and its RGB bytes scaled to [-1, 1]; that small video IS the latent (C = 3, no
// temporal compression). It lets the trainer, the sampler loop and `generate` be built and tested before a trained
// VideoVae exists; the VAE-latent option replaces Encode/Decode and nothing else.
using Spacetime.Engine;
using Spacetime.Media;

namespace Spacetime.Pipelines;

/// <summary>Frames to and from pixel-space latents (3, T, H/Factor, W/Factor) in [-1, 1].</summary>
public sealed record PixelLatents(int Factor)
{
    /// <summary>Latent channels: RGB.</summary>
    public int Channels => 3;

    // frames (T, H, W, RGB bytes) -> (3, T, H/f, W/f)
    /// <summary>The latent of a video whose width and height divide by Factor.</summary>
    public Tensor Encode(Frames frames)
    {
        if (frames.Height % Factor != 0 || frames.Width % Factor != 0)
            throw new ArgumentException($"PixelLatents: {frames.Width}x{frames.Height} does not divide by {Factor}.");
        int T = frames.Count, h = frames.Height / Factor, w = frames.Width / Factor;
        var small = Resize.Area(frames, h, w);
        var data = new float[3 * T * h * w];
        for (int t = 0; t < T; t++)
        {
            ReadOnlySpan<byte> rgb = small.Frame(t);
            for (int i = 0; i < h * w; i++)
                for (int c = 0; c < 3; c++)
                    data[((c * T + t) * h * w) + i] = rgb[i * 3 + c] / 127.5f - 1f;
        }
        return Tensor.From(data, 3, T, h, w);
    }

    // latent (3, T, h, w) -> frames (T, h·f, w·f): clamp to [-1, 1], to bytes, nearest-neighbour upsampling
    /// <summary>The video of a latent, at Factor times its size.</summary>
    public Frames Decode(Tensor latent, double fps)
    {
        int T = latent.Size(1), h = latent.Size(2), w = latent.Size(3);
        var data = latent.Contiguous().ToArray();
        var small = new Frames(T, h, w, fps);
        for (int t = 0; t < T; t++)
        {
            Span<byte> rgb = small.Frame(t);
            for (int i = 0; i < h * w; i++)
                for (int c = 0; c < 3; c++)
                {
                    float v = Math.Clamp(data[((c * T + t) * h * w) + i], -1f, 1f);
                    rgb[i * 3 + c] = (byte)MathF.Round((v + 1f) * 127.5f);
                }
        }
        return Resize.Area(small, h * Factor, w * Factor);
    }
}
