// LoRA on the tiny recipe's DiT: an adapted model starts equal to its base (B = 0), training moves only the adapters
// and lowers the loss on its clips, merging equals the unmerged sum to float rounding, and adapters that do not fit a
// model (another base's shapes, a rank above a layer's width) are refused with what differs. The base is the tiny
// recipe's fresh model with every DiT weight jittered: a fresh DiT predicts exactly zero (adaLN-Zero gates and a zero
// final layer), so no gradient would reach its blocks' adapters, while a trained one passes gradients everywhere.
using Spacetime.Data;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;
using Spacetime.Nn;
using Spacetime.Pipelines;
using Spacetime.Tests.TestKit;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Training;

/// <summary>A jittered tiny base model folder and a dataset folder of four world clips, made once for the class.</summary>
public sealed class LoraFixture : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "spacetime-lora-" + Guid.NewGuid().ToString("N")[..8]);
    public string BaseDir => Path.Combine(Root, "base");
    public string DataDir => Path.Combine(Root, "data");
    /// <summary>Four other world clips at exactly the tiny model's clip (32x32, 5 frames at 8 fps), with their truth.</summary>
    public string PriorDir => Path.Combine(Root, "prior");
    /// <summary>The data's clips with a word no caption uses ("zorp") in every caption and prompt.</summary>
    public string WordDir => Path.Combine(Root, "word");
    public const string NewWord = "zorp";

    public LoraFixture()
    {
        Jittered(DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1), seed: 2).Save(BaseDir);
        using var writer = new DatasetWriter(DataDir);
        for (long seed = 1; seed <= 4; seed++)
        {
            var clip = WorldClip.Render(new ClipSettings(seed, 32, 32, 1, 8));
            writer.Add(clip.Frames, clip.Caption, clip.Prompt);
        }
        using (var word = new DatasetWriter(WordDir))
            for (long seed = 1; seed <= 4; seed++)
            {
                var clip = WorldClip.Render(new ClipSettings(seed, 32, 32, 1, 8));
                word.Add(clip.Frames, $"A {NewWord} scene. {clip.Caption}", $"a {NewWord} {clip.Prompt}");
            }
        using var prior = new DatasetWriter(PriorDir);
        for (long seed = 11; seed <= 14; seed++)
        {
            var clip = WorldClip.Render(new ClipSettings(seed, 32, 32, 5 / 8.0, 8));
            prior.Add(clip.Frames, clip.Caption, clip.Prompt, clip.Truth.ToJson());
        }
    }

    /// <summary>The model with N(0, 0.05²) added to every DiT weight, as a stand-in for a trained one.</summary>
    public static TextVideoModel Jittered(TextVideoModel m, ulong seed)
    {
        var rng = new Rng(seed);
        using var noGrad = Autograd.NoGrad();
        foreach (var p in m.Dit.Parameters()) p.CopyFrom(p + rng.Normal(0f, 0.05f, p.Shape.ToArray()));
        return m;
    }

    public void Dispose()
    {
        if (Directory.Exists(Root)) Directory.Delete(Root, recursive: true);
    }
}

public sealed class LoraTests(LoraFixture fixture) : IClassFixture<LoraFixture>
{
    static readonly TrainConfig Steps = new() { Steps = 4, Batch = 2, WarmupSteps = 1, EmaDecay = 0, Seed = 5,
                                                CheckpointEvery = 100 };

    string NewRun() => Path.Combine(fixture.Root, "run-" + Guid.NewGuid().ToString("N")[..8]);

    TextVideoModel Base() => TextVideoModel.Load(fixture.BaseDir);

    // one fixed batch through the DiT: x (2, 3, 5, 8, 8), t (2), caption tokens (2, 6, 32)
    static Tensor Predict(VideoDit dit)
    {
        var rng = new Rng(7);
        var x = rng.Normal([2, 3, 5, 8, 8]);
        var t = Tensor.From([100f, 700f], 2);
        var text = rng.Normal([2, 6, dit.Config.TextHidden]);
        using var noGrad = Autograd.NoGrad();
        return dit.Forward(x, t, text).CopyUnscoped();                                  // (2, 3, 5, 8, 8)
    }

