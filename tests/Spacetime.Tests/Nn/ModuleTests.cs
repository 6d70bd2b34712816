// Module bookkeeping: state-dict keys and their order, parameters versus buffers, LoadStateDict's checks and its one
// error message, training mode, and parameters that outlive the TensorScope they were made in.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Tests.Nn;

public class ModuleTests
{
    // A miniature of a DiT: own parameter, a buffer, a ModuleList of blocks, a dotted child name.
    sealed class Block : Module
    {
        public readonly Linear Qkv, Proj;
        public Block(Rng rng)
        {
            Qkv = Add("attn.qkv", new Linear(4, 12, rng));
            Proj = Add("attn.proj", new Linear(4, 4, rng, bias: false));
        }
    }

    sealed class Net : Module
    {
        public readonly Tensor PosEmbed, Scale;
        public readonly ModuleList<Block> Blocks;
        public readonly Linear Head;
        public Net(Rng rng, int depth = 2, int outFeatures = 3)
        {
            Scale = Param("scale", Tensor.Ones(4));
            PosEmbed = Buffer("pos_embed", Tensor.Arange(4));
            Blocks = Add("blocks", new ModuleList<Block>(Enumerable.Range(0, depth).Select(_ => new Block(rng))));
            Head = Add("adaLN_modulation.1", new Linear(4, outFeatures, rng));
        }
    }

    [Fact]
    public void StateDict_Keys_AreDottedPathsInRegistrationOrder()
    {
        var net = new Net(new Rng(1));
        string[] expected =
        [
            "scale", "pos_embed",
            "blocks.0.attn.qkv.weight", "blocks.0.attn.qkv.bias", "blocks.0.attn.proj.weight",
            "blocks.1.attn.qkv.weight", "blocks.1.attn.qkv.bias", "blocks.1.attn.proj.weight",
            "adaLN_modulation.1.weight", "adaLN_modulation.1.bias",
        ];
        Assert.Equal(expected, net.StateDict().Keys);
        Assert.Equal(expected.Where(k => k != "pos_embed"), net.NamedParameters().Select(p => p.Name));
        Assert.Equal(4 + 2 * (48 + 12 + 16) + 12 + 3, net.ParameterCount);
        Assert.Same(net.Blocks[1].Qkv.Weight, net.StateDict()["blocks.1.attn.qkv.weight"]);
        Assert.All(net.Parameters(), p => Assert.True(p.RequiresGrad && p.IsLeaf));
        Assert.False(net.PosEmbed.RequiresGrad);
    }

    [Fact]
    public void Params_MadeInsideAScope_OutliveIt()
    {
        Linear layer;
        using (TensorScope.Begin()) layer = new Linear(3, 2, new Rng(2));
        Assert.Equal(6, layer.Weight.ToArray().Length);               // would throw if the buffer went back to the pool
    }

    [Fact]
    public void Add_RepeatedOrInvalidName_Throws()
    {
        var list = new ModuleList<Linear>();
        list.Append(new Linear(1, 1, new Rng(0)));
        Assert.Throws<ArgumentException>(() => new BadNames("a..b"));
        Assert.Throws<ArgumentException>(() => new BadNames("x", "x"));
    }

    sealed class BadNames : Module
    {
        public BadNames(params string[] names)
        {
            foreach (var n in names) Param(n, Tensor.Zeros(1));
        }
    }

    [Fact]
    public void LoadStateDict_CopiesValues_IntoTheSameTensors()
    {
        var a = new Net(new Rng(3));
        var b = new Net(new Rng(4));
        var weight = b.Blocks[0].Qkv.Weight;
        var result = b.LoadStateDict(a.StateDict());
        Assert.Empty(result.Missing);
        Assert.Empty(result.Unexpected);
        Assert.Same(weight, b.Blocks[0].Qkv.Weight);
        foreach (var (k, t) in a.StateDict()) Assert.Equal(t.ToArray(), b.StateDict()[k].ToArray());
    }

    [Fact]
    public void LoadStateDict_Mismatch_NamesMissingUnexpectedAndMisShapedKeysInOneMessage()
    {
        var state = new Net(new Rng(5), depth: 1, outFeatures: 5).StateDict();   // no block 1, head (5, 4)
        state.Add("extra.weight", Tensor.Zeros(2));
        var net = new Net(new Rng(6));
        var before = net.Scale.ToArray();
        state["scale"].Fill(7f);
        var ex = Assert.Throws<ArgumentException>(() => net.LoadStateDict(state));
        Assert.Contains("Net.LoadStateDict", ex.Message);
        Assert.Contains("adaLN_modulation.1.weight is (5, 4) in the state dict but (3, 4) in the model", ex.Message);
        Assert.Contains("adaLN_modulation.1.bias is (5)", ex.Message);
        Assert.Contains("3 missing keys: blocks.1.attn.qkv.weight, blocks.1.attn.qkv.bias, blocks.1.attn.proj.weight",
                        ex.Message);
        Assert.Contains("1 unexpected key: extra.weight", ex.Message);
        Assert.Equal(before, net.Scale.ToArray());                        // nothing copied on failure

        state.Remove("adaLN_modulation.1.weight");
        state.Remove("adaLN_modulation.1.bias");
        var result = net.LoadStateDict(state, strict: false);   // non-strict: loads what matches, reports the rest
        Assert.Equal(5, result.Missing.Count);
        Assert.Equal(["extra.weight"], result.Unexpected);
        Assert.All(net.Scale.ToArray(), v => Assert.Equal(7f, v));
    }

    [Fact]
    public void LoadStateDict_ShapeMismatch_ThrowsEvenWhenNotStrict()
    {
        var state = new Net(new Rng(7), outFeatures: 2).StateDict();
        Assert.Throws<ArgumentException>(() => new Net(new Rng(8)).LoadStateDict(state, strict: false));
    }

    [Fact]
    public void TrainEval_SetEveryDescendant()
    {
        var net = new Net(new Rng(9));
        Assert.True(net.Blocks[1].Qkv.Training);
        net.Eval();
        Assert.All(net.NamedModules(), m => Assert.False(m.Module.Training));
        Assert.Equal(["", "blocks", "blocks.0", "blocks.0.attn.qkv"], net.NamedModules().Take(4).Select(m => m.Name));
        net.Train();
        Assert.All(net.NamedModules(), m => Assert.True(m.Module.Training));
    }
}
