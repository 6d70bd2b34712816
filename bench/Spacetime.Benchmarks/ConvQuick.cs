// `-- conv`: forward, dx and dW of the video VAE's convolution layers, one JSON line per (layer, pass): GFLOP/s
// and the fraction of this machine's fp32 FMA peak, measured in the same run (MeasurePeak: independent FMA chains
// on every thread). Layers: the world VAE's training batch (4 crops of 32x32, 5 frames) and one 128x128 clip of
// 17 frames, at each level's resolution, with the causal time padding (kt - 1 frames) already in T, as
// StreamingCausalConv3d runs them. bench/conv_peer.py times the same layers in PyTorch.
// FLOPs per pass = 2·B·O·L·C·kt·kh·kw (L = output positions per sample); the three passes do the same count.
// Options: --threads 2   --version 3 (the direct kernels) or 2 (im2col + GEMM)   --only NAME (the layers whose name starts with NAME, e.g. "p2")
//          --isa avx2 (force the AVX2 path and measure the peak with 256-bit FMAs, on an AVX-512 machine)
//          --clock cpu (process CPU time / threads instead of wall time, for a busy machine).
using System.Runtime.Intrinsics;
using Spacetime.Engine.Kernels;

namespace Spacetime.Benchmarks;

static class ConvQuick
{
    // (name, B, C, O, T incl. causal padding, H, W, stride T/H/W); kernel 3x3x3, padding (0, 1, 1).
    public static readonly (string Name, int B, int C, int O, int T, int H, int W, int St, int Ss)[] Layers =
    [
        ("train 3->16 32x32", 4, 3, 16, 7, 32, 32, 1, 1),          // conv_in
        ("train 16->16 32x32", 4, 16, 16, 7, 32, 32, 1, 1),        // level 0 ResNet convs
        ("train 16->16 s222 32x32", 4, 16, 16, 7, 32, 32, 2, 2),   // downsample, time halved
        ("train 32->32 16x16", 4, 32, 32, 5, 16, 16, 1, 1),        // level 1
        ("train 64->64 8x8", 4, 64, 64, 4, 8, 8, 1, 1),            // level 2 and mid blocks
        ("clip 3->16 128x128", 1, 3, 16, 19, 128, 128, 1, 1),
        ("clip 16->16 128x128", 1, 16, 16, 19, 128, 128, 1, 1),
        ("clip 16->32 s122 128x128", 1, 16, 32, 19, 128, 128, 1, 2),
        ("clip 32->32 64x64", 1, 32, 32, 11, 64, 64, 1, 1),
        ("clip 64->64 32x32", 1, 64, 64, 7, 32, 32, 1, 1),
        ("clip 128->128 32x32", 1, 128, 128, 7, 32, 32, 1, 1),     // the 32-64-128 presets' top level
        // the world recipe's training step (VAE world-p2: 2x2 pixel fold, 32-64-128 channels; batch 8 of 64x64 x 9)
        ("p2 12->32 32x32", 8, 12, 32, 11, 32, 32, 1, 1),          // conv_in on the folded crop
        ("p2 32->32 32x32", 8, 32, 32, 11, 32, 32, 1, 1),          // level 0 ResNet convs
        ("p2 32->32 s122 32x32", 8, 32, 32, 11, 32, 32, 1, 2),     // level 0 downsample (space only)
        ("p2 64->64 16x16", 8, 64, 64, 11, 16, 16, 1, 1),          // level 1 ResNet convs
        ("p2 64->64 s222 16x16", 8, 64, 64, 11, 16, 16, 2, 2),     // level 1 downsample (time and space)
        ("p2 128->128 8x8", 8, 128, 128, 7, 8, 8, 1, 1),           // level 2 ResNet convs
        ("p2 128->128 s211 8x8", 8, 128, 128, 7, 8, 8, 2, 1),      // level 2's time-only downsample
        ("p2 128->128 8x8 t5", 8, 128, 128, 5, 8, 8, 1, 1),        // mid blocks
        ("p2 128->64 16x16", 8, 128, 64, 11, 16, 16, 1, 1),        // decoder upsample conv to level 1
        ("p2 64->32 32x32", 8, 64, 32, 11, 32, 32, 1, 1),          // decoder upsample conv to level 0
    ];

