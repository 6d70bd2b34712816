// Unary elementwise kernels on dense spans, forward and backward side by side. Each computes
// destination[i] = f(x[i]) (forward) or dx[i] = dy[i] * f'(x[i]) (backward, from x and/or the saved output y).
// TensorPrimitives does the vector work; composite functions (GELU, SiLU) run in stack-sized chunks, except GELU's
// backward (the MLP's, on every training step), which is one fused vector pass (GeluTanhBackward, with its scalar
// float64 reference GeluTanhBackwardReference beside it).
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Spacetime.Engine.Kernels;

internal enum UnaryOp { Neg, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Silu, GeluTanh, GeluErf, Relu, Abs }

internal static unsafe class UnaryKernels
{
    const int Chunk = 256;                       // elements per stack temporary
    internal const float Sqrt2OverPi = 0.7978845608028654f;   // GELU tanh form: k and c (MatMulKernels.GeluRow too)
    internal const float GeluCoeff = 0.044715f;
    const float InvSqrt2 = 0.7071067811865476f;
    const float InvSqrt2Pi = 0.3989422804014327f;

    /// <summary>y = f(x) elementwise.</summary>
    public static void Forward(UnaryOp op, Span<float> y, ReadOnlySpan<float> x)
    {
        Span<float> tmp = stackalloc float[Chunk];
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(x, y); break;
            case UnaryOp.Exp: TensorPrimitives.Exp(x, y); break;
            case UnaryOp.Log: TensorPrimitives.Log(x, y); break;
            case UnaryOp.Sqrt: TensorPrimitives.Sqrt(x, y); break;
            case UnaryOp.Rsqrt: TensorPrimitives.ReciprocalSqrt(x, y); break;
            case UnaryOp.Tanh: TensorPrimitives.Tanh(x, y); break;
            case UnaryOp.Sigmoid: TensorPrimitives.Sigmoid(x, y); break;
            case UnaryOp.Relu: TensorPrimitives.Max(x, 0f, y); break;
            case UnaryOp.Abs: TensorPrimitives.Abs(x, y); break;
            case UnaryOp.Silu:
                // silu(x) = x * sigmoid(x)
                for (int s = 0; s < x.Length; s += Chunk)
                {
                    int n = Math.Min(Chunk, x.Length - s);
                    var t = tmp.Slice(0, n);
                    TensorPrimitives.Sigmoid(x.Slice(s, n), t);
                    TensorPrimitives.Multiply(x.Slice(s, n), t, y.Slice(s, n));
                }
                break;
            case UnaryOp.GeluTanh:
                // gelu(x) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
                for (int s = 0; s < x.Length; s += Chunk)
                {
                    int n = Math.Min(Chunk, x.Length - s);
                    var xs = x.Slice(s, n);
                    var t = tmp.Slice(0, n);
                    TensorPrimitives.Multiply(xs, xs, t);                       // x^2
                    TensorPrimitives.Multiply(t, GeluCoeff, t);
                    TensorPrimitives.Add(t, 1f, t);                             // 1 + c x^2
                    TensorPrimitives.Multiply(t, xs, t);                        // x + c x^3
                    TensorPrimitives.Multiply(t, Sqrt2OverPi, t);
                    TensorPrimitives.Tanh(t, t);
                    TensorPrimitives.Add(t, 1f, t);
                    TensorPrimitives.Multiply(t, xs, t);
                    TensorPrimitives.Multiply(t, 0.5f, y.Slice(s, n));
                }
                break;
            case UnaryOp.GeluErf:
                // gelu(x) = 0.5 x (1 + erf(x / sqrt 2))
                for (int i = 0; i < x.Length; i++) y[i] = 0.5f * x[i] * (1f + Erf(x[i] * InvSqrt2));
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, null);
        }
    }

    /// <summary>dx = dy * f'(x), using the input x and/or the forward output y.</summary>
    public static void Backward(UnaryOp op, Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
                                ReadOnlySpan<float> y)
    {
        if (op == UnaryOp.GeluTanh)
        {
            GeluTanhBackward(dx, dy, x);
            return;
        }
        for (int s = 0; s < dx.Length; s += Chunk)
        {
            int n = Math.Min(Chunk, dx.Length - s);
            BackwardChunk(op, dx.Slice(s, n), dy.Slice(s, n), x.Slice(s, n), y.Slice(s, n));
        }
    }

    static void BackwardChunk(UnaryOp op, Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x,
                              ReadOnlySpan<float> y)
    {
        Span<float> t = stackalloc float[dx.Length];
        Span<float> u = stackalloc float[dx.Length];
        switch (op)
        {
            case UnaryOp.Neg: TensorPrimitives.Negate(dy, dx); break;
            case UnaryOp.Exp: TensorPrimitives.Multiply(dy, y, dx); break;              // d exp = exp
            case UnaryOp.Log: TensorPrimitives.Divide(dy, x, dx); break;                // d log = 1/x
            case UnaryOp.Sqrt:                                                          // d sqrt = 0.5 / sqrt(x)
                TensorPrimitives.Divide(dy, y, dx);
                TensorPrimitives.Multiply(dx, 0.5f, dx);
                break;
            case UnaryOp.Rsqrt:                                                         // d x^-1/2 = -0.5 y^3
                TensorPrimitives.Multiply(y, y, t);
                TensorPrimitives.Multiply(t, y, t);
                TensorPrimitives.Multiply(t, -0.5f, t);
                TensorPrimitives.Multiply(dy, t, dx);
                break;
            case UnaryOp.Tanh:                                                          // 1 - y^2
                TensorPrimitives.Multiply(y, y, t);
                TensorPrimitives.Subtract(1f, t, t);
                TensorPrimitives.Multiply(dy, t, dx);
                break;
            case UnaryOp.Sigmoid:                                                       // y (1 - y)
                TensorPrimitives.Subtract(1f, y, t);
                TensorPrimitives.Multiply(t, y, t);
                TensorPrimitives.Multiply(dy, t, dx);
                break;
            case UnaryOp.Relu:
                for (int i = 0; i < dx.Length; i++) dx[i] = x[i] > 0f ? dy[i] : 0f;
                break;
            case UnaryOp.Abs:
                for (int i = 0; i < dx.Length; i++) dx[i] = x[i] > 0f ? dy[i] : x[i] < 0f ? -dy[i] : 0f;
                break;
            case UnaryOp.Silu:                                                          // s (1 + x (1 - s))
                TensorPrimitives.Sigmoid(x, t);                                         // s
                TensorPrimitives.Subtract(1f, t, u);                                    // 1 - s
                TensorPrimitives.MultiplyAdd(u, x, 1f, u);                              // 1 + x (1 - s)
                TensorPrimitives.Multiply(u, t, u);
                TensorPrimitives.Multiply(dy, u, dx);
                break;
            case UnaryOp.GeluErf:
                // d/dx = Phi(x) + x phi(x)
                for (int i = 0; i < dx.Length; i++)
                {
                    float xi = x[i];
                    float d = 0.5f * (1f + Erf(xi * InvSqrt2)) + xi * InvSqrt2Pi * MathF.Exp(-0.5f * xi * xi);
                    dx[i] = dy[i] * d;
                }
                break;
            default: throw new ArgumentOutOfRangeException(nameof(op), op, null);
        }
    }

    // GELU's derivative in the sigmoid form: with u = k (x + c x^3) and s = sigmoid(2u) = 1 / (1 + exp(-2u)),
    // gelu(x) = 0.5 x (1 + tanh u) = x s, and since tanh u = 2s - 1 and 1 - tanh^2 u = 4 s (1 - s),
    //     gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) k (1 + 3 c x^2) = s + 2 k x s (1 - s) (1 + 3 c x^2).
    // One exp and one division per element, in one pass (the chunked TensorPrimitives form made 16 passes).

    /// <summary>dx = dy * gelu_tanh'(x) in one vector pass (Vector512 where the CPU has it, else Vector256). Every
    /// element goes through the same vector code (the tail through a padded stack vector), so a value's result does
    /// not depend on where a thread's range starts.</summary>
    public static void GeluTanhBackward(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
    {
        if (dy.Length != dx.Length || x.Length != dx.Length)
            throw new ArgumentException($"GeluTanhBackward: dx ({dx.Length}), dy ({dy.Length}) and x ({x.Length}) " +
                                        "must have the same length.");
        fixed (float* pdx = dx, pdy = dy, px = x)
        {
            int n = dx.Length, i = 0;
            float* tx = stackalloc float[16], tdy = stackalloc float[16];
            if (Vector512.IsHardwareAccelerated)                           // one width per machine, tail included
            {
                for (; i + 16 <= n; i += 16)
                    Vector512.Store(GeluGrad(Vector512.Load(px + i)) * Vector512.Load(pdy + i), pdx + i);
                if (i == n) return;
                for (int j = 0; j < 16; j++) (tx[j], tdy[j]) = i + j < n ? (px[i + j], pdy[i + j]) : (0f, 0f);
                var t = GeluGrad(Vector512.Load(tx)) * Vector512.Load(tdy);
                for (int j = 0; i + j < n; j++) pdx[i + j] = t[j];
            }
            else
            {
                for (; i + 8 <= n; i += 8)
                    Vector256.Store(GeluGrad(Vector256.Load(px + i)) * Vector256.Load(pdy + i), pdx + i);
                if (i == n) return;
                for (int j = 0; j < 8; j++) (tx[j], tdy[j]) = i + j < n ? (px[i + j], pdy[i + j]) : (0f, 0f);
                var t = GeluGrad(Vector256.Load(tx)) * Vector256.Load(tdy);
                for (int j = 0; i + j < n; j++) pdx[i + j] = t[j];
            }
        }
    }

    static Vector512<float> GeluGrad(Vector512<float> v)
    {
        var one = Vector512<float>.One;
        var v2 = v * v;
        var s = one / (one + FastMath.Exp(Vector512.Create(-2f * Sqrt2OverPi) * v
                                           * (one + Vector512.Create(GeluCoeff) * v2)));     // sigmoid(2u)
        return s + Vector512.Create(2f * Sqrt2OverPi) * v * s * (one - s) * (one + Vector512.Create(3f * GeluCoeff) * v2);
    }

    static Vector256<float> GeluGrad(Vector256<float> v)
    {
        var one = Vector256<float>.One;
        var v2 = v * v;
        var s = one / (one + FastMath.Exp(Vector256.Create(-2f * Sqrt2OverPi) * v
                                           * (one + Vector256.Create(GeluCoeff) * v2)));     // sigmoid(2u)
        return s + Vector256.Create(2f * Sqrt2OverPi) * v * s * (one - s) * (one + Vector256.Create(3f * GeluCoeff) * v2);
    }

    /// <summary>GeluTanhBackward by the textbook tanh form, one element at a time in float64: the reference.</summary>
    public static void GeluTanhBackwardReference(Span<float> dx, ReadOnlySpan<float> dy, ReadOnlySpan<float> x)
    {
        const double k = 0.7978845608028654, c = 0.044715;
        for (int i = 0; i < dx.Length; i++)
        {
            double v = x[i], th = Math.Tanh(k * (v + c * v * v * v));
            dx[i] = (float)(dy[i] * (0.5 * (1 + th) + 0.5 * v * (1 - th * th) * k * (1 + 3 * c * v * v)));
        }
    }

    /// <summary>Error function, float precision (absolute error below 2e-7): computed in double through
    /// a rational-free series/continued-fraction split so results match the float64 reference to fp32 rounding.</summary>
    public static float Erf(float xf)
    {
        double x = xf, ax = Math.Abs(x);
        double r;
        if (ax < 2.0)
        {
            // Maclaurin series: erf x = 2/sqrt(pi) sum (-1)^n x^(2n+1) / (n! (2n+1)); 30 terms suffice for |x| < 2.
            double term = x, sum = x, x2 = x * x;
            for (int n = 1; n < 40; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            r = 2.0 / Math.Sqrt(Math.PI) * sum;
        }
        else if (ax < 6.0)
        {
            // erfc by Lentz's continued fraction: erfc x = exp(-x^2)/sqrt(pi) * 1/(x + 1/2/(x + 1/(x + 3/2/(x + ...))))
            double f = ax, c = ax, d = 0.0;
            for (int n = 1; n < 200; n++)
            {
                double an = n * 0.5;
                d = ax + an * d; d = 1.0 / d;
                c = ax + an / c;
                double delta = c * d;
                f *= delta;
                if (Math.Abs(delta - 1.0) < 1e-15) break;
            }
            double erfc = Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / f;
            r = Math.Sign(x) * (1.0 - erfc);
        }
        else r = Math.Sign(x);
        return (float)r;
    }
}
