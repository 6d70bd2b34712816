// Each layer: output shape, and one numeric check against a float64 reference written here from the PyTorch
// definition. Tolerance 1e-5 relative (1e-6 absolute): float32 sums of a few dozen terms.
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Nn;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Nn;

public class LayerTests
{
    static double[] D(Tensor t) => Reference.D(t);

    [Fact]
    public void Linear_MatchesReference()
    {
        var layer = new Linear(5, 3, new Rng(1));
        var x = Reference.Rand(2, -1, 1, 2, 4, 5);
        var y = layer.Forward(x);
        TensorAssert.ShapeIs(y, 2, 4, 3);
        double[] xs = D(x), w = D(layer.Weight), b = D(layer.Bias!);
        var expected = new double[8 * 3];
        for (int r = 0; r < 8; r++)
            for (int o = 0; o < 3; o++)
            {
                double s = b[o];
                for (int i = 0; i < 5; i++) s += xs[r * 5 + i] * w[o * 5 + i];
                expected[r * 3 + o] = s;
            }
        TensorAssert.Close(expected, y, what: "Linear");
        Assert.All(layer.Weight.ToArray(), v => Assert.InRange(v, -1 / MathF.Sqrt(5), 1 / MathF.Sqrt(5)));
        Assert.Null(new Linear(5, 3, new Rng(1), bias: false).Bias);
    }

