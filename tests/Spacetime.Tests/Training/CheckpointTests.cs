// Checkpoints cannot tear: a run that crashes at any point of a checkpoint write (before each file, before the
// CURRENT rename that commits it, in the export after it) resumes to the same weights as an uninterrupted run, bit for
// bit, and leaves nothing behind; a run in the layout before CURRENT existed resumes and moves to the new one.
using Spacetime.Engine.IO;
using Spacetime.Training;

namespace Spacetime.Tests.Training;

[Collection(nameof(CheckpointTests))]       // Trainer.BeforeCheckpointWrite is process-wide: no other test runs beside
public sealed class CheckpointTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-ckpt-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        Trainer.BeforeCheckpointWrite = null;
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    // the tiny VAE recipe with an EMA, 6 steps, a checkpoint every 2
    static readonly TrainConfig Six = new() { Steps = 6, Batch = 1, WarmupSteps = 1, EmaDecay = 0.9f, CheckpointEvery = 2, Seed = 3 };
    static readonly VaeRecipe Recipe = VaeRecipe.Preset("tiny");
    static readonly string[] Files = ["model.safetensors", "ema.safetensors", "optimizer.safetensors"];

    sealed class Crash(string point) : Exception($"crash before {point}");

    static Dictionary<string, byte[]> Final(string dir) =>
        Files.ToDictionary(f => f, f => File.ReadAllBytes(Trainer.CheckpointFile(dir, f)));

    [Theory]
    [InlineData("model")]
    [InlineData("ema")]
    [InlineData("optimizer")]
    [InlineData("state")]
    [InlineData("pointer")]
    [InlineData("export")]
    public void CrashInsideACheckpoint_ResumesBitForBit_AndLeavesNothingBehind(string point)
    {
        string straight = Path.Combine(root, "straight"), crashed = Path.Combine(root, "crashed");
        VaeTrainer.Train(Recipe, Six, straight);

        int checkpoints = 0;
        Trainer.BeforeCheckpointWrite = p =>
        {
            if (p == "model") checkpoints++;
            if (checkpoints == 2 && p == point) throw new Crash(p);             // inside the step-4 checkpoint
        };
        Assert.Throws<Crash>(() => VaeTrainer.Train(Recipe, Six, crashed));
        Trainer.BeforeCheckpointWrite = null;
        int committed = point is "export" ? 4 : 2;                              // CURRENT moved only at "pointer"
        Assert.Contains($"\"Step\": {committed}", File.ReadAllText(Trainer.CheckpointFile(crashed, "state.json")));

        var resumed = VaeTrainer.Train(Recipe, Six, crashed);
        Assert.Equal((committed, 6), (resumed.FirstStep, resumed.Step));
        var (a, b) = (Final(straight), Final(crashed));
        foreach (var f in Files) Assert.True(a[f].SequenceEqual(b[f]), $"{f} differs after a crash before {point}");
        Assert.Equal(["step-000006"], Directory.GetDirectories(Path.Combine(crashed, "train")).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(crashed, "*.tmp*", SearchOption.AllDirectories));
        Assert.Equal(File.ReadAllBytes(Path.Combine(straight, "model.safetensors")),
                     File.ReadAllBytes(Path.Combine(crashed, "model.safetensors")));     // the exported VAE too
    }

    [Fact]
    public void LegacyLayout_Resumes_ThenMovesToStepFolders()
    {
        string straight = Path.Combine(root, "straight"), legacy = Path.Combine(root, "legacy");
        VaeTrainer.Train(Recipe, Six, straight);
        VaeTrainer.Train(Recipe, Six, legacy, stopAt: 4);
        // the layout runs had before CURRENT: the checkpoint's files directly in DIR/train
        string train = Path.Combine(legacy, "train"), step = Path.Combine(train, "step-000004");
        foreach (var f in Files.Append("state.json")) File.Move(Path.Combine(step, f), Path.Combine(train, f));
        Directory.Delete(step);
        File.Delete(Path.Combine(train, "CURRENT"));
        Assert.True(Trainer.HasCheckpoint(legacy));

        Assert.Equal((4, 6), (VaeTrainer.Train(Recipe, Six, legacy).FirstStep, 6));
        var (a, b) = (Final(straight), Final(legacy));
        foreach (var f in Files) Assert.True(a[f].SequenceEqual(b[f]), $"{f} differs after resuming a legacy run");
        Assert.False(File.Exists(Path.Combine(train, "state.json")));
        Assert.Equal("step-000006", File.ReadAllText(Path.Combine(train, "CURRENT")).Trim());
    }

    [Fact]
    public void BrokenPointer_IsOneLine()
    {
        string dir = Path.Combine(root, "broken");
        VaeTrainer.Train(Recipe, Six with { Steps = 2 }, dir);
        File.WriteAllText(Path.Combine(dir, "train", "CURRENT"), "step-000099");
        var e = Assert.Throws<InvalidDataException>(() => VaeTrainer.Train(Recipe, Six, dir));
        Assert.Contains("step-000099", e.Message);
        Assert.Contains("no state.json", e.Message);
    }
}

[CollectionDefinition(nameof(CheckpointTests), DisableParallelization = true)]
public sealed class CheckpointTestsCollection;
