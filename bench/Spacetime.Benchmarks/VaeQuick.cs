// `-- vae`: the video VAE's encode and decode time for one clip and its training-step time, for a VideoVaeConfig
// preset (default world-p2, the world recipe's network; its training step defaults to the recipe's: batch 8 of 64x64
// x 9-frame crops). Random weights: the cost does not depend on them. One JSON line per case: frames, height, width,
// gmac (multiply-adds of the convolutions), seconds (wall, median), cpu_seconds (process CPU time / threads, median),
// gmacs (GMAC per wall second), mfu (2 x gmacs against this machine's fp32 FMA peak, measured first in the same run).
// Timing: one warm-up call, then the median of three.
// Options: --preset world-p2 --size 128 --frames 17 --threads 2 --train-size 64 --train-frames 9 --batch 8
//          --conv 3 (the direct conv kernels where they apply) or 2 (im2col + GEMM everywhere, for comparison)
//          --profile N (then N training steps under OpProfile: a per-op forward/backward table)
using System.Globalization;
using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Models.Vae;

namespace Spacetime.Benchmarks;

static class VaeQuick
{
    public static void Run(string[] args)
    {
        string preset = Quick.Option(args, "preset") ?? "world-p2";
        int size = Int(args, "size", 128), frames = Int(args, "frames", 17), threads = Int(args, "threads", 2);
        int trainSize = Int(args, "train-size", 64), trainFrames = Int(args, "train-frames", 9), batch = Int(args, "batch", 8);
        int profileSteps = Int(args, "profile", 0);
        var cfg = VideoVaeConfig.Presets[preset];
        using var _ = Par.UseThreads(threads);
        peak = Peak.Measure(threads);
        Quick.Print(new { what = "peak", threads, gflops = Math.Round(peak, 1) });
        ConvKernels.DirectEnabled = Int(args, "conv", 3) == 3;
        Quick.Print(new { what = "conv kernels", version = ConvKernels.DirectEnabled ? 3 : 2 });
        var vae = new VideoVae(cfg, new Rng(0));
        var rng = new Rng(1);
        long macs = vae.CountMultiplyAdds(frames, size, size);

        var video = rng.Uniform(-1, 1, 1, 3, frames, size, size);                       // (1, 3, T, H, W)
        Tensor z;
        using (Autograd.NoGrad()) z = vae.Encode(video).Mode().CopyUnscoped();          // (1, z, T', h, w)
        void Encode() { using var s = TensorScope.Begin(); using var g = Autograd.NoGrad(); vae.Encode(video); }
        void Decode() { using var s = TensorScope.Begin(); using var g = Autograd.NoGrad(); vae.Decode(z); }
        Quick.Print(new { what = "count", frames, height = size, width = size, gmac_encode_decode = Math.Round(macs / 1e9, 2) });
        Report("encode", Encode, frames, size, threads, double.NaN);
        Report("decode", Decode, frames, size, threads, double.NaN);
        Report("encode+decode", () => { Encode(); Decode(); }, frames, size, threads, macs / 1e9);

        var crops = rng.Uniform(-1, 1, batch, 3, trainFrames, trainSize, trainSize);    // (B, 3, T, c, c)
        var loss = new VaeLoss();
        long stepMacs = 3 * batch * vae.CountMultiplyAdds(trainFrames, trainSize, trainSize);
        void TrainStep(OpProfile? profile)
        {
            using var s = TensorScope.Begin();
            profile?.Mark();
            var (rec, post) = vae.Forward(crops, rng);
            loss.Compute(crops, rec, post).Total.Backward();
            foreach (var p in vae.Parameters()) p.Grad = null;
        }
        Report("train-step", () => TrainStep(null), trainFrames, trainSize, threads, stepMacs / 1e9, batch);
        if (profileSteps > 0)
            Quick.Profile($"VAE {preset} training step (batch {batch} of {trainSize}x{trainSize} x {trainFrames}, " +
                          $"{threads} threads)", TrainStep, profileSteps);
    }

    static double peak;

    static void Report(string what, Action once, int frames, int size, int threads, double gmac, int batch = 1)
    {
        // seconds per call: 1 warm-up call, then the median of 3 (each call is 0.1-10 s; tiered JIT settles in one)
        once();
        var process = System.Diagnostics.Process.GetCurrentProcess();
        var wallTimes = new double[3];
        var cpuTimes = new double[3];
        for (int i = 0; i < 3; i++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            once();
            wallTimes[i] = clock.Elapsed.TotalSeconds;
            process.Refresh();
            cpuTimes[i] = (process.TotalProcessorTime - cpu0).TotalSeconds / threads;
        }
        double wall = wallTimes.Order().ElementAt(1), cpu = cpuTimes.Order().ElementAt(1);
        double? known = double.IsNaN(gmac) ? null : gmac;                               // encode/decode alone: not split
        Quick.Print(new { what, batch, frames, height = size, width = size, threads, gmac = known is { } g ? Math.Round(g, 2) : (double?)null,
                          seconds = Math.Round(wall, 4), cpu_seconds = Math.Round(cpu, 4),
                          gmacs = known is { } k ? Math.Round(k / wall, 1) : (double?)null,
                          mfu = known is { } m ? Math.Round(2 * m / wall / peak, 3) : (double?)null });
    }

    static int Int(string[] args, string name, int fallback) =>
        Quick.Option(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
