// The seam metric: a video that moves only where time tokens meet scores far above 1; smooth motion scores 1.
using Spacetime.Data;
using Spacetime.Eval;
using Spacetime.Media;

namespace Spacetime.Tests.Eval;

public class SeamTests
{
    // 17 frames of a 32x32 black video with a white 4x4 square at x = position(t)
    static Frames Moving(Func<int, int> position)
    {
        var v = new Frames(17, 32, 32, 8);
        for (int t = 0; t < 17; t++)
            for (int y = 14; y < 18; y++)
                for (int x = position(t); x < position(t) + 4; x++)
                    v.Frame(t).Slice((y * 32 + x) * 3, 3).Fill(255);
        return v;
    }

    static readonly IReadOnlyList<int> Seams = new LatentGeometry().Seams(17);   // 1, 5, 9, 13

    [Fact]
    public void SmoothMotion_ScoresOne()
    {
        double? s = VideoScorer.Seam(Moving(t => t), Seams);
        Assert.NotNull(s);
        Assert.Equal(1.0, s!.Value, 6);
    }

    [Fact]
    public void MotionOnlyAtSeams_ScoresFarAboveOne()
    {
        // the square holds still inside each token and jumps 4 px into each seam frame
        double? s = VideoScorer.Seam(Moving(t => 4 * Seams.Count(k => k <= t)), Seams);
        Assert.True(s > 10, $"seam {s}");
    }

    [Fact]
    public void NoSeams_NotScored() =>
        Assert.Null(VideoScorer.Seam(Moving(t => t), []));
}
