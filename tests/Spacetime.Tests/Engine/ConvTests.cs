using Spacetime.Engine;
using Spacetime.Engine.Kernels;
using Spacetime.Tests.TestKit;
using static Spacetime.Tests.TestKit.Reference;

namespace Spacetime.Tests.Engine;

// Conv2d, Conv3d, AvgPool and UpsampleNearest: forward against float64 direct loops written here, backward against
// finite differences, 1 vs 2 threads, odd shapes (size 1, primes, kernel 1 and 3, stride 2, padding, T = 1), causal
// time padding, and bad input.
public class ConvTests
{
    // Tolerance for convolutions: each output is a float32 sum of CK <= 81 products of values in [-1, 1] (plus a
    // bias), accumulated by the GEMM in a different order than the float64 reference. The rounding error is at most
    // ~CK · 2^-24 · sum |terms| <= 81 · 6e-8 · 81 ~ 4e-4 in the worst case and ~1e-6 in practice (random signs);
    // atol 2e-5 covers near-zero outputs where a relative bound means nothing, rtol 1e-5 the rest.
    const double ConvRtol = 1e-5, ConvAtol = 2e-5;

    // ---- float64 references -------------------------------------------------------------------------------

    // Direct convolution in double on the video layout: x (B, C, T, H, W), w (O, C, kt, kh, kw), bias (O) or null.
    static double[] ConvRef(double[] x, int[] xs, double[] w, int[] ws, double[]? bias, int[] stride, int[] pad,
                            out int[] outShape)
    {
        int B = xs[0], C = xs[1], T = xs[2], H = xs[3], W = xs[4], O = ws[0], kt = ws[2], kh = ws[3], kw = ws[4];
        int To = (T + 2 * pad[0] - kt) / stride[0] + 1, Ho = (H + 2 * pad[1] - kh) / stride[1] + 1;
        int Wo = (W + 2 * pad[2] - kw) / stride[2] + 1;
        outShape = [B, O, To, Ho, Wo];
        var y = new double[B * O * To * Ho * Wo];
        int n = 0;
        for (int b = 0; b < B; b++)
            for (int o = 0; o < O; o++)
                for (int a = 0; a < To; a++)
                    for (int e = 0; e < Ho; e++)
                        for (int q = 0; q < Wo; q++)
                        {
                            double sum = bias?[o] ?? 0;
                            for (int c = 0; c < C; c++)
                                for (int i = 0; i < kt; i++)
                                    for (int j = 0; j < kh; j++)
                                        for (int k = 0; k < kw; k++)
                                        {
                                            int t = a * stride[0] - pad[0] + i, h = e * stride[1] - pad[1] + j;
                                            int v = q * stride[2] - pad[2] + k;
                                            if (t < 0 || t >= T || h < 0 || h >= H || v < 0 || v >= W) continue;
                                            sum += w[(((o * C + c) * kt + i) * kh + j) * kw + k]
                                                   * x[(((b * C + c) * T + t) * H + h) * W + v];
                                        }
                            y[n++] = sum;
                        }
        return y;
    }

    // Conv2d through the video reference: an image (B, C, H, W) is a one-frame video.
    static double[] Conv2dRef(Tensor x, Tensor w, Tensor? bias, (int H, int W) stride, (int H, int W) pad)
    {
        int[] xs = x.Shape.ToArray(), ws = w.Shape.ToArray();
        return ConvRef(D(x), [xs[0], xs[1], 1, xs[2], xs[3]], D(w), [ws[0], ws[1], 1, ws[2], ws[3]],
                       bias is null ? null : D(bias), [1, stride.H, stride.W], [0, pad.H, pad.W], out _);
    }

    static double[] Conv3dRef(Tensor x, Tensor w, Tensor? bias, (int T, int H, int W) stride,
                              (int T, int H, int W) pad) =>
        ConvRef(D(x), x.Shape.ToArray(), D(w), w.Shape.ToArray(), bias is null ? null : D(bias),
                [stride.T, stride.H, stride.W], [pad.T, pad.H, pad.W], out _);

    // (B, C, H, W, O, kh, kw, stride H/W, padding H/W, bias?): size 1, primes, kernel 1 and 3, stride 2, padding,
    // non-square kernels and strides, a kernel as large as the padded input.
    public static TheoryData<int[]> Conv2dCases => new()
    {
        new[] { 2, 3, 7, 5, 4, 3, 3, 1, 1, 1, 1, 1 },
        new[] { 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1 },      // everything 1
        new[] { 2, 5, 11, 13, 3, 3, 3, 2, 2, 1, 1, 1 },    // primes, stride 2
        new[] { 1, 3, 6, 6, 2, 1, 1, 1, 1, 0, 0, 0 },      // pointwise (no im2col), no bias
        new[] { 3, 2, 5, 7, 5, 1, 1, 2, 2, 0, 0, 1 },      // kernel 1 with stride 2 (im2col)
        new[] { 1, 2, 4, 3, 2, 4, 3, 1, 1, 0, 0, 1 },      // kernel = input
        new[] { 1, 2, 1, 1, 3, 3, 3, 1, 1, 1, 1, 0 },      // 1x1 input, 3x3 kernel, all but the centre in padding
        new[] { 2, 3, 6, 9, 2, 2, 5, 1, 3, 0, 2, 1 },      // non-square kernel and stride
        new[] { 1, 4, 8, 8, 3, 3, 3, 2, 1, 2, 0, 1 },      // padding larger than needed
    };

