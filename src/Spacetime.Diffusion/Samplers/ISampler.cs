// A sampler moves x one step along the time grid (SiT `integrators.py`, diffusers schedulers). It holds no state
// between steps: the step index is an argument, the previous step's denoised estimate (for multistep solvers) is
// passed back in, and fresh noise comes from the Rng the caller passes. A pipeline writes the loop out:
//
//     var sampler = config.Create(path);
//     var x = noise;                                           // (B, C, T, H, W) ~ N(0, I), from the seed's Rng
//     Tensor? denoised = null;
//     for (int i = 0; i < sampler.Steps; i++)
//         using (var scope = TensorScope.Begin())
//         {
//             var step = sampler.Step(i, x, guidedModel, denoised, rng);    // model -> CFG -> step
//             (x, denoised) = (scope.Keep(step.Sample), scope.Keep(step.Denoised));
//         }
namespace Spacetime.Diffusion;

using Spacetime.Engine;

/// <summary>The result of one step: x at the next time, and the model's clean estimate at the current time.</summary>
/// <param name="Sample">x at time Times[i + 1].</param>
/// <param name="Denoised">The x0 estimate made at Times[i] (a preview, and DPM-Solver++(2M)'s history).</param>
public readonly record struct StepOutput(Tensor Sample, Tensor Denoised);

/// <summary>One step of a sampler from Times[i] to Times[i + 1].</summary>
public interface ISampler
{
    /// <summary>Number of steps.</summary>
    int Steps { get; }

    /// <summary>The Steps + 1 times, from 1 (noise) down to 0 (data).</summary>
    IReadOnlyList<double> Times { get; }

    /// <summary>Model evaluations per step (Heun: 2, the others: 1).</summary>
    int ModelCallsPerStep { get; }

    /// <summary>
    /// Moves x from Times[step] to Times[step + 1]. <paramref name="model"/> maps (x_t (B, ...), t (B)) to the path's
    /// prediction. <paramref name="previousDenoised"/> is the Denoised of the previous step (null at the first step
    /// run: multistep samplers then take a first-order step). Stochastic samplers draw from <paramref name="rng"/>.
    /// </summary>
    StepOutput Step(int step, Tensor x, Func<Tensor, Tensor, Tensor> model, Tensor? previousDenoised = null, Rng? rng = null);
}

/// <summary>The samplers.</summary>
public enum SamplerKind
{
    /// <summary>DDIM (Song et al. 2021); eta = 0 is deterministic, eta = 1 is DDPM's ancestral sampler.</summary>
    Ddim,
    /// <summary>DPM-Solver++(2M) (Lu et al. 2022): second-order multistep on the data prediction.</summary>
    DpmSolverPlusPlus2M,
    /// <summary>Euler on the probability-flow ODE dx/dt = velocity.</summary>
    Euler,
    /// <summary>Heun (explicit trapezoid) on the probability-flow ODE, Euler on the last step (Karras et al. 2022).</summary>
    Heun,
    /// <summary>Euler-Maruyama on a reverse SDE with the same marginals.</summary>
    EulerMaruyama,
}

/// <summary>A sampler configuration.</summary>
/// <param name="Kind">Which sampler. Default DPM-Solver++(2M) (docs/diffusion.md has the numbers).</param>
/// <param name="Steps">Number of steps (model calls are Steps x ModelCallsPerStep).</param>
/// <param name="Shift">Timestep shift of the grid (1: none); see <see cref="Timesteps.ShiftForTokens"/>.</param>
/// <param name="Eta">Fresh noise per step: DDIM's eta (0 deterministic, 1 ancestral) and the Euler-Maruyama
/// diffusion scale (0 is the ODE). Other samplers ignore it.</param>
public sealed record SamplerConfig(
    SamplerKind Kind = SamplerKind.DpmSolverPlusPlus2M,
    int Steps = 25,
    double Shift = 1,
    double Eta = 0)
{
    /// <summary>Named configurations.</summary>
    public static IReadOnlyDictionary<string, SamplerConfig> Presets { get; } = new Dictionary<string, SamplerConfig>
    {
        ["dpm++2m"] = new(),                                                   // the default: 25 model calls
        ["ddim"] = new(SamplerKind.Ddim, 50),                                  // DiT / SD's classic 50 steps
        ["ddpm"] = new(SamplerKind.Ddim, 250, Eta: 1),                         // DiT's 250 ancestral steps
        ["euler"] = new(SamplerKind.Euler, 50),                                // SD3 / Open-Sora flow sampling
        ["heun"] = new(SamplerKind.Heun, 13),                                  // 25 model calls (last step is Euler)
        ["sde"] = new(SamplerKind.EulerMaruyama, 250, Eta: 1),                 // SiT's SDE sampling
    };

    /// <summary>The sampler for <paramref name="path"/>.</summary>
    public ISampler Create(IPath path)
    {
        var times = Timesteps.Grid(Steps, Shift);
        return Kind switch
        {
            SamplerKind.Ddim => new DdimSampler(path, times, Eta),
            SamplerKind.DpmSolverPlusPlus2M => new DpmSolverSampler(path, times),
            SamplerKind.Euler => new EulerSampler(path, times),
            SamplerKind.Heun => new HeunSampler(path, times),
            SamplerKind.EulerMaruyama => new EulerMaruyamaSampler(path, times, Eta),
            _ => throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "SamplerConfig: unknown sampler."),
        };
    }
}

/// <summary>What every sampler shares: the path, the grid, and calling the model at one time.</summary>
internal abstract class SamplerBase(IPath path, double[] times) : ISampler
{
    protected readonly IPath Path = path;
    protected readonly double[] Grid = times;

    public int Steps => Grid.Length - 1;
    public IReadOnlyList<double> Times => Grid;
    public virtual int ModelCallsPerStep => 1;

    public abstract StepOutput Step(int step, Tensor x, Func<Tensor, Tensor, Tensor> model, Tensor? previousDenoised = null,
                                    Rng? rng = null);

    /// <summary>The model at x and time t (broadcast to a (B) tensor).</summary>
    protected static Tensor Call(Func<Tensor, Tensor, Tensor> model, Tensor x, double t)
    {
        var output = model(x, Tensor.Full((float)t, x.Size(0)));
        if (!output.Shape.SequenceEqual(x.Shape))
            throw new InvalidOperationException($"Sampler: the model returned {output} for an input {x}; shapes must match.");
        return output;
    }

    /// <summary>Checks the step index and returns (t, tNext).</summary>
    protected (double T, double TNext) Interval(int step) =>
        step >= 0 && step < Steps ? (Grid[step], Grid[step + 1])
            : throw new ArgumentOutOfRangeException(nameof(step), step, $"Sampler: step must be in [0, {Steps}).");

    protected static Rng NeedRng(Rng? rng, string sampler) => rng ?? throw new ArgumentNullException(nameof(rng),
        $"{sampler}: a stochastic sampler needs the Rng that fixes its noise (pass the generation's Rng).");

    protected static Tensor Noise(Rng rng, Tensor like) => rng.Normal(like.Shape.ToArray());
}
