// VideoVae: the video compression network of the Sora recipe (MISSION item 1). A causal 3-d convolutional VAE in the
// family of MAGVIT-v2, CogVideoX and Open-Sora's: video (B, 3, 1 + 4k, H, W) in [-1, 1] -> latent
// (B, z, 1 + k, H / f, W / f) with f = 8 (or 4) -> video. Frame 0 is encoded alone, so an image is a one-frame video.
// Keys: encoder.*, decoder.* (see Encoder.cs, Decoder.cs).
//
// Long videos run in chunks (microFrames video frames at a time, after a first chunk of 1 + microFrames): every causal
// conv carries the frames it still needs from one chunk to the next (CausalState), and all norms are per frame, so
// chunked and one-pass results agree to float rounding (the convolutions see the same windows; only the summation
// order of the im2col products can differ). Chunked runs are inference only: they run under NoGrad and free each
// chunk's activations with their own TensorScope, so memory stays bounded by one chunk.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>Causal video VAE: encode to a diagonal-Gaussian latent, decode back to frames.</summary>
public sealed class VideoVae : Module
{
    readonly Encoder encoder;
    readonly Decoder decoder;

    /// <summary>The configuration the model was built from.</summary>
    public VideoVaeConfig Config { get; }

    /// <summary>The start of every encoder parameter's name: the encoder (with LatentScale) defines the latent space;
    /// the decoder can change without changing it.</summary>
    public const string EncoderPrefix = "encoder.";

    /// <summary>An untrained VAE with PyTorch's default initialisation, drawn from <paramref name="rng"/>.</summary>
    public VideoVae(VideoVaeConfig cfg, Rng rng)
    {
        cfg.Validate();
        Config = cfg;
        encoder = Add(EncoderPrefix[..^1], new Encoder(cfg, rng));
        decoder = Add("decoder", new Decoder(cfg, rng));
    }

    /// <summary>Latent frames for a video of <paramref name="frames"/> frames: 1 + (frames - 1) / 4.</summary>
    public int LatentFrames(int frames) => 1 + (frames - 1) / Config.TemporalCompression;

    /// <summary>Video frames decoded from <paramref name="latentFrames"/> latent frames: 1 + 4 (latentFrames - 1).
    /// </summary>
    public int VideoFrames(int latentFrames) => 1 + Config.TemporalCompression * (latentFrames - 1);

    /// <summary>
    /// Encodes video (B, 3, T, H, W) in [-1, 1], T = 1 + 4k and H, W multiples of the spatial compression, to the
    /// posterior over latents (B, z, 1 + k, H / f, W / f). With <paramref name="microFrames"/> &gt; 0 (a multiple of
    /// 4) the video is encoded in chunks of that many frames, without gradients.
    /// </summary>
    public DiagonalGaussian Encode(Tensor video, int microFrames = 0)
    {
        CheckVideo(video);
        int t = video.Size(2);
        if (microFrames <= 0 || 1 + microFrames >= t) return new DiagonalGaussian(encoder.Forward(video, null));
        CheckMicroFrames(microFrames);
        return new DiagonalGaussian(Chunked(video, 1 + microFrames, microFrames, encoder.Forward));
    }

    /// <summary>
    /// Decodes latents (B, z, 1 + k, h, w) to video (B, 3, 1 + 4k, f h, f w). With <paramref name="microFrames"/>
    /// &gt; 0 (a multiple of 4: video frames per chunk) it decodes in chunks, without gradients.
    /// </summary>
    public Tensor Decode(Tensor z, int microFrames = 0)
    {
        if (z.Rank != 5 || z.Size(1) != Config.LatentChannels || z.Size(2) < 1)
            throw new ArgumentException($"VideoVae.Decode: latents ({string.Join(", ", z.Shape.ToArray())}); " +
                                        $"expected (B, {Config.LatentChannels}, T, h, w) with T >= 1.");
        int perChunk = microFrames / Config.TemporalCompression;
        if (microFrames <= 0 || 1 + perChunk >= z.Size(2)) return decoder.Forward(z, null);
        CheckMicroFrames(microFrames);
        return Chunked(z, 1 + perChunk, perChunk, decoder.Forward);
    }

    /// <summary>Training pass: encode, take a sample (with <paramref name="rng"/>) or the mode (without), decode.
    /// </summary>
    public (Tensor Reconstruction, DiagonalGaussian Posterior) Forward(Tensor video, Rng? rng = null)
    {
        var posterior = Encode(video);                                               // (B, z, T', h, w) each
        var z = rng is null ? posterior.Mode() : posterior.Sample(rng);              // (B, z, T', h, w)
        return (Decode(z), posterior);                                               // (B, 3, T, H, W)
    }

    /// <summary>A VAE latent (C, T', h, w) or (B, C, T', h, w) as the diffusion model sees it: z * LatentScale, then
    /// per channel (x - ChannelMean) / ChannelStd when the config has them.</summary>
    public Tensor ToDiffusionLatent(Tensor z)
    {
        var scaled = z * Config.LatentScale;
        return Config.ChannelMean is null ? scaled : (scaled - PerChannel(Config.ChannelMean)) / PerChannel(Config.ChannelStd!);
    }

    /// <summary>A diffusion-model latent back in the VAE's units (the inverse of <see cref="ToDiffusionLatent"/>).
    /// </summary>
    public Tensor FromDiffusionLatent(Tensor latent)
    {
        var scaled = Config.ChannelMean is null ? latent
            : latent * PerChannel(Config.ChannelStd!) + PerChannel(Config.ChannelMean);
        return scaled / Config.LatentScale;
    }

