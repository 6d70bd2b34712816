// The VAE's per-channel latent normalisation (VideoVaeConfig.ChannelMean/ChannelStd): measured statistics make each
// channel zero-mean and unit-variance, To/FromDiffusionLatent invert each other on 4-D and 5-D latents, a VAE without
// them is unchanged, the config checks them and they survive a save and load.
using Spacetime.Engine;
using Spacetime.Models.Vae;

namespace Spacetime.Tests.Models;

public sealed class VaeChannelStatsTests
{
    static readonly VideoVaeConfig Cfg = new() { BaseChannels = 8, ChannelMultipliers = [1, 2, 2], NormGroups = 4, LatentChannels = 4 };

    // latents (B, C, T', h, w) whose channel c has mean 2c - 3 and standard deviation c + 0.5
    static Tensor Latents(int b = 6)
    {
        var rng = new Rng(9);
        int c = Cfg.LatentChannels, n = 3 * 4 * 4;
        var v = new float[b * c * n];
        for (int i = 0; i < b; i++)
            for (int ch = 0; ch < c; ch++)
                for (int k = 0; k < n; k++) v[(i * c + ch) * n + k] = 2 * ch - 3 + (ch + 0.5f) * rng.NextNormal();
        return Tensor.From(v, b, c, 3, 4, 4);
    }

    [Fact]
    public void MeasuredStats_NormaliseEveryChannel_AndTheInverseRestores()
    {
        var z = Latents();
        var (mean, std) = VideoVae.MeasureChannelStats(z);
        Assert.InRange(mean[3], 2.5, 3.5);
        Assert.InRange(std[3], 3.0, 4.0);
        var vae = new VideoVae(Cfg with { ChannelMean = mean, ChannelStd = std }, new Rng(1));
        var x = vae.ToDiffusionLatent(z);                                       // LatentScale 1
        var (m2, s2) = VideoVae.MeasureChannelStats(x);
        for (int c = 0; c < Cfg.LatentChannels; c++)
        {
            Assert.Equal(0, m2[c], 4);
            Assert.Equal(1, s2[c], 4);
        }
        var back5 = vae.FromDiffusionLatent(x).ToArray();                       // (B, C, T', h, w)
        var back4 = vae.FromDiffusionLatent(x.Slice(0, 0, 1).Squeeze(0)).ToArray();   // (C, T', h, w), as codecs decode
        var orig = z.ToArray();
        for (int i = 0; i < orig.Length; i++) Assert.True(Math.Abs(orig[i] - back5[i]) <= 1e-5 * (1 + Math.Abs(orig[i])));
        for (int i = 0; i < back4.Length; i++) Assert.True(Math.Abs(orig[i] - back4[i]) <= 1e-5 * (1 + Math.Abs(orig[i])));
    }

    [Fact]
    public void WithoutStats_TheLatentIsZTimesLatentScale()
    {
        var z = Latents(1);
        var vae = new VideoVae(Cfg with { LatentScale = 2.5f }, new Rng(1));
        Assert.Equal(z.ToArray().Select(v => v * 2.5f).ToArray(), vae.ToDiffusionLatent(z).ToArray());
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void Config_RefusesHalfOrBadStats(bool badLength, bool zeroStd)
    {
        var mean = new float[badLength ? 3 : 4];
        var std = Enumerable.Repeat(zeroStd ? 0f : 1f, 4).ToArray();
        Assert.Throws<ArgumentException>(() => (Cfg with { ChannelMean = mean, ChannelStd = std }).Validate());
        Assert.Throws<ArgumentException>(() => (Cfg with { ChannelMean = new float[4] }).Validate());   // one without the other
    }

    [Fact]
    public void Stats_SurviveSaveAndLoad()
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-vaestats-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var vae = new VideoVae(Cfg with { ChannelMean = [1, 2, 3, 4], ChannelStd = [0.5f, 1, 1.5f, 2] }, new Rng(1));
            VaeCheckpoint.Save(vae, dir);
            var back = VaeCheckpoint.Load(dir);
            Assert.Equal(vae.Config.ChannelMean, back.Config.ChannelMean);
            Assert.Equal(vae.Config.ChannelStd, back.Config.ChannelStd);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
