// OpProfile: where a training step's time goes, op by op (the per-op table of PyTorch's autograd profiler, at the cost
// of two clock reads per op). While a profile is open on a thread:
//   forward  - Autograd.Record charges the wall time since the previous recorded op (or since Start / Mark) to the op
//              it records: a recorded op's kernel runs just before it is recorded, so that time is the kernel's, plus
//              whatever unrecorded work ran in between (ops under NoGrad, tensor allocation, data preparation). Call
//              Mark() before work that should not be charged (loading the next batch, the optimizer step).
//   backward - Autograd.Backward times each node's backward closure, which holds the whole chain rule of that op.
// Rows are keyed by op kind and the shapes of the op's inputs and output, so the same convolution at two sizes shows as
// two rows. Only the thread that opened the profile is profiled (the tape is per thread); the kernels' own worker
// threads run inside the timed calls, so their work counts as wall time.
using System.Diagnostics;

namespace Spacetime.Engine;

/// <summary>Per-op forward and backward wall time of the autograd-recorded work on this thread.</summary>
public sealed class OpProfile : IDisposable
{
    [ThreadStatic] static OpProfile? current;

    readonly Dictionary<(OpKind Kind, string Shapes), OpTime> rows = [];
    readonly OpProfile? outer;
    long last;
    bool closed;

    OpProfile()
    {
        outer = current;
        last = Stopwatch.GetTimestamp();
    }

    /// <summary>Opens a profile on this thread; it collects until disposed.</summary>
    public static OpProfile Start() => current = new OpProfile();

    /// <summary>Starts the forward clock afresh: the time since the last recorded op is charged to nothing.</summary>
    public void Mark() => last = Stopwatch.GetTimestamp();

    /// <summary><see cref="Mark"/> on the profile open on this thread, if any: for code inside a profiled step that
    /// cannot see the profile, e.g. a training task after it has drawn its batch (data preparation is not an op).</summary>
    public static void MarkCurrent() => current?.Mark();

    /// <summary>The rows collected so far, costliest (forward + backward) first.</summary>
    public IReadOnlyList<OpTime> Rows => [.. rows.Values.OrderByDescending(r => r.ForwardSeconds + r.BackwardSeconds)];

    public void Dispose()
    {
        if (closed) return;
        closed = true;
        if (current == this) current = outer;
    }

    // Called by Autograd.Record after the op's forward kernel ran.
    internal static void Forward(OpKind kind, Tensor output, Tensor[] inputs)
    {
        if (current is not { } p) return;
        long now = Stopwatch.GetTimestamp();
        var row = p.Row(kind, output, inputs);
        row.Calls++;
        row.ForwardSeconds += (now - p.last) / (double)Stopwatch.Frequency;
        p.last = Stopwatch.GetTimestamp();              // the bookkeeping above is not charged to the next op
    }

    /// <summary>A clock reading for <see cref="Backward"/>, or 0 when no profile is open.</summary>
    internal static long BackwardStart() => current is null ? 0 : Stopwatch.GetTimestamp();

    // Called by Autograd.Backward after a node's backward closure ran.
    internal static void Backward(OpKind kind, Tensor output, Tensor[] inputs, long start)
    {
        if (current is not { } p || start == 0) return;
        long now = Stopwatch.GetTimestamp();
        p.Row(kind, output, inputs).BackwardSeconds += (now - start) / (double)Stopwatch.Frequency;
        p.last = Stopwatch.GetTimestamp();
    }

    OpTime Row(OpKind kind, Tensor output, Tensor[] inputs)
    {
        string shapes = string.Join(" ", inputs.Select(t => Shapes.Format(t.Dims))) + " -> " + Shapes.Format(output.Dims);
        if (!rows.TryGetValue((kind, shapes), out var row))
            rows[(kind, shapes)] = row = new OpTime(kind, shapes);
        return row;
    }

