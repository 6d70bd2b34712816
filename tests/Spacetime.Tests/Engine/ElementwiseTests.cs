using Spacetime.Engine;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

public class ElementwiseTests
{
    public static TheoryData<OpKind> BinaryKinds => [OpKind.Add, OpKind.Sub, OpKind.Mul, OpKind.Div];

    static Tensor Apply(OpKind kind, Tensor a, Tensor b) => kind switch
    {
        OpKind.Add => a + b,
        OpKind.Sub => a - b,
        OpKind.Mul => a * b,
        _ => a / b,
    };

    static double Apply(OpKind kind, double a, double b) => kind switch
    {
        OpKind.Add => a + b,
        OpKind.Sub => a - b,
        OpKind.Mul => a * b,
        _ => a / b,
    };

    // Shape pairs: equal, broadcast both ways, scalar, leading dims, odd sizes.
    static readonly (int[] a, int[] b)[] ShapePairs =
    [
        ([5], [5]), ([3, 4], [4]), ([4], [3, 4]), ([2, 3, 5], [2, 1, 5]), ([1, 7], [3, 1]), ([2, 3], []),
        ([17, 33], [17, 33]), ([0, 3], [3]), ([2, 1, 4, 1], [3, 1, 5]),
    ];

    [Theory, MemberData(nameof(BinaryKinds))]
    [OpCheck(OpKind.Add, Check.Forward), OpCheck(OpKind.Sub, Check.Forward)]
    [OpCheck(OpKind.Mul, Check.Forward), OpCheck(OpKind.Div, Check.Forward)]
    public void Binary_Broadcasting_MatchesFloat64(OpKind kind)
    {
        foreach (var (sa, sb) in ShapePairs)
        {
            var a = Rand(1, -2f, 2f, sa);
            var b = Rand(2, 0.5f, 2f, sb);        // away from 0 so Div is well conditioned
            var expected = Broadcast(D(a), sa, D(b), sb, (x, y) => Apply(kind, x, y));
            // float32 ops are correctly rounded: one rounding per element
            TensorAssert.Close(expected, Apply(kind, a, b), 1e-6, 1e-7, $"{kind} {string.Join("x", sa)} . {string.Join("x", sb)}");
        }
    }

    [Theory, MemberData(nameof(BinaryKinds))]
    public void Binary_NonContiguousViews_MatchDenseCopies(OpKind kind)
    {
        var a = Rand(3, -2f, 2f, 6, 5).Transpose(0, 1);             // (5, 6) view
        var b = Rand(4, 0.5f, 2f, 10, 6).Slice(0, 2, 5);            // (5, 6) view with an offset
        var expected = Apply(kind, a.Contiguous(), b.Contiguous()).ToArray();
        TensorAssert.BitwiseEqual(expected, Apply(kind, a, b).ToArray(), kind.ToString());
    }

    [Theory, MemberData(nameof(BinaryKinds))]
    [OpCheck(OpKind.Add, Check.Backward), OpCheck(OpKind.Sub, Check.Backward)]
    [OpCheck(OpKind.Mul, Check.Backward), OpCheck(OpKind.Div, Check.Backward)]
    public void Binary_Backward_MatchesFiniteDifferences(OpKind kind)
    {
        GradCheck.Check(x => Apply(kind, x[0], x[1]), [Rand(5, -2f, 2f, 3, 4), Rand(6, 0.5f, 2f, 4)], what: $"{kind}");
        GradCheck.Check(x => Apply(kind, x[0].Transpose(0, 1), x[1]), [Rand(7, -2f, 2f, 4, 3), Rand(8, 0.5f, 2f, 3, 1)],
                        what: $"{kind} transposed");
    }

    [Theory, MemberData(nameof(BinaryKinds))]
    [OpCheck(OpKind.Add, Check.Threads), OpCheck(OpKind.Sub, Check.Threads)]
    [OpCheck(OpKind.Mul, Check.Threads), OpCheck(OpKind.Div, Check.Threads)]
    public void Binary_OneAndTwoThreads_Identical(OpKind kind) =>
        GradCheck.SameOnThreads(x => Apply(kind, x[0], x[1]), [Rand(9, -2f, 2f, 37, 3, 29), Rand(10, 0.5f, 2f, 3, 1)],
                                what: kind.ToString());

