// `-- vae`: the video VAE's encode and decode time for one clip and its training-step time, for a preset
// (VideoVaeConfig presets, or "world" = the shipped recipe's network). Random weights: the cost does not depend on
// them. One JSON line per case: frames, height, width, gmac (multiply-adds of the convolutions), seconds (wall,
// median), cpu_seconds (process CPU time / threads, median), gmacs (GMAC per wall second).
// Timing: one warm-up call, then the median of three.
// Options: --preset world --size 128 --frames 17 --threads 2 --train-size 32 --train-frames 5 --batch 4
//          --conv 3 (the direct conv kernels where they apply) or 2 (im2col + GEMM everywhere, for comparison)
using System.Globalization;
using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Models.Vae;

namespace Spacetime.Benchmarks;

static class VaeQuick
{
    public static void Run(string[] args)
    {
        string preset = Quick.Option(args, "preset") ?? "world";
        int size = Int(args, "size", 128), frames = Int(args, "frames", 17), threads = Int(args, "threads", 2);
        int trainSize = Int(args, "train-size", 32), trainFrames = Int(args, "train-frames", 5), batch = Int(args, "batch", 4);
        var cfg = preset == "world"
            ? new VideoVaeConfig { BaseChannels = 16, ChannelMultipliers = [1, 2, 4], NormGroups = 8 }
            : VideoVaeConfig.Presets[preset];
        using var _ = Par.UseThreads(threads);
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
        Report("train-step", () =>
        {
            using var s = TensorScope.Begin();
            var (rec, post) = vae.Forward(crops, rng);
            loss.Compute(crops, rec, post).Total.Backward();
            foreach (var p in vae.Parameters()) p.Grad = null;
        }, trainFrames, trainSize, threads, stepMacs / 1e9, batch);
    }

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
                          gmacs = known is { } k ? Math.Round(k / wall, 1) : (double?)null });
    }

    static int Int(string[] args, string name, int fallback) =>
        Quick.Option(args, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
}
