// `train ... --profile N` (TrainConfig.ProfileSteps): N steps after a run's first are timed op by op; the table is the
// result's and DIR/profile.md's, profiling changes no weight, and it is no part of the run (a resume may change it).
using Spacetime.Training;

namespace Spacetime.Tests.Training;

[Collection(nameof(CheckpointTests))]       // no test that hooks the trainer runs beside
public sealed class TrainProfileTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-profile-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static readonly TrainConfig Five = new() { Steps = 5, Batch = 1, WarmupSteps = 1, EmaDecay = 0.9f, Seed = 5 };
    static readonly VaeRecipe Recipe = VaeRecipe.Preset("tiny");

    [Fact]
    public void ProfiledSteps_AreTabledOpByOp_InTheResultAndTheRunFolder_AndChangeNoWeight()
    {
        string plain = Path.Combine(root, "plain"), profiled = Path.Combine(root, "profiled");
        var a = VaeTrainer.Train(Recipe, Five, plain);
        Assert.Null(a.Profile);
        Assert.False(File.Exists(Path.Combine(plain, Trainer.ProfileFile)));

        var b = VaeTrainer.Train(Recipe, Five with { ProfileSteps = 2 }, profiled, stopAt: 3);
        string table = Assert.IsType<string>(b.Profile);
        Assert.Contains("from step 2", table);                       // step 1 warms up; steps 2 and 3 are timed
        Assert.Contains(", 2 steps", table);
        Assert.Contains("| Conv3d |", table);                        // the VAE's convolutions, by kind
        Assert.Contains("optimizer (clip, AdamW, EMA)", table);
        Assert.Equal(table, File.ReadAllText(Path.Combine(profiled, Trainer.ProfileFile)));

        // a resume may ask for another profile (it is not saved with the run): steps 4 (warm-up) and 5 remain
        var c = VaeTrainer.Train(Recipe, Five with { ProfileSteps = 9 }, profiled);
        Assert.Equal((3, 5), (c.FirstStep, c.Step));
        Assert.Contains(", 1 step\n", c.Profile);
        Assert.Equal(File.ReadAllBytes(Path.Combine(plain, "model.safetensors")),
                     File.ReadAllBytes(Path.Combine(profiled, "model.safetensors")));
    }

    [Fact]
    public void NegativeProfileSteps_AreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => (Five with { ProfileSteps = -1 }).Validate());
        Assert.Contains("profile steps -1", e.Message);
    }
}