    static void Randomize(DitLora lora, ulong seed)
    {
        var rng = new Rng(seed);
        using var noGrad = Autograd.NoGrad();
        foreach (var (_, layer) in lora.Layers) Init.Normal(layer.B, rng, 0f, 0.05f);
    }

    [Fact]
    public void LoraModel_AtInitialisation_EqualsItsBase()
    {
        var dit = Base().Dit;
        var before = Predict(dit).ToArray();
        // bit for bit where the adapted layer's own product is unchanged: y + s·0 is y
        var lora = new DitLora(dit, new LoraConfig { Rank = 4, Alpha = 8, Targets = LoraTargets.All & ~LoraTargets.MlpFc1 },
                               seed: 3);
        lora.Attach(dit);
        Assert.All(lora.Layers, l => Assert.All(l.Layer.B.ToArray(), v => Assert.Equal(0f, v)));
        Assert.Contains(lora.Layers, l => l.Layer.A.ToArray().Any(v => v != 0));
        TensorAssert.BitwiseEqual(before, Predict(dit).ToArray(), "adapted vs base");
        // an adapted fc1 leaves the fused Linear+GELU kernel for Linear then GELU (the update goes in between), whose
        // float32 rounding differs in the last bits
        DitLora.Detach(dit);
        new DitLora(dit, new LoraConfig { Rank = 4 }, seed: 3).Attach(dit);
        TensorAssert.Close(before.Select(v => (double)v).ToArray(), Predict(dit), rtol: 1e-5, atol: 1e-6,
                           what: "adapted (fc1 too) vs base");
    }

    [Fact]
    public void LoraModel_Targets_CoverExactlyTheNamedLinears()
    {
        var dit = Base().Dit;                                                           // depth 2
        var all = new DitLora(dit, new LoraConfig { Rank = 2 });
        Assert.Equal(2 * 7, all.Layers.Count);                                          // qkv proj q kv proj fc1 fc2
        var cross = new DitLora(dit, new LoraConfig { Rank = 2, Targets = LoraTargets.CrossKv | LoraTargets.MlpFc2 });
        Assert.Equal(["blocks.0.cross_attn.kv", "blocks.0.mlp.fc2", "blocks.1.cross_attn.kv", "blocks.1.mlp.fc2"],
                     cross.Layers.Select(l => l.Path).ToArray());
        Assert.Equal("blocks.0.cross_attn.kv.lora_A.weight", cross.StateDict().Keys.First());
    }

    [Fact]
    public void LoraModel_MergedIntoWeights_EqualsUnmergedToFloatRounding()
    {
        var dit = Base().Dit;
        var lora = new DitLora(dit, new LoraConfig { Rank = 4 }, seed: 3);
        Randomize(lora, 4);
        lora.Attach(dit);
        var unmerged = Predict(dit);
        DitLora.Detach(dit);
        var baseOut = Predict(dit).ToArray();
        lora.MergeInto(dit);
        var merged = Predict(dit);
        Assert.True(unmerged.ToArray().Zip(baseOut).Max(p => Math.Abs(p.First - p.Second)) > 1e-3,
                    "the adapters should change the output for this check to mean anything");
        // float32 sums over a few dozen terms per layer, through two blocks: agreement to ~1e-5 relative
        TensorAssert.Close(unmerged.ToArray().Select(v => (double)v).ToArray(), merged, rtol: 1e-4, atol: 1e-5,
                           what: "merged vs unmerged");
    }

