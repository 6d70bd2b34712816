// The fused DiT ops (Ops/Fused.cs) against float64 references, finite differences, 1 vs 2 threads, and the naive
// compositions of plain ops they replace.
// Tolerances: forward vs float64 at rtol 1e-5 (LinearGelu, SiluLinear: a K-term fp32 dot product, K <= 70, then one
// fp32 activation, each a few ulp; GatedAdd: one fused multiply-add, 1 ulp) with a small atol for values near 0.
// Fused vs unfused compositions differ only in rounding (the GEMM epilogue's GELU uses x sigmoid(2u) where F.Gelu uses
// 0.5 x (1 + tanh u); MultiplyAdd rounds once where x + g * y rounds twice): rtol 1e-5. Gradients: GradCheck's
// defaults (finite differences with eps 1e-2, rtol 1e-2), and fused vs unfused gradients at rtol 1e-5.
using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class FusedTests
{
    // float64 x W^T + b, then f, for x (rows, in), weight (out, in), bias (out) or null.
    static double[] LinearRef(Tensor x, Tensor w, Tensor? b, Func<double, double> fx, Func<double, double> fy)
    {
        int inF = w.Size(1), outF = w.Size(0), rows = x.Count / Math.Max(inF, 1);
        double[] dx = D(x), dw = D(w), db = b is null ? new double[outF] : D(b);
        var o = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < outF; j++)
            {
                double s = db[j];
                for (int k = 0; k < inF; k++) s += fx(dx[r * inF + k]) * dw[j * inF + k];
                o[r * outF + j] = fy(s);
            }
        return o;
    }

    static double GeluTanhRef(double v) => 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
    static double SiluRef(double v) => v / (1 + Math.Exp(-v));

    static double[] Grads(Func<Tensor[], Tensor> f, Tensor[] inputs, int k, Tensor w)
    {
        foreach (var t in inputs) { t.RequiresGrad = true; t.Grad = null; }
        F.Sum(f(inputs) * w).Backward();
        return D(inputs[k].Grad!);
    }

    static void SameGradients(Func<Tensor[], Tensor> fused, Func<Tensor[], Tensor> naive, Tensor[] inputs,
                              int[] outShape, string what)
    {
        var w = Rand(99, -1f, 1f, outShape);
        for (int k = 0; k < inputs.Length; k++)
            TensorAssert.Close(Grads(naive, inputs, k, w), Grads(fused, inputs, k, w), 1e-5, 1e-6,
                               $"{what}: gradient {k}, fused vs unfused");
    }

    // ---- LinearGelu ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1, 1, 1), InlineData(3, 5, 7), InlineData(7, 16, 17), InlineData(13, 33, 48), InlineData(20, 70, 100)]
    [OpCheck(OpKind.LinearGelu, Check.Forward)]
    public void LinearGelu_MatchesFloat64AndUnfusedOps(int rows, int inF, int outF)
    {
        var x = Rand(1, -2f, 2f, rows, inF);
        var w = Rand(2, -1f, 1f, outF, inF);
        var b = Rand(3, -1f, 1f, outF);
        TensorAssert.Close(LinearRef(x, w, b, v => v, GeluTanhRef), F.LinearGelu(x, w, b), 1e-5, 1e-6, "with bias");
        TensorAssert.Close(LinearRef(x, w, null, v => v, GeluTanhRef), F.LinearGelu(x, w), 1e-5, 1e-6, "no bias");
        TensorAssert.Close(D(F.Gelu(F.Linear(x, w, b))), F.LinearGelu(x, w, b), 1e-5, 1e-6, "fused vs unfused");
        foreach (var isa in new[] { MatMulKernels.Isa.Scalar, MatMulKernels.Isa.Vector256, MatMulKernels.Isa.Vector512 })
        {
            if (isa != MatMulKernels.Isa.Scalar && !MatMulKernels.HasAvxFma) continue;
            using var _ = MatMulKernels.UseIsa(isa);
            TensorAssert.Close(LinearRef(x, w, b, v => v, GeluTanhRef), F.LinearGelu(x, w, b), 1e-5, 1e-6, $"{isa}");
        }
        // large |pre-activation| saturates without NaN: gelu(-inf side) = -0, gelu(+inf side) = v
        var big = F.LinearGelu(Tensor.From([-200f, 200f, 0f], 3, 1), Tensor.From([1f], 1, 1));
        Assert.Equal(new[] { 0f, 200f, 0f }, big.ToArray());
    }

    [Fact]
    [OpCheck(OpKind.LinearGelu, Check.Backward)]
    public void LinearGelu_Backward_MatchesFiniteDifferencesAndUnfusedOps()
    {
        Tensor[] Inputs() => [Rand(4, -2f, 2f, 2, 3, 5), Rand(5, -1f, 1f, 6, 5), Rand(6, -1f, 1f, 6)];
        GradCheck.Check(t => F.LinearGelu(t[0], t[1], t[2]), Inputs(), what: "LinearGelu");
        GradCheck.Check(t => F.LinearGelu(t[0].Transpose(0, 1), t[1]), [Rand(7, -2f, 2f, 5, 3, 5), Inputs()[1]],
                        what: "LinearGelu of a view, no bias");
        SameGradients(t => F.LinearGelu(t[0], t[1], t[2]), t => F.Gelu(F.Linear(t[0], t[1], t[2])), Inputs(),
                      [2, 3, 6], "LinearGelu");
    }

    [Fact]
    [OpCheck(OpKind.LinearGelu, Check.Threads)]
    public void LinearGelu_OneAndTwoThreads_Identical()
    {
        // 67 rows x 150 columns: partial tiles on both edges, several column blocks in the bias gradient
        Tensor[] inputs = [Rand(1, -2f, 2f, 67, 40), Rand(2, -1f, 1f, 150, 40), Rand(3, -1f, 1f, 150)];
        GradCheck.SameOnThreads(t => F.LinearGelu(t[0], t[1], t[2]), inputs, what: "LinearGelu");
    }

    // ---- GatedAdd ------------------------------------------------------------------------------------------------

    // float64 x + gate * y with gate (GB, GN, D) broadcast to (B, N, D).
    static double[] GatedAddRef(Tensor x, Tensor gate, Tensor y)
    {
        int B = x.Size(0), N = x.Size(1), Dd = x.Size(2);
        int GB = gate.Rank == 2 ? B : gate.Size(0), GN = gate.Rank == 2 ? 1 : gate.Size(1);
        double[] dx = D(x), dg = D(gate), dy = D(y);
        var o = new double[dx.Length];
        for (int b = 0; b < B; b++)
            for (int n = 0; n < N; n++)
                for (int d = 0; d < Dd; d++)
                {
                    int i = (b * N + n) * Dd + d, g = ((GB == 1 ? 0 : b) * GN + (GN == 1 ? 0 : n)) * Dd + d;
                    o[i] = dx[i] + dg[g] * dy[i];
                }
        return o;
    }

    public static TheoryData<int, int, int, int[]> GateCases => new()
    {
        { 2, 5, 7, [2, 7] }, { 2, 5, 7, [2, 1, 7] }, { 2, 5, 7, [1, 5, 7] }, { 2, 5, 7, [1, 1, 7] },
        { 1, 1, 1, [1, 1] }, { 3, 4, 70, [3, 70] }, { 2, 0, 3, [2, 3] }, { 2, 3, 0, [2, 0] },
    };

    [Theory, MemberData(nameof(GateCases))]
    [OpCheck(OpKind.GatedAdd, Check.Forward)]
    public void GatedAdd_MatchesFloat64AndUnfusedOps(int B, int N, int Dd, int[] gateShape)
    {
        var x = Rand(1, -2f, 2f, B, N, Dd);
        var y = Rand(2, -2f, 2f, B, N, Dd);
        var gate = Rand(3, -1f, 1f, gateShape);
        var fused = F.GatedAdd(x, gate, y);
        TensorAssert.Close(GatedAddRef(x, gate, y), fused, 1e-6, 1e-7, "float64");
        var g3 = gate.Rank == 2 ? gate.Unsqueeze(1) : gate;
        TensorAssert.Close(D(x + g3 * y), fused, 1e-6, 1e-6, "fused vs unfused");
    }

    [Fact]
    [OpCheck(OpKind.GatedAdd, Check.Backward)]
    public void GatedAdd_Backward_MatchesFiniteDifferencesAndUnfusedOps()
    {
        foreach (var gs in new[] { new[] { 2, 4 }, [2, 1, 4], [1, 3, 4], [1, 1, 4] })
        {
            Tensor[] Inputs() => [Rand(1, -2f, 2f, 2, 3, 4), Rand(2, -1f, 1f, gs), Rand(3, -2f, 2f, 2, 3, 4)];
            string what = $"GatedAdd gate {Shapes.Format(gs)}";
            GradCheck.Check(t => F.GatedAdd(t[0], t[1], t[2]), Inputs(), what: what);
            Func<Tensor[], Tensor> naive = t => t[0] + (gs.Length == 2 ? t[1].Unsqueeze(1) : t[1]) * t[2];
            SameGradients(t => F.GatedAdd(t[0], t[1], t[2]), naive, Inputs(), [2, 3, 4], what);
        }
        // a chunk of a modulation vector and a transposed y (both views), as the DiT block passes them
        GradCheck.Check(t => F.GatedAdd(t[0], t[1].Chunk(2, 1)[1], t[2].Transpose(1, 2)),
                        [Rand(4, -2f, 2f, 2, 3, 4), Rand(5, -1f, 1f, 2, 8), Rand(6, -2f, 2f, 2, 4, 3)],
                        what: "GatedAdd of views");
        // x and y the same tensor: dx = dy (1 + gate)
        GradCheck.Check(t => F.GatedAdd(t[0], t[1], t[0]), [Rand(7, -2f, 2f, 2, 3, 4), Rand(8, -1f, 1f, 2, 4)],
                        what: "GatedAdd x = y");
    }

    [Fact]
    [OpCheck(OpKind.GatedAdd, Check.Threads)]
    public void GatedAdd_OneAndTwoThreads_Identical()
    {
        // 150 columns: three dgate column blocks, the last partial; gates shared by 31 tokens and by everything
        foreach (var gs in new[] { new[] { 3, 150 }, [1, 31, 150], [1, 1, 150] })
            GradCheck.SameOnThreads(t => F.GatedAdd(t[0], t[1], t[2]),
                                    [Rand(1, -2f, 2f, 3, 31, 150), Rand(2, -1f, 1f, gs), Rand(3, -2f, 2f, 3, 31, 150)],
                                    what: $"GatedAdd gate {Shapes.Format(gs)}");
    }

    // ---- SiluLinear ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(1, 1, 1), InlineData(2, 7, 42), InlineData(4, 32, 192), InlineData(3, 70, 5)]
    [OpCheck(OpKind.SiluLinear, Check.Forward)]
    public void SiluLinear_MatchesFloat64AndUnfusedOps(int rows, int inF, int outF)
    {
        var c = Rand(1, -4f, 4f, rows, inF);
        var w = Rand(2, -1f, 1f, outF, inF);
        var b = Rand(3, -1f, 1f, outF);
        TensorAssert.Close(LinearRef(c, w, b, SiluRef, v => v), F.SiluLinear(c, w, b), 1e-5, 1e-6, "with bias");
        TensorAssert.Close(LinearRef(c, w, null, SiluRef, v => v), F.SiluLinear(c, w), 1e-5, 1e-6, "no bias");
        TensorAssert.Close(D(F.Linear(F.Silu(c), w, b)), F.SiluLinear(c, w, b), 1e-6, 1e-6, "fused vs unfused");
    }

    [Fact]
    [OpCheck(OpKind.SiluLinear, Check.Backward)]
    public void SiluLinear_Backward_MatchesFiniteDifferencesAndUnfusedOps()
    {
        Tensor[] Inputs() => [Rand(4, -3f, 3f, 2, 5), Rand(5, -1f, 1f, 6, 5), Rand(6, -1f, 1f, 6)];
        GradCheck.Check(t => F.SiluLinear(t[0], t[1], t[2]), Inputs(), what: "SiluLinear");
        GradCheck.Check(t => F.SiluLinear(t[0].Transpose(0, 1), t[1]), [Rand(7, -3f, 3f, 5, 2), Inputs()[1]],
                        what: "SiluLinear of a view, no bias");
        SameGradients(t => F.SiluLinear(t[0], t[1], t[2]), t => F.Linear(F.Silu(t[0]), t[1], t[2]), Inputs(),
                      [2, 6], "SiluLinear");
    }

    [Fact]
    [OpCheck(OpKind.SiluLinear, Check.Threads)]
    public void SiluLinear_OneAndTwoThreads_Identical()
    {
        Tensor[] inputs = [Rand(1, -3f, 3f, 4, 40), Rand(2, -1f, 1f, 150, 40), Rand(3, -1f, 1f, 150)];
        GradCheck.SameOnThreads(t => F.SiluLinear(t[0], t[1], t[2]), inputs, what: "SiluLinear");
    }
}
