// BmffBoxes: the provenance box of an MP4/MOV (ISO base media file format), in the manner of C2PA's c2pa.hash.bmff:
// a top-level `uuid` box right after `ftyp`, bound by a hash over every other top-level box.
// A box is (size u32 BE, type 4 chars[, largesize u64 when size = 1][, 16-byte user type when type = 'uuid'], body);
// size 0 means "to the end of the file". Ours is
//   uuid  size, 'uuid', ProvenanceUuid (16 bytes), the envelope's JSON (UTF-8)
// Inserting it moves every later byte, so the media data's absolute offsets in moov/trak/mdia/minf/stbl/stco (co64)
// are moved by the box's size. Fragmented files (moof) keep offsets in places this does not rewrite: refused.
using System.Buffers.Binary;
using System.Text;

namespace Spacetime.Media.Provenance;

internal static class BmffBoxes
{
    /// <summary>The user type that marks our box (a random UUID, fixed for Spacetime).</summary>
    static readonly byte[] ProvenanceUuid = Convert.FromHexString("bda001afa0704a4fa8e60726fe937f44");

    // Boxes whose bodies are boxes, on the way from moov to the chunk offset tables.
    static readonly HashSet<string> Containers = ["moov", "trak", "mdia", "minf", "stbl"];

    readonly record struct Box(string Type, long Start, long Size, int HeaderSize);

    /// <summary>The file without our box, and its JSON (null when absent). Broken box sizes throw
    /// <see cref="FormatException"/>.</summary>
    public static (byte[] Content, string? Json) Strip(byte[] file)
    {
        var boxes = Boxes(file, 0, file.Length);
        if (boxes.Count == 0 || boxes[0].Type != "ftyp") throw new FormatException("not an MP4/MOV file (no ftyp box first)");
        using var content = new MemoryStream(file.Length);
        string? json = null;
        foreach (var box in boxes)
        {
            if (IsOurs(file, box))
                json = Encoding.UTF8.GetString(file, (int)(box.Start + box.HeaderSize + 16), (int)(box.Size - box.HeaderSize - 16));
            else content.Write(file, (int)box.Start, (int)box.Size);
        }
        return (content.ToArray(), json);
    }

    /// <summary><paramref name="content"/> (a file without our box) with our box after ftyp and the chunk offsets
    /// moved to match.</summary>
    public static byte[] Insert(byte[] content, string json)
    {
        var boxes = Boxes(content, 0, content.Length);
        if (boxes.Count == 0 || boxes[0].Type != "ftyp") throw new FormatException("not an MP4/MOV file (no ftyp box first)");
        if (boxes.Any(b => b.Type == "moof")) throw new FormatException("fragmented MP4 (moof) is not supported");
        byte[] body = Encoding.UTF8.GetBytes(json);
        var ours = new byte[8 + 16 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(ours, (uint)ours.Length);
        Encoding.ASCII.GetBytes("uuid", ours.AsSpan(4));
        ProvenanceUuid.CopyTo(ours, 8);
        body.CopyTo(ours, 24);
        long after = boxes[0].Size;                              // everything after ftyp moves by ours.Length
        byte[] result = [.. content.AsSpan(0, (int)after), .. ours, .. content.AsSpan((int)after)];
        foreach (var box in boxes.Where(b => b.Type == "moov"))
            ShiftChunkOffsets(result, box.Start + ours.Length, box.Size, after, ours.Length);
        return result;
    }

    static bool IsOurs(byte[] file, Box box) =>
        box.Type == "uuid" && box.Size >= box.HeaderSize + 16 &&
        file.AsSpan((int)(box.Start + box.HeaderSize), 16).SequenceEqual(ProvenanceUuid);

    // The boxes laid end to end in [start, end).
    static List<Box> Boxes(byte[] file, long start, long end)
    {
        var boxes = new List<Box>();
        long at = start;
        while (at < end)
        {
            if (end - at < 8) throw new FormatException($"MP4 box at byte {at} is cut short");
            long size = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan((int)at));
            string type = Encoding.Latin1.GetString(file, (int)at + 4, 4);
            int header = 8;
            if (size == 1)
            {
                if (end - at < 16) throw new FormatException($"MP4 box at byte {at} is cut short");
                size = (long)BinaryPrimitives.ReadUInt64BigEndian(file.AsSpan((int)at + 8));
                header = 16;
            }
            else if (size == 0) size = end - at;
            if (size < header || size > end - at)
                throw new FormatException($"MP4 box '{type}' at byte {at} has a size ({size}) that does not fit the file");
            boxes.Add(new Box(type, at, size, header));
            at += size;
        }
        return boxes;
    }

    // Adds delta to every stco/co64 entry at or past `from` inside the box at [start, start + size).
    static void ShiftChunkOffsets(byte[] file, long start, long size, long from, int delta)
    {
        var box = Boxes(file, start, start + size)[0];
        foreach (var child in Boxes(file, start + box.HeaderSize, start + size))
        {
            int body = (int)(child.Start + child.HeaderSize);
            if (Containers.Contains(child.Type))
                ShiftChunkOffsets(file, child.Start, child.Size, from, delta);
            else if (child.Type is "stco" or "co64")
            {
                bool wide = child.Type == "co64";
                long count = BinaryPrimitives.ReadUInt32BigEndian(file.AsSpan(body + 4));
                if (8 + count * (wide ? 8 : 4) > child.Size - child.HeaderSize)
                    throw new FormatException($"MP4 {child.Type} table is larger than its box");
                for (int i = 0; i < count; i++)
                {
                    var at = file.AsSpan(body + 8 + i * (wide ? 8 : 4));
                    if (wide)
                    {
                        ulong v = BinaryPrimitives.ReadUInt64BigEndian(at);
                        if ((long)v >= from) BinaryPrimitives.WriteUInt64BigEndian(at, v + (ulong)delta);
                    }
                    else
                    {
                        uint v = BinaryPrimitives.ReadUInt32BigEndian(at);
                        if (v >= from) BinaryPrimitives.WriteUInt32BigEndian(at, checked(v + (uint)delta));
                    }
                }
            }
        }
    }
}
