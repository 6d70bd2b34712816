// BenchmarkDotNet: v1 naive GemmReference (baseline) against v2 packed Gemm on the shared/PERF.md shapes.
//   dotnet run -c Release --project bench/Spacetime.Benchmarks -- --filter *MatMulBench*
// The GFLOP/s column is 2·M·K·N·batch / mean time; `-- matmul` gives the same figures faster, with MFU.
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Spacetime.Engine.Kernels;

namespace Spacetime.Benchmarks;

[MemoryDiagnoser]
[Config(typeof(GflopsConfig))]
public class MatMulBench
{
    public sealed record GemmShape(int M, int K, int N, int Batch)
    {
        public double Flop => 2.0 * M * K * N * Batch;
        public override string ToString() => Batch == 1 ? $"{M}x{K}x{N}" : $"{M}x{K}x{N}x{Batch}";
    }

    public static IEnumerable<GemmShape> Shapes() => MatMulQuick.Shapes.Select(s => new GemmShape(s.M, s.K, s.N, s.Batch));

    [ParamsSource(nameof(Shapes))]
    public GemmShape Shape { get; set; } = new(1, 1, 1, 1);

    float[] a = [], b = [], c = [];

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        a = new float[(long)Shape.Batch * Shape.M * Shape.K];
        b = new float[(long)Shape.Batch * Shape.K * Shape.N];
        c = new float[(long)Shape.Batch * Shape.M * Shape.N];
        for (long i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        for (long i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble() - 0.5f;
    }

    [Benchmark(Baseline = true)]
    public void Naive()
    {
        var (M, K, N) = (Shape.M, Shape.K, Shape.N);
        for (int i = 0; i < Shape.Batch; i++)
            MatMulKernels.GemmReference(false, false, M, N, K, a, (long)i * M * K, K, b, (long)i * K * N, N,
                c, (long)i * M * N, N, accumulate: false);
    }

    [Benchmark]
    public void V2_Packed()
    {
        var (M, K, N) = (Shape.M, Shape.K, Shape.N);
        MatMulKernels.GemmBatched(Shape.Batch, false, false, M, N, K, a, 0, K, (long)M * K, b, 0, N, (long)K * N,
            c, 0, N, (long)M * N, accumulate: false);
    }

    sealed class GflopsConfig : ManualConfig
    {
        public GflopsConfig() => AddColumn(new GflopsColumn());
    }

    // GFLOP/s from the Shape parameter and the mean time.
    sealed class GflopsColumn : IColumn
    {
        public string Id => nameof(GflopsColumn);
        public string ColumnName => "GFLOP/s";
        public bool AlwaysShow => true;
        public ColumnCategory Category => ColumnCategory.Custom;
        public int PriorityInCategory => 0;
        public bool IsNumeric => true;
        public UnitType UnitType => UnitType.Dimensionless;
        public string Legend => "2·M·K·N·batch / mean time, in GFLOP/s";
        public bool IsAvailable(Summary summary) => true;
        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
            GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics == null || benchmarkCase.Parameters["Shape"] is not GemmShape shape)
                return "-";
            return (shape.Flop / report.ResultStatistics.Mean).ToString("F1");   // flop / ns = GFLOP/s
        }
    }
}
