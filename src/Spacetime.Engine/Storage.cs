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

/// <summary>Exact-size buffer reuse: a training or sampling step allocates the same sizes every time.</summary>
internal static class BufferPool
{
    // Cap per size. A training step holds hundreds of same-size activations at once (DiT-S: ~20 (B, N, D) tensors per
    // block for backward), and every one over the cap would be a new array next step. The pool never holds more than
    // a step once had live, since each buffer in it was rented; BufferPool.Clear frees sizes no longer used.
    const int MaxPerSize = 1 << 14;
    static readonly ConcurrentDictionary<int, ConcurrentBag<float[]>> free = new();

    // Counters, per thread, of floats handed out (Rent) and of floats in newly made arrays (pool misses, unscoped
    // storage), for the allocation test and benchmarks: after warm-up a training step should make (almost) none.
    // Tensors are only made on the thread that runs the ops (kernels never allocate), so one thread sees a step.
    [ThreadStatic] static long rentedFloats, newFloats;
    internal static long RentedFloats => rentedFloats;
    internal static long NewFloats => newFloats;

    public static float[] Rent(int length)
    {
        rentedFloats += length;
        return free.TryGetValue(length, out var bag) && bag.TryTake(out var a) ? a : NewArray(length);
    }

    /// <summary>A new GC-owned array (counted in <see cref="NewFloats"/>).</summary>
    public static float[] NewArray(int length)
    {
        newFloats += length;
        return new float[length];
    }

    public static void Return(float[] array)
    {
        var bag = free.GetOrAdd(array.Length, _ => []);
        if (bag.Count < MaxPerSize) bag.Add(array);
    }

    /// <summary>Drops every pooled buffer (tests, or after a change of model size).</summary>
    public static void Clear() => free.Clear();
}
