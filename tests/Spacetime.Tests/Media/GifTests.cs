// GIF: LZW round trips (including table resets), palette error on a many-colour video, exactness on a few-colour
// video, ffmpeg decoding our files to the same pixels, our reader decoding ffmpeg's files, and truncated files.
using Spacetime.Media;

namespace Spacetime.Tests.Media;

public class GifTests
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 2)]
    [InlineData(1000, 2)]
    [InlineData(70000, 4)]      // long enough to fill the 4096-code table several times
    [InlineData(70000, 8)]
    public void GifLzw_EncodeThenDecode_GivesIndicesBack(int length, int minCodeSize)
    {
        var rng = new Random(length + minCodeSize);
        var indices = new byte[length];
        for (int i = 0; i < length; i++)                                   // runs and noise, like real images
            indices[i] = i > 0 && rng.Next(3) > 0 ? indices[i - 1] : (byte)rng.Next(1 << minCodeSize);
        var packed = new MemoryStream();
        GifLzw.Encode(indices, minCodeSize, packed);
        var back = new byte[length];
        Assert.Equal(length, GifLzw.Decode(packed.ToArray(), minCodeSize, back, "test"));
        Assert.Equal(indices, back);
    }

    [Fact]
    public void Gif_ManyColors_RoundTripWithinPaletteError()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(16, 64, 64);
        Gif.Write(dir.File("v.gif"), video);
        var back = Gif.Read(dir.File("v.gif"));
        Assert.Equal((16, 64, 64, 8.0), (back.Count, back.Height, back.Width, back.Fps));
        var (mean, max) = MediaTestKit.Error(video.Rgb, back.Rgb);
        // 256 colours for a gradient + soft edges: median cut keeps the mean error near one level; the worst pixel
        // is an anti-aliased edge blend that no palette entry is close to.
        Assert.True(mean < 1.5 && max <= 24, $"palette error mean {mean:F2}, max {max}");
    }

    [Fact]
    public void Gif_FewColors_IsExact()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.Noise(5, 20, 30, seed: 4);
        for (int i = 0; i < video.Rgb.Length; i++)
            video.Rgb[i] = (byte)(video.Rgb[i] & 0xC0);                    // 4 levels per channel: 64 colours
        Gif.Write(dir.File("f.gif"), video);
        Assert.Equal(video.Rgb, Gif.Read(dir.File("f.gif")).Rgb);
    }

    [Theory]
    [InlineData(GifDither.None)]
    [InlineData(GifDither.Ordered)]
    public void Gif_DecodedByFfmpeg_MatchesOurPixels(GifDither dither)
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(8, 48, 64);
        string path = dir.File("d.gif");
        Gif.Write(path, video, new GifOptions(dither));
        byte[] ffmpeg = MediaTestKit.FfmpegDecode(path);
        Assert.Equal(Gif.Read(path).Rgb, ffmpeg);                          // same decoding, bit for bit
        var (mean, _) = MediaTestKit.Error(video.Rgb, ffmpeg);
        Assert.True(mean < (dither == GifDither.None ? 1.5 : 4.0), $"palette error mean {mean:F2}");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Gif_WrittenByFfmpeg_DecodesLikeFfmpeg()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(6, 32, 40);
        string path = dir.File("ff.gif");
        MediaTestKit.FfmpegEncode(video, path);                            // ffmpeg uses sub-rectangles and transparency
        Assert.Equal(MediaTestKit.FfmpegDecode(path), Gif.Read(path).Rgb);
    }

    [Fact]
    public void Gif_NonIntegerFps_KeptExactly()
    {
        using var dir = new TempDir();
        Gif.Write(dir.File("f.gif"), MediaTestKit.Noise(3, 4, 4, seed: 5, fps: 29.97));
        Assert.Equal(29.97, Gif.Read(dir.File("f.gif")).Fps);
        Assert.Equal(new VideoInfo(3, 4, 4, 29.97), VideoFile.Probe(dir.File("f.gif")));
    }

    [Fact]
    public void Gif_Truncated_ThrowsMediaExceptionNamingFile()
    {
        using var dir = new TempDir();
        string path = dir.File("t.gif");
        Gif.Write(path, MediaTestKit.MovingShapes(4, 16, 16));
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { 3, 12, bytes.Length / 2, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes[..keep]);
            var e = Assert.Throws<MediaException>(() => Gif.Read(path));
            Assert.Contains(path, e.Message);
        }
    }
}
