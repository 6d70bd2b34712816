// The whole path on tiny models: a VAE trains on world clips, a DiT trains in its latent space (latent cache, dense
// captions, the masked-frame mix), a stopped-and-resumed run equals the straight one, and the model folder generates
// a video of the requested size and length.
using Spacetime.Data;
using Spacetime.Engine.IO;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Training;

public sealed class EndToEndTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static readonly TrainConfig VaeSteps = new() { Steps = 4, Batch = 2, WarmupSteps = 1, EmaDecay = 0, Seed = 1 };
    static readonly TrainConfig DitSteps = new() { Steps = 6, Batch = 2, WarmupSteps = 2, CheckpointEvery = 100, Seed = 2 };

    static Dictionary<string, float[]> Weights(string file) =>
        Safetensors.Read(file).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    [Fact]
    public void VaeThenDit_TrainResumeGenerate()
    {
        string vaeDir = Path.Combine(root, "vae");
        var vaeRun = VaeTrainer.Train(VaeRecipe.Preset("tiny"), VaeSteps, vaeDir);
        Assert.Equal(4, vaeRun.Step);
        var vae = VaeCheckpoint.Load(vaeDir);
        Assert.True(vae.Config.LatentScale is > 0 and not 1f, $"latent scale {vae.Config.LatentScale} was not measured");
        Assert.Equal(5, File.ReadLines(Trainer.LossCsv(vaeDir)).Count());
        Assert.StartsWith("step,loss,l1,kl,psnr,", File.ReadLines(Trainer.LossCsv(vaeDir)).First());

        var recipe = DitRecipe.Preset("tiny-vae");
        string straight = Path.Combine(root, "straight"), split = Path.Combine(root, "split");
        DitTrainer.Train(recipe, DitSteps, straight, vaeDir: vaeDir);
        Assert.Equal(3, DitTrainer.Train(recipe, DitSteps, split, vaeDir: vaeDir, stopAt: 3).Step);
        var resumed = DitTrainer.Train(recipe, DitSteps, split);             // no --vae: the run's own copy
        Assert.Equal((3, 6), (resumed.FirstStep, resumed.Step));
        foreach (var file in new[] { "model.safetensors", "ema.safetensors", "optimizer.safetensors", "latents.safetensors" })
        {
            var a = Weights(file == "latents.safetensors" ? Path.Combine(straight, "train", file) : Trainer.CheckpointFile(straight, file));
            var b = Weights(file == "latents.safetensors" ? Path.Combine(split, "train", file) : Trainer.CheckpointFile(split, file));
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{file}: {key} differs after resume");
        }

        var model = TextVideoModel.Load(split);
        Assert.IsType<VaeLatents>(model.Latents);
        model.Eval();
        var generator = new Generator(model);
        Assert.Equal(9, generator.Geometry.NearestFrames(8));
        var request = new GenerationRequest("a red ball falls")
        {
            Width = 48, Height = 32, Frames = 9, Fps = 8, Sampler = new Spacetime.Diffusion.SamplerConfig(Steps: 2),
        };
        var video = generator.Generate(request).Video;
        Assert.Equal((9, 32, 48), (video.Count, video.Height, video.Width));
        var rounded = generator.Generate(request with { Frames = 8 });                     // 8 -> 9: said, not refused
        Assert.Equal(9, rounded.Video.Count);
        Assert.Contains(rounded.Notes, n => n.Contains("1 + 4k"));
    }

    [Fact]
    public void DitOnFolder_ClipsGoToTheNearestAspectBucket()
    {
        string vaeDir = Path.Combine(root, "vae"), data = Path.Combine(root, "data"), run = Path.Combine(root, "folder");
        VaeTrainer.Train(VaeRecipe.Preset("tiny"), VaeSteps with { Steps = 1 }, vaeDir);
        using (var writer = new DatasetWriter(data))
            foreach (var (seed, w, h) in new[] { (1L, 64, 64), (2L, 96, 64), (3L, 40, 40) })
            {
                var clip = WorldClip.Render(new ClipSettings(seed, w, h, 1, 8));
                writer.Add(clip.Frames, clip.Caption, clip.Prompt);
            }
        DitTrainer.Train(DitRecipe.Preset("tiny-vae"), DitSteps with { Steps = 2 }, run, vaeDir: vaeDir,
                         data: Dataset.Load(data));
        var cache = Safetensors.Read(Path.Combine(run, "train", "latents.safetensors")).Tensors;
        Assert.Equal(2, cache["bucket0"].Size(0));          // the two square clips, at 32x32 -> (4, 2, 8, 8) each
        Assert.Equal(1, cache["bucket1"].Size(0));          // the 96x64 clip, at 48x32
        Assert.Equal([1, 4, 2, 8, 12], cache["bucket1"].Shape.ToArray());
    }

    // `train dit --cache-clips N`: the recipe's first N clips (the same seeds, so the same latents), and a run that
    // resumes with another N is refused instead of training on on other data
    [Fact]
    public void DitOnASmallerCache_HoldsTheRecipesFirstClips_AndResumingWithAnotherSizeIsRefused()
    {
        string vaeDir = Path.Combine(root, "vae"), small = Path.Combine(root, "small"), full = Path.Combine(root, "full");
        VaeTrainer.Train(VaeRecipe.Preset("tiny"), VaeSteps with { Steps = 1 }, vaeDir);
        var recipe = DitRecipe.Preset("tiny-vae");
        Assert.True(recipe.CacheClips > 6);
        DitTrainer.Train(recipe with { CacheClips = 6 }, DitSteps, small, vaeDir: vaeDir, stopAt: 1);
        DitTrainer.Train(recipe, DitSteps, full, vaeDir: vaeDir, stopAt: 1);
        var a = Safetensors.Read(Path.Combine(small, "train", "latents.safetensors")).Tensors;
        var b = Safetensors.Read(Path.Combine(full, "train", "latents.safetensors")).Tensors;
        Assert.Equal(6, a.Values.Sum(t => t.Rank == 0 ? 0 : t.Size(0)));
        foreach (var (bucket, t) in a.Where(kv => kv.Value.Count > 0))
            Assert.Equal(t.ToArray(), b[bucket].ToArray().Take(t.Count));

        var e = Assert.Throws<ArgumentException>(() => DitTrainer.Train(recipe, DitSteps, small));
        Assert.Contains("holds 6 clips and this run asks for", e.Message);
        Assert.Equal(6, DitTrainer.Train(recipe with { CacheClips = 6 }, DitSteps, small).Step);
    }

    [Fact]
    public void DitOnVaeRecipe_WithoutVae_SaysWhatIsMissing()
    {
        var e = Assert.Throws<ArgumentException>(() =>
            DitTrainer.Train(DitRecipe.Preset("tiny-vae"), DitSteps, Path.Combine(root, "novae")));
        Assert.Contains("VAE", e.Message);
    }

    [Fact]
    public void Accumulate_ThreeMicroBatches_OneLogRowPerOptimizerStep()
    {
        string dir = Path.Combine(root, "acc");
        DitTrainer.Train(DitRecipe.Preset("tiny"), new TrainConfig { Steps = 2, Batch = 1, Accumulate = 3, Seed = 5 }, dir);
        var rows = File.ReadLines(Trainer.LossCsv(dir)).Skip(1).ToArray();
        Assert.Equal(2, rows.Length);
        Assert.All(rows, r => Assert.True(float.Parse(r.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture) > 0));
    }
}
