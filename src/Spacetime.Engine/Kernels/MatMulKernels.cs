// MatMulKernels: fp32 matrix products, the engine's hot loop (Linear layers, attention, convolutions as GEMM).
//
//   C[M,N] = (accumulate ? C : 0) + op(A)[M,K] · op(B)[K,N]   (+ bias[N] on every row, GemmBias)
//   C[M,N] = gelu_tanh(op(A) · op(B) + bias[N]), pre[M,N] = op(A) · op(B) + bias[N]   (GemmBiasGelu, fc1 + GELU)
//
// Everything is row-major with a leading dimension (the distance between rows), so strided views need no copy.
// op(A) = A stored M x K (lda >= K) when !transA, or A stored K x M (lda >= M) and read transposed when transA.
// op(B) = B stored K x N (ldb >= N) when !transB, or B stored N x K (ldb >= K) and read transposed when transB.
// The Linear layer y = x W^T + b is Gemm(transA: false, transB: true) with the (out, in) weight as B.
//
// Versions (llm.c dev/cuda style; tests compare v2 against a float64 oracle, the benchmark against v1):
//   v1 GemmReference: the naive triple loop (float64 sum), the test oracle and the fallback without SIMD.
//   v2 Gemm: BLIS-style packed GEMM (Goto & van de Geijn 2008; Van Zee & van de Geijn 2015). Loop nest:
//        for jc in N step NC            (NC columns of B kept packed: KC x NC floats, shared by the threads)
//          for pc in K step KC          (one K block; its partial sums are added to C in K order)
//            pack B[pc.., jc..] into NR-wide panels [kc][NR]        (Par over panels)
//            for each (row range, column group) task                (Par over tasks)
//              for ic in rows step MC: pack A[ic.., pc..] into MR-high panels [kc][MR] (per thread)
//                for jr in columns step NR, for ir in rows step MR: micro-kernel, MR x NR of C in registers
//      The micro-kernel is 8x32 with Vector512 (16 zmm accumulators) or 6x16 with Vector256 (12 ymm accumulators).
//      Packing absorbs every layout: a panel is read either with k along the rows (copies) or with k along the
//      contiguous dimension (8x8 in-register transposes), so NN, NT, TN and TT share one kernel.
//      Partial tiles go through a scratch tile, so M, N, K can be anything.
//      A product with fewer rows than columns and a long K (M < N, K >= 2N: weight gradients of narrowing layers)
//      runs mirrored, C^T = op(B)^T op(A)^T, into scratch, then is transposed into C (MirroredProduct).
//
// Epilogue (GemmBiasGelu): after the last K block of a thread's MC-row block, while the block is still in L2, its rows
// are copied to pre (when asked: the pre-activation that GELU's backward needs) and replaced by gelu(row) (GeluRow).
// Per block rather than per MR x NR tile: 4096x384x1536 at 2 threads took 24.4 ms with the tile epilogue and 19.8-22.7
// ms with the block one, the GEMM alone 15-17 ms (session 34).
//
// Determinism: every C element is summed over k in the same order (k ascending inside a K block, K blocks in
// order) whatever the thread count or partition, so 1 and 2 threads give bitwise identical results.
// Blocking: KC = 512, MC = 240 for both paths. With AVX-512 (the csgemm prototype's sweep, shared/perf) the 8 x KC
// A micro-panel is 16 KiB and the MC x KC A block 480 KiB (L2); with AVX2 (a 1-thread CPU-time sweep of KC 256..512
// x MC 120..480 on this machine, `-- matmul --kc --mc --clock cpu`) 512/240 was again best or within noise. The
// B micro-panel (KC x NR) stays in L1 while the macro-kernel walks the A block. NC = 4096 bounds the packed B
// shared by the threads (8 MiB, L3).
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Spacetime.Engine.Kernels;

/// <summary>fp32 GEMM kernels: C = (accumulate ? C : 0) + op(A)·op(B), row-major with leading dimensions.</summary>
public static unsafe partial class MatMulKernels
{
    /// <summary>Which code path the packed GEMM uses; tests force the narrower ones on a wide CPU.</summary>
    internal enum Isa { Scalar, Vector256, Vector512 }

