// The world-clip classifier trains through the one loop, exports a folder that loads back to the same features, and
// `eval --classifier` turns those features into a Fréchet video distance per system.
using Spacetime.Models.Probe;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Training;

public sealed class ClassifierTrainerTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-cls-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Train_ExportsAFolderThatLoadsToTheSameFeatures_AndLogsAccuracies()
    {
        var cfg = new TrainConfig { Steps = 4, Batch = 4, CheckpointEvery = 2, EmaDecay = 0 };
        var result = ClassifierTrainer.Train(ClassifierRecipe.Preset("tiny"), cfg, dir);
        Assert.Equal(4, result.Step);
        Assert.StartsWith("step,loss,accuracy,colour_acc,", File.ReadLines(Path.Combine(dir, "loss.csv")).First());
        var model = ClipClassifier.Load(dir);
        var clip = WorldClip.Render(new ClipSettings(3, 32, 32, 1, 8)).Frames;
        var a = ClassifierInput.Features(model, [clip]);
        var b = ClassifierInput.Features(ClipClassifier.Load(dir), [clip]);
        Assert.Equal(model.Config.Features, a[0].Length);
        Assert.Equal(a[0], b[0]);
        Assert.Contains(a[0], v => v != 0);
    }

    [Fact]
    public void Load_MissingFolder_SaysHowToMakeOne()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ClipClassifier.Load(Path.Combine(dir, "nope")));
        Assert.Contains("train classifier", e.Message);
    }
}
