// Buckets, the clip sampler and NaViT packing: the token budget is never exceeded, batch size follows clip size,
// every clip's tokens are packed whole with the right segment ids, and frames are strided / repeat-sampled / deduped.
using Spacetime.Data;
using Spacetime.Media;

namespace Spacetime.Tests.Data;

public class BucketTests
{
    static List<Clip> RandomClips(int count, int seed)
    {
        var rng = new Random(seed);
        int[] sides = [32, 48, 64, 96, 128, 256];
        return Enumerable.Range(0, count)
            .Select(i => new Clip($"/c{i}.gif", rng.Next(1, 70), sides[rng.Next(sides.Length)], sides[rng.Next(sides.Length)],
                                  8, "", ""))
            .ToList();
    }

    [Fact]
    public void LatentGeometry_Tokens_CausalVaeAndPatches()
    {
        var g = new LatentGeometry();
        Assert.Equal(5, g.LatentFrames(16));           // 1 + ceil(15 / 4): the first frame is encoded alone
        Assert.Equal(1, g.LatentFrames(1));            // a still image is a one-frame video
        Assert.Equal(5 * 4 * 4, g.Tokens(16, 64, 64));
        Assert.Equal(5 * 3 * 4, g.Tokens(16, 48, 64)); // 6x8 latent, 2x2 patches
        Assert.Equal(4 * 4 * 4, new LatentGeometry(CausalTime: false).Tokens(16, 64, 64));
    }

    [Fact]
    public void LatentGeometry_Seams_AreWhereTimeTokensStart()
    {
        // causal 4x VAE, 1-frame time patches: frame 0 alone, then 1-4, 5-8, ...
        Assert.Equal([1, 5, 9, 13], new LatentGeometry().Seams(17));
        // the same with 2-frame time patches: tokens (latents 0-1) (2-3) (4-5): frames 0-4, 5-12, 13-16
        Assert.Equal([5, 13], new LatentGeometry(PatchT: 2).Seams(17));
        // pixel space (no temporal compression) with 4-frame time patches, the shipped model: 0-3, 4-7, ...
        Assert.Equal([4, 8, 12], new LatentGeometry(TemporalDown: 1, PatchT: 4).Seams(16));
        Assert.Equal([4, 8, 12], new LatentGeometry(CausalTime: false).Seams(16));
        Assert.Empty(new LatentGeometry().Seams(1));
    }

    [Theory]
    [InlineData(256, 1)]
    [InlineData(2048, 2)]
    [InlineData(20000, 3)]
    public void Bucketer_Batches_NeverExceedBudgetAndCoverEveryClip(long budget, int seed)
    {
        var clips = RandomClips(300, seed);
        var config = new BucketConfig(budget, new LatentGeometry(), MaxBatchSize: 64, FrameCounts: [1, 8, 16, 32]);
        var plan = Bucketer.Assign(clips, config);
        var batches = Bucketer.Batches(plan, seed: 7);
        Assert.All(batches, b => Assert.True(b.Tokens <= budget, $"batch of {b.Tokens} tokens over budget {budget}"));
        Assert.All(batches, b => Assert.InRange(b.ClipIndices.Count, 1, 64));
        var seen = batches.SelectMany(b => b.ClipIndices).Concat(plan.Dropped).Order().ToList();
        Assert.Equal(Enumerable.Range(0, clips.Count), seen);                 // each clip exactly once
        foreach (int i in plan.Dropped)                                       // dropped only when too big alone
        {
            int frames = Bucketer.BucketFrames(clips[i].NumFrames, config.FrameCounts);
            Assert.True(config.Geometry.Tokens(frames, clips[i].Height, clips[i].Width) > budget);
        }
        foreach (var b in plan.Buckets)                                       // batch size follows clip size
            Assert.Equal(Math.Min(64, budget / b.TokensPerClip), b.BatchSize);
        Assert.Equal(batches.Select(b => b.ClipIndices.ToArray()), Bucketer.Batches(plan, seed: 7).Select(b => b.ClipIndices.ToArray()));
    }

    [Fact]
    public void Bucketer_FrameCounts_PicksLongestCoveredOrShortest()
    {
        int[] counts = [8, 16, 32];
        Assert.Equal(8, Bucketer.BucketFrames(3, counts));    // shorter than all: repeat-sampled up to the shortest
        Assert.Equal(16, Bucketer.BucketFrames(31, counts));
        Assert.Equal(32, Bucketer.BucketFrames(100, counts)); // longer than all: strided down
        Assert.Equal(13, Bucketer.BucketFrames(13, null));
    }

    [Fact]
    public void Bucketer_CustomTokenFunction_IsUsed()
    {
        var clips = RandomClips(20, 4);
        var plan = Bucketer.Assign(clips, BucketConfig.Default(100), tokensOf: (t, h, w) => 10);
        Assert.Empty(plan.Dropped);
        Assert.All(plan.Buckets, b => Assert.Equal(10, b.BatchSize));
    }

    [Fact]
    public void ClipSampler_LongClip_IsStrided()
    {
        Assert.Equal([0, 3, 6, 9], ClipSampler.FrameIndices(100, 24, 4, 8));
        int[] random = ClipSampler.FrameIndices(100, 24, 4, 8, new Random(1));
        Assert.Equal([3, 3, 3], random.Zip(random[1..], (a, b) => b - a));
        Assert.InRange(random[^1], 9, 99);
    }

    [Fact]
    public void ClipSampler_ShortClip_IsRepeatSampledOverWholeClip()
    {
        int[] idx = ClipSampler.FrameIndices(4, 8, 8, 8);
        Assert.Equal(0, idx[0]);
        Assert.Equal(3, idx[^1]);
        Assert.True(idx.Zip(idx[1..], (a, b) => b - a).All(d => d is 0 or 1));
        Assert.Equal([0, 0, 0], ClipSampler.FrameIndices(1, 8, 3, 8));
    }

    [Fact]
    public void ClipSampler_NearDuplicates_AreDropped()
    {
        var frames = new Frames(5, 4, 4, 8);
        frames.Frame(1).Fill(1);                        // differs from frame 0 by 1 level: a near-duplicate
        frames.Frame(2).Fill(50);
        frames.Frame(3).Fill(50);
        frames.Frame(4).Fill(10);
        Assert.Equal([0, 2, 4], ClipSampler.DropNearDuplicates(frames, threshold: 2.0));
        var sampled = ClipSampler.Sample(frames, new SampleSpec(3, 8, 2, 2), duplicateThreshold: 2.0);
        Assert.Equal([0, 50, 10], Enumerable.Range(0, 3).Select(t => (int)sampled.Frame(t)[0]));
        Assert.Equal((2, 2), (sampled.Height, sampled.Width));
    }

    [Fact]
    public void Resize_Area_AveragesBlocksWhenShrinking()
    {
        var frames = new Frames(1, 2, 4, 8);
        byte[] values = [0, 100, 10, 30, 20, 60, 50, 70];            // 2 x 4 grey-ish values, one per pixel
        for (int i = 0; i < 8; i++)
            frames.Rgb.AsSpan(i * 3, 3).Fill(values[i]);
        var small = Resize.Area(frames, 1, 2);
        Assert.Equal([45, 45, 45, 40, 40, 40], small.Rgb);           // (0+100+20+60)/4, (10+30+50+70)/4
    }
}
