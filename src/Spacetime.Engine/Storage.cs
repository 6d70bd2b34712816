// Storage: the float buffer behind one or more tensors (views share it). Buffers made inside a TensorScope come from
// the BufferPool and go back to it when the scope ends; buffers made outside any scope (parameters, optimizer state)
// belong to the garbage collector.
using System.Collections.Concurrent;

namespace Spacetime.Engine;

internal sealed class Storage
{
    float[] data;

    /// <summary>Elements in use (the pooled array may be longer).</summary>
    public int Length { get; }

    /// <summary>True when the buffer came from the pool and goes back there with its scope.</summary>
    public bool Pooled { get; private set; }

    Storage(float[] data, int length, bool pooled) => (this.data, Length, Pooled) = (data, length, pooled);

    /// <summary>The buffer. Throws when the owning TensorScope has ended.</summary>
    public float[] Data => data.Length > 0 || Length == 0 ? data : throw new ObjectDisposedException("Tensor",
        "A tensor was used after the TensorScope that made it ended. Call scope.Keep(tensor) to keep it.");

    /// <summary>A buffer of <paramref name="length"/> elements, zeroed when <paramref name="clear"/> is true.</summary>
    public static Storage Allocate(int length, bool clear)
    {
        if (length < 0) throw new ArgumentOutOfRangeException(nameof(length), length, "Storage: negative length.");
        var scope = TensorScope.Current;
        if (scope is null || length == 0) return new Storage(BufferPool.NewArray(length), length, pooled: false);
        var array = BufferPool.Rent(length);
        if (clear) Array.Clear(array, 0, length);
        var s = new Storage(array, length, pooled: true);
        scope.Track(s);
        return s;
    }

    /// <summary>Wraps an existing array without copying (owned by the caller and the GC).</summary>
    public static Storage Wrap(float[] array) => new(array, array.Length, pooled: false);

    /// <summary>Returns the buffer to the pool; later access throws.</summary>
    public void Release()
    {
        if (!Pooled) return;
        Pooled = false;
        var array = data;
        data = [];
        BufferPool.Return(array);
    }

    /// <summary>Detaches the buffer from the pool: it now lives as long as something references it.</summary>
    public void Unpool() => Pooled = false;
}

/// <summary>Buffer reuse by size class: a training or sampling step allocates the same sizes every time, and a run
/// over several clip shapes or caption lengths allocates similar ones.</summary>
internal static class BufferPool
{
    // Cap per class. A training step holds hundreds of same-size activations at once (DiT-S: ~20 (B, N, D) tensors per
    // block for backward), and every one over the cap would be a new array next step. The pool never holds more than
    // a step once had live, since each buffer in it was rented; BufferPool.Clear frees classes no longer used.
    const int MaxPerSize = 1 << 14;
    static readonly ConcurrentDictionary<int, ConcurrentBag<float[]>> free = new();

    // Counters, per thread, of floats handed out (Rent) and of floats in newly made arrays (pool misses, unscoped
    // storage), for the allocation test and benchmarks: after warm-up a training step should make (almost) none.
    // Tensors are only made on the thread that runs the ops (kernels never allocate), so one thread sees a step.
    [ThreadStatic] static long rentedFloats, newFloats;
    internal static long RentedFloats => rentedFloats;
    internal static long NewFloats => newFloats;

    /// <summary>The array length a request of <paramref name="length"/> floats gets: lengths up to 64 round up to a
    /// multiple of 16, longer ones to the next of 2^k x {1, 1.25, 1.5, 1.75} (at most a quarter unused). With exact
    /// sizes, a run over five clip shapes and varying caption lengths pooled every shape's step apart (the world-v2
    /// DiT run reached 9.4 GB); with classes, shapes that differ a little share buffers.</summary>
    internal static int SizeClass(int length)
    {
        if (length <= 64) return (length + 15) & ~15;
        // 2^k <= length < 2^(k+1), k = 31 - leading zeros; classes step by a quarter of 2^k
        int quarter = 1 << (29 - System.Numerics.BitOperations.LeadingZeroCount((uint)length));
        long rounded = ((long)length + quarter - 1) / quarter * quarter;
        return rounded > Array.MaxLength ? length : (int)rounded;
    }

    /// <summary>Classes above a request's own that may serve it when its own is empty. A run whose steps come in
    /// several shapes (model v2's five clip buckets) would otherwise pool a full step's activations per shape (its
    /// depth-11 DiT reached 16 GB). Up to two classes up, an array is at most 1.5x the request's class. Measured
    /// (session 35, `train dit --recipe world-v2-words --init models/spacetime --steps 80`): peak RSS 6.45 -> 5.12
    /// GB, the same weights bit for bit.</summary>
    internal const int ClassesUp = 2;

    public static float[] Rent(int length)
    {
        rentedFloats += length;
        int size = SizeClass(length);
        for (int up = 0, c = size; up <= ClassesUp && c < Array.MaxLength; up++, c = SizeClass(c + 1))
            if (free.TryGetValue(c, out var bag) && bag.TryTake(out var a)) return a;
        return NewArray(size);
    }

    /// <summary>A new GC-owned array (counted in <see cref="NewFloats"/>).</summary>
    public static float[] NewArray(int length)
    {
        newFloats += length;
        return new float[length];
    }

    /// <summary>Takes back an array that <see cref="Rent"/> handed out (its length is a size class).</summary>
    public static void Return(float[] array)
    {
        var bag = free.GetOrAdd(array.Length, _ => []);
        if (bag.Count < MaxPerSize) bag.Add(array);
    }

    /// <summary>Drops every pooled buffer (tests, or after a change of model size).</summary>
    public static void Clear() => free.Clear();
}