    [Theory, MemberData(nameof(Conv2dCases))]
    [OpCheck(OpKind.Conv2d, Check.Forward)]
    public void Conv2d_Shapes_MatchFloat64(int[] c)
    {
        int B = c[0], C = c[1], H = c[2], W = c[3], O = c[4], kh = c[5], kw = c[6], sh = c[7], sw = c[8];
        int ph = c[9], pw = c[10];
        var x = Rand(1, -1f, 1f, B, C, H, W);
        var w = Rand(2, -1f, 1f, O, C, kh, kw);
        var b = c[11] == 1 ? Rand(3, -1f, 1f, O) : null;
        var y = F.Conv2d(x, w, b, (sh, sw), (ph, pw));
        TensorAssert.ShapeIs(y, B, O, (H + 2 * ph - kh) / sh + 1, (W + 2 * pw - kw) / sw + 1);
        TensorAssert.Close(Conv2dRef(x, w, b, (sh, sw), (ph, pw)), y, ConvRtol, ConvAtol, $"Conv2d {x} * {w}");
    }

    [Fact]
    public void Conv2d_DefaultStrideAndNonContiguousInputs_MatchFloat64()
    {
        var x = Rand(4, -1f, 1f, 2, 5, 6, 3).Permute(0, 3, 1, 2);        // (2, 3, 5, 6) view
        var w = Rand(5, -1f, 1f, 3, 4, 3, 3).Transpose(0, 1);           // (4, 3, 3, 3) view
        var b = Rand(6, -1f, 1f, 8).Slice(0, 2, 4);
        TensorAssert.Close(Conv2dRef(x, w, b, (1, 1), (0, 0)), F.Conv2d(x, w, b), ConvRtol, ConvAtol, "Conv2d default");
        TensorAssert.Close(Conv2dRef(x, w, b, (1, 1), (1, 1)), F.Conv2d(x, w, b, padding: (1, 1)), ConvRtol, ConvAtol,
                           "Conv2d views, padding 1");
    }

    // (B, C, T, H, W, O, kt, kh, kw, stride T/H/W, padding T/H/W)
    public static TheoryData<int[]> Conv3dCases => new()
    {
        new[] { 2, 3, 4, 5, 6, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1 },
        new[] { 1, 2, 1, 5, 5, 3, 1, 3, 3, 1, 1, 1, 0, 1, 1 },    // T = 1: a still image as a one-frame video
        new[] { 1, 2, 1, 4, 4, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1 },    // T = 1 with a 3-frame kernel, padded in time
        new[] { 2, 3, 5, 7, 7, 2, 3, 3, 3, 2, 2, 2, 1, 1, 1 },    // stride 2 everywhere, primes
        new[] { 1, 4, 3, 3, 3, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0 },    // pointwise
        new[] { 1, 1, 2, 3, 5, 1, 2, 3, 5, 1, 1, 1, 0, 0, 0 },    // kernel = input
        new[] { 2, 2, 6, 4, 4, 3, 3, 1, 1, 2, 1, 1, 0, 0, 0 },    // temporal-only kernel, stride 2 in time
    };

    [Theory, MemberData(nameof(Conv3dCases))]
    [OpCheck(OpKind.Conv3d, Check.Forward)]
    public void Conv3d_Shapes_MatchFloat64(int[] c)
    {
        var x = Rand(7, -1f, 1f, c[0], c[1], c[2], c[3], c[4]);
        var w = Rand(8, -1f, 1f, c[5], c[1], c[6], c[7], c[8]);
        var b = Rand(9, -1f, 1f, c[5]);
        var y = F.Conv3d(x, w, b, (c[9], c[10], c[11]), (c[12], c[13], c[14]));
        TensorAssert.ShapeIs(y, c[0], c[5], (c[2] + 2 * c[12] - c[6]) / c[9] + 1, (c[3] + 2 * c[13] - c[7]) / c[10] + 1,
                             (c[4] + 2 * c[14] - c[8]) / c[11] + 1);
        TensorAssert.Close(Conv3dRef(x, w, b, (c[9], c[10], c[11]), (c[12], c[13], c[14])), y, ConvRtol, ConvAtol,
                           $"Conv3d {x} * {w}");
    }

    [Fact]
    public void Conv3d_OneFrame_EqualsConv2d()
    {
        // A still image as a one-frame video through a 1-frame kernel is exactly Conv2d (same sums, same order).
        var x = Rand(10, -1f, 1f, 2, 3, 7, 6);
        var w = Rand(11, -1f, 1f, 4, 3, 3, 3);
        var b = Rand(12, -1f, 1f, 4);
        var y2 = F.Conv2d(x, w, b, (2, 1), (1, 1));
        var y3 = F.Conv3d(x.Reshape(2, 3, 1, 7, 6), w.Reshape(4, 3, 1, 3, 3), b, (1, 2, 1), (0, 1, 1));
        TensorAssert.BitwiseEqual(y2.ToArray(), y3.ToArray(), "Conv3d with T = 1 vs Conv2d");
    }

