using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class MatMulTests
{
    // float64 reference of op(a) op(b) for a batch of matrices with broadcasting over leading dims.
    static double[] MatMulRef(Tensor a, Tensor b, bool ta, bool tb)
    {
        var sa = a.Shape.ToArray();
        var sb = b.Shape.ToArray();
        int M = ta ? sa[^1] : sa[^2], K = ta ? sa[^2] : sa[^1], N = tb ? sb[^2] : sb[^1];
        var batch = BroadcastShape(sa[..^2], sb[..^2]);
        int nb = batch.Aggregate(1, (x, y) => x * y);
        double[] da = D(a), db = D(b);
        var o = new double[nb * M * N];
        for (int bi = 0; bi < nb; bi++)
        {
            var idx = batch.Length == 0 ? [] : GradCheck.Unravel(bi, batch);
            int oa = Offset(sa[..^2], idx) * sa[^1] * sa[^2], ob = Offset(sb[..^2], idx) * sb[^1] * sb[^2];
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    double s = 0;
                    for (int k = 0; k < K; k++)
                        s += da[oa + (ta ? k * M + i : i * K + k)] * db[ob + (tb ? j * K + k : k * N + j)];
                    o[(bi * M + i) * N + j] = s;
                }
        }
        return o;
    }

    // Flat batch index of a (possibly broadcast) operand's batch dims for a broadcast batch index.
    static int Offset(int[] own, int[] idx)
    {
        int lead = idx.Length - own.Length, flat = 0;
        for (int i = 0; i < own.Length; i++) flat = flat * own[i] + (own[i] == 1 ? 0 : idx[lead + i]);
        return flat;
    }

    public static TheoryData<bool, bool> Layouts => new() { { false, false }, { false, true }, { true, false }, { true, true } };

    static int[] Stored(int rows, int cols, bool trans, params int[] batch) => [.. batch, trans ? cols : rows, trans ? rows : cols];

    [Theory, MemberData(nameof(Layouts))]
    [OpCheck(OpKind.MatMul, Check.Forward)]
    public void MatMul_AllLayoutsAndBroadcasts_MatchFloat64(bool ta, bool tb)
    {
        // (M, K, N) including 1, primes and sizes that straddle the 8x32 register tile
        foreach (var (m, k, n) in new[] { (1, 1, 1), (3, 5, 7), (17, 33, 9), (8, 32, 32), (41, 3, 65), (2, 0, 3) })
        {
            var a = Rand(1, -1f, 1f, Stored(m, k, ta));
            var b = Rand(2, -1f, 1f, Stored(k, n, tb));
            // fp32 accumulation over K <= 33 terms of |x| <= 1: relative error well under 1e-5 (atol for cancellation)
            TensorAssert.Close(MatMulRef(a, b, ta, tb), F.MatMul(a, b, ta, tb), 1e-5, 1e-5, $"{m}x{k}x{n}");
        }
        var ab = Rand(3, -1f, 1f, Stored(5, 6, ta, 2, 3));
        var bb = Rand(4, -1f, 1f, Stored(6, 4, tb, 3));                    // broadcast over the leading batch dim
        TensorAssert.Close(MatMulRef(ab, bb, ta, tb), F.MatMul(ab, bb, ta, tb), 1e-5, 1e-5, "batched broadcast");
        var b2 = Rand(5, -1f, 1f, Stored(6, 4, tb));                       // shared 2-d weight
        TensorAssert.Close(MatMulRef(ab, b2, ta, tb), F.MatMul(ab, b2, ta, tb), 1e-5, 1e-5, "shared 2-d operand");
        var a1 = Rand(6, -1f, 1f, Stored(5, 6, ta, 2, 1));                 // (2, 1, ...) x (3, ...) -> (2, 3, ...)
        TensorAssert.Close(MatMulRef(a1, bb, ta, tb), F.MatMul(a1, bb, ta, tb), 1e-5, 1e-5, "partial broadcast");
    }

    [Fact]
    public void MatMul_TransposedAndSlicedViews_MatchDenseCopies()
    {
        var a = Rand(7, -1f, 1f, 4, 9, 6).Transpose(1, 2);                 // (4, 6, 9) column-major view
        var b = Rand(8, -1f, 1f, 4, 12, 5).Slice(1, 3, 9);                 // (4, 9, 5) with an offset
        var expected = F.MatMul(a.Contiguous(), b.Contiguous()).ToArray();
        TensorAssert.Close(expected.Select(v => (double)v).ToArray(), F.MatMul(a, b), 1e-6, 1e-6, "views");
        var q = Rand(9, -1f, 1f, 2, 7, 3, 4).Permute(0, 2, 1, 3);         // (B, NH, N, HD) view of (B, N, NH, HD)
        TensorAssert.Close(MatMulRef(q.Contiguous(), q.Contiguous(), false, true), F.MatMul(q, q, false, true),
                           1e-5, 1e-5, "attention-style view");
    }

    [Fact]
    [OpCheck(OpKind.Linear, Check.Forward)]
    public void Linear_MatchesFloat64()
    {
        var x = Rand(10, -1f, 1f, 2, 5, 7);
        var w = Rand(11, -1f, 1f, 3, 7);
        var b = Rand(12, -1f, 1f, 3);
        var expected = MatMulRef(x, w, false, true).Select((v, i) => v + D(b)[i % 3]).ToArray();
        TensorAssert.Close(expected, F.Linear(x, w, b), 1e-5, 1e-6, "with bias");
        TensorAssert.ShapeIs(F.Linear(x, w, b), 2, 5, 3);
        TensorAssert.Close(MatMulRef(x, w, false, true), F.Linear(x.Transpose(0, 1), w).Transpose(0, 1), 1e-5, 1e-6,
                           "no bias, non-contiguous input");
    }

    [Theory, MemberData(nameof(Layouts))]
    [OpCheck(OpKind.MatMul, Check.Backward)]
    public void MatMul_Backward_MatchesFiniteDifferences(bool ta, bool tb)
    {
        GradCheck.Check(x => F.MatMul(x[0], x[1], ta, tb),
                        [Rand(13, -1f, 1f, Stored(3, 4, ta, 2)), Rand(14, -1f, 1f, Stored(4, 5, tb, 2))], what: "batched");
        GradCheck.Check(x => F.MatMul(x[0], x[1], ta, tb),
                        [Rand(15, -1f, 1f, Stored(3, 4, ta, 2, 1)), Rand(16, -1f, 1f, Stored(4, 2, tb, 3))],
                        what: "broadcast");
        GradCheck.Check(x => F.MatMul(x[0], x[1], false, tb),
                        [Rand(17, -1f, 1f, 2, 3, 4), Rand(18, -1f, 1f, Stored(4, 5, tb))], what: "shared weight");
    }

    [Fact]
    [OpCheck(OpKind.Linear, Check.Backward)]
    public void Linear_Backward_MatchesFiniteDifferences() =>
        GradCheck.Check(x => F.Linear(x[0].Transpose(0, 1), x[1], x[2]),
                        [Rand(19, -1f, 1f, 4, 2, 5), Rand(20, -1f, 1f, 3, 5), Rand(21, -1f, 1f, 3)]);

    [Fact]
    [OpCheck(OpKind.MatMul, Check.Threads), OpCheck(OpKind.Linear, Check.Threads)]
    public void MatMulAndLinear_OneAndTwoThreads_Identical()
    {
        GradCheck.SameOnThreads(x => F.MatMul(x[0], x[1], false, true),
                                [Rand(22, -1f, 1f, 3, 37, 20), Rand(23, -1f, 1f, 3, 41, 20)]);
        GradCheck.SameOnThreads(x => F.Linear(x[0], x[1], x[2]),
                                [Rand(24, -1f, 1f, 67, 40), Rand(25, -1f, 1f, 70, 40), Rand(26, -1f, 1f, 70)]);
    }

    [Fact]
    public void MatMul_MismatchedInnerSizes_ThrowsNamingShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => F.MatMul(Tensor.Zeros(2, 3), Tensor.Zeros(4, 5)));
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("3 vs 4", e.Message);
        Assert.Contains("Linear", Assert.Throws<ArgumentException>(() => F.Linear(Tensor.Zeros(2, 3), Tensor.Zeros(4, 5))).Message);
    }
}
