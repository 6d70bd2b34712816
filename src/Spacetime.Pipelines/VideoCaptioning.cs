// VideoCaptioning: a user's video -> a dense caption in the training style, by the captioner (Models/Caption) over the
// latents of the VAE it was trained with. The video is read as the captioner was trained (CaptionerConfig.Read*): for
// the world captioner 17 frames (2 s) at 8 fps from its start, resized at its own aspect ratio to about 128 x 128
// pixels (sides a multiple of the VAE's 8 x the patch 2: 16:9 becomes 176x96), encoded once.
using Spacetime.Data;
using Spacetime.Media;
using Spacetime.Models.Caption;

namespace Spacetime.Pipelines;

/// <summary>Captions videos with a captioner and its VAE.</summary>
public sealed class VideoCaptioning
{
    readonly Captioner captioner;
    readonly ILatentCodec codec;

    /// <summary>Captions with <paramref name="captioner"/> in <paramref name="codec"/>'s latents; refuses a codec
    /// whose fingerprint differs from the one the captioner was trained on (one line naming both). A VAE normalised
    /// per channel for a DiT (`vae normalize`) is read without that normalisation when the captioner was trained on
    /// the same VAE's raw latents: the encoder is the same; the normalisation is only what the DiT sees.</summary>
    public VideoCaptioning(Captioner captioner, ILatentCodec codec)
    {
        string have = LatentFingerprint.Of(codec);
        if (captioner.Latents.Length > 0 && captioner.Latents != have &&
            codec is VaeLatents { Vae.Config.ChannelMean: not null } normalised)
        {
            var raw = new VaeLatents(normalised.Vae.WithChannelStats(null, null));
            string rawPrint = LatentFingerprint.Of(raw);
            if (rawPrint == captioner.Latents) (codec, have) = (raw, rawPrint);
        }
        if (captioner.Latents.Length > 0 && captioner.Latents != have)
            throw new ArgumentException($"the captioner was trained on the latents of another VAE ({Short(captioner.Latents)}, " +
                                        $"this one is {Short(have)}); give the VAE it was trained with (--vae)");
        if (codec.Channels != captioner.Config.LatentChannels)
            throw new ArgumentException($"the captioner reads {captioner.Config.LatentChannels} latent channels; the VAE " +
                                        $"makes {codec.Channels}");
        (this.captioner, this.codec) = (captioner, codec);
    }

    static string Short(string fingerprint) => fingerprint.Length > 16 ? fingerprint[..16] : fingerprint;

    /// <summary>The frame size the captioner reads a <paramref name="width"/> x <paramref name="height"/> video at:
    /// its aspect ratio at about ReadArea pixels, each side a multiple of the codec's stride times the patch and
    /// within the captioner's position tables.</summary>
    public (int Width, int Height) SizeFor(int width, int height)
    {
        var c = captioner.Config;
        int unit = codec.SpatialFactor * c.Patch, most = c.MaxGridSide * unit;
        double aspect = width / (double)height;
        int Side(double ideal) => Math.Clamp((int)Math.Round(ideal / unit) * unit, unit, most);
        return (Side(Math.Sqrt(c.ReadArea * aspect)), Side(Math.Sqrt(c.ReadArea / aspect)));
    }

    /// <summary>The dense caption of <paramref name="video"/>.</summary>
    public string Caption(Frames video)
    {
        var (w, h) = SizeFor(video.Width, video.Height);
        var c = captioner.Config;
        var clip = ClipSampler.Sample(video, new SampleSpec(codec.NearestFrames(c.ReadFrames), c.ReadFps, h, w));
        return captioner.Caption(codec.Encode(clip).Unsqueeze(0))[0];                    // latents (1, C, T', h, w)
    }
}
