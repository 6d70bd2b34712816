// `-- dit-step`: forward and training-step time of a DiT-style video model, the same model, FLOP count and JSON keys
// as the PyTorch peer shared/perf/py/dit_bench.py (run both side by side with bench/compare_dit.sh).
// Model: latent (B, 4, T, H, W) -> 1x2x2 patches (Patchify.Video) -> Linear(16, D) + a fixed random position table;
// c = TimestepEmbedder(t) + Linear(512, D)(y) (pooled text); depth x DitBlock (adaLN-Zero, LayerNorm without affine
// eps 1e-6, fused-qkv Attention, tanh-GELU Mlp x4; the adaLN weights drawn from N(0, 0.02) instead of zero, as the
// script does, so the compute is realistic); FinalLayer (zero-initialised, as the script); unpatchify.
// (Our unpatchify orders a token's features (dt, dy, dx, c), the script's (c, dy, dx): a different permutation of
// the same size, so the same cost.)
// FLOPs as the script counts them: 2 x multiply-adds of every Linear, plus 2 * 2 * B * heads * N * N * head_dim for
// Q K^T and P V; a training step (forward + MSE + backward + AdamW, weight decay 0) counts 3 x forward.
// Timing: 2 warm-up iterations (tiered JIT), then --reps timed ones; medians. One TensorScope per iteration.
// allocated_bytes_per_step: managed bytes allocated (all threads) by one training step after warm-up, median.
// fwd_cpu_s_median / train_cpu_s_median: CPU-seconds of this process (all threads) per call, median; on a shared,
// oversubscribed machine this measures the work done more steadily than wall-clock time (compare_dit.sh records the
// same for PyTorch).
// Options: --hidden 384 --heads 6 --depth 12 --batch 8 --frames 8 --size 16 (latent H = W) --threads 2 --reps 5
//          --warmup 2 --peak GFLOP/s (the MFU denominator; default: this machine's fp32 FMA peak, measured in the
//          same run before and after the timed calls, the higher kept) --profile N (then N more training steps under OpProfile: a per-op forward/backward table).
using System.Diagnostics;
using System.Globalization;
using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Models.Dit;
using Spacetime.Nn;
using Spacetime.Nn.Optim;

namespace Spacetime.Benchmarks;

static class DitStepQuick
{
    const int Channels = 4, Patch = 2, PatchT = 1, TextDim = 512;

