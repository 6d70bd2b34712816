// LossPlot: DIR/loss.png from DIR/loss.csv, redrawn at every checkpoint. Until the chart lands it writes nothing.
namespace Spacetime.Training;

internal static class LossPlot
{
    /// <summary>Redraws the run's loss plot; a plotting failure never stops training.</summary>
    public static void TryWrite(string dir)
    {
        _ = dir;
    }
}