    [ThreadStatic] static Isa? isaOverride;

    // The packing transposes use AVX and the 6x16 tile FMA; every x86-64 CPU with FMA has both.
    internal static bool HasAvxFma => Avx.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated;

    /// <summary>The widest path this CPU runs well (.NET reports Vector512 unaccelerated where 512-bit code is
    /// slower, and then so do we).</summary>
    internal static Isa BestIsa =>
        HasAvxFma && Vector512.IsHardwareAccelerated ? Isa.Vector512 : HasAvxFma ? Isa.Vector256 : Isa.Scalar;

    /// <summary>Forces a path for calls started on this thread until disposed; for tests. Vector512 is allowed on
    /// any AVX2+FMA CPU: without AVX-512 the runtime emulates it (slowly), which still tests its logic.</summary>
    internal static IDisposable UseIsa(Isa isa)
    {
        if (isa != Isa.Scalar && !HasAvxFma)
            throw new ArgumentException($"MatMulKernels.UseIsa: {isa} needs AVX2 and FMA, which this CPU lacks.");
        Isa? previous = isaOverride;
        isaOverride = isa;
        return new RestoreIsa(previous);
    }

    sealed class RestoreIsa(Isa? previous) : IDisposable
    {
        public void Dispose() => isaOverride = previous;
    }

    internal static Isa CurrentIsa => isaOverride ?? BestIsa;

    /// <summary>Cache blocking of one path: KC (depth of a K block), MC (rows of a packed A block, a multiple of
    /// both MR), NC (columns of the shared packed B). Chosen by bench measurements (see the header).</summary>
    internal readonly record struct Blocking(int KC, int MC, int NC);

    // Settable only so the benchmark can sweep them; a K-block change changes rounding (never thread-dependent).
    internal static Blocking Blocking512 = new(KC: 512, MC: 240, NC: 4096);
    internal static Blocking Blocking256 = new(KC: 512, MC: 240, NC: 4096);

    /// <summary>C[M,N] = (accumulate ? C : 0) + op(A)[M,K] · op(B)[K,N]; the layouts are in the file header.</summary>
    public static void Gemm(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[] c, long cOffset, int ldc,
        bool accumulate)
    {
        Validate("Gemm", transA, transB, M, N, K, a, aOffset, lda, 0, b, bOffset, ldb, 0, c, cOffset, ldc, 0, 1);
        Run(transA, transB, M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate, null, 0);
    }

    /// <summary>C[M,N] = (accumulate ? C : 0) + op(A)·op(B) + bias[N] on every row: a Linear layer in one pass.
    /// </summary>
    public static void GemmBias(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[] bias, long biasOffset,
        float[] c, long cOffset, int ldc, bool accumulate)
    {
        Validate("GemmBias", transA, transB, M, N, K, a, aOffset, lda, 0, b, bOffset, ldb, 0, c, cOffset, ldc, 0, 1);
        ValidateBias("GemmBias", N, bias, biasOffset);
        Run(transA, transB, M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate, bias, biasOffset);
    }

    /// <summary>C[M,N] = gelu_tanh(op(A)·op(B) + bias[N]), the pre-activation also stored to pre[M,N] (same ldc)
    /// when pre is not null: fc1 and the MLP's GELU in one pass over C. No accumulate: C is overwritten.</summary>
    public static void GemmBiasGelu(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[]? bias, long biasOffset,
        float[] c, long cOffset, int ldc, float[]? pre, long preOffset)
    {
        Validate("GemmBiasGelu", transA, transB, M, N, K, a, aOffset, lda, 0, b, bOffset, ldb, 0, c, cOffset, ldc, 0, 1);
        if (bias is not null) ValidateBias("GemmBiasGelu", N, bias, biasOffset);
        if (pre is not null) CheckMatrix("GemmBiasGelu", M, N, K, 1, "pre", pre, preOffset, ldc, 0, M, N, false);
        Run(transA, transB, M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, false, bias, biasOffset,
            gelu: true, pre, preOffset);
    }

