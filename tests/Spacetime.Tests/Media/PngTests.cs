// PNG: exact round trips, every filter type on read (hand-made files and ffmpeg's -pred mixed), every colour type
// ffmpeg writes, and clear errors for truncated or corrupt files.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Spacetime.Media;

namespace Spacetime.Tests.Media;

public class PngTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(7, 5)]
    [InlineData(64, 96)]
    public void Png_RoundTrip_IsExact(int width, int height)
    {
        using var dir = new TempDir();
        var image = MediaTestKit.Noise(1, height, width, seed: 1);
        Png.WriteImage(dir.File("a.png"), image.Rgb, width, height, new Dictionary<string, string> { ["k"] = "v" });
        var back = Png.ReadImage(dir.File("a.png"));
        Assert.Equal((width, height), (back.Width, back.Height));
        Assert.Equal(image.Rgb, back.Rgb);
        Assert.Equal("v", back.Text["k"]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(-1)]   // row y uses filter y % 5
    public void Png_HandMadeFilter_DecodesExactly(int filter)
    {
        var image = MediaTestKit.MovingShapes(1, 13, 11);
        byte[] png = HandMadePng(image.Rgb, 11, 13, y => filter >= 0 ? filter : y % 5);
        var back = Png.Decode(png, "hand-made.png");
        Assert.Equal(image.Rgb, back.Rgb);
    }

    [Fact]
    public void Png_FfmpegPredMixed_DecodesLikeFfmpeg()
    {
        using var dir = new TempDir();
        var image = MediaTestKit.MovingShapes(1, 40, 56);
        MediaTestKit.FfmpegEncode(image, dir.File("mixed.png"), "-pred", "mixed", "-frames:v", "1");
        Assert.Equal(image.Rgb, Png.ReadImage(dir.File("mixed.png")).Rgb);
    }

    [Trait("Category", "Slow")]
    [Theory]
    [InlineData("gray", 0)]
    [InlineData("pal8", 0)]
    [InlineData("rgba", 0)]
    [InlineData("ya8", 0)]
    [InlineData("monob", 0)]
    [InlineData("rgb48be", 1)]      // 16-bit: we keep the high byte, ffmpeg rounds, so they may differ by one level
    [InlineData("gray16be", 1)]
    public void Png_FfmpegColorTypes_DecodeLikeFfmpeg(string pixelFormat, int tolerance)
    {
        using var dir = new TempDir();
        var image = MediaTestKit.MovingShapes(1, 24, 30);
        string path = dir.File("c.png");
        MediaTestKit.FfmpegEncode(image, path, "-pix_fmt", pixelFormat, "-frames:v", "1");
        var (_, max) = MediaTestKit.Error(MediaTestKit.FfmpegDecode(path), Png.ReadImage(path).Rgb);
        Assert.True(max <= tolerance, $"{pixelFormat}: max difference {max} from ffmpeg's decoding");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void Png_Interlaced_DecodesLikeFfmpeg()
    {
        using var dir = new TempDir();
        var image = MediaTestKit.MovingShapes(1, 19, 23);
        string path = dir.File("i.png");
        MediaTestKit.FfmpegEncode(image, path, "-flags", "+ildct", "-frames:v", "1");
        Assert.Equal(image.Rgb, Png.ReadImage(path).Rgb);
    }

    [Fact]
    public void Png_OurFile_DecodedByFfmpeg_IsExact()
    {
        using var dir = new TempDir();
        var image = MediaTestKit.MovingShapes(1, 48, 64);
        Png.WriteImage(dir.File("o.png"), image.Rgb, 64, 48);
        Assert.Equal(image.Rgb, MediaTestKit.FfmpegDecode(dir.File("o.png")));
    }

    [Fact]
    public void Png_Truncated_ThrowsMediaExceptionNamingFile()
    {
        using var dir = new TempDir();
        var image = MediaTestKit.Noise(1, 32, 32, seed: 2);
        string path = dir.File("t.png");
        Png.WriteImage(path, image.Rgb, 32, 32);
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { 4, 20, bytes.Length / 2, bytes.Length - 5 })
        {
            File.WriteAllBytes(path, bytes[..keep]);
            var e = Assert.Throws<MediaException>(() => Png.ReadImage(path));
            Assert.Contains(path, e.Message);
            Assert.DoesNotContain('\n', e.Message);
        }
    }

    [Fact]
    public void Png_CorruptByte_FailsCrc()
    {
        using var dir = new TempDir();
        string path = dir.File("c.png");
        Png.WriteImage(path, MediaTestKit.Noise(1, 8, 8, seed: 3).Rgb, 8, 8);
        byte[] bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<MediaException>(() => Png.ReadImage(path));
        Assert.Contains("CRC", e.Message);
    }

    // Builds an 8-bit RGB PNG whose row y uses filter filterOf(y), with the filters written out here, apart from Png.
    static byte[] HandMadePng(byte[] rgb, int width, int height, Func<int, int> filterOf)
    {
        int stride = width * 3;
        var raw = new byte[height * (stride + 1)];
        for (int y = 0; y < height; y++)
        {
            int f = filterOf(y);
            raw[y * (stride + 1)] = (byte)f;
            for (int i = 0; i < stride; i++)
            {
                int x = rgb[y * stride + i];
                int a = i >= 3 ? rgb[y * stride + i - 3] : 0;
                int b = y > 0 ? rgb[(y - 1) * stride + i] : 0;
                int c = i >= 3 && y > 0 ? rgb[(y - 1) * stride + i - 3] : 0;
                int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                int paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                int pred = f switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) / 2, _ => paeth };
                raw[y * (stride + 1) + 1 + i] = (byte)(x - pred);
            }
        }
        var z = new MemoryStream();
        using (var zlib = new ZLibStream(z, CompressionLevel.Optimal, leaveOpen: true))
            zlib.Write(raw);
        var png = new MemoryStream();
        png.Write([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        (ihdr[8], ihdr[9]) = (8, 2);
        Chunk(png, "IHDR", ihdr);
        byte[] zdata = z.ToArray();
        Chunk(png, "IDAT", zdata[..(zdata.Length / 2)]);                // split IDAT across two chunks
        Chunk(png, "IDAT", zdata[(zdata.Length / 2)..]);
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(head, 4);
        s.Write(head);
        s.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, ReferenceCrc([.. head[4..], .. data]));
        s.Write(crc);
    }

    // Bitwise CRC-32, the slow reference for the table-driven one.
    static uint ReferenceCrc(byte[] bytes)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            c ^= b;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }
}
