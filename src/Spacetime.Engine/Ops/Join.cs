// Join and index ops: Concat (and Stack on top of it), Pad, Gather (torch.index_select) and Embedding.
// Concat and Pad copy each input into a region of the output (StridedKernels.Copy reads any layout); Gather and
// Embedding use Kernels/JoinKernels.cs. Backward rules (dy is dL/d(out)):
//   concat: each input gets its slice of dy            pad: x gets the interior region of dy
//   gather / embedding: dx = 0, then dx[index[i]] += dy[i] along the indexed dim (repeated indices accumulate)
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>
    /// Joins tensors along <paramref name="dim"/> (torch.cat). All must have the same rank and the same sizes in
    /// every other dim; parts of size 0 along <paramref name="dim"/> are allowed and contribute nothing.
    /// </summary>
    public static Tensor Concat(Tensor[] xs, int dim)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Length == 0) throw new ArgumentException("Concat: needs at least one tensor, got none.", nameof(xs));
        var first = xs[0];
        int d = Shapes.Axis(dim, first.Rank, "Concat");
        var dims = (int[])first.Dims.Clone();
        dims[d] = 0;
        foreach (var x in xs)
        {
            bool same = x.Rank == first.Rank;
            for (int i = 0; same && i < x.Rank; i++) same = i == d || x.Dims[i] == first.Dims[i];
            if (!same)
                throw new ArgumentException($"Concat: shapes {FormatAll(xs)} do not join along dim {dim}: every " +
                    $"tensor needs rank {first.Rank} and the sizes of {Shapes.Format(first.Dims)} in all other dims.");
            dims[d] = checked(dims[d] + x.Dims[d]);
        }
        var y = Tensor.Empty(dims);
        var starts = new int[xs.Length];
        for (int k = 0, at = 0; k < xs.Length; at += xs[k].Dims[d], k++)
        {
            starts[k] = at;
            if (xs[k].Count > 0) CopyInto(Region(y, d, at, xs[k].Dims[d]), xs[k]);
        }
        if (!Autograd.Needs(xs)) return y;
        return Autograd.Record(OpKind.Concat, y, (Tensor[])xs.Clone(), dy =>
        {
            for (int k = 0; k < xs.Length; k++)
                if (xs[k].RequiresGrad)
                    Autograd.Accumulate(xs[k], DenseRegion(Region(dy, d, starts[k], xs[k].Dims[d])), fresh: true);
        });
    }

    /// <summary>Stacks equally shaped tensors along a new dim <paramref name="dim"/> (torch.stack).</summary>
    public static Tensor Stack(Tensor[] xs, int dim)
    {
        ArgumentNullException.ThrowIfNull(xs);
        if (xs.Length == 0) throw new ArgumentException("Stack: needs at least one tensor, got none.", nameof(xs));
        foreach (var x in xs)
            if (!Shapes.Equal(x.Dims, xs[0].Dims))
                throw new ArgumentException($"Stack: shapes {FormatAll(xs)} differ; every tensor must have the same " +
                                            "shape.");
        int d = Shapes.Axis(dim, xs[0].Rank + 1, "Stack");
        return Concat(xs.Select(x => Unsqueeze(x, d)).ToArray(), d);
    }

    /// <summary>
    /// Pads with a constant (torch.nn.functional.pad, mode "constant"). <paramref name="pads"/> holds (before, after)
    /// pairs starting from the LAST dim: (left, right) for W, then (top, bottom) for H, then (front, back) for T.
    /// Causal time padding of a video (B, C, T, H, W) is Pad(x, [0, 0, 0, 0, kt - 1, 0]).
    /// </summary>
    public static Tensor Pad(Tensor x, int[] pads, float value = 0f)
    {
        ArgumentNullException.ThrowIfNull(pads);
        if (pads.Length % 2 != 0 || pads.Length > 2 * x.Rank)
            throw new ArgumentException($"Pad: {pads.Length} pad sizes {Shapes.Format(pads)} for a tensor of shape " +
                $"{Shapes.Format(x.Dims)}; expected (before, after) pairs for at most its {x.Rank} dims, " +
                "last dim first.");
        if (pads.Any(p => p < 0))
            throw new ArgumentException($"Pad: negative pad sizes {Shapes.Format(pads)} (cropping) are not " +
                                        $"supported; use Slice on {Shapes.Format(x.Dims)}.");
        var dims = (int[])x.Dims.Clone();
        var before = new int[x.Rank];
        for (int k = 0; k < pads.Length / 2; k++)
        {
            int axis = x.Rank - 1 - k;
            before[axis] = pads[2 * k];
            dims[axis] = checked(dims[axis] + pads[2 * k] + pads[2 * k + 1]);
        }
        Shapes.Check(dims, "Pad");
        var y = Tensor.Full(value, dims);
        if (x.Count > 0) CopyInto(Region(y, before, x.Dims), x);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Pad, y, [x], dy =>
            Autograd.Accumulate(x, DenseRegion(Region(dy, before, x.Dims)), fresh: true));
    }

    /// <summary>
    /// Selects entries along <paramref name="dim"/> by index (torch.index_select): output dim
    /// <paramref name="dim"/> has index.Length entries, entry i being input entry index[i]. Indices may repeat;
    /// their gradients add up.
    /// </summary>
    public static Tensor Gather(Tensor x, int dim, int[] index)
    {
        ArgumentNullException.ThrowIfNull(index);
        int d = Shapes.Axis(dim, x.Rank, "Gather");
        int n = x.Dims[d];
        for (int i = 0; i < index.Length; i++)
            if ((uint)index[i] >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(index), index[i], $"Gather: index[{i}] = {index[i]} is " +
                    $"outside [0, {n}) for dim {dim} of shape {Shapes.Format(x.Dims)}.");
        var dims = (int[])x.Dims.Clone();
        dims[d] = index.Length;
        int outer = Shapes.Count(x.Dims.AsSpan(0, d)), inner = Shapes.Count(x.Dims.AsSpan(d + 1));
        return IndexRows(OpKind.Gather, x, (int[])index.Clone(), dims, outer, n, inner);
    }

    /// <summary>
    /// Looks up rows of an embedding table: weight (V, D), ids each in [0, V). The output has shape
    /// (...idsShape, D), or (ids.Length, D) when no shape is given.
    /// </summary>
    public static Tensor Embedding(Tensor weight, int[] ids, params int[] idsShape)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (weight.Rank != 2)
            throw new ArgumentException($"Embedding: weight has shape {Shapes.Format(weight.Dims)}; expected (V, D).");
        if (idsShape is null || idsShape.Length == 0) idsShape = [ids.Length];
        Shapes.Check(idsShape, "Embedding");
        if (Shapes.Count(idsShape) != ids.Length)
            throw new ArgumentException($"Embedding: ids shape {Shapes.Format(idsShape)} holds " +
                                        $"{Shapes.Count(idsShape)} ids, but {ids.Length} were given.");
        int V = weight.Dims[0], D = weight.Dims[1];
        for (int i = 0; i < ids.Length; i++)
            if ((uint)ids[i] >= (uint)V)
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Embedding: id {ids[i]} (position {i}) " +
                    $"is outside [0, {V}) for weight {Shapes.Format(weight.Dims)} with V = {V}.");
        return IndexRows(OpKind.Embedding, weight, (int[])ids.Clone(), [.. idsShape, D], 1, V, D);
    }

    // y = x viewed as (outer, n, inner) with rows index[] picked from the middle dim; dims is y's shape.
    static Tensor IndexRows(OpKind kind, Tensor x, int[] index, int[] dims, int outer, int n, int inner)
    {
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(dims);
        if (y.Count > 0) JoinKernels.GatherForward(y.Storage.Data, xc.Storage.Data, xc.Offset, index, outer, n, inner);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(kind, y, [x], dy =>
        {
            var dx = Tensor.Zeros(x.Dims);
            if (dy.Count > 0)
                JoinKernels.GatherBackward(dx.Storage.Data, dy.Storage.Data, dy.Offset, index, outer, n, inner);
            Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    static string FormatAll(Tensor[] xs) => string.Join(", ", xs.Select(t => Shapes.Format(t.Dims)));

    // An unrecorded view of t: elements [start, start + length) along dim d.
    static Tensor Region(Tensor t, int d, int start, int length)
    {
        var dims = (int[])t.Dims.Clone();
        dims[d] = length;
        return new Tensor(t.Storage, t.Offset + start * t.Strides[d], dims, (int[])t.Strides.Clone());
    }

    // An unrecorded view of t: the box starting at start[] with sizes dims[] (one entry per dim).
    static Tensor Region(Tensor t, int[] start, int[] dims)
    {
        long offset = t.Offset;
        for (int i = 0; i < dims.Length; i++) offset += (long)start[i] * t.Strides[i];
        return new Tensor(t.Storage, (int)offset, (int[])dims.Clone(), (int[])t.Strides.Clone());
    }

    // A dense copy of a region; an empty region is not read at all (its offset may lie past the buffer's end).
    static Tensor DenseRegion(Tensor region) => region.Count == 0 ? Tensor.Zeros(region.Dims) : ContiguousCopy(region);
}
