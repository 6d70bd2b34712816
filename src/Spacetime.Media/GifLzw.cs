// GifLzw: the variable-code-width LZW of GIF89a (appendix F of the spec), encoder and decoder.
// Codes start at minCodeSize + 1 bits and grow to 12; `clear` = 1 << minCodeSize resets the table, `clear + 1` ends
// the data. The encoder finds (prefix code, next index) pairs in an open-addressing hash table of 8192 slots, so a
// frame costs one probe per pixel; when the table is full (code 4095) it sends a clear and starts over, as giflib does.
namespace Spacetime.Media;

internal static class GifLzw
{
    const int MaxCodes = 4096;

    /// <summary>LZW-compresses palette indices (each &lt; 1 &lt;&lt; minCodeSize), appending the packed bytes.</summary>
    public static void Encode(ReadOnlySpan<byte> indices, int minCodeSize, MemoryStream output)
    {
        int clear = 1 << minCodeSize, end = clear + 1;
        var keys = new int[8192];                  // (prefix << 8 | index), -1 = empty slot
        var codes = new short[8192];
        var bits = new BitWriter(output);

        int codeSize = minCodeSize + 1, next = end + 1;
        keys.AsSpan().Fill(-1);
        bits.Write(clear, codeSize);
        if (indices.IsEmpty)
        {
            bits.Write(end, codeSize);
            bits.Flush();
            return;
        }
        int prefix = indices[0];
        for (int i = 1; i < indices.Length; i++)
        {
            int k = indices[i];
            int key = (prefix << 8) | k;
            int slot = (int)((uint)key * 2654435761u >> 19);       // top 13 bits of a Fibonacci hash
            while (keys[slot] != -1 && keys[slot] != key)
                slot = (slot + 1) & 8191;
            if (keys[slot] == key)
            {
                prefix = codes[slot];                              // the string goes on
                continue;
            }
            bits.Write(prefix, codeSize);
            if (next == MaxCodes - 1)                              // table full: reset, as giflib does at 4095
            {
                bits.Write(clear, codeSize);
                keys.AsSpan().Fill(-1);
                codeSize = minCodeSize + 1;
                next = end + 1;
            }
            else
            {
                keys[slot] = key;
                codes[slot] = (short)next;
                if (next == 1 << codeSize)                         // the code just added needs one more bit
                    codeSize++;
                next++;
            }
            prefix = k;
        }
        bits.Write(prefix, codeSize);
        bits.Write(end, codeSize);
        bits.Flush();
    }

    /// <summary>Decodes LZW data into <paramref name="indices"/>; returns how many indices were produced
    /// (fewer than indices.Length when the data ends early). Throws <see cref="MediaException"/> on a bad code.</summary>
    public static int Decode(ReadOnlySpan<byte> data, int minCodeSize, Span<byte> indices, string name)
    {
        if (minCodeSize is < 1 or > 11)
            throw new MediaException(name, $"GIF has an invalid LZW code size {minCodeSize} (the file is corrupt)",
                                     "re-export or re-download the file");
        int clear = 1 << minCodeSize, end = clear + 1;
        var prefix = new short[MaxCodes];
        var suffix = new byte[MaxCodes];
        var first = new byte[MaxCodes];            // first index of each code's string
        var stack = new byte[MaxCodes];
        for (int c = 0; c < clear; c++)
            (suffix[c], first[c]) = ((byte)c, (byte)c);

        int codeSize = minCodeSize + 1, next = end + 1, previous = -1, produced = 0;
        long bitBuffer = 0;
        int bitCount = 0, pos = 0;
        while (produced < indices.Length)
        {
            while (bitCount < codeSize && pos < data.Length)
            {
                bitBuffer |= (long)data[pos++] << bitCount;
                bitCount += 8;
            }
            if (bitCount < codeSize)
                break;                                             // data ended without an end code
            int code = (int)(bitBuffer & ((1 << codeSize) - 1));
            bitBuffer >>= codeSize;
            bitCount -= codeSize;

            if (code == clear)
            {
                (codeSize, next, previous) = (minCodeSize + 1, end + 1, -1);
                continue;
            }
            if (code == end)
                break;
            if (previous < 0)
            {
                if (code >= clear)
                    throw Corrupt(name);
                indices[produced++] = (byte)code;
                previous = code;
                continue;
            }
            if (code > next || (code == next && next >= MaxCodes))
                throw Corrupt(name);
            int sp = 0;
            int walk = code;
            if (code == next)                                      // the KwKwK case: previous string + its first index
            {
                stack[sp++] = first[previous];
                walk = previous;
            }
            while (walk >= clear)
            {
                stack[sp++] = suffix[walk];
                walk = prefix[walk];
            }
            stack[sp++] = (byte)walk;
            if (next < MaxCodes)
            {
                prefix[next] = (short)previous;
                suffix[next] = (byte)walk;
                first[next] = first[previous];
                next++;
                if (next == 1 << codeSize && codeSize < 12)
                    codeSize++;
            }
            while (sp > 0 && produced < indices.Length)
                indices[produced++] = stack[--sp];
            previous = code;
        }
        return produced;
    }

    static MediaException Corrupt(string name) =>
        new(name, "GIF image data has an invalid LZW code (the file is corrupt)", "re-export or re-download the file");

    // Packs codes least-significant bit first, as GIF requires.
    struct BitWriter(MemoryStream output)
    {
        ulong buffer;
        int count;

        public void Write(int code, int size)
        {
            buffer |= (ulong)code << count;
            count += size;
            while (count >= 8)
            {
                output.WriteByte((byte)buffer);
                buffer >>= 8;
                count -= 8;
            }
        }

        public void Flush()
        {
            if (count > 0)
                output.WriteByte((byte)buffer);
            (buffer, count) = (0, 0);
        }
    }
}
