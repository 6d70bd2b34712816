// Movement ops: views that share storage (Reshape, Permute, Expand, Slice) and copies (Contiguous), forward and
// backward together. A view's backward maps the output gradient back onto the input's shape.
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

/// <summary>The engine's ops, as functions on tensors (PyTorch's torch.nn.functional plus tensor ops).</summary>
public static partial class F
{
    /// <summary>A tensor with the same elements in a new shape; one size may be -1 (inferred). A view when possible.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var dims = ResolveShape(x, shape);
        if (Shapes.Equal(dims, x.Dims)) return x;
        // A view whenever the new shape can walk the old strides (e.g. splitting or merging dims of a permuted view);
        // otherwise a dense copy.
        var viewStrides = Shapes.ViewStrides(x.Dims, x.Strides, dims);
        var y = viewStrides is not null
            ? new Tensor(x.Storage, x.Offset, dims, viewStrides)
            : new Tensor(ContiguousCopy(x).Storage, 0, dims, Shapes.ContiguousStrides(dims));
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Reshape, y, [x], dy => Autograd.Accumulate(x, Reshape(dy, x.Dims), fresh: true));
    }

    static int[] ResolveShape(Tensor x, int[] shape)
    {
        var dims = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"Reshape: more than one -1 in {Shapes.Format(shape)}.");
                infer = i;
            }
            else if (dims[i] < 0) throw new ArgumentException($"Reshape: negative size in {Shapes.Format(shape)}.");
            else known *= dims[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || x.Count % known != 0)
                throw new ArgumentException($"Reshape: cannot infer -1 in {Shapes.Format(shape)} for a tensor of shape " +
                                            $"{Shapes.Format(x.Dims)} ({x.Count} elements).");
            dims[infer] = (int)(x.Count / known);
        }
        else if (known != x.Count)
            throw new ArgumentException($"Reshape: shape {Shapes.Format(shape)} ({known} elements) does not match " +
                                        $"{Shapes.Format(x.Dims)} ({x.Count} elements).");
        return dims;
    }

    /// <summary>Reorders the dimensions (a view): output dim i is input dim perm[i].</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        if (perm.Length != x.Rank)
            throw new ArgumentException($"Permute: {perm.Length} axes given for a tensor of rank {x.Rank} " +
                                        $"(shape {Shapes.Format(x.Dims)}).");
        var p = new int[perm.Length];
        var seen = new bool[perm.Length];
        for (int i = 0; i < p.Length; i++)
        {
            p[i] = Shapes.Axis(perm[i], x.Rank, "Permute");
            if (seen[p[i]]) throw new ArgumentException($"Permute: axis {perm[i]} repeated in {Shapes.Format(perm)}.");
            seen[p[i]] = true;
        }
        var dims = new int[p.Length];
        var strides = new int[p.Length];
        for (int i = 0; i < p.Length; i++) (dims[i], strides[i]) = (x.Dims[p[i]], x.Strides[p[i]]);
        var y = new Tensor(x.Storage, x.Offset, dims, strides);
        if (!Autograd.Needs(x)) return y;
        var inverse = new int[p.Length];
        for (int i = 0; i < p.Length; i++) inverse[p[i]] = i;
        return Autograd.Record(OpKind.Permute, y, [x], dy => Autograd.Accumulate(x, Permute(dy, inverse)));
    }

    /// <summary>Swaps two dimensions (a view).</summary>
    public static Tensor Transpose(Tensor x, int dim0, int dim1)
    {
        int a = Shapes.Axis(dim0, x.Rank, "Transpose"), b = Shapes.Axis(dim1, x.Rank, "Transpose");
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(x, perm);
    }

    /// <summary>Broadcasts size-1 dims (and new leading dims) to <paramref name="shape"/> without copying; -1 keeps a size.</summary>
    public static Tensor Expand(Tensor x, params int[] shape)
    {
        if (shape.Length < x.Rank)
            throw new ArgumentException($"Expand: target {Shapes.Format(shape)} has fewer dims than {Shapes.Format(x.Dims)}.");
        var dims = (int[])shape.Clone();
        int lead = shape.Length - x.Rank;
        for (int i = 0; i < x.Rank; i++)
        {
            if (dims[lead + i] == -1) dims[lead + i] = x.Dims[i];
            if (x.Dims[i] != 1 && x.Dims[i] != dims[lead + i])
                throw new ArgumentException($"Expand: cannot expand {Shapes.Format(x.Dims)} to {Shapes.Format(shape)} " +
                                            $"(dim {i} has size {x.Dims[i]}; only size-1 dims expand).");
        }
        Shapes.Check(dims, "Expand");
        if (Shapes.Equal(dims, x.Dims)) return x;
        var y = new Tensor(x.Storage, x.Offset, dims, Shapes.BroadcastStrides(x.Dims, x.Strides, dims));
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Expand, y, [x], dy => Autograd.Accumulate(x, SumTo(dy, x.Dims), fresh: true));
    }

    /// <summary>Elements [start, start + length) along <paramref name="dim"/> (a view), like torch.narrow.</summary>
    public static Tensor Slice(Tensor x, int dim, int start, int length)
    {
        int d = Shapes.Axis(dim, x.Rank, "Slice");
        if (start < 0 || length < 0 || start + (long)length > x.Dims[d])
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice: range [{start}, {start + (long)length}) is " +
                $"outside dim {dim} of size {x.Dims[d]} (shape {Shapes.Format(x.Dims)}).");
        var dims = (int[])x.Dims.Clone();
        dims[d] = length;
        var y = new Tensor(x.Storage, x.Offset + start * x.Strides[d], dims, (int[])x.Strides.Clone());
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Slice, y, [x], dy =>
        {
            // a tensor cut into several slices (the qkv split) gets one gradient buffer: the first slice's backward
            // makes it (zeros, its region copied in), the others add into their regions only
            if (x.Grad is { } g)
            {
                AddInto(Slice(g, d, start, length), dy);
                return;
            }
            var dx = Tensor.Zeros(x.Dims);
            var region = Slice(dx, d, start, length);
            StridedKernels.Copy(dx.Storage.Data, region.Offset, region.Strides, dy.Storage.Data, dy.Offset, dy.Strides, dy.Dims);
            Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    /// <summary>The tensor itself when dense, otherwise a dense copy (recorded, so gradients flow).</summary>
    public static Tensor Contiguous(Tensor x)
    {
        if (x.IsContiguous) return x;
        var y = ContiguousCopy(x);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Contiguous, y, [x], dy => Autograd.Accumulate(x, dy));
    }

    /// <summary>Splits <paramref name="dim"/> into <paramref name="chunks"/> equal views (the last may be smaller).</summary>
    public static Tensor[] Chunk(Tensor x, int chunks, int dim)
    {
        int d = Shapes.Axis(dim, x.Rank, "Chunk");
        if (chunks <= 0) throw new ArgumentOutOfRangeException(nameof(chunks), chunks, "Chunk: need at least one chunk.");
        int size = (x.Dims[d] + chunks - 1) / chunks;
        var parts = new List<Tensor>();
        for (int s = 0; s < x.Dims[d]; s += size) parts.Add(Slice(x, d, s, Math.Min(size, x.Dims[d] - s)));
        return [.. parts];
    }

    /// <summary>Splits <paramref name="dim"/> into views of the given sizes, which must add up to its size.</summary>
    public static Tensor[] Split(Tensor x, int[] sizes, int dim)
    {
        int d = Shapes.Axis(dim, x.Rank, "Split");
        if (sizes.Sum() != x.Dims[d] || sizes.Any(s => s < 0))
            throw new ArgumentException($"Split: sizes {Shapes.Format(sizes)} do not add up to dim {dim} of size " +
                                        $"{x.Dims[d]} (shape {Shapes.Format(x.Dims)}).");
        var parts = new Tensor[sizes.Length];
        for (int i = 0, s = 0; i < sizes.Length; s += sizes[i], i++) parts[i] = Slice(x, d, s, sizes[i]);
        return parts;
    }

    /// <summary>Inserts a size-1 dim at <paramref name="dim"/> (a view).</summary>
    public static Tensor Unsqueeze(Tensor x, int dim)
    {
        int d = Shapes.Axis(dim, x.Rank + 1, "Unsqueeze");
        var dims = x.Dims.ToList();
        dims.Insert(d, 1);
        return Reshape(x, [.. dims]);
    }

    /// <summary>Removes a size-1 dim (a view).</summary>
    public static Tensor Squeeze(Tensor x, int dim)
    {
        int d = Shapes.Axis(dim, x.Rank, "Squeeze");
        if (x.Dims[d] != 1)
            throw new ArgumentException($"Squeeze: dim {dim} has size {x.Dims[d]}, not 1 (shape {Shapes.Format(x.Dims)}).");
        var dims = x.Dims.ToList();
        dims.RemoveAt(d);
        return Reshape(x, [.. dims]);
    }

    // ---- unrecorded helpers used by ops and autograd ------------------------------------------------------------

    /// <summary>A dense copy (pooled in a scope), never recorded.</summary>
    internal static Tensor ContiguousCopy(Tensor x)
    {
        var y = Tensor.Empty(x.Dims);
        StridedKernels.Copy(y.Storage.Data, 0, y.Strides, x.Storage.Data, x.Offset, x.Strides, x.Dims);
        return y;
    }

    /// <summary>A dense copy owned by the GC whatever the current scope (parameter gradients, kept state).</summary>
    internal static Tensor CopyUnscoped(Tensor x)
    {
        var y = new Tensor(Storage.Wrap(BufferPool.NewArray(x.Count)), (int[])x.Dims.Clone());
        StridedKernels.Copy(y.Storage.Data, 0, y.Strides, x.Storage.Data, x.Offset, x.Strides, x.Dims);
        return y;
    }

    /// <summary>dst += src in place (same shapes; src any layout). Not recorded.</summary>
    internal static void AddInto(Tensor dst, Tensor src)
    {
        if (!Shapes.Equal(dst.Dims, src.Dims))
            throw new ArgumentException($"AddInto: shapes {Shapes.Format(dst.Dims)} and {Shapes.Format(src.Dims)} differ.");
        StridedKernels.Binary(BinaryOp.Add, dst.Storage.Data, dst.Offset, dst.Strides, dst.Storage.Data, dst.Offset,
                              dst.Strides, src.Storage.Data, src.Offset, src.Strides, dst.Dims);
    }

    /// <summary>Copies src into dst element by element (same shapes, any layouts). Not recorded.</summary>
    internal static void CopyInto(Tensor dst, Tensor src)
    {
        if (!Shapes.Equal(dst.Dims, src.Dims))
            throw new ArgumentException($"CopyInto: shapes {Shapes.Format(dst.Dims)} and {Shapes.Format(src.Dims)} differ.");
        StridedKernels.Copy(dst.Storage.Data, dst.Offset, dst.Strides, src.Storage.Data, src.Offset, src.Strides, dst.Dims);
    }
}
