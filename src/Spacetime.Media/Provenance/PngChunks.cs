// PngChunks: finds, removes and inserts the provenance iTXt chunk of a PNG file, leaving every other chunk as it is.
// A PNG is an 8-byte signature and chunks of (length u32 BE, type, data, CRC-32 of type + data); ours is
//   iTXt: keyword "spacetime.provenance" \0, compression flag 0, method 0, language "" \0, translated keyword "" \0,
//         the envelope's JSON (UTF-8)
// inserted just before IEND.
using System.Buffers.Binary;
using System.Text;

namespace Spacetime.Media.Provenance;

internal static class PngChunks
{
    public const string Keyword = "spacetime.provenance";
    static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>The file without our chunk, and the chunk's JSON (null when absent). A broken chunk structure
    /// throws <see cref="FormatException"/>.</summary>
    public static (byte[] Content, string? Json) Strip(byte[] file)
    {
        if (file.Length < 8 || !file.AsSpan(0, 8).SequenceEqual(Signature))
            throw new FormatException("not a PNG file (bad signature)");
        using var content = new MemoryStream(file.Length);
        content.Write(Signature);
        string? json = null;
        int at = 8;
        while (at < file.Length)
        {
            if (file.Length - at < 12) throw new FormatException($"PNG chunk at byte {at} is truncated");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(at));
            if (length > file.Length - at - 12) throw new FormatException($"PNG chunk at byte {at} runs past the end");
            string type = Encoding.ASCII.GetString(file, at + 4, 4);
            var data = file.AsSpan(at + 8, (int)length);
            int size = 12 + (int)length;
            if (type == "iTXt" && ReadOurs(data) is { } text) json = text;
            else content.Write(file, at, size);
            at += size;
            if (type == "IEND") break;
        }
        return (content.ToArray(), json);
    }

    /// <summary><paramref name="content"/> (a PNG without our chunk) with an iTXt chunk holding
    /// <paramref name="json"/> before IEND.</summary>
    public static byte[] Insert(byte[] content, string json)
    {
        int iend = content.Length - 12;                       // IEND is the last chunk: 0 length, type, CRC
        if (iend < 8 || Encoding.ASCII.GetString(content, iend + 4, 4) != "IEND")
            throw new FormatException("PNG does not end with IEND");
        byte[] data = [.. Encoding.Latin1.GetBytes(Keyword), 0, 0, 0, 0, 0, .. Encoding.UTF8.GetBytes(json)];
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes("iTXt", chunk.AsSpan(4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32.Compute(chunk.AsSpan(4, 4), data));
        return [.. content.AsSpan(0, iend), .. chunk, .. content.AsSpan(iend)];
    }

    // The text of an iTXt chunk with our keyword (uncompressed), else null.
    static string? ReadOurs(ReadOnlySpan<byte> data)
    {
        var key = Encoding.Latin1.GetBytes(Keyword + "\0");
        if (!data.StartsWith(key)) return null;
        var rest = data[key.Length..];
        if (rest.Length < 2 || rest[0] != 0) throw new FormatException("the provenance iTXt chunk is compressed or cut short");
        rest = rest[2..];
        for (int skip = 0; skip < 2; skip++)                  // language tag, translated keyword
        {
            int nul = rest.IndexOf((byte)0);
            if (nul < 0) throw new FormatException("the provenance iTXt chunk is cut short");
            rest = rest[(nul + 1)..];
        }
        return Encoding.UTF8.GetString(rest);
    }
}