    /// <summary>
    /// batch independent products C_i = (accumulate ? C_i : 0) + op(A_i)·op(B_i), where X_i starts at
    /// xOffset + i·strideX. A stride of 0 on A or B broadcasts it (a shared weight); strideC must be nonzero.
    /// </summary>
    public static void GemmBatched(int batch, bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, long strideA, float[] b, long bOffset, int ldb, long strideB,
        float[] c, long cOffset, int ldc, long strideC, bool accumulate)
    {
        Validate("GemmBatched", transA, transB, M, N, K, a, aOffset, lda, strideA, b, bOffset, ldb, strideB,
            c, cOffset, ldc, strideC, batch);
        if (batch == 0 || M == 0 || N == 0) return;

        // A shared B under row-stacked A and C is one tall product: (batch·M, K) · (K, N). Same sums, fewer packs.
        if (strideB == 0 && !transA && strideA == (long)M * lda && strideC == (long)M * ldc
            && (long)batch * M <= int.MaxValue)
        {
            Run(false, transB, batch * M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate, null, 0);
            return;
        }

        // Small products run whole on one thread each, split over the batch; big ones use every thread each.
        int threads = Par.Threads;
        bool splitBatch = threads > 1 && (batch % threads == 0 || batch >= 4 * threads)
                          && (long)M * N * K <= 1L << 24;
        if (splitBatch)
        {
            Par.For(batch, 2L * M * N * K, i => Run(transA, transB, M, N, K, a, aOffset + i * strideA, lda,
                b, bOffset + i * strideB, ldb, c, cOffset + i * strideC, ldc, accumulate, null, 0));
            return;
        }
        for (int i = 0; i < batch; i++)
            Run(transA, transB, M, N, K, a, aOffset + i * strideA, lda, b, bOffset + i * strideB, ldb,
                c, cOffset + i * strideC, ldc, accumulate, null, 0);
    }

    /// <summary>The naive product (float64 sums, k ascending): the test oracle and the fallback without SIMD.</summary>
    public static void GemmReference(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[] c, long cOffset, int ldc,
        bool accumulate)
    {
        Validate("GemmReference", transA, transB, M, N, K, a, aOffset, lda, 0, b, bOffset, ldb, 0, c, cOffset, ldc,
            0, 1);
        Reference(transA, transB, M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate, null, 0);
    }

    /// <summary>The naive GemmBias.</summary>
    public static void GemmBiasReference(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[] bias, long biasOffset,
        float[] c, long cOffset, int ldc, bool accumulate)
    {
        Validate("GemmBiasReference", transA, transB, M, N, K, a, aOffset, lda, 0, b, bOffset, ldb, 0,
            c, cOffset, ldc, 0, 1);
        ValidateBias("GemmBiasReference", N, bias, biasOffset);
        Reference(transA, transB, M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate,
            bias, biasOffset);
    }

    /// <summary>The naive GemmBiasGelu: GemmBiasReference, then the GELU epilogue row by row.</summary>
    public static void GemmBiasGeluReference(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[]? bias, long biasOffset,
        float[] c, long cOffset, int ldc, float[]? pre, long preOffset)
    {
        Validate("GemmBiasGeluReference", transA, transB, M, N, K, a, aOffset, lda, 0, b, bOffset, ldb, 0,
            c, cOffset, ldc, 0, 1);
        Reference(transA, transB, M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, false, bias, biasOffset);
        fixed (float* pc = c, pp = pre)
            for (int i = 0; i < M; i++)
                Epilogue(pc + cOffset + (long)i * ldc, pp == null ? null : pp + preOffset + (long)i * ldc, N);
    }

