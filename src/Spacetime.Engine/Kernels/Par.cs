// Par: the only parallel-for in Spacetime. Every kernel that splits work over threads goes through here, so the
// thread count is one setting (Par.Threads) and the split is deterministic: item i is always computed by exactly one
// body call, and kernels never let the partition change a result (no reductions across items inside Par).
namespace Spacetime.Engine.Kernels;

/// <summary>Parallel loops with a settable thread count. Nested calls run sequentially on the calling worker.</summary>
public static class Par
{
    static int defaultThreads = Math.Max(1, Environment.ProcessorCount);
    [ThreadStatic] static int threadOverride;   // 0 = use the default
    [ThreadStatic] static bool insideWorker;    // nested Par calls on a worker run inline
    [ThreadStatic] static bool splitSmall;      // tests: split even tiny loops, so 1 vs 2 threads is really exercised

    /// <summary>Process-wide default thread count (initially the number of cores).</summary>
    public static int DefaultThreads
    {
        get => defaultThreads;
        set => defaultThreads = value >= 1 ? value : throw new ArgumentOutOfRangeException(nameof(value), value,
            "Par.DefaultThreads: the thread count must be at least 1.");
    }

    /// <summary>Threads used by loops started from the current thread.</summary>
    public static int Threads => insideWorker ? 1 : threadOverride > 0 ? threadOverride : defaultThreads;

    /// <summary>Use <paramref name="threads"/> threads for loops started on this thread until the result is disposed.</summary>
    /// <remarks><paramref name="splitSmallLoops"/> makes even tiny loops run on several threads (for tests).</remarks>
    public static IDisposable UseThreads(int threads, bool splitSmallLoops = false)
    {
        if (threads < 1)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "Par.UseThreads: need at least 1 thread.");
        var restore = new Restore(threadOverride, splitSmall);
        threadOverride = threads;
        splitSmall = splitSmallLoops;
        return restore;
    }

    sealed class Restore(int previousThreads, bool previousSplit) : IDisposable
    {
        public void Dispose() => (threadOverride, splitSmall) = (previousThreads, previousSplit);
    }

    // Below this much work (in rough flops) a loop runs inline: waking a thread costs a few microseconds.
    const long MinWorkPerThread = 1 << 15;

    /// <summary>Runs body(i) for i in [0, n). costPerItem is a rough flop count used to skip threading tiny loops.</summary>
    public static void For(int n, long costPerItem, Action<int> body)
    {
        ForRange(n, costPerItem, (start, end) =>
        {
            for (int i = start; i < end; i++) body(i);
        });
    }

    /// <summary>Runs body(start, end) over contiguous chunks that cover [0, n) exactly once.</summary>
    public static void ForRange(int n, long costPerItem, Action<int, int> body)
    {
        if (n <= 0) return;
        int threads = Math.Min(Threads, n);
        long work = (long)n * Math.Max(1, costPerItem);
        if (threads <= 1 || (!splitSmall && work < 2 * MinWorkPerThread))
        {
            body(0, n);
            return;
        }
        if (!splitSmall) threads = (int)Math.Min(threads, Math.Max(1, work / MinWorkPerThread));
        RunChunks(n, threads, body);
    }

    // Separate from ForRange so that the closure below is only allocated when threads are used: an inline loop
    // allocates nothing (kernels promise zero allocations per call after warm-up).
    static void RunChunks(int n, int threads, Action<int, int> body)
    {
        // More chunks than threads evens out uneven items; chunk boundaries do not affect results.
        int chunks = Math.Min(n, threads * 4);
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        Parallel.For(0, chunks, options, c =>
        {
            bool wasInside = insideWorker;
            insideWorker = true;
            try
            {
                int start = (int)((long)n * c / chunks), end = (int)((long)n * (c + 1) / chunks);
                if (start < end) body(start, end);
            }
            finally { insideWorker = wasInside; }
        });
    }
}
