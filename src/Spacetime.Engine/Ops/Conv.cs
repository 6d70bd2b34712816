// Convolution, pooling and resampling ops on images (B, C, H, W) and videos (B, C, T, H, W). An image is laid out
// like a one-frame video, so all of them run the video kernels of Kernels/ConvKernels.cs (T = 1 for images).
// A convolution runs the direct SIMD kernels (v3) where ConvKernels.UsesDirect says they apply (any kernel but
// 1x1x1, padding < kernel, AVX2 or AVX-512), else im2col + GEMM (v2), else the float64 reference (v1).
// Backward rules (dy is dL/d(out)):
//   conv:     dW = sum_b dy_b · im2col(x_b)^T   dx_b = col2im(W^T · dy_b)   db = dy summed over b and positions
//   avgpool:  each input gets dy of its window / window size
//   upsample: each input gets the sum of dy over the block it was copied to
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>
    /// 2-d convolution (torch.nn.functional.conv2d without dilation or groups): x (B, C, H, W), weight
    /// (O, C, kh, kw), bias (O) or null; output (B, O, Ho, Wo) with Ho = (H + 2 padding.H - kh) / stride.H + 1.
    /// The default stride is (1, 1), the default padding (0, 0); padding is zeros on both sides.
    /// </summary>
    public static Tensor Conv2d(Tensor x, Tensor weight, Tensor? bias, (int H, int W) stride = default,
                                (int H, int W) padding = default)
    {
        if (stride == default) stride = (1, 1);
        if (x.Rank != 4 || weight.Rank != 4)
            throw new ArgumentException($"Conv2d: input {Shapes.Format(x.Dims)} and weight " +
                $"{Shapes.Format(weight.Dims)}; expected input (B, C, H, W) and weight (O, C, kh, kw).");
        int[] xd = x.Dims, wd = weight.Dims;
        var s = new ConvShape(xd[0], xd[1], 1, xd[2], xd[3], wd[0], 1, wd[2], wd[3],
                              1, stride.H, stride.W, 0, padding.H, padding.W);
        CheckConv("Conv2d", x, weight, bias, s, $"({stride.H}, {stride.W})", $"({padding.H}, {padding.W})");
        return Convolution(OpKind.Conv2d, x, weight, bias, s, [s.B, s.O, s.Ho, s.Wo]);
    }

    /// <summary>
    /// 3-d convolution over videos: x (B, C, T, H, W), weight (O, C, kt, kh, kw), bias (O) or null; output
    /// (B, O, To, Ho, Wo). The default stride is (1, 1, 1), the default padding zeros. Padding is symmetric; for
    /// causal time padding call <c>Pad(x, [0, 0, 0, 0, kt - 1, 0])</c> first and pass padding T = 0.
    /// </summary>
    public static Tensor Conv3d(Tensor x, Tensor weight, Tensor? bias, (int T, int H, int W) stride = default,
                                (int T, int H, int W) padding = default)
    {
        if (stride == default) stride = (1, 1, 1);
        if (x.Rank != 5 || weight.Rank != 5)
            throw new ArgumentException($"Conv3d: input {Shapes.Format(x.Dims)} and weight " +
                $"{Shapes.Format(weight.Dims)}; expected input (B, C, T, H, W) and weight (O, C, kt, kh, kw).");
        int[] xd = x.Dims, wd = weight.Dims;
        var s = new ConvShape(xd[0], xd[1], xd[2], xd[3], xd[4], wd[0], wd[2], wd[3], wd[4],
                              stride.T, stride.H, stride.W, padding.T, padding.H, padding.W);
        CheckConv("Conv3d", x, weight, bias, s, $"({stride.T}, {stride.H}, {stride.W})",
                  $"({padding.T}, {padding.H}, {padding.W})");
        return Convolution(OpKind.Conv3d, x, weight, bias, s, [s.B, s.O, s.To, s.Ho, s.Wo]);
    }

    static void CheckConv(string op, Tensor x, Tensor weight, Tensor? bias, ConvShape s, string stride,
                          string padding)
    {
        string shapes = $"input {Shapes.Format(x.Dims)}, weight {Shapes.Format(weight.Dims)}";
        if (weight.Dims[1] != s.C)
            throw new ArgumentException($"{op}: {shapes}: the input has {s.C} channels but the weight expects " +
                                        $"{weight.Dims[1]} (weight is (O, C, kernel...); no groups).");
        if (bias is not null && (bias.Rank != 1 || bias.Dims[0] != s.O))
            throw new ArgumentException($"{op}: bias {Shapes.Format(bias.Dims)} for {shapes}; expected ({s.O}).");
        if (s.St < 1 || s.Sh < 1 || s.Sw < 1)
            throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride {stride} for {shapes}; every stride " +
                                                                  "must be >= 1.");
        if (s.Pt < 0 || s.Ph < 0 || s.Pw < 0)
            throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding {padding} for {shapes}; every " +
                                                                   "padding must be >= 0.");
        if (s.Kt < 1 || s.Kh < 1 || s.Kw < 1)
            throw new ArgumentException($"{op}: {shapes}: the weight has an empty kernel.");
        if (s.Kt > s.T + 2 * s.Pt || s.Kh > s.H + 2 * s.Ph || s.Kw > s.W + 2 * s.Pw)
            throw new ArgumentException($"{op}: {shapes} with padding {padding}: the kernel is larger than the " +
                                        "padded input; expected each kernel size <= input size + 2 x padding.");
        Shapes.Check([s.B, s.O, s.To, s.Ho, s.Wo], op);
    }

    // The convolution proper on the video layout (an image is T = 1); outDims is the caller's output shape.
    static Tensor Convolution(OpKind kind, Tensor x, Tensor weight, Tensor? bias, ConvShape s, int[] outDims)
    {
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var wc = weight.IsContiguous ? weight : ContiguousCopy(weight);
        var bc = bias is null || bias.IsContiguous ? bias : ContiguousCopy(bias);
        var y = Tensor.Empty(outDims);
        bool direct = ConvKernels.UsesDirect(s, MatMulKernels.CurrentIsa);
        if (direct)
            using (var scratch = Scratch(ConvKernels.DirectScratchFloats(s, backward: false)))
                ConvKernels.ConvDirectForward(y.Storage.Data, xc.Storage.Data, xc.Offset, wc.Storage.Data, wc.Offset,
                                              bc?.Storage.Data, bc?.Offset ?? 0, scratch.Data!, s);
        else if (!s.FitsIm2Col)
            ConvKernels.ConvReferenceForward(y.Storage.Data, xc.Storage.Data, xc.Offset, wc.Storage.Data, wc.Offset,
                                             bc?.Storage.Data, bc?.Offset ?? 0, s);
        else
            using (var col = Im2ColBuffer(s))
                ConvKernels.ConvForward(y.Storage.Data, xc.Storage.Data, xc.Offset, wc.Storage.Data, wc.Offset,
                                        bc?.Storage.Data, bc?.Offset ?? 0, col.Data, s);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        if (!Autograd.Needs(inputs)) return y;
        return Autograd.Record(kind, y, inputs, dy =>
        {
            var dx = x.RequiresGrad ? Tensor.Zeros(x.Dims) : null;
            var dw = weight.RequiresGrad ? Tensor.Zeros(weight.Dims) : null;
            var db = bias is { RequiresGrad: true } ? Tensor.Empty(bias.Dims) : null;
            if (direct)
                using (var scratch = Scratch(ConvKernels.DirectScratchFloats(s, backward: true)))
                    ConvKernels.ConvDirectBackward(dx?.Storage.Data, dw?.Storage.Data, db?.Storage.Data,
                        dy.Storage.Data, dy.Offset, xc.Storage.Data, xc.Offset, wc.Storage.Data, wc.Offset,
                        scratch.Data!, s);
            else if (!s.FitsIm2Col)
                ConvKernels.ConvReferenceBackward(dx?.Storage.Data, dw?.Storage.Data, db?.Storage.Data,
                    dy.Storage.Data, dy.Offset, xc.Storage.Data, xc.Offset, wc.Storage.Data, wc.Offset, s);
            else
                using (var col = Im2ColBuffer(s))
                    ConvKernels.ConvBackward(dx?.Storage.Data, dw?.Storage.Data, db?.Storage.Data, dy.Storage.Data,
                        dy.Offset, xc.Storage.Data, xc.Offset, wc.Storage.Data, wc.Offset, col.Data, s);
            if (dx is not null) Autograd.Accumulate(x, dx, fresh: true);
            if (dw is not null) Autograd.Accumulate(weight, dw, fresh: true);
            if (db is not null) Autograd.Accumulate(bias!, db, fresh: true);
        });
    }

    // One sample's (CK, L) im2col scratch, from the pool, handed back as soon as the op is done with it (so the
    // next layer reuses it instead of holding one buffer per layer until the scope ends). None for a 1x1x1 conv.
    static Im2ColScratch Im2ColBuffer(ConvShape s) =>
        new(s.IsPointwise ? null : Tensor.Empty(s.CK * s.L));

    // The direct kernels' scratch (input planes, packed weights, gradient grids), pooled the same way.
    static Im2ColScratch Scratch(long floats) => new(Tensor.Empty((int)floats));

    readonly struct Im2ColScratch(Tensor? t) : IDisposable
    {
        public float[]? Data => t?.Storage.Data;
        public void Dispose() => t?.Storage.Release();
    }

    /// <summary>
    /// Average pooling with stride = kernel: x (B, C, H, W) with kernel (kh, kw), or x (B, C, T, H, W) with
    /// (kt, kh, kw). Every size must be divisible by its kernel size.
    /// </summary>
    public static Tensor AvgPool(Tensor x, params int[] kernel)
    {
        var (N, T, H, W, kt, kh, kw) = VideoPlanes("AvgPool", "kernel", x, kernel);
        if (T % kt != 0 || H % kh != 0 || W % kw != 0)
            throw new ArgumentException($"AvgPool: kernel {Shapes.Format(kernel)} does not divide the sizes of " +
                $"input {Shapes.Format(x.Dims)}; pad or crop so each size is a multiple of its kernel size.");
        var dims = (int[])x.Dims.Clone();
        for (int i = 0; i < kernel.Length; i++) dims[2 + i] /= kernel[i];
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(dims);
        ConvKernels.AvgPoolForward(y.Storage.Data, xc.Storage.Data, xc.Offset, N, T, H, W, kt, kh, kw);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.AvgPool, y, [x], dy =>
        {
            var dx = Tensor.Empty(x.Dims);
            ConvKernels.AvgPoolBackward(dx.Storage.Data, dy.Storage.Data, dy.Offset, N, T, H, W, kt, kh, kw);
            Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    /// <summary>
    /// Nearest-neighbour upsampling by integer factors: x (B, C, H, W) with scale (sh, sw), or x (B, C, T, H, W)
    /// with (st, sh, sw); every element is repeated into a block of that size.
    /// </summary>
    public static Tensor UpsampleNearest(Tensor x, params int[] scale)
    {
        var (N, T, H, W, st, sh, sw) = VideoPlanes("UpsampleNearest", "scale", x, scale);
        var dims = (int[])x.Dims.Clone();
        for (int i = 0; i < scale.Length; i++)
        {
            long size = (long)dims[2 + i] * scale[i];
            dims[2 + i] = size <= int.MaxValue ? (int)size : throw new ArgumentException($"UpsampleNearest: scale " +
                $"{Shapes.Format(scale)} makes dim {2 + i} of {Shapes.Format(x.Dims)} larger than 2^31-1.");
        }
        Shapes.Check(dims, "UpsampleNearest");
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var y = Tensor.Empty(dims);
        ConvKernels.UpsampleNearestForward(y.Storage.Data, xc.Storage.Data, xc.Offset, N, T, H, W, st, sh, sw);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.UpsampleNearest, y, [x], dy =>
        {
            var dx = Tensor.Empty(x.Dims);
            ConvKernels.UpsampleNearestBackward(dx.Storage.Data, dy.Storage.Data, dy.Offset, N, T, H, W, st, sh, sw);
            Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    // x as N = B·C planes of (T, H, W) (T = 1 for an image) and the per-axis sizes (1 for T of an image).
    static (int N, int T, int H, int W, int A, int B, int C) VideoPlanes(string op, string what, Tensor x, int[] sizes)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (!(x.Rank == 4 && sizes.Length == 2) && !(x.Rank == 5 && sizes.Length == 3))
            throw new ArgumentException($"{op}: {what} {Shapes.Format(sizes)} for input {Shapes.Format(x.Dims)}; " +
                                        $"expected 2 sizes for (B, C, H, W) or 3 for (B, C, T, H, W).");
        if (sizes.Any(k => k < 1))
            throw new ArgumentOutOfRangeException(what, $"{op}: {what} {Shapes.Format(sizes)} for input " +
                                                        $"{Shapes.Format(x.Dims)}; every size must be >= 1.");
        int[] d = x.Dims;
        return x.Rank == 4
            ? (d[0] * d[1], 1, d[2], d[3], 1, sizes[0], sizes[1])
            : (d[0] * d[1], d[2], d[3], d[4], sizes[0], sizes[1], sizes[2]);
    }
}
