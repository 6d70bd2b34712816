// Same seed, same bytes; the same world at every pixel size and fps.
using System.Security.Cryptography;
using Spacetime.World;

namespace Spacetime.Tests.World;

public class DeterminismTests
{
    [Fact]
    public void Render_SameSeedTwice_SameBytesAndTruth()
    {
        var a = WorldClip.Render(new ClipSettings(42, 96, 64, 2, 8));
        var b = WorldClip.Render(new ClipSettings(42, 96, 64, 2, 8));
        Assert.Equal(SHA256.HashData(a.Frames.Rgb), SHA256.HashData(b.Frames.Rgb));
        Assert.Equal(a.Truth.ToJson(), b.Truth.ToJson());
        var c = WorldClip.Render(new ClipSettings(43, 96, 64, 2, 8));
        Assert.NotEqual(SHA256.HashData(a.Frames.Rgb), SHA256.HashData(c.Frames.Rgb));
    }

    [Theory]
    [InlineData(64, 64, 128, 128)]
    [InlineData(96, 64, 240, 160)]
    [InlineData(144, 256, 72, 128)]
    public void Truth_SameAspectOtherSize_SameWorldState(int w1, int h1, int w2, int h2)
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var a = WorldClip.Describe(new ClipSettings(seed, w1, h1, 2, 8));
            var b = WorldClip.Describe(new ClipSettings(seed, w2, h2, 2, 8));
            Assert.Equal(a.Caption, b.Caption);
            Assert.Equal(a.Events, b.Events);
            double scale = (double)w2 / w1;
            for (int k = 0; k < a.Frames.Count; k++)
                for (int i = 0; i < a.Objects.Count; i++)
                {
                    var (oa, ob) = (a.Frames[k].Objects[i], b.Frames[k].Objects[i]);
                    Assert.Equal(oa.CenterWorld, ob.CenterWorld);
                    Assert.Equal(oa.Visible, ob.Visible);
                    Assert.True(Math.Abs(oa.CenterPx[0] * scale - ob.CenterPx[0]) < 1e-3);
                    Assert.True(Math.Abs(oa.CenterPx[1] * scale - ob.CenterPx[1]) < 1e-3);
                }
        }
    }

    [Fact]
    public void Truth_OtherFps_SameStateAtSameTime()
    {
        var a = WorldClip.Describe(new ClipSettings(5, 64, 64, 2, 8));
        var b = WorldClip.Describe(new ClipSettings(5, 64, 64, 2, 24));
        Assert.Equal(16, a.FrameCount);
        Assert.Equal(48, b.FrameCount);
        for (int k = 0; k < a.FrameCount; k++)
            Assert.Equal(a.Frames[k].Objects.Select(o => o.CenterWorld),
                         b.Frames[3 * k].Objects.Select(o => o.CenterWorld));
        Assert.Equal(a.Caption, b.Caption);
    }

    [Fact]
    public void Scene_OtherAspect_SameCast()
    {
        for (int seed = 0; seed < 10; seed++)
        {
            var wide = WorldClip.SceneFor(new ClipSettings(seed, 256, 144, 2, 8));
            var tall = WorldClip.SceneFor(new ClipSettings(seed, 64, 96, 2, 8));
            Assert.Equal(wide.Kind, tall.Kind);
            Assert.Equal(wide.Camera, tall.Camera);
            Assert.Equal(wide.Background, tall.Background);
            Assert.Equal(wide.Bodies.Select(b => (b.Shape, b.Colour, b.Size)).Order(),
                         tall.Bodies.Select(b => (b.Shape, b.Colour, b.Size)).Order());
            Assert.Equal(10, Math.Min(wide.WorldWidth, wide.WorldHeight));
            Assert.Equal(15, tall.WorldHeight, 9);
        }
    }

    [Fact]
    public void Rng_KnownSeed_KnownSequence()
    {
        // Pins the generator: a change here changes every dataset ever synthesised. SplitMix64's first output for
        // seed 0 is 0xE220A8397B1DCDAF (its published reference value).
        ulong x = 0;
        Assert.Equal(0xE220A8397B1DCDAFUL, WorldRng.SplitMix(ref x));
        var a = new WorldRng(7);
        var b = new WorldRng(7);
        for (int i = 0; i < 100; i++) Assert.Equal(a.Next(), b.Next());
    }
}
