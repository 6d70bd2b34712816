// Tests of the VAE's pixel-folding stem, its norm-free blocks and its time-only steps (VideoVaeConfig.Patch, Norm,
// TimeHalvingLevels): the fold's layout, shapes, causality, chunked == one pass, the shortcut's pixel-codec start,
// finite-difference gradients through the whole model, and the config's validation.
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Models;

public class VaeFoldTests
{
    // 2x2 folding, 8-16-16 channels (8x spatial), time halved in the second downsample and after the last level (4x),
    // no norm, z = 4: the world-p2 design at test size.
    static readonly VideoVaeConfig Fold = new()
    {
        Patch = 2, BaseChannels = 8, ChannelMultipliers = [1, 2, 2], TimeHalvingLevels = [1, 2], Norm = VaeNorm.None,
        LatentChannels = 4,
    };

    // A VAE of `cfg` with every weight drawn at random (the norm-free blocks and the shortcut start some at zero).
    static VideoVae Randomised(VideoVaeConfig cfg, ulong seed = 1)
    {
        var vae = new VideoVae(cfg, new Rng(seed));
        var rng = new Rng(seed + 100);
        using var _ = Autograd.NoGrad();
        foreach (var p in vae.Parameters()) Spacetime.Nn.Init.Normal(p, rng, 0f, 0.1f);
        return vae;
    }

    static float[] Frames(Tensor video, int start, int count) => video.Slice(2, start, count).ToArray();

    [Fact]
    public void PixelFold_MovesEachBlockIntoChannelsAndUnfoldInvertsIt()
    {
        var x = new Rng(2).Normal(2, 3, 3, 4, 6);                                   // (B, C, T, H, W)
        var folded = PixelFold.Fold(x, 2);
        TensorAssert.ShapeIs(folded, 2, 12, 3, 2, 3);
        var xs = x.ToArray();
        var fs = folded.ToArray();
        for (int b = 0; b < 2; b++)
            for (int c = 0; c < 3; c++)
                for (int t = 0; t < 3; t++)
                    for (int y = 0; y < 4; y++)
                        for (int q = 0; q < 6; q++)
                        {
                            int channel = c * 4 + (y % 2) * 2 + q % 2;
                            float expected = xs[(((b * 3 + c) * 3 + t) * 4 + y) * 6 + q];
                            Assert.Equal(expected, fs[(((b * 12 + channel) * 3 + t) * 2 + y / 2) * 3 + q / 2]);
                        }
        TensorAssert.BitwiseEqual(xs, PixelFold.Unfold(folded, 2).ToArray(), "unfold(fold(x))");
    }

    [Theory]
    [InlineData(1, 16, 24)]
    [InlineData(5, 8, 8)]
    [InlineData(9, 16, 8)]
    [InlineData(13, 8, 16)]
    public void FoldedVae_ShapesFollowCompression(int frames, int height, int width)
    {
        var vae = Randomised(Fold);
        using var _ = Autograd.NoGrad();
        Assert.Equal(8, Fold.SpatialCompression);
        var z = vae.Encode(new Rng(1).Uniform(-1, 1, 2, 3, frames, height, width)).Mode();
        TensorAssert.ShapeIs(z, 2, 4, 1 + (frames - 1) / 4, height / 8, width / 8);
        TensorAssert.ShapeIs(vae.Decode(z), 2, 3, frames, height, width);
    }

    [Fact]
    public void FoldedVae_EncoderAndDecoderAreCausal()
    {
        var vae = Randomised(Fold);
        using var _ = Autograd.NoGrad();
        var video = new Rng(3).Uniform(-1, 1, 1, 3, 9, 8, 8);
        var z = vae.Encode(video).Mean;                                            // (1, 4, 3, 1, 1)
        var x = vae.Decode(z);                                                     // (1, 3, 9, 8, 8)
        for (int k = 0; k < 2; k++)
        {
            var changed = F.Concat([video.Slice(2, 0, 4 * k + 1), new Rng(7).Normal(1, 3, 8 - 4 * k, 8, 8)], dim: 2);
            var z2 = vae.Encode(changed).Mean;
            TensorAssert.BitwiseEqual(Frames(z, 0, k + 1), Frames(z2, 0, k + 1), $"latent frames 0..{k}");
            Assert.NotEqual(Frames(z, k + 1, 1), Frames(z2, k + 1, 1));

            var zChanged = F.Concat([z.Slice(2, 0, k + 1), new Rng(9).Normal(1, 4, 2 - k, 1, 1)], dim: 2);
            var x2 = vae.Decode(zChanged);
            TensorAssert.BitwiseEqual(Frames(x, 0, 4 * k + 1), Frames(x2, 0, 4 * k + 1), $"frames 0..{4 * k}");
            Assert.NotEqual(Frames(x, 4 * k + 1, 1), Frames(x2, 4 * k + 1, 1));
        }
    }

