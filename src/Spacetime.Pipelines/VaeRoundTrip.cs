// VaeRoundTrip: any video through a video VAE and back, at the video's own size, frame count and fps. The VAE takes
// frames whose sides are multiples of its spatial stride f, and 1 + r k frames (r its temporal stride), so a video is
// fitted first and restored after:
//   1. a frame of more than MaxPixels pixels is shrunk with the area filter to sides that are multiples of f,
//      keeping the aspect ratio (memory grows with the frame's area times the chunk's frames, not the video's length);
//   2. otherwise its sides are edge-padded up to multiples of f (Pad.Edge); in both cases the frames are padded to
//      1 + r k by repeating the last one;
//   3. it is encoded to the posterior mode and decoded, both in time chunks of MicroFrames frames, so the network's
//      activations stay bounded by one chunk however long the video is;
//   4. the decoded video is cropped to the fitted size, trimmed to the input's frames, and resized back (nearest
//      pixel) if step 1 shrank it.
// Plan says what will happen (the command line prints it) before Run does it.
using System.Diagnostics;
using Spacetime.Engine;
using Spacetime.Media;
using Spacetime.Models.Vae;

namespace Spacetime.Pipelines;

/// <summary>How a video of <see cref="Width"/> x <see cref="Height"/> x <see cref="Count"/> frames is fitted to a
/// VAE: shrunk to Fit* (when over <see cref="MaxPixels"/> pixels a frame), padded to Padded*, run in chunks of
/// <see cref="MicroFrames"/> frames.</summary>
public sealed record RoundTripPlan(int Width, int Height, int Count, int FitWidth, int FitHeight,
                                   int PaddedWidth, int PaddedHeight, int PaddedCount, int MicroFrames,
                                   int MaxPixels)
{
    /// <summary>True when the frames are shrunk before encoding (and grown back after decoding).</summary>
    public bool Resized => FitWidth != Width || FitHeight != Height;

    /// <summary>Time chunks the encoder runs (the first holds 1 + MicroFrames frames, the rest MicroFrames).</summary>
    public int Chunks => PaddedCount <= 1 + MicroFrames ? 1 : 1 + Ceil(PaddedCount - 1 - MicroFrames, MicroFrames);

    static int Ceil(int n, int d) => (n + d - 1) / d;

    /// <summary>One line per change made to fit the VAE ("padded 130x97 to 136x104 (edge), 10 frames to 13 (last
    /// frame repeated)"); none when the video already fits.</summary>
    public IEnumerable<string> Describe()
    {
        if (Resized)
        {
            double gigabytes = VaeRoundTrip.ChunkUnits * VaeRoundTrip.PeakBytesPerUnit / 1e9;
            yield return $"resized {Width}x{Height} to {FitWidth}x{FitHeight} (area filter; frames over {MaxPixels} " +
                         $"pixels would need more than about {gigabytes:F0} GB with this VAE), and back to " +
                         $"{Width}x{Height} after decoding (nearest pixel)";
        }
        var parts = new List<string>();
        if (PaddedWidth != FitWidth || PaddedHeight != FitHeight)
            parts.Add($"{FitWidth}x{FitHeight} to {PaddedWidth}x{PaddedHeight} (edge)");
        if (PaddedCount != Count)
            parts.Add($"{Count} frame{(Count == 1 ? "" : "s")} to {PaddedCount} (last frame repeated)");
        if (parts.Count > 0)
            yield return "padded " + string.Join(", ", parts) + "; cropped back after decoding";
    }
}

/// <summary>Encodes and decodes videos of any size and length through a <see cref="VideoVae"/>.</summary>
public static class VaeRoundTrip
{
    /// <summary>What one chunk may hold, in units of one pixel of one frame at the VAE's full-resolution width
    /// (BaseChannels x ChannelMultipliers[0] channels): 2^22 units, about 5 GB at the peak whatever the video's
    /// length.</summary>
    public const long ChunkUnits = 1L << 22;

    /// <summary>The process's peak memory per chunk unit, measured on the CPU engine (activations, im2col scratch,
    /// the storage pool): 9 frames of 304x168 through a 16-channel VAE in chunks of 5 and 4 frames (4.1 M units)
    /// peak at 5.2 GB; one 13-frame chunk of 132x100 (2.7 M units) at 2.1 GB.</summary>
    public const double PeakBytesPerUnit = 1300;

    /// <summary>The most frames per chunk (small frames): longer chunks save little time.</summary>
    const int MaxMicroFrames = 16;

