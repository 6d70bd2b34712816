// Shape arithmetic shared by Tensor and the ops: counts, strides, axis normalisation, broadcasting, and the
// messages that name an op, the shapes and what was expected.
namespace Spacetime.Engine;

internal static class Shapes
{
    public static int Count(ReadOnlySpan<int> dims)
    {
        long n = 1;
        foreach (int d in dims) n *= d;
        return n <= int.MaxValue ? (int)n
            : throw new ArgumentException($"Tensor: shape {Format(dims)} has {n} elements, more than 2^31-1.");
    }

    public static void Check(ReadOnlySpan<int> dims, string op)
    {
        foreach (int d in dims)
            if (d < 0) throw new ArgumentException($"{op}: negative size in shape {Format(dims)}.");
        Count(dims);
    }

    public static int[] ContiguousStrides(ReadOnlySpan<int> dims)
    {
        var s = new int[dims.Length];
        int acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            s[i] = acc;
            acc *= Math.Max(dims[i], 1);
        }
        return s;
    }

    public static bool IsContiguous(ReadOnlySpan<int> dims, ReadOnlySpan<int> strides)
    {
        int acc = 1;
        for (int i = dims.Length - 1; i >= 0; i--)
        {
            if (dims[i] == 1) continue;         // the stride of a size-1 dim never matters
            if (dims[i] == 0) return true;
            if (strides[i] != acc) return false;
            acc *= dims[i];
        }
        return true;
    }

    /// <summary>Normalises a possibly negative axis; throws naming the op when out of range.</summary>
    public static int Axis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank)
            throw new ArgumentOutOfRangeException(nameof(axis), axis,
                $"{op}: axis {axis} is out of range for a tensor of rank {rank} (valid: {-rank}..{rank - 1}).");
        return a;
    }

    public static string Format(ReadOnlySpan<int> dims) => "(" + string.Join(", ", dims.ToArray()) + ")";

    /// <summary>The broadcast shape of a and b (NumPy rules), or an error naming the op and both shapes.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var r = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} do not broadcast " +
                                            $"(dimension {i} of the result: {da} vs {db}; sizes must match or be 1).");
            r[i] = da == 1 ? db : da;
        }
        return r;
    }

    /// <summary>Strides that read a tensor of shape dims/strides as if expanded to target (0 on broadcast dims).</summary>
    public static int[] BroadcastStrides(ReadOnlySpan<int> dims, ReadOnlySpan<int> strides, ReadOnlySpan<int> target)
    {
        var s = new int[target.Length];
        int lead = target.Length - dims.Length;
        for (int i = 0; i < dims.Length; i++)
            s[lead + i] = dims[i] == 1 && target[lead + i] != 1 ? 0 : strides[i];
        return s;
    }

    public static int Locate(ReadOnlySpan<int> index, ReadOnlySpan<int> dims, ReadOnlySpan<int> strides, int offset)
    {
        if (index.Length != dims.Length)
            throw new ArgumentException($"Tensor indexer: {index.Length} indices for a tensor of rank {dims.Length}.");
        long o = offset;
        for (int i = 0; i < dims.Length; i++)
        {
            if ((uint)index[i] >= (uint)dims[i])
                throw new IndexOutOfRangeException($"Tensor indexer: index {index[i]} out of range for dimension {i} " +
                                                   $"of size {dims[i]} (shape {Format(dims)}).");
            o += (long)index[i] * strides[i];
        }
        return (int)o;
    }

    /// <summary>
    /// Strides that view a tensor (dims, strides) as newDims without moving data, or null when impossible. Old dims are
    /// grouped into runs that are dense with respect to each other; each run must be covered exactly by consecutive
    /// new dims, which then take strides inside the run.
    /// </summary>
    public static int[]? ViewStrides(int[] dims, int[] strides, int[] newDims)
    {
        if (dims.Length == 0 || Count(dims) == 0) return ContiguousStrides(newDims);
        var result = new int[newDims.Length];
        int viewD = newDims.Length - 1;
        long baseStride = strides[^1], tensorNumel = 1, viewNumel = 1;
        for (int d = dims.Length - 1; d >= 0; d--)
        {
            tensorNumel *= dims[d];
            bool runEnds = d == 0 || (dims[d - 1] != 1 && strides[d - 1] != tensorNumel * baseStride);
            if (!runEnds) continue;
            while (viewD >= 0 && (viewNumel < tensorNumel || newDims[viewD] == 1))
            {
                result[viewD] = (int)(viewNumel * baseStride);
                viewNumel *= newDims[viewD];
                viewD--;
            }
            if (viewNumel != tensorNumel) return null;
            if (d > 0)
            {
                baseStride = strides[d - 1];
                tensorNumel = 1;
                viewNumel = 1;
            }
        }
        return viewD == -1 ? result : null;
    }

    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