    /// <summary>
    /// The profile as markdown under a heading "Profile: <paramref name="title"/>, N steps": the wall time of a step,
    /// what the recorded ops account for, each of <paramref name="others"/> (work timed outside the tape, e.g. the
    /// optimizer), the rest (whatever neither covers), then <see cref="Table"/>. Seconds are totals over
    /// <paramref name="steps"/> steps and read per step.
    /// </summary>
    public string Summary(string title, int steps, double wallSeconds, params (string Name, double Seconds)[] others)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        double recorded = Rows.Sum(r => r.ForwardSeconds + r.BackwardSeconds);
        double rest = wallSeconds - recorded - others.Sum(o => o.Seconds);
        string Part(string name, double s) =>
            string.Create(c, $"{name} {s / steps * 1e3:F0} ms ({s / Math.Max(wallSeconds, 1e-30):P0})");
        var parts = new List<string> { Part("in recorded ops", recorded) };
        parts.AddRange(others.Select(o => Part(o.Name, o.Seconds)));
        if (others.Length > 0) parts.Add(Part("the rest", rest));
        return $"## Profile: {title}, {steps} step{(steps == 1 ? "" : "s")}\n\n" +
               string.Create(c, $"Wall time per step {wallSeconds / steps * 1e3:F0} ms; ") + string.Join("; ", parts) +
               ".\n\n" + Table(steps);
    }

    /// <summary>
    /// The profile as a markdown table: one row per op kind (all shapes together), then the <paramref name="top"/>
    /// costliest rows by shape; seconds are divided by <paramref name="steps"/> so they read per step.
    /// </summary>
    public string Table(int steps = 1, int top = 15)
    {
        var all = Rows;
        double total = all.Sum(r => r.ForwardSeconds + r.BackwardSeconds);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("| op | calls | forward ms | backward ms | share |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var g in all.GroupBy(r => r.Kind)
                             .OrderByDescending(g => g.Sum(r => r.ForwardSeconds + r.BackwardSeconds)))
            Line(sb, g.Key.ToString(), g.Sum(r => r.Calls), g.Sum(r => r.ForwardSeconds), g.Sum(r => r.BackwardSeconds),
                 total, steps);
        Line(sb, "**all recorded ops**", all.Sum(r => r.Calls), all.Sum(r => r.ForwardSeconds),
             all.Sum(r => r.BackwardSeconds), total, steps);
        sb.AppendLine();
        sb.AppendLine("| op | shapes (inputs -> output) | calls | forward ms | backward ms | share |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in all.Take(top))
            Line(sb, $"{r.Kind} | {r.Shapes}", r.Calls, r.ForwardSeconds, r.BackwardSeconds, total, steps);
        return sb.ToString();
    }

    static void Line(System.Text.StringBuilder sb, string name, long calls, double fwd, double bwd, double total, int steps)
    {
        var c = System.Globalization.CultureInfo.InvariantCulture;
        // calls per step: whole when every step made the same calls, else one decimal (steps of several clip shapes)
        string perStep = calls % steps == 0 ? (calls / steps).ToString(c) : (calls / (double)steps).ToString("F1", c);
        sb.AppendLine(string.Create(c, $"| {name} | {perStep} | {fwd / steps * 1e3:F1} | {bwd / steps * 1e3:F1} | " +
                                       $"{(fwd + bwd) / Math.Max(total, 1e-30):P1} |"));
    }
}

/// <summary>One profile row: an op kind at one set of shapes, its call count and wall seconds.</summary>
public sealed class OpTime(OpKind kind, string shapes)
{
    public OpKind Kind { get; } = kind;
    /// <summary>The inputs' shapes and the output's, as "(a, b) (c, d) -> (e, f)".</summary>
    public string Shapes { get; } = shapes;
    public long Calls { get; internal set; }
    public double ForwardSeconds { get; internal set; }
    public double BackwardSeconds { get; internal set; }
}
