// Tensor: an fp32 n-d array with shape and strides over a Storage, plus what autograd needs (RequiresGrad, Grad,
// the node that made it). Views (Reshape, Permute, Expand, Slice) share storage; kernels that need dense memory call
// Contiguous(). The ops themselves live in Ops/ as the static class F; the methods here are sugar over F.
using System.Text;

namespace Spacetime.Engine;

/// <summary>An fp32 tensor with shape and strides; the unit every op and module works on.</summary>
public sealed partial class Tensor
{
    readonly int[] dims;
    readonly int[] strides;

    internal Storage Storage { get; }
    internal int Offset { get; }
    internal int[] Dims => dims;
    internal int[] Strides => strides;
    internal Autograd.Node? Node { get; set; }

    /// <summary>Sizes of each dimension.</summary>
    public ReadOnlySpan<int> Shape => dims;

    /// <summary>Number of dimensions.</summary>
    public int Rank => dims.Length;

    /// <summary>Number of elements.</summary>
    public int Count { get; }

    /// <summary>When true, ops on this tensor are recorded and Backward fills <see cref="Grad"/>.</summary>
    public bool RequiresGrad { get; set; }

    /// <summary>The gradient of the last Backward with respect to this tensor (same shape, contiguous), or null.</summary>
    public Tensor? Grad
    {
        get => grad;
        set
        {
            grad = value;
            gradOwned = false;                  // a gradient set from outside is never written over by RecycleGrad
        }
    }

    // The gradient, whether Autograd made its buffer (so it may be reused), and a buffer kept by RecycleGrad.
    Tensor? grad, spareGrad;
    bool gradOwned;

    /// <summary>
    /// Sets <see cref="Grad"/> to null (PyTorch's zero_grad(set_to_none=True): a tensor the next backward does not
    /// reach has no gradient) but keeps the buffer Autograd made for it: the next backward that reaches this leaf
    /// copies its gradient into that buffer instead of a new array. A training step then allocates no gradient
    /// arrays after the first (a new array per parameter per step cost page faults and collections: 35 MB a step
    /// for model v2). Whoever still holds the old Grad tensor sees it overwritten by that backward.
    /// </summary>
    public void RecycleGrad()
    {
        if (gradOwned) spareGrad = grad;
        grad = null;
        gradOwned = false;
    }

    // Autograd's side: a leaf's first gradient of a backward, written into the recycled buffer when there is one.
    internal void SetFirstGrad(Tensor g)
    {
        if (spareGrad is { } spare && Shapes.Equal(spare.Dims, g.Dims))
        {
            F.CopyInto(spare, g);
            grad = spare;
        }
        else grad = F.CopyUnscoped(g);
        spareGrad = null;
        gradOwned = true;
    }

    /// <summary>True for tensors made by the user (parameters, inputs) rather than by a recorded op.</summary>
    public bool IsLeaf => Node is null;

    internal Tensor(Storage storage, int offset, int[] dims, int[] strides)
    {
        Storage = storage;
        Offset = offset;
        this.dims = dims;
        this.strides = strides;
        Count = Shapes.Count(dims);
    }

    internal Tensor(Storage storage, int[] dims) : this(storage, 0, dims, Shapes.ContiguousStrides(dims)) { }

    /// <summary>Size of dimension <paramref name="dim"/>; negative counts from the end.</summary>
    public int Size(int dim) => dims[Shapes.Axis(dim, Rank, "Size")];

    /// <summary>True when the elements are laid out densely in row-major order.</summary>
    public bool IsContiguous => Shapes.IsContiguous(dims, strides);

    // ---- creation --------------------------------------------------------------------------------------------

    /// <summary>An uninitialised tensor (pooled inside a TensorScope). Kernels overwrite every element.</summary>
    internal static Tensor Empty(params int[] shape)
    {
        Shapes.Check(shape, "Tensor.Empty");
        return new Tensor(Storage.Allocate(Shapes.Count(shape), clear: false), (int[])shape.Clone());
    }

    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape)
    {
        Shapes.Check(shape, "Tensor.Zeros");
        return new Tensor(Storage.Allocate(Shapes.Count(shape), clear: true), (int[])shape.Clone());
    }

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(float value, params int[] shape)
    {
        var t = Empty(shape);
        t.Storage.Data.AsSpan(0, t.Count).Fill(value);
        return t;
    }

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(1f, shape);

    /// <summary>A 0-d tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value) => Full(value, []);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (1-d when no shape is given;
    /// use <see cref="Scalar"/> for a 0-d tensor).</summary>
    public static Tensor From(ReadOnlySpan<float> data, params int[] shape)
    {
        if (shape.Length == 0) shape = [data.Length];
        Shapes.Check(shape, "Tensor.From");
        if (Shapes.Count(shape) != data.Length)
            throw new ArgumentException($"Tensor.From: {data.Length} values cannot fill shape {Shapes.Format(shape)} " +
                                        $"({Shapes.Count(shape)} elements).");
        var t = Empty(shape);
        data.CopyTo(t.Storage.Data);
        return t;
    }

    /// <summary>0, 1, ..., n-1 as floats.</summary>
    public static Tensor Arange(int n)
    {
        var t = Empty(n);
        var d = t.Storage.Data;
        for (int i = 0; i < n; i++) d[i] = i;
        return t;
    }

    /// <summary>A new leaf with the same values, no history and its own dense buffer (pooled inside a TensorScope;
    /// use CopyUnscoped to keep it past the scope).</summary>
    public Tensor Detach()
    {
        var t = F.ContiguousCopy(this);
        t.Node = null;
        t.RequiresGrad = false;
        return t;
    }

    // ---- element access (tests, small reads; not for hot loops) ------------------------------------------------

    /// <summary>The elements in row-major order, as a new array.</summary>
    public float[] ToArray()
    {
        var c = IsContiguous ? this : F.ContiguousCopy(this);
        return c.Storage.Data.AsSpan(c.Offset, Count).ToArray();
    }

    /// <summary>The only element of a one-element tensor.</summary>
    public float Item()
    {
        if (Count != 1)
            throw new InvalidOperationException($"Tensor.Item: needs exactly one element, the shape is {Shapes.Format(dims)}.");
        return Storage.Data[Offset];
    }

    /// <summary>The element at the given index (one index per dimension).</summary>
    [System.Runtime.CompilerServices.IndexerName("At")]
    public float this[params int[] index]
    {
        get => Storage.Data[Shapes.Locate(index, dims, strides, Offset)];
        set => Storage.Data[Shapes.Locate(index, dims, strides, Offset)] = value;
    }

    /// <summary>Dense row-major span over the elements; only for contiguous tensors.</summary>
    internal Span<float> Span => IsContiguous
        ? Storage.Data.AsSpan(Offset, Count)
        : throw new InvalidOperationException("Tensor.Span: the tensor is a non-contiguous view; call Contiguous().");

    /// <summary>The shape, e.g. "(2, 3, 4)".</summary>
    public override string ToString()
    {
        var sb = new StringBuilder("Tensor").Append(Shapes.Format(dims));
        if (Count <= 8) sb.Append(" [").Append(string.Join(", ", ToArray().Select(v => v.ToString("G5")))).Append(']');
        return sb.ToString();
    }
}
