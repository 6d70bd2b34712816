// Tests of the causal video VAE (src/Spacetime.Models/Vae) on tiny configs: shapes, 1 + 4k -> 1 + k frames,
// causality of encoder and decoder, chunked == one pass, posterior and loss, overfitting one batch, checkpoints.
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Nn.Optim;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Models;

public class VaeTests
{
    // 8-16-16 channels, 4x spatial, 4x temporal, z = 4: ~30k parameters, milliseconds per forward.
    static readonly VideoVaeConfig Tiny = new()
    {
        BaseChannels = 8, ChannelMultipliers = [1, 2, 2], ResBlocks = 1, NormGroups = 4, LatentChannels = 4,
    };

    // The same with 8x spatial compression (4 levels).
    static readonly VideoVaeConfig Tiny8 = Tiny with { ChannelMultipliers = [1, 1, 2, 2] };

    static VideoVae Model(VideoVaeConfig cfg, ulong seed = 1) => new(cfg, new Rng(seed));

    // A smooth moving pattern in [-1, 1]: something a tiny VAE can actually compress.
    static Tensor MovingWaves(int b, int t, int h, int w)
    {
        var data = new float[b * 3 * t * h * w];
        int i = 0;
        for (int n = 0; n < b; n++)
            for (int c = 0; c < 3; c++)
                for (int f = 0; f < t; f++)
                    for (int y = 0; y < h; y++)
                        for (int x = 0; x < w; x++)
                            data[i++] = 0.8f * MathF.Sin(0.35f * (x + 1.5f * f) + 0.9f * c + 1.7f * n) *
                                        MathF.Cos(0.25f * y - 0.2f * f + 0.5f * c);
        return Tensor.From(data, b, 3, t, h, w);
    }

    static float[] Frames(Tensor video, int start, int count) => video.Slice(2, start, count).ToArray();

    static double[] Doubles(Tensor t) => t.ToArray().Select(v => (double)v).ToArray();

    static float MaxAbsDiff(float[] a, float[] b) => a.Zip(b, (x, y) => MathF.Abs(x - y)).Max();

    [Theory]
    [InlineData(1, 16, 16)]
    [InlineData(5, 16, 16)]
    [InlineData(9, 16, 16)]
    [InlineData(5, 16, 24)]
    [InlineData(5, 24, 16)]
    [InlineData(13, 8, 4)]
    [InlineData(1, 4, 12)]
    public void Vae_EncodeDecode_ShapesFollowCompression(int frames, int height, int width)
    {
        var vae = Model(Tiny);
        using var _ = Autograd.NoGrad();
        var video = MovingWaves(2, frames, height, width);
        var posterior = vae.Encode(video);
        int latentFrames = 1 + (frames - 1) / 4;
        TensorAssert.ShapeIs(posterior.Mean, 2, 4, latentFrames, height / 4, width / 4);
        TensorAssert.ShapeIs(posterior.Logvar, 2, 4, latentFrames, height / 4, width / 4);
        Assert.Equal(latentFrames, vae.LatentFrames(frames));
        TensorAssert.ShapeIs(vae.Decode(posterior.Mode()), 2, 3, frames, height, width);
    }

    [Theory]
    [InlineData(1, 16, 24)]
    [InlineData(5, 24, 16)]
    [InlineData(9, 8, 8)]
    public void Vae_Spatial8x_ShapesFollowCompression(int frames, int height, int width)
    {
        var vae = Model(Tiny8);
        using var _ = Autograd.NoGrad();
        var z = vae.Encode(MovingWaves(1, frames, height, width)).Mode();
        TensorAssert.ShapeIs(z, 1, 4, 1 + (frames - 1) / 4, height / 8, width / 8);
        TensorAssert.ShapeIs(vae.Decode(z), 1, 3, frames, height, width);
        Assert.Equal(8, Tiny8.SpatialCompression);
    }

    [Theory]
    [InlineData(4, 16, 16)]     // not 1 + 4k frames
    [InlineData(5, 18, 16)]     // height not a multiple of 4
    [InlineData(5, 16, 10)]
    public void Vae_Encode_BadVideoSizeThrowsNamingTheRule(int frames, int height, int width)
    {
        var vae = Model(Tiny);
        var e = Assert.Throws<ArgumentException>(() => vae.Encode(Tensor.Zeros(1, 3, frames, height, width)));
        Assert.Contains("T = 1 + 4k", e.Message);
    }