    /// <summary>This VAE with another channel normalisation (null, null: none), the same weights copied into a new
    /// module: the encoder and decoder are unchanged, only what the diffusion model sees differs. Returns this VAE
    /// when the normalisation is already the one asked for.</summary>
    public VideoVae WithChannelStats(float[]? mean, float[]? std)
    {
        if (ReferenceEquals(mean, Config.ChannelMean) && ReferenceEquals(std, Config.ChannelStd)) return this;
        var copy = new VideoVae(Config with { ChannelMean = mean, ChannelStd = std }, new Rng(0));
        copy.LoadStateDict(StateDict());
        if (!Training) copy.Eval();
        return copy;
    }

    // (C, 1, 1, 1): broadcasts over the channel axis of a (C, T', h, w) or (B, C, T', h, w) latent
    static Tensor PerChannel(float[] values) => Tensor.From(values, values.Length, 1, 1, 1);

    /// <summary>Per-channel mean and standard deviation of <paramref name="latents"/> (B, C, T', h, w), latents as the
    /// diffusion model sees them before any channel normalisation (z * LatentScale of a few hundred clips): what
    /// <see cref="VideoVaeConfig.ChannelMean"/> and <see cref="VideoVaeConfig.ChannelStd"/> store.</summary>
    public static (float[] Mean, float[] Std) MeasureChannelStats(Tensor latents)
    {
        int b = latents.Size(0), c = latents.Size(1), n = latents.Count / (b * c);
        var v = latents.Contiguous().ToArray();
        var (mean, std) = (new float[c], new float[c]);
        for (int ch = 0; ch < c; ch++)
        {
            double sum = 0, sq = 0;
            for (int i = 0; i < b; i++)
                for (int k = 0; k < n; k++)
                {
                    double x = v[((long)i * c + ch) * n + k];
                    sum += x;
                    sq += x * x;
                }
            double m = sum / ((double)b * n), var = sq / ((double)b * n) - m * m;
            if (!(var > 0)) throw new ArgumentException($"VideoVae.MeasureChannelStats: channel {ch} has zero variance; " +
                                                        "measure on real data.");
            (mean[ch], std[ch]) = ((float)m, (float)Math.Sqrt(var));
        }
        return (mean, std);
    }

    /// <summary>The latent scale that gives unit variance: 1 / std of <paramref name="latents"/> (e.g. the modes of
    /// a few hundred training clips, concatenated), as SD measured 0.18215. Store it in Config.LatentScale.</summary>
    public static float MeasureLatentScale(Tensor latents)
    {
        var v = latents.ToArray();
        double mean = v.Average(x => (double)x), var = v.Average(x => (x - mean) * (x - mean));
        return var > 0 ? (float)(1 / Math.Sqrt(var)) : throw new ArgumentException(
            "VideoVae.MeasureLatentScale: the latents have zero variance; measure on real data.");
    }

    /// <summary>Multiply-adds of the convolutions in one encode + decode of a (1, 3, frames, height, width) video
    /// (GroupNorm, SiLU and the residual adds are not counted; one multiply-add = one FLOP, as the DiT paper counts).
    /// </summary>
    public long CountMultiplyAdds(int frames, int height, int width)
    {
        using var _ = Autograd.NoGrad();
        using var scope = TensorScope.Begin();
        var state = new CausalState();
        var video = Tensor.Zeros(1, 3, frames, height, width);
        CheckVideo(video);
        var moments = encoder.Forward(video, state);                                 // (1, 2z, T', h, w)
        decoder.Forward(moments.Slice(1, 0, Config.LatentChannels), state);          // (1, 3, T, H, W)
        return state.MultiplyAdds;
    }

    // Runs `layer` over time chunks of x (first chunk `first` frames, then `rest`), carrying the causal state, and
    // concatenates the outputs along time. Each chunk's activations are freed when it is done.
    static Tensor Chunked(Tensor x, int first, int rest, Func<Tensor, CausalState?, Tensor> layer)
    {
        using var _ = Autograd.NoGrad();
        var state = new CausalState();
        var parts = new List<Tensor>();
        for (int start = 0, t = x.Size(2); start < t;)
        {
            int len = Math.Min(start == 0 ? first : rest, t - start);
            using var scope = TensorScope.Begin();
            parts.Add(scope.Keep(layer(x.Slice(2, start, len), state)));                // (B, C', chunk', h', w')
            start += len;
        }
        return F.Concat([.. parts], dim: 2);
    }

    void CheckVideo(Tensor video)
    {
        int f = Config.SpatialCompression, tc = Config.TemporalCompression;
        if (video.Rank != 5 || video.Size(1) != 3 || video.Size(2) < 1 || (video.Size(2) - 1) % tc != 0 ||
            video.Size(3) % f != 0 || video.Size(4) % f != 0 || video.Size(3) == 0 || video.Size(4) == 0)
            throw new ArgumentException($"VideoVae.Encode: video ({string.Join(", ", video.Shape.ToArray())}); " +
                $"expected (B, 3, T, H, W) with T = 1 + {tc}k frames (1, {1 + tc}, {1 + 2 * tc}, ...) and H, W " +
                $"positive multiples of {f}.");
    }

    void CheckMicroFrames(int microFrames)
    {
        if (microFrames % Config.TemporalCompression != 0)
            throw new ArgumentException($"VideoVae: microFrames {microFrames} must be a multiple of the temporal " +
                                        $"compression {Config.TemporalCompression}.");
    }
}
