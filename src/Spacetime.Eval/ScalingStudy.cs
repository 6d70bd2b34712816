// ScalingStudy: training loss against training compute for several DiT runs, the plot of the DiT paper (FID against
// training GFLOPs) and of Kaplan et al. (loss against compute, log-log), made from the runs' own loss.csv files.
// A DiT run logs each step's cost in its `tflop` column (forward multiply-adds x 2 x 3, DitTrainer), so the x axis is
// counted, not timed: a run on a busy machine lands on the same curve.
//   compute C_k = sum over rows i <= k of tflop_i x 10^12 x accumulate     (cumulative training FLOPs)
//   curve: the rows binned by log10 C, 8 bins per decade, the mean loss of each bin plotted at its mean C
//   loss at budget B: the mean loss of the rows with C in [0.8 B, B] (a window, because one step's loss is one batch)
// Runs trained with the same seed draw the same clips, captions, times and noise at every step (the draws depend on
// the seed and the step alone), so their losses differ only by the networks: a paired comparison.
using System.Globalization;
using System.Text;
using System.Text.Json;
using Spacetime.Media;

namespace Spacetime.Eval;

/// <summary>One run of a scaling study: its name and, per logged step, cumulative training FLOPs and loss.</summary>
public sealed record ScalingRun(string Name, double[] Compute, double[] Loss)
{
    /// <summary>Training FLOPs of the whole run.</summary>
    public double TotalCompute => Compute.Length == 0 ? 0 : Compute[^1];

    /// <summary>The mean loss of the rows whose compute lies in [(1 - window) B, B], or NaN when the run has none
    /// (it stopped before B, or B is before its first row).</summary>
    public double LossAt(double budget, double window = 0.2)
    {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < Compute.Length; i++)
            if (Compute[i] >= (1 - window) * budget && Compute[i] <= budget * (1 + 1e-9))
                (sum, n) = (sum + Loss[i], n + 1);
        return n == 0 || TotalCompute < budget * (1 - 1e-6) ? double.NaN : sum / n;
    }

    /// <summary>The curve as plotted: rows binned by log10 compute (<paramref name="perDecade"/> bins a decade), each
    /// bin's mean compute and mean loss.</summary>
    public (double[] Compute, double[] Loss) Binned(int perDecade = 8)
    {
        var bins = Enumerable.Range(0, Compute.Length).Where(i => Compute[i] > 0 && double.IsFinite(Loss[i]))
            .GroupBy(i => (int)Math.Floor(Math.Log10(Compute[i]) * perDecade)).OrderBy(g => g.Key).ToList();
        return (bins.Select(g => g.Average(i => Compute[i])).ToArray(), bins.Select(g => g.Average(i => Loss[i])).ToArray());
    }
}

/// <summary>Reads runs, plots loss against compute and tabulates loss at equal compute.</summary>
public static class ScalingStudy
{
    /// <summary>The run in <paramref name="runDir"/> (its loss.csv needs the `tflop` column that DiT runs log; the
    /// accumulate factor is read from the run's checkpoint when there is one). Throws ArgumentException naming what is
    /// missing.</summary>
    public static ScalingRun Read(string runDir, string? name = null)
    {
        string csv = Path.Combine(runDir, "loss.csv");
        if (!File.Exists(csv))
            throw new ArgumentException($"{runDir}: no loss.csv (not a training run folder)");
        var header = File.ReadLines(csv).FirstOrDefault()?.Split(',') ?? [];
        if (!header.Contains("tflop"))
            throw new ArgumentException($"{runDir}: its loss.csv has no tflop column (runs logged it from model v2 on; " +
                                        "train the run again to compare it by compute)");
        var columns = Chart.ReadCsv(csv, ["step", "loss", "tflop"]);
        int microBatches = MicroBatches(runDir);
        var compute = new double[columns["step"].Length];
        double sum = 0;
        for (int i = 0; i < compute.Length; i++)
            compute[i] = sum += (double.IsFinite(columns["tflop"][i]) ? columns["tflop"][i] : 0) * 1e12 * microBatches;
        return new ScalingRun(name ?? Path.GetFileName(Path.GetFullPath(runDir).TrimEnd('/')), compute, columns["loss"]);
    }

    // the run's micro-batches per step over all ranks, Accumulate · Ranks from its last checkpoint's state.json (1 when
    // it has none; Ranks is 1 in runs from before data parallelism)
    static int MicroBatches(string runDir)
    {
        string current = Path.Combine(runDir, "train", "CURRENT");
        if (!File.Exists(current)) return 1;
        string state = Path.Combine(runDir, "train", File.ReadAllText(current).Trim(), "state.json");
        if (!File.Exists(state)) return 1;
        using var json = JsonDocument.Parse(File.ReadAllText(state));
        if (!json.RootElement.TryGetProperty("Config", out var config)) return 1;
        int Read(string name) => config.TryGetProperty(name, out var v) && v.TryGetInt32(out int value) ? value : 1;
        return Read("Accumulate") * Read("Ranks");
    }

    /// <summary>Loss against training FLOPs on log-log axes, one line per run, as a PNG.</summary>
    public static void Plot(IReadOnlyList<ScalingRun> runs, string png, string title = "scaling study")
    {
        var series = runs.Select(r => { var (c, l) = r.Binned(); return new ChartSeries(r.Name, c, l); }).ToList();
        Chart.WritePng(png, new ChartSpec(series, title, "training FLOPs", "loss", LogY: true, Width: 800, Height: 500,
                                          LogX: true));
    }

    /// <summary>The budgets a study is read at: 1/8, 1/4, 1/2 and all of the smallest run's compute.</summary>
    public static double[] Budgets(IReadOnlyList<ScalingRun> runs)
    {
        double least = runs.Min(r => r.TotalCompute);
        return [least / 8, least / 4, least / 2, least];
    }

    /// <summary>A markdown table: per run, its steps and loss at each budget (the lowest in bold).</summary>
    public static string Table(IReadOnlyList<ScalingRun> runs, IReadOnlyList<double> budgets)
    {
        var sb = new StringBuilder();
        string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        sb.AppendLine("| run | steps | " + string.Join(" | ", budgets.Select(b => F($"loss at {b:0.00e0} FLOPs"))) + " |");
        sb.AppendLine("|---|---|" + string.Concat(budgets.Select(_ => "---|")));
        var best = budgets.Select(b => runs.Select(r => r.LossAt(b)).Where(double.IsFinite).DefaultIfEmpty(double.NaN).Min())
                          .ToArray();
        foreach (var run in runs)
        {
            var cells = budgets.Select((b, k) => run.LossAt(b) is var l && double.IsFinite(l)
                ? (l == best[k] ? F($"**{l:0.0000}**") : F($"{l:0.0000}")) : "-");
            sb.AppendLine(F($"| {run.Name} | {run.Compute.Length} | ") + string.Join(" | ", cells) + " |");
        }
        return sb.ToString();
    }
}
