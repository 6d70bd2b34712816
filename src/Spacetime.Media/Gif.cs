// Gif: animated GIF89a writer and reader.
// Write: one global palette for the whole video (Quantizer: exact when the video has <= 256 colours, else median cut
// + k-means), looping forever (NETSCAPE2.0), frame delays in 1/100 s rounded so that they add up to the true duration,
// and only the rectangle that changed since the previous frame is stored (disposal "leave in place"). The exact fps
// goes in a comment ("spacetime fps=8") so that our reader gives it back, since 1/100 s delays cannot hold 30 fps.
// Read: global and local palettes, transparency, interlacing and the three disposal methods, composited onto an RGB
// canvas; one output frame per image. A truncated or corrupt file throws MediaException.
using System.Globalization;
using System.Text;

namespace Spacetime.Media;

/// <summary>How to write a GIF.</summary>
/// <param name="Dither">None (default; flat colours stay flat) or ordered 4x4 Bayer dithering.</param>
/// <param name="MaxColors">Palette size, 2..256.</param>
public sealed record GifOptions(GifDither Dither = GifDither.None, int MaxColors = 256);

/// <summary>Animated GIF encoder and decoder.</summary>
public static class Gif
{
    const string FpsComment = "spacetime fps=";

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Writing

    /// <summary>Writes <paramref name="frames"/> as an animated GIF (atomically).</summary>
    public static void Write(string path, Frames frames, GifOptions? options = null)
        => AtomicFile.WriteAllBytes(path, Encode(frames, options));

    /// <summary>Encodes <paramref name="frames"/> as GIF bytes.</summary>
    public static byte[] Encode(Frames frames, GifOptions? options = null)
    {
        options ??= new GifOptions();
        if (frames.Count == 0)
            throw new ArgumentException("Gif.Encode: a GIF needs at least one frame.");
        if (frames.Width > 65535 || frames.Height > 65535)
            throw new ArgumentException($"Gif.Encode: {frames.Width}x{frames.Height} is larger than GIF allows (65535).");
        int w = frames.Width, h = frames.Height, n = w * h;
        var quantizer = new Quantizer(frames.Rgb, options.MaxColors);
        int tableBits = Math.Max(1, (int)Math.Ceiling(Math.Log2(quantizer.Count)));   // table holds 2^tableBits colours
        int minCodeSize = Math.Max(2, tableBits);

        var output = new List<byte>(n * frames.Count / 2 + 1024);
        output.AddRange("GIF89a"u8);
        AddU16(output, w);
        AddU16(output, h);
        output.Add((byte)(0x80 | 0x70 | (tableBits - 1)));    // global table, 8-bit colour resolution, its size
        output.Add(0);                                          // background colour index
        output.Add(0);                                          // pixel aspect ratio: unspecified (square)
        output.AddRange(quantizer.Palette);
        for (int i = quantizer.Count; i < 1 << tableBits; i++)
            output.AddRange([0, 0, 0]);
        if (frames.Count > 1)
        {
            output.AddRange([0x21, 0xFF, 11]);
            output.AddRange("NETSCAPE2.0"u8);
            output.AddRange([3, 1, 0, 0, 0]);                   // loop count 0 = forever
        }
        byte[] comment = Encoding.ASCII.GetBytes(FpsComment + frames.Fps.ToString("R", CultureInfo.InvariantCulture));
        output.AddRange([0x21, 0xFE, (byte)comment.Length]);
        output.AddRange(comment);
        output.Add(0);

        var current = new byte[n];
        var previous = new byte[n];
        var rect = new byte[n];
        var lzw = new MemoryStream(n);
        for (int t = 0; t < frames.Count; t++)
        {
            quantizer.Map(frames.Frame(t), current, w, options.Dither);
            var (x0, y0, x1, y1) = t == 0 ? (0, 0, w, h) : ChangedRectangle(current, previous, w, h);
            int rw = x1 - x0, rh = y1 - y0;
            for (int y = 0; y < rh; y++)
                current.AsSpan((y0 + y) * w + x0, rw).CopyTo(rect.AsSpan(y * rw, rw));

            int delay = Centiseconds(t + 1, frames.Fps) - Centiseconds(t, frames.Fps);
            output.AddRange([0x21, 0xF9, 4, 1 << 2]);           // graphic control: disposal 1 (leave in place)
            AddU16(output, delay);
            output.AddRange([0, 0]);                            // no transparent colour; block end
            output.Add(0x2C);                                   // image descriptor
            AddU16(output, x0);
            AddU16(output, y0);
            AddU16(output, rw);
            AddU16(output, rh);
            output.Add(0);                                      // no local table, not interlaced
            output.Add((byte)minCodeSize);
            lzw.SetLength(0);
            GifLzw.Encode(rect.AsSpan(0, rw * rh), minCodeSize, lzw);
            ReadOnlySpan<byte> packed = lzw.GetBuffer().AsSpan(0, (int)lzw.Length);
            for (int i = 0; i < packed.Length; i += 255)       // data sub-blocks of at most 255 bytes
            {
                int len = Math.Min(255, packed.Length - i);
                output.Add((byte)len);
                output.AddRange(packed.Slice(i, len));
            }
            output.Add(0);
            (current, previous) = (previous, current);
        }
        output.Add(0x3B);                                       // trailer
        return output.ToArray();
    }

