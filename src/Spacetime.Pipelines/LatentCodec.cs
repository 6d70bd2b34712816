// ILatentCodec: how frames become the latents a DiT works on and back. Two codecs: PixelLatents (area-downsampled
// RGB, no learned weights; the smoke-test stand-in) and VaeLatents (the trained causal video VAE, MISSION item 1).
// A codec fixes the spatial stride (pixels per latent cell) and which frame counts it accepts (a 4x-in-time VAE takes
// 1 + 4k frames); NearestFrames rounds a request to one it accepts.
using Spacetime.Data;
using Spacetime.Engine;
using Spacetime.Media;
using Spacetime.Models.Vae;

namespace Spacetime.Pipelines;

/// <summary>Frames to latents (C, T', h, w) and back.</summary>
public interface ILatentCodec
{
    /// <summary>Latent channels C.</summary>
    int Channels { get; }
    /// <summary>Pixels per latent cell along each spatial side.</summary>
    int SpatialFactor { get; }
    /// <summary>Video frames per latent frame after the first (1: none; 4: a 4x temporal VAE).</summary>
    int TemporalFactor { get; }
    /// <summary>The latent (C, T', H / f, W / f) of a video whose size and frame count the codec accepts.</summary>
    Tensor Encode(Frames frames);
    /// <summary>The video of a latent (C, T', h, w).</summary>
    Frames Decode(Tensor latent, double fps);
}

/// <summary>Frame-count arithmetic of a codec: its <see cref="LatentGeometry"/> (the one owner of that arithmetic).
/// </summary>
public static class LatentCodecs
{
    /// <summary>The codec's geometry with DiT patches of <paramref name="patchT"/> latent frames and
    /// <paramref name="patch"/> x <paramref name="patch"/> latent pixels (1, 1: the codec alone).</summary>
    public static LatentGeometry Geometry(this ILatentCodec c, int patchT = 1, int patch = 1) =>
        new(c.TemporalFactor, c.SpatialFactor, patchT, patch, patch, CausalTime: true);

    /// <summary>Latent frames for <paramref name="frames"/> video frames: 1 + ceil((frames - 1) / r).</summary>
    public static int LatentFrames(this ILatentCodec c, int frames) => c.Geometry().LatentFrames(frames);

    /// <summary>Video frames decoded from <paramref name="latentFrames"/> latent frames.</summary>
    public static int VideoFrames(this ILatentCodec c, int latentFrames) => c.Geometry().VideoFrames(latentFrames);

    /// <summary>The accepted frame count nearest to <paramref name="frames"/> (ties round up; at least 1).</summary>
    public static int NearestFrames(this ILatentCodec c, int frames) => c.Geometry().NearestFrames(frames);
}

/// <summary>The trained video VAE as a codec: latents are the posterior mode times LatentScale.</summary>
public sealed class VaeLatents(VideoVae vae) : ILatentCodec
{
    /// <summary>The wrapped VAE.</summary>
    public VideoVae Vae { get; } = vae;
    /// <inheritdoc/>
    public int Channels => Vae.Config.LatentChannels;
    /// <inheritdoc/>
    public int SpatialFactor => Vae.Config.SpatialCompression;
    /// <inheritdoc/>
    public int TemporalFactor => Vae.Config.TemporalCompression;

    /// <summary>Frames chunk size for long videos (bounded memory; results equal one pass to rounding).</summary>
    const int MicroFrames = 16;

    /// <inheritdoc/>
    public Tensor Encode(Frames frames)
    {
        using var _ = Autograd.NoGrad();
        var video = VideoTensors.ToVideo(frames).Unsqueeze(0);                                          // (1, 3, T, H, W)
        var z = Vae.Encode(video, MicroFrames).Mode();                                     // (1, z, T', h, w)
        return Vae.ToDiffusionLatent(z).Squeeze(0);                                        // (z, T', h, w)
    }

    /// <inheritdoc/>
    public Frames Decode(Tensor latent, double fps)
    {
        using var _ = Autograd.NoGrad();
        var video = Vae.Decode(Vae.FromDiffusionLatent(latent).Unsqueeze(0), MicroFrames); // (1, 3, T, H, W)
        return VideoTensors.ToFrames(video.Squeeze(0), fps);
    }
}

/// <summary>Frames (T, H, W, RGB bytes) to and from video tensors (3, T, H, W) in [-1, 1].</summary>
public static class VideoTensors
{
    /// <summary>Frames (T, H, W, RGB bytes) as a video tensor (3, T, H, W) in [-1, 1].</summary>
    public static Tensor ToVideo(Frames frames)
    {
        int T = frames.Count, hw = frames.Height * frames.Width;
        var data = new float[3 * T * hw];
        for (int t = 0; t < T; t++)
        {
            ReadOnlySpan<byte> rgb = frames.Frame(t);
            for (int i = 0; i < hw; i++)
                for (int c = 0; c < 3; c++)
                    data[(c * T + t) * hw + i] = rgb[i * 3 + c] / 127.5f - 1f;
        }
        return Tensor.From(data, 3, T, frames.Height, frames.Width);
    }

    /// <summary>A video tensor (3, T, H, W) in [-1, 1] (clamped) as frames.</summary>
    public static Frames ToFrames(Tensor video, double fps)
    {
        int T = video.Size(1), h = video.Size(2), w = video.Size(3), hw = h * w;
        var data = video.Contiguous().ToArray();
        var frames = new Frames(T, h, w, fps);
        for (int t = 0; t < T; t++)
        {
            Span<byte> rgb = frames.Frame(t);
            for (int i = 0; i < hw; i++)
                for (int c = 0; c < 3; c++)
                    rgb[i * 3 + c] = (byte)MathF.Round((Math.Clamp(data[(c * T + t) * hw + i], -1f, 1f) + 1f) * 127.5f);
        }
        return frames;
    }
}

/// <summary>A codec's identity, so that a model trained on one latent space refuses another: "pixels/4x" for pixel
/// latents, "vae/" and the SHA-256 of what makes a VAE's latents, its encoder's weights (names, shapes and values), its
/// LatentScale and its channel normalisation, for a VAE. A VAE whose decoder was trained on (`train vae --recipe
/// world-decoder`) keeps its fingerprint.</summary>
public static class LatentFingerprint
{
    /// <summary>The fingerprint of <paramref name="codec"/>.</summary>
    public static string Of(ILatentCodec codec)
    {
        if (codec is not VaeLatents vae) return $"pixels/{codec.SpatialFactor}x";
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(
            System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var (name, tensor) in vae.Vae.StateDict().Where(p => p.Key.StartsWith(VideoVae.EncoderPrefix, StringComparison.Ordinal)))
        {
            sha.AppendData(System.Text.Encoding.UTF8.GetBytes($"{name}({string.Join(",", tensor.Shape.ToArray())})"));
            sha.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(tensor.Contiguous().AsSpan()));
        }
        sha.AppendData(BitConverter.GetBytes(vae.Vae.Config.LatentScale));
        if (vae.Vae.Config.ChannelMean is { } mean)                 // a VAE without them hashes nothing more
            foreach (float x in mean.Concat(vae.Vae.Config.ChannelStd!)) sha.AppendData(BitConverter.GetBytes(x));
        return "vae/" + Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
