// ManifestStore: puts a manifest into a written video file and reads it back with its binding check.
//   .png                 iTXt chunk (PngChunks)            .gif    comment extension (GifBlocks)
//   .mp4 .mov .m4v       top-level uuid box after ftyp (BmffBoxes)
//   anything else        a sidecar FILE.json beside it (also for a folder of PNG frames: DIR.json)
// The binding is one rule for every carrier: SHA-256 over the file's bytes with the manifest taken out (for a sidecar,
// the whole video file; for a folder, each frame file's name and bytes in name order). Editing any byte of the video
// after marking breaks it, and inspect says "content changed since".
using System.Security.Cryptography;
using System.Text;

namespace Spacetime.Media.Provenance;

/// <summary>Where a manifest lives.</summary>
public enum ManifestCarrier
{
    /// <summary>A PNG iTXt chunk.</summary>
    PngText,
    /// <summary>A GIF comment extension.</summary>
    GifComment,
    /// <summary>A top-level uuid box of an MP4/MOV file.</summary>
    BmffUuidBox,
    /// <summary>A FILE.json beside the video.</summary>
    Sidecar,
}

/// <summary>A manifest as read from a file, and whether the file still matches it.</summary>
/// <param name="Envelope">The manifest and its binding.</param>
/// <param name="Carrier">Where it was found.</param>
/// <param name="ContentUnchanged">True when the binding hash matches the file's bytes.</param>
public sealed record ManifestRead(ManifestEnvelope Envelope, ManifestCarrier Carrier, bool ContentUnchanged);

/// <summary>Writes and reads provenance manifests.</summary>
public static class ManifestStore
{
    /// <summary>The carrier used for a file of this name.</summary>
    public static ManifestCarrier CarrierFor(string path) => MediaFiles.Extension(path) switch
    {
        ".png" when File.Exists(path) => ManifestCarrier.PngText,
        ".gif" => ManifestCarrier.GifComment,
        ".mp4" or ".mov" or ".m4v" => ManifestCarrier.BmffUuidBox,
        _ => ManifestCarrier.Sidecar,
    };

    /// <summary>The sidecar path of a video file or folder.</summary>
    public static string SidecarPath(string path) => Path.TrimEndingDirectorySeparator(path) + ".json";

    /// <summary>Attaches <paramref name="manifest"/> to the already written <paramref name="path"/> (atomically),
    /// replacing any manifest there; returns where it went.</summary>
    public static ManifestCarrier Attach(string path, ProvenanceManifest manifest)
    {
        var carrier = CarrierFor(path);
        if (carrier != ManifestCarrier.Sidecar)
        {
            try
            {
                AttachEmbedded(path, carrier, manifest);
                return carrier;
            }
            catch (FormatException)
            {
                // a file the carrier cannot take (a fragmented MP4): the sidecar below
            }
        }
        string hash = SidecarHash(path);
        var envelope = new ManifestEnvelope(ManifestEnvelope.CurrentFormat, manifest, Binding(ManifestCarrier.Sidecar, hash));
        AtomicFile.WriteAllText(SidecarPath(path), envelope.ToJson() + "\n");
        return ManifestCarrier.Sidecar;
    }

    static void AttachEmbedded(string path, ManifestCarrier carrier, ProvenanceManifest manifest)
    {
        var (content, _) = Strip(carrier, MediaFiles.ReadAllBytes(path), path);
        // The hash covers the file as it will be with the manifest in it, minus the manifest (for MP4 the chunk
        // offsets move when the box goes in): insert with a placeholder hash of the same length, hash, insert again.
        var draft = new ManifestEnvelope(ManifestEnvelope.CurrentFormat, manifest, Binding(carrier, new string('0', 64)));
        byte[] withDraft = Insert(carrier, content, draft.ToJson());
        string bound = Convert.ToHexStringLower(SHA256.HashData(Strip(carrier, withDraft, path).Content));
        var final = draft with { Binding = Binding(carrier, bound) };
        byte[] marked = Insert(carrier, content, final.ToJson());
        AtomicFile.WriteAllBytes(path, marked);
    }

    /// <summary>The manifest of <paramref name="path"/> (embedded, else a sidecar), or null when it has none.
    /// A manifest that does not parse throws <see cref="MediaException"/>.</summary>
    public static ManifestRead? Read(string path)
    {
        var carrier = CarrierFor(path);
        if (carrier != ManifestCarrier.Sidecar)
        {
            var (content, json) = Strip(carrier, MediaFiles.ReadAllBytes(path), path);
            if (json != null)
            {
                var envelope = Parse(json, path);
                bool same = Convert.ToHexStringLower(SHA256.HashData(content)) == envelope.Binding.Hash;
                return new ManifestRead(envelope, carrier, same);
            }
        }
        string sidecar = SidecarPath(path);
        if (!File.Exists(sidecar)) return null;
        var fromSidecar = Parse(Encoding.UTF8.GetString(MediaFiles.ReadAllBytes(sidecar)), sidecar);
        return new ManifestRead(fromSidecar, ManifestCarrier.Sidecar, SidecarHash(path) == fromSidecar.Binding.Hash);
    }

    static ManifestBinding Binding(ManifestCarrier carrier, string hash) => new("sha256", carrier switch
    {
        ManifestCarrier.PngText => "the PNG without this iTXt chunk",
        ManifestCarrier.GifComment => "the GIF without this comment extension",
        ManifestCarrier.BmffUuidBox => "every top-level box but this uuid box, in order",
        _ => "the video file (for a folder: each frame file's name and bytes, in name order)",
    }, hash);

    static ManifestEnvelope Parse(string json, string path)
    {
        try { return ManifestEnvelope.Parse(json); }
        catch (FormatException e) { throw new MediaException(path, e.Message, "the file's provenance manifest is corrupt"); }
    }

    static (byte[] Content, string? Json) Strip(ManifestCarrier carrier, byte[] file, string path)
    {
        try
        {
            return carrier switch
            {
                ManifestCarrier.PngText => PngChunks.Strip(file),
                ManifestCarrier.GifComment => GifBlocks.Strip(file),
                _ => BmffBoxes.Strip(file),
            };
        }
        catch (FormatException e) { throw new MediaException(path, e.Message, "the file is corrupt or not what its extension says"); }
    }

    static byte[] Insert(ManifestCarrier carrier, byte[] content, string json) => carrier switch
    {
        ManifestCarrier.PngText => PngChunks.Insert(content, json),
        ManifestCarrier.GifComment => GifBlocks.Insert(content, json),
        _ => BmffBoxes.Insert(content, json),
    };

    // SHA-256 of a video file, or of a folder's files (name and bytes, in ordinal name order).
    static string SidecarHash(string path)
    {
        if (!Directory.Exists(path)) return Convert.ToHexStringLower(SHA256.HashData(MediaFiles.ReadAllBytes(path)));
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (string file in Directory.GetFiles(path).Order(StringComparer.Ordinal))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(Path.GetFileName(file) + "\0"));
            sha.AppendData(MediaFiles.ReadAllBytes(file));
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }
}
