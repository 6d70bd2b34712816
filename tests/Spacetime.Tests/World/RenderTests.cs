// The pixels agree with the truth: each object's colour covers its area times its visible fraction.
using Spacetime.World;

namespace Spacetime.Tests.World;

public class RenderTests
{
    [Fact]
    public void RenderScene_OfAGeneratedScene_IsItsClip_AndAnEditedColourShowsOnlyWhereTheBodyIs()
    {
        var settings = new ClipSettings(7, 96, 64, 1, 8);
        var clip = WorldClip.Render(settings);
        Assert.Equal(clip.Frames.Frame(5).ToArray(), WorldClip.RenderScene(clip.Scene, 96, 64, 8, 8).Frame(5).ToArray());

        // the protagonist repainted: the frames differ, and only on pixels that are the old or the new colour
        var scene = clip.Scene;
        var other = scene.Bodies[scene.Protagonist].Colour == Colour.Red ? Colour.Blue : Colour.Red;
        var edited = WorldClip.RenderScene(scene with
        {
            Bodies = scene.Bodies.Select(b => b.Id == scene.Protagonist ? b with { Colour = other } : b).ToList(),
        }, 96, 64, 8, 8);
        var (a, b) = (clip.Frames.Frame(5).ToArray(), edited.Frame(5).ToArray());
        var (r, g, bl) = CaptionGrammar.Rgb(other);
        int changed = 0;
        for (int i = 0; i < a.Length; i += 3)
        {
            if (a[i] == b[i] && a[i + 1] == b[i + 1] && a[i + 2] == b[i + 2]) continue;
            changed++;
            // anti-aliased edges blend with the background, so compare chroma loosely: the new pixel leans to `other`
            int before = Math.Abs(a[i] - r) + Math.Abs(a[i + 1] - g) + Math.Abs(a[i + 2] - bl);
            int after = Math.Abs(b[i] - r) + Math.Abs(b[i + 1] - g) + Math.Abs(b[i + 2] - bl);
            Assert.True(after < before, $"pixel {i / 3} moved away from the new colour");
        }
        Assert.InRange(changed, 10, a.Length / 3 / 4);
    }

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
