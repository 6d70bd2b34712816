// Manifests: round trips in every carrier (PNG iTXt, GIF comment, MP4 uuid box, sidecar), the binding check after an
// edit, corrupt manifests as one-line MediaExceptions, and the prompt never stored.
using Spacetime.Media;
using Spacetime.Media.Provenance;
using static Spacetime.Tests.Provenance.ProvenanceTestKit;

namespace Spacetime.Tests.Provenance;

public sealed class ManifestTests : IDisposable
{
    readonly TempDir tmp = new();
    public void Dispose() => tmp.Dispose();

    const string Prompt = "a secret red ball falls and bounces";

    internal static ProvenanceManifest Sample() => new()
    {
        ModelId = "spacetime", WeightsSha256 = new string('a', 64), PromptSha256 = ProvenanceManifest.Sha256Hex(Prompt),
        Seed = 7, Sampler = "dpm++2m", Steps = 25, Width = 64, Height = 48, Frames = 4, Fps = 8, Mode = "image",
        Inputs = [new InputDigest("input", new string('b', 64))],
        Created = new DateTimeOffset(2026, 12, 6, 8, 0, 0, TimeSpan.Zero), WatermarkPayload = "0xc0ffee42",
    };

    string Written(string ext)
    {
        string path = tmp.File("v" + ext);
        var frames = Media.MediaTestKit.MovingShapes(ext == ".png" ? 1 : 4, 48, 64);
        VideoFile.Write(path, frames);
        return path;
    }

    [Theory]
    [InlineData(".png", ManifestCarrier.PngText)]
    [InlineData(".gif", ManifestCarrier.GifComment)]
    [InlineData(".mp4", ManifestCarrier.BmffUuidBox)]
    [InlineData(".y4m", ManifestCarrier.Sidecar)]
    public void Attach_ThenRead_GivesTheSameManifest_Verified(string ext, ManifestCarrier carrier)
    {
        if (ext == ".mp4" && !global::Spacetime.Media.Ffmpeg.IsAvailable) return;
        string path = Written(ext);
        var before = VideoFile.Read(path);
        Assert.Equal(carrier, ManifestStore.Attach(path, Sample()));
        var read = ManifestStore.Read(path);
        Assert.NotNull(read);
        Assert.Equal(carrier, read.Carrier);
        Assert.True(read.ContentUnchanged);
        Assert.Equal(Sample().ToStringForTest(), read.Envelope.Manifest.ToStringForTest());
        var after = VideoFile.Read(path);                                  // the video still reads, pixel for pixel
        Assert.Equal(before.Rgb, after.Rgb);
        Assert.DoesNotContain("secret", File.ReadAllText(carrier == ManifestCarrier.Sidecar ? path + ".json" : path));
    }

    [Fact]
    public void Attach_Twice_ReplacesTheManifest()
    {
        string path = Written(".gif");
        ManifestStore.Attach(path, Sample());
        ManifestStore.Attach(path, Sample() with { Seed = 99 });
        var read = ManifestStore.Read(path)!;
        Assert.Equal(99ul, read.Envelope.Manifest.Seed);
        Assert.True(read.ContentUnchanged);
    }

    [Fact]
    public void Mp4_WithTheBox_StillDecodesEveryFrame()
    {
        if (!global::Spacetime.Media.Ffmpeg.IsAvailable) return;
        string path = Written(".mp4");
        var before = VideoFile.Read(path);
        ManifestStore.Attach(path, Sample());
        var bytes = File.ReadAllBytes(path);
        Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(bytes, 4, 4));
        int ftyp = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(bytes);
        Assert.Equal("uuid", System.Text.Encoding.ASCII.GetString(bytes, ftyp + 4, 4));   // right after ftyp
        // ffmpeg decodes through the moved chunk offsets: the same pixels as before the box went in
        Assert.Equal(before.Rgb, Media.MediaTestKit.FfmpegDecode(path));
    }

    [Theory]
    [InlineData(".png")]
    [InlineData(".gif")]
    [InlineData(".mp4")]
    [InlineData(".y4m")]
    public void Read_AfterTheVideoBytesChanged_SaysContentChanged(string ext)
    {
        if (ext == ".mp4" && !global::Spacetime.Media.Ffmpeg.IsAvailable) return;
        string path = Written(ext);
        ManifestStore.Attach(path, Sample());
        var bytes = File.ReadAllBytes(path);
        int at = ext switch { ".y4m" => bytes.Length - 5, _ => LastNonManifestByte(bytes, ext) };
        bytes[at] ^= 0x5A;
        File.WriteAllBytes(path, bytes);
        var read = ManifestStore.Read(path);
        Assert.NotNull(read);
        Assert.False(read.ContentUnchanged);
    }

    // A byte inside the picture data, away from our manifest: the middle of the file for PNG/GIF (the manifest sits
    // at the end), the end of the file for MP4 (the manifest sits at the start).
    static int LastNonManifestByte(byte[] bytes, string ext) => ext == ".mp4" ? bytes.Length - 20 : 60;

    [Fact]
    public void Read_WithoutManifest_ReturnsNull()
    {
        Assert.Null(ManifestStore.Read(Written(".png")));
        Assert.Null(ManifestStore.Read(Written(".gif")));
    }

    [Fact]
    public void Read_CorruptManifest_IsOneLineMediaException()
    {
        string path = Written(".y4m");
        ManifestStore.Attach(path, Sample());
        File.WriteAllText(path + ".json", "{\"spacetime_provenance\": 1, \"manifest\": {\"generator\": ");
        var e = Assert.Throws<MediaException>(() => ManifestStore.Read(path));
        Assert.DoesNotContain('\n', e.Message);
        Assert.Contains("manifest", e.Message);
    }

    [Fact]
    public void Read_TruncatedPng_IsMediaException()
    {
        string path = Written(".png");
        ManifestStore.Attach(path, Sample());
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        Assert.Throws<MediaException>(() => ManifestStore.Read(path));
    }
}

internal static class ManifestTestExtensions
{
    /// <summary>Records with list members compare lists by reference; compare their JSON instead.</summary>
    public static string ToStringForTest(this ProvenanceManifest m) =>
        new ManifestEnvelope(1, m, new ManifestBinding("sha256", "", new string('0', 64))).ToJson();
}
