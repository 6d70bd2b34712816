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
        if (scope is null || length == 0) return new Storage(new float[length], length, pooled: false);
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
    const int MaxPerSize = 64;                 // cap, so a one-off size does not pin memory forever
    static readonly ConcurrentDictionary<int, ConcurrentBag<float[]>> free = new();

    public static float[] Rent(int length) =>
        free.TryGetValue(length, out var bag) && bag.TryTake(out var a) ? a : new float[length];

    public static void Return(float[] array)
    {
        var bag = free.GetOrAdd(array.Length, _ => []);
        if (bag.Count < MaxPerSize) bag.Add(array);
    }

    /// <summary>Drops every pooled buffer (tests, or after a change of model size).</summary>
    public static void Clear() => free.Clear();
}
