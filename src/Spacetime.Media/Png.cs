// Png: PNG still images (ISO/IEC 15948), written and read without any third-party code.
// Write: 8-bit RGB, non-interlaced, each row filtered with whichever of the five filters gives the smallest sum of
// absolute values (the spec's suggested heuristic), zlib through System.IO.Compression, optional tEXt chunks.
// Read: every colour type (grey, RGB, palette, grey+alpha, RGBA), bit depths 1/2/4/8/16, all five filters, Adam7
// interlacing, CRC checked. Alpha is dropped (like PIL's convert("RGB")), 16-bit samples keep their high byte.
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Spacetime.Media;

/// <summary>An 8-bit RGB image read from a PNG, with its tEXt key/value pairs.</summary>
public sealed record PngImage(int Width, int Height, byte[] Rgb, IReadOnlyDictionary<string, string> Text);

/// <summary>PNG encoder and decoder.</summary>
public static class Png
{
    static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Writing

    /// <summary>Writes an H x W x 3 RGB image to <paramref name="path"/> (atomically).</summary>
    public static void WriteImage(string path, ReadOnlySpan<byte> rgb, int width, int height,
                                  IReadOnlyDictionary<string, string>? text = null)
        => AtomicFile.WriteAllBytes(path, Encode(rgb, width, height, text));