    // Time of frame t in 1/100 s, rounded, so consecutive differences add up to the true duration.
    static int Centiseconds(int t, double fps) => (int)Math.Round(t * 100.0 / fps);

    // Bounding box [x0, x1) x [y0, y1) of the pixels that differ; a 1x1 box when nothing changed.
    static (int, int, int, int) ChangedRectangle(byte[] a, byte[] b, int w, int h)
    {
        int x0 = w, y0 = h, x1 = 0, y1 = 0;
        for (int y = 0; y < h; y++)
        {
            ReadOnlySpan<byte> ra = a.AsSpan(y * w, w), rb = b.AsSpan(y * w, w);
            int first = ra.CommonPrefixLength(rb);
            if (first == w)
                continue;
            int last = w - 1;
            while (ra[last] == rb[last])
                last--;
            (x0, x1, y0, y1) = (Math.Min(x0, first), Math.Max(x1, last + 1), Math.Min(y0, y), y + 1);
        }
        return x1 == 0 ? (0, 0, 1, 1) : (x0, y0, x1, y1);
    }

    static void AddU16(List<byte> output, int v)
    {
        output.Add((byte)v);
        output.Add((byte)(v >> 8));
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Reading

    /// <summary>Reads an animated (or still) GIF; <paramref name="defaultFps"/> is used when it has no delays.</summary>
    public static Frames Read(string path, double defaultFps = 10) => Decode(MediaFiles.ReadAllBytes(path), path, defaultFps);

    /// <summary>Frame count, size and fps without decoding the pixels.</summary>
    internal static VideoInfo Probe(string path, double defaultFps = 10)
    {
        var reader = new Reader(MediaFiles.ReadAllBytes(path), path);
        var (w, h, _) = reader.Header();
        var (count, delays, fps) = reader.Walk(null, defaultFps);
        return new VideoInfo(count, h, w, fps);
    }

    /// <summary>Decodes GIF bytes; <paramref name="name"/> is used in error messages.</summary>
    public static Frames Decode(byte[] bytes, string name, double defaultFps = 10)
    {
        var reader = new Reader(bytes, name);
        var (w, h, _) = reader.Header();
        var frames = new List<byte[]>();
        var (count, _, fps) = reader.Walk(frames, defaultFps);
        var rgb = new byte[(long)count * w * h * 3];
        for (int t = 0; t < count; t++)
            frames[t].CopyTo(rgb, (long)t * w * h * 3);
        return new Frames(count, h, w, fps, rgb);
    }

    // A cursor over GIF bytes; every read past the end throws "truncated".
    sealed class Reader(byte[] data, string name)
    {
        int pos;
        int width, height;
        byte[]? globalTable;

        byte U8() => pos < data.Length ? data[pos++] : throw Truncated();
        int U16() => U8() | (U8() << 8);
        MediaException Truncated() => new(name, "GIF file is truncated", "re-export or re-download the file");

        ReadOnlySpan<byte> Take(int n)
        {
            if (pos + n > data.Length)
                throw Truncated();
            pos += n;
            return data.AsSpan(pos - n, n);
        }

        public (int W, int H, byte[]? Table) Header()
        {
            if (data.Length < 6 || !(data.AsSpan(0, 6).SequenceEqual("GIF89a"u8) || data.AsSpan(0, 6).SequenceEqual("GIF87a"u8)))
                throw new MediaException(name, "not a GIF file (bad signature)", "check the file type or extension");
            pos = 6;
            width = U16();
            height = U16();
            int packed = U8();
            U8();                                               // background index: we clear to black, as browsers clear to transparent
            U8();
            if ((packed & 0x80) != 0)
                globalTable = Take(3 << ((packed & 7) + 1)).ToArray();
            if (width == 0 || height == 0)
                throw new MediaException(name, "GIF has a zero width or height", "the file is corrupt");
            return (width, height, globalTable);
        }

        // Walks every block; when `frames` is given, decodes and composites each image into it.
        public (int Count, int Centiseconds, double Fps) Walk(List<byte[]>? frames, double defaultFps)
        {
            var canvas = frames != null ? new byte[width * height * 3] : [];
            int count = 0, totalDelay = 0, delay = 0, disposal = 0, transparent = -1;
            double? commentFps = null;
            while (true)
            {
                int block = U8();
                if (block == 0x3B)
                    break;
                if (block == 0x21)
                {
                    int label = U8();
                    byte[] body = SubBlocks();
                    if (label == 0xF9 && body.Length >= 4)
                    {
                        disposal = (body[0] >> 2) & 7;
                        delay = body[1] | (body[2] << 8);
                        transparent = (body[0] & 1) != 0 ? body[3] : -1;
                    }
                    else if (label == 0xFE)
                    {
                        string text = Encoding.ASCII.GetString(body);
                        if (text.StartsWith(FpsComment, StringComparison.Ordinal) &&
                            double.TryParse(text[FpsComment.Length..], NumberStyles.Float, CultureInfo.InvariantCulture,
                                            out double f) && f > 0)
                            commentFps = f;
                    }
                    continue;
                }
                if (block != 0x2C)
                    throw new MediaException(name, $"GIF has an unknown block type 0x{block:X2} (the file is corrupt)",
                                             "re-export or re-download the file");
                int x = U16(), y = U16(), w = U16(), h = U16(), packed = U8();
                byte[]? table = (packed & 0x80) != 0 ? Take(3 << ((packed & 7) + 1)).ToArray() : globalTable;
                int minCodeSize = U8();
                byte[] lzw = SubBlocks();
                if (frames != null)
                {
                    if (table == null)
                        throw new MediaException(name, "GIF image has no colour table", "the file is corrupt");
                    var saved = disposal == 3 ? (byte[])canvas.Clone() : null;
                    var indices = new byte[w * h];
                    GifLzw.Decode(lzw, minCodeSize, indices, name);   // a short image leaves index 0, as browsers do
                    Composite(canvas, indices, table, x, y, w, h, (packed & 0x40) != 0, transparent);
                    frames.Add((byte[])canvas.Clone());
                    if (disposal == 2)
                        ClearRect(canvas, x, y, w, h);
                    else if (saved != null)
                        canvas = saved;
                }
                count++;
                totalDelay += delay;
                (delay, disposal, transparent) = (0, 0, -1);
            }
            if (count == 0)
                throw new MediaException(name, "GIF has no images", "the file is corrupt");
            double fps = commentFps ?? (totalDelay > 0 ? count * 100.0 / totalDelay : defaultFps);
            return (count, totalDelay, fps);
        }

        byte[] SubBlocks()
        {
            var body = new List<byte>();
            while (true)
            {
                int len = U8();
                if (len == 0)
                    return body.ToArray();
                body.AddRange(Take(len));
            }
        }

        void Composite(byte[] canvas, byte[] indices, byte[] table, int x0, int y0, int w, int h, bool interlaced,
                       int transparent)
        {
            for (int row = 0; row < h; row++)
            {
                int y = y0 + (interlaced ? InterlacedRow(row, h) : row);
                if (y >= height)
                    continue;
                for (int col = 0; col < w; col++)
                {
                    int x = x0 + col, index = indices[row * w + col];
                    if (x >= width || index == transparent || index * 3 + 2 >= table.Length)
                        continue;
                    int o = (y * width + x) * 3;
                    (canvas[o], canvas[o + 1], canvas[o + 2]) = (table[index * 3], table[index * 3 + 1], table[index * 3 + 2]);
                }
            }
        }

        void ClearRect(byte[] canvas, int x0, int y0, int w, int h)
        {
            for (int y = y0; y < Math.Min(height, y0 + h); y++)
                for (int x = x0; x < Math.Min(width, x0 + w); x++)
                    canvas.AsSpan((y * width + x) * 3, 3).Clear();
        }

        // Row r of an interlaced image is stored in four passes: every 8th row from 0, every 8th from 4,
        // every 4th from 2, every 2nd from 1.
        static int InterlacedRow(int r, int h)
        {
            int pass1 = (h + 7) / 8, pass2 = (h + 3) / 8, pass3 = (h + 1) / 4;
            if (r < pass1) return r * 8;
            r -= pass1;
            if (r < pass2) return 4 + r * 8;
            r -= pass2;
            if (r < pass3) return 2 + r * 4;
            return 1 + (r - pass3) * 2;
        }
    }
}
