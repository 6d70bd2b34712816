using Spacetime.Engine.Kernels;

namespace Spacetime.Tests.Engine;

// MatMulKernels against a float64 oracle computed here, for every layout, code path (Vector512, Vector256, scalar),
// odd and block-straddling shapes, strided views (padding filled with NaN so a stray read poisons the result and
// a stray write is caught), batches with broadcasting, accumulate, bias, thread counts and bad arguments.
public class MatMulKernelsTests
{
    // Tolerance: C[i,j] is a float32 sum of K products (plus C and bias). Each product and each addition rounds once
    // (relative error u = 2^-24), so the classic bound is |error| <= (K + 2)·u·(|C0| + Σ_k |a_ik·b_kj| + |bias_j|)
    // (Higham, Accuracy and Stability, §3.1). We allow twice that. Any indexing bug is off by O(magnitude), far above.
    const double UnitRoundoff = 1.0 / (1 << 24);

    static readonly (bool TransA, bool TransB)[] Layouts = [(false, false), (false, true), (true, false), (true, true)];

    public static TheoryData<bool, bool> AllLayouts()
    {
        var data = new TheoryData<bool, bool>();
        foreach (var (ta, tb) in Layouts) data.Add(ta, tb);
        return data;
    }

    // Every path this CPU can run: Vector512 too on an AVX2 machine, where the runtime emulates it (slowly, so
    // callers may leave the emulation out of some cases to keep the run short).
    static IEnumerable<MatMulKernels.Isa> Isas(bool emulate = true) =>
        !MatMulKernels.HasAvxFma ? [MatMulKernels.Isa.Scalar]
        : emulate || MatMulKernels.BestIsa == MatMulKernels.Isa.Vector512 ? Enum.GetValues<MatMulKernels.Isa>()
        : [MatMulKernels.Isa.Scalar, MatMulKernels.Isa.Vector256];

    // A matrix stored rows x cols at `offset` with leading dimension ld; everything else in the array is NaN.
    sealed record Stored(float[] Data, long Offset, int Ld, int Rows, int Cols)
    {
        public float this[int r, int c] => Data[Offset + (long)r * Ld + c];

        public static Stored Random(Random rng, int rows, int cols, int pad, int offset)
        {
            int ld = cols + pad;
            var data = new float[offset + (long)rows * ld + pad];
            Array.Fill(data, float.NaN);
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    data[offset + (long)r * ld + c] = (float)(rng.NextDouble() * 2 - 1);
            return new Stored(data, offset, Math.Max(1, ld), rows, cols);
        }

        public Stored Copy() => this with { Data = (float[])Data.Clone() };
    }

    // op(X)[i, j] for X stored untransposed or transposed.
    static float Op(Stored x, bool trans, int i, int j) => trans ? x[j, i] : x[i, j];

    // The float64 oracle: C0 (if accumulating) + op(A)·op(B) + bias, with the magnitude that bounds the error.
    sealed record Expected(double[] Value, double[] Magnitude, int M, int N, int K)
    {
        public static Expected Of(bool ta, bool tb, int M, int N, int K, Stored a, Stored b, Stored c0,
            bool accumulate, float[]? bias = null)
        {
            var value = new double[M * N];
            var magnitude = new double[M * N];
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    double sum = accumulate ? c0[i, j] : 0, mag = Math.Abs(sum);
                    for (int k = 0; k < K; k++)
                    {
                        double p = (double)Op(a, ta, i, k) * Op(b, tb, k, j);
                        sum += p;
                        mag += Math.Abs(p);
                    }
                    if (bias != null) { sum += bias[j]; mag += Math.Abs(bias[j]); }
                    value[i * N + j] = sum;
                    magnitude[i * N + j] = mag;
                }
            return new Expected(value, magnitude, M, N, K);
        }

