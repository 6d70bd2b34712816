using Spacetime.Eval;
using Spacetime.Media;

namespace Spacetime.Tests.Eval;

public class DriftTests
{
    // 20 frames of a 16x16 checkerboard (red/black, 2-pixel squares); `tail` frames at the end replaced by `fill`
    static Frames Video(int tail, (byte R, byte G, byte B)? fill)
    {
        var v = new Frames(20, 16, 16, 8);
        for (int t = 0; t < 20; t++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++)
                {
                    var px = v.Frame(t).Slice((y * 16 + x) * 3, 3);
                    if (t >= 20 - tail && fill is { } f) (px[0], px[1], px[2]) = f;
                    else if ((x / 2 + y / 2) % 2 == 0) px[0] = 200;
                }
        return v;
    }

    [Fact]
    public void SameStartAndEnd_NoDrift()
    {
        var d = Drift.Measure(Video(0, null));
        Assert.Equal(0, d.ColourDistance, 12);
        Assert.Equal(d.SharpnessFirst, d.SharpnessLast, 12);
        Assert.True(d.SharpnessFirst > 10);
    }

    [Fact]
    public void FlatNewColourAtTheEnd_FullColourDistance_NoSharpness()
    {
        var d = Drift.Measure(Video(2, (0, 0, 255)));                 // the last tenth (2 of 20 frames) is flat blue
        Assert.Equal(1, d.ColourDistance, 12);
        Assert.Equal(0, d.SharpnessLast, 12);
        Assert.Contains("colour distance 1.00", d.ToString());
    }
}