    /// <summary>The largest frame (in pixels) whose shortest chunk, 1 + TemporalCompression frames, fits in
    /// <see cref="ChunkUnits"/>: 52,428 (about 256x204) for a 16-channel VAE, half that for a 32-channel one.
    /// Larger frames are shrunk.</summary>
    public static int MaxPixels(VideoVaeConfig config) =>
        (int)(ChunkUnits / ((1 + config.TemporalCompression) * FullResolutionChannels(config)));

    /// <summary>The smallest frame side the VAE takes: one latent cell.</summary>
    public static int MinSide(VideoVaeConfig config) => config.SpatialCompression;

    /// <summary>How a video of this size and length is fitted to a VAE of <paramref name="config"/>; both sides must
    /// be at least <see cref="MinSide"/> and the frame count positive. Frames over <paramref name="maxPixels"/> pixels
    /// (by default <see cref="MaxPixels"/>) are shrunk.</summary>
    public static RoundTripPlan Plan(VideoVaeConfig config, int width, int height, int count, int? maxPixels = null)
    {
        int f = config.SpatialCompression, r = config.TemporalCompression;
        if (width < f || height < f || count < 1)
            throw new ArgumentException($"VaeRoundTrip.Plan: {count} frames of {width}x{height}; the VAE needs at " +
                                        $"least one frame of {f}x{f}.");
        int limit = maxPixels ?? MaxPixels(config), fitWidth = width, fitHeight = height;
        if ((long)width * height > limit)
        {
            double s = Math.Sqrt((double)limit / ((long)width * height));
            fitWidth = Math.Max(f, (int)(width * s) / f * f);
            fitHeight = Math.Max(f, (int)(height * s) / f * f);
        }
        int paddedWidth = RoundUp(fitWidth, f), paddedHeight = RoundUp(fitHeight, f);
        int paddedCount = 1 + RoundUp(count - 1, r);
        long unitsPerFrame = (long)paddedWidth * paddedHeight * FullResolutionChannels(config);
        // the first chunk holds 1 + micro frames; never fewer than r, which Encode and Decode need
        int micro = (int)Math.Clamp((ChunkUnits / unitsPerFrame - 1) / r * r, r, MaxMicroFrames / r * r);
        return new RoundTripPlan(width, height, count, fitWidth, fitHeight, paddedWidth, paddedHeight, paddedCount,
                                 micro, limit);
    }

    /// <summary>
    /// Encodes and decodes <paramref name="video"/> as <paramref name="plan"/> says (made for its size and length)
    /// and returns the reconstruction at the video's size, frame count and fps, and the encode and decode times.
    /// <paramref name="stage"/> hears "encoding" and "decoding" as each starts.
    /// </summary>
    public static (Frames Reconstruction, TimeSpan Encode, TimeSpan Decode) Run(
        VideoVae vae, Frames video, RoundTripPlan plan, Action<string>? stage = null)
    {
        if (video.Width != plan.Width || video.Height != plan.Height || video.Count != plan.Count)
            throw new ArgumentException($"VaeRoundTrip.Run: the plan is for {plan.Count} frames of {plan.Width}x" +
                                        $"{plan.Height}, the video has {video.Count} of {video.Width}x{video.Height}.");
        var fitted = Resize.Area(video, plan.FitHeight, plan.FitWidth);
        var padded = Pad.Edge(fitted, plan.PaddedHeight, plan.PaddedWidth, plan.PaddedCount);
        Frames decoded;
        var clock = Stopwatch.StartNew();
        TimeSpan encodeTime;
        using (Autograd.NoGrad())
        using (TensorScope.Begin())
        {
            stage?.Invoke("encoding");
            var x = VideoTensors.ToVideo(padded).Unsqueeze(0);                     // (1, 3, T, H, W) in [-1, 1]
            var z = vae.Encode(x, plan.MicroFrames).Mode();                         // (1, z, 1 + (T - 1) / r, h, w)
            encodeTime = clock.Elapsed;
            stage?.Invoke("decoding");
            var y = vae.Decode(z, plan.MicroFrames);                                // (1, 3, T, H, W)
            decoded = VideoTensors.ToFrames(y.Squeeze(0), video.Fps);
        }
        var decodeTime = clock.Elapsed - encodeTime;
        var cropped = Pad.Crop(decoded, plan.FitHeight, plan.FitWidth, plan.Count);
        return (Resize.Area(cropped, plan.Height, plan.Width), encodeTime, decodeTime);
    }

    static int FullResolutionChannels(VideoVaeConfig config) => config.BaseChannels * config.ChannelMultipliers[0];

    static int RoundUp(int n, int multiple) => (n + multiple - 1) / multiple * multiple;
}
