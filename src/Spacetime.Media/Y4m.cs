// Y4m: YUV4MPEG2, the uncompressed video format of mjpegtools, x264 and ffmpeg ("ffmpeg -i a.y4m").
// Write: 4:4:4 (default) or 4:2:0 (2x2 chroma mean), 8-bit BT.601. We write full range and say so with
// XCOLORRANGE=FULL, which ffmpeg honours, because it keeps more levels than the 16..235 studio range.
// Read: 4:2:0 (jpeg/mpeg2/paldv sitings; chroma upsampled by nearest sample), 4:2:2, 4:4:4 and mono, 8-bit;
// XCOLORRANGE=FULL/LIMITED, limited when absent (the YUV4MPEG2 convention).
// 8-bit RGB -> YCbCr -> RGB cannot be exact: the RGB cube maps to about a quarter of the YCbCr code cube (the
// matrix determinant is ~0.25 per channel-volume), so some colours must share codes; the round trip is within 1-2.
using System.Globalization;
using System.Text;

namespace Spacetime.Media;

/// <summary>Chroma subsampling of a Y4M file we write.</summary>
public enum Y4mChroma { C444, C420 }

/// <summary>YUV4MPEG2 encoder and decoder.</summary>
public static class Y4m
{
    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // BT.601 colour conversion. Full range: Y = 0.299 R + 0.587 G + 0.114 B, Cb, Cr = 128 + scaled differences.

    static void RgbToYcc(int r, int g, int b, out double y, out double cb, out double cr)
    {
        y = 0.299 * r + 0.587 * g + 0.114 * b;
        cb = 128 + (b - y) * (0.5 / 0.886);
        cr = 128 + (r - y) * (0.5 / 0.701);
    }

    static void YccToRgb(double y, double cb, double cr, Span<byte> rgb)
    {
        double r = y + 1.402 * (cr - 128);
        double b = y + 1.772 * (cb - 128);
        double g = (y - 0.299 * r - 0.114 * b) / 0.587;
        rgb[0] = ToByte(r);
        rgb[1] = ToByte(g);
        rgb[2] = ToByte(b);
    }

    static byte ToByte(double v) => (byte)Math.Clamp((int)Math.Round(v), 0, 255);

    // Limited ("tv") range stores Y in 16..235 and chroma in 16..240.
    static double LimitedToFullY(int v) => (v - 16) * (255.0 / 219.0);
    static double LimitedToFullC(int v) => (v - 128) * (255.0 / 224.0) + 128;

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Writing

    /// <summary>Writes <paramref name="frames"/> as Y4M (atomically).</summary>
    public static void Write(string path, Frames frames, Y4mChroma chroma = Y4mChroma.C444)
        => AtomicFile.Write(path, temp =>
        {
            using var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
            Encode(fs, frames, chroma);
        });

