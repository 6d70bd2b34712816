using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;
using Spacetime.Nn;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Models;

public class DitTests
{
    static readonly DitConfig Tiny = new() { Hidden = 32, Depth = 2, Heads = 4, InChannels = 4, Patch = 2, NumClasses = 10 };

    [Theory]
    [InlineData("DiT-S/2", 6.06)]
    [InlineData("DiT-B/2", 23.01)]
    [InlineData("DiT-L/2", 80.71)]
    [InlineData("DiT-XL/2", 118.64)]
    public void Presets_ForwardGflopsAt256Pixels_MatchThePaper(string name, double paper) =>
        Assert.Equal(paper, Math.Round(DitFlops.ImageForward(DitConfig.Preset(name), latentSize: 32) / 1e9, 2));

    [Fact]
    public void DitXL2_Parameters_Are675Million() =>
        Assert.Equal(675, Math.Round(DitFlops.ImageParameters(DitConfig.Preset("DiT-XL/2"), 32) / 1e6));

    [Fact]
    public void ParameterFormula_EqualsTheBuiltModel()
    {
        var cfg = Tiny with { Depth = 3 };
        var model = new Dit(cfg, inputSize: 8);
        Assert.Equal(DitFlops.ImageParameters(cfg, 8), model.ReferenceParameterCount);
        var keys = model.StateDict().Keys.ToList();
        Assert.Contains("blocks.2.adaLN_modulation.1.weight", keys);
        Assert.Contains("y_embedder.embedding_table.weight", keys);
        Assert.Contains("t_embedder.mlp.2.bias", keys);
        Assert.Equal("pos_embed", keys[0]);           // own tensors first, then children: PyTorch's order too
    }

    [Fact]
    public void UntrainedDit_OutputsZeros_AndBlocksAreIdentities()
    {
        var model = new Dit(Tiny, inputSize: 8, seed: 1);
        var rng = new Rng(2);
        using var _ = Autograd.NoGrad();
        var y = model.Forward(rng.Normal(2, 4, 8, 8), Tensor.From([10f, 500f]), [3, 10]);
        TensorAssert.ShapeIs(y, 2, 8, 8, 8);
        Assert.All(y.ToArray(), v => Assert.Equal(0f, v));
        var block = new DitBlock(Tiny, new Rng(3));
        block.InitializeWeights(new Rng(4));
        var x = rng.Normal(2, 5, 32);
        TensorAssert.BitwiseEqual(x.ToArray(), block.Forward(x, rng.Normal(2, 32)).ToArray(), "identity block");
    }

    [Theory]
    [InlineData(AttentionLayout.Full, 1, 4, 4)]
    [InlineData(AttentionLayout.Full, 3, 4, 6)]
    [InlineData(AttentionLayout.Factorized, 2, 6, 4)]
    [InlineData(AttentionLayout.Factorized, 5, 2, 8)]
    public void VideoDit_AnyFramesAndAspect_GivesLatentShape(AttentionLayout layout, int T, int H, int W)
    {
        var cfg = Tiny with { Attention = layout, LearnSigma = false, TextHidden = 16 };
        var model = new VideoDit(cfg, seed: 5);
        RandomizeAll(model, 6);                         // so the output is not trivially zero
        var rng = new Rng(7);
        using var _ = Autograd.NoGrad();
        var y = model.Forward(rng.Normal(2, 4, T, H, W), Tensor.From([1f, 900f]), rng.Normal(2, 3, 16));
        TensorAssert.ShapeIs(y, 2, 4, T, H, W);
        Assert.Contains(y.ToArray(), v => v != 0f);
    }