    [Fact]
    public void Conv3d_CausalTimePadding_OutputFrameDependsOnlyOnPastFrames()
    {
        // CausalConv3d: pad kt - 1 frames in front only, then no time padding: output frame t sees input frames <= t.
        const int kt = 3, T = 6, t0 = 2;
        var w = Rand(13, -1f, 1f, 3, 2, kt, 3, 3);
        var b = Rand(14, -1f, 1f, 3);
        Tensor Causal(Tensor x) => F.Conv3d(F.Pad(x, [0, 0, 0, 0, kt - 1, 0]), w, b, padding: (0, 1, 1));

        var x = Rand(15, -1f, 1f, 1, 2, T, 4, 5);
        var y = Causal(x);
        TensorAssert.ShapeIs(y, 1, 3, T, 4, 5);                          // as many frames out as in
        var xPadded = F.Pad(x, [0, 0, 0, 0, kt - 1, 0]);
        TensorAssert.Close(Conv3dRef(xPadded, w, b, (1, 1, 1), (0, 1, 1)), y, ConvRtol, ConvAtol, "causal conv");

        // changing the frames after t0 leaves output frames 0..t0 bitwise unchanged, and changes frame t0 + 1
        var future = x.ToArray();
        for (int c = 0; c < 2; c++)
            for (int t = t0 + 1; t < T; t++)
                for (int i = 0; i < 20; i++) future[(c * T + t) * 20 + i] += 1f;
        var y2 = Causal(Tensor.From(future, 1, 2, T, 4, 5));
        TensorAssert.BitwiseEqual(y.Slice(2, 0, t0 + 1).ToArray(), y2.Slice(2, 0, t0 + 1).ToArray(), "frames <= t0");
        Assert.NotEqual(y.Slice(2, t0 + 1, 1).ToArray(), y2.Slice(2, t0 + 1, 1).ToArray());

        // and the gradient of output frame t0 is exactly zero on every later input frame
        x.RequiresGrad = true;
        Causal(x).Slice(2, t0, 1).Sum().Backward();
        var g = x.Grad!;
        Assert.All(g.Slice(2, t0 + 1, T - t0 - 1).ToArray(), v => Assert.Equal(0f, v));
        Assert.Contains(g.Slice(2, t0, 1).ToArray(), v => v != 0f);
    }

    [Fact]
    public void Conv3d_InsideTensorScope_SameResultsEveryStep()
    {
        // The op hands its pooled im2col buffer back as soon as it is done; later ops and steps reuse it.
        var w = Rand(50, -1f, 1f, 4, 3, 3, 3, 3);
        var w2 = Rand(52, -1f, 1f, 3, 4, 1, 3, 3);
        w.RequiresGrad = w2.RequiresGrad = true;
        float[]? first = null, firstGrad = null;
        for (int step = 0; step < 3; step++)
        {
            w.Grad = w2.Grad = null;
            using var scope = TensorScope.Begin();
            var x = Rand(51, -1f, 1f, 2, 3, 3, 5, 4);
            var h = F.Conv3d(x, w, null, padding: (1, 1, 1));              // (2, 4, 3, 5, 4)
            var y = F.Conv3d(h, w2, null, stride: (1, 2, 1), padding: (0, 1, 1));   // (2, 3, 3, 3, 4)
            y.Sum().Backward();
            first ??= y.ToArray();
            firstGrad ??= w.Grad!.ToArray();
            TensorAssert.BitwiseEqual(first, y.ToArray(), $"step {step} output");
            TensorAssert.BitwiseEqual(firstGrad, w.Grad!.ToArray(), $"step {step} weight gradient");
        }
    }

    [Fact]
    public void ConvKernels_ReferenceAndIm2Col_AgreeWithFloat64()
    {
        // v1 (the fallback for huge samples) and v2 on the same problem, forward and every gradient.
        var s = new ConvShape(B: 2, C: 3, T: 4, H: 5, W: 6, O: 2, Kt: 3, Kh: 2, Kw: 3, St: 2, Sh: 1, Sw: 2,
                              Pt: 1, Ph: 1, Pw: 1);
        float[] x = Rand(16, -1f, 1f, 2, 3, 4, 5, 6).ToArray(), w = Rand(17, -1f, 1f, 2, 3, 3, 2, 3).ToArray();
        float[] bias = Rand(18, -1f, 1f, 2).ToArray(), dy = Rand(19, -1f, 1f, 2, 2, s.To, s.Ho, s.Wo).ToArray();
        var expected = ConvRef(Dbl(x), [2, 3, 4, 5, 6], Dbl(w), [2, 3, 3, 2, 3], Dbl(bias), [2, 1, 2], [1, 1, 1],
                               out _);
        float[] y1 = new float[dy.Length], y2 = new float[dy.Length], col = new float[s.CK * s.L];
        ConvKernels.ConvReferenceForward(y1, x, 0, w, 0, bias, 0, s);
        ConvKernels.ConvForward(y2, x, 0, w, 0, bias, 0, col, s);
        TensorAssert.Close(expected, Dbl(y1), 1e-6, 1e-7, "v1 forward");      // float64 sums, one rounding
        TensorAssert.Close(expected, Dbl(y2), ConvRtol, ConvAtol, "v2 forward");

        float[] dx1 = new float[x.Length], dw1 = new float[w.Length], db1 = new float[2];
        float[] dx2 = new float[x.Length], dw2 = new float[w.Length], db2 = new float[2];
        ConvKernels.ConvReferenceBackward(dx1, dw1, db1, dy, 0, x, 0, w, 0, s);
        ConvKernels.ConvBackward(dx2, dw2, db2, dy, 0, x, 0, w, 0, col, s);
        // v1 sums in float64 and rounds once, v2 in float32: dW sums B·L = 2·(2·6·3) = 72 products
        TensorAssert.Close(Dbl(dx1), Dbl(dx2), ConvRtol, ConvAtol, "dx");
        TensorAssert.Close(Dbl(dw1), Dbl(dw2), ConvRtol, ConvAtol, "dW");
        TensorAssert.Close(Dbl(db1), Dbl(db2), ConvRtol, ConvAtol, "db");
        Assert.Contains(dx1, v => v != 0f);
    }

