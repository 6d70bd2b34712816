// DDPM's variance-preserving path (Ho et al. 2020): x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, with abar the cumulative
// product of (1 - beta) over a table of N = 1000 betas. Three beta schedules:
//   Linear       beta from 1e-4 to 0.02 (DDPM, DiT; abar(1) = 4.0e-5, so t = 1 still holds 0.6% of the signal)
//   ScaledLinear sqrt(beta) linear from sqrt(0.00085) to sqrt(0.012) (Stable Diffusion; abar(1) = 4.7e-3)
//   Cosine       abar(u) = f(u) / f(0), f(u) = cos((u + 0.008) / 1.008 * pi / 2)^2, betas clipped at 0.999
//                (Nichol & Dhariwal 2021, "improved DDPM")
// Continuous time: grid point t_k = k / N holds abar_k = prod_{j<k} (1 - beta_j) (abar_0 = 1, the data), so DDPM's
// 0-based timestep index k corresponds to t = (k + 1) / N and a DiT trained on indices sees timestep t N - 1.
// Between grid points log abar is interpolated linearly, which keeps alpha, sigma and their derivatives in closed form.
namespace Spacetime.Diffusion;

/// <summary>DDPM beta schedules (diffusers' `beta_schedule`).</summary>
public enum Schedule
{
    /// <summary>beta linear from 1e-4 to 0.02 (DDPM, DiT).</summary>
    Linear,
    /// <summary>The improved-DDPM cosine schedule.</summary>
    Cosine,
    /// <summary>sqrt(beta) linear from sqrt(0.00085) to sqrt(0.012) (Stable Diffusion).</summary>
    ScaledLinear,
}

/// <summary>The DDPM variance-preserving path over a table of betas (alpha^2 + sigma^2 = 1).</summary>
public sealed class VpPath : IPath
{
    readonly double[] logAbar;          // (N + 1): log abar at t = k / N; logAbar[0] = 0

    /// <inheritdoc/>
    public Prediction Prediction { get; }

    /// <summary>The beta schedule.</summary>
    public Schedule Schedule { get; }

    /// <summary>Number of DDPM steps N in the beta table.</summary>
    public int TrainSteps { get; }

    /// <summary>A VP path with <paramref name="trainSteps"/> betas from <paramref name="schedule"/>.</summary>
    public VpPath(Schedule schedule, Prediction prediction = Prediction.Epsilon, int trainSteps = 1000)
    {
        if (trainSteps < 1) throw new ArgumentOutOfRangeException(nameof(trainSteps), trainSteps, "VpPath: need at least one step.");
        (Schedule, Prediction, TrainSteps) = (schedule, prediction, trainSteps);
        var betas = Betas(schedule, trainSteps);
        logAbar = new double[trainSteps + 1];
        for (int k = 0; k < trainSteps; k++) logAbar[k + 1] = logAbar[k] + Math.Log(1 - betas[k]);
    }

    /// <summary>The beta table of a schedule, as in DDPM / diffusers.</summary>
    internal static double[] Betas(Schedule schedule, int n)
    {
        var b = new double[n];
        double Lin(double lo, double hi, int k) => n == 1 ? lo : lo + (hi - lo) * k / (n - 1);
        static double F(double u) => Math.Pow(Math.Cos((u + 0.008) / 1.008 * Math.PI / 2), 2);
        for (int k = 0; k < n; k++)
            b[k] = schedule switch
            {
                Schedule.Linear => Lin(1e-4, 0.02, k),
                Schedule.ScaledLinear => Math.Pow(Lin(Math.Sqrt(0.00085), Math.Sqrt(0.012), k), 2),
                Schedule.Cosine => Math.Min(1 - F((k + 1.0) / n) / F((double)k / n), 0.999),
                _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "VpPath: unknown schedule."),
            };
        return b;
    }

    /// <inheritdoc/>
    public PathPoint At(double t)
    {
        if (!(t >= 0 && t <= 1)) throw new ArgumentOutOfRangeException(nameof(t), t, "VpPath: t must be in [0, 1].");
        int n = TrainSteps;
        int k = Math.Min((int)(t * n), n - 1);                    // segment [k / N, (k + 1) / N]
        double slope = n * (logAbar[k + 1] - logAbar[k]);         // d log abar / dt, < 0
        double logA = logAbar[k] + (t * n - k) * (logAbar[k + 1] - logAbar[k]);
        double abar = Math.Exp(logA);
        double alpha = Math.Exp(logA / 2), sigma = Math.Sqrt(-double.ExpM1(logA));
        // alpha' = alpha slope / 2;  2 sigma sigma' = -abar slope  (sigma' is +inf at t = 0, where sigma = 0)
        return new PathPoint(alpha, sigma, alpha * slope / 2, -abar * slope / (2 * sigma));
    }

    /// <inheritdoc/>
    public override string ToString() => $"VpPath({Schedule}, {Prediction}, N={TrainSteps})";
}