    public static void Run(string[] args)
    {
        int threads = int.Parse(Quick.Option(args, "threads") ?? "2");
        int version = int.Parse(Quick.Option(args, "version") ?? "3");
        string? only = Quick.Option(args, "only");
        bool cpuClock = Quick.Option(args, "clock") == "cpu";
        using var _ = Par.UseThreads(threads);
        bool avx2 = Quick.Option(args, "isa") == "avx2";
        using var isa = avx2 ? MatMulKernels.UseIsa(MatMulKernels.Isa.Vector256) : null;
        double peak = Peak.Measure(threads, cpuClock, wide: !avx2 && Vector512.IsHardwareAccelerated);
        Quick.Print(new { what = "peak", threads, isa = MatMulKernels.CurrentIsa.ToString(), gflops = Math.Round(peak, 1) });
        bool warm = true;
        foreach (var (name, B, C, O, T, H, W, st, ss) in Layers)
        {
            if (only != null && !name.StartsWith(only, StringComparison.Ordinal)) continue;
            var s = new ConvShape(B, C, T, H, W, O, 3, 3, 3, st, ss, ss, 0, 1, 1);
            var rng = new Random(1);
            float[] x = Rand(rng, B * s.InSample), w = Rand(rng, (long)O * s.CK), bias = Rand(rng, O);
            float[] y = new float[B * s.OutSample], dy = Rand(rng, B * s.OutSample);
            float[] dx = new float[x.Length], dw = new float[w.Length], db = new float[O];
            bool direct = version == 3 && ConvKernels.UsesDirect(s, MatMulKernels.CurrentIsa);
            float[] scratch = new float[direct ? ConvKernels.DirectScratchFloats(s, backward: true) : s.CK * s.L];
            Action forward = direct
                ? () => ConvKernels.ConvDirectForward(y, x, 0, w, 0, bias, 0, scratch, s)
                : () => ConvKernels.ConvForward(y, x, 0, w, 0, bias, 0, scratch, s);
            Action gradInput = direct
                ? () => ConvKernels.ConvDirectBackward(dx, null, null, dy, 0, x, 0, w, 0, scratch, s)
                : () => { Array.Clear(dx); ConvKernels.ConvBackward(dx, null, null, dy, 0, x, 0, w, 0, scratch, s); };
            Action gradWeight = direct
                ? () => ConvKernels.ConvDirectBackward(null, dw, db, dy, 0, x, 0, w, 0, scratch, s)
                : () => { Array.Clear(dw); ConvKernels.ConvBackward(null, dw, db, dy, 0, x, 0, w, 0, scratch, s); };
            double flops = 2.0 * B * O * s.L * s.CK;
            if (warm)   // the first layer also runs ~1 s untimed, so tiered JIT has settled before any timing
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                while (clock.Elapsed.TotalSeconds < 1) { forward(); gradInput(); gradWeight(); }
                warm = false;
            }
            foreach (var (pass, once) in new[] { ("fwd", forward), ("dx", gradInput), ("dW", gradWeight) })
            {
                double seconds = cpuClock ? Quick.MedianCpuSeconds(once, threads, samples: 5, sampleSeconds: 0.1)
                                          : Quick.MedianSeconds(once, samples: 5, sampleSeconds: 0.1);
                double gflops = flops / seconds / 1e9;
                Quick.Print(new
                {
                    layer = name, pass, version = direct ? 3 : 2, threads, ms = Math.Round(seconds * 1e3, 3),
                    gflops = Math.Round(gflops, 1), peak_fraction = Math.Round(gflops / peak, 3),
                });
            }
        }
    }

    static float[] Rand(Random rng, long n)
    {
        var a = new float[n];
        for (long i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        return a;
    }
}
