// Elementwise ops: binary arithmetic with NumPy broadcasting, ops with a scalar, and unary functions.
// Backward rules (dy is dL/d(out)):  add: (dy, dy)  sub: (dy, -dy)  mul: (dy b, dy a)  div: (dy / b, -dy a / b^2),
// each summed back to its input's shape over broadcast dims; unary ops use UnaryKernels.Backward.
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>a + b with broadcasting.</summary>
    public static Tensor Add(Tensor a, Tensor b) => Binary(OpKind.Add, BinaryOp.Add, a, b);
    /// <summary>a - b with broadcasting.</summary>
    public static Tensor Sub(Tensor a, Tensor b) => Binary(OpKind.Sub, BinaryOp.Sub, a, b);
    /// <summary>a * b with broadcasting.</summary>
    public static Tensor Mul(Tensor a, Tensor b) => Binary(OpKind.Mul, BinaryOp.Mul, a, b);
    /// <summary>a / b with broadcasting.</summary>
    public static Tensor Div(Tensor a, Tensor b) => Binary(OpKind.Div, BinaryOp.Div, a, b);

    static Tensor Binary(OpKind kind, BinaryOp op, Tensor a, Tensor b)
    {
        var dims = Shapes.Broadcast(a.Dims, b.Dims, kind.ToString());
        var y = Tensor.Empty(dims);
        StridedKernels.Binary(op, y.Storage.Data, 0, y.Strides,
                              a.Storage.Data, a.Offset, Shapes.BroadcastStrides(a.Dims, a.Strides, dims),
                              b.Storage.Data, b.Offset, Shapes.BroadcastStrides(b.Dims, b.Strides, dims), dims);
        if (!Autograd.Needs(a, b)) return y;
        return Autograd.Record(kind, y, [a, b], dy =>
        {
            switch (op)
            {
                case BinaryOp.Add:
                    if (a.RequiresGrad) Autograd.Accumulate(a, SumTo(dy, a.Dims));
                    if (b.RequiresGrad) Autograd.Accumulate(b, SumTo(dy, b.Dims));
                    break;
                case BinaryOp.Sub:
                    if (a.RequiresGrad) Autograd.Accumulate(a, SumTo(dy, a.Dims));
                    if (b.RequiresGrad) Autograd.Accumulate(b, SumTo(Neg(dy), b.Dims), fresh: true);
                    break;
                case BinaryOp.Mul:
                    if (a.RequiresGrad) Autograd.Accumulate(a, SumTo(Mul(dy, b), a.Dims), fresh: true);
                    if (b.RequiresGrad) Autograd.Accumulate(b, SumTo(Mul(dy, a), b.Dims), fresh: true);
                    break;
                default:
                    if (a.RequiresGrad) Autograd.Accumulate(a, SumTo(Div(dy, b), a.Dims), fresh: true);
                    if (b.RequiresGrad) Autograd.Accumulate(b, SumTo(Neg(Div(Mul(dy, y), b)), b.Dims), fresh: true);
                    break;
            }
        });
    }

    /// <summary>x + c.</summary>
    public static Tensor AddScalar(Tensor x, float c)
    {
        var y = MapDense(x, (dst, src) => System.Numerics.Tensors.TensorPrimitives.Add(src, c, dst));
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.AddScalar, y, [x], dy => Autograd.Accumulate(x, dy));
    }

    /// <summary>x * c.</summary>
    public static Tensor MulScalar(Tensor x, float c)
    {
        var y = MapDense(x, (dst, src) => System.Numerics.Tensors.TensorPrimitives.Multiply(src, c, dst));
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.MulScalar, y, [x], dy => Autograd.Accumulate(x, MulScalar(dy, c), fresh: true));
    }

    /// <summary>x ^ p elementwise (NaN for negative x and non-integer p, as in PyTorch).</summary>
    public static Tensor Pow(Tensor x, float p)
    {
        var y = MapDense(x, (dst, src) => System.Numerics.Tensors.TensorPrimitives.Pow(src, p, dst));
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Pow, y, [x], dy =>
        {
            // d x^p = p x^(p-1)
            var d = MapDense(x, (dst, src) => System.Numerics.Tensors.TensorPrimitives.Pow(src, p - 1f, dst));
            Autograd.Accumulate(x, Mul(dy, MulScalar(d, p)), fresh: true);
        });
    }

    /// <summary>min(max(x, low), high); the gradient passes where low &lt;= x &lt;= high.</summary>
    public static Tensor Clamp(Tensor x, float low, float high)
    {
        if (low > high) throw new ArgumentException($"Clamp: low {low} is above high {high}.");
        var y = MapDense(x, (dst, src) =>
        {
            System.Numerics.Tensors.TensorPrimitives.Max(src, low, dst);
            System.Numerics.Tensors.TensorPrimitives.Min(dst, high, dst);
        });
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Clamp, y, [x], dy =>
        {
            var xc = Contiguous(x);
            var dx = Tensor.Empty(x.Dims);
            float[] xs = xc.Storage.Data, g = dy.Storage.Data, o = dx.Storage.Data;
            int xo = xc.Offset, go = dy.Offset;
            Par.ForRange(dx.Count, 2, (s, e) =>
            {
                for (int i = s; i < e; i++) o[i] = xs[xo + i] >= low && xs[xo + i] <= high ? g[go + i] : 0f;
            });
            Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    /// <summary>-x.</summary>
    public static Tensor Neg(Tensor x) => Unary(OpKind.Neg, UnaryOp.Neg, x);
    /// <summary>e^x.</summary>
    public static Tensor Exp(Tensor x) => Unary(OpKind.Exp, UnaryOp.Exp, x);
    /// <summary>Natural logarithm.</summary>
    public static Tensor Log(Tensor x) => Unary(OpKind.Log, UnaryOp.Log, x);
    /// <summary>Square root.</summary>
    public static Tensor Sqrt(Tensor x) => Unary(OpKind.Sqrt, UnaryOp.Sqrt, x);
    /// <summary>1 / sqrt(x).</summary>
    public static Tensor Rsqrt(Tensor x) => Unary(OpKind.Rsqrt, UnaryOp.Rsqrt, x);
    /// <summary>Hyperbolic tangent.</summary>
    public static Tensor Tanh(Tensor x) => Unary(OpKind.Tanh, UnaryOp.Tanh, x);
    /// <summary>1 / (1 + e^-x).</summary>
    public static Tensor Sigmoid(Tensor x) => Unary(OpKind.Sigmoid, UnaryOp.Sigmoid, x);
    /// <summary>x * sigmoid(x).</summary>
    public static Tensor Silu(Tensor x) => Unary(OpKind.Silu, UnaryOp.Silu, x);
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x) => Unary(OpKind.Relu, UnaryOp.Relu, x);
    /// <summary>|x|.</summary>
    public static Tensor Abs(Tensor x) => Unary(OpKind.Abs, UnaryOp.Abs, x);

    /// <summary>GELU with the tanh approximation (the DiT default) or the exact erf form.</summary>
    public static Tensor Gelu(Tensor x, Gelu form = Engine.Gelu.Tanh) =>
        form == Engine.Gelu.Tanh ? Unary(OpKind.GeluTanh, UnaryOp.GeluTanh, x) : Unary(OpKind.GeluErf, UnaryOp.GeluErf, x);

    static Tensor Unary(OpKind kind, UnaryOp op, Tensor x)
    {
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(x.Dims);
        float[] xs = xc.Storage.Data, ys = y.Storage.Data;
        int xo = xc.Offset;
        Par.ForRange(y.Count, 8, (s, e) => UnaryKernels.Forward(op, ys.AsSpan(s, e - s), xs.AsSpan(xo + s, e - s)));
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(kind, y, [x], dy =>
        {
            var dx = Tensor.Empty(x.Dims);
            float[] g = dy.Storage.Data, d = dx.Storage.Data;
            int go = dy.Offset;
            Par.ForRange(dx.Count, 8, (s, e) => UnaryKernels.Backward(op, d.AsSpan(s, e - s), g.AsSpan(go + s, e - s),
                                                                       xs.AsSpan(xo + s, e - s), ys.AsSpan(s, e - s)));
            Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    // A dense map y[i] = f(x[i]) over chunks (x made dense first), not recorded.
    static Tensor MapDense(Tensor x, SpanMap map)
    {
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(x.Dims);
        float[] xs = xc.Storage.Data, ys = y.Storage.Data;
        int xo = xc.Offset;
        Par.ForRange(y.Count, 4, (s, e) => map(ys.AsSpan(s, e - s), xs.AsSpan(xo + s, e - s)));
        return y;
    }

    delegate void SpanMap(Span<float> destination, ReadOnlySpan<float> source);
}

/// <summary>Which GELU: the tanh approximation (DiT, GPT-2) or the exact erf form.</summary>
public enum Gelu { Tanh, Erf }
