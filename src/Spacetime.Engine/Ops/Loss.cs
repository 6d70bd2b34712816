// Regularisation and losses, forward and backward together (kernels in Kernels/LossKernels.cs). Losses return a
// 0-d tensor: the mean over elements (or over rows, for cross-entropy). Backward rules (g = dL/dloss):
//   dropout:        dx = dy * mask, mask = keep / (1 - p)
//   MSE:            dpred = g 2 (pred - target) w / sum w, dtarget = -dpred, dw = g ((pred - target)^2 - loss) / sum w
//   L1:             dpred = g sign(pred - target) / n,  dtarget = -dpred
//   cross-entropy:  dlogits = g (softmax(logits) - (1 - eps) onehot - eps / C) / (rows not ignored)
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>
    /// Dropout: in training, keeps each element with probability 1 - <paramref name="p"/> and scales it by
    /// 1 / (1 - p); the identity when !training or p == 0. Element i's decision is the uniform number at position
    /// rng.Counter + i (so it is the same on any thread count); the generator advances by x.Count.
    /// </summary>
    public static Tensor Dropout(Tensor x, float p, Rng rng, bool training = true)
    {
        if (!(p >= 0f && p < 1f))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"Dropout: p must be in [0, 1), got {p}.");
        if (!training || p == 0f) return x;
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(x.Dims);
        var mask = Tensor.Empty(x.Dims);                        // uniforms, then keep / (1 - p); kept for backward
        rng.FillUniform(mask.Span);
        LossKernels.DropoutForward(y.Storage.Data, mask.Storage.Data, xc.Storage.Data, xc.Offset, x.Count, p);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Dropout, y, [x], dy =>
        {
            var dx = Tensor.Empty(x.Dims);
            LossKernels.DropoutBackward(dx.Storage.Data, dy.Storage.Data, dy.Offset, mask.Storage.Data, x.Count);
            Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    /// <summary>Mean squared error: mean over all elements of (pred - target)^2. The shapes must match.</summary>
    public static Tensor MseLoss(Tensor pred, Tensor target) => ErrorLoss(OpKind.MseLoss, pred, target, null);

    /// <summary>
    /// Weighted (masked) mean squared error: sum(w (pred - target)^2) / sum(w), with <paramref name="weight"/>
    /// broadcast to pred's shape (e.g. a (B, 1, T, 1, 1) frame mask). NaN when the weights sum to 0.
    /// </summary>
    public static Tensor MseLoss(Tensor pred, Tensor target, Tensor weight) =>
        ErrorLoss(OpKind.MseLoss, pred, target, weight);

    /// <summary>Mean absolute error: mean over all elements of |pred - target|. The shapes must match.</summary>
    public static Tensor L1Loss(Tensor pred, Tensor target) => ErrorLoss(OpKind.L1Loss, pred, target, null);

    static Tensor ErrorLoss(OpKind kind, Tensor pred, Tensor target, Tensor? weight)
    {
        if (!Shapes.Equal(pred.Dims, target.Dims))
            throw new ArgumentException($"{kind}: pred {Shapes.Format(pred.Dims)} and target " +
                                        $"{Shapes.Format(target.Dims)} must have the same shape.");
        if (weight is not null && !Shapes.Equal(Shapes.Broadcast(weight.Dims, pred.Dims, kind.ToString()), pred.Dims))
            throw new ArgumentException($"{kind}: weight {Shapes.Format(weight.Dims)} does not broadcast to pred " +
                                        $"{Shapes.Format(pred.Dims)}.");
        bool squared = kind == OpKind.MseLoss;
        int n = pred.Count;
        var p = pred.IsContiguous ? pred : ContiguousCopy(pred);
        var t = target.IsContiguous ? target : ContiguousCopy(target);
        float[]? w = null;
        if (weight is not null)
            using (Autograd.NoGrad())
                w = ContiguousCopy(Expand(weight, pred.Dims)).Storage.Data;     // (pred's shape), dense
        var (sum, weightSum) = LossKernels.ErrorSum(p.Storage.Data, p.Offset, t.Storage.Data, t.Offset, w, n, squared);
        float loss = (float)(sum / weightSum);                                  // 0 / 0 = NaN for no elements
        var y = Tensor.Scalar(loss);
        Tensor[] inputs = weight is null ? [pred, target] : [pred, target, weight];
        if (!Autograd.Needs(inputs)) return y;
        return Autograd.Record(kind, y, inputs, dy =>
        {
            float g = dy.Storage.Data[dy.Offset];
            var dp = pred.RequiresGrad ? Tensor.Empty(pred.Dims) : null;
            var dt = target.RequiresGrad ? Tensor.Empty(pred.Dims) : null;
            var dw = weight is { RequiresGrad: true } ? Tensor.Empty(pred.Dims) : null;
            LossKernels.ErrorBackward(dp?.Storage.Data, dt?.Storage.Data, dw?.Storage.Data, p.Storage.Data, p.Offset,
                                      t.Storage.Data, t.Offset, w, n, squared, g, (float)weightSum, loss);
            if (dp is not null) Autograd.Accumulate(pred, dp, fresh: true);
            if (dt is not null) Autograd.Accumulate(target, dt, fresh: true);
            if (dw is not null) Autograd.Accumulate(weight!, SumTo(dw, weight!.Dims), fresh: true);
        });
    }

    /// <summary>
    /// Cross-entropy of <paramref name="logits"/> (N, C) against class indices <paramref name="targets"/> (N), as
    /// torch.nn.functional.cross_entropy: the mean over rows whose target is not <paramref name="ignoreIndex"/>
    /// (NaN when every row is ignored), with optional label smoothing eps (targets become (1 - eps) one-hot + eps / C).
    /// </summary>
    public static Tensor CrossEntropy(Tensor logits, int[] targets, int ignoreIndex = -100, float labelSmoothing = 0f)
    {
        if (logits.Rank != 2)
            throw new ArgumentException($"CrossEntropy: logits must be (N, C), got shape " +
                                        $"{Shapes.Format(logits.Dims)}.");
        int N = logits.Dims[0], C = logits.Dims[1];
        if (targets.Length != N)
            throw new ArgumentException($"CrossEntropy: {targets.Length} targets for logits " +
                                        $"{Shapes.Format(logits.Dims)} (expected {N}, one per row).");
        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), labelSmoothing,
                                                  "CrossEntropy: label smoothing must be in [0, 1].");
        int count = 0;
        for (int i = 0; i < N; i++)
        {
            if (targets[i] == ignoreIndex) continue;
            if ((uint)targets[i] >= (uint)C)
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i],
                    $"CrossEntropy: target {targets[i]} at index {i} is outside [0, {C}) for logits " +
                    $"{Shapes.Format(logits.Dims)} (C = {C}).");
            count++;
        }
        var x = logits.IsContiguous ? logits : ContiguousCopy(logits);
        var rowLoss = Tensor.Empty(N).Storage.Data;                            // (N)
        var lse = Tensor.Empty(N).Storage.Data;                                // (N), kept for backward
        var tg = (int[])targets.Clone();                                       // the caller may reuse its array
        LossKernels.CrossEntropyForward(rowLoss, lse, x.Storage.Data, x.Offset, tg, N, C, ignoreIndex, labelSmoothing);
        double sum = 0;
        for (int i = 0; i < N; i++) sum += rowLoss[i];                         // in row order: any thread count
        var y = Tensor.Scalar((float)(sum / count));
        if (!Autograd.Needs(logits)) return y;
        return Autograd.Record(OpKind.CrossEntropy, y, [logits], dy =>
        {
            var dx = Tensor.Empty(N, C);
            float scale = dy.Storage.Data[dy.Offset] / count;
            LossKernels.CrossEntropyBackward(dx.Storage.Data, x.Storage.Data, x.Offset, lse, tg, N, C, ignoreIndex,
                                             labelSmoothing, scale);
            Autograd.Accumulate(logits, dx, fresh: true);
        });
    }
}
