// Concat of strided crops (what the VAE trainer does to build a batch): values must be the crops' own.
using Spacetime.Engine;

namespace Spacetime.Tests.Engine;

public sealed class ConcatViewsTests
{
    [Fact]
    public void Concat_OfCroppedUnsqueezedViews_CopiesTheCrops()
    {
        var rng = new Rng(1);
        var a = rng.Uniform(-1, 1, 3, 6, 10, 12);                       // (C, T, H, W)
        var b = rng.Uniform(-1, 1, 3, 6, 10, 12);
        var ca = a.Slice(1, 1, 5).Slice(2, 2, 4).Slice(3, 3, 4).Unsqueeze(0);   // (1, 3, 5, 4, 4)
        var cb = b.Slice(1, 0, 5).Slice(2, 5, 4).Slice(3, 7, 4).Unsqueeze(0);
        var both = F.Concat([ca, cb], 0);                               // (2, 3, 5, 4, 4)
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < 5; t++)
                for (int y = 0; y < 4; y++)
                    for (int x = 0; x < 4; x++)
                    {
                        Assert.Equal(a[c, 1 + t, 2 + y, 3 + x], both[0, c, t, y, x]);
                        Assert.Equal(b[c, t, 5 + y, 7 + x], both[1, c, t, y, x]);
                    }
    }
}
