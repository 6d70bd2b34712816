// ClassifierTrainer: the world-clip classifier (Models/Probe/ClipClassifier, the feature network of the Fréchet video
// distance) as a training task (the loop is Trainer.Run). One micro-batch: B world clips rendered at the recipe's
// size (the size `eval` scores at), prepared as the classifier sees every video (Pipelines/ClassifierInput), and the
// sum over label heads (World/ClipLabels) of the cross-entropy. Logged: the mean accuracy over heads and the accuracy
// of each head. The exported folder is the classifier (config.json + model.safetensors).
using Spacetime.Engine;
using Spacetime.Models.Probe;
using Spacetime.Nn;
using Spacetime.Pipelines;
using Spacetime.Training.Distributed;
using Spacetime.World;

namespace Spacetime.Training;

/// <summary>A classifier recipe: the network and the world clips it reads.</summary>
public sealed record ClassifierRecipe(ClipClassifierConfig Net, int Width, int Height, double Seconds, double Fps)
{
    /// <summary>The recipes by name.</summary>
    public static IReadOnlyDictionary<string, ClassifierRecipe> Presets { get; } =
        new Dictionary<string, ClassifierRecipe>(StringComparer.OrdinalIgnoreCase)
        {
            // tests: 16x16 input, narrow convolutions, 32x32 clips of 1 s
            ["tiny"] = new(new ClipClassifierConfig { Side = 16, Frames = 4, Channels = [4, 8, 16] }, 32, 32, 1, 8),
            // `eval`'s videos: 128x128, 2 s at 8 fps, read at 64x64 x 8 frames
            ["world"] = new(new ClipClassifierConfig(), 128, 128, 2, 8),
        };

    /// <summary>The recipe called <paramref name="name"/>, or an error listing the valid names.</summary>
    public static ClassifierRecipe Preset(string name) => Presets.TryGetValue(name, out var r) ? r
        : throw new ArgumentException($"unknown classifier recipe '{name}'; known: {string.Join(", ", Presets.Keys)}");
}

/// <summary>Trains the world-clip classifier on clips rendered on the fly.</summary>
public static class ClassifierTrainer
{
    /// <summary>Trains into <paramref name="dir"/>, resuming from its checkpoint when there is one;
    /// <paramref name="comm"/>: the ranks of a data-parallel run (Trainer.Run).</summary>
    public static TrainResult Train(ClassifierRecipe recipe, TrainConfig cfg, string dir,
                                    Action<TrainProgress>? progress = null, int? stopAt = null, Communicator? comm = null)
    {
        cfg.Validate();
        new ClipSettings(0, recipe.Width, recipe.Height, recipe.Seconds, recipe.Fps).Validate();
        if (!recipe.Net.Classes.SequenceEqual(ClipLabels.Classes))
            throw new ArgumentException($"classifier recipe: heads [{string.Join(", ", recipe.Net.Classes)}] must be " +
                                        $"ClipLabels' [{string.Join(", ", ClipLabels.Classes)}]");
        return Trainer.Run(new Task(recipe, cfg, new ClipClassifier(recipe.Net, cfg.Seed)), cfg, dir, progress, stopAt,
                           comm);
    }

    sealed class Task(ClassifierRecipe recipe, TrainConfig cfg, ClipClassifier model) : ITrainTask
    {
        const long DataSalt = 0xC1A55;     // the classifier's clips are not the DiT's or the VAE's of the same seed
        static readonly string[] Heads = ["colour", "shape", "count", "horizontal", "vertical"];

        public Module Model => model;
        public IReadOnlyList<string> Metrics => ["accuracy", .. Heads.Select(h => h + "_acc")];

        public (Tensor Loss, float[] Metrics) Loss(int step, int micro, Rng rng)
        {
            long first = ((long)step * cfg.MicroBatches + micro) * cfg.Batch;
            var clips = Enumerable.Range(0, cfg.Batch).Select(i => WorldClip.Render(new ClipSettings(
                WorldClip.DeriveSeed((long)cfg.Seed ^ DataSalt, first + i), recipe.Width, recipe.Height, recipe.Seconds,
                recipe.Fps))).ToArray();
            var labels = clips.Select(c => ClipLabels.Of(c).ToArray()).ToArray();         // (B)(heads)
            OpProfile.MarkCurrent();                                    // rendering the clips is no op's time
            var logits = model.Logits(ClassifierInput.Batch(clips.Select(c => c.Frames), recipe.Net)); // (B, Σ classes)
            var classes = recipe.Net.Classes;
            Tensor? loss = null;
            var accuracy = new float[classes.Length];
            for (int h = 0, offset = 0; h < classes.Length; offset += classes[h], h++)
            {
                var part = logits.Slice(1, offset, classes[h]).Contiguous();             // (B, classes[h])
                var targets = labels.Select(l => l[h]).ToArray();
                var ce = F.CrossEntropy(part, targets);
                loss = loss is null ? ce : loss + ce;
                var values = part.ToArray();
                int right = 0;
                for (int b = 0; b < cfg.Batch; b++)
                {
                    var row = values.AsSpan(b * classes[h], classes[h]);
                    int best = 0;
                    for (int k = 1; k < row.Length; k++) if (row[k] > row[best]) best = k;
                    if (best == targets[b]) right++;
                }
                accuracy[h] = right / (float)cfg.Batch;
            }
            return (loss!, [accuracy.Average(), .. accuracy]);
        }

        public void Export(string dir) => model.Save(dir);
    }
}
