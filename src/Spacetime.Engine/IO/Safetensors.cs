// Safetensors: the tensor file format of Hugging Face and PyTorch checkpoints
// (https://github.com/huggingface/safetensors).
//   bytes 0..8     N, the header length (u64 little-endian)
//   bytes 8..8+N   a JSON object: "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]} per tensor,
//                  plus an optional "__metadata__": {string: string}; writers pad it with spaces to 8-byte alignment
//   the rest       the data section; a tensor's bytes are [begin, end) in it, row-major, little-endian
// Read checks everything before trusting it (header length, JSON, dtype, shape, offsets in range and not overlapping,
// element count times dtype size equal to the byte length) and reads through bounded chunks, so a corrupt or truncated
// file gives an InvalidDataException naming the file, the tensor and what was expected, never a read out of bounds.
// Every tensor comes back as fp32 (integers converted; their exact values are also kept as long[]). Write emits F32,
// F16 or BF16 through a temporary file renamed into place, so a crash never leaves half a checkpoint.
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;

namespace Spacetime.Engine.IO;

/// <summary>Element types of a safetensors file that this reader understands.</summary>
public enum SafetensorsDType { F32, F16, BF16, F64, I64, I32 }

/// <summary>The contents of a safetensors file: every tensor as fp32, in file order, and the metadata.</summary>
public sealed class SafetensorsFile
{
    internal SafetensorsFile(OrderedDictionary<string, Tensor> tensors, Dictionary<string, SafetensorsDType> dtypes,
                             Dictionary<string, long[]> integers, Dictionary<string, string> metadata) =>
        (Tensors, DTypes, Integers, Metadata) = (tensors, dtypes, integers, metadata);

    /// <summary>Every tensor by name, converted to fp32, GC-owned; pass to Module.LoadStateDict.</summary>
    public OrderedDictionary<string, Tensor> Tensors { get; }

    /// <summary>The element type each tensor had in the file.</summary>
    public IReadOnlyDictionary<string, SafetensorsDType> DTypes { get; }

    /// <summary>The exact values of the integer (I64, I32) tensors, row-major.</summary>
    public IReadOnlyDictionary<string, long[]> Integers { get; }

    /// <summary>The "__metadata__" string map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }
}

/// <summary>Reads and writes safetensors files (PyTorch-layout state dicts).</summary>
public static class Safetensors
{
    const long MaxHeaderBytes = 100_000_000;     // the reference implementation's limit
    const int ChunkElements = 1 << 18;           // conversion buffer: 256 Ki elements