    /// <summary>Encodes an H x W x 3 RGB image as PNG bytes.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> rgb, int width, int height,
                                IReadOnlyDictionary<string, string>? text = null,
                                CompressionLevel level = CompressionLevel.Fastest)
    {
        if (width <= 0 || height <= 0 || rgb.Length != width * height * 3)
            throw new ArgumentException($"Png.Encode: {rgb.Length} bytes is not {width}x{height}x3.");
        int stride = width * 3;
        var filtered = new byte[height * (stride + 1)];                  // (H, 1 + W*3): filter byte, then the row
        var trialBuffer = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            ReadOnlySpan<byte> row = rgb.Slice(y * stride, stride);
            ReadOnlySpan<byte> prior = y > 0 ? rgb.Slice((y - 1) * stride, stride) : ReadOnlySpan<byte>.Empty;
            Span<byte> dest = filtered.AsSpan(y * (stride + 1) + 1, stride);
            long best = long.MaxValue;
            for (int f = 0; f < 5; f++)
            {
                long cost = FilterRow(trialBuffer, row, prior, f, bpp: 3);
                if (cost < best)
                {
                    best = cost;
                    filtered[y * (stride + 1)] = (byte)f;
                    trialBuffer.CopyTo(dest);
                }
            }
        }

        using var output = new MemoryStream();
        output.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;        // bit depth
        ihdr[9] = 2;        // colour type: RGB
        ihdr[10] = 0;       // compression: deflate
        ihdr[11] = 0;       // filter method: adaptive
        ihdr[12] = 0;       // interlace: none
        WriteChunk(output, "IHDR", ihdr);
        if (text != null)
            foreach (var (key, value) in text)
                WriteChunk(output, "tEXt", Encoding.Latin1.GetBytes(key + "\0" + value));
        using (var z = new MemoryStream())
        {
            using (var zlib = new ZLibStream(z, level, leaveOpen: true))
                zlib.Write(filtered);
            WriteChunk(output, "IDAT", z.GetBuffer().AsSpan(0, (int)z.Length));
        }
        WriteChunk(output, "IEND", ReadOnlySpan<byte>.Empty);
        return output.ToArray();
    }

    // Applies filter f to one row; returns the sum of |signed byte| used to pick the filter. prior is empty on row 0.
    static long FilterRow(Span<byte> dest, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prior, int f, int bpp)
    {
        long cost = 0;
        for (int i = 0; i < row.Length; i++)
        {
            int a = i >= bpp ? row[i - bpp] : 0;                     // left
            int b = prior.IsEmpty ? 0 : prior[i];                    // up
            int c = i >= bpp && !prior.IsEmpty ? prior[i - bpp] : 0; // up-left
            int predicted = f switch { 0 => 0, 1 => a, 2 => b, 3 => (a + b) >> 1, _ => Paeth(a, b, c) };
            byte v = (byte)(row[i] - predicted);
            dest[i] = v;
            cost += v < 128 ? v : 256 - v;                          // |v| read as a signed byte
        }
        return cost;
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c;
        int pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        Encoding.ASCII.GetBytes(type, head[4..]);
        s.Write(head);
        s.Write(data);
        Span<byte> crc = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Compute(head[4..], data));
        s.Write(crc);
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Reading

    /// <summary>Reads a PNG file; a truncated or corrupt file throws <see cref="MediaException"/> naming it.</summary>
    public static PngImage ReadImage(string path) => Decode(MediaFiles.ReadAllBytes(path), path);

    /// <summary>Reads only the header and text chunks (fast).</summary>
    internal static (int Width, int Height, IReadOnlyDictionary<string, string> Text) ReadHeader(string path)
    {
        var png = Parse(MediaFiles.ReadAllBytes(path), path, headerOnly: true);
        return (png.Width, png.Height, png.Text);
    }

    /// <summary>Decodes PNG bytes; <paramref name="name"/> is used in error messages.</summary>
    public static PngImage Decode(byte[] bytes, string name)
    {
        var png = Parse(bytes, name, headerOnly: false);
        byte[] raw = Inflate(png.Idat, name);
        var rgb = new byte[png.Width * png.Height * 3];
        int bitsPerPixel = png.BitDepth * Channels(png.ColorType);
        int bpp = Math.Max(1, bitsPerPixel / 8);                       // filter distance in bytes
        int pos = 0;
        foreach (var (x0, y0, dx, dy) in Passes(png.Interlace))
        {
            int passW = (png.Width - x0 + dx - 1) / dx, passH = (png.Height - y0 + dy - 1) / dy;
            if (passW <= 0 || passH <= 0)
                continue;
            int rowBytes = (passW * bitsPerPixel + 7) / 8;
            var prior = new byte[rowBytes];
            var row = new byte[rowBytes];
            for (int py = 0; py < passH; py++)
            {
                if (pos + 1 + rowBytes > raw.Length)
                    throw new MediaException(name, "PNG image data is truncated", "re-export or re-download the file");
                int filter = raw[pos];
                raw.AsSpan(pos + 1, rowBytes).CopyTo(row);
                pos += 1 + rowBytes;
                Unfilter(row, prior, filter, bpp, name);
                for (int px = 0; px < passW; px++)
                    StorePixel(rgb, (y0 + py * dy) * png.Width + x0 + px * dx, row, px, png);
                (prior, row) = (row, prior);
            }
        }
        return new PngImage(png.Width, png.Height, rgb, png.Text);
    }

    sealed record Parsed(int Width, int Height, int BitDepth, int ColorType, int Interlace, byte[] Palette,
                         byte[] Idat, IReadOnlyDictionary<string, string> Text);

    static Parsed Parse(byte[] bytes, string name, bool headerOnly)
    {
        if (bytes.Length < 8 || !bytes.AsSpan(0, 8).SequenceEqual(Signature))
            throw new MediaException(name, "not a PNG file (bad signature)", "check the file type or extension");
        int pos = 8;
        int width = 0, height = 0, depth = 0, colorType = 0, interlace = 0;
        byte[] palette = [];
        var idat = new MemoryStream();
        var text = new Dictionary<string, string>();
        bool seenHeader = false, seenEnd = false;
        while (!seenEnd)
        {
            if (pos + 12 > bytes.Length)
                throw new MediaException(name, "PNG file is truncated (no IEND chunk)", "re-export or re-download the file");
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(pos));
            string type = Encoding.ASCII.GetString(bytes, pos + 4, 4);
            if (length < 0 || pos + 12L + length > bytes.Length)
                throw new MediaException(name, $"PNG file is truncated inside the {type} chunk", "re-export or re-download the file");
            ReadOnlySpan<byte> data = bytes.AsSpan(pos + 8, length);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(pos + 8 + length));
            if (stored != Crc32.Compute(bytes.AsSpan(pos + 4, 4), data))
                throw new MediaException(name, $"PNG {type} chunk fails its CRC check (the file is corrupt)",
                                         "re-export or re-download the file");
            pos += 12 + length;
            switch (type)
            {
                case "IHDR":
                    if (length != 13)
                        throw new MediaException(name, "PNG header chunk has the wrong length", "the file is corrupt");
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    (depth, colorType, interlace) = (data[8], data[9], data[12]);
                    CheckHeader(name, width, height, depth, colorType, data[10], data[11], interlace);
                    seenHeader = true;
                    break;
                case "PLTE": palette = data.ToArray(); break;
                case "IDAT": idat.Write(data); break;
                case "IEND": seenEnd = true; break;
                case "tEXt":
                    int zero = data.IndexOf((byte)0);
                    if (zero > 0)
                        text[Encoding.Latin1.GetString(data[..zero])] = Encoding.Latin1.GetString(data[(zero + 1)..]);
                    break;
            }
            if (!seenHeader)
                throw new MediaException(name, "PNG does not start with an IHDR chunk", "the file is corrupt");
            if (headerOnly && type == "IDAT")
                break;
        }
        if (!headerOnly && colorType == 3 && palette.Length < 3)
            throw new MediaException(name, "palette PNG has no PLTE chunk", "the file is corrupt");
        return new Parsed(width, height, depth, colorType, interlace, palette, idat.ToArray(), text);
    }

    static void CheckHeader(string name, int width, int height, int depth, int colorType, int compression, int filter,
                            int interlace)
    {
        bool depthOk = colorType switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => false,
        };
        if (width <= 0 || height <= 0 || (long)width * height > 1L << 28)
            throw new MediaException(name, $"PNG size {width}x{height} is invalid or too large", "the file is corrupt");
        if (!depthOk || compression != 0 || filter != 0 || interlace > 1)
            throw new MediaException(name, $"unsupported PNG format (colour type {colorType}, bit depth {depth})",
                                     "convert it to 8-bit RGB PNG");
    }

    static byte[] Inflate(byte[] idat, string name)
    {
        try
        {
            using var zlib = new ZLibStream(new MemoryStream(idat), CompressionMode.Decompress);
            using var output = new MemoryStream();
            zlib.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new MediaException(name, "PNG image data is corrupt or truncated (zlib: " + e.Message.TrimEnd('.') + ")",
                                     "re-export or re-download the file", e);
        }
    }

    static int Channels(int colorType) => colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };

    // (x0, y0, dx, dy) of each pass: one pass when not interlaced, the seven Adam7 passes otherwise.
    static (int, int, int, int)[] Passes(int interlace) => interlace == 0
        ? [(0, 0, 1, 1)]
        : [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    // Undoes one row's filter in place; prior is the previous unfiltered row of the same pass (zeros on the first).
    internal static void Unfilter(Span<byte> row, ReadOnlySpan<byte> prior, int filter, int bpp, string name)
    {
        switch (filter)
        {
            case 0: break;
            case 1: for (int i = bpp; i < row.Length; i++) row[i] += row[i - bpp]; break;
            case 2: for (int i = 0; i < row.Length; i++) row[i] += prior[i]; break;
            case 3:
                for (int i = 0; i < row.Length; i++)
                    row[i] += (byte)(((i >= bpp ? row[i - bpp] : 0) + prior[i]) >> 1);
                break;
            case 4:
                for (int i = 0; i < row.Length; i++)
                    row[i] += (byte)(i >= bpp ? Paeth(row[i - bpp], prior[i], prior[i - bpp]) : Paeth(0, prior[i], 0));
                break;
            default:
                throw new MediaException(name, $"PNG row has unknown filter type {filter} (the file is corrupt)",
                                         "re-export or re-download the file");
        }
    }

    // Converts pixel px of an unfiltered row to RGB at pixel index dst.
    static void StorePixel(byte[] rgb, int dst, byte[] row, int px, Parsed png)
    {
        int o = dst * 3;
        if (png.BitDepth < 8)                                           // grey or palette, packed high bit first
        {
            int bitPos = px * png.BitDepth;
            int v = (row[bitPos >> 3] >> (8 - png.BitDepth - (bitPos & 7))) & ((1 << png.BitDepth) - 1);
            if (png.ColorType == 3)
                SetFromPalette(rgb, o, png.Palette, v);
            else
                rgb[o] = rgb[o + 1] = rgb[o + 2] = (byte)(v * 255 / ((1 << png.BitDepth) - 1));
            return;
        }
        int sampleBytes = png.BitDepth / 8;
        int s = px * Channels(png.ColorType) * sampleBytes;            // first sample; high byte first when 16-bit
        switch (png.ColorType)
        {
            case 0: case 4: rgb[o] = rgb[o + 1] = rgb[o + 2] = row[s]; break;
            case 3: SetFromPalette(rgb, o, png.Palette, row[s]); break;
            default:
                rgb[o] = row[s];
                rgb[o + 1] = row[s + sampleBytes];
                rgb[o + 2] = row[s + 2 * sampleBytes];
                break;
        }
    }

    static void SetFromPalette(byte[] rgb, int o, byte[] palette, int index)
    {
        if (index * 3 + 2 < palette.Length)
            (rgb[o], rgb[o + 1], rgb[o + 2]) = (palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2]);
    }
}
