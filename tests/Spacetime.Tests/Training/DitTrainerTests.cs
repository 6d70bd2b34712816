// The trainer on the tiny recipe: it learns, it checkpoints, and a stopped-then-resumed run is the same run; a second
// stage starts from a trained model without changing what it predicts; the object weights cover the objects.
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.Training;
using Spacetime.World;

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
        Safetensors.Read(Trainer.CheckpointFile(dir, file)).Tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    static void AssertSame(Dictionary<string, float[]> a, Dictionary<string, float[]> b, string what)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var key in a.Keys) Assert.True(a[key].SequenceEqual(b[key]), $"{what}: {key} differs");
    }

    [Fact]
    public void Train_LogsEachStepsTrainingFlops_SixTimesTheForwardMacsAtTheCaptionsLength()
    {
        // tiny: 32x32 x 5 frames in 4x pixel latents (3, 5, 8, 8); captions of 1..MaxTokens tokens
        string dir = Path.Combine(root, "flops");
        var recipe = DitRecipe.Preset("tiny");
        DitTrainer.Train(recipe, Six, dir);
        var tflop = File.ReadLines(Path.Combine(dir, "loss.csv")).Skip(1)
            .Select(l => double.Parse(l.Split(',')[2], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        Assert.Equal(6, tflop.Length);
        double Cost(int tokens) =>
            6 * Spacetime.Models.Dit.DitFlops.VideoForward(recipe.Dit, 5, 8, 8, tokens) * Six.Batch / 1e12;
        Assert.All(tflop, v => Assert.InRange(v, Cost(1) * 0.999, Cost(recipe.Text.MaxTokens) * 1.001));
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
        Assert.Contains("\"Step\": 0", File.ReadAllText(Trainer.CheckpointFile(dir, "state.json")));
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

    // tiny with the shipped recipe's stage-2 additions: the pooled caption in adaLN and object-weighted loss
    static readonly DitRecipe Stage2 = DitRecipe.Preset("tiny") with
    {
        Dit = DitRecipe.Preset("tiny").Dit with { PooledText = true }, ObjectWeight = 4,
    };

    [Fact]
    public void StartFrom_ATrainedModel_PredictsTheSame_AndItsRunResumesExactly()
    {
        string first = Path.Combine(root, "stage1"), straight = Path.Combine(root, "straight"), split = Path.Combine(root, "split");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 3 }, first);

        var init = TextVideoModel.Load(first);
        var (model, fresh) = DitTrainer.StartFrom(Stage2, 3, init);
        Assert.Equal(["y_embedder.mlp.0.bias", "y_embedder.mlp.0.weight", "y_embedder.mlp.2.bias", "y_embedder.mlp.2.weight"],
                     fresh.Order());
        using (Autograd.NoGrad())
        {
            var rng = new Rng(5);
            var x = rng.Normal(1, 3, 5, 8, 8);
            var t = Tensor.From([0.4f]);
            var text = init.Text.Encode(["a red ball falls"]);
            Assert.Equal(init.Predict(x, t, text).ToArray(), model.Predict(x, t, text).ToArray());
        }

        // stage 2 from the same start, straight vs stopped and resumed (without --init: the run rebuilds itself)
        DitTrainer.Train(Stage2, Six, straight, init: TextVideoModel.Load(first));
        Assert.Equal(3, DitTrainer.Train(Stage2, Six, split, stopAt: 3, init: TextVideoModel.Load(first)).Step);
        Assert.Equal(3, DitTrainer.Train(Stage2, Six, split).FirstStep);
        foreach (var file in new[] { "model.safetensors", "ema.safetensors", "optimizer.safetensors" })
            AssertSame(Weights(straight, file), Weights(split, file), file);
        // a run of one recipe does not resume under another
        var e = Assert.Throws<ArgumentException>(() => DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 8 }, split));
        Assert.Contains("another recipe", e.Message);
    }

    [Fact]
    public void StartFrom_ADeeperRecipe_SpreadsTheBlocks_AndPredictsTheSame()
    {
        string dir = Path.Combine(root, "shallow");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 3 }, dir);     // 2 blocks, trained (gates moved)
        var init = TextVideoModel.Load(dir);
        var deeper = DitRecipe.Preset("tiny") with { Dit = DitRecipe.Preset("tiny").Dit with { Depth = 4 } };
        var (model, fresh) = DitTrainer.StartFrom(deeper, 3, init);

        // blocks 0 and 1 go to 0 and 3 (first to first, last to last); blocks 1 and 2 are new
        Assert.Equal([0, 3], new[] { 0, 1 }.Select(i => DitTrainer.GrownBlock(i, 2, 4)));
        Assert.Equal([0, 2, 4, 6, 8, 10], Enumerable.Range(0, 6).Select(i => DitTrainer.GrownBlock(i, 6, 11)));
        Assert.Equal(["blocks.1.", "blocks.2."], fresh.Select(n => n[..9]).Distinct().Order());
        var trained = init.Dit.StateDict();
        var grown = model.Dit.StateDict();
        foreach (var (key, value) in trained)
        {
            string to = key.StartsWith("blocks.1.") ? "blocks.3." + key[9..] : key;
            Assert.True(value.ToArray().SequenceEqual(grown[to].ToArray()), $"{key} -> {to} differs");
        }
        Assert.Contains(trained.Keys, k => k.StartsWith("blocks.1.adaLN") && trained[k].ToArray().Any(v => v != 0));

        // the new blocks are identities: the grown model predicts exactly what the trained one did
        using (Autograd.NoGrad())
        {
            var x = new Rng(5).Normal(1, 3, 5, 8, 8);
            var t = Tensor.From([0.4f]);
            var text = init.Text.Encode(["a red ball falls"]);
            Assert.Equal(init.Predict(x, t, text).ToArray(), model.Predict(x, t, text).ToArray());
        }
        // a shallower recipe is not a growth: the trained model's extra blocks are refused
        var shallower = DitRecipe.Preset("tiny") with { Dit = DitRecipe.Preset("tiny").Dit with { Depth = 1 } };
        Assert.Contains("blocks.1.", Assert.Throws<ArgumentException>(() => DitTrainer.StartFrom(shallower, 0, init)).Message);
    }

    [Fact]
    public void StartFrom_AnotherTextEncoder_IsRefused()
    {
        string dir = Path.Combine(root, "tiny");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 1 }, dir);
        var other = Stage2 with { Text = Stage2.Text with { Width = 48 }, Dit = Stage2.Dit with { TextHidden = 48 } };
        var e = Assert.Throws<ArgumentException>(() => DitTrainer.StartFrom(other, 0, TextVideoModel.Load(dir)));
        Assert.Contains("text encoder", e.Message);
    }

    [Fact]
    public void StartFrom_ARecipeThatAddsTheTokenSkip_KeepsTheEncoder_AndAddsOnlyTheSkip()
    {
        string dir = Path.Combine(root, "noskip");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 1 }, dir);
        var init = TextVideoModel.Load(dir);
        var withSkip = DitRecipe.Preset("tiny") with { Text = DitRecipe.Preset("tiny").Text with { TokenSkip = true } };
        var (model, fresh) = DitTrainer.StartFrom(withSkip, 0, init);
        Assert.Equal(["text.token_skip.weight"], fresh);
        Assert.True(model.Text.Config.TokenSkip);
        using (Autograd.NoGrad())
            Assert.Equal(init.Text.Encode(["a red ball falls"]).Tokens.ToArray(),
                         model.Text.Encode(["a red ball falls"]).Tokens.ToArray());
        // anything else about the encoder that differs is still refused
        var other = withSkip with { Text = withSkip.Text with { Heads = 1 } };
        Assert.Contains("text encoder", Assert.Throws<ArgumentException>(() => DitTrainer.StartFrom(other, 0, init)).Message);
    }

    [Fact]
    public void TextFrom_FrozenText_TrainsTheDitAlone_WithTheGivenEncoderAndTokenizer()
    {
        // a donor model whose text encoder differs from the fresh run's (other seed: other weights and tokenizer)
        string donor = Path.Combine(root, "donor"), dir = Path.Combine(root, "frozen");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 2, Seed = 9 }, donor);
        var donorText = TextVideoModel.Load(donor).Text;
        var frozen = DitRecipe.Preset("tiny") with { TextLr = 0 };
        DitTrainer.Train(frozen, Six with { Steps = 3 }, dir, text: TextVideoModel.Load(donor).Text);

        var trained = TextVideoModel.Load(dir);
        Assert.Equal(donorText.Tokenizer.ToJson(), trained.Text.Tokenizer.ToJson());
        var before = donorText.StateDict();
        foreach (var (name, w) in trained.Text.StateDict())
            Assert.True(w.ToArray().SequenceEqual(before[name].ToArray()), $"text {name} changed");
        // the DiT did train: its final layer (zero at start) is no longer zero
        Assert.Contains(trained.Dit.NamedParameters(), p => p.Name.StartsWith("final_layer") && p.Parameter.ToArray().Any(v => v != 0));
        // the same run without freezing moves the text encoder
        string thawed = Path.Combine(root, "thawed");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 3 }, thawed, text: TextVideoModel.Load(donor).Text);
        Assert.Contains(TextVideoModel.Load(thawed).Text.StateDict(), kv => !kv.Value.ToArray().SequenceEqual(before[kv.Key].ToArray()));
    }

    [Fact]
    public void TextLr_ScalesExactlyTheTextEncodersParameters()
    {
        var task = DitTrainer.NewTask(DitRecipe.Preset("tiny") with { TextLr = 0.25f }, Six, Path.Combine(root, "slow"));
        var text = task.TextVideo.Text.Parameters().ToHashSet(ReferenceEqualityComparer.Instance);
        var all = task.Model.NamedParameters().ToList();
        Assert.Equal(text.Count, all.Count(p => task.LrScale!(p.Name) == 0.25f));
        Assert.All(all, p => Assert.Equal(text.Contains(p.Parameter) ? 0.25f : 1f, task.LrScale!(p.Name)));
        Assert.Null(DitTrainer.NewTask(DitRecipe.Preset("tiny"), Six, Path.Combine(root, "joint")).LrScale);
    }

    [Fact]
    public void TextFrom_AnotherWidth_IsRefused()
    {
        string dir = Path.Combine(root, "tiny");
        DitTrainer.Train(DitRecipe.Preset("tiny"), Six with { Steps = 1 }, dir);
        var other = Stage2 with { Text = Stage2.Text with { Width = 48 }, Dit = Stage2.Dit with { TextHidden = 48 } };
        var e = Assert.Throws<ArgumentException>(() => DitTrainer.CheckText(other, TextVideoModel.Load(dir).Text));
        Assert.Contains("not the recipe's", e.Message);
    }

    // a codec with a VAE's strides, for the frame arithmetic (never encodes)
    sealed class Strides(int spatial, int temporal) : ILatentCodec
    {
        public int Channels => 4;
        public int SpatialFactor => spatial;
        public int TemporalFactor => temporal;
        public Tensor Encode(Frames frames) => throw new NotSupportedException();
        public Frames Decode(Tensor latent, double fps) => throw new NotSupportedException();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void ObjectWeights_CoverEveryObjectsCentre_AndLittleElse(int temporal)
    {
        var truth = WorldClip.Describe(new ClipSettings(Seed: 21, Width: 64, Height: 64, Seconds: 17 / 8.0, Fps: 8));
        var codec = new Strides(4, temporal);
        int frames = codec.LatentFrames(truth.FrameCount), side = 16;
        var map = DitTrainer.ObjectWeights([truth, null], codec, 4f, frames, side, side).ToArray();   // (2, 1, T', 16, 16)
        int per = frames * side * side;
        Assert.All(map.Skip(per), v => Assert.Equal(1f, v));                          // no truth: weight 1
        Assert.All(map.Take(per), v => Assert.True(v is 1f or 5f));
        for (int v = 0; v < truth.FrameCount; v++)
        {
            int j = (v + temporal - 1) / temporal;                                       // the latent frame holding frame v
            foreach (var o in truth.Frames[v].Objects.Where(o => o.Visible >= 0.5))
            {
                int cx = (int)(o.CenterPx[0] / 4), cy = (int)(o.CenterPx[1] / 4);
                if (cx is < 0 or >= 16 || cy is < 0 or >= 16) continue;
                Assert.Equal(5f, map[(j * side + cy) * side + cx]);
            }
        }
        // at most the cells the boxes (each widened by a cell on every side) could touch
        double bound = truth.Frames.Sum(f => f.Objects.Sum(o => (o.Box[2] - o.Box[0] + 8) * (o.Box[3] - o.Box[1] + 8) / 16));
        int weighted = map.Take(per).Count(v => v == 5f);
        Assert.InRange(weighted, 1, bound);
    }
}
