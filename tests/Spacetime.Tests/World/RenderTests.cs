// The pixels agree with the truth: each object's colour covers its area times its visible fraction.
using Spacetime.World;

namespace Spacetime.Tests.World;

public class RenderTests
{
    [Fact]
    public void Render_ObjectColourPixels_MatchVisibleArea()
    {
        int checkedObjects = 0;
        for (int seed = 0; seed < 12; seed++)
        {
            var clip = WorldClip.Render(new ClipSettings(seed, 128, 96, 1, 4));
            var f = clip.Frames;
            for (int k = 0; k < f.Count; k++)
            {
                var frame = clip.Truth.Frames[k];
                double pxPerUnit = 128 / (frame.View[2] - frame.View[0]);
                foreach (var o in frame.Objects)
                {
                    var body = clip.Scene.Bodies[o.Id];
                    var (r, g, b) = CaptionGrammar.Rgb(body.Colour);
                    var rgb = f.Frame(k);
                    double covered = 0;                                   // pixels near the colour, weighted
                    for (int i = 0; i < rgb.Length; i += 3)
                    {
                        int d = Math.Abs(rgb[i] - r) + Math.Abs(rgb[i + 1] - g) + Math.Abs(rgb[i + 2] - b);
                        if (d < 30) covered++;
                    }
                    double area = Area(body) * pxPerUnit * pxPerUnit * o.Visible;
                    if (area < 30) continue;                              // too little visible to compare
                    Assert.InRange(covered, 0.75 * area - 10, 1.1 * area + 10);
                    checkedObjects++;
                }
            }
        }
        Assert.True(checkedObjects > 40, $"only {checkedObjects} object-frames checked");
    }

    static double Area(BodySpec b) => b.Shape switch
    {
        Shape.Circle => Math.PI * b.Radius * b.Radius,
        Shape.Square => 4 * b.Half.X * b.Half.Y,
        _ => 2 * b.Half.X * b.Half.Y,
    };

    [Fact]
    public void Render_AnySize_ProducesRequestedShape()
    {
        foreach (var (w, h) in new[] { (64, 64), (96, 64), (64, 96), (256, 144), (17, 5) })
        {
            var clip = WorldClip.Render(new ClipSettings(1, w, h, 0.5, 6));
            Assert.Equal((3, h, w), (clip.Frames.Count, clip.Frames.Height, clip.Frames.Width));
            Assert.Equal(6, clip.Frames.Fps);
        }
    }

    [Theory]
    [InlineData(0, 64, 1, 8)]
    [InlineData(64, -1, 1, 8)]
    [InlineData(64, 64, 0, 8)]
    [InlineData(64, 64, 1, 0)]
    [InlineData(64, 64, 0.01, 8)]
    public void Settings_BadValues_ThrowArgumentException(int w, int h, double seconds, double fps)
    {
        var e = Assert.Throws<ArgumentException>(() => WorldClip.Render(new ClipSettings(1, w, h, seconds, fps)));
        Assert.DoesNotContain("\n", e.Message);
    }
}
