// Module: the base of every layer and model. A module names its children with Add(name, child) and its tensors with
// Param(name, t) (trainable) or Buffer(name, t) (saved, not trained), in its constructor, in the order PyTorch's
// __init__ would create them. Nothing is found by reflection, so the state-dict keys and their order are exactly the
// registration order: "blocks.0.attn.qkv.weight" is child "blocks", its child "0", its child "attn", and so on.
//
// Parameters are leaf tensors with RequiresGrad = true, copied into GC-owned memory when registered, so they outlive
// every TensorScope. Modules hold no other resources and never override Dispose (there is none).
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>A layer or model: named child modules and named parameters, with PyTorch-style state-dict keys.</summary>
public abstract class Module
{
    readonly List<(string Name, Module Module)> children = [];
    readonly List<(string Name, Tensor Tensor, bool Trainable)> tensors = [];

    /// <summary>True in training mode (the default), false after <see cref="Eval"/>; dropout reads it.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Registers a child module under <paramref name="name"/> (a dotted name such as "adaLN_modulation.1"
    /// is allowed, to match a PyTorch nn.Sequential index) and returns it, for assignment to a field.</summary>
    protected T Add<T>(string name, T module) where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckNewName(name);
        if (ReferenceEquals(module, this))
            throw new ArgumentException($"{GetType().Name}.Add: a module cannot contain itself.");
        children.Add((name, module));
        return module;
    }

    /// <summary>Registers a trainable parameter: a GC-owned copy of <paramref name="value"/> with RequiresGrad set.
    /// Returns the parameter, for assignment to a field.</summary>
    protected Tensor Param(string name, Tensor value) => Register(name, value, trainable: true);

    /// <summary>Registers a buffer: saved in the state dict but not trained (a fixed position table, say).</summary>
    protected Tensor Buffer(string name, Tensor value) => Register(name, value, trainable: false);

    Tensor Register(string name, Tensor value, bool trainable)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckNewName(name);
        var t = value.CopyUnscoped();
        t.RequiresGrad = trainable;
        tensors.Add((name, t, trainable));
        return t;
    }

    void CheckNewName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Split('.').Any(s => s.Length == 0 || s.Any(char.IsWhiteSpace)))
            throw new ArgumentException($"{GetType().Name}: '{name}' is not a valid name (dot-separated, non-empty, " +
                                        "no spaces).");
        if (children.Any(c => c.Name == name) || tensors.Any(t => t.Name == name))
            throw new ArgumentException($"{GetType().Name}: the name '{name}' is already registered.");
    }

    /// <summary>The direct children, in registration order.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => children;

    /// <summary>This module and every descendant, depth first, with their dotted paths ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix, this);
        foreach (var (name, child) in children)
            foreach (var m in child.NamedModules(Join(prefix, name))) yield return m;
    }

    /// <summary>Every trainable parameter with its state-dict key, in stable order: own parameters first, then each
    /// child's, in registration order (as PyTorch's named_parameters for modules built in the same order).</summary>
    public IEnumerable<(string Name, Tensor Parameter)> NamedParameters() =>
        NamedTensors().Where(t => t.Trainable).Select(t => (t.Name, t.Tensor));

    /// <summary>Every trainable parameter, in the order of <see cref="NamedParameters"/>.</summary>
    public IEnumerable<Tensor> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>The total number of trainable scalars.</summary>
    public long ParameterCount => Parameters().Sum(p => (long)p.Count);

    IEnumerable<(string Name, Tensor Tensor, bool Trainable)> NamedTensors(string prefix = "")
    {
        foreach (var (name, t, trainable) in tensors) yield return (Join(prefix, name), t, trainable);
        foreach (var (name, child) in children)
            foreach (var t in child.NamedTensors(Join(prefix, name))) yield return t;
    }

    static string Join(string prefix, string name) => prefix.Length == 0 ? name : prefix + "." + name;

    /// <summary>Parameters and buffers by key, in the order of <see cref="NamedParameters"/> (buffers in place).
    /// The values are the module's own tensors, not copies.</summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var d = new OrderedDictionary<string, Tensor>();
        foreach (var (name, t, _) in NamedTensors())
            if (!d.TryAdd(name, t))
                throw new InvalidOperationException($"{GetType().Name}.StateDict: key '{name}' appears twice " +
                                                    "(a dotted child name collides with a nested one).");
        return d;
    }

    /// <summary>
    /// Copies values from <paramref name="state"/> into the parameters and buffers. A key whose shape differs is
    /// always an error; missing and unexpected keys are errors when <paramref name="strict"/>. All problems are
    /// reported together in one message, and nothing is copied unless the load succeeds.
    /// </summary>
    public LoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        var own = StateDict();
        var missing = own.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var misShaped = own.Where(kv => state.TryGetValue(kv.Key, out var s) && !s.Shape.SequenceEqual(kv.Value.Shape))
                           .Select(kv => $"{kv.Key} is {Format(state[kv.Key])} in the state dict but " +
                                         $"{Format(kv.Value)} in the model").ToList();
        var problems = new List<string>();
        if (misShaped.Count > 0) problems.Add($"{Count(misShaped.Count, "key")} with the wrong shape: " +
                                              string.Join("; ", misShaped));
        if (strict && missing.Count > 0) problems.Add($"{Count(missing.Count, "missing key")}: " +
                                                      string.Join(", ", missing));
        if (strict && unexpected.Count > 0) problems.Add($"{Count(unexpected.Count, "unexpected key")}: " +
                                                         string.Join(", ", unexpected));
        if (problems.Count > 0)
            throw new ArgumentException($"{GetType().Name}.LoadStateDict: {string.Join(". ", problems)}.");
        using (Autograd.NoGrad())
            foreach (var (key, t) in own)
                if (state.TryGetValue(key, out var s)) t.CopyFrom(s);
        return new LoadResult(missing, unexpected);
    }

    static string Format(Tensor t) => "(" + string.Join(", ", t.Shape.ToArray()) + ")";
    static string Count(int n, string what) => n == 1 ? $"1 {what}" : $"{n} {what}s";

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public void Train(bool training = true)
    {
        foreach (var (_, m) in NamedModules()) m.Training = training;
    }

    /// <summary>Sets evaluation mode (no dropout) on this module and every descendant.</summary>
    public void Eval() => Train(false);
}

/// <summary>What a non-strict <see cref="Module.LoadStateDict"/> skipped: model keys absent from the state dict,
/// and state-dict keys the model does not have.</summary>
public sealed record LoadResult(IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);
