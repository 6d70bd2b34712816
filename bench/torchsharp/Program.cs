// The LibTorch 2.10 peer of bench/compare_dit.sh: the same video DiT as shared/perf/py/dit_bench.py and our `dit-step`
// (adaLN-Zero blocks, 1x2x2 patches of a 4-channel latent, tanh GELU, no cross-attention), built in TorchSharp 0.107
// with fused SDPA attention. Benchmark only; never a project dependency. It differs from shared/perf/torchsharp's
// Program.cs in taking the latent's size (--frames T --size S: T x S x S, so T * (S/2)^2 tokens) and in printing the
// CPU time per call beside the wall time, as the other two columns do.
//   dotnet TsBench.dll [--hidden 384 --heads 6 --depth 12 --batch 8 --frames 8 --size 16 --threads 2 --reps 3]
using System.Diagnostics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;

int hidden = 384, heads = 6, depth = 12, batch = 8, frames = 8, size = 16, threads = 2, reps = 3;
for (int i = 0; i < args.Length; i++)
{
    int Next() => int.Parse(args[++i]);
    switch (args[i])
    {
        case "--hidden": hidden = Next(); break;
        case "--heads": heads = Next(); break;
        case "--depth": depth = Next(); break;
        case "--batch": batch = Next(); break;
        case "--frames": frames = Next(); break;
        case "--size": size = Next(); break;
        case "--threads": threads = Next(); break;
        case "--reps": reps = Next(); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}
torch.set_num_threads(threads);
torch.manual_seed(0);
var model = new VideoDiT(hidden, depth, heads, frames, size);
var x = torch.randn(new long[] { batch, 4, frames, size, size });          // (B, 4, T, S, S)
var t = torch.randint(0, 1000, new long[] { batch });                      // (B)
var y = torch.randn(new long[] { batch, 512 });                            // (B, 512)
using (torch.no_grad())                                                    // adaLN-Zero would make every block the identity
    foreach (var b in model.Blocks) b.Ada.weight.normal_(0, 0.02);

var process = Process.GetCurrentProcess();
(List<double> Wall, List<double> Cpu) Time(Action call)
{
    var wall = new List<double>();
    var cpu = new List<double>();
    for (int i = 0; i < 2 + reps; i++)                                     // 2 warm-up calls, then `reps` timed
    {
        process.Refresh();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        call();
        process.Refresh();
        if (i < 2) continue;
        wall.Add(sw.Elapsed.TotalSeconds);
        cpu.Add((process.TotalProcessorTime - cpu0).TotalSeconds);
    }
    return (wall, cpu);
}

model.eval();
var fwd = Time(() =>
{
    using var scope = torch.NewDisposeScope();
    using var _ = torch.no_grad();
    model.forward(x, t, y);
});
model.train();
var opt = torch.optim.AdamW(model.parameters(), lr: 1e-4, weight_decay: 0.0);
var train = Time(() =>
{
    using var scope = torch.NewDisposeScope();
    var loss = F.mse_loss(model.forward(x, t, y), x);
    opt.zero_grad();
    loss.backward();
    opt.step();
});
static double Median(List<double> v) { v.Sort(); return v[v.Count / 2]; }
Console.WriteLine($"{{\"engine\":\"torchsharp-libtorch-2.10\",\"sdpa\":true,\"hidden\":{hidden},\"depth\":{depth}," +
                  $"\"batch\":{batch},\"tokens\":{model.Tokens},\"threads\":{threads},\"reps\":{reps}," +
                  $"\"fwd_s_median\":{Median(fwd.Wall):F3},\"train_step_s_median\":{Median(train.Wall):F3}," +
                  $"\"fwd_cpu_s_median\":{Median(fwd.Cpu):F3},\"train_cpu_s_median\":{Median(train.Cpu):F3}}}");
return 0;

sealed class Block : Module<Tensor, Tensor, Tensor>
{
    readonly LayerNorm n1, n2;
    readonly Linear qkv, proj, fc1, fc2;
    public readonly Linear Ada;
    readonly int heads;

    public Block(int dim, int heads) : base("block")
    {
        this.heads = heads;
        n1 = LayerNorm(dim, 1e-6, elementwise_affine: false);
        n2 = LayerNorm(dim, 1e-6, elementwise_affine: false);
        qkv = Linear(dim, 3 * dim);
        proj = Linear(dim, dim);
        fc1 = Linear(dim, 4 * dim);
        fc2 = Linear(4 * dim, dim);
        Ada = Linear(dim, 6 * dim);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x, Tensor c)                     // x: (B, N, D), c: (B, D)
    {
        var m = Ada.forward(F.silu(c)).chunk(6, 1);                        // 6 x (B, D)
        long B = x.shape[0], N = x.shape[1], D = x.shape[2];
        var a = VideoDiT.Modulate(n1.forward(x), m[0], m[1]);
        var q = qkv.forward(a).reshape(B, N, 3, heads, D / heads).permute(2, 0, 3, 1, 4);   // (3, B, h, N, hd)
        var o = F.scaled_dot_product_attention(q[0], q[1], q[2]);         // (B, h, N, hd)
        x = x + m[2].unsqueeze(1) * proj.forward(o.transpose(1, 2).reshape(B, N, D));
        var b2 = VideoDiT.Modulate(n2.forward(x), m[3], m[4]);
        var h = F.gelu(fc1.forward(b2), approximate: TorchSharp.Modules.GELU.Approximate.tanh);
        return x + m[5].unsqueeze(1) * fc2.forward(h);
    }
}

sealed class VideoDiT : Module<Tensor, Tensor, Tensor, Tensor>
{
    readonly Linear xEmb, t1, t2, yEmb, fAda, fOut;
    readonly LayerNorm fn;
    readonly ModuleList<Block> blocks;
    readonly Tensor pos;
    readonly int frames, side;                                             // latent frames, tokens per side (S/2)
    public int Tokens => frames * side * side;
    public IEnumerable<Block> Blocks => blocks;

    public VideoDiT(int dim, int depth, int heads, int frames, int size) : base("dit")
    {
        this.frames = frames;
        side = size / 2;
        xEmb = Linear(16, dim);                                            // a 4-channel 1x2x2 patch
        t1 = Linear(256, dim);
        t2 = Linear(dim, dim);
        yEmb = Linear(512, dim);
        blocks = new ModuleList<Block>(Enumerable.Range(0, depth).Select(_ => new Block(dim, heads)).ToArray());
        fn = LayerNorm(dim, 1e-6, elementwise_affine: false);
        fAda = Linear(dim, 2 * dim);
        fOut = Linear(dim, 16);
        pos = torch.randn(new long[] { 1, Tokens, dim }) * 0.02;
        RegisterComponents();
    }

    public static Tensor Modulate(Tensor x, Tensor shift, Tensor scale) =>
        x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);

    public override Tensor forward(Tensor x, Tensor t, Tensor y)           // x: (B, 4, T, S, S)
    {
        long B = x.shape[0];
        int T = frames, s = side;
        x = x.reshape(B, 4, T, s, 2, s, 2).permute(0, 2, 3, 5, 1, 4, 6).reshape(B, Tokens, 16);   // (B, N, 16)
        x = xEmb.forward(x) + pos;                                         // (B, N, D)
        var f = torch.exp(-Math.Log(10000) * torch.arange(128, dtype: ScalarType.Float32) / 128);
        var a = t.unsqueeze(1).to_type(ScalarType.Float32) * f.unsqueeze(0);   // (B, 128)
        var c = t2.forward(F.silu(t1.forward(torch.cat(new[] { torch.cos(a), torch.sin(a) }, -1)))) + yEmb.forward(y);
        foreach (var b in blocks) x = b.forward(x, c);
        var m = fAda.forward(F.silu(c)).chunk(2, 1);
        x = fOut.forward(Modulate(fn.forward(x), m[0], m[1]));             // (B, N, 16)
        return x.reshape(B, T, s, s, 4, 2, 2).permute(0, 4, 1, 2, 5, 3, 6).reshape(B, 4, T, 2 * s, 2 * s);
    }
}
