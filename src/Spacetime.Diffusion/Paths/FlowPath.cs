// Rectified flow / SiT's linear interpolant (Liu et al. 2022; Ma et al. 2024, "SiT"): x_t = (1 - t) x0 + t eps.
// Paths are straight lines from data to noise, alpha(1) = 0 exactly (no signal left at t = 1, so sampling from pure
// noise matches training), and the velocity target is eps - x0. The SD3 and Open-Sora 1.2+ objective.
namespace Spacetime.Diffusion;

/// <summary>The linear interpolant x_t = (1 - t) x0 + t eps (rectified flow).</summary>
public sealed class FlowPath(Prediction prediction = Prediction.Velocity) : IPath
{
    /// <inheritdoc/>
    public Prediction Prediction { get; } = prediction;

    /// <inheritdoc/>
    public PathPoint At(double t) => new(1 - t, t, -1, 1);

    /// <inheritdoc/>
    public override string ToString() => $"FlowPath({Prediction})";
}
