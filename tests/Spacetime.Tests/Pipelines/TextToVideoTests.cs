// The sampling pipeline: seeded, the requested size and length, and pixel-space latents that round-trip.
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.Training;

namespace Spacetime.Tests.Pipelines;

public sealed class TextToVideoTests
{
    static readonly TextVideoModel Model = DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 5);

    [Fact]
    public void Generate_RequestedSizeAndFrames()
    {
        var video = new TextToVideo(Model).Generate("a red circle falls", new GenerateSettings(48, 24, 6, 8, Steps: 3));
        Assert.Equal((6, 24, 48, 8.0), (video.Count, video.Height, video.Width, video.Fps));
    }

    [Fact]
    public void Generate_SameSeedSameVideo_OtherSeedOtherVideo()
    {
        var pipeline = new TextToVideo(Model);
        var s = new GenerateSettings(32, 32, 3, 8, Seed: 7, Steps: 3);
        var a = pipeline.Generate("a blue square", s);
        var b = pipeline.Generate("a blue square", s);
        var c = pipeline.Generate("a blue square", s with { Seed = 8 });
        Assert.Equal(a.Rgb, b.Rgb);
        Assert.NotEqual(a.Rgb, c.Rgb);
    }

    [Fact]
    public void Generate_SizeNotMultipleOfStride_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            new TextToVideo(Model).Generate("a red circle", new GenerateSettings(30, 32, 2, 8, Steps: 2)));
        Assert.Contains("8", e.Message);
    }

    [Fact]
    public void PixelLatents_BlockyVideo_RoundTripsExactly()
    {
        // 4x4 blocks of one colour survive the area downsample and the nearest upsample unchanged
        var frames = new Frames(2, 8, 12, 8);
        var rng = new Random(20261121);
        var colours = new byte[2 * 2 * 3 * 3];
        rng.NextBytes(colours);
        for (int t = 0; t < 2; t++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 12; x++)
                    for (int c = 0; c < 3; c++)
                        frames.Frame(t)[(y * 12 + x) * 3 + c] = colours[((t * 2 + y / 4) * 3 + x / 4) * 3 + c];
        var codec = new PixelLatents(4);
        var latent = codec.Encode(frames);
        Assert.Equal([3, 2, 2, 3], latent.Shape.ToArray());
        Assert.All(latent.ToArray(), v => Assert.InRange(v, -1f, 1f));
        Assert.Equal(frames.Rgb, codec.Decode(latent, 8).Rgb);
    }

    [Fact]
    public void ModelFolder_SaveLoad_SameVideo()
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-t2v-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            Model.Save(dir);
            var s = new GenerateSettings(32, 32, 2, 8, Seed: 1, Steps: 2);
            Assert.Equal(new TextToVideo(Model).Generate("a cube", s).Rgb,
                         new TextToVideo(TextVideoModel.Load(dir)).Generate("a cube", s).Rgb);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
