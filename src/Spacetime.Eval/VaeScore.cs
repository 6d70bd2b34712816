// VaeScore: how well a latent codec (the trained VAE) gives back world clips it never saw. For each frame size, N clips
// are rendered from a held-out seed family (clip i: WorldClip.DeriveSeed(0x7AE5C0DE + Seed, i); training runs start
// from small seeds), encoded, decoded, and compared with Fidelity's PSNR and SSIM. The encode + decode wall time per
// clip is measured too, since the latent space's cost is paid on every generated video.
using System.Diagnostics;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.World;

namespace Spacetime.Eval;

/// <summary>What to score a codec on.</summary>
/// <param name="Sizes">Frame sizes (width, height); each must divide by the codec's spatial factor.</param>
/// <param name="Clips">Clips per size.</param>
/// <param name="Frames">Frames per clip (a count the codec accepts, e.g. 1 + 4k).</param>
/// <param name="Fps">Frame rate the clips are rendered at.</param>
/// <param name="Seed">Picks the held-out family of clips.</param>
public sealed record VaeScoreSettings(IReadOnlyList<(int Width, int Height)> Sizes, int Clips = 32, int Frames = 17,
                                      double Fps = 8, long Seed = 0);

/// <summary>The scores of one frame size.</summary>
/// <param name="Psnr">Mean over clips of each clip's PSNR (dB).</param>
/// <param name="WorstPsnr">The lowest clip PSNR (dB).</param>
/// <param name="Ssim">Mean over clips of each clip's SSIM.</param>
/// <param name="SecondsPerClip">Median encode + decode wall time of one clip.</param>
public sealed record VaeSizeScore(int Width, int Height, int Clips, double Psnr, double WorstPsnr, double Ssim,
                                  double SecondsPerClip);

/// <summary>Scores a codec's round trip on held-out world clips.</summary>
public static class VaeScore
{
    const long SeedSalt = 0x7AE5C0DE;

    /// <summary>The world seed of clip <paramref name="index"/> of the held-out family <paramref name="seed"/>.</summary>
    public static long ClipSeed(long seed, int index) => WorldClip.DeriveSeed(unchecked(SeedSalt + seed), index);

    /// <summary>
    /// Runs the round trip on every size. <paramref name="progress"/> gets (clips done, clips in all);
    /// <paramref name="keep"/> receives the first <paramref name="keepCount"/> clips of the first size with their
    /// reconstructions (for a contact sheet).
    /// </summary>
    public static IReadOnlyList<VaeSizeScore> Run(ILatentCodec codec, VaeScoreSettings s, Action<int, int>? progress = null,
                                                  List<(Frames Real, Frames Rebuilt)>? keep = null, int keepCount = 4)
    {
        if (s.Clips < 1 || s.Frames < 1 || !(s.Fps > 0) || s.Sizes.Count == 0)
            throw new ArgumentException($"VaeScore: clips {s.Clips}, frames {s.Frames}, fps {s.Fps} and sizes " +
                                        $"({s.Sizes.Count}) must be positive.");
        if (codec.NearestFrames(s.Frames) != s.Frames)
            throw new ArgumentException($"VaeScore: the codec takes {codec.NearestFrames(s.Frames)} frames, not {s.Frames}.");
        var scores = new List<VaeSizeScore>();
        int done = 0, total = s.Clips * s.Sizes.Count;
        foreach (var (w, h) in s.Sizes)
        {
            if (w % codec.SpatialFactor != 0 || h % codec.SpatialFactor != 0)
                throw new ArgumentException($"VaeScore: size {w}x{h} must divide by {codec.SpatialFactor}.");
            var psnr = new double[s.Clips];
            var ssim = new double[s.Clips];
            var seconds = new double[s.Clips];
            for (int i = 0; i < s.Clips; i++)
            {
                var clip = WorldClip.Render(new ClipSettings(ClipSeed(s.Seed, i), w, h, s.Frames / s.Fps, s.Fps));
                var clock = Stopwatch.StartNew();
                var rebuilt = codec.Decode(codec.Encode(clip.Frames), s.Fps);
                seconds[i] = clock.Elapsed.TotalSeconds;
                psnr[i] = Fidelity.Psnr(clip.Frames, rebuilt);
                ssim[i] = Fidelity.Ssim(clip.Frames, rebuilt);
                if (keep is not null && scores.Count == 0 && i < keepCount) keep.Add((clip.Frames, rebuilt));
                progress?.Invoke(++done, total);
            }
            scores.Add(new VaeSizeScore(w, h, s.Clips, psnr.Average(), psnr.Min(), ssim.Average(),
                                        seconds.Order().ElementAt(s.Clips / 2)));
        }
        return scores;
    }

    /// <summary>A contact sheet's frames: for each kept clip, a row of its real frames above a row of the
    /// reconstruction, <paramref name="columns"/> frames evenly spaced over the clip.</summary>
    public static Frames SheetFrames(IReadOnlyList<(Frames Real, Frames Rebuilt)> pairs, int columns)
    {
        var first = pairs[0].Real;
        columns = Math.Min(columns, first.Count);
        var sheet = new Frames(2 * columns * pairs.Count, first.Height, first.Width, first.Fps);
        int k = 0;
        foreach (var (real, rebuilt) in pairs)
            foreach (var video in new[] { real, rebuilt })
                for (int c = 0; c < columns; c++)
                {
                    int t = columns == 1 ? 0 : c * (video.Count - 1) / (columns - 1);
                    video.Frame(t).CopyTo(sheet.Frame(k++));
                }
        return sheet;
    }
}
