// Ema: an exponential moving average of a model's weights (DiT's update_ema), sampled from at inference time.
//   ema <- decay ema + (1 - decay) p        for every parameter and buffer, after each optimizer step
// The averaged weights are a state dict with the model's own keys, so they save to a checkpoint and load into a fresh
// model directly. SwapInto puts them into the model for evaluation and puts the trained weights back on Dispose.
using System.Numerics;
using Spacetime.Engine;

namespace Spacetime.Nn.Optim;

/// <summary>Exponential moving average of a module's parameters and buffers.</summary>
public sealed class Ema
{
    readonly OrderedDictionary<string, Tensor> shadow = new();

    /// <summary>Weight of the old average in each update (DiT uses 0.9999).</summary>
    public float Decay { get; set; }

    /// <summary>Starts the average at the model's current weights.</summary>
    public Ema(Module model, float decay = 0.9999f)
    {
        if (!(decay >= 0 && decay <= 1))
            throw new ArgumentOutOfRangeException(nameof(decay), decay, "Ema: decay must be in [0, 1].");
        Decay = decay;
        foreach (var (k, t) in model.StateDict()) shadow.Add(k, t.CopyUnscoped());
    }

    /// <summary>ema = decay * ema + (1 - decay) * model, in place, for every tensor.</summary>
    public void Update(Module model)
    {
        float d = Decay;
        using var _ = Autograd.NoGrad();
        foreach (var (k, p) in Match(model))
        {
            Span<float> e = shadow[k].AsSpan();
            ReadOnlySpan<float> x = p.AsSpan();
            // vector lanes, then the tail, with the same two products and one sum (no fused multiply-add), so every
            // element gets the same bits on either path
            var (vd, vc) = (new Vector<float>(d), new Vector<float>(1f - d));
            int i = 0;
            for (; i + Vector<float>.Count <= e.Length; i += Vector<float>.Count)
            {
                var ve = vd * new Vector<float>(e.Slice(i, Vector<float>.Count))
                       + vc * new Vector<float>(x.Slice(i, Vector<float>.Count));
                ve.CopyTo(e.Slice(i, Vector<float>.Count));
            }
            for (; i < e.Length; i++) e[i] = d * e[i] + (1f - d) * x[i];
        }
    }

    /// <summary>Copies the averaged weights into <paramref name="target"/> (same architecture).</summary>
    public void CopyTo(Module target) => target.LoadStateDict(shadow);

    /// <summary>Exchanges the model's weights with the averaged ones until the result is disposed:
    /// <c>using (ema.SwapInto(model)) Sample(model);</c></summary>
    public IDisposable SwapInto(Module model)
    {
        Swap(model);
        return new Restore(() => Swap(model));
    }

    void Swap(Module model)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (k, p) in Match(model))
        {
            Span<float> a = p.AsSpan(), b = shadow[k].AsSpan();
            for (int i = 0; i < a.Length; i++) (a[i], b[i]) = (b[i], a[i]);
        }
    }

    /// <summary>The averaged weights, keyed as the model's state dict (its own tensors, not copies).</summary>
    public OrderedDictionary<string, Tensor> StateDict() => new(shadow);

    /// <summary>Replaces the average with <paramref name="saved"/> (checked as a strict model state dict).</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> saved)
    {
        var problems = shadow.Keys.Where(k => !saved.ContainsKey(k)).Select(k => $"missing key {k}")
            .Concat(saved.Keys.Where(k => !shadow.ContainsKey(k)).Select(k => $"unexpected key {k}"))
            .Concat(shadow.Where(kv => saved.TryGetValue(kv.Key, out var s) && !s.Shape.SequenceEqual(kv.Value.Shape))
                          .Select(kv => $"{kv.Key} has the wrong shape")).ToList();
        if (problems.Count > 0) throw new ArgumentException($"Ema.LoadStateDict: {string.Join("; ", problems)}.");
        foreach (var (k, t) in shadow) t.CopyFrom(saved[k]);
    }

    IEnumerable<(string Key, Tensor Tensor)> Match(Module model)
    {
        var state = model.StateDict();
        if (state.Count != shadow.Count || state.Any(kv => !shadow.TryGetValue(kv.Key, out var s) ||
                                                           !s.Shape.SequenceEqual(kv.Value.Shape)))
            throw new ArgumentException($"Ema: {model.GetType().Name} does not have the keys and shapes this average " +
                                        "was made from.");
        return state.Select(kv => (kv.Key, kv.Value));
    }

    sealed class Restore(Action undo) : IDisposable
    {
        bool done;
        public void Dispose()
        {
            if (done) return;
            done = true;
            undo();
        }
    }
}
