// Peak: this machine's fp32 FMA peak, measured in the benchmark's own run (never assumed: the machines differ from day to
// day), the denominator of every MFU and peak fraction the quick modes print.
using System.Runtime.Intrinsics;

namespace Spacetime.Benchmarks;

static class Peak
{
    /// <summary>The peak for the widest vectors this CPU runs (512-bit where accelerated, else 256-bit), on the wall
    /// clock.</summary>
    public static double Measure(int threads) => Measure(threads, cpuClock: false, wide: Vector512.IsHardwareAccelerated);

    /// <summary>fp32 FMA peak in GFLOP/s on <paramref name="threads"/> threads: 12 independent FMA chains per
    /// thread in 512-bit (wide) or 256-bit vectors, the best of 3 runs of ~0.2 s; on process CPU time /
    /// threads when <paramref name="cpuClock"/>, like the layers.</summary>
    public static double Measure(int threads, bool cpuClock, bool wide)
    {
        var process = System.Diagnostics.Process.GetCurrentProcess();
        int lanes = wide ? 16 : 8;
        const long Iterations = 20_000_000;
        double best = 0;
        for (int run = 0; run < 3; run++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
                         _ => Sink = wide ? Chains512(Iterations) : Chains256(Iterations));
            double seconds = clock.Elapsed.TotalSeconds;
            process.Refresh();
            if (cpuClock) seconds = (process.TotalProcessorTime - cpu0).TotalSeconds / threads;
            best = Math.Max(best, 2.0 * 12 * lanes * Iterations * threads / seconds / 1e9);
        }
        return best;
    }

    static volatile float Sink;

    static float Chains512(long n)
    {
        Vector512<float> m = Vector512.Create(0.999999f), c = Vector512.Create(1e-7f);
        Vector512<float> a0 = Vector512.Create(0f), a1 = Vector512.Create(1f), a2 = Vector512.Create(2f);
        Vector512<float> a3 = Vector512.Create(3f), a4 = Vector512.Create(4f), a5 = Vector512.Create(5f);
        Vector512<float> a6 = Vector512.Create(6f), a7 = Vector512.Create(7f), a8 = Vector512.Create(8f);
        Vector512<float> a9 = Vector512.Create(9f), a10 = Vector512.Create(10f), a11 = Vector512.Create(11f);
        for (long i = 0; i < n; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    static float Chains256(long n)
    {
        Vector256<float> m = Vector256.Create(0.999999f), c = Vector256.Create(1e-7f);
        Vector256<float> a0 = Vector256.Create(0f), a1 = Vector256.Create(1f), a2 = Vector256.Create(2f);
        Vector256<float> a3 = Vector256.Create(3f), a4 = Vector256.Create(4f), a5 = Vector256.Create(5f);
        Vector256<float> a6 = Vector256.Create(6f), a7 = Vector256.Create(7f), a8 = Vector256.Create(8f);
        Vector256<float> a9 = Vector256.Create(9f), a10 = Vector256.Create(10f), a11 = Vector256.Create(11f);
        for (long i = 0; i < n; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