    // Same tolerance and reasoning as VaeTests' chunked test: the same windows, only summation order may differ.
    [Theory]
    [InlineData(4)]
    [InlineData(8)]
    public void FoldedVae_ChunkedEncodeAndDecode_MatchOnePass(int microFrames)
    {
        var vae = Randomised(Fold with { Shortcut = true });
        using var _ = Autograd.NoGrad();
        var video = new Rng(5).Uniform(-1, 1, 2, 3, 17, 16, 8);
        var onePass = vae.Encode(video);
        var chunked = vae.Encode(video, microFrames);
        TensorAssert.Close(Doubles(onePass.Mean), chunked.Mean, 0, 1e-5, "mean");
        var z = onePass.Mode();
        TensorAssert.Close(Doubles(vae.Decode(z)), vae.Decode(z, microFrames), 0, 1e-5, "video");
    }

    [Fact]
    public void FoldedVae_Untrained_BlocksAreIdentityAndShortcutIsThePixelCodec()
    {
        var cfg = Fold with { Shortcut = true };
        var vae = new VideoVae(cfg, new Rng(1));
        var state = vae.StateDict();
        Assert.DoesNotContain(state.Keys, k => k.Contains("norm"));
        Assert.Contains("decoder.up.2.upsample_time.conv.conv.weight", state.Keys);
        Assert.Contains("encoder.down.2.downsample.conv.conv.weight", state.Keys);
        foreach (var (key, value) in state.Where(kv => kv.Key.Contains(".conv2.")))
            Assert.True(value.ToArray().All(v => v == 0), $"{key} starts at zero");

        // A video that is constant over every 8x8 block and every frame group (frame 0, then frames 4j-3..4j) is
        // exactly what the pixel codec keeps, so the untrained shortcut VAE gives it back.
        using var _ = Autograd.NoGrad();
        var rng = new Rng(6);
        var cells = rng.Uniform(-1, 1, 1, 3, 3, 2, 3).ToArray();                   // (1, 3, T', h, w)
        var data = new float[3 * 9 * 16 * 24];
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < 9; t++)
                for (int y = 0; y < 16; y++)
                    for (int x = 0; x < 24; x++)
                        data[((c * 9 + t) * 16 + y) * 24 + x] = cells[((c * 3 + (t + 3) / 4) * 2 + y / 8) * 3 + x / 8];
        var video = Tensor.From(data, 1, 3, 9, 16, 24);
        TensorAssert.Close(Doubles(video), vae.Decode(vae.Encode(video).Mode()), 0, 1e-5, "pixel codec");
    }

    [Fact]
    public void Backward_WholeFoldedVae_MatchesFiniteDifferencesForEveryParameter()
    {
        // Every parameter of a tiny folded, norm-free VAE with its time-only steps, by central differences through
        // encode -> mode -> decode. No norms, so the loss is smooth and a tighter tolerance than VaeTests' holds.
        var vae = Randomised(Fold with { BaseChannels = 4, Shortcut = true });
        var video = new Rng(3).Uniform(-1, 1, 1, 3, 5, 8, 8);
        var failures = new List<string>();
        Tensor Reconstruct(Tensor[] _) => vae.Forward(video).Reconstruction;
        foreach (var (name, p) in vae.NamedParameters())
        {
            try { GradCheck.Check(Reconstruct, [p], eps: 4e-3, rtol: 0.05, atol: 5e-3, maxPerInput: 3, what: name); }
            catch (Xunit.Sdk.XunitException e) { failures.Add(e.Message); }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Theory]
    [InlineData(new[] { 1 }, "TimeHalvingLevels")]          // 4x needs two halvings
    [InlineData(new[] { 1, 1 }, "TimeHalvingLevels")]       // not distinct
    [InlineData(new[] { 1, 3 }, "TimeHalvingLevels")]       // level 3 does not exist
    public void VideoVaeConfig_BadTimeHalvingLevels_AreRefused(int[] levels, string mention) =>
        Assert.Contains(mention, Assert.Throws<ArgumentException>(
            () => (Fold with { TimeHalvingLevels = levels }).Validate()).Message);

    [Fact]
    public void VideoVaeConfig_BadPatchIsRefused_AndNormRoundTripsByName()
    {
        Assert.Contains("Patch 3", Assert.Throws<ArgumentException>(() => (Fold with { Patch = 3 }).Validate()).Message);
        var json = Fold.ToJson();
        Assert.Contains("\"None\"", json);
        var back = VideoVaeConfig.FromJson(json);
        Assert.Equal(VaeNorm.None, back.Norm);
        Assert.Equal([1, 2], back.TimeHalvingLevels!);
        Assert.Equal(json, back.ToJson());
    }

    static double[] Doubles(Tensor t) => t.ToArray().Select(v => (double)v).ToArray();
}
