// CliArgs: parsing and checking of option values shared by command groups ("64x64", "1..4", positive numbers).
// Each check throws UserError with a message that names the option, the value and what is wrong.
using System.CommandLine;
using System.Globalization;
using Spacetime.Media;

namespace Spacetime.Cli;

internal static class CliArgs
{
    /// <summary>An option with a description and a default value.</summary>
    public static Option<T> Option<T>(string name, string description, T defaultValue, params string[] aliases) =>
        new(name, aliases) { Description = description, DefaultValueFactory = _ => defaultValue };

    /// <summary>An option the user must give.</summary>
    public static Option<T> Required<T>(string name, string description, params string[] aliases) =>
        new(name, aliases) { Description = description, Required = true };

    /// <summary>"WxH" to (width, height); both positive.</summary>
    public static (int Width, int Height) Size(string option, string text)
    {
        var parts = text.Trim().ToLowerInvariant().Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, Invariant, out int w)
                              || !int.TryParse(parts[1], NumberStyles.None, Invariant, out int h))
            throw new UserError($"{option} '{text}' is not a size WxH, e.g. 64x64 or 96x64");
        if (w <= 0 || h <= 0)
            throw new UserError($"{option} '{text}': width and height must be positive");
        if (w > 4096 || h > 4096)
            throw new UserError($"{option} '{text}': at most 4096 pixels a side");
        return (w, h);
    }

    /// <summary>"64x64,96x64" to a list of sizes.</summary>
    public static IReadOnlyList<(int Width, int Height)> Sizes(string option, string text)
    {
        var items = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (items.Length == 0) throw new UserError($"{option} '{text}' names no size; write e.g. 64x64,96x64");
        return items.Select(s => Size(option, s)).ToList();
    }

    /// <summary>"2" or "1..4" to (lo, hi) seconds, 0 &lt; lo &lt;= hi.</summary>
    public static (double Lo, double Hi) Range(string option, string text)
    {
        var parts = text.Split("..");
        var values = new double[parts.Length];
        bool numbers = true;
        for (int k = 0; k < parts.Length && k < 2; k++)
            numbers &= double.TryParse(parts[k], NumberStyles.Float, Invariant, out values[k]);
        if (parts.Length > 2 || !numbers)
            throw new UserError($"{option} '{text}' is not a number or a range LO..HI, e.g. 2 or 1..4");
        double lo = values[0], hi = values[^1];
        if (!(lo > 0) || !(hi >= lo) || double.IsInfinity(hi))
            throw new UserError($"{option} '{text}': must be positive, with LO <= HI");
        return (lo, hi);
    }

    /// <summary>"LO..HI", path times 0 &lt;= LO &lt;= HI &lt;= 1, to a guidance interval.</summary>
    public static Spacetime.Diffusion.GuidanceInterval GuidanceInterval(string option, string text)
    {
        var parts = text.Split("..");
        if (parts.Length != 2
            || !double.TryParse(parts[0], NumberStyles.Float, Invariant, out double lo)
            || !double.TryParse(parts[1], NumberStyles.Float, Invariant, out double hi))
            throw new UserError($"{option} '{text}' is not a range LO..HI of path times, e.g. 0.2..0.85");
        var interval = new Spacetime.Diffusion.GuidanceInterval(lo, hi);
        try { interval.Validate(); }
        catch (ArgumentException e) { throw new UserError($"{option} '{text}': {e.Message}"); }
        return interval;
    }

    /// <summary>The sampling grid's timestep shift s (Timesteps.Shift): above 0 and at most
    /// GenerationRequest.MaxShift; 1 is the uniform grid.</summary>
    public static double Shift(string option, double value)
    {
        if (!(value > 0 && value <= Spacetime.Pipelines.GenerationRequest.MaxShift))
            throw new UserError($"{option} {Show(value)}: must be above 0 and at most " +
                                $"{Spacetime.Pipelines.GenerationRequest.MaxShift} (1: the uniform grid; above 1 " +
                                "spends more steps at high noise)");
        return value;
    }

    /// <summary>How a command reports its sampling grid: "" for the uniform grid, ", shift 3" otherwise.</summary>
    public static string ShiftNote(double shift) => shift == 1 ? "" : string.Create(Invariant, $", shift {shift:0.###}");

    /// <summary>How a command reports its guidance: "guidance 4", or "guidance 4 at t 0.2..0.85" for an interval.
    /// </summary>
    public static string Guidance(double scale, Spacetime.Diffusion.GuidanceInterval interval) =>
        string.Create(Invariant, $"guidance {scale:0.##}") +
        (interval == Spacetime.Diffusion.GuidanceInterval.Everywhere ? ""
            : string.Create(Invariant, $" at t {interval.Lo:0.###}..{interval.Hi:0.###}"));

    public static double Positive(string option, double value)
    {
        if (!(value > 0) || double.IsInfinity(value))
            throw new UserError($"{option} {Show(value)}: must be a positive number");
        return value;
    }

    public static int Positive(string option, int value)
    {
        if (value <= 0) throw new UserError($"{option} {value}: must be a positive whole number");
        return value;
    }

    /// <summary>Checks that a video can be written to this path (known extension; ffmpeg when it needs it).</summary>
    public static void VideoOut(string option, string path) => VideoOut(option, path, Ffmpeg.IsAvailable);

    internal static void VideoOut(string option, string path, bool ffmpegAvailable)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext.Length == 0)
            throw new UserError($"{option} '{path}' has no file extension; use one of " +
                                string.Join(" ", VideoFile.WriteExtensions));
        if (!VideoFile.WriteExtensions.Contains(ext))
            throw new UserError($"{option} '{path}': unknown video extension '{ext}'; use one of " +
                                string.Join(" ", VideoFile.WriteExtensions));
        if (ext is ".mp4" or ".webm" or ".mkv" or ".mov" or ".avi" && !ffmpegAvailable)
            throw new UserError($"{option} '{path}': writing {ext} needs ffmpeg, which is not on PATH; " +
                                Ffmpeg.InstallHint);
    }

    static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    static string Show(double v) => v.ToString(Invariant);

    /// <summary>The clip settings, checked: an impossible size, frame rate or duration is a UserError naming it.</summary>
    public static Spacetime.World.ClipSettings Checked(Spacetime.World.ClipSettings settings)
    {
        try { settings.Validate(); }
        catch (ArgumentException e) { throw new UserError(e.Message); }
        return settings;
    }

    /// <summary>The folder of output file <paramref name="path"/> exists (made here if needed) and takes a new file:
    /// probed before any work, so that a bad path costs no time and nothing is written. A UserError otherwise.</summary>
    public static void Writable(string option, string path)
    {
        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"{option} '{path}': cannot create the folder {dir} ({e.Message.TrimEnd('.')})");
        }
        string probe = Path.Combine(dir, $".spacetime-probe-{Guid.NewGuid():N}");
        try { using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { } }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"{option} '{path}': cannot write in {dir} ({e.Message.TrimEnd('.')})");
        }
    }
}
