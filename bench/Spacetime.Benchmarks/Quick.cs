// Helpers shared by the quick modes: warm-up, median timing, per-op profiles and JSON output (the peak: Peak.cs).
using System.Diagnostics;
using System.Text.Json;

namespace Spacetime.Benchmarks;

static class Quick
{
    /// <summary>
    /// Median seconds per call of <paramref name="once"/>. Warms up first, past tiered JIT and PGO (tier-0 code
    /// is recompiled after 30 calls and a ~100 ms quiet period), then takes <paramref name="samples"/> samples of
    /// at least <paramref name="sampleSeconds"/> each.
    /// </summary>
    public static double MedianSeconds(Action once, int samples = 7, double sampleSeconds = 0.15)
        => MedianSeconds(once, Stopwatch.GetTimestamp, Stopwatch.Frequency, samples, sampleSeconds);

    /// <summary>
    /// Like MedianSeconds, but on process CPU time divided by <paramref name="threads"/>: on a machine shared with
    /// other jobs this measures the kernel's own efficiency (time it was not scheduled does not count). Exact for
    /// one thread; with more it leaves out the time threads block on one another, so it reads high.
    /// </summary>
    public static double MedianCpuSeconds(Action once, int threads, int samples = 7, double sampleSeconds = 0.15)
    {
        var process = System.Diagnostics.Process.GetCurrentProcess();
        long Ticks() { process.Refresh(); return process.TotalProcessorTime.Ticks; }
        return MedianSeconds(once, Ticks, TimeSpan.TicksPerSecond * (double)threads, samples, sampleSeconds);
    }

    static double MedianSeconds(Action once, Func<long> clock, double ticksPerSecond, int samples, double sampleSeconds)
    {
        var warm = Stopwatch.StartNew();
        int calls = 0;
        while (calls < 40 || warm.Elapsed.TotalSeconds < 0.3) { once(); calls++; }
        Thread.Sleep(150);
        for (int i = 0; i < 5; i++) once();

        var probe = Stopwatch.StartNew();
        once();
        int inner = Math.Max(1, (int)(sampleSeconds / Math.Max(1e-7, probe.Elapsed.TotalSeconds)));
        var times = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            long start = clock();
            for (int i = 0; i < inner; i++) once();
            times[s] = (clock() - start) / ticksPerSecond / inner;
        }
        Array.Sort(times);
        return times[samples / 2];
    }

    /// <summary>Prints one case as a single JSON line (property order as given).</summary>
    public static void Print(object result) => Console.WriteLine(JsonSerializer.Serialize(result));

    /// <summary>The value after `--name` in args, or null.</summary>
    public static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    /// <summary>
    /// Runs <paramref name="step"/> once to warm up, then <paramref name="steps"/> times under an
    /// <see cref="Spacetime.Engine.OpProfile"/>, and prints where the time went as markdown: per op kind, then the
    /// costliest ops by shape, per step, with the wall time of a whole step and the share no recorded op accounts for
    /// (the optimizer, gradient zeroing, allocation). <paramref name="step"/> gets the profile so it can Mark() work
    /// that should not be charged to the next op.
    /// </summary>
    public static void Profile(string title, Action<Spacetime.Engine.OpProfile?> step, int steps)
    {
        step(null);
        var clock = Stopwatch.StartNew();
        string table;
        using (var profile = Spacetime.Engine.OpProfile.Start())
        {
            for (int i = 0; i < steps; i++) step(profile);
            table = profile.Summary(title, steps, clock.Elapsed.TotalSeconds);
        }
        Console.WriteLine(table);
    }
}