    public static void Run(string[] args)
    {
        int D = Int(args, "hidden", 384), heads = Int(args, "heads", 6), depth = Int(args, "depth", 12);
        int B = Int(args, "batch", 8), T = Int(args, "frames", 8), S = Int(args, "size", 16);
        int threads = Int(args, "threads", 2), reps = Int(args, "reps", 5), warmup = Int(args, "warmup", 2);
        double peak = Quick.Option(args, "peak") is { } given ? double.Parse(given, CultureInfo.InvariantCulture)
                                                              : Peak.Measure(threads);
        if (!(peak > 0))
            throw new ArgumentException($"--peak {peak}: give a positive GFLOP/s figure, or leave it out to measure it");
        int profileSteps = Int(args, "profile", 0);

        var cfg = new DitConfig { Hidden = D, Heads = heads, Depth = depth, InChannels = Channels, Patch = Patch,
                                  PatchT = PatchT, LearnSigma = false };
        cfg.Validate();
        using var _ = Par.UseThreads(threads);
        var model = new BenchDit(cfg, T, S, seed: 0);
        int N = model.Tokens;
        var rng = new Rng(1);
        var x = rng.Normal(B, Channels, T, S, S);
        var tArr = new float[B];
        for (int i = 0; i < B; i++) tArr[i] = rng.NextInt(1000);
        var t = Tensor.From(tArr, B);
        var y = rng.Normal(B, TextDim);

        var (fwdFlops, attnFlops) = ForwardFlops(cfg, B, N);

        var process = Process.GetCurrentProcess();
        double CpuSeconds()
        {
            process.Refresh();
            return process.TotalProcessorTime.TotalSeconds;
        }

        var fwdTimes = new List<double>();
        var fwdCpu = new List<double>();
        for (int i = 0; i < warmup + reps; i++)
        {
            double cpu0 = CpuSeconds();
            var sw = Stopwatch.StartNew();
            using (Autograd.NoGrad())
            using (TensorScope.Begin())
                model.Forward(x, t, y);
            if (i >= warmup) { fwdTimes.Add(sw.Elapsed.TotalSeconds); fwdCpu.Add(CpuSeconds() - cpu0); }
        }

        var opt = new AdamW(model.NamedParameters(), lr: 1e-4f, weightDecay: 0f);
        var trainTimes = new List<double>();
        var allocated = new List<double>();
        var trainCpu = new List<double>();
        for (int i = 0; i < warmup + reps; i++)
        {
            long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
            double cpu0 = CpuSeconds();
            var sw = Stopwatch.StartNew();
            using (TensorScope.Begin())
            {
                var loss = F.MseLoss(model.Forward(x, t, y), x);
                opt.ZeroGrad(setToNone: false);   // gradients zeroed in place: no new buffers per step
                loss.Backward();
                opt.Step();
            }
            double s = sw.Elapsed.TotalSeconds, cpu = CpuSeconds() - cpu0;
            long bytes1 = GC.GetTotalAllocatedBytes(precise: true);
            if (i >= warmup) { trainTimes.Add(s); trainCpu.Add(cpu); allocated.Add(bytes1 - bytes0); }
        }

        double fmed = Median(fwdTimes), tmed = Median(trainTimes), trainFlops = 3 * fwdFlops;
        double fwdGflops = Math.Round(fwdFlops / fmed / 1e9, 1), trainGflops = Math.Round(trainFlops / tmed / 1e9, 1);
        var r = new Dictionary<string, object>
        {
            ["engine"] = "spacetime",
            ["hidden"] = D, ["heads"] = heads, ["depth"] = depth, ["batch"] = B, ["tokens"] = N, ["threads"] = threads,
            ["params_M"] = Math.Round(model.ParameterCount / 1e6, 2),
            ["fwd_GFLOP"] = Math.Round(fwdFlops / 1e9, 1), ["fwd_attn_share"] = Math.Round(attnFlops / fwdFlops, 3),
            ["fwd_s_median"] = Math.Round(fmed, 3), ["fwd_s_all"] = fwdTimes.Select(v => Math.Round(v, 3)).ToArray(),
            ["fwd_GFLOPs"] = fwdGflops,
            ["train_step_s_median"] = Math.Round(tmed, 3),
            ["train_s_all"] = trainTimes.Select(v => Math.Round(v, 3)).ToArray(),
            ["train_GFLOPs"] = trainGflops,
            ["gflops"] = trainGflops,
            ["fwd_cpu_s_median"] = Math.Round(Median(fwdCpu), 3),
            ["train_cpu_s_median"] = Math.Round(Median(trainCpu), 3),
            ["allocated_bytes_per_step"] = (long)Median(allocated),
        };
        {
            // Measured, the peak is taken again after the timed calls and the higher kept: on a shared host a
            // neighbour's load during one short FMA loop made the peak read 224 instead of ~420 GFLOP/s (and MFU > 1).
            if (Quick.Option(args, "peak") is null) peak = Math.Max(peak, Peak.Measure(threads));
            r["peak_GFLOPs"] = Math.Round(peak, 1);
            r["fwd_MFU"] = Math.Round(fwdGflops / peak, 3);
            r["train_MFU"] = Math.Round(trainGflops / peak, 3);
            r["mfu"] = r["train_MFU"];
        }
        Quick.Print(r);
        if (profileSteps > 0)
            Quick.Profile($"DiT training step (D {D}, depth {depth}, {N} tokens, batch {B}, {threads} threads)", profile =>
            {
                using var s = TensorScope.Begin();
                profile?.Mark();                                    // the previous step's optimizer is not charged
                var loss = F.MseLoss(model.Forward(x, t, y), x);
                opt.ZeroGrad(setToNone: false);
                loss.Backward();
                opt.Step();
            }, profileSteps);
    }

