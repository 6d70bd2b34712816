// `-- packing`: NaViT packing against buckets for model v2's DiT (issue 15). The same clips — `--per` of each of the
// world-v2 recipe's five latent shapes (16 channels: 5x16x16, 5x12x20, 5x20x12, 3x16x16, 1x16x16), each with 64
// caption tokens of width 128 — go through one training step's forward + MSE + backward two ways:
//   buckets: one batched VideoDit.Forward per shape (what DitTrainer does: a batch never mixes shapes, so no padding)
//   packed:  Packer.Pack into sequences of at most --max-tokens, VideoDit.ForwardPacked per sequence (block-diagonal
//            self-attention and per-clip cross-attention through segment ids)
// Neither way computes padding (ForwardPacked concatenates only the clips' tokens; a bucket batch is one shape), so
// the comparison is the cost of packing's bookkeeping (per-token conditioning, segment masks) against batched kernels.
// Rounds alternate (buckets, packed, buckets, ...) after one warm-up of each; medians; tokens/s counts video tokens.
// Options: --per 4 --max-tokens 1280 --reps 3 --threads 2
using System.Diagnostics;
using Spacetime.Data;
using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Models.Dit;
using Spacetime.Nn.Optim;

namespace Spacetime.Benchmarks;

static class PackingQuick
{
    public static void Run(string[] args)
    {
        int per = Int(args, "per", 4), maxTokens = Int(args, "max-tokens", 1280), reps = Int(args, "reps", 3);
        using var _ = Par.UseThreads(Int(args, "threads", 2));
        var cfg = new DitConfig { Hidden = 256, Depth = 6, Heads = 4, InChannels = 16, Patch = 2, PatchT = 1,
                                  LearnSigma = false, TextHidden = 128, PooledText = true };   // world-v2's DiT
        var model = new VideoDit(cfg, 0);
        (int T, int H, int W)[] shapes = [(5, 16, 16), (5, 12, 20), (5, 20, 12), (3, 16, 16), (1, 16, 16)];
        var rng = new Rng(1);
        var clips = shapes.SelectMany(s => Enumerable.Range(0, per).Select(_ =>
            new PackedClip(rng.Normal(16, s.T, s.H, s.W), rng.NextInt(1000), rng.Normal(64, 128)))).ToList();
        int Tokens(PackedClip c) => c.Latent.Size(1) * (c.Latent.Size(2) / 2) * (c.Latent.Size(3) / 2);
        long tokens = clips.Sum(Tokens);
        var sequences = Packer.Pack(clips.Select(Tokens).ToList(), maxTokens);

        void Buckets()
        {
            foreach (var group in clips.GroupBy(c => c.Latent.Shape.ToArray().Aggregate(0, (h, d) => h * 31 + d)))
            {
                using var scope = TensorScope.Begin();
                var g = group.ToArray();
                var x = F.Concat(g.Select(c => c.Latent.Unsqueeze(0)).ToArray(), 0);                   // (B, C, T, H, W)
                var t = Tensor.From(g.Select(c => c.Timestep).ToArray());                            // (B)
                var text = F.Concat(g.Select(c => c.Text.Unsqueeze(0)).ToArray(), 0);                // (B, L, Dt)
                var y = model.Forward(x, t, text);                                                   // (B, C, T, H, W)
                (y * y).Mean().Backward();
            }
            Gradients.ZeroGrad(model.Parameters(), setToNone: false);
        }
        void Packed()
        {
            foreach (var sequence in sequences)
            {
                using var scope = TensorScope.Begin();
                var outputs = model.ForwardPacked(sequence.Segments.Select(s => clips[s.ClipIndex]).ToList());
                var loss = outputs.Select(o => (o * o).Mean()).Aggregate((a, b) => a + b);
                loss.Backward();
            }
            Gradients.ZeroGrad(model.Parameters(), setToNone: false);
        }

        double Seconds(Action a) { var sw = Stopwatch.StartNew(); a(); return sw.Elapsed.TotalSeconds; }
        Seconds(Buckets);
        Seconds(Packed);
        var (b, p) = (new List<double>(), new List<double>());
        for (int i = 0; i < reps; i++) { b.Add(Seconds(Buckets)); p.Add(Seconds(Packed)); }
        double mb = Median(b), mp = Median(p);
        Quick.Print(new
        {
            mode = "packing", clips = clips.Count, tokens, sequences = sequences.Count,
            buckets_s = Math.Round(mb, 3), packed_s = Math.Round(mp, 3),
            buckets_tokens_per_s = Math.Round(tokens / mb), packed_tokens_per_s = Math.Round(tokens / mp),
            packed_over_buckets = Math.Round(mb / mp, 3),
        });
    }

    static double Median(List<double> v) { var s = v.Order().ToArray(); return s[s.Length / 2]; }

    static int Int(string[] args, string name, int fallback) =>
        Quick.Option(args, name) is { } s ? int.Parse(s) : fallback;
}
