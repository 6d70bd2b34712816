using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

// Concat, Stack, Pad, Gather and Embedding. These ops only move elements, so the float64 references are met
// exactly (tolerance 0); gradients are sums of dy elements and checked against finite differences.
public class JoinTests
{
    // ---- float64 references -------------------------------------------------------------------------------

    // torch.cat in double: output element at index idx comes from the part whose range along dim holds idx[dim].
    static double[] ConcatRef(Tensor[] xs, int dim)
    {
        int d = dim < 0 ? dim + xs[0].Rank : dim;
        var shape = xs[0].Shape.ToArray();
        shape[d] = xs.Sum(x => x.Size(d));
        var o = new double[shape.Aggregate(1, (a, b) => a * b)];
        var parts = xs.Select(D).ToArray();
        for (int i = 0; i < o.Length; i++)
        {
            var idx = GradCheck.Unravel(i, shape);
            int k = 0;
            while (idx[d] >= xs[k].Size(d)) idx[d] -= xs[k++].Size(d);
            o[i] = parts[k][Flat(idx, xs[k].Shape.ToArray())];
        }
        return o;
    }

    // F.pad (constant) in double: pads are (before, after) pairs from the last dim.
    static double[] PadRef(Tensor x, int[] pads, double value, out int[] shape)
    {
        var xs = x.Shape.ToArray();
        shape = (int[])xs.Clone();
        var before = new int[xs.Length];
        for (int k = 0; k < pads.Length / 2; k++)
        {
            before[xs.Length - 1 - k] = pads[2 * k];
            shape[xs.Length - 1 - k] += pads[2 * k] + pads[2 * k + 1];
        }
        var xd = D(x);
        var o = new double[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < o.Length; i++)
        {
            var idx = GradCheck.Unravel(i, shape);
            bool inside = true;
            for (int a = 0; a < idx.Length; a++)
            {
                idx[a] -= before[a];
                inside &= idx[a] >= 0 && idx[a] < xs[a];
            }
            o[i] = inside ? xd[Flat(idx, xs)] : value;
        }
        return o;
    }

    // torch.index_select in double.
    static double[] GatherRef(Tensor x, int dim, int[] index)
    {
        var xs = x.Shape.ToArray();
        var shape = (int[])xs.Clone();
        shape[dim] = index.Length;
        var xd = D(x);
        var o = new double[shape.Aggregate(1, (a, b) => a * b)];
        for (int i = 0; i < o.Length; i++)
        {
            var idx = GradCheck.Unravel(i, shape);
            idx[dim] = index[idx[dim]];
            o[i] = xd[Flat(idx, xs)];
        }
        return o;
    }

    static int Flat(int[] idx, int[] shape)
    {
        int f = 0;
        for (int a = 0; a < shape.Length; a++) f = f * shape[a] + idx[a];
        return f;
    }

    // ---- Concat and Stack -----------------------------------------------------------------------------------

    [Fact]
    [OpCheck(OpKind.Concat, Check.Forward)]
    public void Concat_ShapesAndViews_MatchFloat64()
    {
        var cases = new (Tensor[] xs, int dim)[]
        {
            ([Rand(1, -1f, 1f, 2, 3), Rand(2, -1f, 1f, 4, 3)], 0),
            ([Rand(3, -1f, 1f, 2, 3, 5), Rand(4, -1f, 1f, 2, 1, 5), Rand(5, -1f, 1f, 2, 7, 5)], 1),
            ([Rand(6, -1f, 1f, 3, 2), Rand(7, -1f, 1f, 3, 0), Rand(8, -1f, 1f, 3, 5)], -1),   // an empty part
            ([Rand(9, -1f, 1f, 0, 4), Rand(10, -1f, 1f, 2, 4)], 0),                            // empty first part
            ([Rand(11, -1f, 1f, 1, 1)], 1),                                                    // one part
            ([Rand(12, -1f, 1f, 5, 3).Transpose(0, 1), Rand(13, -1f, 1f, 3, 9).Slice(1, 2, 4)], 1), // views
            ([Rand(14, -1f, 1f, 2, 0), Rand(15, -1f, 1f, 2, 0)], 1),                           // all empty
        };
        foreach (var (xs, dim) in cases)
        {
            var y = F.Concat(xs, dim);
            string what = $"Concat {string.Join(" ++ ", xs.Select(x => x.ToString()))} dim {dim}";
            TensorAssert.Close(ConcatRef(xs, dim), y, 0, 0, what);
            Assert.Equal(xs.Sum(x => x.Size(dim)), y.Size(dim));
        }
    }