    // The GELU epilogue on one row of n elements: pre = row (when pre is not null), then row = gelu_tanh(row).
    // gelu_tanh(v) = 0.5 v (1 + tanh(u)) = v sigmoid(2u) = v / (1 + exp(-2u)), u = sqrt(2/pi) (v + 0.044715 v^3);
    // the sigmoid form needs one exp and no tanh, and saturates cleanly (exp -> inf gives -0, exp -> 0 gives v).
    // Every element is computed by the same vector code (the tail is padded through a stack row), so a value's
    // result does not depend on its position in a tile.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Epilogue(float* row, float* pre, int n)
    {
        if (pre != null) new ReadOnlySpan<float>(row, n).CopyTo(new Span<float>(pre, n));
        GeluRow(row, n);
    }

    // gelu(x) = x sigmoid(2u) = x / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3). One vector width per machine
    // (Vector512 where accelerated), the tail through a padded stack vector.
    internal static void GeluRow(float* row, int n)
    {
        int i = 0;
        float* tail = stackalloc float[16];
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16) Gelu(Vector512.Load(row + i)).Store(row + i);
            if (i == n) return;
            for (int j = 0; j < 16; j++) tail[j] = i + j < n ? row[i + j] : 0f;
            Gelu(Vector512.Load(tail)).Store(tail);
        }
        else
        {
            for (; i + 8 <= n; i += 8) Gelu(Vector256.Load(row + i)).Store(row + i);
            if (i == n) return;
            for (int j = 0; j < 8; j++) tail[j] = i + j < n ? row[i + j] : 0f;
            Gelu(Vector256.Load(tail)).Store(tail);
        }
        for (int j = 0; i + j < n; j++) row[i + j] = tail[j];
    }

    static Vector512<float> Gelu(Vector512<float> v) =>
        v / (Vector512<float>.One + FastMath.Exp(Vector512.Create(-2f * UnaryKernels.Sqrt2OverPi)
                                                  * (v + Vector512.Create(UnaryKernels.GeluCoeff) * v * v * v)));

    static Vector256<float> Gelu(Vector256<float> v) =>
        v / (Vector256<float>.One + FastMath.Exp(Vector256.Create(-2f * UnaryKernels.Sqrt2OverPi)
                                                  * (v + Vector256.Create(UnaryKernels.GeluCoeff) * v * v * v)));

    // v1: one row of C per Par item; op(A)[i,k] and op(B)[k,j] read through the layout flags.
    static void Reference(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[] c, long cOffset, int ldc,
        bool accumulate, float[]? bias, long biasOffset)
    {
        Par.For(M, 2L * N * K, i =>
        {
            for (int j = 0; j < N; j++)
            {
                double sum = 0;
                for (int k = 0; k < K; k++)
                {
                    float x = transA ? a[aOffset + (long)k * lda + i] : a[aOffset + (long)i * lda + k];
                    float y = transB ? b[bOffset + (long)j * ldb + k] : b[bOffset + (long)k * ldb + j];
                    sum += (double)x * y;
                }
                long o = cOffset + (long)i * ldc + j;
                float v = (float)sum;
                if (bias != null) v += bias[biasOffset + j];
                c[o] = accumulate ? c[o] + v : v;
            }
        });
    }

    // ---------------------------------------------------------------------------------------------------------
    // Argument checks: every extent is checked once here, so the pointer code below never leaves a buffer.

    static void Validate(string kernel, bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, long strideA, float[] b, long bOffset, int ldb, long strideB,
        float[] c, long cOffset, int ldc, long strideC, int batch)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(c);
        if (M < 0 || N < 0 || K < 0 || batch < 0)
            throw new ArgumentException($"MatMulKernels.{kernel}: sizes must be non-negative, got " +
                $"{Sizes(M, N, K, batch)}.");
        if (batch > 1 && strideC == 0 && M > 0 && N > 0)
            throw new ArgumentException($"MatMulKernels.{kernel} ({Sizes(M, N, K, batch)}): strideC must be " +
                "nonzero for batch > 1 (products would overwrite one another).");
        CheckMatrix(kernel, M, N, K, batch, "A", a, aOffset, lda, strideA, transA ? K : M, transA ? M : K, transA);
        CheckMatrix(kernel, M, N, K, batch, "B", b, bOffset, ldb, strideB, transB ? N : K, transB ? K : N, transB);
        CheckMatrix(kernel, M, N, K, batch, "C", c, cOffset, ldc, strideC, M, N, false);
    }

    static string Sizes(int M, int N, int K, int batch) =>
        $"M={M}, N={N}, K={K}" + (batch != 1 ? $", batch={batch}" : "");

    // A matrix stored rows x cols with leading dimension ld, batch copies stride apart, must lie inside the array.
    static void CheckMatrix(string kernel, int M, int N, int K, int batch, string name, float[] x, long offset,
        int ld, long stride, int rows, int cols, bool trans)
    {
        bool empty = rows == 0 || cols == 0 || batch == 0;
        // One past the last element read (Int128: huge strides must not wrap around).
        Int128 end = empty ? 0 : (Int128)offset + (Int128)(batch - 1) * stride + (Int128)(rows - 1) * ld + cols;
        if (ld >= Math.Max(1, cols) && offset >= 0 && stride >= 0 && end <= x.Length)
            return;
        string at = $"MatMulKernels.{kernel} ({Sizes(M, N, K, batch)}): {name}{(trans ? " (transposed)" : "")} " +
                    $"stored {rows} x {cols}";
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"{at} needs a leading dimension >= {Math.Max(1, cols)}, got {ld}.");
        if (offset < 0 || stride < 0)
            throw new ArgumentException($"{at} needs a non-negative offset and stride, got offset {offset}, " +
                $"stride {stride}.");
        throw new ArgumentException($"{at} with leading dimension {ld}" +
            $"{(batch > 1 ? $", {batch} copies {stride} apart," : "")} from offset {offset} ends at {end}, " +
            $"past the array length {x.Length}.");
    }

    static void ValidateBias(string kernel, int N, float[] bias, long biasOffset)
    {
        ArgumentNullException.ThrowIfNull(bias);
        if (biasOffset < 0 || biasOffset + N > bias.Length)
            throw new ArgumentException($"MatMulKernels.{kernel}: bias needs N={N} elements from offset " +
                $"{biasOffset}, but its length is {bias.Length}.");
    }

    // ---------------------------------------------------------------------------------------------------------
    // v2: the packed GEMM driver.

    // One product as raw pointers, with the register tile of the chosen path.
    readonly struct Problem
    {
        public readonly float* A, B, C, Bias;             // Bias is null when absent
        public readonly float* Pre;                       // GemmBiasGelu's pre-activation copy, or null
        public readonly long Lda, Ldb, Ldc;
        public readonly bool TransA, TransB, Accumulate, Gelu;
        public readonly int M, N, K, MR, NR;
        public readonly Isa Isa;
        public readonly Blocking Blocks;

        public Problem(float* a, long lda, bool transA, float* b, long ldb, bool transB, float* c, long ldc,
            float* bias, bool accumulate, int m, int n, int k, Isa isa, bool gelu = false, float* pre = null)
        {
            A = a; B = b; C = c; Bias = bias; Lda = lda; Ldb = ldb; Ldc = ldc; Gelu = gelu; Pre = pre;
            TransA = transA; TransB = transB; Accumulate = accumulate; M = m; N = n; K = k; Isa = isa;
            (MR, NR, Blocks) = isa == Isa.Vector512 ? (8, 32, Blocking512) : (6, 16, Blocking256);
        }
    }

    static void Run(bool transA, bool transB, int M, int N, int K,
        float[] a, long aOffset, int lda, float[] b, long bOffset, int ldb, float[] c, long cOffset, int ldc,
        bool accumulate, float[]? bias, long biasOffset, bool gelu = false, float[]? pre = null, long preOffset = 0)
    {
        if (M == 0 || N == 0) return;
        Isa isa = CurrentIsa;
        fixed (float* pa = a, pb = b, pc = c, pbias = bias, ppre = pre)
        {
            float* biasPtr = bias == null ? null : pbias + biasOffset;
            float* prePtr = pre == null ? null : ppre + preOffset;
            if (isa == Isa.Scalar || K == 0)
            {
                if (K == 0) ScaleRows(pc + cOffset, ldc, M, N, accumulate, biasPtr);
                else Reference(transA, transB, M, N, K, a, aOffset, lda, b, bOffset, ldb, c, cOffset, ldc, accumulate,
                    bias, biasOffset);
                if (gelu)
                    for (int i = 0; i < M; i++)
                        Epilogue(pc + cOffset + (long)i * ldc, prePtr == null ? null : prePtr + (long)i * ldc, N);
                return;
            }
            if (Mirrored(M, N, K) && bias == null && !gelu)
            {
                MirroredProduct(transA, transB, M, N, K, pa + aOffset, lda, pb + bOffset, ldb, pc + cOffset, ldc,
                    accumulate, isa);
                return;
            }
            var p = new Problem(pa + aOffset, lda, transA, pb + bOffset, ldb, transB, pc + cOffset, ldc,
                biasPtr, accumulate, M, N, K, isa, gelu, prePtr);
            Packed(in p);
        }
    }

    // Few rows, more columns and a long K (a weight gradient dW = dY^T X of a layer with fewer outputs than inputs):
    // the driver gives each thread a few row panels and walks the whole packed B for them once per K block, which ran
    // slower than the mirrored problem (TN at 2 threads, session 34: 384 x 4096 x 1536 21.4 ms, its mirror 1536 x 4096
    // x 384 17.9 ms). So such a product runs mirrored, C^T = op(B)^T op(A)^T, into scratch, and is transposed into C.
    // Every product sum is the same products (x y = y x exactly) in the same k order, so without accumulate C gets the
    // bits the direct driver would give; with accumulate, C is added once to the whole sum rather than at the start
    // (a different rounding, the same for every thread count).
    internal static bool Mirrored(int M, int N, int K) => M < N && K >= 2 * N;

    static void MirroredProduct(bool transA, bool transB, int M, int N, int K, float* a, int lda, float* b, int ldb,
        float* c, int ldc, bool accumulate, Isa isa)
    {
        var ws = Workspace.Current;
        float* t = ws.Scratch((long)N * M);                                   // C^T: (N, M), leading dim M
        ws.Run(new Problem(b, ldb, !transB, a, lda, !transA, t, M, null, false, N, M, K, isa));
        ws.TransposeInto(t, c, ldc, M, N, accumulate);
    }

    // K = 0: the product is empty, so C = (accumulate ? C : 0) + bias.
    static void ScaleRows(float* c, long ldc, int M, int N, bool accumulate, float* bias)
    {
        for (int i = 0; i < M; i++)
        {
            var row = new Span<float>(c + i * ldc, N);
            if (!accumulate) row.Clear();
            if (bias != null)
                System.Numerics.Tensors.TensorPrimitives.Add(row, new ReadOnlySpan<float>(bias, N), row);
        }
    }

    static void Packed(in Problem p) => Workspace.Current.Run(in p);

    // C[m0..m1, j0..j0+width) += A[m0..m1, pc..pc+kc) · packed B, in row blocks of at most MC.
    static void Rows(in Problem q, int m0, int m1, int j0, int width, int pc, int kc, float* bp, bool firstK,
        bool lastK)
    {
        int mr = q.MR, MC = q.Blocks.MC;
        float* ap = Workspace.Current.PackA((long)(MC + mr) * kc + 8);   // + 8: PackPanel may write 2 floats past
        int blocks = (m1 - m0 + MC - 1) / MC;
        int panels = (m1 - m0 + mr - 1) / mr;
        for (int blk = 0; blk < blocks; blk++)
        {
            // Even blocks of whole panels, so no block is a thin leftover.
            int i0 = m0 + panels * blk / blocks * mr, i1 = Math.Min(m1, m0 + panels * (blk + 1) / blocks * mr);
            for (int i = i0; i < i1; i += mr)
            {
                float* src = q.TransA ? q.A + pc * q.Lda + i : q.A + i * q.Lda + pc;
                PackPanel(src, q.Lda, !q.TransA, mr, Math.Min(mr, i1 - i), kc, ap + (long)(i - i0) * kc);
            }
            Macro(in q, i0, i1, j0, width, kc, ap, bp, firstK);
            // GELU on the finished block while it is still in L2 (the header's Epilogue paragraph)
            if (lastK && q.Gelu)
                for (int i = i0; i < i1; i++)
                    Epilogue(q.C + i * q.Ldc + j0, q.Pre == null ? null : q.Pre + i * q.Ldc + j0, width);
        }
    }

    // The macro-kernel: every MR x NR tile of C[i0..i1, j0..j0+width) from packed A and B panels.
    static void Macro(in Problem q, int i0, int i1, int j0, int width, int kc, float* ap, float* bp, bool firstK)
    {
        int mr = q.MR, nr = q.NR;
        bool acc = q.Accumulate || !firstK;            // later K blocks add to what the first one stored
        float* tile = stackalloc float[8 * 32 + 16];
        tile = (float*)(((nint)tile + 63) & ~(nint)63);
        for (int j = 0; j < width; j += nr)
        {
            float* b = bp + (long)(j / nr) * kc * nr;
            float* bias = firstK && q.Bias != null ? q.Bias + j0 + j : null;
            int w = Math.Min(nr, width - j);
            for (int i = i0; i < i1; i += mr)
            {
                float* a = ap + (long)(i - i0) * kc;
                float* c = q.C + i * q.Ldc + j0 + j;
                int h = Math.Min(mr, i1 - i);
                if (h == mr && w == nr)
                {
                    MicroKernel(q.Isa, kc, a, b, c, q.Ldc, acc, bias);
                    continue;
                }
                // A partial tile: compute the full tile into scratch, then add the valid h x w corner.
                MicroKernel(q.Isa, kc, a, b, tile, nr, false, null);
                for (int r = 0; r < h; r++)
                    for (int x = 0; x < w; x++)
                    {
                        float v = tile[r * nr + x];
                        if (acc) v = c[r * q.Ldc + x] + v;
                        if (bias != null) v += bias[x];
                        c[r * q.Ldc + x] = v;
                    }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void MicroKernel(Isa isa, int kc, float* a, float* b, float* c, long ldc, bool acc, float* bias)
    {
        if (isa == Isa.Vector512) Kernel8x32(kc, a, b, c, ldc, acc, bias);
        else Kernel6x16(kc, a, b, c, ldc, acc, bias);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Per-thread workspace: packing buffers (64-byte aligned, grown on demand and kept) and the state of the product
    // this thread is running, whose Par loop bodies are delegates made once. So after warm-up a call allocates
    // nothing itself (Par's own bookkeeping aside, when it uses threads). The finalizer frees the buffers when the
    // owning thread ends. Only the owning thread starts products on it; workers read its packed B.

    sealed class Workspace
    {
        [ThreadStatic] static Workspace? current;
        public static Workspace Current => current ??= new Workspace();

        float* a, b, scratch;
        long capA, capB, capScratch;
        public float* PackA(long floats) => Grow(ref a, ref capA, floats);

        /// <summary>A mirrored product's C^T (MirroredProduct); only the owning thread writes it.</summary>
        public float* Scratch(long floats) => Grow(ref scratch, ref capScratch, floats);

        // The product in progress and its current (jc, pc) block, read by the Par bodies.
        Problem q;
        int jc, nc, pc, kc, rowPanels, colPanels, colGroups;
        readonly Action<int, int> packB, compute;

        // A mirrored product's transpose in progress: C[i, j] = (accumulate ? C[i, j] : 0) + T[j, i], T (N, M).
        float* tSrc, tDst;
        int tM, tN, tLdc;
        bool tAccumulate;
        readonly Action<int, int> transpose;

        Workspace()
        {
            packB = PackBPanels;
            compute = ComputeTasks;
            transpose = TransposeBlocks;
        }

        public void TransposeInto(float* t, float* c, int ldc, int M, int N, bool accumulate)
        {
            tSrc = t;
            tDst = c;
            (tLdc, tM, tN, tAccumulate) = (ldc, M, N, accumulate);
            Par.ForRange((M + 31) / 32, 32L * N, transpose);
        }

        // Row blocks s..e of C (32 rows each), in 32 x 32 tiles so both sides stay in cache.
        void TransposeBlocks(int s, int e)
        {
            int M = tM, N = tN;
            for (int i0 = s * 32; i0 < Math.Min(M, e * 32); i0 += 32)
                for (int j0 = 0; j0 < N; j0 += 32)
                    for (int i = i0; i < Math.Min(M, i0 + 32); i++)
                    {
                        float* row = tDst + (long)i * tLdc;
                        for (int j = j0; j < Math.Min(N, j0 + 32); j++)
                            row[j] = tAccumulate ? row[j] + tSrc[(long)j * M + i] : tSrc[(long)j * M + i];
                    }
        }

        public void Run(in Problem problem)
        {
            q = problem;
            int threads = Par.Threads;
            var (KC, _, NC) = q.Blocks;
            rowPanels = (q.M + q.MR - 1) / q.MR;
            for (jc = 0; jc < q.N; jc += NC)
            {
                nc = Math.Min(NC, q.N - jc);
                colPanels = (nc + q.NR - 1) / q.NR;
                // Few rows (a short batch of tokens): also split the columns, so every thread has work.
                colGroups = threads == 1 || rowPanels >= 4 * threads
                    ? 1 : Math.Min(colPanels, (4 * threads + rowPanels - 1) / rowPanels);
                for (pc = 0; pc < q.K; pc += KC)
                {
                    kc = Math.Min(KC, q.K - pc);
                    Grow(ref b, ref capB, (long)kc * colPanels * q.NR);
                    Par.ForRange(colPanels, (long)kc * q.NR, packB);
                    Par.ForRange(colGroups * rowPanels, 2L * q.MR * kc * nc / colGroups, compute);
                }
            }
            q = default;
        }

        // 1. Pack B[pc.., jc..] once, shared by all tasks: panel t holds columns jc + t·NR .. + NR.
        void PackBPanels(int t0, int t1)
        {
            int nr = q.NR;
            for (int t = t0; t < t1; t++)
            {
                int j = jc + t * nr;
                float* src = q.TransB ? q.B + j * q.Ldb + pc : q.B + pc * q.Ldb + j;
                PackPanel(src, q.Ldb, q.TransB, nr, Math.Min(nr, q.N - j), kc, b + (long)t * kc * nr);
            }
        }

        // 2. Tasks are (column group, row panel) pairs; a Par chunk takes contiguous row panels of a group.
        void ComputeTasks(int s, int e)
        {
            int mr = q.MR, nr = q.NR;
            while (s < e)
            {
                int g = s / rowPanels, r0 = s % rowPanels, r1 = Math.Min(rowPanels, r0 + (e - s));
                int t0 = colPanels * g / colGroups, t1 = colPanels * (g + 1) / colGroups;
                Rows(in q, r0 * mr, Math.Min(q.M, r1 * mr), jc + t0 * nr, Math.Min(nc, t1 * nr) - t0 * nr,
                    pc, kc, b + (long)t0 * kc * nr, firstK: pc == 0, lastK: pc + kc >= q.K);
                s += r1 - r0;
            }
        }

        static float* Grow(ref float* buffer, ref long capacity, long floats)
        {
            if (capacity < floats)
            {
                NativeMemory.AlignedFree(buffer);
                buffer = (float*)NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
                capacity = floats;
            }
            return buffer;
        }

        ~Workspace()
        {
            NativeMemory.AlignedFree(a);
            NativeMemory.AlignedFree(b);
            NativeMemory.AlignedFree(scratch);
        }
    }
}
