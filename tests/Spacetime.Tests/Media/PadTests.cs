// Pad: edge padding repeats the last column, row and frame; Crop undoes it exactly.
using Spacetime.Media;

namespace Spacetime.Tests.Media;

public sealed class PadTests
{
    [Fact]
    public void Edge_RepeatsLastColumnRowAndFrame_CropGivesTheSourceBack()
    {
        var source = MediaTestKit.Noise(3, 5, 7, seed: 20261204, fps: 12);
        var padded = Pad.Edge(source, height: 8, width: 12, count: 5);
        Assert.Equal((5, 8, 12, 12.0), (padded.Count, padded.Height, padded.Width, padded.Fps));
        for (int t = 0; t < padded.Count; t++)
            for (int y = 0; y < padded.Height; y++)
                for (int x = 0; x < padded.Width; x++)
                {
                    int s = ((Math.Min(t, 2) * 5 + Math.Min(y, 4)) * 7 + Math.Min(x, 6)) * 3;
                    int p = ((t * 8 + y) * 12 + x) * 3;
                    Assert.Equal(source.Rgb.AsSpan(s, 3).ToArray(), padded.Rgb.AsSpan(p, 3).ToArray());
                }
        var back = Pad.Crop(padded, 5, 7, 3);
        Assert.Equal(source.Rgb, back.Rgb);
        Assert.Equal(source.Fps, back.Fps);
    }

    [Fact]
    public void EdgeAndCrop_SameSize_ReturnTheSource()
    {
        var source = MediaTestKit.Noise(2, 4, 4, seed: 1);
        Assert.Same(source, Pad.Edge(source, 4, 4, 2));
        Assert.Same(source, Pad.Crop(source, 4, 4, 2));
    }

    [Fact]
    public void EdgeThatShrinks_Or_CropThatGrows_Throws()
    {
        var source = MediaTestKit.Noise(2, 4, 4, seed: 1);
        Assert.Throws<ArgumentException>(() => Pad.Edge(source, 3, 4, 2));
        Assert.Throws<ArgumentException>(() => Pad.Crop(source, 4, 5, 2));
        Assert.Throws<ArgumentException>(() => Pad.Crop(source, 4, 4, 3));
    }
}
