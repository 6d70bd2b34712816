// Clip: one captioned video of a dataset, described by its header (size, length, fps) so that bucketing and
// packing can plan batches without decoding pixels; Load() decodes it when a batch needs it.
using Spacetime.Media;

namespace Spacetime.Data;

/// <summary>A captioned video on disk: a video file or an image-sequence folder.</summary>
/// <param name="Path">Absolute path of the file or folder.</param>
/// <param name="NumFrames">Frame count (an estimate for ffmpeg containers that do not store it).</param>
/// <param name="Caption">Dense, descriptive caption (training text); empty when the clip is uncaptioned.</param>
/// <param name="Prompt">Short user-style prompt for the same clip; empty when unknown.</param>
/// <param name="TruthPath">Absolute path of the world simulator's ground-truth JSON, or null.</param>
public sealed record Clip(string Path, int NumFrames, int Height, int Width, double Fps, string Caption, string Prompt,
                          string? TruthPath = null)
{
    /// <summary>Duration in seconds.</summary>
    public double Seconds => NumFrames / Fps;

    /// <summary>Decodes the clip's pixels.</summary>
    public Frames Load() => VideoFile.Read(Path, Fps);
}