    // Forward FLOPs as dit_bench.py counts them: (all, attention products only).
    static (double All, double Attention) ForwardFlops(DitConfig c, int B, int N)
    {
        double D = c.Hidden, tokens = (double)B * N, patchIn = Channels * PatchT * Patch * Patch;
        double linear = 2 * tokens * patchIn * D                                       // patch embedding
                      + 2.0 * B * (TimestepEmbedder.FrequencySize * D + D * D)         // timestep MLP
                      + 2.0 * B * TextDim * D                                          // pooled text
                      + c.Depth * (2 * tokens * (3 * D * D + D * D + 2 * D * c.MlpHidden)   // qkv, proj, fc1, fc2
                                   + 2.0 * B * D * 6 * D)                              // adaLN
                      + 2.0 * B * D * 2 * D + 2 * tokens * D * patchIn;                // final adaLN, final linear
        double attention = c.Depth * 2.0 * 2.0 * B * c.Heads * (double)N * N * c.HeadDim;
        return (linear + attention, attention);
    }

    static double Median(List<double> v)
    {
        var s = v.OrderBy(a => a).ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    static int Int(string[] args, string name, int fallback) =>
        Quick.Option(args, name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : fallback;

    /// <summary>dit_bench.py's VideoDiT built from our modules (keys are ours; nothing is loaded).</summary>
    sealed class BenchDit : Module
    {
        readonly DitConfig cfg;
        readonly int frames, size;
        readonly Linear xEmbed, yEmbed;
        readonly Tensor pos;                     // (1, N, D), fixed (a buffer, no gradient), N(0, 0.02)
        readonly TimestepEmbedder tEmbed;
        readonly ModuleList<DitBlock> blocks;
        readonly FinalLayer final;

        public int Tokens { get; }

        public BenchDit(DitConfig cfg, int frames, int size, ulong seed)
        {
            (this.cfg, this.frames, this.size) = (cfg, frames, size);
            var rng = new Rng(seed);
            Tokens = frames / cfg.PatchT * (size / cfg.Patch) * (size / cfg.Patch);
            xEmbed = Add("x_emb", new Linear(cfg.InChannels * cfg.PatchT * cfg.Patch * cfg.Patch, cfg.Hidden, rng));
            pos = Buffer("pos", rng.Normal(0f, 0.02f, 1, Tokens, cfg.Hidden));
            tEmbed = Add("t_mlp", new TimestepEmbedder(cfg.Hidden, rng));
            yEmbed = Add("y_emb", new Linear(TextDim, cfg.Hidden, rng));
            blocks = Add("blocks", new ModuleList<DitBlock>(Enumerable.Range(0, cfg.Depth).Select(_ => new DitBlock(cfg, rng))));
            final = Add("final", new FinalLayer(cfg.Hidden, cfg.PatchT * cfg.Patch * cfg.Patch * cfg.InChannels, rng));
            using var noGrad = Autograd.NoGrad();
            foreach (var block in blocks)              // un-zeroed adaLN: weight N(0, 0.02), bias 0 (as the script)
                foreach (var (name, p) in block.NamedParameters())
                    if (name.StartsWith("adaLN_modulation.1.", StringComparison.Ordinal))
                    {
                        if (name.EndsWith("weight", StringComparison.Ordinal)) Init.Normal(p, rng, 0f, 0.02f);
                        else Init.Zeros(p);
                    }
            final.InitializeWeights();                 // zero, as the script's f_ada and f_out
        }

        // x: (B, C, T, H, W)   t: (B)   y: (B, 512)   ->   (B, C, T, H, W)
        public Tensor Forward(Tensor x, Tensor t, Tensor y)
        {
            int p = cfg.Patch, pt = cfg.PatchT;
            var tokens = xEmbed.Forward(Patchify.Video(x, pt, p)) + pos;            // (B, N, D)
            var c = tEmbed.Forward(t) + yEmbed.Forward(y);                          // (B, D)
            foreach (var block in blocks) tokens = block.Forward(tokens, c);        // (B, N, D)
            tokens = final.Forward(tokens, c);                                      // (B, N, pt·p·p·C)
            return Patchify.UnVideo(tokens, cfg.InChannels, frames / pt, size / p, size / p, pt, p);
        }
    }
}
