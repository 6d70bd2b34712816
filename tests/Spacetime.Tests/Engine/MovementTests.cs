using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class MovementTests
{
    // Reference permute in double: out[i0..] = x[perm-applied index].
    static double[] PermuteRef(double[] x, int[] shape, int[] perm)
    {
        var outShape = perm.Select(p => shape[p]).ToArray();
        var s = Strides(shape);
        int n = x.Length;
        var o = new double[n];
        for (int i = 0; i < n; i++)
        {
            var idx = GradCheck.Unravel(i, outShape);
            int src = 0;
            for (int d = 0; d < perm.Length; d++) src += idx[d] * s[perm[d]];
            o[i] = x[src];
        }
        return o;
    }

    [Fact]
    [OpCheck(OpKind.Reshape, Check.Forward), OpCheck(OpKind.Permute, Check.Forward)]
    [OpCheck(OpKind.Contiguous, Check.Forward)]
    public void ViewsAndCopies_MatchFloat64()
    {
        var x = Rand(1, -1f, 1f, 2, 3, 5);
        TensorAssert.Close(D(x), x.Reshape(6, -1), 0, 0, "reshape");
        TensorAssert.ShapeIs(x.Reshape(-1, 5), 6, 5);
        var p = x.Permute(2, 0, 1);
        TensorAssert.ShapeIs(p, 5, 2, 3);
        Assert.False(p.IsContiguous);
        TensorAssert.Close(PermuteRef(D(x), [2, 3, 5], [2, 0, 1]), p, 0, 0, "permute");
        var c = p.Contiguous();
        Assert.True(c.IsContiguous);
        TensorAssert.Close(PermuteRef(D(x), [2, 3, 5], [2, 0, 1]), c, 0, 0, "contiguous");
        // reshape of a non-contiguous view copies, and keeps row-major order of the view
        TensorAssert.Close(PermuteRef(D(x), [2, 3, 5], [2, 0, 1]), p.Reshape(30), 0, 0, "reshape of a permuted view");
    }

    [Fact]
    [OpCheck(OpKind.Expand, Check.Forward), OpCheck(OpKind.Slice, Check.Forward)]
    public void ExpandAndSlice_MatchFloat64()
    {
        var x = Rand(2, -1f, 1f, 3, 1);
        var e = x.Expand(2, 3, 4);
        TensorAssert.ShapeIs(e, 2, 3, 4);
        var expected = new double[24];
        for (int i = 0; i < 24; i++) expected[i] = D(x)[i / 4 % 3];
        TensorAssert.Close(expected, e, 0, 0, "expand");

        var y = Rand(3, -1f, 1f, 4, 6);
        var s = y.Slice(1, 2, 3);                       // columns 2..4
        var yd = D(y);
        TensorAssert.Close(Enumerable.Range(0, 12).Select(i => yd[i / 3 * 6 + 2 + i % 3]).ToArray(), s, 0, 0, "slice");
        var (a, b) = y.Chunk(2, 0);
        TensorAssert.Close(yd[12..], b, 0, 0, "chunk");
        TensorAssert.ShapeIs(a, 2, 6);
        TensorAssert.ShapeIs(y.Slice(0, 4, 0), 0, 6);   // empty slices are fine
    }

    [Fact]
    [OpCheck(OpKind.Reshape, Check.Backward), OpCheck(OpKind.Permute, Check.Backward)]
    [OpCheck(OpKind.Expand, Check.Backward), OpCheck(OpKind.Slice, Check.Backward)]
    [OpCheck(OpKind.Contiguous, Check.Backward)]
    public void Views_Backward_MatchFiniteDifferences()
    {
        GradCheck.Check(x => x[0].Reshape(3, 4) * x[0].Reshape(3, 4), [Rand(4, -1f, 1f, 2, 6)], what: "reshape");
        GradCheck.Check(x => x[0].Permute(2, 0, 1) * x[0].Permute(2, 0, 1), [Rand(5, -1f, 1f, 2, 3, 4)], what: "permute");
        GradCheck.Check(x => x[0].Expand(4, 3, 5) * x[1], [Rand(6, -1f, 1f, 3, 1), Rand(7, -1f, 1f, 4, 3, 5)],
                        what: "expand");
        GradCheck.Check(x => x[0].Slice(1, 1, 3) * x[0].Slice(1, 2, 3), [Rand(8, -1f, 1f, 3, 5)], what: "slice");
        GradCheck.Check(x => x[0].Transpose(0, 1).Contiguous() * 2f, [Rand(9, -1f, 1f, 3, 5)], what: "contiguous");
    }

    [Fact]
    [OpCheck(OpKind.Reshape, Check.Threads), OpCheck(OpKind.Permute, Check.Threads)]
    [OpCheck(OpKind.Expand, Check.Threads), OpCheck(OpKind.Slice, Check.Threads)]
    [OpCheck(OpKind.Contiguous, Check.Threads)]
    public void Views_OneAndTwoThreads_Identical()
    {
        GradCheck.SameOnThreads(x => x[0].Permute(2, 0, 1).Contiguous().Reshape(-1, 7) * 3f, [Rand(10, -1f, 1f, 5, 7, 9)]);
        GradCheck.SameOnThreads(x => x[0].Expand(6, 9, 11).Slice(1, 2, 5) * x[1],
                                [Rand(11, -1f, 1f, 9, 1), Rand(12, -1f, 1f, 6, 5, 11)]);
    }

    [Fact]
    public void BadArguments_ThrowClearMessages()
    {
        var x = Tensor.Zeros(2, 3);
        Assert.Contains("(2, 3)", Assert.Throws<ArgumentException>(() => x.Reshape(4, 2)).Message);
        Assert.Contains("axis 5", Assert.Throws<ArgumentOutOfRangeException>(() => x.Transpose(0, 5)).Message);
        Assert.Contains("Slice", Assert.Throws<ArgumentOutOfRangeException>(() => x.Slice(1, 2, 2)).Message);
        Assert.Contains("Expand", Assert.Throws<ArgumentException>(() => x.Expand(4, 3)).Message);
        Assert.Throws<IndexOutOfRangeException>(() => x[2, 0]);
    }

    [Fact]
    public void Slices_OfOneTensor_AccumulateIntoOneGradient_OverlapsAndOtherUsesAdd()
    {
        var x = new Rng(3).Normal(4, 6);
        x.RequiresGrad = true;
        var expected = new float[24];
        using (TensorScope.Begin())
        {
            var loss = F.Sum(x.Slice(1, 0, 2)) + F.Sum(x.Slice(1, 2, 2) * 2f) + F.Sum(x.Slice(1, 4, 2) * 3f)
                       + F.Sum(x.Slice(1, 1, 3) * 10f)                  // overlaps two of the others
                       + F.Sum(x * x);                                  // x used whole as well
            loss.Backward();
        }
        var xs = x.ToArray();
        for (int r = 0; r < 4; r++)
            for (int c = 0; c < 6; c++)
                expected[r * 6 + c] = new[] { 1f, 1f, 2f, 2f, 3f, 3f }[c] + (c is >= 1 and <= 3 ? 10f : 0f) + 2 * xs[r * 6 + c];
        Assert.Equal(expected, x.Grad!.ToArray());
    }
}
