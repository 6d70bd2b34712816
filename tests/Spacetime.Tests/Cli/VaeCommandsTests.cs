// `spacetime vae reconstruct --input`: video files of odd sizes and lengths through a small random VAE folder come
// back at their own size, frame count and fps; every bad VAE folder or input is one line, exit code 2 and no output.
using Spacetime.Engine;
using Spacetime.Media;
using Spacetime.Models.Vae;
using Spacetime.Tests.Media;

namespace Spacetime.Tests.Cli;

public sealed class VaeCommandsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-vaecli-" + Guid.NewGuid().ToString("N")[..8]);
    readonly string vae;

    // 4x space, 4x time, 8 base channels; the shortcut makes the untrained VAE an area-mean codec, so a
    // reconstruction resembles its input and PSNR means something
    static readonly VideoVaeConfig Small = new()
    {
        BaseChannels = 8, ChannelMultipliers = [1, 2, 2], NormGroups = 4, Shortcut = true,
    };

    public VaeCommandsTests()
    {
        vae = Path.Combine(dir, "vae");
        VaeCheckpoint.Save(new VideoVae(Small, new Rng(5)), vae);
    }

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    string Input(string name, Frames frames)
    {
        string path = Path.Combine(dir, name);
        VideoFile.Write(path, frames);
        return path;
    }

    static Frames Reconstruct(string vaeDir, string input, string output, out string stdout)
    {
        var (code, o, err) = CliTests.Run("vae", "reconstruct", "--vae", vaeDir, "--input", input, "--out", output);
        Assert.True(code == 0, err);
        stdout = o;
        return VideoFile.Read(output);
    }

    [Fact]
    public void Reconstruct_OddSizedY4m_PaddedThenCroppedBackToItsSizeFramesAndFps()
    {
        // Still quadrants whose borders (x = 8, y = 8) fall on the 4x4 latent grid of the top-left-anchored padding:
        // the area-mean codec gives them back exactly, which a shifted crop or padding would not.
        var real = new Frames(10, 17, 13, 12);
        for (int t = 0; t < real.Count; t++)
            for (int y = 0; y < real.Height; y++)
                for (int x = 0; x < real.Width; x++)
                    real.Frame(t).Slice((y * real.Width + x) * 3, 3).Fill((byte)(x < 8 ? (y < 8 ? 40 : 200) : 120));
        string output = Path.Combine(dir, "out.y4m");
        var back = Reconstruct(vae, Input("in.y4m", real), output, out string stdout);
        Assert.Equal((10, 17, 13, 12.0), (back.Count, back.Height, back.Width, back.Fps));
        Assert.Contains("padded 13x17 to 16x20 (edge), 10 frames to 13 (last frame repeated)", stdout);
        Assert.Contains("PSNR inf dB, SSIM 1.0000; wall time ", stdout);
        Assert.Equal(VideoFile.Read(Path.Combine(dir, "in.y4m")).Rgb, back.Rgb);
        Assert.Equal(output, Directory.GetFiles(dir, "*out*").Single());                    // no temp files left
    }

    [Fact]
    public void Reconstruct_Gif_SameSizeFramesAndFps()
    {
        var back = Reconstruct(vae, Input("in.gif", MediaTestKit.MovingShapes(5, 16, 24, fps: 10)),
                               Path.Combine(dir, "out.gif"), out string stdout);
        Assert.Equal((5, 16, 24, 10.0), (back.Count, back.Height, back.Width, back.Fps));
        Assert.DoesNotContain("padded", stdout);                        // 16x24, 5 = 1 + 4 frames: already fits
    }

    [Fact]
    public void Reconstruct_PngFrameFolder_ToFolderAndContactSheet()
    {
        string input = Input("frames", MediaTestKit.MovingShapes(3, 9, 11, fps: 6));
        var back = Reconstruct(vae, input, Path.Combine(dir, "back"), out string stdout);
        Assert.Equal((3, 9, 11, 6.0), (back.Count, back.Height, back.Width, back.Fps));
        Assert.Contains("padded 11x9 to 12x12 (edge), 3 frames to 5 (last frame repeated)", stdout);

        var sheet = Reconstruct(vae, input, Path.Combine(dir, "sheet.png"), out _);
        Assert.Equal((6, 9, 11), (sheet.Count, sheet.Height, sheet.Width));   // 3 real frames above 3 reconstructed
        Assert.Equal(VideoFile.Read(input).Frame(2).ToArray(), sheet.Frame(2).ToArray());
        Assert.Equal(back.Frame(0).ToArray(), sheet.Frame(3).ToArray());
    }

    [Fact]
    public void Reconstruct_LongVideo_RunsInChunksAndKeepsEveryFrame()
    {
        var back = Reconstruct(vae, Input("long.y4m", MediaTestKit.MovingShapes(40, 8, 8, fps: 8)),
                               Path.Combine(dir, "long-out.y4m"), out string stdout);
        Assert.Equal(40, back.Count);
        Assert.Contains("40 frames to 41 (last frame repeated)", stdout);
        Assert.Contains("encoding 41 frames of 8x8 in 3 chunks of up to 17 frames", stdout);
        Assert.Contains("decoding 41 frames of 8x8 in 3 chunks", stdout);
    }

    [Fact]
    public void Reconstruct_BadVaeFolder_OneLineExit2AndNoOutput()
    {
        string input = Input("in.y4m", MediaTestKit.MovingShapes(5, 8, 8)), output = Path.Combine(dir, "out.y4m");
        void Fails(string vaeDir, params string[] mentions)
        {
            CliTests.AssertOneLineError(["vae", "reconstruct", "--vae", vaeDir, "--input", input, "--out", output],
                                        ["--vae", .. mentions]);
            Assert.False(File.Exists(output));
        }
        string Copy(string name)
        {
            string copy = Path.Combine(dir, name);
            Directory.CreateDirectory(copy);
            foreach (var f in Directory.GetFiles(vae)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
            return copy;
        }

        Fails(Path.Combine(dir, "nope"), "nope", "does not exist", "spacetime train vae");

        string other = Copy("other");                                    // a config of another size
        File.WriteAllText(Path.Combine(other, VaeCheckpoint.ConfigFile), (Small with { BaseChannels = 16 }).ToJson());
        Fails(other, "does not fit config.json", "wrong shape", "more", "same `spacetime train vae` run");

        string truncated = Copy("truncated");
        string weights = Path.Combine(truncated, VaeCheckpoint.WeightsFile);
        File.WriteAllBytes(weights, File.ReadAllBytes(weights)[..^100]);
        Fails(truncated, "model.safetensors is truncated or corrupt", "copy or export the folder again");

        string corrupt = Copy("corrupt");
        File.WriteAllBytes(Path.Combine(corrupt, VaeCheckpoint.WeightsFile), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        Fails(corrupt, "model.safetensors is truncated or corrupt");

        string badConfig = Copy("bad-config");
        File.WriteAllText(Path.Combine(badConfig, VaeCheckpoint.ConfigFile), "{ \"BaseChannels\": ");
        Fails(badConfig, "config.json is not a VAE config");

        string noWeights = Copy("no-weights");
        File.Delete(Path.Combine(noWeights, VaeCheckpoint.WeightsFile));
        Fails(noWeights, "model.safetensors does not exist");

        string modelFolder = Path.Combine(dir, "model");                 // a model folder holds its VAE in vae/
        Directory.CreateDirectory(modelFolder);
        Directory.Move(Copy("model-vae"), Path.Combine(modelFolder, "vae"));
        File.WriteAllText(Path.Combine(modelFolder, VaeCheckpoint.ConfigFile), "{}");
        Fails(modelFolder, "model folder", Path.Combine(modelFolder, "vae"));
    }

    [Fact]
    public void Reconstruct_BadInput_OneLineExit2AndNoOutput()
    {
        string output = Path.Combine(dir, "out.y4m");
        void Fails(string[] extra, params string[] mentions)
        {
            CliTests.AssertOneLineError(["vae", "reconstruct", "--vae", vae, "--out", output, .. extra], mentions);
            Assert.False(File.Exists(output));
            Assert.Empty(Directory.GetFiles(dir, "*out*"));
        }

        Fails(["--input", Path.Combine(dir, "missing.y4m")], "missing.y4m", "not found");
        string garbage = Path.Combine(dir, "garbage.y4m");
        File.WriteAllText(garbage, "this is not a video");
        Fails(["--input", garbage], "garbage.y4m");
        string truncatedGif = Input("truncated.gif", MediaTestKit.MovingShapes(5, 16, 16));
        File.WriteAllBytes(truncatedGif, File.ReadAllBytes(truncatedGif)[..40]);
        Fails(["--input", truncatedGif], "truncated.gif");
        string unknown = Path.Combine(dir, "clip.xyz");
        File.WriteAllText(unknown, "?");
        Fails(["--input", unknown], "clip.xyz", "unknown video extension");

        string tiny = Input("tiny.y4m", MediaTestKit.MovingShapes(5, 3, 7));    // 7x3: under one 4x4 latent cell
        Fails(["--input", tiny], "--input", "7x3", "smaller than one latent cell", "at least 4x4");

        string fine = Input("fine.y4m", MediaTestKit.MovingShapes(5, 8, 8));
        Fails(["--input", fine, "--seed", "3"], "--input", "--seed");
        Fails(["--input", fine, "--size", "64x64"], "--input", "--size");
        CliTests.AssertOneLineError(["vae", "reconstruct", "--vae", vae, "--input", fine, "--out",
                                     Path.Combine(dir, "out.xyz")], "out.xyz", "unknown video extension");
        Assert.Empty(Directory.GetFiles(dir, "*out*"));
    }

    [Fact]
    public void Reconstruct_WithoutInput_IsStillAWorldClip()
    {
        string output = Path.Combine(dir, "world.png");
        var (code, stdout, err) = CliTests.Run("vae", "reconstruct", "--vae", vae, "--seed", "2", "--size", "32x32",
                                               "--seconds", "1", "--fps", "4", "--out", output);
        Assert.True(code == 0, err);
        Assert.Contains("5 frames of 32x32, real then reconstructed", stdout);
        Assert.Equal(10, VideoFile.Read(output).Count);
    }
    [Fact]
    public void Normalize_WritesACopyWithChannelStats_ThatCentreTheLatents()
    {
        // the shared VAE is an untrained shortcut codec, whose other channels are all zero: refused in one line
        var (refused, _, why) = CliTests.Run("vae", "normalize", "--vae", vae, "--out", Path.Combine(dir, "n0"), "--clips", "2");
        Assert.Equal(2, refused);
        Assert.Contains("zero variance", why);
        Assert.False(Directory.Exists(Path.Combine(dir, "n0")));
        string plain = Path.Combine(dir, "plain");                                 // every channel varies
        VaeCheckpoint.Save(new VideoVae(Small with { Shortcut = false }, new Rng(6)), plain);
        string output = Path.Combine(dir, "norm");
        var (code, stdout, err) = CliTests.Run("vae", "normalize", "--vae", plain, "--out", output, "--clips", "3");
        Assert.True(code == 0, err);
        Assert.Contains("| channel | mean | std |", stdout);
        var (source, norm) = (VaeCheckpoint.Load(plain), VaeCheckpoint.Load(output));
        Assert.Null(source.Config.ChannelMean);
        Assert.Equal(source.Config.LatentChannels, norm.Config.ChannelMean!.Length);
        foreach (var (name, t) in source.StateDict()) Assert.Equal(t.ToArray(), norm.StateDict()[name].ToArray());
        // the first clip it measured on, through the normalised VAE: every channel near zero mean, none far from unit
        // scale (one clip of three, so not exactly 0 and 1)
        var clip = Spacetime.World.WorldClip.Render(new Spacetime.World.ClipSettings(
            Spacetime.World.WorldClip.DeriveSeed(0xC4A7_57A7, 0), 128, 128, 2.125, 8));
        var z = new Spacetime.Pipelines.VaeLatents(norm).Encode(clip.Frames).Unsqueeze(0);     // (1, C, T', h, w)
        var (mean, std) = VideoVae.MeasureChannelStats(z);
        Assert.All(mean, m => Assert.InRange(m, -1.5, 1.5));
        Assert.All(std, x => Assert.InRange(x, 0.2, 2.5));
        var (again, _, err2) = CliTests.Run("vae", "normalize", "--vae", plain, "--out", output, "--clips", "3");
        Assert.Equal(2, again);                                                  // nothing overwritten
        Assert.Contains("already exists", err2);
    }
}
