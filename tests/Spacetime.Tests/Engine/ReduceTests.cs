using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class ReduceTests
{
    // Reference: reduce x (shape) over axes with f(values) per output element (keepDim layout, row-major).
    static double[] ReduceRef(double[] x, int[] shape, int[] axes, Func<List<double>, double> f)
    {
        var outShape = shape.Select((d, i) => axes.Contains(i) ? 1 : d).ToArray();
        int n = outShape.Aggregate(1, (a, b) => a * b);
        var groups = Enumerable.Range(0, n).Select(_ => new List<double>()).ToArray();
        for (int i = 0; i < x.Length; i++)
        {
            var idx = GradCheck.Unravel(i, shape);
            for (int d = 0; d < idx.Length; d++) if (axes.Contains(d)) idx[d] = 0;
            int flat = 0;
            for (int d = 0; d < idx.Length; d++) flat = flat * outShape[d] + idx[d];
            groups[flat].Add(x[i]);
        }
        return groups.Select(f).ToArray();
    }

    static double VarRef(List<double> v, int c)
    {
        double m = v.Average();
        return v.Sum(a => (a - m) * (a - m)) / (v.Count - c);
    }

    public static TheoryData<int[], int[]> Cases => new()
    {
        { [7], [0] }, { [3, 5], [1] }, { [3, 5], [0] }, { [2, 3, 4], [0, 2] }, { [2, 3, 4], [1] }, { [4, 1, 33], [2] },
        { [2, 3, 4], [] },
    };

    [Theory, MemberData(nameof(Cases))]
    [OpCheck(OpKind.Sum, Check.Forward), OpCheck(OpKind.Mean, Check.Forward)]
    [OpCheck(OpKind.Max, Check.Forward), OpCheck(OpKind.Var, Check.Forward)]
    public void Reductions_MatchFloat64(int[] shape, int[] axes)
    {
        var x = Rand(1, -2f, 2f, shape);
        var all = axes.Length == 0 ? Enumerable.Range(0, shape.Length).ToArray() : axes;
        // float32 sums of <= 33 terms: relative error well under 1e-5
        TensorAssert.Close(ReduceRef(D(x), shape, all, v => v.Sum()), x.Sum(axes, keepDim: true), 1e-5, 1e-6, "sum");
        TensorAssert.Close(ReduceRef(D(x), shape, all, v => v.Average()), x.Mean(axes), 1e-5, 1e-6, "mean");
        TensorAssert.Close(ReduceRef(D(x), shape, all, v => v.Max()), F.Max(x, axes), 0, 0, "max");
        TensorAssert.Close(ReduceRef(D(x), shape, all, v => VarRef(v, 1)), F.Var(x, axes), 1e-5, 1e-6, "var");
        TensorAssert.Close(ReduceRef(D(x), shape, all, v => VarRef(v, 0)), F.Var(x, axes, correction: 0), 1e-5, 1e-6);
        // and on a transposed view
        var t = x.Reshape(-1).Reshape(shape);
        TensorAssert.Close(ReduceRef(D(x), shape, all, v => v.Sum()), t.Sum(axes), 1e-5, 1e-6, "sum of view");
    }

    [Fact]
    [OpCheck(OpKind.Sum, Check.Backward), OpCheck(OpKind.Mean, Check.Backward)]
    [OpCheck(OpKind.Max, Check.Backward), OpCheck(OpKind.Var, Check.Backward)]
    public void Reductions_Backward_MatchFiniteDifferences()
    {
        GradCheck.Check(x => x[0].Transpose(0, 2).Sum([0, 2]), [Rand(2, -1f, 1f, 3, 4, 5)], what: "sum");
        GradCheck.Check(x => x[0].Mean([1], keepDim: true), [Rand(3, -1f, 1f, 3, 4, 5)], what: "mean");
        // distinct, well separated values so the argmax does not move under +-eps
        var m = Tensor.From(Enumerable.Range(0, 20).Select(i => (i * 7 % 20) * 0.1f).ToArray(), 4, 5);
        GradCheck.Check(x => F.Max(x[0], [1]), [m], what: "max");
        GradCheck.Check(x => F.Var(x[0], [0, 1]), [Rand(4, -1f, 1f, 3, 4, 2)], what: "var");
    }

    [Fact]
    [OpCheck(OpKind.Sum, Check.Threads), OpCheck(OpKind.Mean, Check.Threads)]
    [OpCheck(OpKind.Max, Check.Threads), OpCheck(OpKind.Var, Check.Threads)]
    public void Reductions_OneAndTwoThreads_Identical()
    {
        var x = Rand(5, -1f, 1f, 13, 17, 19);
        GradCheck.SameOnThreads(t => t[0].Sum([1]), [x]);
        GradCheck.SameOnThreads(t => t[0].Mean([0, 2]), [x]);
        GradCheck.SameOnThreads(t => F.Max(t[0], [2]), [x]);
        GradCheck.SameOnThreads(t => F.Var(t[0], [1]), [x]);
    }

    [Fact]
    public void Reduce_BadAxis_Throws() =>
        Assert.Contains("Sum", Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(2, 3).Sum([2])).Message);
}
