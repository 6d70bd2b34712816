// The trainer on the tiny recipe: it learns, it checkpoints, and a stopped-then-resumed run is the same run.
using Spacetime.Engine.IO;
using Spacetime.Training;

namespace Spacetime.Tests.Training;

public sealed class DitTrainerTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-train-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static readonly TrainConfig Six = new() { Steps = 6, Batch = 2, WarmupSteps = 2, CheckpointEvery = 100, Seed = 3 };

    static Dictionary<string, float[]> Weights(string dir, string file) =>
        Safetensors.Read(Path.Combine(dir, "train", file)).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    static void AssertSame(Dictionary<string, float[]> a, Dictionary<string, float[]> b, string what)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{what}: {key} differs");
    }

    [Fact]
    public void Train_StopAt3ThenResume_SameWeightsEmaAndOptimizerAsOneRun()
    {
        string straight = Path.Combine(root, "straight"), split = Path.Combine(root, "split");
        var recipe = DitRecipe.Preset("tiny");
        var whole = DitTrainer.Train(recipe, Six, straight);
        var first = DitTrainer.Train(recipe, Six, split, stopAt: 3);
        var halfway = Weights(split, "model.safetensors");
        var second = DitTrainer.Train(recipe, Six, split);

        Assert.Equal((0, 6), (whole.FirstStep, whole.Step));
        Assert.Equal((0, 3), (first.FirstStep, first.Step));
        Assert.Equal((3, 6), (second.FirstStep, second.Step));
        Assert.Equal(whole.LastLoss, second.LastLoss);
        foreach (var file in new[] { "model.safetensors", "ema.safetensors", "optimizer.safetensors" })
            AssertSame(Weights(straight, file), Weights(split, file), file);
        // the last 3 steps changed the weights (so equality above is not two untouched copies)
        var final = Weights(split, "model.safetensors");
        Assert.Contains(final.Keys, k => !final[k].SequenceEqual(halfway[k]));
        // the loss log has one row per step, the same in both runs
        Assert.Equal(File.ReadLines(Path.Combine(straight, "loss.csv")).Select(l => l.Split(',')[1]),
                     File.ReadLines(Path.Combine(split, "loss.csv")).Select(l => l.Split(',')[1]));
        Assert.Equal(7, File.ReadLines(Path.Combine(split, "loss.csv")).Count());
    }

    [Fact]
    public void Train_ThirtySteps_LossFalls()
    {
        string dir = Path.Combine(root, "learn");
        DitTrainer.Train(DitRecipe.Preset("tiny"), new TrainConfig { Steps = 30, Batch = 4, Seed = 0 }, dir);
        var losses = File.ReadLines(Path.Combine(dir, "loss.csv")).Skip(1)
            .Select(l => double.Parse(l.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(30, losses.Length);
        double early = losses.Take(5).Average(), late = losses.TakeLast(5).Average();
        Assert.True(late < 0.9 * early, $"loss {early:F3} (first 5 steps) -> {late:F3} (last 5): expected a 10% drop");
    }

    [Fact]
    public void Train_TimeBudgetSpent_StopsWithACheckpoint()
    {
        // a budget of ~0 minutes is spent before the first step: the run stops at once and still leaves a model
        string dir = Path.Combine(root, "budget");
        var result = DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { MaxMinutes = 1e-12 }, dir);
        Assert.True(result.StoppedByTime);
        Assert.Equal(0, result.Step);
        Assert.True(File.Exists(Path.Combine(dir, "spacetime.json")));
        Assert.Contains("\"Step\": 0", File.ReadAllText(Path.Combine(dir, "train", "state.json")));
    }

    [Fact]
    public void Train_ResumeWithOtherSeed_ThrowsNamingTheRun()
    {
        string dir = Path.Combine(root, "other");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six, dir, stopAt: 1);
        var e = Assert.Throws<ArgumentException>(() => DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Seed = 4 }, dir));
        Assert.Contains(dir, e.Message);
        Assert.Equal(1, DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 2 }, dir).FirstStep);
    }

    [Fact]
    public void Train_BadConfig_Throws() =>
        Assert.Throws<ArgumentException>(() => DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Batch = 0 },
                                                                Path.Combine(root, "bad")));
}