    [Fact]
    public void Vae_Encoder_LatentFrameKIgnoresFramesAfter4K()
    {
        var vae = Model(Tiny);
        using var _ = Autograd.NoGrad();
        var video = MovingWaves(1, 9, 8, 8);
        var z = vae.Encode(video).Mean;                                        // (1, 4, 3, 2, 2)
        for (int k = 0; k < 2; k++)
        {
            // Replace every frame after 4k with noise: latent frames 0..k must not change at all.
            var changed = F.Concat([video.Slice(2, 0, 4 * k + 1), new Rng(7).Normal(1, 3, 8 - 4 * k, 8, 8)], dim: 2);
            var z2 = vae.Encode(changed).Mean;
            TensorAssert.BitwiseEqual(Frames(z, 0, k + 1), Frames(z2, 0, k + 1), $"latent frames 0..{k}");
            Assert.True(MaxAbsDiff(Frames(z, k + 1, 1), Frames(z2, k + 1, 1)) > 1e-4f, $"latent {k + 1} changes");
        }
    }

    [Fact]
    public void Vae_Decoder_FrameJIgnoresLatentFramesAfterItsOwn()
    {
        var vae = Model(Tiny);
        using var _ = Autograd.NoGrad();
        var z = new Rng(3).Normal(1, 4, 3, 2, 2);
        var x = vae.Decode(z);                                                  // (1, 3, 9, 8, 8)
        for (int k = 0; k < 2; k++)
        {
            // Latent k covers frames up to 4k (frame 0 for k = 0); changing latents after k leaves those frames alone.
            var z2 = F.Concat([z.Slice(2, 0, k + 1), new Rng(9).Normal(1, 4, 2 - k, 2, 2)], dim: 2);
            var x2 = vae.Decode(z2);
            TensorAssert.BitwiseEqual(Frames(x, 0, 4 * k + 1), Frames(x2, 0, 4 * k + 1), $"frames 0..{4 * k}");
            Assert.True(MaxAbsDiff(Frames(x, 4 * k + 1, 1), Frames(x2, 4 * k + 1, 1)) > 1e-4f,
                        $"frame {4 * k + 1} changes");
        }
    }

    // Chunked runs see exactly the windows of one pass; only the GEMM's summation order can differ, so the results
    // agree to float rounding. 1e-5 absolute is ~100 ulps of the O(1) activations, far below any real mismatch (a
    // lost frame of context changes outputs by ~1e-1). Measured: bitwise equal (max difference 0) on this machine.
    [Theory]
    [InlineData(4, false)]
    [InlineData(8, false)]
    [InlineData(4, true)]
    [InlineData(8, true)]
    public void Vae_ChunkedEncodeAndDecode_MatchOnePass(int microFrames, bool shortcut)
    {
        var vae = Model(Tiny8 with { Shortcut = shortcut });
        using var _ = Autograd.NoGrad();
        if (shortcut)   // the shortcut's last convolutions start at zero: give every weight a value
        {
            var rng = new Rng(4);
            foreach (var p in vae.Parameters()) Spacetime.Nn.Init.Normal(p, rng, 0f, 0.1f);
        }
        var video = MovingWaves(2, 17, 16, 8);
        var onePass = vae.Encode(video);
        var chunked = vae.Encode(video, microFrames);
        TensorAssert.Close(Doubles(onePass.Mean), chunked.Mean, 0, 1e-5, "mean");
        TensorAssert.Close(Doubles(onePass.Logvar), chunked.Logvar, 0, 1e-5, "logvar");

        var z = onePass.Mode();
        var decoded = vae.Decode(z);
        var decodedChunked = vae.Decode(z, microFrames);
        TensorAssert.ShapeIs(decodedChunked, 2, 3, 17, 16, 8);
        TensorAssert.Close(Doubles(decoded), decodedChunked, 0, 1e-5, "video");
    }

