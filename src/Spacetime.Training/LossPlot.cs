// LossPlot: DIR/loss.png from DIR/loss.csv, redrawn at every checkpoint (Spacetime.Media.Chart): the loss on a log
// axis, and for the VAE its PSNR beside it in DIR/psnr.png. Plotting never stops a run: a failure is reported as a
// missing picture, not an exception.
using Spacetime.Media;

namespace Spacetime.Training;

internal static class LossPlot
{
    /// <summary>Redraws the run's plots from its loss.csv (which must be flushed).</summary>
    public static void TryWrite(string dir)
    {
        string csv = Trainer.LossCsv(dir);
        try
        {
            if (!File.Exists(csv)) return;
            string title = $"{Path.GetFileName(Path.GetFullPath(dir))}: training loss";
            Chart.PlotCsv(csv, Path.Combine(dir, "loss.png"), "step", ["loss"], title, logY: true);
            var header = File.ReadLines(csv).First().Split(',');
            if (header.Contains("psnr"))
                Chart.PlotCsv(csv, Path.Combine(dir, "psnr.png"), "step", ["psnr"],
                              $"{Path.GetFileName(Path.GetFullPath(dir))}: reconstruction PSNR (dB)", logY: false);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException)
        {
            Console.Error.WriteLine($"note: could not draw the loss plot: {e.Message}");
        }
    }
}