    [Fact]
    public void Stack_NewDim_MatchesUnsqueezeThenConcat()
    {
        var a = Rand(16, -1f, 1f, 3, 4);
        var b = Rand(17, -1f, 1f, 4, 3).Transpose(0, 1);
        for (int dim = -3; dim <= 2; dim++)
        {
            var s = F.Stack([a, b], dim);
            int d = dim < 0 ? dim + 3 : dim;
            int[] shape = d switch { 0 => [2, 3, 4], 1 => [3, 2, 4], _ => [3, 4, 2] };
            TensorAssert.ShapeIs(s, shape);
            var expected = ConcatRef([a.Unsqueeze(d), b.Contiguous().Unsqueeze(d)], d);
            TensorAssert.Close(expected, s, 0, 0, $"Stack dim {dim}");
        }
    }

    [Fact]
    [OpCheck(OpKind.Concat, Check.Backward)]
    public void Concat_Backward_MatchesFiniteDifferences()
    {
        // (3, 7) = [x0^T | x1 | x2] times [x1 | x2 | x0^T]: each input appears twice, once as a view
        GradCheck.Check(x => F.Concat([x[0].Transpose(0, 1), x[1], x[2]], 1)
                             * F.Concat([x[1], x[2], x[0].Transpose(0, 1)], 1),
                        [Rand(18, -1f, 1f, 2, 3), Rand(19, -1f, 1f, 3, 4), Rand(20, -1f, 1f, 3, 1)], what: "Concat");
        GradCheck.Check(x => F.Stack([x[0], x[1].Slice(0, 1, 2)], 0) * 2f,
                        [Rand(21, -1f, 1f, 2, 5), Rand(22, -1f, 1f, 4, 5)], what: "Stack");
        // an empty part gets an empty gradient
        var parts = new[] { Rand(23, -1f, 1f, 0, 3), Rand(24, -1f, 1f, 2, 3) };
        GradCheck.Check(x => F.Concat(x, 0) * 3f, parts, what: "Concat with an empty part");
        TensorAssert.ShapeIs(parts[0].Grad!, 0, 3);
        var trailing = new[] { Rand(28, -1f, 1f, 3, 0), Rand(29, -1f, 1f, 3, 2) };   // empty along the last dim
        GradCheck.Check(x => F.Concat(x, 1) * 3f, trailing, what: "Concat with an empty last-dim part");
        TensorAssert.ShapeIs(trailing[0].Grad!, 3, 0);
    }

    [Fact]
    [OpCheck(OpKind.Concat, Check.Threads)]
    public void Concat_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(x => F.Concat([x[0], x[1].Transpose(1, 2), x[2]], 1) * 2f,
                                [Rand(25, -1f, 1f, 3, 17, 29), Rand(26, -1f, 1f, 3, 29, 5),
                                 Rand(27, -1f, 1f, 3, 1, 29)]);

    // ---- Pad ----------------------------------------------------------------------------------------------

    [Fact]
    [OpCheck(OpKind.Pad, Check.Forward)]
    public void Pad_PairsFromLastDim_MatchFloat64()
    {
        var cases = new (Tensor x, int[] pads, float value)[]
        {
            (Rand(30, -1f, 1f, 2, 3), [1, 2], 0f),                                  // W only
            (Rand(31, -1f, 1f, 2, 3, 4), [0, 1, 2, 0], -0.5f),                      // W and H, a fill value
            (Rand(32, -1f, 1f, 1, 2, 3, 2, 2), [1, 1, 0, 0, 2, 0], 0f),             // causal time padding
            (Rand(33, -1f, 1f, 5, 3).Transpose(0, 1), [2, 3, 1, 1], 1.5f),          // non-contiguous input
            (Rand(34, -1f, 1f, 1), [0, 0], 0f),                                     // nothing to pad
            (Rand(35, -1f, 1f, 3, 0), [1, 1, 0, 1], 7f),                            // an empty input
        };
        foreach (var (x, pads, value) in cases)
        {
            var expected = PadRef(x, pads, value, out var shape);
            var y = F.Pad(x, pads, value);
            TensorAssert.ShapeIs(y, shape);
            TensorAssert.Close(expected, y, 0, 0, $"Pad {x} by {string.Join(",", pads)}");
        }
    }