    [Fact]
    public void LayerNorm_LoadsTorchWeights_AndMatchesTorchOutput()
    {
        var f = Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "Data", "torch_small.safetensors"));
        var linear = new Linear(4, 3, new Rng(0));
        var norm = new LayerNorm(3);
        linear.LoadStateDict(new Dictionary<string, Tensor>
            { ["weight"] = f.Tensors["tiny.linear.weight"], ["bias"] = f.Tensors["tiny.linear.bias"] });
        norm.LoadStateDict(new Dictionary<string, Tensor>
            { ["weight"] = f.Tensors["tiny.norm.weight"], ["bias"] = f.Tensors["tiny.norm.bias"] });
        var y = norm.Forward(linear.Forward(f.Tensors["io.input"]));
        TensorAssert.Close(D(f.Tensors["io.tiny_out"]), y, rtol: 1e-5, atol: 1e-6, what: "Linear + LayerNorm vs torch");
        Assert.Empty(new LayerNorm(3, affine: false).StateDict());
    }

    [Fact]
    public void RmsNorm_MatchesReference()
    {
        var norm = new RmsNorm(6);
        Init.Uniform(norm.Weight!, new Rng(3), 0.5f, 1.5f);
        var x = Reference.Rand(4, -2, 2, 3, 6);
        var y = norm.Forward(x);
        TensorAssert.ShapeIs(y, 3, 6);
        double[] xs = D(x), w = D(norm.Weight!), e = new double[18];
        for (int r = 0; r < 3; r++)
        {
            double ms = 0;
            for (int i = 0; i < 6; i++) ms += xs[r * 6 + i] * xs[r * 6 + i] / 6;
            for (int i = 0; i < 6; i++) e[r * 6 + i] = xs[r * 6 + i] / Math.Sqrt(ms + 1e-6) * w[i];
        }
        TensorAssert.Close(e, y, what: "RmsNorm");
    }

    [Fact]
    public void GroupNorm_MatchesReference()
    {
        var norm = new GroupNorm(groups: 2, channels: 4);
        Init.Uniform(norm.Weight!, new Rng(5), 0.5f, 1.5f);
        Init.Uniform(norm.Bias!, new Rng(6), -0.5f, 0.5f);
        var x = Reference.Rand(7, -2, 2, 2, 4, 3);                     // (B, C, S)
        var y = norm.Forward(x);
        TensorAssert.ShapeIs(y, 2, 4, 3);
        double[] xs = D(x), w = D(norm.Weight!), b = D(norm.Bias!), e = new double[24];
        for (int n = 0; n < 2; n++)
            for (int g = 0; g < 2; g++)
            {
                int start = n * 12 + g * 6;                            // 2 channels x 3 positions per group
                double m = 0, v = 0;
                for (int i = 0; i < 6; i++) m += xs[start + i] / 6;
                for (int i = 0; i < 6; i++) v += (xs[start + i] - m) * (xs[start + i] - m) / 6;
                for (int i = 0; i < 6; i++)
                {
                    int c = g * 2 + i / 3;
                    e[start + i] = (xs[start + i] - m) / Math.Sqrt(v + 1e-5) * w[c] + b[c];
                }
            }
        TensorAssert.Close(e, y, what: "GroupNorm");
        Assert.Throws<ArgumentException>(() => new GroupNorm(3, 4));
    }

    // Direct 3-d convolution in double: x (B, C, T, H, W) zero-padded by (front, back) in time and symmetrically in
    // space, weight (O, C, kt, kh, kw).
    static double[] ConvRef(Tensor x, Tensor w, Tensor? bias, (int T, int H, int W) s, (int F, int B) pt,
                            int ph, int pw)
    {
        int[] xd = x.Shape.ToArray(), wd = w.Shape.ToArray();
        int B = xd[0], C = xd[1], T = xd[2], H = xd[3], W = xd[4], O = wd[0], kt = wd[2], kh = wd[3], kw = wd[4];
        int To = (T + pt.F + pt.B - kt) / s.T + 1, Ho = (H + 2 * ph - kh) / s.H + 1, Wo = (W + 2 * pw - kw) / s.W + 1;
        double[] xs = D(x), ws = D(w), bs = bias is null ? new double[O] : D(bias);
        var y = new double[B * O * To * Ho * Wo];
        int idx = 0;
        for (int b = 0; b < B; b++)
            for (int o = 0; o < O; o++)
                for (int t = 0; t < To; t++)
                    for (int i = 0; i < Ho; i++)
                        for (int j = 0; j < Wo; j++)
                        {
                            double acc = bs[o];
                            for (int c = 0; c < C; c++)
                                for (int a = 0; a < kt; a++)
                                    for (int p = 0; p < kh; p++)
                                        for (int q = 0; q < kw; q++)
                                        {
                                            int tt = t * s.T + a - pt.F, hh = i * s.H + p - ph, ww = j * s.W + q - pw;
                                            if (tt < 0 || tt >= T || hh < 0 || hh >= H || ww < 0 || ww >= W) continue;
                                            acc += xs[(((b * C + c) * T + tt) * H + hh) * W + ww] *
                                                   ws[(((o * C + c) * kt + a) * kh + p) * kw + q];
                                        }
                            y[idx++] = acc;
                        }
        return y;
    }

    [Fact]
    public void Conv2d_MatchesReference()
    {
        var conv = new Conv2d(3, 4, (3, 3), new Rng(8), stride: (2, 1), padding: (1, 1));
        var x = Reference.Rand(9, -1, 1, 2, 3, 5, 6);
        var y = conv.Forward(x);
        TensorAssert.ShapeIs(y, 2, 4, 3, 6);
        var e = ConvRef(x.Reshape(2, 3, 1, 5, 6), conv.Weight.Reshape(4, 3, 1, 3, 3), conv.Bias, (1, 2, 1), (0, 0),
                        1, 1);
        TensorAssert.Close(e, y, what: "Conv2d");
        Assert.Equal(["weight", "bias"], conv.StateDict().Keys);
    }

    [Fact]
    public void Conv3d_MatchesReference()
    {
        var conv = new Conv3d(2, 3, (3, 3, 1), new Rng(10), stride: (1, 2, 1), padding: (1, 0, 0));
        var x = Reference.Rand(11, -1, 1, 1, 2, 4, 5, 3);
        var y = conv.Forward(x);
        TensorAssert.ShapeIs(y, 1, 3, 4, 2, 3);
        TensorAssert.Close(ConvRef(x, conv.Weight, conv.Bias, (1, 2, 1), (1, 1), 0, 0), y, what: "Conv3d");
    }

    [Fact]
    public void CausalConv3d_PadsOnlyThePast_AndMatchesReference()
    {
        var conv = new CausalConv3d(2, 3, (3, 3, 3), new Rng(12));
        Assert.Equal(2, conv.TimePad);
        Assert.Equal(["conv.weight", "conv.bias"], conv.StateDict().Keys);
        var x = Reference.Rand(13, -1, 1, 1, 2, 5, 4, 4);
        var y = conv.Forward(x);
        TensorAssert.ShapeIs(y, 1, 3, 5, 4, 4);                        // T frames in, T frames out
        var w = conv.StateDict()["conv.weight"];
        var e = ConvRef(x, w, conv.StateDict()["conv.bias"], (1, 1, 1), (2, 0), 1, 1);   // 2 frames in front
        TensorAssert.Close(e, y, what: "CausalConv3d");

        // Changing frame 3 leaves outputs 0..2 unchanged.
        var x2 = x.Contiguous().CopyUnscoped();
        x2[0, 1, 3, 2, 2] += 5f;
        var y2 = conv.Forward(x2);
        Assert.Equal(y.Slice(2, 0, 3).ToArray(), y2.Slice(2, 0, 3).ToArray());
        Assert.NotEqual(y.Slice(2, 3, 1).ToArray(), y2.Slice(2, 3, 1).ToArray());

        var down = new CausalConv3d(2, 2, (3, 3, 3), new Rng(14), stride: (2, 1, 1));
        Assert.Equal(1, down.TimePad);                                  // kt - 1 + (1 - stride)
        TensorAssert.ShapeIs(down.Forward(x), 1, 2, 2, 4, 4);           // (5 + 1 - 3) / 2 + 1 = 2
        var pointwise = new CausalConv3d(2, 2, (1, 1, 1), new Rng(15));
        Assert.Equal(0, pointwise.TimePad);
        TensorAssert.ShapeIs(pointwise.Forward(x), 1, 2, 5, 4, 4);
    }

    [Fact]
    public void Embedding_LooksUpRows()
    {
        var emb = new Embedding(5, 3, new Rng(15));
        var y = emb.Forward([4, 0, 4, 2], 2, 2);
        TensorAssert.ShapeIs(y, 2, 2, 3);
        var w = D(emb.Weight);
        var e = new[] { 4, 0, 4, 2 }.SelectMany(i => w.Skip(3 * i).Take(3)).ToArray();
        TensorAssert.Close(e, y, rtol: 0, atol: 0, what: "Embedding");
    }

    [Theory]
    [InlineData(Activation.GeluTanh)]
    [InlineData(Activation.GeluErf)]
    [InlineData(Activation.Silu)]
    [InlineData(Activation.Relu)]
    public void Mlp_Shape_AndKeys(Activation activation)
    {
        var mlp = new Mlp(4, 16, activation, new Rng(16), outFeatures: 2);
        TensorAssert.ShapeIs(mlp.Forward(Reference.Rand(17, -1, 1, 3, 5, 4)), 3, 5, 2);
        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], mlp.StateDict().Keys);
    }
}
