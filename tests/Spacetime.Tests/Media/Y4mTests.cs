// Y4M: 4:4:4 round trip within BT.601 8-bit rounding, 4:2:0 within chroma error, ffmpeg agreement both ways.
using Spacetime.Media;

namespace Spacetime.Tests.Media;

public class Y4mTests
{
    [Fact]
    public void Y4m_444_RoundTripWithinRounding()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.Noise(3, 17, 23, seed: 6, fps: 30000.0 / 1001);
        Y4m.Write(dir.File("a.y4m"), video);
        var back = Y4m.Read(dir.File("a.y4m"));
        Assert.Equal((3, 17, 23), (back.Count, back.Height, back.Width));
        Assert.Equal(30000.0 / 1001, back.Fps, 9);
        var (mean, max) = MediaTestKit.Error(video.Rgb, back.Rgb);
        // Exact is impossible: 8-bit YCbCr holds ~1/4 as many valid colours as 8-bit RGB. The error is rounding only.
        Assert.True(max <= 2 && mean < 0.6, $"4:4:4 error mean {mean:F2}, max {max}");
    }

    [Fact]
    public void Y4m_420_RoundTripWithinChromaError()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(4, 32, 48);
        Y4m.Write(dir.File("b.y4m"), video, Y4mChroma.C420);
        var (mean, max) = MediaTestKit.Error(video.Rgb, Y4m.Read(dir.File("b.y4m")).Rgb);
        // Chroma is shared by 2x2 pixels: smooth areas stay within rounding; only colour edges lose detail.
        Assert.True(mean < 3 && max <= 120, $"4:2:0 error mean {mean:F2}, max {max}");
    }

    [Trait("Category", "Slow")]
    [Theory]
    [InlineData(Y4mChroma.C444)]
    [InlineData(Y4mChroma.C420)]
    public void Y4m_DecodedByFfmpeg_MatchesOurPixels(Y4mChroma chroma)
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(3, 24, 32);
        Y4m.Write(dir.File("c.y4m"), video, chroma);
        var (mean, _) = MediaTestKit.Error(Y4m.Read(dir.File("c.y4m")).Rgb, MediaTestKit.FfmpegDecode(dir.File("c.y4m")));
        // ffmpeg upsamples 4:2:0 chroma bilinearly where we take the nearest sample, and rounds in fixed point.
        Assert.True(mean < (chroma == Y4mChroma.C444 ? 1.0 : 3.0), $"mean difference from ffmpeg {mean:F2}");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Y4m_WrittenByFfmpeg_Limited420_DecodesLikeFfmpeg()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(2, 24, 32);
        MediaTestKit.FfmpegEncode(video, dir.File("f.y4m"), "-pix_fmt", "yuv420p");
        var ours = Y4m.Read(dir.File("f.y4m"));
        var (mean, _) = MediaTestKit.Error(ours.Rgb, MediaTestKit.FfmpegDecode(dir.File("f.y4m")));
        Assert.True(mean < 3.0, $"mean difference from ffmpeg {mean:F2}");
        Assert.Equal(8.0, ours.Fps);
    }

    [Fact]
    public void Y4m_Truncated_ThrowsMediaExceptionNamingFile()
    {
        using var dir = new TempDir();
        string path = dir.File("t.y4m");
        Y4m.Write(path, MediaTestKit.Noise(3, 8, 8, seed: 7));
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { 5, bytes.Length - 10 })
        {
            File.WriteAllBytes(path, bytes[..keep]);
            var e = Assert.Throws<MediaException>(() => Y4m.Read(path));
            Assert.Contains(path, e.Message);
        }
    }
}