    [Fact]
    [OpCheck(OpKind.Pad, Check.Backward)]
    public void Pad_Backward_MatchesFiniteDifferences()
    {
        // (4, 7): two different paddings of the same transposed view, multiplied
        GradCheck.Check(x => F.Pad(x[0].Transpose(0, 1), [1, 2, 0, 1], 0.25f)
                             * F.Pad(x[0].Transpose(0, 1), [3, 0, 1, 0]), [Rand(36, -1f, 1f, 4, 3)], what: "Pad");
        GradCheck.Check(x => F.Pad(x[0], [0, 0, 1, 1, 2, 0]) * 2f, [Rand(37, -1f, 1f, 1, 2, 2, 3, 3)], what: "Pad 3-d");
    }

    [Fact]
    [OpCheck(OpKind.Pad, Check.Threads)]
    public void Pad_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(x => F.Pad(x[0].Permute(0, 2, 1), [3, 1, 2, 2], -1f) * 2f,
                                [Rand(38, -1f, 1f, 7, 31, 13)]);

    // ---- Gather and Embedding -----------------------------------------------------------------------------

    [Fact]
    [OpCheck(OpKind.Gather, Check.Forward)]
    public void Gather_RepeatedAndEmptyIndices_MatchFloat64()
    {
        var cases = new (Tensor x, int dim, int[] index)[]
        {
            (Rand(40, -1f, 1f, 5, 3), 0, [4, 0, 0, 2]),
            (Rand(41, -1f, 1f, 2, 7, 3), 1, [6, 1, 1, 1, 0]),
            (Rand(42, -1f, 1f, 2, 3, 5), 2, [3]),
            (Rand(43, -1f, 1f, 4, 6).Transpose(0, 1), 1, [3, 2, 1, 0]),             // non-contiguous input
            (Rand(44, -1f, 1f, 3, 4), 1, []),                                       // no indices: size-0 dim
            (Rand(45, -1f, 1f, 1), 0, [0, 0, 0]),
        };
        foreach (var (x, dim, index) in cases)
            TensorAssert.Close(GatherRef(x, dim, index), F.Gather(x, dim, index), 0, 0, $"Gather {x} dim {dim}");
        TensorAssert.ShapeIs(F.Gather(Rand(46, -1f, 1f, 2, 3, 4), -1, [1, 1]), 2, 3, 2);
    }

    [Fact]
    [OpCheck(OpKind.Gather, Check.Backward)]
    public void Gather_Backward_RepeatedIndicesAccumulate()
    {
        GradCheck.Check(x => F.Gather(x[0].Transpose(0, 1), 1, [2, 0, 2, 2, 3])
                             * F.Gather(x[0].Transpose(0, 1), 1, [1, 1, 0, 2, 3]),
                        [Rand(47, -1f, 1f, 4, 3)], what: "Gather");
        // d/dx of sum(gather(x, 0, [1, 1, 1])) is 3 on row 1 and 0 elsewhere, exactly
        var x = Rand(48, -1f, 1f, 3, 2);
        x.RequiresGrad = true;
        F.Gather(x, 0, [1, 1, 1]).Sum().Backward();
        TensorAssert.Close([0, 0, 3, 3, 0, 0], x.Grad!, 0, 0, "repeated index gradient");
    }

    [Fact]
    [OpCheck(OpKind.Gather, Check.Threads)]
    public void Gather_OneAndTwoThreads_Identical()
    {
        var index = Enumerable.Range(0, 40).Select(i => i * 7 % 13).ToArray();      // repeats
        GradCheck.SameOnThreads(x => F.Gather(x[0], 1, index) * 2f, [Rand(49, -1f, 1f, 5, 13, 37)], what: "dim 1");
        GradCheck.SameOnThreads(x => F.Gather(x[0], 0, index) * 2f, [Rand(50, -1f, 1f, 13, 600)], what: "dim 0, wide");
    }

