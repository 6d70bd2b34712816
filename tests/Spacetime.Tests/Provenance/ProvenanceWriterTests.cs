// ProvenanceWriter: a written output carries both marks, and they agree (the manifest's payload is the one detected).
using Spacetime.Media;
using Spacetime.Media.Provenance;
using static Spacetime.Tests.Provenance.ProvenanceTestKit;

namespace Spacetime.Tests.Provenance;

public sealed class ProvenanceWriterTests : IDisposable
{
    readonly TempDir tmp = new();
    public void Dispose() => tmp.Dispose();

    [Theory]
    [InlineData("out.gif")]
    [InlineData("out.png")]
    [InlineData("out.y4m")]
    public void WriteMarked_BothMarksPresentAndAgree(string name)
    {
        string path = tmp.File(name);
        var clip = name.EndsWith(".png") ? Cut(WorldVideo(seed: 31), 0, 1) : WorldVideo(seed: 31);
        var written = ProvenanceWriter.WriteMarked(path, clip, 0xFEEDBEEF, ManifestTests.Sample());
        Assert.InRange(Psnr(clip, written), 40.0, 60.0);
        var read = ManifestStore.Read(path)!;
        Assert.True(read.ContentUnchanged);
        Assert.Equal("0xfeedbeef", read.Envelope.Manifest.WatermarkPayload);
        var found = Watermark.Detect(VideoFile.Read(path));
        Assert.True(found.Watermarked, $"z {found.ZScore:F2}");
        Assert.Equal(0xFEEDBEEFu, found.Payload);
    }

    [Fact]
    public void WeightsSha256_ChangesWithAnyWeightByte()
    {
        string model = tmp.File("model");
        Directory.CreateDirectory(Path.Combine(model, "dit"));
        string weights = Path.Combine(model, "dit", "model.safetensors");
        File.WriteAllBytes(weights, [1, 2, 3, 4]);
        string before = ProvenanceWriter.WeightsSha256(model);
        Assert.Equal(before, ProvenanceWriter.WeightsSha256(model));                // deterministic
        File.WriteAllBytes(weights, [1, 2, 3, 5]);
        Assert.NotEqual(before, ProvenanceWriter.WeightsSha256(model));
        Assert.Equal(uint.Parse(before[..8], System.Globalization.NumberStyles.HexNumber), ProvenanceWriter.PayloadFor(before));
    }
}
