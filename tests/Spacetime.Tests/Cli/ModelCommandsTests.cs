// spacetime model info / import / forward, in-process.
using System.Text.Json;
using Spacetime.Engine.IO;

namespace Spacetime.Tests.Cli;

public sealed class ModelCommandsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-model-" + Guid.NewGuid().ToString("N")[..8]);
    static readonly string Reference = Path.Combine(AppContext.BaseDirectory, "Data", "dit_reference");

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    static (int Code, string Out, string Err) Run(params string[] args) => CliTests.Run(args);

    [Fact]
    public void Info_DitXL2At256_PrintsThePapersFigures()
    {
        var (code, output, _) = Run("model", "info", "DiT-XL/2", "--image", "256", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(675, Math.Round(json.GetProperty("params").GetInt64() / 1e6));
        Assert.Equal(118.64, json.GetProperty("gflops").GetDouble());
    }

    [Fact]
    public void Info_VideoConfig_CountsTokensFromFramesAndSize()
    {
        var (code, output, _) = Run("model", "info", "DiT-S/2", "--frames", "17", "--size", "128x96", "--json");
        Assert.Equal(0, code);
        var json = JsonDocument.Parse(output).RootElement;
        Assert.Equal(5 * 6 * 8, json.GetProperty("tokens").GetInt32());      // latent 5 x 12 x 16, patch 2
        Assert.True(json.GetProperty("gflops").GetDouble() > 0);
    }

    [Theory]
    [InlineData("model", "info", "DiT-Q/2")]
    [InlineData("model", "info", "DiT-S/2", "--frames", "6", "--size", "64x64")]
    [InlineData("model", "info", "DiT-S/2", "--image", "100")]
    [InlineData("model", "forward", "--model", "no-such-dir", "--inputs", "no-such.safetensors", "--out", "x.safetensors")]
    public void BadInput_OneLineExitCode2(params string[] args)
    {
        var (code, _, err) = Run(args);
        Assert.Equal(2, code);
        Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void ImportThenForward_ReproducesTheReferenceOutput()
    {
        string model = Path.Combine(dir, "imported"), output = Path.Combine(dir, "out.safetensors");
        Assert.Equal(0, Run("model", "import", Path.Combine(Reference, "model.safetensors"),
                            "--config", Path.Combine(Reference, "config.json"), "--out", model).Code);
        Assert.Equal(0, Run("model", "forward", "--model", model, "--inputs", Path.Combine(Reference, "io.safetensors"),
                            "--out", output).Code);
        var ours = Safetensors.Read(output).Tensors["out"].ToArray();
        var theirs = Safetensors.Read(Path.Combine(Reference, "io.safetensors")).Tensors["out"].ToArray();
        double scale = theirs.Max(v => Math.Abs(v));
        Assert.All(ours.Zip(theirs), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-4 * scale));
    }
}