    [Fact]
    public void Vae_Encode_MicroFramesNotMultipleOf4Throws()
    {
        var vae = Model(Tiny);
        var e = Assert.Throws<ArgumentException>(() => vae.Encode(Tensor.Zeros(1, 3, 9, 8, 8), microFrames: 3));
        Assert.Contains("multiple of", e.Message);
    }

    [Fact]
    public void DiagonalGaussian_StandardNormal_KlZeroAndSampleSeeded()
    {
        var moments = Tensor.Zeros(2, 8, 2, 3, 3);                              // mean 0, logvar 0
        var q = new DiagonalGaussian(moments);
        Assert.Equal(0f, q.Kl().Item(), 4);                                  // Exp(0) is 1 to a few ulps
        var a = q.Sample(new Rng(5)).ToArray();
        Assert.Equal(a, q.Sample(new Rng(5)).ToArray());
        Assert.InRange(a.Select(v => (double)v * v).Average(), 0.6, 1.5);

        // Mean 1, logvar 0: KL = 0.5 per element = 0.5 * 4*2*3*3 per sample.
        var shifted = new DiagonalGaussian(F.Concat([Tensor.Ones(2, 4, 2, 3, 3), Tensor.Zeros(2, 4, 2, 3, 3)], 1));
        Assert.Equal(36f, shifted.Kl().Item(), 4);
        Assert.Equal(DiagonalGaussian.LogvarMax, new DiagonalGaussian(Tensor.Full(100f, 1, 2, 1, 1, 1)).Logvar.Item());
    }

    [Fact]
    public void VaeLoss_Distance_IsTheMeanAbsoluteOrSquaredError()
    {
        var vae = Model(Tiny);
        var video = MovingWaves(1, 5, 8, 8);
        var (rec, q) = vae.Forward(video, null);
        var parts = new VaeLoss(Distance: VaeReconstruction.Mse).Compute(video, rec, q);
        float[] v = video.ToArray(), r = rec.ToArray();
        double mse = v.Select((x, i) => ((double)r[i] - x) * ((double)r[i] - x)).Average();
        Assert.Equal(mse, parts.Reconstruction.Item(), mse * 1e-5);                // fp32 mean of 960 terms
        double l1 = v.Select((x, i) => Math.Abs((double)r[i] - x)).Average();
        Assert.Equal(l1, new VaeLoss().Compute(video, rec, q).Reconstruction.Item(), l1 * 1e-5);
    }

    [Fact]
    public void VaeLoss_TemporalWeight_AddsTheFramePairChangesOfTheError()
    {
        var vae = Model(Tiny);
        var video = MovingWaves(1, 5, 8, 8);
        var (rec, q) = vae.Forward(video, null);
        var plain = new VaeLoss(Distance: VaeReconstruction.Mse).Compute(video, rec, q).Total.Item();
        var temporal = new VaeLoss(Distance: VaeReconstruction.Mse, TemporalWeight: 0.5f).Compute(video, rec, q);
        // float64: the mean over (channel, frame pair, pixel) of the squared change of the error between frames
        float[] v = video.ToArray(), r = rec.ToArray();
        double sum = 0;
        int pairs = 0;
        for (int c = 0; c < 3; c++)
            for (int f = 0; f < 4; f++)
                for (int i = 0; i < 64; i++)
                {
                    int at = (c * 5 + f) * 64 + i, next = at + 64;
                    double change = ((double)r[next] - v[next]) - ((double)r[at] - v[at]);
                    sum += change * change;
                    pairs++;
                }
        Assert.Equal(plain + 0.5 * sum / pairs, temporal.Total.Item(), 5);
        // the reconstruction term it reports (the training log's mse column) is the plain one
        Assert.Equal(new VaeLoss(Distance: VaeReconstruction.Mse).Compute(video, rec, q).Reconstruction.Item(),
                     temporal.Reconstruction.Item());
    }