    /// <summary>Reads every tensor of the file at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is truncated, corrupt, or uses an unknown dtype.</exception>
    public static SafetensorsFile Read(string path)
    {
        RequireLittleEndian();
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw Bad(path, $"the file has {fileLength} bytes, fewer than the 8-byte header length");
        Span<byte> lengthBytes = stackalloc byte[8];
        ReadExactly(handle, lengthBytes, 0, path, "the header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > MaxHeaderBytes || (long)headerLength > fileLength - 8)
            throw Bad(path, $"the header length is {headerLength} bytes; expected 2.." +
                            $"{Math.Min(MaxHeaderBytes, fileLength - 8)} for a file of {fileLength} bytes " +
                            "(truncated or not a safetensors file?)");
        var header = new byte[headerLength];
        ReadExactly(handle, header, 8, path, "the header");
        long dataStart = 8 + (long)headerLength, dataLength = fileLength - dataStart;

        var (entries, metadata) = ParseHeader(header, dataLength, path);
        var tensors = new OrderedDictionary<string, Tensor>();
        var dtypes = new Dictionary<string, SafetensorsDType>();
        var integers = new Dictionary<string, long[]>();
        foreach (var e in entries)
        {
            var values = new float[e.Count];
            long[]? exact = e.DType is SafetensorsDType.I64 or SafetensorsDType.I32 ? new long[e.Count] : null;
            ReadValues(handle, dataStart + e.Begin, e, values, exact, path);
            tensors.Add(e.Name, new Tensor(Storage.Wrap(values), e.Shape));
            dtypes.Add(e.Name, e.DType);
            if (exact is not null) integers.Add(e.Name, exact);
        }
        return new SafetensorsFile(tensors, dtypes, integers, metadata);
    }

    sealed record Entry(string Name, SafetensorsDType DType, int[] Shape, int Count, long Begin, long End);

    // The header's entries, checked, in data-offset order; and the metadata.
    static (List<Entry>, Dictionary<string, string>) ParseHeader(byte[] header, long dataLength, string path)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException ex) { throw Bad(path, $"the header is not valid JSON ({ex.Message})"); }
        using var _ = doc;
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw Bad(path, $"the header is a JSON {doc.RootElement.ValueKind}, expected an object");
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>();
        var seen = new HashSet<string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(prop.Name)) throw Bad(path, $"the header names '{prop.Name}' twice");
            if (prop.Name == "__metadata__")
            {
                if (prop.Value.ValueKind != JsonValueKind.Object) throw Bad(path, "__metadata__ is not an object");
                foreach (var m in prop.Value.EnumerateObject())
                    metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()!
                        : throw Bad(path, $"__metadata__ value '{m.Name}' is a {m.Value.ValueKind}, expected a string");
                continue;
            }
            entries.Add(ParseEntry(prop.Name, prop.Value, dataLength, path));
        }
        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        for (int i = 1; i < entries.Count; i++)
            if (entries[i].Begin < entries[i - 1].End)
                throw Bad(path, $"tensor '{entries[i].Name}' (bytes {entries[i].Begin}..{entries[i].End}) overlaps " +
                                $"tensor '{entries[i - 1].Name}' (bytes {entries[i - 1].Begin}..{entries[i - 1].End})");
        return (entries, metadata);
    }

    static Entry ParseEntry(string name, JsonElement v, long dataLength, string path)
    {
        string where = $"tensor '{name}'";
        if (v.ValueKind != JsonValueKind.Object)
            throw Bad(path, $"{where}: expected an object with dtype, shape, data_offsets");
        if (!v.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw Bad(path, $"{where}: missing string 'dtype'");
        if (!Enum.GetNames<SafetensorsDType>().Contains(dt.GetString()))
            throw Bad(path, $"{where}: unknown dtype '{dt.GetString()}'; this reader knows " +
                            string.Join(", ", Enum.GetNames<SafetensorsDType>()));
        var dtype = Enum.Parse<SafetensorsDType>(dt.GetString()!);
        var shape = Longs(v, "shape", where, path);
        var offsets = Longs(v, "data_offsets", where, path);
        if (offsets.Length != 2) throw Bad(path, $"{where}: data_offsets has {offsets.Length} numbers, expected 2");
        long count = 1;
        foreach (long d in shape)
        {
            if (d > int.MaxValue) throw Bad(path, $"{where}: shape dimension {d} is too large");
            count = count * d;
            if (count > int.MaxValue)
                throw Bad(path, $"{where}: shape [{string.Join(", ", shape)}] has more than 2^31-1 elements");
        }
        long begin = offsets[0], end = offsets[1];
        if (begin > end || end > dataLength)
            throw Bad(path, $"{where}: data_offsets [{begin}, {end}] do not lie within the {dataLength}-byte " +
                            "data section");
        long expected = count * Size(dtype);
        if (end - begin != expected)
            throw Bad(path, $"{where}: data_offsets [{begin}, {end}] span {end - begin} bytes, expected {expected} " +
                            $"({dtype}, shape [{string.Join(", ", shape)}])");
        return new Entry(name, dtype, shape.Select(d => (int)d).ToArray(), (int)count, begin, end);
    }

    // A JSON array of non-negative integers.
    static long[] Longs(JsonElement v, string key, string where, string path)
    {
        if (!v.TryGetProperty(key, out var a) || a.ValueKind != JsonValueKind.Array)
            throw Bad(path, $"{where}: missing array '{key}'");
        var r = new long[a.GetArrayLength()];
        int i = 0;
        foreach (var x in a.EnumerateArray())
            if (x.ValueKind != JsonValueKind.Number || !x.TryGetInt64(out r[i++]) || r[i - 1] < 0)
                throw Bad(path, $"{where}: '{key}' must hold non-negative integers, found {x.GetRawText()}");
        return r;
    }

    static int Size(SafetensorsDType t) => t switch
    {
        SafetensorsDType.F16 or SafetensorsDType.BF16 => 2,
        SafetensorsDType.F32 or SafetensorsDType.I32 => 4,
        _ => 8,
    };

    // Reads e.Count values of e.DType starting at fileOffset, in bounded chunks, converting to fp32 (and exact longs).
    static void ReadValues(SafeFileHandle handle, long fileOffset, Entry e, float[] values, long[]? exact, string path)
    {
        int size = Size(e.DType);
        var buffer = new byte[(long)Math.Min(e.Count, ChunkElements) * size];
        for (int start = 0; start < e.Count; start += ChunkElements)
        {
            int n = Math.Min(ChunkElements, e.Count - start);
            var bytes = buffer.AsSpan(0, n * size);
            ReadExactly(handle, bytes, fileOffset + (long)start * size, path, $"tensor '{e.Name}'");
            var dst = values.AsSpan(start, n);
            switch (e.DType)
            {
                case SafetensorsDType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(dst); break;
                case SafetensorsDType.F16:
                    var h = MemoryMarshal.Cast<byte, Half>(bytes);
                    for (int i = 0; i < n; i++) dst[i] = (float)h[i];
                    break;
                case SafetensorsDType.BF16:
                    var b = MemoryMarshal.Cast<byte, ushort>(bytes);
                    for (int i = 0; i < n; i++) dst[i] = BitConverter.UInt32BitsToSingle((uint)b[i] << 16);
                    break;
                case SafetensorsDType.F64:
                    var d = MemoryMarshal.Cast<byte, double>(bytes);
                    for (int i = 0; i < n; i++) dst[i] = (float)d[i];
                    break;
                case SafetensorsDType.I64:
                    var l = MemoryMarshal.Cast<byte, long>(bytes);
                    for (int i = 0; i < n; i++) (dst[i], exact![start + i]) = (l[i], l[i]);
                    break;
                case SafetensorsDType.I32:
                    var k = MemoryMarshal.Cast<byte, int>(bytes);
                    for (int i = 0; i < n; i++) (dst[i], exact![start + i]) = (k[i], k[i]);
                    break;
            }
        }
    }

    static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long fileOffset, string path, string what)
    {
        int done = 0;
        while (done < destination.Length)
        {
            int n = RandomAccess.Read(handle, destination[done..], fileOffset + done);
            if (n <= 0) throw Bad(path, $"{what}: the file ends after {fileOffset + done} bytes (truncated)");
            done += n;
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> (in the given order) to <paramref name="path"/> as <paramref name="dtype"/>
    /// (F32, F16 or BF16; rounding to nearest even), with an optional "__metadata__" string map. The file is written
    /// to a temporary name beside <paramref name="path"/> and renamed into place.
    /// </summary>
    public static void Write(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
                             IReadOnlyDictionary<string, string>? metadata = null,
                             SafetensorsDType dtype = SafetensorsDType.F32)
    {
        RequireLittleEndian();
        if (dtype is not (SafetensorsDType.F32 or SafetensorsDType.F16 or SafetensorsDType.BF16))
            throw new ArgumentException($"Safetensors.Write {path}: writes F32, F16 or BF16, not {dtype}.");
        var list = tensors.ToList();
        var names = new HashSet<string>();
        foreach (var (name, _) in list)
            if (string.IsNullOrEmpty(name) || name == "__metadata__" || !names.Add(name))
                throw new ArgumentException($"Safetensors.Write {path}: tensor name '{name}' is empty, reserved " +
                                            "or repeated.");
        var header = Header(list, metadata, dtype);
        string temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        RemoveStaleTemps(path);
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
                fs.Write(len);
                fs.Write(header);
                foreach (var (_, t) in list) WriteValues(fs, t, dtype);
                fs.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }

    // The JSON header, padded with spaces so the data section starts 8-byte aligned.
    static byte[] Header(List<KeyValuePair<string, Tensor>> tensors, IReadOnlyDictionary<string, string>? metadata,
                         SafetensorsDType dtype)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, t) in tensors)
            {
                long bytes = (long)t.Count * Size(dtype);
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype.ToString());
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
        }
        int pad = (int)((8 - (8 + ms.Length) % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }

    // Temp files of an earlier write to `path` that was killed (untouched for 30 minutes: no live write idles so long).
    static void RemoveStaleTemps(string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        if (!Directory.Exists(dir)) return;
        foreach (var file in Directory.GetFiles(dir, Path.GetFileName(path) + ".*.tmp"))
            if (DateTime.UtcNow - File.GetLastWriteTimeUtc(file) > TimeSpan.FromMinutes(30))
                try { File.Delete(file); } catch (IOException) { }
    }

    static void WriteValues(Stream fs, Tensor t, SafetensorsDType dtype)
    {
        ReadOnlySpan<float> values = t.IsContiguous ? t.Span : t.ToArray();
        if (dtype == SafetensorsDType.F32) { fs.Write(MemoryMarshal.AsBytes(values)); return; }
        var buffer = new ushort[Math.Min(values.Length, ChunkElements)];
        for (int start = 0; start < values.Length; start += ChunkElements)
        {
            int n = Math.Min(ChunkElements, values.Length - start);
            for (int i = 0; i < n; i++)
                buffer[i] = dtype == SafetensorsDType.F16 ? BitConverter.HalfToUInt16Bits((Half)values[start + i])
                                                          : ToBFloat16(values[start + i]);
            fs.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, n)));
        }
    }

    /// <summary>fp32 to bfloat16 bits, rounding to nearest even (as PyTorch); NaN stays a quiet NaN.</summary>
    internal static ushort ToBFloat16(float x)
    {
        uint bits = BitConverter.SingleToUInt32Bits(x);
        if (float.IsNaN(x)) return (ushort)((bits >> 16) | 0x0040);
        return (ushort)((bits + 0x7FFFu + ((bits >> 16) & 1)) >> 16);
    }

    static InvalidDataException Bad(string path, string message) => new($"Safetensors {path}: {message}.");

    static void RequireLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Safetensors: only little-endian machines are supported.");
    }
}