    /// <summary>Writes Y4M to a stream.</summary>
    public static void Encode(Stream output, Frames frames, Y4mChroma chroma = Y4mChroma.C444)
    {
        int w = frames.Width, h = frames.Height;
        var (num, den) = Rational(frames.Fps);
        string tag = chroma == Y4mChroma.C444 ? "C444" : "C420jpeg";
        output.Write(Encoding.ASCII.GetBytes($"YUV4MPEG2 W{w} H{h} F{num}:{den} Ip A1:1 {tag} XCOLORRANGE=FULL\n"));
        int cw = chroma == Y4mChroma.C444 ? w : (w + 1) / 2, ch = chroma == Y4mChroma.C444 ? h : (h + 1) / 2;
        var plane = new byte[w * h + 2 * cw * ch];               // Y (H, W), then Cb and Cr (CH, CW)
        var cbFull = new double[w * h];
        var crFull = new double[w * h];
        for (int t = 0; t < frames.Count; t++)
        {
            ReadOnlySpan<byte> rgb = frames.Frame(t);
            for (int i = 0; i < w * h; i++)
            {
                RgbToYcc(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2], out double y, out cbFull[i], out crFull[i]);
                plane[i] = ToByte(y);
            }
            for (int cy = 0; cy < ch; cy++)
                for (int cx = 0; cx < cw; cx++)
                {
                    double cb = 0, cr = 0;
                    int n = 0;
                    int s = chroma == Y4mChroma.C444 ? 1 : 2;            // each chroma sample covers s x s pixels
                    for (int y = cy * s; y < Math.Min(h, cy * s + s); y++)
                        for (int x = cx * s; x < Math.Min(w, cx * s + s); x++, n++)
                        {
                            cb += cbFull[y * w + x];
                            cr += crFull[y * w + x];
                        }
                    plane[w * h + cy * cw + cx] = ToByte(cb / n);
                    plane[w * h + cw * ch + cy * cw + cx] = ToByte(cr / n);
                }
            output.Write("FRAME\n"u8);
            output.Write(plane);
        }
    }

    // fps as num:den: integers exactly, NTSC rates as n*1000/1001, anything else in thousandths.
    static (long, long) Rational(double fps)
    {
        if (Math.Abs(fps - Math.Round(fps)) < 1e-9)
            return ((long)Math.Round(fps), 1);
        double ntsc = fps * 1001 / 1000;
        if (Math.Abs(ntsc - Math.Round(ntsc)) < 1e-6)
            return ((long)Math.Round(ntsc) * 1000, 1001);
        return ((long)Math.Round(fps * 1000), 1000);
    }

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Reading

    sealed record Header(int Width, int Height, double Fps, int ChromaW, int ChromaH, bool Mono, bool Full, int Start);

    /// <summary>Reads a Y4M file into RGB frames.</summary>
    public static Frames Read(string path) => Decode(MediaFiles.ReadAllBytes(path), path);

    /// <summary>Frame count, size and fps from the header and the file length.</summary>
    internal static VideoInfo Probe(string path)
    {
        using var fs = OpenRead(path);
        var head = new byte[Math.Min(fs.Length, 4096)];
        fs.ReadExactly(head);
        var header = ParseHeader(head, path);
        int frameBytes = header.Width * header.Height + (header.Mono ? 0 : 2 * header.ChromaW * header.ChromaH);
        long count = (fs.Length - header.Start) / (frameBytes + 6);           // "FRAME\n" without frame parameters
        return new VideoInfo((int)count, header.Height, header.Width, header.Fps);
    }

    static FileStream OpenRead(string path)
    {
        if (!File.Exists(path))
            throw new MediaException(path, "file not found", "check the path");
        return File.OpenRead(path);
    }

    /// <summary>Decodes Y4M bytes; <paramref name="name"/> is used in error messages.</summary>
    public static Frames Decode(byte[] data, string name)
    {
        var hd = ParseHeader(data, name);
        int w = hd.Width, h = hd.Height;
        int ySize = w * h, cSize = hd.Mono ? 0 : hd.ChromaW * hd.ChromaH;
        var frames = new List<byte[]>();
        int pos = hd.Start;
        while (pos < data.Length)
        {
            int eol = Array.IndexOf(data, (byte)'\n', pos, Math.Min(256, data.Length - pos));
            if (eol < 0 || !data.AsSpan(pos).StartsWith("FRAME"u8))
                throw new MediaException(name, $"Y4M frame {frames.Count} has no FRAME marker (truncated or corrupt)",
                                         "re-export the file");
            pos = eol + 1;
            if (pos + ySize + 2 * cSize > data.Length)
                throw new MediaException(name, $"Y4M file is truncated in frame {frames.Count}", "re-export the file");
            var rgb = new byte[ySize * 3];
            int sx = w / hd.ChromaW >= 2 ? 2 : 1, sy = h / hd.ChromaH >= 2 ? 2 : 1;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int yv = data[pos + y * w + x];
                    int ci = (y / sy) * hd.ChromaW + x / sx;
                    int cb = hd.Mono ? 128 : data[pos + ySize + ci], cr = hd.Mono ? 128 : data[pos + ySize + cSize + ci];
                    double yf = hd.Full ? yv : LimitedToFullY(yv);
                    double cbf = hd.Full ? cb : LimitedToFullC(cb), crf = hd.Full ? cr : LimitedToFullC(cr);
                    YccToRgb(yf, cbf, crf, rgb.AsSpan((y * w + x) * 3, 3));
                }
            frames.Add(rgb);
            pos += ySize + 2 * cSize;
        }
        var all = new byte[(long)frames.Count * ySize * 3];
        for (int t = 0; t < frames.Count; t++)
            frames[t].CopyTo(all, (long)t * ySize * 3);
        return new Frames(frames.Count, h, w, hd.Fps, all);
    }

    static Header ParseHeader(byte[] data, string name)
    {
        int eol = Array.IndexOf(data, (byte)'\n', 0, Math.Min(data.Length, 4096));
        if (!data.AsSpan().StartsWith("YUV4MPEG2 "u8) || eol < 0)
            throw new MediaException(name, "not a Y4M file (no YUV4MPEG2 header)", "check the file type or extension");
        int w = 0, h = 0;
        double fps = 25;
        string chroma = "420jpeg";
        bool full = false;
        foreach (string token in Encoding.ASCII.GetString(data, 10, eol - 10).Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string v = token[1..];
            switch (token[0])
            {
                case 'W': int.TryParse(v, out w); break;
                case 'H': int.TryParse(v, out h); break;
                case 'C': chroma = v; break;
                case 'F':
                    string[] parts = v.Split(':');
                    if (parts.Length == 2 && double.TryParse(parts[0], CultureInfo.InvariantCulture, out double n) &&
                        double.TryParse(parts[1], CultureInfo.InvariantCulture, out double d) && n > 0 && d > 0)
                        fps = n / d;
                    break;
                case 'X':
                    if (v.Equals("COLORRANGE=FULL", StringComparison.OrdinalIgnoreCase))
                        full = true;
                    break;
            }
        }
        if (w <= 0 || h <= 0)
            throw new MediaException(name, "Y4M header has no valid W and H", "the file is corrupt");
        var (cw, ch, mono) = chroma switch
        {
            "420jpeg" or "420mpeg2" or "420paldv" or "420" => ((w + 1) / 2, (h + 1) / 2, false),
            "422" => ((w + 1) / 2, h, false),
            "444" => (w, h, false),
            "mono" => (w, h, true),
            _ => throw new MediaException(name, $"Y4M colour space C{chroma} is not supported (8-bit 420, 422, 444 and mono are)",
                                          "convert it with: ffmpeg -i IN -pix_fmt yuv420p OUT.y4m"),
        };
        return new Header(w, h, fps, cw, ch, mono, full, eol + 1);
    }
}
