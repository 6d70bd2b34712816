// Provenance on the command line (docs/provenance.md):
//   spacetime detect FILE [--json]    is the invisible watermark there? one line: verdict, payload, p-value
//   spacetime inspect FILE [--json]   the manifest (embedded, or FILE.json beside it) and whether the bytes still match
// and WriteMarked, which `generate` calls to write every output watermarked and with its manifest.
using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spacetime.Media;
using Spacetime.Media.Provenance;
using Spacetime.Pipelines;

namespace Spacetime.Cli;

internal static class ProvenanceCommands
{
    public static Command CreateDetect(CliConsole io)
    {
        var file = new Argument<string>("file") { Description = "A video or image (.mp4 .gif .png .y4m .webm ...)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: watermarked, payload, p_value." };
        var command = new Command("detect", "Tell whether a video carries Spacetime's invisible watermark.") { file, json };
        command.SetAction(parsed =>
        {
            string path = parsed.GetValue(file)!;
            var video = VideoFile.Read(path);
            if (Watermark.WhyTooSmall(video) is { } why)
                throw new UserError($"{path}: {why}, so no decision can be made");
            var found = Watermark.Detect(video);
            if (parsed.GetValue(json))
                io.OutWriter.WriteLine(ProvenanceJson.Detection(found).ToJsonString(ProvenanceJson.Plain));
            else
            {
                string p = found.PValue == 0 ? "< 1e-300" : "= " + found.PValue.ToString("G3", CultureInfo.InvariantCulture).Replace("E", "e");
                string scale = found.Scale == 1 ? "" : $", at {found.Scale:0.##}x size";
                string frames = $"{found.FramesUsed} frame{(found.FramesUsed == 1 ? "" : "s")}";
                io.OutWriter.WriteLine(found.Watermarked
                    ? $"watermarked: payload {ProvenanceManifest.FormatPayload(found.Payload)}, p {p} " +
                      $"(z {found.ZScore:F1}, {frames}{scale})"
                    : $"not watermarked: p {p} (z {found.ZScore:F1}, {frames})");
            }
            return CliRunner.Ok;
        });
        return command;
    }

    public static Command CreateInspect(CliConsole io)
    {
        var file = new Argument<string>("file") { Description = "A video or image written by Spacetime." };
        var json = new Option<bool>("--json") { Description = "Print the manifest as one JSON object." };
        var command = new Command("inspect", "Print a file's provenance manifest and check it still matches the file.")
        {
            file, json,
        };
        command.SetAction(parsed =>
        {
            string path = parsed.GetValue(file)!;
            if (!File.Exists(path) && !Directory.Exists(path)) throw new UserError($"{path}: file not found; check the path");
            var read = ManifestStore.Read(path);
            if (parsed.GetValue(json))
            {
                io.OutWriter.WriteLine(ProvenanceJson.Inspection(read).ToJsonString(ProvenanceJson.Plain));
                return CliRunner.Ok;
            }
            if (read is null)
            {
                io.OutWriter.WriteLine($"no manifest: {path} has none embedded and no {ManifestStore.SidecarPath(path)} " +
                                       "beside it (try `spacetime detect` for the watermark)");
                return CliRunner.Ok;
            }
            var m = read.Envelope.Manifest;
            io.OutWriter.WriteLine(read.ContentUnchanged
                ? "manifest present; content unchanged since it was written"
                : "manifest present; content changed since (the bytes no longer match the manifest's hash)");
            io.OutWriter.WriteLine($"carrier:    {Describe(read.Carrier)}");
            io.OutWriter.WriteLine($"generator:  {m.Generator} {m.GeneratorVersion}");
            io.OutWriter.WriteLine($"model:      {m.ModelId} (weights sha256 {m.WeightsSha256})");
            io.OutWriter.WriteLine($"prompt:     sha256 {m.PromptSha256}");
            io.OutWriter.WriteLine($"sampling:   seed {m.Seed}, {m.Steps} steps of {m.Sampler}, mode {m.Mode}");
            io.OutWriter.WriteLine($"video:      {m.Width}x{m.Height}, {m.Frames} frames at {m.Fps:0.###} fps");
            foreach (var input in m.Inputs) io.OutWriter.WriteLine($"input:      {input.Role} sha256 {input.Sha256}");
            foreach (var a in m.Adapters ?? [])
                io.OutWriter.WriteLine($"lora:       sha256 {a.Sha256} at scale {a.Scale.ToString("0.###", CultureInfo.InvariantCulture)}");
            io.OutWriter.WriteLine($"created:    {m.Created:O}");
            io.OutWriter.WriteLine($"watermark:  payload {m.WatermarkPayload}");
            return CliRunner.Ok;
        });
        return command;
    }

    static string Describe(ManifestCarrier carrier) => carrier switch
    {
        ManifestCarrier.PngText => "PNG iTXt chunk",
        ManifestCarrier.GifComment => "GIF comment extension",
        ManifestCarrier.BmffUuidBox => "MP4 top-level uuid box, bound by a SHA-256 over the other top-level boxes",
        _ => "sidecar JSON file",
    };

    ////////////////////////////////////////////////////////////////////////////////////////////////////////////////
    // Marking generate's output

    /// <summary>Writes <paramref name="result"/>'s video watermarked and with its manifest (ProvenanceWriter);
    /// returns the frames as written. The payload names the model (the first 32 bits of its weights hash).</summary>
    internal static Frames WriteMarked(string path, GenerationResult result, GenerationRequest request, string modelDir,
                                       string samplerName, IReadOnlyList<AdapterDigest>? adapters = null)
    {
        var model = ModelIdentity.Of(modelDir);
        var manifest = GenerationProvenance.Manifest(model, request.Prompt, request.Seed, samplerName, result.Steps,
                                                     result.Video, request.Condition.Mode, request.Condition.Input,
                                                     request.Condition.Second, adapters);
        return ProvenanceWriter.WriteMarked(path, result.Video, model.Payload, manifest);
    }
}