    [Fact]
    public void VaeLoss_Parts_AddUpAndAdversarialTrainsBothSides()
    {
        var vae = Model(Tiny);
        var video = MovingWaves(1, 5, 8, 8);
        var (rec, q) = vae.Forward(video, new Rng(2));
        var parts = new VaeLoss(KlWeight: 1e-3f).Compute(video, rec, q);
        Assert.Null(parts.Adversarial);
        float expected = parts.Reconstruction.Item() + 1e-3f * parts.Kl.Item() / (3 * 5 * 8 * 8);
        Assert.Equal(expected, parts.Total.Item(), 5);

        var disc = new PatchDiscriminator(new Rng(4), channels: 8);
        var withGan = new VaeLoss(AdversarialWeight: 0.5f).Compute(video, rec, q, disc);
        Assert.NotNull(withGan.Adversarial);
        withGan.Total.Backward();
        Assert.NotNull(vae.Parameters().First().Grad);
        var dLoss = VaeLoss.DiscriminatorLoss(disc, video, rec);
        Assert.True(float.IsFinite(dLoss.Item()) && dLoss.Item() > 0);
        Assert.Throws<ArgumentException>(() => new VaeLoss(AdversarialWeight: 1f).Compute(video, rec, q));
    }

    [Fact]
    public void Vae_LatentScale_MeasuredAndAppliedFromConfig()
    {
        var z = new Rng(11).Normal(0f, 2f, 4, 4, 5, 8, 8);
        Assert.InRange(VideoVae.MeasureLatentScale(z), 0.47f, 0.53f);
        var vae = Model(Tiny with { LatentScale = 0.5f });
        var scaled = vae.ToDiffusionLatent(z);
        Assert.Equal(z[0, 1, 2, 3, 4] * 0.5f, scaled[0, 1, 2, 3, 4]);
        Assert.Equal(z.ToArray(), vae.FromDiffusionLatent(scaled).ToArray());
    }

    // The llm.c-style check that the whole thing learns: one batch, AdamW, L1 falls by 10x within 200 steps (about
    // 45 steps with this seed, ~2 s on 2 idle cores; the loop stops once it is there).
    [Fact]
    public void Vae_OverfitsOneBatch_L1FallsTenfold()
    {
        var vae = Model(Tiny);
        var video = MovingWaves(2, 5, 8, 8);
        var opt = new AdamW(vae.NamedParameters(), lr: 3e-3f, weightDecay: 0f);
        var loss = new VaeLoss();
        var rng = new Rng(12);
        float first = float.NaN, last = float.NaN;
        for (int step = 0; step < 200 && !(last < first / 10); step++)
        {
            using var scope = TensorScope.Begin();
            var (rec, q) = vae.Forward(video, rng);
            var parts = loss.Compute(video, rec, q);
            opt.ZeroGrad();
            parts.Total.Backward();
            opt.Step();
            last = parts.Reconstruction.Item();
            if (step == 0) first = last;
        }
        Assert.True(last < first / 10, $"L1 went from {first} to {last} in 200 steps; expected a 10x drop.");
    }

