// The experiment behind docs/diffusion.md: every objective x sampler on the two-bump mixture with the exact model, so
// the only errors are the sampler's (and, from pure noise, the schedule's terminal signal). Slow; prints markdown.
//   dotnet test tests/Spacetime.Tests -c Release --filter "FullyQualifiedName~SamplerStudy" --logger "console;verbosity=detailed"
using Spacetime.Diffusion;
using Spacetime.Engine;
using Xunit.Abstractions;

namespace Spacetime.Tests.Diffusion;

public class SamplerStudy(ITestOutputHelper output)
{
    const int N = 16384;
    static readonly string[] Objectives = ["RF", "DDPM-eps", "DDPM-v", "SD-v"];
    static readonly int[] Budgets = [10, 20, 40, 80];                  // model calls

    static SamplerConfig Config(SamplerKind kind, int calls, double eta = 0) =>
        // Heun spends 2 calls per step except the last: steps = (calls + 1) / 2 gives calls - 1 or calls evaluations
        new(kind, kind == SamplerKind.Heun ? (calls + 1) / 2 : calls, Eta: eta);

        [Fact, Trait("Category", "Slow")]
    public void Study_ErrorVsModelCalls_Table()
    {
        var data = Mixture.TwoBumps;
        output.WriteLine($"Data: {data.Weights[0]} N({data.Means[0]}, {data.Stds[0]}^2) + {data.Weights[1]} N({data.Means[1]}, {data.Stds[1]}^2), {N} samples, exact model.");
        output.WriteLine("");
        output.WriteLine("ODE error: mean |x - x_exact| at t = 0, same start x1 drawn from the exact marginal at t = 1 (discretisation only).");
        output.WriteLine("");
        output.WriteLine("| objective | sampler | " + string.Join(" | ", Budgets.Select(b => $"~{b} calls")) + " |");
        output.WriteLine("|---|---|" + string.Concat(Budgets.Select(_ => "---|")));
        foreach (var name in Objectives)
        {
            var path = PathConfig.Presets[name].Create();
            var oracle = new ExactDenoiser(path, data);
            var x1 = oracle.Start(N, new Rng(1));
            var exact = oracle.ExactFlow(x1);
            foreach (var kind in new[] { SamplerKind.Ddim, SamplerKind.DpmSolverPlusPlus2M, SamplerKind.Euler, SamplerKind.Heun })
            {
                var cells = Budgets.Select(b =>
                {
                    var sampler = Config(kind, b).Create(path);
                    var x = ExactDenoiser.Sample(sampler, oracle.Model, x1).ToArray();
                    return $"{x.Select((v, i) => Math.Abs(v - exact[i])).Average():E1}";
                });
                output.WriteLine($"| {name} | {kind} | {string.Join(" | ", cells)} |");
            }
        }

        // From pure noise, as a pipeline starts. Deterministic samplers get a stratified start x1_i = Phi^-1((i + 1/2) / N),
        // so their W1 has no Monte-Carlo part (its floor is ~1/N); stochastic samplers are Monte-Carlo.
        var stratified = Tensor.From(Enumerable.Range(0, N).Select(i => (float)Mixture.Gaussian(0, 1).Quantile((i + 0.5) / N)).ToArray(), N, 1);
        var random = new Rng(2).Normal(N, 1);
        output.WriteLine("");
        output.WriteLine("Distribution error from pure N(0, 1) noise: W1 to the data distribution. ODE samplers from a stratified start " +
                         $"(no Monte-Carlo error); stochastic ones from {N} random draws (floor for {N} exact draws: " +
                         $"{W1(Enumerable.Range(0, N).Select(_ => data.Draw(floorRng)).ToArray(), data):E1}).");
        output.WriteLine("");
        output.WriteLine("| objective | sampler | " + string.Join(" | ", Budgets.Select(b => $"~{b} calls")) + " |");
        output.WriteLine("|---|---|" + string.Concat(Budgets.Select(_ => "---|")));
        foreach (var name in Objectives)
        {
            var path = PathConfig.Presets[name].Create();
            var oracle = new ExactDenoiser(path, data);
            foreach (var (kind, eta) in new[] { (SamplerKind.Ddim, 0.0), (SamplerKind.DpmSolverPlusPlus2M, 0), (SamplerKind.Euler, 0),
                                                (SamplerKind.Heun, 0), (SamplerKind.Ddim, 1), (SamplerKind.EulerMaruyama, 1) })
            {
                var cells = Budgets.Select(b =>
                {
                    var sampler = Config(kind, b, eta).Create(path);
                    var x = ExactDenoiser.Sample(sampler, oracle.Model, eta > 0 ? random : stratified, new Rng(3)).ToArray();
                    return $"{W1(x.Select(v => (double)v).ToArray(), data):E1}";
                });
                output.WriteLine($"| {name} | {kind}{(eta > 0 ? $" eta={eta}" : "")} | {string.Join(" | ", cells)} |");
            }
        }
    }

    readonly Rng floorRng = new(4);

    // W1 between the empirical distribution of x and the data: integral of |F_n - F| over a fine grid.
    static double W1(double[] x, Mixture data)
    {
        Array.Sort(x);
        double lo = Math.Min(x[0], -6), hi = Math.Max(x[^1], 6), dx = 1e-3, sum = 0;
        int j = 0;
        for (double z = lo; z < hi; z += dx)
        {
            while (j < x.Length && x[j] <= z) j++;
            sum += Math.Abs((double)j / x.Length - data.Cdf(z, 1, 0)) * dx;
        }
        return sum;
    }
}
