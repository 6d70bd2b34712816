// `-- matmul`: GFLOP/s and MFU of MatMulKernels on the shared/PERF.md GEMM shapes, 1 and 2 threads, one JSON line
// per case (keys m, k, n, batch, layout, threads, gflops, mfu), after a line with the fp32 FMA peak measured in the same
// run for each thread count (the MFU's denominator). The DiT shapes (M = 4096 tokens) also run as NT
// (the Linear layer x·W^T) and TN, the layouts of the backward pass; TN adds the true weight-gradient shapes
// dW[out, in] = dY^T·X, i.e. (M, K, N) = (out, tokens, in).
// Options: --threads 1,2   --layouts NN,NT,TN   (defaults: all);  --shape MxKxN (that shape alone, in every layout);
//          --kc 512 --mc 240 (blocking sweep: overrides the active path's KC/MC for this run);
//          --clock cpu (process CPU time / threads instead of wall time: for tuning on a busy machine).
using System.Runtime.Intrinsics;
using Spacetime.Engine.Kernels;

namespace Spacetime.Benchmarks;

static class MatMulQuick
{
    // (M, K, N, batch): DiT-S linears on 4096 tokens (qkv, proj, fc2, fc1), a square, attention-sized batches.
    public static readonly (int M, int K, int N, int Batch)[] Shapes =
    [
        (4096, 384, 1152, 1), (4096, 384, 384, 1), (4096, 1536, 384, 1), (4096, 384, 1536, 1), (1024, 1024, 1024, 1),
        (256, 64, 256, 48),
    ];

    public static void Run(string[] args)
    {
        int[] threadCounts = (Quick.Option(args, "threads") ?? "1,2").Split(',').Select(int.Parse).ToArray();
        string[] layouts = (Quick.Option(args, "layouts") ?? "NN,NT,TN").Split(',');
        string? only = Quick.Option(args, "shape");
        SetBlocking(Quick.Option(args, "kc"), Quick.Option(args, "mc"));
        bool cpuClock = Quick.Option(args, "clock") == "cpu";
        foreach (int threads in threadCounts)
        {
            double peak = Peak.Measure(threads, cpuClock, wide: Vector512.IsHardwareAccelerated);
            Quick.Print(new { what = "peak", threads, gflops = Math.Round(peak, 1) });
            foreach (string layout in layouts)
                foreach (var (M, K, N, batch) in only != null ? [Parse(only)]
                                                 : layout == "TN" ? Shapes.Concat(WeightGradients()) : Shapes)
                {
                    if (only == null && layout != "NN" && (batch > 1 || (M != 4096 && K != 4096))) continue;   // DiT shapes
                    double seconds = Time(M, K, N, batch, layout[0] == 'T', layout[1] == 'T', threads, cpuClock);
                    double gflops = 2.0 * M * K * N * batch / seconds / 1e9;
                    Quick.Print(new
                    {
                        m = M, k = K, n = N, batch, layout, threads,
                        gflops = Math.Round(gflops, 1), mfu = Math.Round(gflops / peak, 3),
                    });
                }
        }
    }

    // --shape MxKxN: that one shape, in every layout asked for
    static (int M, int K, int N, int Batch) Parse(string shape)
    {
        var d = shape.Split('x').Select(int.Parse).ToArray();
        return (d[0], d[1], d[2], 1);
    }

    // dW = dY^T·X for each DiT linear y = x·W^T on 4096 tokens.
    static IEnumerable<(int M, int K, int N, int Batch)> WeightGradients() =>
        Shapes.Where(s => s.M == 4096).Select(s => (s.N, s.M, s.K, 1));

    static void SetBlocking(string? kc, string? mc)
    {
        if (kc == null && mc == null) return;
        bool wide = MatMulKernels.BestIsa == MatMulKernels.Isa.Vector512;
        var b = wide ? MatMulKernels.Blocking512 : MatMulKernels.Blocking256;
        b = b with { KC = kc != null ? int.Parse(kc) : b.KC, MC = mc != null ? int.Parse(mc) : b.MC };
        if (wide) MatMulKernels.Blocking512 = b; else MatMulKernels.Blocking256 = b;
        Console.Error.WriteLine($"# {MatMulKernels.BestIsa} blocking {b}");
    }

    static double Time(int M, int K, int N, int batch, bool transA, bool transB, int threads, bool cpuClock)
    {
        var rng = new Random(1);
        float[] a = Random(rng, (long)batch * M * K), b = Random(rng, (long)batch * K * N);
        float[] c = new float[(long)batch * M * N];
        int lda = transA ? M : K, ldb = transB ? K : N;
        using var _ = Par.UseThreads(threads);
        Action once = () => MatMulKernels.GemmBatched(batch, transA, transB, M, N, K,
            a, 0, lda, (long)M * K, b, 0, ldb, (long)K * N, c, 0, N, (long)M * N, accumulate: false);
        return cpuClock ? Quick.MedianCpuSeconds(once, threads) : Quick.MedianSeconds(once);
    }

    static float[] Random(Random rng, long n)
    {
        var x = new float[n];
        for (long i = 0; i < n; i++) x[i] = (float)rng.NextDouble() - 0.5f;
        return x;
    }
}