    static double[] Dbl(float[] a) => a.Select(v => (double)v).ToArray();

    [Fact]
    public void ConvKernels_VaeSizedProblem_Im2ColMatchesReference()
    {
        // the VAE's shapes (16 channels, 3x3x3, 32x32 frames after causal padding; 432-long im2col columns and
        // thousands of pixels, so the GEMM's blocking and any column chunking are exercised), stride 1 and 2
        foreach (int stride in new[] { 1, 2 })
        {
            var s = new ConvShape(B: 2, C: 16, T: 7, H: 32, W: 32, O: 16, Kt: 3, Kh: 3, Kw: 3, St: stride, Sh: stride,
                                  Sw: stride, Pt: 0, Ph: 1, Pw: 1);
            float[] x = Rand(40, -1f, 1f, 2, 16, 7, 32, 32).ToArray(), w = Rand(41, -0.2f, 0.2f, 16, 16, 3, 3, 3).ToArray();
            float[] bias = Rand(42, -1f, 1f, 16).ToArray(), dy = Rand(43, -1f, 1f, 2, 16, s.To, s.Ho, s.Wo).ToArray();
            float[] y1 = new float[dy.Length], y2 = new float[dy.Length], col = new float[s.CK * s.L];
            ConvKernels.ConvReferenceForward(y1, x, 0, w, 0, bias, 0, s);
            ConvKernels.ConvForward(y2, x, 0, w, 0, bias, 0, col, s);
            TensorAssert.Close(Dbl(y1), Dbl(y2), 1e-4, 1e-4, $"forward, stride {stride}");
            float[] dx1 = new float[x.Length], dw1 = new float[w.Length], db1 = new float[16];
            float[] dx2 = new float[x.Length], dw2 = new float[w.Length], db2 = new float[16];
            ConvKernels.ConvReferenceBackward(dx1, dw1, db1, dy, 0, x, 0, w, 0, s);
            ConvKernels.ConvBackward(dx2, dw2, db2, dy, 0, x, 0, w, 0, col, s);
            // dW sums B·L = 2·5·32·32 (stride 1) products: float32 error grows with the count
            TensorAssert.Close(Dbl(dx1), Dbl(dx2), 1e-4, 1e-4, $"dx, stride {stride}");
            TensorAssert.Close(Dbl(dw1), Dbl(dw2), 1e-3, 1e-2, $"dW, stride {stride}");
            TensorAssert.Close(Dbl(db1), Dbl(db2), 1e-3, 1e-2, $"db, stride {stride}");
        }
    }

    // ---- v3, the direct kernels --------------------------------------------------------------------------

    // The SIMD paths of v3 on this CPU: AVX2 always (where FMA exists), AVX-512 where accelerated. Forcing AVX2 on an
    // AVX-512 machine tests the path an AVX2-only machine runs.
    static MatMulKernels.Isa[] DirectIsas() => !MatMulKernels.HasAvxFma ? []
        : Vector512IsFast ? [MatMulKernels.Isa.Vector512, MatMulKernels.Isa.Vector256] : [MatMulKernels.Isa.Vector256];

    static bool Vector512IsFast => MatMulKernels.BestIsa == MatMulKernels.Isa.Vector512;

    // (B, C, T, H, W, O, kt, kh, kw, stride T/H/W, padding T/H/W): the VAE's layers in small (3x3x3 with causal
    // frames already in T, stride 1, (1, 2, 2) and (2, 2, 2), 1-3 channels in or out, 16 and 20 channels so tiles
    // and their remainders both run), 2-d convs (T = 1, kt = 1), symmetric time padding, odd sizes, and a frame
    // wider than one work chunk.
    public static TheoryData<int[]> DirectCases => new()
    {
        new[] { 2, 3, 7, 9, 10, 16, 3, 3, 3, 1, 1, 1, 0, 1, 1 },     // conv_in
        new[] { 1, 16, 5, 8, 8, 3, 3, 3, 3, 1, 1, 1, 0, 1, 1 },      // conv_out to RGB (a 4-wide tile)
        new[] { 2, 5, 7, 9, 11, 20, 3, 3, 3, 2, 2, 2, 0, 1, 1 },     // downsample in time and space, odd sizes
        new[] { 1, 6, 4, 12, 10, 9, 3, 3, 3, 1, 2, 2, 0, 1, 1 },     // spatial downsample, even sizes
        new[] { 3, 4, 1, 13, 7, 5, 1, 3, 3, 1, 1, 1, 0, 1, 1 },      // a 2-d conv
        new[] { 1, 3, 1, 9, 12, 10, 1, 3, 3, 1, 2, 2, 0, 1, 1 },     // a strided 2-d conv
        new[] { 2, 2, 4, 5, 6, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1 },       // symmetric time padding: frames of zeros skipped
        new[] { 1, 2, 3, 9, 60, 8, 3, 1, 3, 1, 1, 1, 0, 0, 1 },      // a frame longer than one work chunk
        new[] { 1, 1, 1, 48, 48, 2, 1, 3, 3, 1, 1, 1, 0, 1, 1 },     // a frame longer than one dW block
        new[] { 1, 2, 6, 4, 4, 3, 3, 1, 1, 2, 1, 1, 0, 0, 0 },       // temporal-only kernel, stride 2 in time
    };

