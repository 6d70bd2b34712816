// Spacetime benchmarks (STYLE.md §7).
//   Quick modes, one JSON line per case:  dotnet run -c Release --project bench/Spacetime.Benchmarks -- matmul
//   BenchmarkDotNet otherwise:            dotnet run -c Release --project bench/Spacetime.Benchmarks -- --filter *MatMul*
// A new quick mode is one file with a static Run(string[] args) and one line in the table below.
using BenchmarkDotNet.Running;
using Spacetime.Benchmarks;

var quickModes = new Dictionary<string, Action<string[]>>
{
    ["matmul"] = MatMulQuick.Run,   // GEMM GFLOP/s and MFU on the shared/PERF.md shapes
};

if (args.Length > 0 && quickModes.TryGetValue(args[0], out var quick))
    quick(args[1..]);
else
    BenchmarkSwitcher.FromAssembly(typeof(MatMulBench).Assembly).Run(args);
