// Autograd: a reverse-mode tape. Each op that has an input needing a gradient appends a Node (its kind, inputs,
// output and a backward closure written next to the forward kernel in Ops/). Backward walks the tape from the end,
// calling each node whose output received a gradient; closures add into their inputs' gradients with Accumulate.
// The tape is per thread and is cut back when a TensorScope ends, so a step's records die with its activations.
namespace Spacetime.Engine;

/// <summary>Reverse-mode automatic differentiation over a per-thread tape, and the no-grad switch.</summary>
public static class Autograd
{
    internal sealed record Node(OpKind Kind, Tensor Output, Tensor[] Inputs, Action<Tensor> Backward);

    [ThreadStatic] static List<Node>? tape;
    [ThreadStatic] static int noGradDepth;

    static List<Node> Tape => tape ??= [];

    internal static int TapeLength => tape?.Count ?? 0;

    internal static void TruncateTape(int length)
    {
        if (tape is not null && tape.Count > length) tape.RemoveRange(length, tape.Count - length);
    }

    /// <summary>True unless inside <see cref="NoGrad"/>.</summary>
    public static bool IsEnabled => noGradDepth == 0;

    /// <summary>Turns recording off until the result is disposed (sampling, evaluation, optimizer updates).</summary>
    public static IDisposable NoGrad()
    {
        noGradDepth++;
        return new Enable();
    }

    sealed class Enable : IDisposable
    {
        bool done;
        public void Dispose()
        {
            if (done) return;
            done = true;
            noGradDepth--;
        }
    }

    /// <summary>True when an op on these inputs must be recorded.</summary>
    internal static bool Needs(Tensor a) => noGradDepth == 0 && a.RequiresGrad;
    internal static bool Needs(Tensor a, Tensor b) => noGradDepth == 0 && (a.RequiresGrad || b.RequiresGrad);
    internal static bool Needs(ReadOnlySpan<Tensor> inputs)
    {
        if (noGradDepth != 0) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>Records an op: <paramref name="backward"/> receives dL/d(output) (contiguous, output's shape).</summary>
    internal static Tensor Record(OpKind kind, Tensor output, Tensor[] inputs, Action<Tensor> backward)
    {
        output.RequiresGrad = true;
        var node = new Node(kind, output, inputs, backward);
        output.Node = node;
        Tape.Add(node);
        OpProfile.Forward(kind, output, inputs);
        return output;
    }

    /// <summary>
    /// Adds <paramref name="grad"/> into <paramref name="input"/>.Grad. <paramref name="fresh"/> says the closure made
    /// grad itself and nothing else holds it, so it can be stored without a copy.
    /// </summary>
    internal static void Accumulate(Tensor input, Tensor grad, bool fresh = false)
    {
        if (!input.RequiresGrad) return;
        if (!Shapes.Equal(input.Dims, grad.Dims))
            throw new InvalidOperationException($"Autograd: gradient of shape {Shapes.Format(grad.Dims)} for a tensor " +
                                                $"of shape {Shapes.Format(input.Dims)} (op {input.Node?.Kind}).");
        if (input.Grad is null)
        {
            // Leaf gradients outlive the step's scope (optimizers and accumulation read them later).
            if (input.IsLeaf) input.SetFirstGrad(grad);
            else input.Grad = fresh && grad.IsContiguous && grad.Offset == 0 ? grad : F.ContiguousCopy(grad);
        }
        else
        {
            F.AddInto(input.Grad, grad);
        }
    }

    /// <summary>
    /// Backpropagates from <paramref name="output"/>: fills Grad of every leaf that requires it. A one-element output
    /// is seeded with 1; otherwise pass <paramref name="gradOutput"/>. Leaf gradients accumulate across calls until
    /// zeroed (as in PyTorch); the tape is cleared afterwards.
    /// </summary>
    public static void Backward(Tensor output, Tensor? gradOutput = null)
    {
        if (!output.RequiresGrad)
            throw new InvalidOperationException("Backward: the tensor does not require grad (no input had RequiresGrad, " +
                                                "or it was computed under Autograd.NoGrad).");
        if (gradOutput is null && output.Count != 1)
            throw new ArgumentException($"Backward: output has shape {Shapes.Format(output.Dims)}; pass gradOutput " +
                                        "for outputs with more than one element.");
        if (gradOutput is not null && !Shapes.Equal(gradOutput.Dims, output.Dims))
            throw new ArgumentException($"Backward: gradOutput shape {Shapes.Format(gradOutput.Dims)} differs from " +
                                        $"the output shape {Shapes.Format(output.Dims)}.");
        var list = Tape;
        try
        {
            using var _ = NoGrad();
            var seed = gradOutput ?? Tensor.Ones(output.Dims);
            Accumulate(output, seed, fresh: gradOutput is null);
            for (int i = list.Count - 1; i >= 0; i--)
            {
                var node = list[i];
                var g = node.Output.Grad;
                if (g is null) continue;
                long start = OpProfile.BackwardStart();
                node.Backward(g);
                OpProfile.Backward(node.Kind, node.Output, node.Inputs, start);
                node.Output.Grad = null;           // non-leaf gradients are not kept (as in PyTorch)
            }
        }
        finally
        {
            list.Clear();                          // also after a failure, so the next step starts clean
        }
    }
}
