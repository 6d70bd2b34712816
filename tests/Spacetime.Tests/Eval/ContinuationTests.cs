// Continuation scores: the truth scores (1, 1, 0) against itself; holding the last given frame moves nowhere, so its
// IoUs fall to 0 where the truth moves; the given frames are latent-aligned.
using Spacetime.Data;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Tests.Eval;

public class ContinuationTests
{
    static Frames Clip() => WorldClip.Render(new ClipSettings(7, 64, 64, 2, 8)).Frames;

    [Fact]
    public void Truth_ScoresPerfectly()
    {
        var clip = Clip();
        var s = Continuation.Score(clip, clip, 5);
        Assert.Equal((1.0, 1.0, 0.0), (s.SpatialIou, s.SpatiotemporalIou, s.Mse));
    }

    [Fact]
    public void StaticContinuation_HasNoMotionOverlap()
    {
        var clip = Clip();
        var held = Pad.Edge(Pad.Crop(clip, 64, 64, 5), 64, 64, clip.Count);
        var s = Continuation.Score(clip, held, 5);
        Assert.Equal(0, s.SpatialIou);                          // the truth moves somewhere; the held video nowhere
        Assert.Equal(0, s.SpatiotemporalIou);
        Assert.True(s.Mse > 0);
    }

    [Fact]
    public void ShiftedByAFrame_ScoresBetweenTheTwo()
    {
        // the truth one frame late: the same places move (spatial IoU high), at the wrong times (lower)
        var clip = Clip();
        var late = new Frames(clip.Count, 64, 64, clip.Fps);
        for (int k = 0; k < clip.Count; k++) clip.Frame(Math.Max(0, k - 1)).CopyTo(late.Frame(k));
        var s = Continuation.Score(clip, late, 5);
        Assert.InRange(s.SpatiotemporalIou, 0.01, 0.99);
        Assert.True(s.SpatialIou >= s.SpatiotemporalIou);
    }

    [Fact]
    public void GivenFrames_HalfTheLatentsAsWholeTokens()
    {
        Assert.Equal(5, Continuation.GivenFrames(new LatentGeometry(), 17));                    // 2 of 5 latents
        Assert.Equal(8, Continuation.GivenFrames(new LatentGeometry(TemporalDown: 1, PatchT: 4), 16)); // 2 of 4 tokens
        Assert.Equal(1, Continuation.GivenFrames(new LatentGeometry(), 5));                     // 1 of 2 latents
    }

    [Fact]
    public void ShapeKept_TruthKeepsIt_AnEmptyContinuationDoesNot()
    {
        // The truth keeps every shape; a continuation that blanks the frames after the given ones keeps none, though
        // the given frames show the shape.
        var settings = new EvalSettings(Prompts: 6, Width: 96, Height: 96);
        var report = Continuation.Run(settings, 5,
            [new("truth", (_, _, c) => WorldClip.Render(c).Frames),
             new("blank", (_, head, c) =>
             {
                 var v = Pad.Edge(head, c.Height, c.Width, c.FrameCount);
                 for (int k = 5; k < v.Count; k++) v.Frame(k).Clear();
                 return v;
             })]);
        Assert.InRange(report.ShapeScenes, 1, 6);
        Assert.Equal(1.0, report.Systems[0].Mean.ShapeKept);
        Assert.Equal(0.0, report.Systems[1].Mean.ShapeKept);
        Assert.Contains("shape kept", report.ToMarkdown());
    }

    [Fact]
    public void NothingToScore_Throws() =>
        Assert.Throws<ArgumentException>(() => Continuation.Score(Clip(), Clip(), 16));
}
