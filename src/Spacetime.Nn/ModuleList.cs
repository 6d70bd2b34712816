// ModuleList: an indexed list of child modules whose state-dict keys are their positions ("blocks.0.attn...",
// "blocks.1.attn..."), as torch.nn.ModuleList. Modules are appended in order and never removed, so keys stay stable.
using System.Collections;

namespace Spacetime.Nn;

/// <summary>Child modules addressed by position; keys "0", "1", ...</summary>
public sealed class ModuleList<T> : Module, IReadOnlyList<T> where T : Module
{
    readonly List<T> items = [];

    /// <summary>An empty list; append with <see cref="Append"/>.</summary>
    public ModuleList() { }

    /// <summary>A list holding <paramref name="modules"/> in order.</summary>
    public ModuleList(IEnumerable<T> modules)
    {
        foreach (var m in modules) Append(m);
    }

    /// <summary>Appends <paramref name="module"/> under the key of its position and returns it.</summary>
    public T Append(T module)
    {
        items.Add(Add(items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
        return module;
    }

    /// <summary>The module at <paramref name="index"/>.</summary>
    public T this[int index] => items[index];

    /// <summary>How many modules the list holds.</summary>
    public int Count => items.Count;

    /// <summary>The modules in order.</summary>
    public IEnumerator<T> GetEnumerator() => items.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
