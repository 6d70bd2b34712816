// AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), the update of torch.optim.AdamW step by step:
//   p <- p (1 - lr wd)                              decoupled decay (skipped for no-decay parameters)
//   m <- m + (1 - b1) (g - m)                       first moment (torch lerp_)
//   v <- b2 v + (1 - b2) g^2                        second moment
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)      bias-corrected step
// State per parameter: exp_avg (m), exp_avg_sq (v) and step (t, a float scalar as PyTorch stores it).
using System.Numerics;
using Spacetime.Engine;

namespace Spacetime.Nn.Optim;

/// <summary>AdamW with PyTorch's semantics and defaults; weight decay can be turned off per parameter.</summary>
public sealed class AdamW : Optimizer
{
    readonly float beta1, beta2, eps, weightDecay;
    readonly Func<string, Tensor, bool> noDecay;

    /// <summary>nanoGPT's rule: parameters of rank &lt; 2 (biases, norm scales) get no weight decay.</summary>
    public static bool BiasesAndNorms(string name, Tensor param) => param.Rank < 2;

    /// <summary>Creates AdamW over named parameters. <paramref name="noDecay"/> picks parameters that get no weight
    /// decay (e.g. <see cref="BiasesAndNorms"/>); by default every parameter decays, as in PyTorch.</summary>
    public AdamW(IEnumerable<(string Name, Tensor Param)> parameters, float lr = 1e-3f, float beta1 = 0.9f,
                 float beta2 = 0.999f, float eps = 1e-8f, float weightDecay = 0.01f,
                 Func<string, Tensor, bool>? noDecay = null, Func<string, float>? lrScale = null) : base(parameters, lr)
    {
        if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1 && eps >= 0 && weightDecay >= 0 && lr >= 0))
            throw new ArgumentOutOfRangeException(nameof(parameters), $"AdamW: invalid hyperparameters lr {lr}, " +
                $"betas ({beta1}, {beta2}), eps {eps}, weight decay {weightDecay}; betas must be in [0, 1).");
        (this.beta1, this.beta2, this.eps, this.weightDecay) = (beta1, beta2, eps, weightDecay);
        this.noDecay = noDecay ?? ((_, _) => false);
        this.lrScale = lrScale;
    }

    // a parameter's learning rate as a multiple of Lr (null: 1 for every parameter), e.g. a slower text encoder
    readonly Func<string, float>? lrScale;

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Key, bool Scalar)> StateKeys =>
        [("exp_avg", false), ("exp_avg_sq", false), ("step", true)];

    /// <inheritdoc/>
    protected override void Update(string name, Tensor param, Tensor grad)
    {
        Tensor m = State(name, "exp_avg", param), v = State(name, "exp_avg_sq", param);
        var stepT = State(name, "step", param, scalar: true);
        float t = stepT.AsSpan()[0] += 1f;
        float lr = lrScale is null ? Lr : Lr * lrScale(name);
        float decay = noDecay(name, param) ? 1f : 1f - lr * weightDecay;
        float stepSize = lr / (1f - MathF.Pow(beta1, t));
        float bc2Sqrt = MathF.Sqrt(1f - MathF.Pow(beta2, t));
        float b1 = beta1, b2 = beta2, e = eps;
        ForChunks(param.Count, (s, end) =>
        {
            Span<float> p = param.AsSpan(), mm = m.AsSpan(), vv = v.AsSpan();
            ReadOnlySpan<float> g = grad.AsSpan();
            int i = s;
            // SIMD body: the same operations in the same order as the scalar tail (IEEE-exact, no FMA contraction),
            // so every element gets bitwise the same value whichever path computes it.
            int width = Vector<float>.Count;
            var vDecay = new Vector<float>(decay);
            var vB1c = new Vector<float>(1f - b1);
            var vB2 = new Vector<float>(b2);
            var vB2c = new Vector<float>(1f - b2);
            var vStep = new Vector<float>(stepSize);
            var vBc2 = new Vector<float>(bc2Sqrt);
            var vEps = new Vector<float>(e);
            for (; i + width <= end; i += width)
            {
                var pi = new Vector<float>(p.Slice(i, width)) * vDecay;
                var gi = new Vector<float>(g.Slice(i, width));
                var mi = new Vector<float>(mm.Slice(i, width));
                mi += vB1c * (gi - mi);
                var vi = vB2 * new Vector<float>(vv.Slice(i, width)) + vB2c * gi * gi;
                pi -= vStep * (mi / (Vector.SquareRoot(vi) / vBc2 + vEps));
                pi.CopyTo(p.Slice(i, width));
                mi.CopyTo(mm.Slice(i, width));
                vi.CopyTo(vv.Slice(i, width));
            }
            for (; i < end; i++)
            {
                p[i] *= decay;
                mm[i] += (1f - b1) * (g[i] - mm[i]);
                vv[i] = b2 * vv[i] + (1f - b2) * g[i] * g[i];
                p[i] -= stepSize * (mm[i] / (MathF.Sqrt(vv[i]) / bc2Sqrt + e));
            }
        });
    }
}
