// Masked-frame conditioning over latent videos (B, C, T, H, W): the one mechanism behind image-to-video, extension
// forward and backward, loops and transitions (Sora report, "Prompting with images and videos"; Open-Sora's masks).
// Known latent frames hold given clean latents. During sampling they are re-imposed before every model call and after
// every step, at the noise level the model was trained to see them at:
//   - clean (default): for models trained with MaskSampler, where known frames stay clean in x_t (and can be told
//     t = 0 per frame through FrameTimesteps); the final sample holds the given latents exactly;
//   - replacement: noised to the current t with one fixed noise draw, x_known(t) = alpha(t) x0 + sigma(t) eps (Ho et
//     al. 2022, "Video Diffusion Models", the replacement method), for models trained without masks.
// A loop ties the last frame to the first: after each step the last frame is set to the first, so the video's end
// and start coincide (with or without a given first frame).
// Masks are float tensors (1 known, 0 generated) combined as known * a + (1 - known) * b, which is exact in IEEE
// arithmetic: known frames come out bit for bit as given.
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>Which latent frames are given, their clean latents, and whether the last frame is tied to the first.</summary>
/// <param name="Known">(1, 1, T, 1, 1): 1 where the latent frame is given, 0 where it is generated.</param>
/// <param name="Latents">(B, C, T, H, W) clean latents at the known frames (zeros elsewhere); null when none are known.</param>
/// <param name="Loop">Tie the last frame to the first.</param>
/// <param name="ReplacementNoise">When set, known frames are re-imposed noised to the current time with this noise
/// (the replacement method); when null they are kept clean.</param>
public sealed record FrameMask(Tensor Known, Tensor? Latents, bool Loop = false, Tensor? ReplacementNoise = null)
{
    /// <summary>Number of latent frames T.</summary>
    public int LatentFrames => Known.Size(2);

    /// <summary>Image to video: the first latent frame is the image's latent, (B, C, H, W) or (B, C, 1, H, W).</summary>
    public static FrameMask ImageToVideo(Tensor image, int latentFrames) => Place(latentFrames, (AsFrames(image), 0));

    /// <summary>Extend forward: the given clip (B, C, K, H, W) is the head; the frames after it are generated.</summary>
    public static FrameMask ExtendForward(Tensor context, int latentFrames) => Place(latentFrames, (context, 0));

    /// <summary>Extend backward: the given clip (B, C, K, H, W) is the tail; the frames before it are generated.</summary>
    public static FrameMask ExtendBackward(Tensor context, int latentFrames) =>
        Place(latentFrames, (context, latentFrames - context.Size(2)));

    /// <summary>Connect two videos: <paramref name="before"/> (the end of the first, (B, C, K1, H, W)) is the head,
    /// <paramref name="after"/> (the start of the second) the tail; the transition between them is generated.</summary>
    public static FrameMask Connect(Tensor before, Tensor after, int latentFrames) =>
        Place(latentFrames, (before, 0), (after, latentFrames - after.Size(2)));

    /// <summary>A seamless loop: the last frame is tied to the first, which is generated or, when given, an image.</summary>
    public static FrameMask SeamlessLoop(int latentFrames, Tensor? firstFrame = null)
    {
        if (latentFrames < 2) throw new ArgumentOutOfRangeException(nameof(latentFrames), latentFrames, "FrameMask.SeamlessLoop: a loop needs at least 2 latent frames.");
        var mask = firstFrame is null ? new FrameMask(Tensor.Zeros(1, 1, latentFrames, 1, 1), null) : ImageToVideo(firstFrame, latentFrames);
        return mask with { Loop = true };
    }

    /// <summary>This mask with known frames re-imposed at the current noise level (replacement method), noise from rng.</summary>
    public FrameMask WithReplacement(Rng rng) =>
        Latents is null ? this : this with { ReplacementNoise = rng.Normal(Latents.Shape.ToArray()) };

    /// <summary>x (B, C, T, H, W) at time t with the known frames set and the loop tie applied.</summary>
    public Tensor Impose(Tensor x, IPath path, double t)
    {
        if (x.Rank != 5 || x.Size(2) != LatentFrames)
            throw new ArgumentException($"FrameMask: expected a latent video (B, C, {LatentFrames}, H, W), got {x}.");
        if (Latents is not null)
        {
            var given = ReplacementNoise is null ? Latents : path.Interpolate(Latents, ReplacementNoise, t);
            x = given * Known + x * (1f - Known);
        }
        if (Loop)
        {
            var last = Tensor.Zeros(1, 1, LatentFrames, 1, 1);
            last[0, 0, LatentFrames - 1, 0, 0] = 1f;
            x = x.Slice(2, 0, 1) * last + x * (1f - last);            // (B, C, 1, H, W) broadcast over T
        }
        return x;
    }

    /// <summary>The model with the mask imposed on its input at the time it is called with (t (B) is one time).</summary>
    public Func<Tensor, Tensor, Tensor> Condition(Func<Tensor, Tensor, Tensor> model, IPath path) =>
        (x, t) => model(Impose(x, path, t[0]), t);

    /// <summary>Per-frame times (B, T): t on generated frames, 0 on clean known frames (Open-Sora's x_mask).</summary>
    public Tensor FrameTimesteps(Tensor t) => ReplacementNoise is null ? FrameTimesteps(t, Known) : FrameTimesteps(t, Known * 0f);

    /// <summary>Per-frame times (B, T) from t (B) and a known mask (B or 1, 1, T, 1, 1).</summary>
    public static Tensor FrameTimesteps(Tensor t, Tensor known)
    {
        int frames = known.Size(2);
        var generated = (1f - known).Reshape(known.Size(0), frames);               // (B or 1, T)
        return t.Unsqueeze(1) * generated;                                         // (B, T)
    }

    // A (B, C, T, H, W) latent tensor with each part's frames at its offset, and the (1, 1, T, 1, 1) known mask.
    static FrameMask Place(int latentFrames, params (Tensor Frames, int Offset)[] parts)
    {
        var first = parts[0].Frames;
        if (first.Rank != 5) throw new ArgumentException($"FrameMask: expected latent frames (B, C, K, H, W), got {first}.");
        int b = first.Size(0), c = first.Size(1), hw = first.Size(3) * first.Size(4);
        var known = new float[latentFrames];
        var data = new float[b * c * latentFrames * hw];
        foreach (var (frames, offset) in parts)
        {
            int k = frames.Size(2);
            if (frames.Rank != 5 || frames.Size(0) != b || frames.Size(1) != c || frames.Size(3) * frames.Size(4) != hw)
                throw new ArgumentException($"FrameMask: the given clips {first} and {frames} do not match.");
            if (k < 1 || offset < 0 || offset + k > latentFrames)
                throw new ArgumentException($"FrameMask: {k} given latent frames at {offset} do not fit in {latentFrames}.");
            var src = frames.ToArray();
            for (int bc = 0; bc < b * c; bc++)
                Array.Copy(src, bc * k * hw, data, (bc * latentFrames + offset) * hw, k * hw);
            for (int f = offset; f < offset + k; f++) known[f] = 1f;
        }
        if (known.All(v => v == 1f))
            throw new ArgumentException($"FrameMask: all {latentFrames} latent frames are given; nothing is left to generate.");
        return new FrameMask(Tensor.From(known, 1, 1, latentFrames, 1, 1),
                             Tensor.From(data, b, c, latentFrames, first.Size(3), first.Size(4)));
    }

    static Tensor AsFrames(Tensor image) => image.Rank == 4 ? image.Unsqueeze(2) : image;      // (B, C, H, W) -> (B, C, 1, H, W)
}