        // C within tolerance of the oracle; with checkPadding, every element outside the view is still NaN.
        public void Check(string label, Stored c, bool checkPadding = true)
        {
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                {
                    double err = Math.Abs(c[i, j] - Value[i * N + j]);
                    if (!(err <= 2 * (K + 2) * UnitRoundoff * Magnitude[i * N + j]))
                        Assert.Fail($"{label}: C[{i},{j}] = {c[i, j]}, expected {Value[i * N + j]} " +
                                    $"(error {err:E2}, magnitude {Magnitude[i * N + j]:E2})");
                }
            if (!checkPadding) return;
            for (long e = 0; e < c.Data.Length; e++)
            {
                long rel = e - c.Offset;
                bool inside = rel >= 0 && rel / c.Ld < M && rel % c.Ld < N;
                if (!inside && !float.IsNaN(c.Data[e]))
                    Assert.Fail($"{label}: wrote outside C at element {e}");
            }
        }
    }

    // Runs one product with every code path and both the packed and the reference kernel.
    static void CheckAll(Random rng, bool ta, bool tb, int M, int N, int K, int pad, bool accumulate, bool withBias,
        bool emulate = true)
    {
        Stored a = ta ? Stored.Random(rng, K, M, pad, 3) : Stored.Random(rng, M, K, pad, 3);
        Stored b = tb ? Stored.Random(rng, N, K, pad, 1) : Stored.Random(rng, K, N, pad, 1);
        Stored c0 = Stored.Random(rng, M, N, pad, 2);
        float[]? bias = withBias ? Stored.Random(rng, 1, N, 0, 0).Data : null;
        string shape = $"{(ta ? 'T' : 'N')}{(tb ? 'T' : 'N')} M={M} N={N} K={K} pad={pad} acc={accumulate}";
        var expected = Expected.Of(ta, tb, M, N, K, a, b, c0, accumulate, bias);
        foreach (var isa in Isas(emulate))
        {
            using var _ = MatMulKernels.UseIsa(isa);
            var c = c0.Copy();
            if (bias == null)
                MatMulKernels.Gemm(ta, tb, M, N, K, a.Data, a.Offset, a.Ld, b.Data, b.Offset, b.Ld,
                    c.Data, c.Offset, c.Ld, accumulate);
            else
                MatMulKernels.GemmBias(ta, tb, M, N, K, a.Data, a.Offset, a.Ld, b.Data, b.Offset, b.Ld, bias, 0,
                    c.Data, c.Offset, c.Ld, accumulate);
            expected.Check($"{isa} {shape}", c);
        }
        var r = c0.Copy();
        if (bias == null)
            MatMulKernels.GemmReference(ta, tb, M, N, K, a.Data, a.Offset, a.Ld, b.Data, b.Offset, b.Ld,
                r.Data, r.Offset, r.Ld, accumulate);
        else
            MatMulKernels.GemmBiasReference(ta, tb, M, N, K, a.Data, a.Offset, a.Ld, b.Data, b.Offset, b.Ld,
                bias, 0, r.Data, r.Offset, r.Ld, accumulate);
        expected.Check($"reference {shape}", r);
    }

    // Lengths 0..3·16+1 sampled around the vector width (16) and the tiles (6, 8, 16, 32).
    static readonly int[] SmallDims = [0, 1, 2, 3, 5, 6, 7, 8, 9, 16, 17, 31, 33, 49];

    [Theory]
    [MemberData(nameof(AllLayouts))]
    public void Gemm_SmallShapes_MatchFloat64Oracle(bool transA, bool transB)
    {
        var rng = new Random(20260101);
        int n = 0;
        foreach (int M in SmallDims)
            foreach (int N in SmallDims)
                foreach (int K in SmallDims)
                {
                    n++;
                    CheckAll(rng, transA, transB, M, N, K, pad: n % 3 == 0 ? 0 : n % 5, accumulate: n % 2 == 0,
                        withBias: n % 7 == 0, emulate: n % 4 == 0);
                }
    }

    // Shapes that straddle MR/NR tiles, the row block MC = 240, the K block KC = 512 and the column block NC = 4096.
    [Theory]
    [MemberData(nameof(AllLayouts))]
    public void Gemm_BlockStraddlingShapes_MatchFloat64Oracle(bool transA, bool transB)
    {
        var rng = new Random(7);
        (int M, int N, int K)[] shapes =
        [
            (241, 65, 17), (480, 33, 9), (23, 37, 1031), (9, 40, 512), (5, 4100, 3), (97, 101, 103), (1, 257, 513),
            (257, 1, 513), (64, 64, 64),
        ];
        foreach (var (M, N, K) in shapes)
        {
            CheckAll(rng, transA, transB, M, N, K, pad: 0, accumulate: false, withBias: false);
            CheckAll(rng, transA, transB, M, N, K, pad: 5, accumulate: true, withBias: true);
        }
    }

    [Fact]
    public void Gemm_KIsZero_ClearsOrKeepsC()
    {
        var rng = new Random(3);
        foreach (var (ta, tb) in Layouts)
            foreach (bool acc in new[] { false, true })
                foreach (bool bias in new[] { false, true })
                    CheckAll(rng, ta, tb, 7, 19, 0, pad: 2, accumulate: acc, withBias: bias);
    }

    [Theory]
    [MemberData(nameof(AllLayouts))]
    public void GemmBatched_StridedAndBroadcast_MatchFloat64Oracle(bool transA, bool transB)
    {
        var rng = new Random(11);
        // (batch, M, N, K, broadcast A, broadcast B): small products split over the batch, bigger ones not,
        // a shared B (the tall-product path when A is untransposed), a shared A.
        (int Batch, int M, int N, int K, bool ShareA, bool ShareB)[] cases =
        [
            (4, 13, 17, 19, false, false), (3, 70, 45, 33, false, false), (6, 9, 35, 40, false, true),
            (5, 21, 8, 3, true, false), (1, 5, 5, 5, false, false), (0, 4, 4, 4, false, false),
            (2, 0, 4, 4, false, false), (4, 100, 90, 110, false, false),
        ];
        foreach (var (batch, M, N, K, shareA, shareB) in cases)
            foreach (bool acc in new[] { false, true })
            {
                int ra = transA ? K : M, ca = transA ? M : K, rb = transB ? N : K, cb = transB ? K : N;
                // Stack the products as rows of one stored matrix: item i of X starts at row i·rows.
                Stored a = Stored.Random(rng, (shareA ? 1 : batch) * ra, ca, 2, 1);
                Stored b = Stored.Random(rng, (shareB ? 1 : batch) * rb, cb, transA ? 0 : 3, 0);
                Stored c0 = Stored.Random(rng, batch * M, N, 1, 4);
                long sa = shareA ? 0 : (long)ra * a.Ld, sb = shareB ? 0 : (long)rb * b.Ld, sc = (long)M * c0.Ld;
                // The oracle of item i views item i of each operand as its own stored matrix.
                var expected = Enumerable.Range(0, batch).Select(i => Expected.Of(transA, transB, M, N, K,
                    a with { Offset = a.Offset + i * sa, Rows = ra }, b with { Offset = b.Offset + i * sb, Rows = rb },
                    c0 with { Offset = c0.Offset + i * sc, Rows = M }, acc)).ToArray();
                foreach (var isa in Isas())
                {
                    using var _ = MatMulKernels.UseIsa(isa);
                    var c = c0.Copy();
                    MatMulKernels.GemmBatched(batch, transA, transB, M, N, K, a.Data, a.Offset, a.Ld, sa,
                        b.Data, b.Offset, b.Ld, sb, c.Data, c.Offset, c.Ld, sc, acc);
                    for (int i = 0; i < batch; i++)
                        expected[i].Check($"{isa} batch {i}/{batch} M={M} N={N} K={K} shareA={shareA} shareB={shareB}",
                            c with { Offset = c.Offset + i * sc, Rows = M }, checkPadding: false);
                }
            }
    }

    // The partition over threads must not change any sum: results are bitwise equal for 1 and 2 threads.
    [Theory]
    [MemberData(nameof(AllLayouts))]
    public void Gemm_OneAndTwoThreads_BitwiseEqual(bool transA, bool transB)
    {
        var rng = new Random(5);
        // Tall, short-and-wide (columns split over threads), K over two blocks, and mirrored (M < N, K >= 2N).
        (int M, int N, int K)[] shapes = [(300, 200, 700), (5, 2000, 300), (129, 96, 1100), (70, 150, 1100)];
        foreach (var (M, N, K) in shapes)
        {
            Stored a = transA ? Stored.Random(rng, K, M, 1, 0) : Stored.Random(rng, M, K, 1, 0);
            Stored b = transB ? Stored.Random(rng, N, K, 0, 2) : Stored.Random(rng, K, N, 0, 2);
            Stored c0 = Stored.Random(rng, M, N, 3, 1);
            float[] bias = Stored.Random(rng, 1, N, 0, 0).Data;
            foreach (var isa in Isas().Where(isa => isa != MatMulKernels.Isa.Scalar))   // scalar: one row per item
            {
                using var _ = MatMulKernels.UseIsa(isa);
                float[] Run(int threads)
                {
                    using var t = Par.UseThreads(threads);
                    var c = c0.Copy();
                    MatMulKernels.GemmBias(transA, transB, M, N, K, a.Data, a.Offset, a.Ld, b.Data, b.Offset, b.Ld,
                        bias, 0, c.Data, c.Offset, c.Ld, accumulate: true);
                    return c.Data;
                }
                Assert.True(Run(1).AsSpan().SequenceEqual(Run(2)), $"{isa} M={M} N={N} K={K}: 1 vs 2 threads differ");
            }
        }
    }

    // Few rows, more columns, long K runs mirrored (C^T = op(B)^T op(A)^T, then transposed into C). It must give the
    // bits of the mirrored product itself (which runs direct, having more rows than columns; with accumulate, C plus
    // that product), in every layout, and leave C's padding alone.
    [Theory]
    [MemberData(nameof(AllLayouts))]
    public void Gemm_MirroredShapes_EqualTheirMirrorBitwise(bool transA, bool transB)
    {
        var rng = new Random(13);
        (int M, int N, int K)[] shapes = [(40, 97, 1030), (8, 33, 66), (65, 300, 600)];
        foreach (var (M, N, K) in shapes)
        {
            Assert.True(MatMulKernels.Mirrored(M, N, K) && !MatMulKernels.Mirrored(N, M, K), $"M={M} N={N} K={K}");
            foreach (bool acc in new[] { false, true })
            {
                Stored a = transA ? Stored.Random(rng, K, M, 1, 2) : Stored.Random(rng, M, K, 1, 2);
                Stored b = transB ? Stored.Random(rng, N, K, 2, 0) : Stored.Random(rng, K, N, 2, 0);
                Stored c0 = Stored.Random(rng, M, N, 3, 1);
                var c = c0.Copy();
                MatMulKernels.Gemm(transA, transB, M, N, K, a.Data, a.Offset, a.Ld, b.Data, b.Offset, b.Ld,
                    c.Data, c.Offset, c.Ld, acc);
                Expected.Of(transA, transB, M, N, K, a, b, c0, acc).Check($"M={M} N={N} K={K} acc={acc}", c);
                var t = new float[N * M];                                  // op(B)^T op(A)^T, direct
                MatMulKernels.Gemm(!transB, !transA, N, M, K, b.Data, b.Offset, b.Ld, a.Data, a.Offset, a.Ld,
                    t, 0, M, accumulate: false);
                for (int i = 0; i < M; i++)
                    for (int j = 0; j < N; j++)
                    {
                        float want = acc ? c0[i, j] + t[j * M + i] : t[j * M + i];
                        if (BitConverter.SingleToInt32Bits(c[i, j]) != BitConverter.SingleToInt32Bits(want))
                            Assert.Fail($"M={M} N={N} K={K} acc={acc}: C[{i},{j}] = {c[i, j]}, its mirror {want}");
                    }
            }
        }
    }

    [Fact]
    public void GemmBatched_OneAndTwoThreads_BitwiseEqual()
    {
        var rng = new Random(9);
        foreach (int batch in new[] { 8, 3 })
        {
            int M = 64, N = 80, K = 48;
            Stored a = Stored.Random(rng, batch * M, K, 0, 0), b = Stored.Random(rng, batch * N, K, 0, 0);
            float[] Run(int threads)
            {
                using var t = Par.UseThreads(threads);
                var c = new float[batch * M * N];
                MatMulKernels.GemmBatched(batch, false, true, M, N, K, a.Data, 0, K, (long)M * K, b.Data, 0, K,
                    (long)N * K, c, 0, N, (long)M * N, accumulate: false);
                return c;
            }
            Assert.True(Run(1).AsSpan().SequenceEqual(Run(2)), $"batch={batch}: 1 vs 2 threads differ");
        }
    }

    // Packed panels come from per-thread buffers and the loop bodies are cached: a warm call allocates nothing
    // (on one thread; with more, Parallel.For allocates its own small bookkeeping).
    [Fact]
    public void Gemm_AfterWarmUp_AllocatesNothingOnOneThread()
    {
        using var _ = Par.UseThreads(1);
        int M = 70, N = 50, K = 600;
        float[] a = new float[M * K], b = new float[N * K], c = new float[M * N], bias = new float[N];
        void Call() => MatMulKernels.GemmBias(false, true, M, N, K, a, 0, K, b, 0, K, bias, 0, c, 0, N, false);
        Call();
        long before = GC.GetAllocatedBytesForCurrentThread();
        Call();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void Gemm_BadArguments_ThrowArgumentException()
    {
        float[] a = new float[6 * 4], b = new float[4 * 5], c = new float[6 * 5], bias = new float[5];
        void Ok() => MatMulKernels.Gemm(false, false, 6, 5, 4, a, 0, 4, b, 0, 5, c, 0, 5, false);
        Ok();   // the valid call the others break
        var bad = new (string Name, Action Call)[]
        {
            ("negative M", () => MatMulKernels.Gemm(false, false, -1, 5, 4, a, 0, 4, b, 0, 5, c, 0, 5, false)),
            ("lda < K", () => MatMulKernels.Gemm(false, false, 6, 5, 4, a, 0, 3, b, 0, 5, c, 0, 5, false)),
            ("transA lda < M", () => MatMulKernels.Gemm(true, false, 6, 5, 4, a, 0, 5, b, 0, 5, c, 0, 5, false)),
            ("ldb < N", () => MatMulKernels.Gemm(false, false, 6, 5, 4, a, 0, 4, b, 0, 4, c, 0, 5, false)),
            ("ldc < N", () => MatMulKernels.Gemm(false, false, 6, 5, 4, a, 0, 4, b, 0, 5, c, 0, 4, false)),
            ("A too short", () => MatMulKernels.Gemm(false, false, 6, 5, 4, a, 1, 4, b, 0, 5, c, 0, 5, false)),
            ("B too short", () => MatMulKernels.Gemm(false, false, 6, 5, 4, a, 0, 4, b, 1, 5, c, 0, 5, false)),
            ("C too short", () => MatMulKernels.Gemm(false, false, 7, 5, 3, a, 0, 3, b, 0, 5, c, 0, 5, false)),
            ("negative offset", () => MatMulKernels.Gemm(false, false, 6, 5, 4, a, -1, 4, b, 0, 5, c, 0, 5, false)),
            ("null A", () => MatMulKernels.Gemm(false, false, 6, 5, 4, null!, 0, 4, b, 0, 5, c, 0, 5, false)),
            ("reference C too short",
                () => MatMulKernels.GemmReference(false, false, 6, 5, 4, a, 0, 4, b, 0, 5, c, 1, 5, false)),
            ("bias too short",
                () => MatMulKernels.GemmBias(false, false, 6, 5, 4, a, 0, 4, b, 0, 5, bias, 1, c, 0, 5, false)),
            ("batched A past the end", () => MatMulKernels.GemmBatched(2, false, false, 6, 5, 4, a, 0, 4, 1,
                b, 0, 5, 0, new float[60], 0, 5, 30, false)),
            ("batched strideC = 0", () => MatMulKernels.GemmBatched(2, false, false, 6, 5, 4, a, 0, 4, 0,
                b, 0, 5, 0, c, 0, 5, 0, false)),
            ("negative batch", () => MatMulKernels.GemmBatched(-1, false, false, 6, 5, 4, a, 0, 4, 0,
                b, 0, 5, 0, c, 0, 5, 30, false)),
        };
        foreach (var (name, call) in bad)
        {
            var e = Assert.ThrowsAny<ArgumentException>(call);
            Assert.True(e.Message.Contains("MatMulKernels") || e is ArgumentNullException, $"{name}: {e.Message}");
        }
    }
}