    [Fact]
    public void VideoDit_Untrained_OutputsZeros()
    {
        var model = new VideoDit(Tiny with { TextHidden = 16 }, seed: 1);
        using var _ = Autograd.NoGrad();
        var rng = new Rng(2);
        var y = model.Forward(rng.Normal(1, 4, 2, 4, 4), Tensor.From([3f]), rng.Normal(1, 2, 16));
        Assert.All(y.ToArray(), v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void VideoDit_TextPadding_DoesNotChangeTheOutput(bool pooled)
    {
        var cfg = Tiny with { TextHidden = 16, LearnSigma = false, PooledText = pooled };
        var model = new VideoDit(cfg, seed: 8);
        RandomizeAll(model, 9);
        var rng = new Rng(10);
        using var _ = Autograd.NoGrad();
        var x = rng.Normal(1, 4, 2, 4, 4);
        var text = rng.Normal(1, 3, 16);
        var padded = F.Concat([text, rng.Normal(1, 2, 16)], 1);          // two padding tokens with garbage
        var a = model.Forward(x, Tensor.From([5f]), text).ToArray();
        var b = model.Forward(x, Tensor.From([5f]), padded, [true, true, true, false, false]).ToArray();
        TensorAssert.Close(a.Select(v => (double)v).ToArray(), b.Select(v => (double)v).ToArray(), 1e-5, 1e-6);
    }

    [Fact]
    public void VideoDit_PooledText_StartsAsNoChange_AndThenSteersTheOutput()
    {
        var cfg = Tiny with { TextHidden = 16, LearnSigma = false };
        var plain = new VideoDit(cfg, seed: 30);
        RandomizeAll(plain, 31);
        var pooled = new VideoDit(cfg with { PooledText = true }, seed: 32);
        var loaded = pooled.LoadStateDict(plain.StateDict(), strict: false);
        Assert.Equal(["y_embedder.mlp.0.bias", "y_embedder.mlp.0.weight", "y_embedder.mlp.2.bias", "y_embedder.mlp.2.weight"],
                     loaded.Missing.Order());
        var rng = new Rng(33);
        using var _ = Autograd.NoGrad();
        var x = rng.Normal(2, 4, 2, 4, 4);
        var t = Tensor.From([5f, 600f]);
        var text = rng.Normal(2, 3, 16);
        // zero-initialised last layer: the same outputs as the model without the path
        var before = plain.Forward(x, t, text).ToArray();
        Assert.Equal(before, pooled.Forward(x, t, text).ToArray());
        // once the path has weights, the caption's mean reaches adaLN: the output changes
        var rngW = new Rng(34);
        foreach (var (name, p) in pooled.NamedParameters().Where(p => p.Name.StartsWith("y_embedder")))
            Init.Normal(p, rngW, 0f, 0.1f);
        var after = pooled.Forward(x, t, text).ToArray();
        Assert.True(after.Zip(before).Max(ab => Math.Abs(ab.First - ab.Second)) > 1e-3, "the pooled path changed nothing");
    }

    [Fact]
    public void VideoDit_OverfitsOneBatch()
    {
        var cfg = Tiny with { TextHidden = 16, LearnSigma = false };
        var model = new VideoDit(cfg, seed: 11);
        var rng = new Rng(12);
        var x = rng.Normal(2, 4, 2, 4, 4);
        var t = Tensor.From([100f, 700f]);
        var text = rng.Normal(2, 3, 16);
        var target = rng.Normal(2, 4, 2, 4, 4);
        var opt = new Spacetime.Nn.Optim.AdamW(model.NamedParameters(), lr: 3e-3f, weightDecay: 0f);
        float first = 0, last = 0;
        for (int step = 0; step < 150; step++)
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad();
            var loss = F.MseLoss(model.Forward(x, t, text), target);
            loss.Backward();
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        Assert.True(last < first / 10, $"loss {first} -> {last}: expected a 10x drop");
    }

    [Fact]
    public void Checkpoint_SaveLoad_SameOutputs()
    {
        var cfg = Tiny with { TextHidden = 16, Attention = AttentionLayout.Factorized };
        var model = new VideoDit(cfg, seed: 13);
        RandomizeAll(model, 14);
        var dir = Path.Combine(Path.GetTempPath(), "spacetime-dit-" + Guid.NewGuid().ToString("N"));
        try
        {
            DitCheckpoint.Save(model, new DitFolderConfig(DitKind.Video, cfg), dir);
            var (loaded, config) = DitCheckpoint.Load(dir);
            Assert.Equal(cfg, config.Dit);
            var rng = new Rng(15);
            var x = rng.Normal(1, 4, 3, 4, 4);
            var text = rng.Normal(1, 2, 16);
            using var _ = Autograd.NoGrad();
            TensorAssert.BitwiseEqual(model.Forward(x, Tensor.From([7f]), text).ToArray(),
                                      ((VideoDit)loaded).Forward(x, Tensor.From([7f]), text).ToArray());
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Checkpoint_WrongShapes_NameTheKeys()
    {
        var dir = Path.Combine(Path.GetTempPath(), "spacetime-dit-" + Guid.NewGuid().ToString("N"));
        try
        {
            var small = Tiny with { TextHidden = 16 };
            DitCheckpoint.Save(new VideoDit(small), new DitFolderConfig(DitKind.Video, small with { Hidden = 64 }), dir);
            var e = Assert.Throws<ArgumentException>(() => DitCheckpoint.Load(dir));
            Assert.Contains("x_embedder.proj.weight", e.Message);
            Assert.Contains("wrong shape", e.Message);
            Assert.Throws<FileNotFoundException>(() => DitCheckpoint.Load(Path.Combine(dir, "nope")));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    // The reference-layout checkpoint made by Data/dit_reference/make_dit_reference.py (python3-torch 1.13):
    // our forward pass must reproduce PyTorch's output to 1e-4 of the output's scale.
    [Fact]
    public void ImportedReferenceCheckpoint_ReproducesPyTorchOutputs()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Data", "dit_reference");
        var model = DitCheckpoint.ImportReference(Path.Combine(dir, "model.safetensors"), Path.Combine(dir, "config.json"));
        var io = Safetensors.Read(Path.Combine(dir, "io.safetensors")).Tensors;
        var labels = io["y"].ToArray().Select(v => (int)v).ToArray();
        using var _ = Autograd.NoGrad();
        model.Eval();
        var ours = model.Forward(io["x"], io["t"], labels).ToArray();
        var theirs = io["out"].ToArray();
        double scale = theirs.Max(v => Math.Abs(v)), worst = 0;
        for (int i = 0; i < ours.Length; i++) worst = Math.Max(worst, Math.Abs(ours[i] - theirs[i]));
        Assert.True(worst / scale <= 1e-4, $"max error {worst:G3} is {worst / scale:G3} of the output scale {scale:G3}");
    }

    static void RandomizeAll(Module m, ulong seed)
    {
        var rng = new Rng(seed);
        using var _ = Autograd.NoGrad();
        foreach (var p in m.Parameters()) Init.Normal(p, rng, 0f, 0.1f);
    }
}
