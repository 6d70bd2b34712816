// GenerationProvenance: the provenance of a generated video, one owner for every output path (the CLI's generate,
// the server's workers): which model made it (its folder name and weights hash; the hash's first 32 bits are the
// watermark's payload, Media/Provenance/ProvenanceWriter) and the manifest that goes with the file (the prompt's
// SHA-256, never the prompt; seed, sampler, steps, size, mode, the inputs' digests, the LoRA adapters applied, the
// time).
using System.Text.Json;
using Spacetime.Media;
using Spacetime.Media.Provenance;

namespace Spacetime.Pipelines;

/// <summary>A model as provenance names it: its folder's name and the SHA-256 of its weights.</summary>
public sealed record ModelIdentity(string Id, string WeightsSha256)
{
    /// <summary>The identity of the model folder <paramref name="modelDir"/> (hashes its weight files).</summary>
    public static ModelIdentity Of(string modelDir) =>
        new(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(modelDir))),
            ProvenanceWriter.WeightsSha256(modelDir));

    /// <summary>The watermark payload that names this model.</summary>
    public uint Payload => ProvenanceWriter.PayloadFor(WeightsSha256);
}

/// <summary>Builds manifests of generated videos.</summary>
public static class GenerationProvenance
{
    /// <summary>The manifest of <paramref name="video"/>, made by <paramref name="model"/> (with
    /// <paramref name="adapters"/> applied, when any) from <paramref name="prompt"/> in <paramref name="mode"/> with
    /// the given inputs (null where the mode has none).</summary>
    public static ProvenanceManifest Manifest(ModelIdentity model, string prompt, ulong seed, string sampler, int steps,
                                              Frames video, GenerationMode mode, Frames? input = null,
                                              Frames? second = null, IReadOnlyList<AdapterDigest>? adapters = null)
    {
        var inputs = new List<InputDigest>();
        if (input is not null) inputs.Add(new("input", ProvenanceManifest.Sha256Hex(input.Rgb)));
        if (second is not null) inputs.Add(new("second", ProvenanceManifest.Sha256Hex(second.Rgb)));
        return new ProvenanceManifest
        {
            ModelId = model.Id, WeightsSha256 = model.WeightsSha256, PromptSha256 = ProvenanceManifest.Sha256Hex(prompt),
            Seed = seed, Sampler = sampler, Steps = steps,
            Width = video.Width, Height = video.Height, Frames = video.Count, Fps = video.Fps,
            Mode = JsonNamingPolicy.KebabCaseLower.ConvertName(mode.ToString()),
            Inputs = inputs, Created = DateTimeOffset.UtcNow, Adapters = adapters is { Count: > 0 } ? adapters : null,
        };
    }
}
