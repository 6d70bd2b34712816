// ChartAxis: one axis of a chart: the range it shows and its ticks.
// Values are mapped in "plotted space": the data value on a linear axis, log10 of it on a log axis.
// Linear ticks fall on multiples of a nice step, 1, 2 or 5 x 10^k, the smallest that gives at most maxLabels ticks.
// Log ticks fall on decades (10^k; every 2nd, 5th, ... decade when there are too many), with unlabelled minor ticks at
// 2..9 x 10^k. A range holding fewer than three decade ticks also labels 2 x 10^k and 5 x 10^k, and one narrower than
// about half a decade labels every m x 10^k, so a log axis always has at least two labels.
using System.Globalization;

namespace Spacetime.Media;

/// <summary>A tick at data value <paramref name="Value"/>; <paramref name="Label"/> is null for a minor tick.</summary>
internal readonly record struct Tick(double Value, string? Label);

/// <summary>An axis over [Min, Max] in plotted space (log10 of the data when <paramref name="Log"/>).</summary>
internal sealed record ChartAxis(double Min, double Max, bool Log, IReadOnlyList<Tick> Ticks)
{
    /// <summary>A data value in plotted space.</summary>
    public double Plotted(double value) => Log ? Math.Log10(value) : value;

    /// <summary>Where a plotted value lies along the axis: 0 at Min, 1 at Max.</summary>
    public double Fraction(double plotted) => (plotted - Min) / (Max - Min);

    /// <summary>A linear axis over [lo, hi] widened by <paramref name="pad"/> of its span on each side (but not
    /// below 0 when lo >= 0), with at most <paramref name="maxLabels"/> + 1 ticks.</summary>
    public static ChartAxis Linear(double lo, double hi, double pad, int maxLabels)
    {
        if (hi - lo <= 1e-12 * Math.Max(1, Math.Abs(hi)))                      // one value: +-10% of it, or +-1 at 0
        {
            double half = lo == 0 ? 1 : Math.Abs(lo) * 0.1;
            (lo, hi) = (lo - half, hi + half);
        }
        double min = lo - pad * (hi - lo), max = hi + pad * (hi - lo);
        if (lo >= 0 && min < 0)
            min = 0;
        double step = NiceStep((max - min) / Math.Max(1, maxLabels));
        double maxAbs = Math.Max(Math.Abs(min), Math.Abs(max));
        var ticks = new List<Tick>();
        for (long k = (long)Math.Ceiling(min / step - 1e-9); k <= (long)Math.Floor(max / step + 1e-9); k++)
        {
            double v = k * step;                                                 // k·step, not a running sum: no drift
            ticks.Add(new Tick(v, Format(v, step, maxAbs)));
        }
        return new ChartAxis(min, max, Log: false, ticks);
    }

    /// <summary>A log axis over [lo, hi] (both > 0), widened by <paramref name="pad"/> of its span in decades on each
    /// side, at least 0.3 decades wide.</summary>
    public static ChartAxis Logarithmic(double lo, double hi, double pad, int maxLabels)
    {
        double min = Math.Log10(lo), max = Math.Log10(hi);
        if (max - min < 0.3)
            (min, max) = ((min + max) / 2 - 0.15, (min + max) / 2 + 0.15);
        (min, max) = (min - pad * (max - min), max + pad * (max - min));
        int first = (int)Math.Ceiling(min - 1e-9), last = (int)Math.Floor(max + 1e-9);
        int decades = last - first + 1;                                          // decade ticks in range
        int every = Math.Max(1, (int)Math.Ceiling(decades / (double)Math.Max(1, maxLabels)));
        bool labelTwoFive = decades < 3, labelAll = max - min < 0.6;
        var ticks = new List<Tick>();
        for (int k = (int)Math.Floor(min); k <= (int)Math.Ceiling(max); k++)
            for (int m = 1; m <= 9; m++)
            {
                double v = m * Math.Pow(10, k), p = Math.Log10(v);
                if (p < min - 1e-9 || p > max + 1e-9)
                    continue;
                bool labelled = m == 1 ? k % every == 0 : labelAll || labelTwoFive && m is 2 or 5;
                if (labelled)                                                    // 1e10, not 10000M, far from 1
                    ticks.Add(new Tick(v, Math.Abs(k) >= 4 ? string.Create(CultureInfo.InvariantCulture, $"{m}e{k}")
                                                           : Format(v, Math.Pow(10, k), Math.Abs(v))));
                else if (every == 1)
                    ticks.Add(new Tick(v, null));
            }
        return new ChartAxis(min, max, Log: true, ticks);
    }

    /// <summary>The smallest of 1, 2, 5 x 10^k that is at least <paramref name="rough"/>.</summary>
    public static double NiceStep(double rough)
    {
        double decade = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        double f = rough / decade;
        return (f <= 1 + 1e-9 ? 1 : f <= 2 + 1e-9 ? 2 : f <= 5 + 1e-9 ? 5 : 10) * decade;
    }

    /// <summary>A tick label for <paramref name="value"/> on an axis whose ticks are <paramref name="step"/> apart and
    /// whose largest magnitude is <paramref name="maxAbs"/>: "0.05", "250", "20k" and "1.5M" for large steps,
    /// "0.5e-4", "2.5e-4" for tiny ones (the exponent of maxAbs). Just enough decimals to tell ticks apart.</summary>
    public static string Format(double value, double step, double maxAbs)
    {
        if (Math.Abs(value) < step * 1e-6)
            return "0";
        if (maxAbs >= 1e4 && step >= 1e3)
        {
            (double unit, string suffix) = maxAbs >= 1e7 && step >= 1e5 ? (1e6, "M") : (1e3, "k");
            return Fixed(value / unit, step / unit) + suffix;
        }
        if (step < 1e-3)                                                        // one exponent for the whole axis
        {
            int exponent = (int)Math.Floor(Math.Log10(maxAbs) + 1e-9);
            double unit = Math.Pow(10, exponent);
            return Fixed(value / unit, step / unit) + "e" + exponent.ToString(CultureInfo.InvariantCulture);
        }
        return Fixed(value, step);
    }

    /// <summary>A value to about 3 significant digits, for a legend: "0.0123", "4.56", "1234", "2.5e-5".</summary>
    public static string FormatValue(double value)
    {
        double a = Math.Abs(value);
        if (a == 0)
            return "0";
        if (a < 1e-3 || a >= 1e6)
            return value.ToString("0.##e0", CultureInfo.InvariantCulture);
        int decimals = Math.Max(0, 2 - (int)Math.Floor(Math.Log10(a)));
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    // value with as many decimals as step needs (step 0.05 -> 2, 0.5 -> 1, 5 -> 0), trailing zeros kept.
    static string Fixed(double value, double step)
    {
        int decimals = Math.Clamp((int)Math.Ceiling(-Math.Log10(step) - 1e-9), 0, 15);
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }
}
