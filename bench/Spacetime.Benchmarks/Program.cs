// Spacetime benchmarks (STYLE.md §7).
//   Quick modes, one JSON line per case:  dotnet run -c Release --project bench/Spacetime.Benchmarks -- matmul|attention|dit-step|vae|conv
//   BenchmarkDotNet otherwise:            dotnet run -c Release --project bench/Spacetime.Benchmarks -- --filter *MatMul*
// A new quick mode is one file with a static Run(string[] args) and one line in the table below.
using BenchmarkDotNet.Running;
using Spacetime.Benchmarks;

var quickModes = new Dictionary<string, Action<string[]>>
{
    ["matmul"] = MatMulQuick.Run,         // GEMM GFLOP/s and MFU on the shared/PERF.md shapes
    ["attention"] = AttentionQuick.Run,   // fused attention forward/backward GFLOP/s and MFU, 512-4096 tokens
    ["dit-step"] = DitStepQuick.Run,      // DiT forward and training step, the model of shared/perf/py/dit_bench.py
    ["vae"] = VaeQuick.Run,               // video VAE encode/decode of one clip and a training step
    ["conv"] = ConvQuick.Run,             // the VAE's conv layers: forward, dx, dW GFLOP/s and % of the measured peak
};

if (args.Length > 0 && quickModes.TryGetValue(args[0], out var quick))
    quick(args[1..]);
else
    BenchmarkSwitcher.FromAssembly(typeof(MatMulBench).Assembly).Run(args);
