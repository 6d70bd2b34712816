// TensorScope: frees a step's activations. Open one per training step or sampler step; every tensor made inside
// borrows a pooled buffer that goes back when the scope ends, so hot loops stop allocating after the first step.
//
//     using (var scope = TensorScope.Begin())
//     {
//         var loss = model.Forward(x) ...;
//         loss.Backward();
//         optimizer.Step();
//         keep = scope.Keep(prediction);     // survives into the enclosing scope
//     }
namespace Spacetime.Engine;

/// <summary>A region whose tensors are freed together. Scopes nest per thread.</summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? current;

    readonly TensorScope? parent;
    readonly List<Storage> owned = [];
    readonly int tapeMark;
    bool disposed;

    TensorScope(TensorScope? parent, int tapeMark) => (this.parent, this.tapeMark) = (parent, tapeMark);

    internal static TensorScope? Current => current;

    /// <summary>Opens a scope on this thread; dispose it to free what was made inside.</summary>
    public static TensorScope Begin() => current = new TensorScope(current, Autograd.TapeLength);

    internal void Track(Storage s) => owned.Add(s);

    /// <summary>Moves a tensor (and its gradient) out of this scope into the enclosing one, or to the GC at top level.</summary>
    public Tensor Keep(Tensor t)
    {
        KeepStorage(t.Storage);
        if (t.Grad is not null) KeepStorage(t.Grad.Storage);
        return t;
    }

    void KeepStorage(Storage s)
    {
        if (!owned.Remove(s)) return;          // made elsewhere: nothing to move
        if (parent is not null) parent.owned.Add(s);
        else s.Unpool();
    }

    /// <summary>Returns every buffer made in this scope to the pool and drops its autograd records.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (current != this)
            throw new InvalidOperationException("TensorScope: scopes must be disposed in the reverse order of Begin.");
        Autograd.TruncateTape(tapeMark);
        foreach (var s in owned) s.Release();
        owned.Clear();
        current = parent;
    }
}
