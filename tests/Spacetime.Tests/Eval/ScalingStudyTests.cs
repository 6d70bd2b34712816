// ScalingStudy: compute summed from the tflop column, loss read at equal compute, binned curves, and the table.
using System.Globalization;
using Spacetime.Eval;
using Spacetime.Media;

namespace Spacetime.Tests.Eval;

public sealed class ScalingStudyTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-scaling-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    // a run folder whose loss.csv has `steps` rows of cost tflop each and loss f(step)
    string Run(string name, int steps, double tflop, Func<int, double> loss)
    {
        string run = Path.Combine(dir, name);
        Directory.CreateDirectory(run);
        var rows = Enumerable.Range(1, steps).Select(s => string.Create(CultureInfo.InvariantCulture,
            $"{s},{loss(s):G6},{tflop:G6},0.001,0.5,{s * 1.5:F2}"));
        File.WriteAllLines(Path.Combine(run, "loss.csv"), ["step,loss,tflop,lr,grad_norm,seconds", .. rows]);
        return run;
    }

    [Fact]
    public void Read_SumsTheTflopColumnIntoCumulativeFlops()
    {
        var run = ScalingStudy.Read(Run("a", 10, 0.5, s => 1.0 / s));
        Assert.Equal("a", run.Name);
        Assert.Equal(10, run.Compute.Length);
        Assert.Equal(0.5e12, run.Compute[0], 1e-3);
        Assert.Equal(5e12, run.TotalCompute, 1e-3);
    }

    [Fact]
    public void Read_CountsEveryMicroBatchOfEveryRank()
    {
        string run = Run("dp", 4, 0.5, s => 1.0 / s);                  // tflop is the mean over a step's micro-batches
        Directory.CreateDirectory(Path.Combine(run, "train", "step-000004"));
        File.WriteAllText(Path.Combine(run, "train", "CURRENT"), "step-000004");
        File.WriteAllText(Path.Combine(run, "train", "step-000004", "state.json"),
                          """{ "Step": 4, "Config": { "Accumulate": 2, "Ranks": 3 } }""");
        Assert.Equal(4 * 0.5e12 * 2 * 3, ScalingStudy.Read(run).TotalCompute, 1e-3);
    }

    [Fact]
    public void LossAt_IsTheMeanOverTheWindowBeforeTheBudget_AndNaNPastTheRunsEnd()
    {
        var run = ScalingStudy.Read(Run("a", 100, 1, s => s));   // compute after step s: s TFLOP; loss s
        Assert.Equal(Enumerable.Range(80, 21).Average(), run.LossAt(100e12), 1e-9);    // steps 80..100
        Assert.Equal(Enumerable.Range(40, 11).Average(), run.LossAt(50e12), 1e-9);     // steps 40..50
        Assert.True(double.IsNaN(run.LossAt(200e12)));
    }

    [Fact]
    public void Table_ComparesAtTheSmallestRunsBudgets_AndBoldsTheLowest()
    {
        // "big" costs 4x a step and learns 2x as much per step: at equal compute "small" is ahead
        var small = ScalingStudy.Read(Run("small", 400, 1, s => 1.0 / Math.Sqrt(s)));
        var big = ScalingStudy.Read(Run("big", 200, 4, s => 1.0 / Math.Sqrt(2 * s)));
        var budgets = ScalingStudy.Budgets([small, big]);
        Assert.Equal([50e12, 100e12, 200e12, 400e12], budgets.Select(b => Math.Round(b / 1e12) * 1e12));
        Assert.True(small.LossAt(400e12) < big.LossAt(400e12));
        string table = ScalingStudy.Table([small, big], budgets);
        var smallRow = table.Split('\n').Single(l => l.StartsWith("| small |"));
        Assert.Equal(4, smallRow.Split("**").Length / 2);                          // bold at every budget
        Assert.DoesNotContain("**", table.Split('\n').Single(l => l.StartsWith("| big |")));
    }

    [Fact]
    public void Binned_HasAtMostEightPointsPerDecade_WithMeanLosses()
    {
        var run = ScalingStudy.Read(Run("a", 1000, 1, s => 2.0));
        var (c, l) = run.Binned();
        Assert.InRange(c.Length, 3 * 8 - 1, 3 * 8 + 1);                           // 1e12 .. 1e15: three decades
        Assert.All(l, v => Assert.Equal(2.0, v, 1e-9));
        Assert.True(c.Zip(c.Skip(1)).All(p => p.First < p.Second));
    }

    [Fact]
    public void Read_LossCsvWithoutTflop_SaysSo()
    {
        string run = Path.Combine(dir, "old");
        Directory.CreateDirectory(run);
        File.WriteAllLines(Path.Combine(run, "loss.csv"), ["step,loss,lr,grad_norm,seconds", "1,0.5,0.001,1,2"]);
        var e = Assert.Throws<ArgumentException>(() => ScalingStudy.Read(run));
        Assert.Contains("tflop", e.Message);
        Assert.Throws<ArgumentException>(() => ScalingStudy.Read(Path.Combine(dir, "missing")));
    }

    [Fact]
    public void Plot_WritesALogLogPng()
    {
        var runs = new[] { ScalingStudy.Read(Run("a", 300, 1, s => 1.0 / s)), ScalingStudy.Read(Run("b", 300, 2, s => 2.0 / s)) };
        string png = Path.Combine(dir, "scaling.png");
        ScalingStudy.Plot(runs, png);
        Assert.Equal((800, 500), (Png.ReadImage(png).Width, Png.ReadImage(png).Height));
    }
}
