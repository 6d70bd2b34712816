// ClassifierInput: any video as the world-clip classifier's input (Models/Probe/ClipClassifier): Config.Frames frames
// evenly spaced over the clip (first and last included), each area-resized to Side x Side (a non-square video is
// squeezed, not cropped: the classifier sees all of it), as (3, Frames, Side, Side) in [-1, 1]. The trainer and the
// Fréchet video distance both prepare clips here, so the features are computed on exactly what the network learned.
using Spacetime.Engine;
using Spacetime.Media;
using Spacetime.Models.Probe;

namespace Spacetime.Pipelines;

/// <summary>Prepares videos for the <see cref="ClipClassifier"/>.</summary>
public static class ClassifierInput
{
    /// <summary>(3, Frames, Side, Side) in [-1, 1] from <paramref name="video"/> (at least one frame).</summary>
    public static Tensor Prepare(Frames video, ClipClassifierConfig config)
    {
        if (video.Count < 1) throw new ArgumentException("ClassifierInput: the video has no frames");
        var picked = new Frames(config.Frames, video.Height, video.Width, video.Fps);
        for (int i = 0; i < config.Frames; i++)
            video.Frame((int)Math.Round(i * (video.Count - 1) / (double)(config.Frames - 1))).CopyTo(picked.Frame(i));
        return VideoTensors.ToVideo(Resize.Area(picked, config.Side, config.Side));   // (3, Frames, Side, Side)
    }

    /// <summary>(N, 3, Frames, Side, Side): the videos prepared and stacked.</summary>
    public static Tensor Batch(IEnumerable<Frames> videos, ClipClassifierConfig config) =>
        F.Concat(videos.Select(v => Prepare(v, config).Unsqueeze(0)).ToArray(), 0);

    /// <summary>The classifier's features (N, Features) of <paramref name="videos"/>, without gradients, in batches.
    /// </summary>
    public static float[][] Features(ClipClassifier model, IReadOnlyList<Frames> videos, int batch = 16)
    {
        using var noGrad = Autograd.NoGrad();
        var rows = new List<float[]>();
        for (int start = 0; start < videos.Count; start += batch)
        {
            using var scope = TensorScope.Begin();
            var f = model.Features(Batch(videos.Skip(start).Take(batch), model.Config)).ToArray();   // (b·Features)
            int d = model.Config.Features;
            for (int i = 0; i < f.Length / d; i++) rows.Add(f.AsSpan(i * d, d).ToArray());
        }
        return [.. rows];
    }
}