    [Fact]
    public void TrainLora_Steps_GradientsReachOnlyTheAdaptersAndTheBaseIsUnchanged()
    {
        var model = Base();
        var baseBefore = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        var task = DitTrainer.NewLoraTask(model, ModelIdentity.Of(fixture.BaseDir), new LoraConfig { Rank = 4 }, Steps,
                                          NewRun(), Dataset.Load(fixture.DataDir));
        using (TensorScope.Begin())
            task.Loss(0, 0, Trainer.StepRng(Steps, 0, 0)).Loss.Backward();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        Assert.IsType<DitLora>(task.Model);
        Assert.All(task.Model.NamedParameters().Where(p => p.Name.EndsWith("lora_B.weight")),
                   p => Assert.True(p.Parameter.Grad!.ToArray().Any(v => v != 0), $"{p.Name} got no gradient"));

        var run = NewRun();
        DitTrainer.TrainLora(model, ModelIdentity.Of(fixture.BaseDir), new LoraConfig { Rank = 4 }, Steps, run,
                             Dataset.Load(fixture.DataDir));
        foreach (var (key, t) in model.StateDict())
            TensorAssert.BitwiseEqual(baseBefore[key], t.ToArray(), key);
        var saved = Safetensors.Read(Path.Combine(run, LoraAdapter.FileName));
        Assert.Contains(saved.Tensors, kv => kv.Key.EndsWith("lora_B.weight") && kv.Value.ToArray().Any(v => v != 0));
        Assert.Equal(ModelIdentity.Of(fixture.BaseDir).WeightsSha256, saved.Metadata["base_weights_sha256"]);
        Assert.Equal("4", saved.Metadata["rank"]);
        Assert.Equal("All", saved.Metadata["targets"]);
    }

    [Fact]
    public void TrainLora_FortySteps_LowersTheLossOnItsClips()
    {
        var cfg = Steps with { Steps = 40, Batch = 4, Lr = 5e-3f, WarmupSteps = 2 };
        var model = Base();
        var task = DitTrainer.NewLoraTask(model, ModelIdentity.Of(fixture.BaseDir), new LoraConfig { Rank = 4 }, cfg,
                                          NewRun(), Dataset.Load(fixture.DataDir));
        // the mean loss over 12 fixed draws (clips, captions, t, noise), before and after: a paired comparison
        float Loss()
        {
            using var noGrad = Autograd.NoGrad();
            using var scope = TensorScope.Begin();
            return Enumerable.Range(1000, 12).Average(k => task.Loss(k, 0, Trainer.StepRng(cfg, k, 0)).Loss.Item());
        }
        float before = Loss();
        Trainer.Run(task, cfg, NewRun());
        float after = Loss();
        Assert.True(after < 0.9f * before, $"loss {before:F4} -> {after:F4}: LoRA did not learn its clips");
    }

    [Fact]
    public void TrainLora_WithAPrior_DrawsItsShareOfMicroBatchesFromIt()
    {
        var prior = Dataset.Load(fixture.PriorDir);
        var priorCaptions = prior.Clips.Select(c => c.Caption).ToHashSet();
        int FromPrior(double share)
        {
            string run = NewRun();
            var task = DitTrainer.NewLoraTask(Base(), ModelIdentity.Of(fixture.BaseDir), new LoraConfig { Rank = 4 },
                                              Steps, run, Dataset.Load(fixture.DataDir),
                                              mix: new LoraMix(prior, share, ObjectWeight: 4));
            Assert.True(File.Exists(Path.Combine(run, "train", "prior-latents.safetensors")));
            using var scope = TensorScope.Begin();
            return Enumerable.Range(0, 200).Count(k =>
            {
                var d = task.Draw(k, 0, Trainer.StepRng(Steps, k, 0));
                bool fromPrior = priorCaptions.Contains(d.Texts[0].Caption);
                Assert.True(d.Texts.All(t => priorCaptions.Contains(t.Caption) == fromPrior),
                            "a micro-batch mixes the two datasets");
                // the prior's clips carry truth at the model's size, but the prior is never weighted
                if (fromPrior) Assert.All(task.ObjectWeights(d)!.ToArray(), v => Assert.Equal(1f, v));
                return fromPrior;
            });
        }
        Assert.Equal(0, FromPrior(0));
        Assert.InRange(FromPrior(0.5), 70, 130);                                         // binomial(200, 0.5): sd 7
        Assert.InRange(FromPrior(0.9), 160, 195);
        var e = Assert.Throws<ArgumentException>(() => DitTrainer.NewLoraTask(Base(), ModelIdentity.Of(fixture.BaseDir),
            new LoraConfig { Rank = 4 }, Steps, NewRun(), prior, mix: new LoraMix(prior, 1)));
        Assert.Contains("below 1", e.Message);
    }

