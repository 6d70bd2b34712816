// ProvenanceWriter: the one way an output path (the CLI's generate, and any other that writes generated videos)
// writes a video with both marks: watermark the frames, write them, attach the manifest. Also the model's identity:
// a SHA-256 over its weight files, whose first 32 bits are the watermark's payload, so a detected payload names the
// model that made the video.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Spacetime.Media.Provenance;

/// <summary>Writes generated videos watermarked and with their manifest.</summary>
public static class ProvenanceWriter
{
    /// <summary>The weight files hashed, relative to a model folder, in this order (missing ones are skipped).</summary>
    public static readonly IReadOnlyList<string> WeightFiles =
        ["dit/model.safetensors", "text/model.safetensors", "vae/model.safetensors"];

    /// <summary>Hex SHA-256 over the model folder's weight files (each file's relative name, a NUL, its bytes).</summary>
    public static string WeightsSha256(string modelDir)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 20];
        foreach (string name in WeightFiles)
        {
            string file = Path.Combine(modelDir, name);
            if (!File.Exists(file)) continue;
            sha.AppendData(Encoding.UTF8.GetBytes(name + "\0"));
            using var stream = File.OpenRead(file);
            for (int n; (n = stream.Read(buffer)) > 0;) sha.AppendData(buffer.AsSpan(0, n));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>The watermark payload of a model: the first 32 bits of its weights hash.</summary>
    public static uint PayloadFor(string weightsSha256) =>
        uint.Parse(weightsSha256.AsSpan(0, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>Watermarks <paramref name="video"/> with <paramref name="payload"/>, writes it to
    /// <paramref name="path"/> (format by extension, atomically) and attaches <paramref name="manifest"/> (its
    /// payload field set to match); returns the frames as written.</summary>
    public static Frames WriteMarked(string path, Frames video, uint payload, ProvenanceManifest manifest,
                                     VideoWriteOptions? options = null)
    {
        var marked = Watermark.Embed(video, payload);
        VideoFile.Write(path, marked, options);
        ManifestStore.Attach(path, manifest with { WatermarkPayload = ProvenanceManifest.FormatPayload(payload) });
        return marked;
    }
}