    [Fact]
    public void VaeCheckpoint_SaveLoad_SameOutputsAndConfig()
    {
        var vae = Model(Tiny with { LatentScale = 0.7f }, seed: 21);
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-vae-" + Guid.NewGuid().ToString("N"));
        try
        {
            VaeCheckpoint.Save(vae, dir);
            var loaded = VaeCheckpoint.Load(dir);
            Assert.Equal(vae.Config.ToJson(), loaded.Config.ToJson());
            using var _ = Autograd.NoGrad();
            var video = MovingWaves(1, 5, 8, 12);
            TensorAssert.BitwiseEqual(vae.Decode(vae.Encode(video).Mode()).ToArray(),
                                      loaded.Decode(loaded.Encode(video).Mode()).ToArray(), "reconstruction");

            // A config that does not match the weights: the mis-shaped keys are named in one message.
            File.WriteAllText(Path.Combine(dir, VaeCheckpoint.ConfigFile), (Tiny with { LatentChannels = 8 }).ToJson());
            var e = Assert.Throws<InvalidDataException>(() => VaeCheckpoint.Load(dir));
            Assert.Contains("encoder.conv_out.conv.weight", e.Message);
            Assert.Contains("decoder.conv_in.conv.weight", e.Message);
            Assert.Contains(VaeCheckpoint.WeightsFile, e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
        Assert.Throws<FileNotFoundException>(() => VaeCheckpoint.Load(dir));
    }

    [Fact]
    public void VaeCheckpoint_BadFolder_OneLineThatNamesTheFileAndTheFix()
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-vae-" + Guid.NewGuid().ToString("N"));
        string weights = Path.Combine(dir, VaeCheckpoint.WeightsFile), config = Path.Combine(dir, VaeCheckpoint.ConfigFile);
        static void OneLine(Exception e, params string[] mentions)
        {
            Assert.DoesNotContain('\n', e.Message);
            foreach (var m in mentions) Assert.Contains(m, e.Message);
        }
        try
        {
            OneLine(Assert.Throws<FileNotFoundException>(() => VaeCheckpoint.Load(dir)), dir, "does not exist");
            VaeCheckpoint.Save(Model(Tiny), dir);
            byte[] good = File.ReadAllBytes(weights);

            File.WriteAllBytes(weights, good[..^64]);                               // truncated
            OneLine(Assert.Throws<InvalidDataException>(() => VaeCheckpoint.Load(dir)),
                    VaeCheckpoint.WeightsFile, "truncated or corrupt", "copy or export the folder again");
            File.WriteAllBytes(weights, [.. Enumerable.Repeat((byte)0xFF, 64)]);    // not safetensors at all
            OneLine(Assert.Throws<InvalidDataException>(() => VaeCheckpoint.Load(dir)), "truncated or corrupt");
            File.WriteAllBytes(weights, good);

            string json = File.ReadAllText(config);
            File.WriteAllText(config, json[..(json.Length / 2)]);                    // cut-off JSON
            OneLine(Assert.Throws<InvalidDataException>(() => VaeCheckpoint.Load(dir)),
                    VaeCheckpoint.ConfigFile, "is not a VAE config");
            File.WriteAllText(config, "{ \"NormGroups\": 7 }");                    // parses, but cannot build a model
            OneLine(Assert.Throws<InvalidDataException>(() => VaeCheckpoint.Load(dir)), "NormGroups 7");
            File.WriteAllText(config, (Tiny with { BaseChannels = 2 * Tiny.BaseChannels }).ToJson());
            OneLine(Assert.Throws<InvalidDataException>(() => VaeCheckpoint.Load(dir)),
                    "does not fit", "keys with the wrong shape", "more");             // dozens of keys: three shown
            File.WriteAllText(config, json);
            VaeCheckpoint.Load(dir);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Vae_LoadStateDict_NamesMissingUnexpectedAndMisShapedKeysTogether()
    {
        var vae = Model(Tiny);
        var state = new Dictionary<string, Tensor>(Model(Tiny, seed: 2).StateDict());
        state.Remove("decoder.norm_out.bias");
        state["encoder.extra.weight"] = Tensor.Zeros(3);
        state["encoder.conv_in.conv.bias"] = Tensor.Zeros(9);
        var e = Assert.Throws<ArgumentException>(() => vae.LoadStateDict(state));
        Assert.Contains("decoder.norm_out.bias", e.Message);
        Assert.Contains("encoder.extra.weight", e.Message);
        Assert.Contains("encoder.conv_in.conv.bias", e.Message);
    }

    [Fact]
    public void VideoVaeConfig_PresetsValidateAndRoundTripThroughJson()
    {
        foreach (var (name, cfg) in VideoVaeConfig.Presets)
        {
            cfg.Validate();
            Assert.True(cfg.SpatialCompression is 4 or 8, name);
            Assert.Equal(cfg.ToJson(), VideoVaeConfig.FromJson(cfg.ToJson()).ToJson());
        }
        var e = Assert.Throws<ArgumentException>(() => (Tiny with { NormGroups = 3, LatentChannels = 0 }).Validate());
        Assert.Contains("NormGroups", e.Message);
        Assert.Contains("LatentChannels", e.Message);
    }

    // VaeFiguresTests scales counts from 16x16 to 128x128 and from 1 and 5 frames to any 1 + 4k: check both rules.
    [Fact]
    public void Vae_CountMultiplyAdds_ScalesWithPixelsAndLatentFrames()
    {
        var vae = Model(Tiny8);
        long image = vae.CountMultiplyAdds(1, 16, 16), clip5 = vae.CountMultiplyAdds(5, 16, 16);
        Assert.Equal(4 * image, vae.CountMultiplyAdds(1, 32, 32));
        Assert.Equal(image + 2 * (clip5 - image), vae.CountMultiplyAdds(9, 16, 16));
        // conv_in alone: 3 -> 8 channels, 3x3x3, one 16x16 frame.
        Assert.True(image > 16 * 16 * 8 * 3 * 27);
    }

    [Fact]
    public void Vae_StateDict_UsesSdStyleKeys()
    {
        var keys = Model(Tiny).StateDict().Keys.ToList();
        Assert.Contains("encoder.down.0.block.0.norm1.weight", keys);
        Assert.Contains("encoder.down.0.downsample.conv.conv.weight", keys);
        Assert.Contains("encoder.down.1.block.0.nin_shortcut.conv.weight", keys);
        Assert.Contains("encoder.mid.block_2.conv2.conv.bias", keys);
        Assert.Contains("decoder.up.2.upsample.conv.conv.weight", keys);
        Assert.DoesNotContain("decoder.up.0.upsample.conv.conv.weight", keys);
        Assert.Contains("decoder.conv_out.conv.weight", keys);
    }

    [Fact]
    public void Backward_WholeVae_MatchesFiniteDifferencesForEveryParameter()
    {
        // every parameter tensor of a tiny VAE (both 4x spatial and 4x temporal steps, GroupNorm per frame, the
        // causal padding), checked by central differences through the whole encode -> mode -> decode. Loose
        // tolerance: the few-pixel GroupNorms at the bottleneck make the loss curved enough that central differences
        // are off by a few percent at any eps float32 can resolve; a missing or wrong term is off by far more.
        var vae = Model(Tiny with { BaseChannels = 4, ChannelMultipliers = [1, 2, 2], NormGroups = 2 });
        var video = new Rng(3).Uniform(-1, 1, 1, 3, 5, 16, 16);
        var named = vae.NamedParameters().ToArray();
        Tensor Reconstruct(Tensor[] _) => vae.Forward(video).Reconstruction;
        var failures = new List<string>();
        foreach (var (name, p) in named)
        {
            try { GradCheck.Check(Reconstruct, [p], eps: 4e-3, rtol: 0.15, atol: 1e-2, maxPerInput: 3, what: name); }
            catch (Xunit.Sdk.XunitException e) { failures.Add(e.Message); }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void Vae_Shortcut_UntrainedIsThePixelCodec()
    {
        // latent channels 0..2 = the means of 4x4 pixels over frame 0 alone, then frames 4j-3..4j; the decoder
        // repeats them back: the untrained VAE is exactly area-down / nearest-up (up to float rounding)
        var vae = Model(Tiny with { Shortcut = true });
        using var _ = Autograd.NoGrad();
        var video = MovingWaves(1, 9, 8, 8);
        var v = video.ToArray();
        var z = vae.Encode(video).Mean;                                         // (1, 4, 3, 2, 2)
        TensorAssert.ShapeIs(z, 1, 4, 3, 2, 2);
        var recon = vae.Decode(z).ToArray();                                    // (1, 3, 9, 8, 8)
        var zs = z.ToArray();
        for (int c = 0; c < 4; c++)
            for (int j = 0; j < 3; j++)
                for (int y = 0; y < 2; y++)
                    for (int x = 0; x < 2; x++)
                    {
                        int[] frames = j == 0 ? [0] : [.. Enumerable.Range(4 * j - 3, 4)];
                        double mean = c == 3 ? 0 : frames.Average(f => Enumerable.Range(0, 16).Average(i =>
                            (double)v[((c * 9 + f) * 8 + 4 * y + i / 4) * 8 + 4 * x + i % 4]));
                        Assert.Equal(mean, zs[((c * 3 + j) * 2 + y) * 2 + x], 5);
                        if (c == 3) continue;
                        foreach (int f in frames)
                            for (int i = 0; i < 16; i++)
                                Assert.Equal(mean, recon[((c * 9 + f) * 8 + 4 * y + i / 4) * 8 + 4 * x + i % 4], 5);
                    }
    }

    [Fact]
    public void VideoVaeConfig_ShortcutWithTwoLatentChannels_IsRefused() =>
        Assert.Contains("Shortcut", Assert.Throws<ArgumentException>(
            () => (Tiny with { Shortcut = true, LatentChannels = 2 }).Validate()).Message);
}
