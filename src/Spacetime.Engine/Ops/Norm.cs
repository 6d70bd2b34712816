// Softmax and normalisation ops, forward and backward together (kernels in Kernels/NormKernels.cs).
// Backward rules (dy is dL/d(out), xhat the normalised input, g = dy * weight):
//   softmax:     dx = y (dy - sum(dy y))                 log softmax: dx = dy - exp(y) sum(dy)
//   LayerNorm:   dx = rstd (g - mean(g) - xhat mean(g xhat)), dweight = sum dy xhat, dbias = sum dy (over rows)
//   RmsNorm:     dx = rstd (g - xhat mean(g xhat)),           dweight = sum dy xhat
//   GroupNorm:   as LayerNorm, with means over each (batch, group) and sums per channel
//   LayerNorm + modulate: g = dy (1 + scale), dscale = sum over tokens of dy xhat, dshift = sum over tokens of dy
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>softmax along <paramref name="dim"/>: exp(x - max) / sum exp(x - max), numerically stable.</summary>
    public static Tensor Softmax(Tensor x, int dim) => SoftmaxOp(OpKind.Softmax, x, dim);

    /// <summary>log softmax along <paramref name="dim"/>: (x - max) - log sum exp(x - max).</summary>
    public static Tensor LogSoftmax(Tensor x, int dim) => SoftmaxOp(OpKind.LogSoftmax, x, dim);

    static Tensor SoftmaxOp(OpKind kind, Tensor x, int dim)
    {
        int d = Shapes.Axis(dim, Math.Max(x.Rank, 1), kind.ToString());
        int K = x.Rank == 0 ? 1 : x.Dims[d], R = K == 0 ? 0 : x.Count / K;
        bool log = kind == OpKind.LogSoftmax;
        var xr = DimToLast(x, d);                                  // (R, K) rows, dense
        var yr = Tensor.Empty(xr.Dims);
        NormKernels.SoftmaxForward(yr.Storage.Data, xr.Storage.Data, xr.Offset, R, K, log);
        var y = DimToLast(yr, d);                                  // swapping back is the same transpose
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(kind, y, [x], dy =>
        {
            var gr = DimToLast(dy, d);
            var dxr = Tensor.Empty(gr.Dims);
            NormKernels.SoftmaxBackward(dxr.Storage.Data, gr.Storage.Data, gr.Offset, yr.Storage.Data, R, K, log);
            Autograd.Accumulate(x, DimToLast(dxr, d), fresh: true);
        });
    }

    // x with dims d and last swapped, dense; x itself (made dense) when d is already last. Not recorded.
    static Tensor DimToLast(Tensor x, int d)
    {
        if (x.Rank == 0 || d == x.Rank - 1) return x.IsContiguous ? x : ContiguousCopy(x);
        using var _ = Autograd.NoGrad();
        return ContiguousCopy(Transpose(x, d, -1));
    }

    /// <summary>
    /// LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias, with the biased variance (as
    /// PyTorch). weight and bias are (C) or null (no affine).
    /// </summary>
    public static Tensor LayerNorm(Tensor x, Tensor? weight, Tensor? bias, float eps = 1e-5f) =>
        LastDimNorm(OpKind.LayerNorm, x, weight, bias, eps);

    /// <summary>RMSNorm over the last dim: x / sqrt(mean(x^2) + eps) * weight; weight is (C) or null.</summary>
    public static Tensor RmsNorm(Tensor x, Tensor? weight, float eps = 1e-6f) =>
        LastDimNorm(OpKind.RmsNorm, x, weight, null, eps);

    static Tensor LastDimNorm(OpKind kind, Tensor x, Tensor? weight, Tensor? bias, float eps)
    {
        string op = kind.ToString();
        if (x.Rank == 0)
            throw new ArgumentException($"{op}: x must have at least one dim (the normalised one), got ().");
        int C = x.Dims[^1], N = Shapes.Count(x.Dims.AsSpan(0, x.Rank - 1));
        CheckChannels(op, "weight", weight, C, x);
        CheckChannels(op, "bias", bias, C, x);
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(x.Dims);                                // (N, C)
        var mean = kind == OpKind.LayerNorm ? Scratch(N) : null;     // (N), kept for backward
        var rstd = Scratch(N);                                       // (N)
        float[]? w = Dense(weight), b = Dense(bias);
        NormKernels.LayerNormForward(y.Storage.Data, mean, rstd, xc.Storage.Data, xc.Offset, w, b, N, C, eps);
        Tensor[] inputs = [x, .. new[] { weight, bias }.OfType<Tensor>()];
        if (!Autograd.Needs(inputs)) return y;
        return Autograd.Record(kind, y, inputs, dy =>
        {
            var dx = x.RequiresGrad ? Tensor.Empty(x.Dims) : null;
            var dw = weight is { RequiresGrad: true } ? Tensor.Empty(C) : null;
            var db = bias is { RequiresGrad: true } ? Tensor.Empty(C) : null;
            NormKernels.LayerNormBackward(dx?.Storage.Data, dw?.Storage.Data, db?.Storage.Data, dy.Storage.Data,
                                          dy.Offset, xc.Storage.Data, xc.Offset, w, mean, rstd, N, C);
            if (dx is not null) Autograd.Accumulate(x, dx, fresh: true);
            if (dw is not null) Autograd.Accumulate(weight!, dw, fresh: true);
            if (db is not null) Autograd.Accumulate(bias!, db, fresh: true);
        });
    }

    /// <summary>
    /// GroupNorm as torch.nn.functional.group_norm: x is (B, C, *spatial) of rank 2 or more; channels are split into
    /// <paramref name="groups"/> groups, each normalised over its channels and all spatial positions; then the
    /// per-channel affine weight[c], bias[c] (each (C) or null).
    /// </summary>
    public static Tensor GroupNorm(Tensor x, int groups, Tensor? weight, Tensor? bias, float eps = 1e-5f)
    {
        if (x.Rank < 2)
            throw new ArgumentException($"GroupNorm: x must be (B, C, *spatial), got shape {Shapes.Format(x.Dims)}.");
        int B = x.Dims[0], C = x.Dims[1], S = Shapes.Count(x.Dims.AsSpan(2)), G = groups;
        if (G <= 0 || C % G != 0)
            throw new ArgumentException($"GroupNorm: {G} groups do not divide the {C} channels of x " +
                                        $"{Shapes.Format(x.Dims)} (expected a positive divisor of {C}).");
        CheckChannels("GroupNorm", "weight", weight, C, x);
        CheckChannels("GroupNorm", "bias", bias, C, x);
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(x.Dims);                                // (B, C, S)
        float[] mean = Scratch(B * G), rstd = Scratch(B * G);        // (B, G), kept for backward
        float[]? w = Dense(weight), b = Dense(bias);
        NormKernels.GroupNormForward(y.Storage.Data, mean, rstd, xc.Storage.Data, xc.Offset, w, b, B, C, S, G, eps);
        Tensor[] inputs = [x, .. new[] { weight, bias }.OfType<Tensor>()];
        if (!Autograd.Needs(inputs)) return y;
        return Autograd.Record(OpKind.GroupNorm, y, inputs, dy =>
        {
            var dx = x.RequiresGrad ? Tensor.Empty(x.Dims) : null;
            var dw = weight is { RequiresGrad: true } ? Tensor.Empty(C) : null;
            var db = bias is { RequiresGrad: true } ? Tensor.Empty(C) : null;
            NormKernels.GroupNormBackward(dx?.Storage.Data, dw?.Storage.Data, db?.Storage.Data, dy.Storage.Data,
                                          dy.Offset, xc.Storage.Data, xc.Offset, w, mean, rstd, B, C, S, G);
            if (dx is not null) Autograd.Accumulate(x, dx, fresh: true);
            if (dw is not null) Autograd.Accumulate(weight!, dw, fresh: true);
            if (db is not null) Autograd.Accumulate(bias!, db, fresh: true);
        });
    }

    /// <summary>
    /// DiT's modulate(norm(x), shift, scale) in one kernel: LayerNorm(x) without affine, times (1 + scale), plus
    /// shift. x is (B, N, D); shift and scale are (B, D), one vector per sample. Recorded as OpKind.LayerNorm.
    /// </summary>
    public static Tensor LayerNormModulate(Tensor x, Tensor shift, Tensor scale, float eps = 1e-6f)
    {
        if (x.Rank != 3)
            throw new ArgumentException($"LayerNormModulate: x must be (B, N, D), got shape {Shapes.Format(x.Dims)}.");
        int B = x.Dims[0], N = x.Dims[1], D = x.Dims[2];
        foreach (var (name, t) in new[] { ("shift", shift), ("scale", scale) })
            if (t.Rank != 2 || t.Dims[0] != B || t.Dims[1] != D)
                throw new ArgumentException($"LayerNormModulate: {name} has shape {Shapes.Format(t.Dims)}, expected " +
                                            $"(B, D) = ({B}, {D}) for x {Shapes.Format(x.Dims)}.");
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(x.Dims);                                // (B, N, D)
        float[] mean = Scratch(B * N), rstd = Scratch(B * N);        // (B * N), kept for backward
        float[] sh = Dense(shift)!, sc = Dense(scale)!;
        NormKernels.LayerNormModulateForward(y.Storage.Data, mean, rstd, xc.Storage.Data, xc.Offset, sh, sc,
                                             B, N, D, eps);
        if (!Autograd.Needs([x, shift, scale])) return y;
        return Autograd.Record(OpKind.LayerNorm, y, [x, shift, scale], dy =>
        {
            // x's gradient usually exists already (the residual stream: the block's GatedAdd ran its backward first
            // and gave x its buffer), and then dx is added into it in the same pass rather than made and added after
            var into = x.RequiresGrad && x.Grad is { IsContiguous: true, Offset: 0 } g ? g : null;
            var dx = x.RequiresGrad && into is null ? Tensor.Empty(x.Dims) : null;
            var dsh = shift.RequiresGrad ? Tensor.Empty(B, D) : null;
            var dsc = scale.RequiresGrad ? Tensor.Empty(B, D) : null;
            NormKernels.LayerNormModulateBackward((into ?? dx)?.Storage.Data, dsh?.Storage.Data, dsc?.Storage.Data,
                                                  dy.Storage.Data, dy.Offset, xc.Storage.Data, xc.Offset, sc,
                                                  mean, rstd, B, N, D, accumulate: into is not null);
            if (dx is not null) Autograd.Accumulate(x, dx, fresh: true);
            if (dsh is not null) Autograd.Accumulate(shift, dsh, fresh: true);
            if (dsc is not null) Autograd.Accumulate(scale, dsc, fresh: true);
        });
    }

    static void CheckChannels(string op, string name, Tensor? t, int C, Tensor x)
    {
        if (t is not null && (t.Rank != 1 || t.Dims[0] != C))
            throw new ArgumentException($"{op}: {name} has shape {Shapes.Format(t.Dims)}, expected ({C}) to match " +
                                        $"the channels of x {Shapes.Format(x.Dims)}.");
    }

    // A pooled buffer of n floats for per-row statistics (freed with the scope, like the activations).
    static float[] Scratch(int n) => Tensor.Empty(n).Storage.Data;

    // The elements of a small tensor (weights, modulation vectors) as an array starting at index 0; null for null.
    static float[]? Dense(Tensor? t) =>
        t is null ? null : t.IsContiguous && t.Offset == 0 ? t.Storage.Data : ContiguousCopy(t).Storage.Data;
}