    // ---- unary -------------------------------------------------------------------------------------------------

    public record UnaryCase(OpKind Kind, Func<Tensor, Tensor> Op, Func<double, double> Ref, float Low, float High, double Rtol);

    // erf by Simpson's rule on 2/sqrt(pi) exp(-t^2) (2000 panels: error ~1e-13), independent of the engine's erf
    static double Erf(double x)
    {
        const int n = 2000;
        double h = x / n, s = 1 + Math.Exp(-x * x);
        for (int i = 1; i < n; i++) s += (i % 2 == 1 ? 4 : 2) * Math.Exp(-(i * h) * (i * h));
        return 2 / Math.Sqrt(Math.PI) * s * h / 3;
    }

    static double Sig(double x) => 1 / (1 + Math.Exp(-x));

    // Ranges keep each function smooth and well defined (log, sqrt, rsqrt on positives; relu/abs away from 0).
    public static readonly Dictionary<OpKind, UnaryCase> Unaries = new UnaryCase[]
    {
        new(OpKind.Neg, F.Neg, x => -x, -3, 3, 0),
        new(OpKind.Exp, F.Exp, Math.Exp, -3, 3, 2e-6),
        new(OpKind.Log, F.Log, Math.Log, 0.1f, 4, 2e-6),
        new(OpKind.Sqrt, F.Sqrt, Math.Sqrt, 0.1f, 4, 1e-6),
        new(OpKind.Rsqrt, F.Rsqrt, x => 1 / Math.Sqrt(x), 0.1f, 4, 2e-6),
        new(OpKind.Tanh, F.Tanh, Math.Tanh, -3, 3, 2e-6),
        new(OpKind.Sigmoid, F.Sigmoid, Sig, -5, 5, 2e-6),
        new(OpKind.Silu, F.Silu, x => x * Sig(x), -5, 5, 2e-6),
        new(OpKind.GeluTanh, x => F.Gelu(x, Gelu.Tanh),
            x => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))), -4, 4, 5e-6),
        new(OpKind.GeluErf, x => F.Gelu(x, Gelu.Erf), x => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))), -4, 4, 5e-6),
        new(OpKind.Relu, F.Relu, x => Math.Max(x, 0), -3, 3, 0),
        new(OpKind.Abs, F.Abs, Math.Abs, -3, 3, 0),
        new(OpKind.AddScalar, x => x + 0.75f, x => x + 0.75, -3, 3, 1e-7),
        new(OpKind.MulScalar, x => x * -1.5f, x => x * -1.5, -3, 3, 1e-7),
        new(OpKind.Pow, x => F.Pow(x, 2.5f), x => Math.Pow(x, 2.5), 0.1f, 3, 3e-6),
        new(OpKind.Clamp, x => F.Clamp(x, -1f, 0.5f), x => Math.Clamp(x, -1, 0.5), -3, 3, 0),
    }.ToDictionary(c => c.Kind);

    public static TheoryData<OpKind> UnaryKinds => [.. Unaries.Keys];

    [Theory, MemberData(nameof(UnaryKinds))]
    [OpCheck(OpKind.Neg, Check.Forward), OpCheck(OpKind.Exp, Check.Forward), OpCheck(OpKind.Log, Check.Forward)]
    [OpCheck(OpKind.Sqrt, Check.Forward), OpCheck(OpKind.Rsqrt, Check.Forward), OpCheck(OpKind.Tanh, Check.Forward)]
    [OpCheck(OpKind.Sigmoid, Check.Forward), OpCheck(OpKind.Silu, Check.Forward)]
    [OpCheck(OpKind.GeluTanh, Check.Forward), OpCheck(OpKind.GeluErf, Check.Forward)]
    [OpCheck(OpKind.Relu, Check.Forward), OpCheck(OpKind.Abs, Check.Forward), OpCheck(OpKind.AddScalar, Check.Forward)]
    [OpCheck(OpKind.MulScalar, Check.Forward), OpCheck(OpKind.Pow, Check.Forward), OpCheck(OpKind.Clamp, Check.Forward)]
    public void Unary_EveryLengthAndView_MatchesFloat64(OpKind kind)
    {
        var c = Unaries[kind];
        // lengths 0 .. 3 x 16 + 1 cover empty, scalar tails and every Vector512 remainder
        for (int n = 0; n <= 49; n++)
        {
            var x = Rand((ulong)n + 11, c.Low, c.High, n);
            // rtol: TensorPrimitives' transcendental functions are within a few ulp of the exact result
            // atol: 1 + tanh and friends cancel near their tails, leaving a few 1e-8 absolute error (PyTorch's too)
            TensorAssert.Close(D(x).Select(c.Ref).ToArray(), c.Op(x), c.Rtol, 5e-7, $"{kind} n={n}");
        }
        var m = Rand(99, c.Low, c.High, 7, 13).Transpose(0, 1);   // non-contiguous view
        TensorAssert.Close(D(m).Select(c.Ref).ToArray(), c.Op(m), c.Rtol, 5e-7, $"{kind} transposed");
    }

    [Theory, MemberData(nameof(UnaryKinds))]
    [OpCheck(OpKind.Neg, Check.Backward), OpCheck(OpKind.Exp, Check.Backward), OpCheck(OpKind.Log, Check.Backward)]
    [OpCheck(OpKind.Sqrt, Check.Backward), OpCheck(OpKind.Rsqrt, Check.Backward), OpCheck(OpKind.Tanh, Check.Backward)]
    [OpCheck(OpKind.Sigmoid, Check.Backward), OpCheck(OpKind.Silu, Check.Backward)]
    [OpCheck(OpKind.GeluTanh, Check.Backward), OpCheck(OpKind.GeluErf, Check.Backward)]
    [OpCheck(OpKind.Relu, Check.Backward), OpCheck(OpKind.Abs, Check.Backward), OpCheck(OpKind.AddScalar, Check.Backward)]
    [OpCheck(OpKind.MulScalar, Check.Backward), OpCheck(OpKind.Pow, Check.Backward), OpCheck(OpKind.Clamp, Check.Backward)]
    public void Unary_Backward_MatchesFiniteDifferences(OpKind kind)
    {
        var c = Unaries[kind];
        var x = Rand(21, c.Low, c.High, 5, 7);
        // keep kinked ops (relu, abs, clamp) 2 eps away from their kinks so the difference quotient is exact
        if (kind is OpKind.Relu or OpKind.Abs or OpKind.Clamp)
            x = Tensor.From(x.ToArray().Select(v => Nudge(v, [0f, -1f, 0.5f])).ToArray(), 5, 7);
        GradCheck.Check(t => c.Op(t[0].Transpose(0, 1)), [x], what: kind.ToString());
    }

    static float Nudge(float v, float[] kinks)
    {
        foreach (var k in kinks) if (Math.Abs(v - k) < 0.05f) v = k + (v >= k ? 0.05f : -0.05f);
        return v;
    }

    [Theory, MemberData(nameof(UnaryKinds))]
    [OpCheck(OpKind.Neg, Check.Threads), OpCheck(OpKind.Exp, Check.Threads), OpCheck(OpKind.Log, Check.Threads)]
    [OpCheck(OpKind.Sqrt, Check.Threads), OpCheck(OpKind.Rsqrt, Check.Threads), OpCheck(OpKind.Tanh, Check.Threads)]
    [OpCheck(OpKind.Sigmoid, Check.Threads), OpCheck(OpKind.Silu, Check.Threads)]
    [OpCheck(OpKind.GeluTanh, Check.Threads), OpCheck(OpKind.GeluErf, Check.Threads)]
    [OpCheck(OpKind.Relu, Check.Threads), OpCheck(OpKind.Abs, Check.Threads), OpCheck(OpKind.AddScalar, Check.Threads)]
    [OpCheck(OpKind.MulScalar, Check.Threads), OpCheck(OpKind.Pow, Check.Threads), OpCheck(OpKind.Clamp, Check.Threads)]
    public void Unary_OneAndTwoThreads_Identical(OpKind kind)
    {
        var c = Unaries[kind];
        GradCheck.SameOnThreads(t => c.Op(t[0]), [Rand(31, c.Low, c.High, 1031)], what: kind.ToString());
    }

    [Fact]
    public void Binary_MismatchedShapes_ThrowsNamingOpAndShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Contains("Add", e.Message);
        Assert.Contains("(2, 3)", e.Message);
        Assert.Contains("(4)", e.Message);
    }
}
