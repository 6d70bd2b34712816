// GifBlocks: finds, removes and inserts the provenance comment extension of a GIF file, leaving every other block as
// it is. A GIF is a header, a logical screen descriptor (+ global colour table), then blocks: extensions
// (0x21 label sub-blocks... 0), images (0x2C descriptor [local table] LZW-size sub-blocks... 0) and the trailer 0x3B.
// Ours is a comment extension (0x21 0xFE) whose text is "spacetime.provenance " + the envelope's JSON (ASCII: the JSON
// writer escapes every non-ASCII character), inserted just before the trailer.
using System.Text;

namespace Spacetime.Media.Provenance;

internal static class GifBlocks
{
    public const string Prefix = "spacetime.provenance ";

    /// <summary>The file without our comment, and the comment's JSON (null when absent). A broken block structure
    /// throws <see cref="FormatException"/>.</summary>
    public static (byte[] Content, string? Json) Strip(byte[] file)
    {
        if (file.Length < 13 || Encoding.ASCII.GetString(file, 0, 3) != "GIF")
            throw new FormatException("not a GIF file (bad header)");
        int at = 13;
        if ((file[10] & 0x80) != 0) at += 3 << ((file[10] & 7) + 1);    // global colour table
        using var content = new MemoryStream(file.Length);
        content.Write(file, 0, Math.Min(at, file.Length));
        string? json = null;
        while (true)
        {
            if (at >= file.Length) throw new FormatException("GIF ends without its trailer (truncated)");
            int start = at;
            byte kind = file[at];
            if (kind == 0x3B)
            {
                content.Write(file, at, file.Length - at);       // the trailer and anything after it
                break;
            }
            if (kind == 0x21)
            {
                if (at + 2 > file.Length) throw new FormatException("GIF extension cut short");
                byte label = file[at + 1];
                at = SkipSubBlocks(file, at + 2, out byte[] body);
                string text = Encoding.ASCII.GetString(body);
                if (label == 0xFE && text.StartsWith(Prefix, StringComparison.Ordinal)) { json = text[Prefix.Length..]; continue; }
            }
            else if (kind == 0x2C)
            {
                if (at + 10 > file.Length) throw new FormatException("GIF image descriptor cut short");
                byte packed = file[at + 9];
                at += 10;
                if ((packed & 0x80) != 0) at += 3 << ((packed & 7) + 1);   // local colour table
                at = SkipSubBlocks(file, at + 1, out _);                 // LZW minimum code size, then data
            }
            else throw new FormatException($"GIF has an unknown block 0x{kind:x2} at byte {at}");
            content.Write(file, start, at - start);
        }
        return (content.ToArray(), json);
    }

    /// <summary><paramref name="content"/> (a GIF without our comment) with our comment before the trailer.</summary>
    public static byte[] Insert(byte[] content, string json)
    {
        int trailer = Array.LastIndexOf(content, (byte)0x3B);
        if (trailer < 13) throw new FormatException("GIF has no trailer");
        byte[] text = Encoding.ASCII.GetBytes(Prefix + json);
        using var block = new MemoryStream();
        block.Write([0x21, 0xFE]);
        for (int i = 0; i < text.Length; i += 255)               // sub-blocks of at most 255 bytes
        {
            int n = Math.Min(255, text.Length - i);
            block.WriteByte((byte)n);
            block.Write(text, i, n);
        }
        block.WriteByte(0);
        return [.. content.AsSpan(0, trailer), .. block.ToArray(), .. content.AsSpan(trailer)];
    }

    // Reads sub-blocks (length byte, bytes) up to the 0 terminator; returns the position after it.
    static int SkipSubBlocks(byte[] file, int at, out byte[] body)
    {
        using var data = new MemoryStream();
        while (true)
        {
            if (at >= file.Length) throw new FormatException("GIF sub-blocks run past the end (truncated)");
            int n = file[at++];
            if (n == 0) break;
            if (at + n > file.Length) throw new FormatException("GIF sub-block runs past the end (truncated)");
            data.Write(file, at, n);
            at += n;
        }
        body = data.ToArray();
        return at;
    }
}
