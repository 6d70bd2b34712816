// The diffusion objective as a record with presets (STYLE.md §8 ex. 2): which path, which beta schedule, what the model
// predicts. Create() gives the IPath that training and sampling share.
namespace Spacetime.Diffusion;

/// <summary>How x_t is formed: a DDPM beta schedule (variance preserving) or the rectified-flow line.</summary>
public enum PathKind
{
    /// <summary>DDPM's variance-preserving path over a beta table (<see cref="VpPath"/>).</summary>
    Ddpm,
    /// <summary>Rectified flow / SiT linear interpolant (<see cref="FlowPath"/>).</summary>
    RectifiedFlow,
}

/// <summary>A diffusion objective: path, schedule and prediction.</summary>
/// <param name="Kind">DDPM (VP) or rectified flow. Default: rectified flow (docs/diffusion.md has the numbers).</param>
/// <param name="Prediction">The model's target. Velocity for rectified flow; eps (DiT) or v for DDPM.</param>
/// <param name="Schedule">The DDPM beta schedule; rectified flow has none and ignores it.</param>
/// <param name="TrainSteps">DDPM's number of betas (1000 in DDPM, DiT and Stable Diffusion).</param>
public sealed record PathConfig(
    PathKind Kind = PathKind.RectifiedFlow,
    Prediction Prediction = Prediction.Velocity,
    Schedule Schedule = Schedule.Linear,
    int TrainSteps = 1000)
{
    /// <summary>Named objectives from the papers.</summary>
    public static IReadOnlyDictionary<string, PathConfig> Presets { get; } = new Dictionary<string, PathConfig>
    {
        ["RF"] = new(),                                                                  // SD3, Open-Sora 1.2+, SiT
        ["DDPM-eps"] = new(PathKind.Ddpm, Prediction.Epsilon, Schedule.Linear),          // DDPM, DiT
        ["DDPM-v"] = new(PathKind.Ddpm, Prediction.V, Schedule.Cosine),                  // progressive distillation, Imagen Video
        ["SD-v"] = new(PathKind.Ddpm, Prediction.V, Schedule.ScaledLinear),              // Stable Diffusion 2 (768-v)
    };

    /// <summary>The path this config describes.</summary>
    public IPath Create() => Kind == PathKind.RectifiedFlow
        ? new FlowPath(Prediction)
        : new VpPath(Schedule, Prediction, TrainSteps);
}