    [Fact]
    [OpCheck(OpKind.Embedding, Check.Forward)]
    public void Embedding_IdsShape_MatchesFloat64()
    {
        var w = Rand(51, -1f, 1f, 7, 5);
        int[] ids = [3, 0, 6, 3, 3, 1];
        var y = F.Embedding(w, ids, 2, 3);
        TensorAssert.ShapeIs(y, 2, 3, 5);
        TensorAssert.Close(GatherRef(w, 0, ids), y, 0, 0, "Embedding (2, 3)");
        TensorAssert.ShapeIs(F.Embedding(w, ids), 6, 5);
        TensorAssert.ShapeIs(F.Embedding(w, [], 0), 0, 5);
        var wt = Rand(52, -1f, 1f, 5, 7).Transpose(0, 1);                          // non-contiguous table
        TensorAssert.Close(GatherRef(wt, 0, ids), F.Embedding(wt, ids, 6), 0, 0, "Embedding of a view");
    }

    [Fact]
    [OpCheck(OpKind.Embedding, Check.Backward)]
    public void Embedding_Backward_RepeatedIdsAccumulate()
    {
        GradCheck.Check(x => F.Embedding(x[0], [1, 4, 1, 0, 1], 5) * F.Embedding(x[0], [0, 0, 2, 3, 4], 5),
                        [Rand(53, -1f, 1f, 5, 3)], what: "Embedding");
        var w = Rand(54, -1f, 1f, 3, 2);
        w.RequiresGrad = true;
        F.Embedding(w, [2, 0, 2], 3).Sum().Backward();
        TensorAssert.Close([1, 1, 0, 0, 2, 2], w.Grad!, 0, 0, "repeated id gradient");
    }

    [Fact]
    [OpCheck(OpKind.Embedding, Check.Threads)]
    public void Embedding_OneAndTwoThreads_Identical()
    {
        var ids = Enumerable.Range(0, 24).Select(i => i * 5 % 11).ToArray();
        GradCheck.SameOnThreads(x => F.Embedding(x[0], ids, 4, 6) * 2f, [Rand(55, -1f, 1f, 11, 300)]);
    }

    // ---- bad input ----------------------------------------------------------------------------------------

    [Fact]
    public void BadArguments_ThrowClearMessages()
    {
        var a = Tensor.Zeros(2, 3);
        var msg = Message<ArgumentException>(() => F.Concat([a, Tensor.Zeros(3, 3)], 1));
        Assert.Contains("Concat", msg);
        Assert.Contains("(2, 3), (3, 3)", msg);
        Assert.Contains("Concat", Message<ArgumentException>(() => F.Concat([a, Tensor.Zeros(2, 3, 1)], 0)));
        Assert.Contains("Concat", Message<ArgumentException>(() => F.Concat([], 0)));
        Assert.Contains("axis 2", Message<ArgumentOutOfRangeException>(() => F.Concat([a, a], 2)));
        Assert.Contains("Stack", Message<ArgumentException>(() => F.Stack([a, Tensor.Zeros(3, 2)], 0)));

        Assert.Contains("(before, after) pairs", Message<ArgumentException>(() => F.Pad(a, [1, 1, 1])));
        Assert.Contains("at most its 2 dims", Message<ArgumentException>(() => F.Pad(a, [1, 1, 1, 1, 1, 1])));
        Assert.Contains("negative", Message<ArgumentException>(() => F.Pad(a, [-1, 0])));

        msg = Message<ArgumentOutOfRangeException>(() => F.Gather(a, 1, [0, 3]));
        Assert.Contains("index[1] = 3", msg);
        Assert.Contains("[0, 3)", msg);
        Assert.Contains("(2, 3)", msg);
        Assert.Contains("Gather", Message<ArgumentOutOfRangeException>(() => F.Gather(a, 0, [-1])));
        Assert.Contains("Gather", Message<ArgumentOutOfRangeException>(() => F.Gather(a, 2, [0])));

        var w = Tensor.Zeros(5, 4);
        msg = Message<ArgumentOutOfRangeException>(() => F.Embedding(w, [1, 5]));
        Assert.Contains("id 5", msg);
        Assert.Contains("V = 5", msg);
        Assert.Contains("id -2", Message<ArgumentOutOfRangeException>(() => F.Embedding(w, [-2])));
        Assert.Contains("(2, 2)", Message<ArgumentException>(() => F.Embedding(w, [1, 2, 3], 2, 2)));
        Assert.Contains("(V, D)", Message<ArgumentException>(() => F.Embedding(Tensor.Zeros(5), [1])));
    }

    static string Message<TException>(Action act) where TException : Exception =>
        Assert.Throws<TException>(act).Message;
}
