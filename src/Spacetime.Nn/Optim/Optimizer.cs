// Optimizer: what AdamW and Sgd share. An optimizer holds named parameters (the model's state-dict keys) and
// per-parameter state tensors keyed "<parameter>.<state>" (e.g. "blocks.0.attn.qkv.weight.exp_avg"), so a checkpoint
// can save the state as a flat tensor map and resume bit for bit. Updates write parameter storage in place under
// Autograd.NoGrad; a parameter whose Grad is null is skipped, as in PyTorch.
using Spacetime.Engine;
using Spacetime.Engine.Kernels;

namespace Spacetime.Nn.Optim;

/// <summary>A first-order optimizer over named parameters, with saveable per-parameter state.</summary>
public abstract class Optimizer
{
    readonly OrderedDictionary<string, Tensor> state = new();

    /// <summary>The parameters, with the names their state is saved under.</summary>
    protected IReadOnlyList<(string Name, Tensor Param)> Params { get; }

    /// <summary>The learning rate of the next <see cref="Step"/> (set it from a schedule before each step).</summary>
    public float Lr { get; set; }

    /// <summary>Takes named parameters (usually <c>model.NamedParameters()</c>).</summary>
    protected Optimizer(IEnumerable<(string Name, Tensor Param)> parameters, float lr)
    {
        Params = parameters.ToList();
        Lr = lr;
        var dup = Params.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
            throw new ArgumentException($"{GetType().Name}: parameter name '{dup.Key}' appears twice.");
        foreach (var (name, p) in Params)
            if (!p.IsContiguous || !p.IsLeaf)
                throw new ArgumentException($"{GetType().Name}: parameter '{name}' must be a dense leaf tensor.");
    }

    /// <summary>Applies one update to every parameter that has a gradient.</summary>
    public void Step()
    {
        using var _ = Autograd.NoGrad();
        foreach (var (name, p) in Params)
        {
            if (p.Grad is null) continue;
            if (!p.Grad.IsContiguous) p.Grad = p.Grad.CopyUnscoped();
            Update(name, p, p.Grad);
        }
    }

    /// <summary>Updates one parameter in place from its gradient (same shape, dense).</summary>
    protected abstract void Update(string name, Tensor param, Tensor grad);

    /// <summary>The state tensor <c>name.key</c>, made on first use as GC-owned zeros of the parameter's shape
    /// (or a 0-d scalar).</summary>
    protected Tensor State(string name, string key, Tensor param, bool scalar = false)
    {
        string k = name + "." + key;
        if (!state.TryGetValue(k, out var t))
        {
            t = (scalar ? Tensor.Scalar(0f) : Tensor.Zeros(param.Shape.ToArray())).CopyUnscoped();
            state.Add(k, t);
        }
        return t;
    }

    /// <summary>True when the state tensor <c>name.key</c> exists (a momentum buffer after the first step).</summary>
    protected bool HasState(string name, string key) => state.ContainsKey(name + "." + key);

    /// <summary>The state keys each parameter may have, with true for scalars (e.g. "step").</summary>
    protected abstract IReadOnlyList<(string Key, bool Scalar)> StateKeys { get; }

    /// <summary>Sets every parameter's gradient to null (PyTorch's zero_grad(set_to_none=True)), or zeroes the
    /// existing gradient buffers in place when <paramref name="setToNone"/> is false (no gradient arrays per step).
    /// </summary>
    public void ZeroGrad(bool setToNone = true) => Gradients.ZeroGrad(Params.Select(p => p.Param), setToNone);

    /// <summary>The optimizer state as tensors by name (the optimizer's own tensors, not copies).</summary>
    public OrderedDictionary<string, Tensor> StateDict() => new(state);

    /// <summary>Replaces the state with copies of <paramref name="saved"/>, after checking every key names a known
    /// parameter and state with the right shape; all problems are reported in one message.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> saved)
    {
        var expected = new Dictionary<string, int[]>();
        foreach (var (name, p) in Params)
            foreach (var (key, scalar) in StateKeys) expected[name + "." + key] = scalar ? [] : p.Shape.ToArray();
        var problems = new List<string>();
        foreach (var (k, t) in saved)
            if (!expected.TryGetValue(k, out var shape)) problems.Add($"unexpected key {k}");
            else if (!t.Shape.SequenceEqual(shape))
                problems.Add($"{k} is ({string.Join(", ", t.Shape.ToArray())}), expected ({string.Join(", ", shape)})");
        if (problems.Count > 0)
            throw new ArgumentException($"{GetType().Name}.LoadStateDict: {string.Join("; ", problems)}.");
        state.Clear();
        foreach (var (k, _) in expected)                   // parameter order, not file order
            if (saved.TryGetValue(k, out var t)) state.Add(k, t.CopyUnscoped());
    }

    /// <summary>Runs <paramref name="body"/> over [start, end) chunks of n elements on the Par threads.</summary>
    protected static void ForChunks(int n, Action<int, int> body) => Par.ForRange(n, 16, body);
}
