// SGD with momentum, as torch.optim.SGD (dampening 0):
//   d <- g + wd p                                   L2 weight decay (coupled, as PyTorch's SGD)
//   b <- d on the first step, else momentum b + d    momentum buffer
//   d <- d + momentum b (Nesterov) or d <- b
//   p <- p - lr d
// State per parameter: momentum_buffer (only when momentum is non-zero).
using Spacetime.Engine;

namespace Spacetime.Nn.Optim;

/// <summary>Stochastic gradient descent with optional (Nesterov) momentum and weight decay, as PyTorch.</summary>
public sealed class Sgd : Optimizer
{
    readonly float momentum, weightDecay;
    readonly bool nesterov;

    /// <summary>Creates SGD over named parameters.</summary>
    public Sgd(IEnumerable<(string Name, Tensor Param)> parameters, float lr, float momentum = 0f,
               bool nesterov = false, float weightDecay = 0f) : base(parameters, lr)
    {
        if (!(lr >= 0 && momentum >= 0 && weightDecay >= 0) || (nesterov && momentum == 0))
            throw new ArgumentOutOfRangeException(nameof(parameters), $"Sgd: invalid lr {lr}, momentum {momentum}, " +
                $"weight decay {weightDecay}; Nesterov needs a positive momentum.");
        (this.momentum, this.nesterov, this.weightDecay) = (momentum, nesterov, weightDecay);
    }

    /// <inheritdoc/>
    protected override IReadOnlyList<(string Key, bool Scalar)> StateKeys => [("momentum_buffer", false)];

    /// <inheritdoc/>
    protected override void Update(string name, Tensor param, Tensor grad)
    {
        bool first = !HasState(name, "momentum_buffer");
        var buf = momentum != 0 ? State(name, "momentum_buffer", param) : null;
        float lr = Lr, mu = momentum, wd = weightDecay;
        bool nest = nesterov;
        ForChunks(param.Count, (s, e) =>
        {
            Span<float> p = param.AsSpan(), b = buf is null ? default : buf.AsSpan();
            ReadOnlySpan<float> g = grad.AsSpan();
            for (int i = s; i < e; i++)
            {
                float d = g[i] + wd * p[i];
                if (buf is not null)
                {
                    b[i] = first ? d : mu * b[i] + d;
                    d = nest ? d + mu * b[i] : b[i];
                }
                p[i] -= lr * d;
            }
        });
    }
}
