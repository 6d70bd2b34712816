// In-place access for code outside the engine that owns long-lived tensors: optimizers update parameters and their
// state, EMA blends weights, LoadStateDict copies checkpoints in, initializers fill weights. None of these is
// recorded on the autograd tape; callers run them under Autograd.NoGrad (they are updates, not computations).
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public sealed partial class Tensor
{
    /// <summary>The elements as a dense row-major span, for in-place updates. Throws for a non-contiguous
    /// view.</summary>
    public Span<float> AsSpan() => Span;

    /// <summary>
    /// Copies <paramref name="source"/> (same shape, any layout) into this tensor's elements, in place and unrecorded.
    /// </summary>
    public void CopyFrom(Tensor source)
    {
        if (!Shapes.Equal(dims, source.Dims))
            throw new ArgumentException($"Tensor.CopyFrom: source shape {Shapes.Format(source.Dims)} differs from " +
                                        $"the destination shape {Shapes.Format(dims)}.");
        StridedKernels.Copy(Storage.Data, Offset, strides, source.Storage.Data, source.Offset, source.Strides, dims);
    }

    /// <summary>Sets every element to <paramref name="value"/>, in place and unrecorded.</summary>
    public void Fill(float value)
    {
        if (IsContiguous) Span.Fill(value);
        else CopyFrom(F.Expand(Scalar(value), dims));
    }

    /// <summary>
    /// A dense copy with no autograd history that the garbage collector owns, whatever TensorScope is open: for
    /// tensors that outlive a step (parameters, optimizer state, EMA weights).
    /// </summary>
    public Tensor CopyUnscoped() => F.CopyUnscoped(this);
}
