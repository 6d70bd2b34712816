// ProvenanceJson: the JSON answers of `detect --json` and `inspect --json`, and of the server's POST /v1/detect and
// /v1/inspect (one owner, so the CLI and the server say the same):
//   detect:  {"watermarked": bool, "payload": "0x1234abcd" | null, "p_value": p, "z": z, "scale": s, "frames": n}
//   inspect: the manifest's fields (snake_case, "generator" naming Spacetime) and "manifest_present",
//            "content_unchanged" (null without a manifest), "carrier"
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Spacetime.Media.Provenance;

/// <summary>The JSON objects of a watermark decision and of a manifest read.</summary>
public static class ProvenanceJson
{
    static readonly JsonSerializerOptions ManifestNames = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Printed JSON keeps '+' and non-ASCII as they are ("dpm++2m", not "dpm\u002B\u002B2m"); it is not
    /// embedded in HTML.</summary>
    public static readonly JsonSerializerOptions Plain = new()
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A watermark decision as JSON.</summary>
    public static JsonObject Detection(WatermarkDetection found) => new()
    {
        ["watermarked"] = found.Watermarked,
        ["payload"] = found.Watermarked ? ProvenanceManifest.FormatPayload(found.Payload) : null,
        ["p_value"] = found.PValue,
        ["z"] = Math.Round(found.ZScore, 3),
        ["scale"] = found.Scale,
        ["frames"] = found.FramesUsed,
    };

    /// <summary>A manifest read (or its absence, null) as JSON.</summary>
    public static JsonObject Inspection(ManifestRead? read)
    {
        var obj = read is null ? new JsonObject()
                : JsonSerializer.SerializeToNode(read.Envelope.Manifest, ManifestNames)!.AsObject();
        obj["manifest_present"] = read is not null;
        obj["content_unchanged"] = read?.ContentUnchanged;
        obj["carrier"] = read is null ? null : JsonNamingPolicy.SnakeCaseLower.ConvertName(read.Carrier.ToString());
        return obj;
    }
}
