// ProvenanceManifest: what a generated video says about where it came from, and the envelope that binds it to the
// file's bytes. Stored as JSON (snake_case keys) inside the file where the format has a place for it (ManifestStore):
//   {"spacetime_provenance": 1,
//    "manifest": {"generator": "Spacetime", "generator_version": "1.0.0", "model_id": ..., "weights_sha256": ...,
//                 "prompt_sha256": ..., "seed": ..., "sampler": ..., "steps": ..., "width": ..., "height": ...,
//                 "frames": ..., "fps": ..., "mode": ..., "inputs": [{"role": ..., "sha256": ...}],
//                 "created": "2026-12-06T08:00:00+00:00", "watermark_payload": "0x1234abcd",
//                 "adapters": [{"sha256": ..., "scale": 1.0}]},        (adapters: only when LoRA adapters were applied)
//    "binding": {"alg": "sha256", "scope": "...", "hash": "<hex>"}}
// The prompt itself is never stored, only its SHA-256 (UTF-8), so a manifest cannot leak what a user typed.
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spacetime.Media.Provenance;

/// <summary>A digest of one input of a generation (an image, a video to edit or extend).</summary>
/// <param name="Role">What the input was: "image", "video", "second".</param>
/// <param name="Sha256">SHA-256 (hex) of the input's decoded RGB frames.</param>
public sealed record InputDigest(string Role, string Sha256);

/// <summary>A LoRA adapter folded into the model's weights for one output.</summary>
/// <param name="Sha256">SHA-256 (hex) of the adapter file.</param>
/// <param name="Scale">The strength it was applied at.</param>
public sealed record AdapterDigest(string Sha256, double Scale);

/// <summary>The provenance of one output. Never holds the prompt, only its digest.</summary>
public sealed record ProvenanceManifest
{
    /// <summary>The generator's name as it appears in every manifest.</summary>
    public const string GeneratorName = "Spacetime";

    public string Generator { get; init; } = GeneratorName;
    public string GeneratorVersion { get; init; } = Version;
    /// <summary>The model folder's name.</summary>
    public required string ModelId { get; init; }
    /// <summary>SHA-256 (hex) over the model's weight files.</summary>
    public required string WeightsSha256 { get; init; }
    /// <summary>SHA-256 (hex) of the prompt's UTF-8 bytes.</summary>
    public required string PromptSha256 { get; init; }
    public ulong Seed { get; init; }
    public string Sampler { get; init; } = "";
    public int Steps { get; init; }
    public int Width { get; init; }
    public int Height { get; init; }
    public int Frames { get; init; }
    public double Fps { get; init; }
    /// <summary>The generation mode (text, image, edit, extend, loop, connect).</summary>
    public string Mode { get; init; } = "text";
    public IReadOnlyList<InputDigest> Inputs { get; init; } = [];
    public DateTimeOffset Created { get; init; }
    /// <summary>The 32-bit payload of the invisible watermark, as "0x" and 8 hex digits.</summary>
    public string WatermarkPayload { get; init; } = "";
    /// <summary>The LoRA adapters applied on top of the model's weights, in order; null (and left out of the JSON)
    /// when there were none. The model fields still name the base model.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<AdapterDigest>? Adapters { get; init; }

    /// <summary>The version of the Spacetime assembly that wrote the manifest.</summary>
    public static string Version =>
        typeof(ProvenanceManifest).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    /// <summary>Hex SHA-256 of a text's UTF-8 bytes (how the prompt is recorded).</summary>
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    /// <summary>Hex SHA-256 of some bytes.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>The payload written the way manifests record it.</summary>
    public static string FormatPayload(uint payload) => $"0x{payload:x8}";
}

/// <summary>How the manifest is tied to the file: a SHA-256 over the file's bytes without the manifest itself.
/// </summary>
/// <param name="Alg">Always "sha256".</param>
/// <param name="Scope">What was hashed, in words (for a reader of the JSON).</param>
/// <param name="Hash">The digest, hex.</param>
public sealed record ManifestBinding(string Alg, string Scope, string Hash);

/// <summary>What is stored in a file: the manifest and its binding.</summary>
public sealed record ManifestEnvelope(
    [property: JsonPropertyName("spacetime_provenance")] int FormatVersion,
    ProvenanceManifest Manifest, ManifestBinding Binding)
{
    /// <summary>The envelope format this code writes.</summary>
    public const int CurrentFormat = 1;

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = false,
    };

    /// <summary>Compact JSON, one line.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses an envelope; anything that is not one throws <see cref="FormatException"/>.</summary>
    public static ManifestEnvelope Parse(string json)
    {
        ManifestEnvelope? e;
        try { e = JsonSerializer.Deserialize<ManifestEnvelope>(json, Json); }
        catch (JsonException ex) { throw new FormatException($"the manifest is not valid JSON ({ex.Message})", ex); }
        if (e is null || e.Manifest is null || e.Binding is null || e.FormatVersion < 1)
            throw new FormatException("the manifest JSON lacks its manifest or binding");
        if (e.FormatVersion > CurrentFormat)
            throw new FormatException($"manifest format {e.FormatVersion} is newer than this Spacetime reads ({CurrentFormat})");
        if (e.Binding.Alg != "sha256" || e.Binding.Hash is not { Length: 64 })
            throw new FormatException($"the manifest's binding is not a SHA-256 ('{e.Binding.Alg}')");
        return e;
    }
}
