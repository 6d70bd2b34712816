// Operators and method-style sugar on Tensor, so model code reads like the paper: x + gate.Unsqueeze(1) * y.
// Every member forwards to an op in F; nothing here computes.
namespace Spacetime.Engine;

public sealed partial class Tensor
{
#pragma warning disable CS1591 // the operators mean what they say
    public static Tensor operator +(Tensor a, Tensor b) => F.Add(a, b);
    public static Tensor operator -(Tensor a, Tensor b) => F.Sub(a, b);
    public static Tensor operator *(Tensor a, Tensor b) => F.Mul(a, b);
    public static Tensor operator /(Tensor a, Tensor b) => F.Div(a, b);
    public static Tensor operator +(Tensor a, float c) => F.AddScalar(a, c);
    public static Tensor operator +(float c, Tensor a) => F.AddScalar(a, c);
    public static Tensor operator -(Tensor a, float c) => F.AddScalar(a, -c);
    public static Tensor operator -(float c, Tensor a) => F.AddScalar(F.Neg(a), c);
    public static Tensor operator *(Tensor a, float c) => F.MulScalar(a, c);
    public static Tensor operator *(float c, Tensor a) => F.MulScalar(a, c);
    public static Tensor operator /(Tensor a, float c) => F.MulScalar(a, 1f / c);
    public static Tensor operator -(Tensor a) => F.Neg(a);
#pragma warning restore CS1591

    /// <summary>See <see cref="F.Reshape"/>.</summary>
    public Tensor Reshape(params int[] shape) => F.Reshape(this, shape);
    /// <summary>See <see cref="F.Permute"/>.</summary>
    public Tensor Permute(params int[] perm) => F.Permute(this, perm);
    /// <summary>See <see cref="F.Transpose"/>.</summary>
    public Tensor Transpose(int dim0, int dim1) => F.Transpose(this, dim0, dim1);
    /// <summary>See <see cref="F.Expand"/>.</summary>
    public Tensor Expand(params int[] shape) => F.Expand(this, shape);
    /// <summary>See <see cref="F.Slice"/>.</summary>
    public Tensor Slice(int dim, int start, int length) => F.Slice(this, dim, start, length);
    /// <summary>See <see cref="F.Contiguous"/>.</summary>
    public Tensor Contiguous() => F.Contiguous(this);
    /// <summary>See <see cref="F.Chunk"/>.</summary>
    public Tensor[] Chunk(int chunks, int dim) => F.Chunk(this, chunks, dim);
    /// <summary>See <see cref="F.Unsqueeze"/>.</summary>
    public Tensor Unsqueeze(int dim) => F.Unsqueeze(this, dim);
    /// <summary>See <see cref="F.Squeeze"/>.</summary>
    public Tensor Squeeze(int dim) => F.Squeeze(this, dim);
    /// <summary>See <see cref="F.Sum"/>.</summary>
    public Tensor Sum(int[]? dims = null, bool keepDim = false) => F.Sum(this, dims, keepDim);
    /// <summary>See <see cref="F.Mean"/>.</summary>
    public Tensor Mean(int[]? dims = null, bool keepDim = false) => F.Mean(this, dims, keepDim);
    /// <summary>See <see cref="F.Pow"/>.</summary>
    public Tensor Pow(float p) => F.Pow(this, p);
    /// <summary>See <see cref="Autograd.Backward"/>.</summary>
    public void Backward(Tensor? gradOutput = null) => Autograd.Backward(this, gradOutput);
}

/// <summary>Deconstruction of op results that return several tensors (Chunk, Split), as in DiT's chunk(6, dim=1).</summary>
public static class TensorArrayExtensions
{
#pragma warning disable CS1591
    public static void Deconstruct(this Tensor[] t, out Tensor a, out Tensor b) =>
        (a, b) = (Get(t, 0, 2), t[1]);
    public static void Deconstruct(this Tensor[] t, out Tensor a, out Tensor b, out Tensor c) =>
        (a, b, c) = (Get(t, 0, 3), t[1], t[2]);
    public static void Deconstruct(this Tensor[] t, out Tensor a, out Tensor b, out Tensor c, out Tensor d) =>
        (a, b, c, d) = (Get(t, 0, 4), t[1], t[2], t[3]);
    public static void Deconstruct(this Tensor[] t, out Tensor a, out Tensor b, out Tensor c, out Tensor d,
                                   out Tensor e) => (a, b, c, d, e) = (Get(t, 0, 5), t[1], t[2], t[3], t[4]);
    public static void Deconstruct(this Tensor[] t, out Tensor a, out Tensor b, out Tensor c, out Tensor d,
                                   out Tensor e, out Tensor f) =>
        (a, b, c, d, e, f) = (Get(t, 0, 6), t[1], t[2], t[3], t[4], t[5]);
#pragma warning restore CS1591

    static Tensor Get(Tensor[] t, int i, int expected) => t.Length == expected ? t[i]
        : throw new ArgumentException($"Deconstruct: {t.Length} tensors cannot be unpacked into {expected} variables.");
}