    [Theory, MemberData(nameof(DirectCases))]
    public void ConvKernels_Direct_MatchesFloat64Reference(int[] c)
    {
        var s = new ConvShape(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13],
                              c[14]);
        float[] x = Rand(60, -1f, 1f, c[0], c[1], c[2], c[3], c[4]).ToArray();
        float[] w = Rand(61, -1f, 1f, c[5], c[1], c[6], c[7], c[8]).ToArray(), bias = Rand(62, -1f, 1f, c[5]).ToArray();
        float[] dy = Rand(63, -1f, 1f, c[0], c[5], s.To, s.Ho, s.Wo).ToArray();
        float[] y1 = new float[dy.Length], dx1 = new float[x.Length], dw1 = new float[w.Length], db1 = new float[s.O];
        ConvKernels.ConvReferenceForward(y1, x, 0, w, 0, bias, 0, s);
        ConvKernels.ConvReferenceBackward(dx1, dw1, db1, dy, 0, x, 0, w, 0, s);
        foreach (var isa in DirectIsas())
        {
            Assert.True(ConvKernels.UsesDirect(s, isa), $"{s} should run the direct kernels");
            using var _ = MatMulKernels.UseIsa(isa);
            // NaN-filled outputs and scratch: every element must be written, no stale scratch may be read
            var scratch = Filled(ConvKernels.DirectScratchFloats(s, backward: true), float.NaN);
            float[] y = Filled(dy.Length, float.NaN), dx = Filled(x.Length, float.NaN), dw = Filled(w.Length, float.NaN);
            float[] db = Filled(s.O, float.NaN);
            ConvKernels.ConvDirectForward(y, x, 0, w, 0, bias, 0, scratch, s);
            Array.Fill(scratch, float.NaN);
            ConvKernels.ConvDirectBackward(dx, dw, db, dy, 0, x, 0, w, 0, scratch, s);
            // float32 sums of <= 3·20·27 products in [-1, 1] against float64 (v1 rounds once): see ConvRtol
            TensorAssert.Close(Dbl(y1), Dbl(y), 1e-4, 1e-4, $"{isa} forward {s}");
            TensorAssert.Close(Dbl(dx1), Dbl(dx), 1e-4, 1e-4, $"{isa} dx {s}");
            TensorAssert.Close(Dbl(dw1), Dbl(dw), 1e-4, 1e-4, $"{isa} dW {s}");
            TensorAssert.Close(Dbl(db1), Dbl(db), 1e-4, 1e-4, $"{isa} db {s}");
        }
    }

    static float[] Filled(long n, float v)
    {
        var a = new float[n];
        Array.Fill(a, v);
        return a;
    }

    [Fact, Trait("Category", "Slow")]
    public void ConvKernels_Direct_VaeSizedProblem_MatchesReference()
    {
        // 16 channels at 32x32 with 5 frames after causal padding: many work chunks, dW blocks of several frames
        // (slow: the float64 reference takes seconds)
        foreach (var (st, ss) in new[] { (1, 1), (2, 2) })
        {
            var s = new ConvShape(B: 2, C: 16, T: 7, H: 32, W: 32, O: 16, Kt: 3, Kh: 3, Kw: 3, St: st, Sh: ss, Sw: ss,
                                  Pt: 0, Ph: 1, Pw: 1);
            float[] x = Rand(64, -1f, 1f, 2, 16, 7, 32, 32).ToArray(), w = Rand(65, -0.2f, 0.2f, 16, 16, 3, 3, 3).ToArray();
            float[] dy = Rand(66, -1f, 1f, 2, 16, s.To, s.Ho, s.Wo).ToArray();
            float[] y1 = new float[dy.Length], dx1 = new float[x.Length], dw1 = new float[w.Length];
            ConvKernels.ConvReferenceForward(y1, x, 0, w, 0, null, 0, s);
            ConvKernels.ConvReferenceBackward(dx1, dw1, null, dy, 0, x, 0, w, 0, s);
            foreach (var isa in DirectIsas())
            {
                using var _ = MatMulKernels.UseIsa(isa);
                var scratch = new float[ConvKernels.DirectScratchFloats(s, backward: true)];
                float[] y = new float[dy.Length], dx = new float[x.Length], dw = new float[w.Length];
                ConvKernels.ConvDirectForward(y, x, 0, w, 0, null, 0, scratch, s);
                ConvKernels.ConvDirectBackward(dx, dw, null, dy, 0, x, 0, w, 0, scratch, s);
                TensorAssert.Close(Dbl(y1), Dbl(y), 1e-4, 1e-4, $"{isa} forward, stride {st}/{ss}");
                TensorAssert.Close(Dbl(dx1), Dbl(dx), 1e-4, 1e-4, $"{isa} dx, stride {st}/{ss}");
                // dW sums B·L = 2·5·32·32 (stride 1) products: float32 error grows with the count
                TensorAssert.Close(Dbl(dw1), Dbl(dw), 1e-3, 1e-2, $"{isa} dW, stride {st}/{ss}");
            }
        }
    }

    [Fact]
    public void Conv3d_DirectKernels_BackwardMatchesFiniteDifferences()
    {
        // through the op, on each SIMD path: the downsample (stride 2 in T, H, W) and a causal 3x3x3 conv into RGB
        foreach (var isa in DirectIsas())
        {
            using var _ = MatMulKernels.UseIsa(isa);
            GradCheck.Check(t => F.Conv3d(t[0], t[1], t[2], (2, 2, 2), (0, 1, 1)),
                            [Rand(67, -1f, 1f, 1, 3, 5, 5, 6), Rand(68, -1f, 1f, 5, 3, 3, 3, 3), Rand(69, -1f, 1f, 5)],
                            what: $"{isa} Conv3d stride 2");
            GradCheck.Check(t => F.Conv3d(t[0], t[1], t[2], padding: (0, 1, 1)),
                            [Rand(70, -1f, 1f, 2, 4, 4, 4, 3), Rand(71, -1f, 1f, 3, 4, 3, 3, 3), Rand(72, -1f, 1f, 3)],
                            what: $"{isa} Conv3d to 3 channels");
            GradCheck.Check(t => F.Conv2d(t[0], t[1], t[2], (2, 2), (1, 1)),
                            [Rand(73, -1f, 1f, 2, 3, 7, 6), Rand(74, -1f, 1f, 9, 3, 3, 3), Rand(75, -1f, 1f, 9)],
                            what: $"{isa} Conv2d stride 2");
        }
    }

    [Fact]
    public void Conv3d_DirectKernels_OneAndTwoThreadsIdentical()
    {
        foreach (var isa in DirectIsas())
        {
            using var _ = MatMulKernels.UseIsa(isa);
            GradCheck.SameOnThreads(t => F.Conv3d(t[0], t[1], t[2], (1, 1, 1), (0, 1, 1)),
                                    [Rand(76, -1f, 1f, 2, 5, 5, 20, 19), Rand(77, -1f, 1f, 12, 5, 3, 3, 3),
                                     Rand(78, -1f, 1f, 12)], what: $"{isa} Conv3d");
            GradCheck.SameOnThreads(t => F.Conv3d(t[0], t[1], null, (2, 2, 2), (0, 1, 1)),
                                    [Rand(79, -1f, 1f, 2, 4, 7, 9, 8), Rand(80, -1f, 1f, 3, 4, 3, 3, 3)],
                                    what: $"{isa} Conv3d stride 2");
        }
    }

    [Fact]
    [OpCheck(OpKind.Conv2d, Check.Backward)]
    public void Conv2d_Backward_MatchesFiniteDifferences()
    {
        // x and w as permuted views, stride 2 with padding, and a pointwise conv
        GradCheck.Check(t => F.Conv2d(t[0].Permute(0, 3, 1, 2), t[1].Transpose(0, 1), t[2], (2, 2), (1, 1)),
                        [Rand(20, -1f, 1f, 2, 5, 7, 3), Rand(21, -1f, 1f, 3, 4, 3, 3), Rand(22, -1f, 1f, 4)],
                        what: "Conv2d stride 2 padding 1");
        GradCheck.Check(t => F.Conv2d(t[0], t[1], null), [Rand(23, -1f, 1f, 2, 3, 4, 5), Rand(24, -1f, 1f, 2, 3, 1, 1)],
                        what: "Conv2d pointwise");
    }

    [Fact]
    [OpCheck(OpKind.Conv3d, Check.Backward)]
    public void Conv3d_Backward_MatchesFiniteDifferences()
    {
        GradCheck.Check(t => F.Conv3d(t[0].Transpose(2, 3), t[1], t[2], (1, 2, 1), (1, 1, 0)),
                        [Rand(25, -1f, 1f, 1, 2, 5, 3, 4), Rand(26, -1f, 1f, 3, 2, 3, 3, 2), Rand(27, -1f, 1f, 3)],
                        what: "Conv3d");
        GradCheck.Check(t => F.Conv3d(t[0], t[1], t[2], padding: (1, 1, 1)),      // a still image, T = 1
                        [Rand(28, -1f, 1f, 2, 2, 1, 3, 3), Rand(29, -1f, 1f, 2, 2, 3, 3, 3), Rand(30, -1f, 1f, 2)],
                        what: "Conv3d T = 1");
    }

    [Fact]
    [OpCheck(OpKind.Conv2d, Check.Threads)]
    public void Conv2d_OneAndTwoThreads_Identical()
    {
        GradCheck.SameOnThreads(t => F.Conv2d(t[0], t[1], t[2], padding: (1, 1)),
                                [Rand(31, -1f, 1f, 3, 4, 9, 11), Rand(32, -1f, 1f, 5, 4, 3, 3), Rand(33, -1f, 1f, 5)],
                                what: "Conv2d");
        GradCheck.SameOnThreads(t => F.Conv2d(t[0], t[1], null),
                                [Rand(34, -1f, 1f, 2, 6, 7, 9), Rand(35, -1f, 1f, 3, 6, 1, 1)],
                                what: "Conv2d pointwise");
    }

    [Fact]
    [OpCheck(OpKind.Conv3d, Check.Threads)]
    public void Conv3d_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(t => F.Conv3d(t[0], t[1], t[2], (1, 2, 2), (1, 1, 1)),
                                [Rand(36, -1f, 1f, 2, 3, 4, 7, 6), Rand(37, -1f, 1f, 4, 3, 3, 3, 3),
                                 Rand(38, -1f, 1f, 4)], what: "Conv3d");

    // ---- AvgPool and UpsampleNearest ----------------------------------------------------------------------

    // Planes (N, T, H, W) and per-axis factors for a rank-4 or rank-5 shape (T = 1 and factor 1 for images).
    static (int N, int T, int H, int W, int[] k) Planes(int[] shape, int[] sizes) => shape.Length == 4
        ? (shape[0] * shape[1], 1, shape[2], shape[3], [1, sizes[0], sizes[1]])
        : (shape[0] * shape[1], shape[2], shape[3], shape[4], [sizes[0], sizes[1], sizes[2]]);

    static double[] AvgPoolRef(Tensor x, int[] kernel)
    {
        var (N, T, H, W, k) = Planes(x.Shape.ToArray(), kernel);
        var xd = D(x);
        int To = T / k[0], Ho = H / k[1], Wo = W / k[2];
        var y = new double[N * To * Ho * Wo];
        for (int o = 0; o < y.Length; o++)
        {
            int n = o / (To * Ho * Wo), a = o / (Ho * Wo) % To, e = o / Wo % Ho, q = o % Wo;
            double sum = 0;
            for (int i = 0; i < k[0]; i++)
                for (int j = 0; j < k[1]; j++)
                    for (int l = 0; l < k[2]; l++)
                        sum += xd[((n * T + a * k[0] + i) * H + e * k[1] + j) * W + q * k[2] + l];
            y[o] = sum / (k[0] * k[1] * k[2]);
        }
        return y;
    }

    static double[] UpsampleRef(Tensor x, int[] scale)
    {
        var (N, T, H, W, s) = Planes(x.Shape.ToArray(), scale);
        var xd = D(x);
        int To = T * s[0], Ho = H * s[1], Wo = W * s[2];
        var y = new double[N * To * Ho * Wo];
        for (int o = 0; o < y.Length; o++)
        {
            int n = o / (To * Ho * Wo), a = o / (Ho * Wo) % To, e = o / Wo % Ho, q = o % Wo;
            y[o] = xd[((n * T + a / s[0]) * H + e / s[1]) * W + q / s[2]];
        }
        return y;
    }

    public static TheoryData<int[], int[]> PoolCases => new()
    {
        { new[] { 2, 3, 4, 6 }, new[] { 2, 3 } },
        { new[] { 1, 1, 1, 1 }, new[] { 1, 1 } },
        { new[] { 1, 2, 5, 7 }, new[] { 5, 7 } },            // one window: the global mean
        { new[] { 2, 2, 4, 6, 4 }, new[] { 2, 3, 2 } },
        { new[] { 1, 3, 1, 4, 4 }, new[] { 1, 2, 2 } },      // T = 1: spatial pooling of a still image
        { new[] { 1, 2, 6, 2, 2 }, new[] { 3, 1, 1 } },      // temporal-only pooling
    };

    [Theory, MemberData(nameof(PoolCases))]
    [OpCheck(OpKind.AvgPool, Check.Forward)]
    public void AvgPool_Shapes_MatchFloat64(int[] shape, int[] kernel)
    {
        var x = Rand(40, -1f, 1f, shape);
        // float32 window sums of <= 35 values in [-1, 1], then one multiply: a few ulp of the largest partial sum
        TensorAssert.Close(AvgPoolRef(x, kernel), F.AvgPool(x, kernel), 1e-6, 1e-6, $"AvgPool {x}");
        var view = Rand(41, -1f, 1f, shape).Transpose(-1, -2).Contiguous().Transpose(-1, -2);   // non-contiguous
        TensorAssert.Close(AvgPoolRef(view, kernel), F.AvgPool(view, kernel), 1e-6, 1e-6, $"AvgPool view {x}");
    }

    [Fact]
    [OpCheck(OpKind.AvgPool, Check.Backward)]
    public void AvgPool_Backward_MatchesFiniteDifferences()
    {
        GradCheck.Check(t => F.AvgPool(t[0].Transpose(2, 3), 2, 3), [Rand(42, -1f, 1f, 2, 2, 6, 4)],
                        what: "AvgPool 2-d");
        GradCheck.Check(t => F.AvgPool(t[0], 2, 1, 2), [Rand(43, -1f, 1f, 1, 2, 4, 3, 4)], what: "AvgPool 3-d");
    }

    [Fact]
    [OpCheck(OpKind.AvgPool, Check.Threads)]
    public void AvgPool_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(t => F.AvgPool(t[0], 2, 2, 3), [Rand(44, -1f, 1f, 2, 3, 6, 10, 9)]);

    public static TheoryData<int[], int[]> UpsampleCases => new()
    {
        { new[] { 2, 3, 4, 5 }, new[] { 2, 3 } },
        { new[] { 1, 1, 1, 1 }, new[] { 1, 1 } },
        { new[] { 1, 2, 3, 2 }, new[] { 1, 4 } },
        { new[] { 2, 2, 3, 2, 3 }, new[] { 2, 2, 2 } },
        { new[] { 1, 3, 1, 2, 2 }, new[] { 1, 2, 3 } },      // T = 1
        { new[] { 1, 2, 2, 3, 3 }, new[] { 3, 1, 1 } },      // temporal-only
    };

    [Theory, MemberData(nameof(UpsampleCases))]
    [OpCheck(OpKind.UpsampleNearest, Check.Forward)]
    public void UpsampleNearest_Shapes_MatchFloat64(int[] shape, int[] scale)
    {
        var x = Rand(45, -1f, 1f, shape);
        TensorAssert.Close(UpsampleRef(x, scale), F.UpsampleNearest(x, scale), 0, 0, $"UpsampleNearest {x}");  // copies
        var view = Rand(46, -1f, 1f, shape).Transpose(0, 1).Contiguous().Transpose(0, 1);
        TensorAssert.Close(UpsampleRef(view, scale), F.UpsampleNearest(view, scale), 0, 0, $"UpsampleNearest view {x}");
    }

    [Fact]
    [OpCheck(OpKind.UpsampleNearest, Check.Backward)]
    public void UpsampleNearest_Backward_MatchesFiniteDifferences()
    {
        GradCheck.Check(t => F.UpsampleNearest(t[0].Transpose(2, 3), 2, 3), [Rand(47, -1f, 1f, 2, 2, 3, 2)],
                        what: "UpsampleNearest 2-d");
        GradCheck.Check(t => F.UpsampleNearest(t[0], 2, 1, 2), [Rand(48, -1f, 1f, 1, 2, 2, 3, 2)],
                        what: "UpsampleNearest 3-d");
    }

    [Fact]
    [OpCheck(OpKind.UpsampleNearest, Check.Threads)]
    public void UpsampleNearest_OneAndTwoThreads_Identical() =>
        GradCheck.SameOnThreads(t => F.UpsampleNearest(t[0], 2, 3, 2), [Rand(49, -1f, 1f, 2, 3, 3, 5, 7)]);

    // ---- bad input ----------------------------------------------------------------------------------------

    [Fact]
    public void BadArguments_ThrowClearMessages()
    {
        var x = Tensor.Zeros(2, 3, 8, 8);
        var msg = Message<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros(4, 5, 3, 3), null));
        Assert.Contains("Conv2d", msg);
        Assert.Contains("(2, 3, 8, 8)", msg);
        Assert.Contains("(4, 5, 3, 3)", msg);
        Assert.Contains("3 channels", msg);
        msg = Message<ArgumentException>(() => F.Conv2d(x, Tensor.Zeros(4, 3, 11, 3), null, padding: (1, 1)));
        Assert.Contains("larger than the padded input", msg);
        Assert.Contains("(4, 3, 11, 3)", msg);
        var w = Tensor.Zeros(4, 3, 3, 3);
        Assert.Contains("(B, C, H, W)", Message<ArgumentException>(() => F.Conv2d(Tensor.Zeros(3, 8, 8), w, null)));
        Assert.Contains("expected (4)", Message<ArgumentException>(() => F.Conv2d(x, w, Tensor.Zeros(5))));
        Assert.Contains("stride", Message<ArgumentOutOfRangeException>(() => F.Conv2d(x, w, null, stride: (0, 2))));
        Assert.Contains("padding", Message<ArgumentOutOfRangeException>(() => F.Conv2d(x, w, null, padding: (-1, 0))));

        var v = Tensor.Zeros(1, 2, 2, 4, 4);
        msg = Message<ArgumentException>(() => F.Conv3d(v, Tensor.Zeros(3, 2, 3, 3, 3), null));
        Assert.Contains("Conv3d", msg);
        Assert.Contains("larger than the padded input", msg);
        Assert.Contains("Conv3d", Message<ArgumentException>(() => F.Conv3d(v, Tensor.Zeros(3, 1, 1, 3, 3), null)));
        var w5 = Tensor.Zeros(3, 3, 1, 3, 3);
        Assert.Contains("(B, C, T, H, W)", Message<ArgumentException>(() => F.Conv3d(x, w5, null)));

        msg = Message<ArgumentException>(() => F.AvgPool(Tensor.Zeros(1, 2, 5, 4), 2, 2));
        Assert.Contains("AvgPool", msg);
        Assert.Contains("(1, 2, 5, 4)", msg);
        Assert.Contains("multiple", msg);
        Assert.Contains("3 for (B, C, T, H, W)", Message<ArgumentException>(() => F.AvgPool(v, 2, 2)));
        Assert.Contains(">= 1", Message<ArgumentOutOfRangeException>(() => F.AvgPool(x, 0, 2)));
        Assert.Contains("UpsampleNearest", Message<ArgumentException>(() => F.UpsampleNearest(x, 2, 2, 2)));
        Assert.Contains(">= 1", Message<ArgumentOutOfRangeException>(() => F.UpsampleNearest(v, 1, 0, 2)));
    }

    static string Message<TException>(Action act) where TException : Exception =>
        Assert.Throws<TException>(act).Message;
}