    [Fact]
    public void TrainLora_ObjectWeight_WeighsTheObjectsOfClipsWithTruthAtTheModelsSize()
    {
        float[] Weights(string dataDir)
        {
            var task = DitTrainer.NewLoraTask(Base(), ModelIdentity.Of(fixture.BaseDir), new LoraConfig { Rank = 4 },
                                              Steps, NewRun(), Dataset.Load(dataDir), mix: new LoraMix(ObjectWeight: 4));
            using var scope = TensorScope.Begin();
            var d = task.Draw(0, 0, Trainer.StepRng(Steps, 0, 0));
            return task.ObjectWeights(d)!.ToArray();                                     // (B, 1, T', h, w)
        }
        var withTruth = Weights(fixture.PriorDir);
        Assert.Contains(5f, withTruth);                                                  // 1 + 4 under the objects
        Assert.Contains(1f, withTruth);                                                  // and 1 on the background
        Assert.InRange(withTruth.Count(v => v == 5f) / (double)withTruth.Length, 0.005, 0.5);
        // the first dataset's clips are 8 frames, not the model's 5: their truth (none here) would need mapping
        Assert.All(Weights(fixture.DataDir), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void LoraAdapter_SavedThenLoaded_GivesTheSameLayersAndAppliesToItsBase()
    {
        var m = Base();
        var lora = new DitLora(m.Dit, new LoraConfig { Rank = 3, Alpha = 1.5f, Targets = LoraTargets.SelfAttention });
        Randomize(lora, 9);
        string file = Path.Combine(NewRun(), "a.safetensors");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        new LoraAdapter(lora, ModelIdentity.Of(fixture.BaseDir)).Save(file);
        var back = LoraAdapter.Load(file, m.Dit);
        Assert.Equal(lora.Config, back.Layers.Config);
        foreach (var (key, t) in lora.StateDict())
            TensorAssert.BitwiseEqual(t.ToArray(), back.Layers.StateDict()[key].ToArray(), key);
        Assert.Null(back.NoteFor(ModelIdentity.Of(fixture.BaseDir)));
        Assert.Contains("trained on 'base'", back.NoteFor(new ModelIdentity("other", new string('0', 64))));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(file)!, "*.tmp"));
    }

    [Fact]
    public void LoraAdapter_ForAnotherBase_IsRefusedNamingTheNamesAndShapesThatDiffer()
    {
        var m = Base();
        string file = Path.Combine(NewRun(), LoraAdapter.FileName);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        new LoraAdapter(new DitLora(m.Dit, new LoraConfig { Rank = 4 }), ModelIdentity.Of(fixture.BaseDir)).Save(file);

        var wider = new VideoDit(m.Dit.Config with { Hidden = 48, Heads = 4 });
        var e = Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(file, wider));
        Assert.Contains("does not fit this model", e.Message);
        Assert.Contains("blocks.0.attn.qkv.lora_A.weight is (4, 32) in the adapter but (4, 48) for this model", e.Message);
        Assert.Contains("trained on 'base'", e.Message);

