// VaeRoundTrip: how a video of any size and length is fitted to a VAE (padding, shrinking, chunk length) and
// restored after decoding.
using Spacetime.Engine;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;

namespace Spacetime.Tests.Pipelines;

public sealed class VaeRoundTripTests
{
    static readonly VideoVaeConfig WorldS = VideoVaeConfig.Presets["world-s"];    // 8x space, 4x time

    [Fact]
    public void Plan_OddSize_PadsToTheStrideAndFramesToOnePlusFourK()
    {
        var plan = VaeRoundTrip.Plan(WorldS, 130, 97, 10);
        Assert.False(plan.Resized);
        Assert.Equal((136, 104, 13), (plan.PaddedWidth, plan.PaddedHeight, plan.PaddedCount));
        Assert.Equal(["padded 130x97 to 136x104 (edge), 10 frames to 13 (last frame repeated); cropped back after " +
                      "decoding"], plan.Describe());
        Assert.Empty(VaeRoundTrip.Plan(WorldS, 128, 96, 17).Describe());                  // already fits
        Assert.Equal(8, VaeRoundTrip.MinSide(WorldS));
    }

    [Fact]
    public void Plan_LargeFrames_ShrinkToMultiplesOfTheStrideUnderTheLimit()
    {
        var plan = VaeRoundTrip.Plan(WorldS, 1920, 1080, 5);
        Assert.True(plan.Resized);
        Assert.True((long)plan.FitWidth * plan.FitHeight <= VaeRoundTrip.MaxPixels(WorldS));
        Assert.Equal((0, 0), (plan.FitWidth % 8, plan.FitHeight % 8));
        Assert.Equal((plan.FitWidth, plan.FitHeight), (plan.PaddedWidth, plan.PaddedHeight));
        Assert.InRange(plan.FitWidth / (double)plan.FitHeight, 16 / 9.0 * 0.97, 16 / 9.0 * 1.03);
        Assert.StartsWith($"resized 1920x1080 to {plan.FitWidth}x{plan.FitHeight} (area filter",
                          plan.Describe().First());
    }

    [Theory]
    [InlineData(64, 64, 16)]               // small frames: the longest chunk
    [InlineData(96, 96, 12)]               // larger frames: shorter chunks, same memory
    [InlineData(128, 128, 4)]              // never under the temporal stride
    [InlineData(640, 360, 4)]              // shrunk to fit one 1 + 4 frame chunk
    public void Plan_MicroFrames_ShrinkAsFramesGrow(int width, int height, int micro)
    {
        Assert.Equal(micro, VaeRoundTrip.Plan(WorldS, width, height, 100).MicroFrames);
    }

    [Fact]
    public void Run_LargeFrame_ShrunkThenGivenBackAtItsOwnSize()
    {
        // the untrained shortcut VAE is an area-mean codec, so a smooth ramp survives the 3x shrink, the 4x4 means
        // and the nearest-pixel return at about 26 dB (a flat grey would score 11 dB)
        var vae = new VideoVae(new VideoVaeConfig { BaseChannels = 8, ChannelMultipliers = [1, 2, 2], NormGroups = 4,
                                                    Shortcut = true }, new Rng(3));
        var image = new Frames(2, 48, 72, 6);
        for (int t = 0; t < 2; t++)
            for (int y = 0; y < 48; y++)
                for (int x = 0; x < 72; x++)
                    image.Frame(t).Slice((y * 72 + x) * 3, 3).Fill((byte)(x * 255 / 72));
        var plan = VaeRoundTrip.Plan(vae.Config, 72, 48, 2, maxPixels: 24 * 16);
        Assert.Equal((24, 16, 24, 16), (plan.FitWidth, plan.FitHeight, plan.PaddedWidth, plan.PaddedHeight));
        var stages = new List<string>();
        var (back, _, _) = VaeRoundTrip.Run(vae, image, plan, stages.Add);
        Assert.Equal((2, 48, 72, 6.0), (back.Count, back.Height, back.Width, back.Fps));
        Assert.Equal(["encoding", "decoding"], stages);
        Assert.True(Fidelity.Psnr(image, back) > 22, $"PSNR {Fidelity.Psnr(image, back):F1} dB");
    }
}
