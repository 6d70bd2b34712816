// `-- attention`: GFLOP/s and MFU of the fused attention kernels (AttentionKernels), one JSON line per case
// (keys b, heads, tokens, head_dim, threads, fwd_gflops, bwd_gflops, mfu_fwd, bytes_scratch).
// Self-attention of a DiT-S-like layer: 6 heads of dim 64, q, k, v read as (B, N, NH, HD) views of a fused
// (B, N, 3, NH, HD) qkv projection, out and dout (B, N, NH, HD); batch chosen so a forward call is ~20-200 ms.
// FLOPs: forward 4 B NH N L HD (Q K^T and P V, 2 flops per multiply-add); backward counted as 2.5x forward (its five
// products: S recomputed, dP = dO V^T, dV = P^T dO, dK = dS^T Q, dQ = dS K), softmax/exp work not counted.
// bytes_scratch: the kernels' per-thread scratch (the larger of forward and backward; with the qkv layout both hold a
// head's K and V rows) times threads. mfu_fwd: against the fp32 FMA peak measured first (a "peak" line per thread count).
// fwd_cpu_gflops / bwd_cpu_gflops: flops per CPU-second of this process times threads, i.e. the rate if each thread
// had a core to itself; on a shared, oversubscribed machine this is steadier than the wall-clock figures.
// Options: --threads 1,2  --tokens 512,1024,2048,4096  --head-dim 64  --segments S (pack S sequences per row)
//          --layout qkv|contiguous (contiguous: q, k, v, out, dout as separate (B, NH, N, HD) tensors).
using System.Diagnostics;
using System.Text.Json;
using Spacetime.Engine.Kernels;

namespace Spacetime.Benchmarks;

static class AttentionQuick
{
    const int Heads = 6;

    public static void Run(string[] args)
    {
        int[] threadCounts = Ints(Option(args, "threads") ?? "2");
        int[] tokenCounts = Ints(Option(args, "tokens") ?? "512,1024,2048,4096");
        int HD = int.Parse(Option(args, "head-dim") ?? "64");
        int segments = int.Parse(Option(args, "segments") ?? "0");
        bool contiguous = Option(args, "layout") == "contiguous";
        foreach (int threads in threadCounts)
        {
            double peak = Peak.Measure(threads);                        // this machine's fp32 FMA peak, measured now
            Console.WriteLine(JsonSerializer.Serialize(new { what = "peak", threads, gflops = Math.Round(peak, 1) }));
            foreach (int N in tokenCounts)
            {
                int B = Math.Max(1, 16 * 512 / N);
                var (fwd, bwd, fwdCpu, bwdCpu) = Time(B, N, HD, segments, contiguous, threads);
                double flops = 4.0 * B * Heads * N * N * HD;
                double fwdGflops = flops / fwd / 1e9, bwdGflops = 2.5 * flops / bwd / 1e9;
                long scratch = 4L * threads * Math.Max(AttentionKernels.ForwardScratchFloats(HD, N, !contiguous),
                    AttentionKernels.BackwardScratchFloats(N, HD));
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    b = B, heads = Heads, tokens = N, head_dim = HD, threads, segments,
                    layout = contiguous ? "contiguous" : "qkv",
                    fwd_gflops = Math.Round(fwdGflops, 1), bwd_gflops = Math.Round(bwdGflops, 1),
                    mfu_fwd = Math.Round(fwdGflops / peak, 3), bytes_scratch = scratch,
                    fwd_ms = Math.Round(fwd * 1e3, 2), bwd_ms = Math.Round(bwd * 1e3, 2),
                    fwd_cpu_gflops = Math.Round(flops * threads / fwdCpu / 1e9, 1),
                    bwd_cpu_gflops = Math.Round(2.5 * flops * threads / bwdCpu / 1e9, 1),
                }));
            }
        }
    }

    static (double Forward, double Backward, double ForwardCpu, double BackwardCpu) Time(int B, int N, int HD, int segments, bool contiguous,
        int threads)
    {
        var rng = new Random(1);
        long row = 3L * Heads * HD;                                   // qkv: (B, N, 3, NH, HD)
        var qkvS = new AttnStrides(N * row, HD, row);
        var outS = new AttnStrides((long)N * Heads * HD, HD, (long)Heads * HD);   // (B, N, NH, HD)
        long k0 = (long)Heads * HD, v0 = 2L * Heads * HD;
        if (contiguous)   // q, k, v as three (B, NH, N, HD) blocks of one buffer, out/dout (B, NH, N, HD)
        {
            qkvS = outS = AttnStrides.Contiguous(Heads, N, HD);
            k0 = (long)B * N * Heads * HD;
            v0 = 2 * k0;
        }
        float[] qkv = Random(rng, B * N * row), dqkv = new float[qkv.Length];
        float[] o = new float[(long)B * N * Heads * HD], dout = Random(rng, o.Length), lse = new float[B * Heads * N];
        int[]? seg = null;
        if (segments > 0)
        {
            seg = new int[B * N];
            for (int i = 0; i < seg.Length; i++) seg[i] = (int)((long)(i % N) * segments / N);
        }
        float scale = 1f / MathF.Sqrt(HD);
        using var _ = Par.UseThreads(threads);
        var (fwd, fwdCpu) = MedianSeconds(() => AttentionKernels.AttentionForward(o, 0, outS, lse, qkv, 0, qkvS, qkv, k0, qkvS,
            qkv, v0, qkvS, null, seg, seg, B, Heads, N, N, HD, scale));
        var (bwd, bwdCpu) = MedianSeconds(() => AttentionKernels.AttentionBackward(dqkv, 0, qkvS, dqkv, k0, qkvS, dqkv, v0, qkvS,
            dout, 0, outS, qkv, 0, qkvS, qkv, k0, qkvS, qkv, v0, qkvS, o, 0, outS, lse, null, seg, seg,
            B, Heads, N, N, HD, scale));
        return (fwd, bwd, fwdCpu, bwdCpu);
    }

    // Median wall and CPU seconds per call over 5 samples, after ~0.5 s of warm-up (tiered JIT recompiles hot code).
    static (double Wall, double Cpu) MedianSeconds(Action once)
    {
        var warm = Stopwatch.StartNew();
        for (int calls = 0; calls < 3 || warm.Elapsed.TotalSeconds < 0.5; calls++) once();
        Thread.Sleep(150);
        var times = new double[5];
        var cpu = new double[5];
        var process = Process.GetCurrentProcess();
        for (int s = 0; s < times.Length; s++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            int inner = 0;
            do { once(); inner++; } while (sw.Elapsed.TotalSeconds < 0.1);
            times[s] = sw.Elapsed.TotalSeconds / inner;
            process.Refresh();
            cpu[s] = (process.TotalProcessorTime - cpu0).TotalSeconds / inner;
        }
        Array.Sort(times);
        Array.Sort(cpu);
        return (times[times.Length / 2], cpu[cpu.Length / 2]);
    }

    static float[] Random(Random rng, long n)
    {
        var x = new float[n];
        for (long i = 0; i < n; i++) x[i] = rng.NextSingle() * 2 - 1;
        return x;
    }

    static int[] Ints(string s) => s.Split(',').Select(int.Parse).ToArray();

    static string? Option(string[] args, string name)
    {
        int i = Array.IndexOf(args, "--" + name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
