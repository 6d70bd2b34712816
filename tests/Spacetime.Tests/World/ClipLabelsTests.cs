// ClipLabels read from the truth: in range, every colour and shape occurs, and the direction agrees with the
// protagonist's own track.
using Spacetime.World;

namespace Spacetime.Tests.World;

public class ClipLabelsTests
{
    static readonly WorldClip[] Clips = Enumerable.Range(0, 120)
        .Select(i => WorldClip.Render(new ClipSettings(WorldClip.DeriveSeed(42, i), 32, 32, 1, 8))).ToArray();

    [Fact]
    public void Labels_AreInRange_AndVary()
    {
        var labels = Clips.Select(c => ClipLabels.Of(c).ToArray()).ToArray();
        for (int h = 0; h < ClipLabels.Classes.Length; h++)
        {
            Assert.All(labels, l => Assert.InRange(l[h], 0, ClipLabels.Classes[h] - 1));
            Assert.True(labels.Select(l => l[h]).Distinct().Count() >= 2, $"head {h} never varies");
        }
        Assert.Equal(Enum.GetValues<Colour>().Length, labels.Select(l => l[0]).Distinct().Count());
    }

    [Fact]
    public void Direction_FollowsTheProtagonistsTrack()
    {
        foreach (var clip in Clips)
        {
            var l = ClipLabels.Of(clip);
            var track = clip.Truth.Frames.Select(f => f.Objects.First(o => o.Id == clip.Scene.Protagonist).CenterPx).ToArray();
            double dx = track[^1][0] - track[0][0], clear = ClipLabels.ClearMove * 32;
            Assert.Equal(dx > clear ? 2 : dx < -clear ? 0 : 1, l.Horizontal);
            Assert.Equal(clip.Scene.Bodies.Count - 1, l.Count);
        }
    }
}
