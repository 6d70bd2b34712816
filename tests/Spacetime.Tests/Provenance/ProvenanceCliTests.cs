// `spacetime detect` and `spacetime inspect`: the one-line verdicts, their JSON, and one-line errors for bad input.
using System.Text.Json;
using Spacetime.Media;
using Spacetime.Media.Provenance;
using Spacetime.Tests.Cli;
using static Spacetime.Tests.Provenance.ProvenanceTestKit;

namespace Spacetime.Tests.Provenance;

public sealed class ProvenanceCliTests : IDisposable
{
    readonly TempDir tmp = new();
    public void Dispose() => tmp.Dispose();

    string MarkedGif(uint payload = 0x0BADC0DE)
    {
        string path = tmp.File("marked.gif");
        VideoFile.Write(path, Watermark.Embed(WorldVideo(seed: 21), payload));
        ManifestStore.Attach(path, ManifestTests.Sample());
        return path;
    }

    [Fact]
    public void Detect_Marked_PrintsOneLineWithPayloadAndP()
    {
        var (code, output, _) = CliTests.Run("detect", MarkedGif());
        Assert.Equal(0, code);
        var line = Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("watermarked: payload 0x0badc0de, p ", line);
    }

    [Fact]
    public void Detect_Json_IsOneObject()
    {
        var (code, output, _) = CliTests.Run("detect", MarkedGif(), "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.True(doc.RootElement.GetProperty("watermarked").GetBoolean());
        Assert.Equal("0x0badc0de", doc.RootElement.GetProperty("payload").GetString());
        Assert.True(doc.RootElement.GetProperty("p_value").GetDouble() < Watermark.DecisionPValue);
    }

    [Fact]
    public void Detect_Unmarked_SaysNotWatermarked()
    {
        string path = tmp.File("plain.gif");
        VideoFile.Write(path, WorldVideo(seed: 22));
        var (code, output, _) = CliTests.Run("detect", path, "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.False(doc.RootElement.GetProperty("watermarked").GetBoolean());
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("payload").ValueKind);
        Assert.StartsWith("not watermarked: p = ", CliTests.Run("detect", path).Out);
    }

    [Fact]
    public void Inspect_PrintsManifestAndBinding()
    {
        string path = MarkedGif();
        var (code, output, _) = CliTests.Run("inspect", path);
        Assert.Equal(0, code);
        Assert.StartsWith("manifest present; content unchanged", output);
        Assert.Contains("generator:  Spacetime", output);
        var (_, json, _) = CliTests.Run("inspect", path, "--json");
        using var doc = JsonDocument.Parse(json);
        Assert.Equal("Spacetime", doc.RootElement.GetProperty("generator").GetString());
        Assert.True(doc.RootElement.GetProperty("content_unchanged").GetBoolean());
        Assert.Equal("dpm++2m", doc.RootElement.GetProperty("sampler").GetString());
    }

    [Fact]
    public void Inspect_EditedFile_SaysContentChangedSince()
    {
        string path = MarkedGif();
        var bytes = File.ReadAllBytes(path);
        bytes[100] ^= 0x01;                                               // one bit of the palette
        File.WriteAllBytes(path, bytes);
        var (code, output, _) = CliTests.Run("inspect", path);
        Assert.Equal(0, code);
        Assert.StartsWith("manifest present; content changed since", output);
    }

    [Fact]
    public void Inspect_NoManifest_SaysSo()
    {
        string path = tmp.File("plain.png");
        VideoFile.Write(path, WorldVideo(seed: 23, seconds: 0.125));
        var (code, output, _) = CliTests.Run("inspect", path);
        Assert.Equal(0, code);
        Assert.StartsWith("no manifest", output);
    }

    [Fact]
    public void BadInput_IsOneLineExit2()
    {
        CliTests.AssertOneLineError(["detect", tmp.File("missing.mp4")], "missing.mp4");
        CliTests.AssertOneLineError(["inspect", tmp.File("missing.gif")], "missing.gif", "not found");
        string empty = tmp.File("empty.gif");
        File.WriteAllBytes(empty, []);
        CliTests.AssertOneLineError(["detect", empty], "empty.gif");
        string garbage = tmp.File("garbage.png");
        File.WriteAllBytes(garbage, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
        CliTests.AssertOneLineError(["inspect", garbage], "garbage.png");
        CliTests.AssertOneLineError(["detect", garbage], "garbage.png");
        string tiny = tmp.File("tiny.gif");
        VideoFile.Write(tiny, WorldVideo(seed: 24, width: 24, height: 24));
        CliTests.AssertOneLineError(["detect", tiny], "too small");
        string corrupt = tmp.File("v.y4m");
        VideoFile.Write(corrupt, WorldVideo(seed: 25, width: 32, height: 32));
        File.WriteAllText(corrupt + ".json", "not json");
        CliTests.AssertOneLineError(["inspect", corrupt], "manifest");
    }
}