        var deeper = new VideoDit(m.Dit.Config with { Depth = 3 });
        e = Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(Path.GetDirectoryName(file)!, deeper));
        Assert.Contains("tensors this model needs are missing (blocks.2.attn.qkv.lora_A.weight", e.Message);

        var shallower = new VideoDit(m.Dit.Config with { Depth = 1 });
        e = Assert.Throws<InvalidDataException>(() => LoraAdapter.Load(file, shallower));
        Assert.Contains("name layers this model lacks (blocks.1.attn.qkv.lora_A.weight", e.Message);
    }

    [Fact]
    public void DitLora_RankLargerThanALayer_IsRefusedNamingTheLayer()
    {
        var dit = Base().Dit;                                                           // width 32
        var e = Assert.Throws<ArgumentException>(() => new DitLora(dit, new LoraConfig { Rank = 33 }));
        Assert.Contains("rank 33", e.Message);
        Assert.Contains("blocks.0.", e.Message);
        Assert.Contains("at most 32", e.Message);
        Assert.Equal(32, new DitLora(dit, new LoraConfig { Rank = 32 }).Config.Rank);
    }

    [Fact]
    public void TrainLora_ResumedWithAnotherRank_IsRefused()
    {
        string run = NewRun();
        var identity = ModelIdentity.Of(fixture.BaseDir);
        DitTrainer.TrainLora(Base(), identity, new LoraConfig { Rank = 4 }, Steps with { Steps = 1 }, run,
                             Dataset.Load(fixture.DataDir));
        var e = Assert.Throws<ArgumentException>(() => DitTrainer.TrainLora(Base(), identity,
            new LoraConfig { Rank = 2 }, Steps with { Steps = 2 }, run, Dataset.Load(fixture.DataDir)));
        Assert.Contains("rank 4", e.Message);
    }

    [Fact]
    public void LoraAdapter_AtWorldSizes_IsAFewPercentOfTheModel()
    {
        // the shipped recipe's DiT (width 256, depth 6), rank 8 on every target: files on disk, as a user sees them
        var recipe = DitRecipe.Preset("world-s");
        var dit = new VideoDit(recipe.Dit);
        string dir = NewRun();
        DitCheckpoint.Save(dit, new DitFolderConfig(DitKind.Video, recipe.Dit), dir);
        string file = Path.Combine(dir, LoraAdapter.FileName);
        new LoraAdapter(new DitLora(dit, new LoraConfig()), new ModelIdentity("world-s", new string('0', 64))).Save(file);
        double percent = 100.0 * new FileInfo(file).Length / new FileInfo(Path.Combine(dir, "model.safetensors")).Length;
        Assert.InRange(percent, 1, 5);
    }

    [Fact]
    public void TrainLora_NewWordAlone_TrainsOnlyItsEmbedding_AndOtherCaptionsReadAsBefore()
    {
        var model = Base();
        var identity = ModelIdentity.Of(fixture.BaseDir);
        var words = new LoraWords([LoraFixture.NewWord], Init: "red");
        var none = new LoraConfig { Targets = LoraTargets.None };
        var task = DitTrainer.NewLoraTask(model, identity, none, Steps, NewRun(), Dataset.Load(fixture.WordDir),
                                          words: words);
        using (TensorScope.Begin())
            task.Loss(0, 0, Trainer.StepRng(Steps, 0, 0)).Loss.Backward();
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));
        var (name, weight) = Assert.Single(task.Model.NamedParameters());
        Assert.Equal("new_words.weight", name);
        Assert.True(weight.Grad!.ToArray().Any(v => v != 0), "the new word got no gradient");

        string run = NewRun();
        DitTrainer.TrainLora(Base(), identity, none, Steps with { Lr = 1e-2f }, run, Dataset.Load(fixture.WordDir),
                             words: words);
        var header = LoraAdapter.ReadHeader(run);
        Assert.Equal([LoraFixture.NewWord], header.Words);
        Assert.Equal(LoraTargets.None, header.Config.Targets);
        var baseModel = Base();
        var adapter = LoraAdapter.Load(run, baseModel.Dit);
        var start = baseModel.Text.EmbeddingOf(" red").ToArray();
        Assert.NotEqual(start, adapter.Layers.Words!.Weight.ToArray());                 // it trained

        // merged: captions without the word encode bit for bit as the base's; with it, as the adapter's row says
        var merged = Base();
        adapter.MergeInto(merged);
        Assert.Equal([LoraFixture.NewWord], merged.Text.Tokenizer.Words);
        using var scope = TensorScope.Begin();
        string[] plain = ["A red ball falls.", "Two blue squares drift left."];
        Assert.Equal(baseModel.Text.Encode(plain).Tokens.ToArray(), merged.Text.Encode(plain).Tokens.ToArray());
        string taught = $"A {LoraFixture.NewWord} ball falls.";
        Assert.NotEqual(baseModel.Text.Encode(taught).Tokens.ToArray(), merged.Text.Encode(taught).Tokens.ToArray());
        foreach (var (key, t) in baseModel.Dit.StateDict())                              // the DiT untouched
            TensorAssert.BitwiseEqual(t.ToArray(), merged.Dit.StateDict()[key].ToArray(), key);

        // resuming with another word is refused, naming the run's
        var e = Assert.Throws<ArgumentException>(() => DitTrainer.TrainLora(Base(), identity, none,
            Steps with { Steps = 5 }, run, Dataset.Load(fixture.WordDir), words: new LoraWords(["blorp"])));
        Assert.Contains($"new words {LoraFixture.NewWord}", e.Message);
    }

    [Fact]
    public void TrainLora_NewWordWithBlockOffsets_TheyTrain_SaveLoad_AndMergedEqualsLive()
    {
        var identity = ModelIdentity.Of(fixture.BaseDir);
        var words = new LoraWords([LoraFixture.NewWord], Init: "red", PerBlock: true);
        var none = new LoraConfig { Targets = LoraTargets.None };
        string run = NewRun();
        var model = Base();
        var task = DitTrainer.NewLoraTask(model, identity, none, Steps, run, Dataset.Load(fixture.WordDir),
                                          words: words);
        using (TensorScope.Begin())
            task.Loss(0, 0, Trainer.StepRng(Steps, 0, 0)).Loss.Backward();
        var grads = task.Model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad);
        Assert.Equal(["new_words.weight", "new_words.block_weight"], grads.Keys);
        Assert.All(grads, g => Assert.True(g.Value!.ToArray().Any(v => v != 0), $"{g.Key} got no gradient"));

        DitTrainer.TrainLora(Base(), identity, none, Steps with { Lr = 1e-2f }, run, Dataset.Load(fixture.WordDir),
                             words: words);
        var live = Base();
        var adapter = LoraAdapter.Load(run, live.Dit);
        Assert.Equal(live.Dit.Config.Depth, adapter.Layers.Words!.Blocks);
        Assert.Contains(adapter.Layers.Words.BlockWeight!.ToArray(), v => v != 0);
        live.Text.UseWords(adapter.Layers.Words);
        var merged = Base();
        LoraAdapter.Load(run, merged.Dit).MergeInto(merged);
        var rng = new Rng(3);
        using var scope = TensorScope.Begin();
        var c = live.Dit.Config;
        var x = rng.Normal([1, c.InChannels, 2 * c.PatchT, 2 * c.Patch, 2 * c.Patch]);       // (1, C, T, h, w)
        var t = Tensor.From([0.6f], 1);
        foreach (string caption in new[] { $"A {LoraFixture.NewWord} ball falls.", "A red ball falls." })
        {
            using var noGrad = Autograd.NoGrad();
            var a = live.Predict(x, t, live.Text.Encode(caption)).ToArray();
            var b = merged.Predict(x, t, merged.Text.Encode(caption)).ToArray();
            TensorAssert.BitwiseEqual(a, b, caption);
        }
        using (Autograd.NoGrad())
        {
            var plain = Base();
            TensorAssert.BitwiseEqual(plain.Predict(x, t, plain.Text.Encode("A red ball falls.")).ToArray(),
                                      merged.Predict(x, t, merged.Text.Encode("A red ball falls.")).ToArray(), "base");
        }
    }
}
