// The generation pipeline: seeded, the requested size and length (rounded and said), and every mode's contract on a
// tiny model: the given frames come back as the codec's round trip of the input, at their place in time.
using Spacetime.Diffusion;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.Training;

namespace Spacetime.Tests.Pipelines;

public sealed class GeneratorTests
{
    // tiny: pixel-space latents 4x down, 2x2 patches (stride 8), any frame count, a 5-frame window at 8 fps
    static readonly TextVideoModel Model = DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 5);

    static GenerationRequest Request(string prompt = "a red circle falls") => new(prompt)
    {
        Width = 32, Height = 32, Frames = 5, Fps = 8, Sampler = new SamplerConfig(Steps: 3), ExpandPrompt = false,
    };

    // a video whose every 4x4 block is one colour, so the pixel codec returns it exactly
    static Frames Blocky(int count, int seed, int h = 32, int w = 32)
    {
        var rng = new Random(seed);
        var frames = new Frames(count, h, w, 8);
        for (int t = 0; t < count; t++)
            for (int by = 0; by < h / 4; by++)
                for (int bx = 0; bx < w / 4; bx++)
                {
                    byte r = (byte)rng.Next(256), g = (byte)rng.Next(256), b = (byte)rng.Next(256);
                    for (int y = by * 4; y < by * 4 + 4; y++)
                        for (int x = bx * 4; x < bx * 4 + 4; x++)
                        {
                            var px = frames.Frame(t).Slice((y * w + x) * 3, 3);
                            (px[0], px[1], px[2]) = (r, g, b);
                        }
                }
        return frames;
    }

    static void SameFrame(Frames a, int i, Frames b, int j, string what) =>
        Assert.True(a.Frame(i).SequenceEqual(b.Frame(j)), $"{what}: frame {i} differs from frame {j}");

    [Fact]
    public void Generate_RequestedSizeAndFrames()
    {
        var video = new Generator(Model).Generate(Request() with { Width = 48, Height = 24, Frames = 6 }).Video;
        Assert.Equal((6, 24, 48, 8.0), (video.Count, video.Height, video.Width, video.Fps));
    }

    [Fact]
    public void Generate_SameSeedSameVideo_OtherSeedOtherVideo()
    {
        var generator = new Generator(Model);
        var r = Request() with { Seed = 7, Frames = 3 };
        var a = generator.Generate(r).Video;
        var b = generator.Generate(r).Video;
        var c = generator.Generate(r with { Seed = 8 }).Video;
        Assert.Equal(a.Rgb, b.Rgb);
        Assert.NotEqual(a.Rgb, c.Rgb);
    }

    [Fact]
    public void Generate_SizeNotMultipleOfStride_IsRoundedAndSaid()
    {
        var result = new Generator(Model).Generate(Request() with { Width = 30, Height = 37, Frames = 2 });
        Assert.Equal((32, 40), (result.Video.Width, result.Video.Height));
        Assert.Contains(result.Notes, n => n.Contains("width 30 rounded to 32") && n.Contains("multiples of 8"));
        Assert.Contains(result.Notes, n => n.Contains("height 37 rounded to 40"));
    }

    [Fact]
    public void ImageToVideo_FrameZeroIsTheImage()
    {
        var image = Blocky(1, 1);
        var video = new Generator(Model).Generate(Request() with { Condition = Conditioning.FromImage(image) }).Video;
        Assert.Equal(5, video.Count);
        SameFrame(video, 0, image, 0, "image to video");
    }

    [Fact]
    public void Image_OfAnotherSize_IsScaledAndCropped_AndSaid()
    {
        var image = Blocky(1, 2, h: 64, w: 96);                                 // 3:2 -> cover 32x32: 48x32, crop 8 each side
        var result = new Generator(Model).Generate(Request() with { Condition = Conditioning.FromImage(image) });
        Assert.Contains(result.Notes, n => n.Contains("96x64") && n.Contains("centre-cropped to 32x32"));
        var fitted = Conform.Cover(image, 32, 32);
        SameFrame(result.Video, 0, Model.Latents.Decode(Model.Latents.Encode(fitted), 8), 0, "fitted image");
    }

    [Fact]
    public void ExtendForward_KeepsTheInputsLastFrames_AtTheStart()
    {
        var input = Blocky(6, 3);
        var result = new Generator(Model).Generate(Request() with { Condition = Conditioning.Extend(input) });
        Assert.Equal(5, result.Video.Count);
        // at most half of the 5-frame window is given: the input's last 2 frames, then 3 new ones
        for (int i = 0; i < 2; i++) SameFrame(result.Video, i, input, 4 + i, "extend forward");
        Assert.Contains(result.Notes, n => n.Contains("its last 2 are used"));
        Assert.False(result.Video.Frame(2).SequenceEqual(input.Frame(0)));
    }

    [Fact]
    public void ExtendBackward_EndsWithTheInput()
    {
        var input = Blocky(2, 4);
        var video = new Generator(Model).Generate(Request() with { Condition = Conditioning.Extend(input, backward: true) }).Video;
        for (int i = 0; i < 2; i++) SameFrame(video, 3 + i, input, i, "extend backward");
    }

    [Fact]
    public void Connect_StartsWithAsEnd_EndsWithBsStart()
    {
        var (a, b) = (Blocky(4, 5), Blocky(4, 6));
        var video = new Generator(Model).Generate(Request() with { Condition = Conditioning.Connect(a, b) }).Video;
        Assert.Equal(5, video.Count);
        // at most a third of the 5-frame window from each: A's last frame, then 3 new, then B's first
        SameFrame(video, 0, a, 3, "connect, A");
        SameFrame(video, 4, b, 0, "connect, B");
    }

    [Fact]
    public void Loop_DropsTheTiedFrame_AndStartsFromTheImage()
    {
        var image = Blocky(1, 7);
        var result = new Generator(Model).Generate(Request() with { Frames = 4, Condition = Conditioning.Loop(image) });
        Assert.Equal(4, result.Video.Count);                                    // 5 sampled, the 5th (= frame 0) dropped
        SameFrame(result.Video, 0, image, 0, "loop from an image");
    }

    [Fact]
    public void Edit_LowStrengthStaysNearTheInput_FullStrengthDoesNot()
    {
        var input = Blocky(5, 8);
        double Distance(double strength)
        {
            var video = new Generator(Model).Generate(Request() with { Condition = Conditioning.Edit(input, strength) }).Video;
            return video.Rgb.Zip(input.Rgb, (x, y) => Math.Abs(x - y)).Average();
        }
        double low = Distance(0.2), full = Distance(1.0);
        Assert.True(low < 0.5 * full, $"strength 0.2: {low:F1} levels from the input; strength 1: {full:F1}");
    }

    [Fact]
    public void OneFrame_IsAnImage_AndALongVideoIsMadeInChunks()
    {
        var generator = new Generator(Model);
        Assert.Equal(1, generator.Generate(Request() with { Frames = 1 }).Video.Count);
        var progress = new List<GenerationProgress>();
        var result = generator.Generate(Request() with { Frames = null, Seconds = 60, Width = 16, Height = 16,
                                                         Sampler = new SamplerConfig(Steps: 1) },
                                        new SyncProgress(progress.Add));
        Assert.Equal(480, result.Video.Count);                                  // 60 s at 8 fps
        // a 5-frame window continuing 1 frame: 1 + ceil((480 - 5) / 4) chunks
        Assert.Equal(120, result.Chunks);
        Assert.Equal(120, progress.Select(p => p.Chunk).Distinct().Count());
        Assert.Contains(result.Notes, n => n.Contains("120 chunks"));
    }

    sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }

    // The tiny recipe's model with every DiT weight drawn from N(0, 0.1) (an untrained adaLN-Zero DiT outputs zero
    // whatever its input, so sampler settings would not show in the video).
    static Generator RandomTinyGenerator()
    {
        var model = DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 5);
        using (Spacetime.Engine.Autograd.NoGrad())
        {
            var rng = new Spacetime.Engine.Rng(11);
            foreach (var p in model.Dit.Parameters()) Spacetime.Nn.Init.Normal(p, rng, 0f, 0.1f);
        }
        return new Generator(model);
    }

    [Fact]
    public void GuidanceInterval_OutsideIsTheConditionalModel_InsideGuides()
    {
        var generator = RandomTinyGenerator();
        var r = Request() with { Seed = 3, Frames = 3, Sampler = new SamplerConfig(Steps: 4) };
        // at scale 1 guidance is the conditional model, so guiding nowhere (the conditional captions alone, a batch
        // of one) must give the very same video
        var plain = generator.Generate(r with { Guidance = 1 }).Video;
        var nowhere = generator.Generate(r with { Guidance = 1, GuidanceInterval = new GuidanceInterval(0, 0) }).Video;
        Assert.Equal(plain.Rgb, nowhere.Rgb);
        // at scale 4: everywhere, nowhere and a part of the path are three different samplers
        var all = generator.Generate(r with { Guidance = 4 }).Video;
        var none = generator.Generate(r with { Guidance = 4, GuidanceInterval = new GuidanceInterval(0, 0) }).Video;
        var part = generator.Generate(r with { Guidance = 4, GuidanceInterval = new GuidanceInterval(0.2, 0.85) }).Video;
        Assert.Equal(plain.Rgb, none.Rgb);
        Assert.NotEqual(all.Rgb, part.Rgb);
        Assert.NotEqual(none.Rgb, part.Rgb);
        Assert.Equal(all.Rgb, generator.Generate(r with { Guidance = 4, GuidanceInterval = GuidanceInterval.Everywhere }).Video.Rgb);
        var e = Assert.Throws<GenerationRequestException>(() =>
            generator.Generate(r with { GuidanceInterval = new GuidanceInterval(0.9, 0.1) }));
        Assert.Contains("0 <= LO <= HI <= 1", e.Message);
    }

    [Fact]
    public void Shift_OneIsTheUniformGrid_OthersMoveTheSteps_OutOfRangeRefused()
    {
        var generator = RandomTinyGenerator();
        var r = Request() with { Seed = 3, Frames = 3 };
        var uniform = generator.Generate(r with { Sampler = new SamplerConfig(Steps: 4) }).Video;
        Assert.Equal(uniform.Rgb, generator.Generate(r with { Sampler = new SamplerConfig(Steps: 4, Shift: 1) }).Video.Rgb);
        // a shifted grid visits other times (1, 0.9, 0.75, 0.5, 0 at s = 3 instead of 1, 0.75, 0.5, 0.25, 0)
        var shifted = generator.Generate(r with { Sampler = new SamplerConfig(Steps: 4, Shift: 3) }).Video;
        Assert.NotEqual(uniform.Rgb, shifted.Rgb);
        foreach (double bad in new[] { 0, -1, GenerationRequest.MaxShift * 1.01, double.NaN })
        {
            var e = Assert.Throws<GenerationRequestException>(() =>
                generator.Generate(r with { Sampler = new SamplerConfig(Steps: 4, Shift: bad) }));
            Assert.Contains("timestep shift", e.Message);
        }
    }

    [Theory]
    [InlineData("", "prompt is empty")]
    [InlineData("strength", "strength 1.5")]
    [InlineData("seconds", "at most 60")]
    [InlineData("loop", "not a loop")]
    public void BadRequests_AreRequestErrors_ThatSayWhatToChange(string what, string expected)
    {
        var r = what switch
        {
            "" => Request("  "),
            "strength" => Request() with { Condition = Conditioning.Edit(Blocky(2, 1), 1.5) },
            "seconds" => Request() with { Frames = null, Seconds = 61 },
            _ => Request() with { Frames = 40, Condition = Conditioning.Loop() },
        };
        var e = Assert.Throws<GenerationRequestException>(() => new Generator(Model).Generate(r));
        Assert.Contains(expected, e.Message);
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
            var r = Request("a cube") with { Frames = 2, Seed = 1, Sampler = new SamplerConfig(Steps: 2) };
            Assert.Equal(new Generator(Model).Generate(r).Video.Rgb,
                         new Generator(TextVideoModel.Load(dir)).Generate(r).Video.Rgb);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }
}
