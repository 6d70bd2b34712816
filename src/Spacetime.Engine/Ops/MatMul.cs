// Matrix products: batched MatMul in every transpose layout, with NumPy broadcasting of batch dims, and Linear
// (y = x W^T + b, the layer every transformer spends its time in). Both run on the packed GEMM (Kernels/MatMulKernels).
// Transposed views are read in place: a matrix whose columns are contiguous is passed with the transpose flag flipped.
//
// Backward, for C = op(A) op(B) with dC:
//   dA = dC op(B)^T           (stored transposed when transA: dA = op(B) dC^T)
//   dB = op(A)^T dC           (stored transposed when transB: dB = dC^T op(A))
// summed over batch dims the operand was broadcast along.
using System.Numerics.Tensors;
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>
    /// op(a) · op(b) over the last two dims, where op transposes when the flag is set; leading (batch) dims broadcast.
    /// a: (..., M, K) or (..., K, M) when transA; b: (..., K, N) or (..., N, K) when transB. Result (..., M, N).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transA = false, bool transB = false)
    {
        if (a.Rank < 2 || b.Rank < 2)
            throw new ArgumentException($"MatMul: both operands need at least 2 dims, got {Shapes.Format(a.Dims)} and " +
                                        $"{Shapes.Format(b.Dims)}.");
        int M = transA ? a.Dims[^1] : a.Dims[^2], Ka = transA ? a.Dims[^2] : a.Dims[^1];
        int Kb = transB ? b.Dims[^1] : b.Dims[^2], N = transB ? b.Dims[^2] : b.Dims[^1];
        if (Ka != Kb)
            throw new ArgumentException($"MatMul: inner sizes differ: {Shapes.Format(a.Dims)}{(transA ? "^T" : "")} x " +
                                        $"{Shapes.Format(b.Dims)}{(transB ? "^T" : "")} ({Ka} vs {Kb}).");
        int K = Ka;

        // A shared 2-d right operand under a stack of left matrices is one tall product (row-stacked A).
        if (b.Rank == 2 && a.Rank > 2 && !transA)
        {
            var lead = a.Dims[..^1];
            return Reshape(MatMul(Reshape(a, -1, K), b, false, transB), [.. lead, N]);
        }

        var batchDims = Shapes.Broadcast(a.Dims[..^2], b.Dims[..^2], "MatMul");
        int batch = Shapes.Count(batchDims);
        var y = Tensor.Empty([.. batchDims, M, N]);
        var va = MatrixView.Of(a, transA, batchDims);
        var vb = MatrixView.Of(b, transB, batchDims);
        MatMulKernels.GemmBatched(batch, va.Trans, vb.Trans, M, N, K,
            va.Data, va.Offset, va.Ld, va.BatchStride, vb.Data, vb.Offset, vb.Ld, vb.BatchStride,
            y.Storage.Data, 0, N, (long)M * N, accumulate: false);
        if (!Autograd.Needs(a, b)) return y;
        return Autograd.Record(OpKind.MatMul, y, [a, b], dy =>
        {
            if (a.RequiresGrad)
            {
                var da = transA ? MatMul(b, dy, transB, true) : MatMul(dy, b, false, !transB);
                Autograd.Accumulate(a, SumTo(da, a.Dims), fresh: true);
            }
            if (b.RequiresGrad)
            {
                var db = transB ? MatMul(dy, a, true, transA) : MatMul(a, dy, !transA, false);
                Autograd.Accumulate(b, SumTo(db, b.Dims), fresh: true);
            }
        });
    }

    /// <summary>y = x W^T + b. x: (..., in), weight: (out, in), bias: (out) or null. Result (..., out).</summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var (x2, w, bc, rows, inF, outF) = LinearOperands("Linear", x, weight, bias);
        var y = Tensor.Empty([.. x.Dims[..^1], outF]);                     // (rows, out)
        if (bc is null)
            MatMulKernels.Gemm(false, true, rows, outF, inF, x2.Storage.Data, x2.Offset, inF,
                               w.Storage.Data, w.Offset, inF, y.Storage.Data, 0, outF, accumulate: false);
        else
            MatMulKernels.GemmBias(false, true, rows, outF, inF, x2.Storage.Data, x2.Offset, inF,
                                   w.Storage.Data, w.Offset, inF, bc.Storage.Data, bc.Offset,
                                   y.Storage.Data, 0, outF, accumulate: false);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        if (!Autograd.Needs(inputs)) return y;
        return Autograd.Record(OpKind.Linear, y, inputs, dy =>
        {
            var dx = LinearBackward(x, weight, bias, x2, w, rows, inF, outF, dy.Storage.Data, dy.Offset);
            if (dx is not null) Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    // Checks a Linear's shapes and returns its dense operands: x as (rows, in), weight (out, in), bias (out) or null.
    static (Tensor X2, Tensor W, Tensor? Bias, int Rows, int InF, int OutF) LinearOperands(string op, Tensor x,
        Tensor weight, Tensor? bias)
    {
        if (weight.Rank != 2 || x.Rank < 1 || x.Dims[^1] != weight.Dims[1])
            throw new ArgumentException($"{op}: input {Shapes.Format(x.Dims)} does not match weight " +
                                        $"{Shapes.Format(weight.Dims)} (expected (..., in) and (out, in)).");
        if (bias is not null && (bias.Rank != 1 || bias.Dims[0] != weight.Dims[0]))
            throw new ArgumentException($"{op}: bias {Shapes.Format(bias.Dims)} does not match weight " +
                                        $"{Shapes.Format(weight.Dims)} (expected ({weight.Dims[0]})).");
        int inF = weight.Dims[1], outF = weight.Dims[0], rows = x.Count / Math.Max(inF, 1);
        if (inF == 0) rows = Shapes.Count(x.Dims[..^1]);
        var x2 = x.IsContiguous ? x : ContiguousCopy(x);                   // (rows, in)
        var w = weight.IsContiguous ? weight : ContiguousCopy(weight);     // (out, in)
        var bc = bias is null || bias.IsContiguous ? bias : ContiguousCopy(bias);
        return (x2, w, bc, rows, inF, outF);
    }

    // A Linear's backward from g = dL/dy (rows, out) at gOff: accumulates dweight = g^T x2 and dbias = column sums
    // of g, and returns dx = g W (x's shape; not accumulated, so fused callers can finish it) or null when x needs
    // no gradient. x2 is the dense input the forward multiplied (for SiluLinear, silu(c)).
    static Tensor? LinearBackward(Tensor x, Tensor weight, Tensor? bias, Tensor x2, Tensor w, int rows, int inF,
                                  int outF, float[] g, int go)
    {
        Tensor? dx = null;
        if (x.RequiresGrad)
        {
            dx = Tensor.Empty(x.Dims);                                     // dx = dy W: (rows, out) x (out, in)
            MatMulKernels.Gemm(false, false, rows, inF, outF, g, go, outF, w.Storage.Data, w.Offset, inF,
                               dx.Storage.Data, 0, inF, accumulate: false);
        }
        if (weight.RequiresGrad)
        {
            var dw = Tensor.Empty(weight.Dims);                            // dW = dy^T x: (out, rows) x (rows, in)
            MatMulKernels.Gemm(true, false, outF, inF, rows, g, go, outF, x2.Storage.Data, x2.Offset, inF,
                               dw.Storage.Data, 0, inF, accumulate: false);
            Autograd.Accumulate(weight, dw, fresh: true);
        }
        if (bias is not null && bias.RequiresGrad)
        {
            var db = Tensor.Empty(outF);                                   // db = column sums of dy
            ColumnSums(db.Storage.Data, g, go, rows, outF);
            Autograd.Accumulate(bias, db, fresh: true);
        }
        return dx;
    }

    // Rows per chunk of ColumnSums: fixed, so the sums do not depend on the thread count.
    const int SumChunk = 256;

    // out[j] = sum over r of x[r, j]. The rows are cut into chunks of SumChunk; each chunk's column sums (its rows
    // added in order) go to a partial row, the chunks in parallel, and the partial rows are added in chunk order.
    // Chunks of whole rows read memory contiguously and split evenly over the threads at any width (column blocks
    // did neither: 384 columns were two blocks of 256 and 128). before, when given, runs on each chunk's rows
    // [r0, r1) first, while they are about to be read (LinearGelu makes dh = dy gelu'(h) there, one pass for both).
    static void ColumnSums(float[] output, float[] x, int xOff, int rows, int cols, Action<int, int>? before = null)
    {
        int chunks = Math.Max(1, (rows + SumChunk - 1) / SumChunk);
        var partial = chunks == 1 ? null : Tensor.Empty(chunks, cols);           // (chunks, cols)
        float[] p = partial?.Storage.Data ?? output;
        Par.For(chunks, (long)SumChunk * cols, ch =>
        {
            int r0 = ch * SumChunk, r1 = Math.Min(rows, r0 + SumChunk);
            before?.Invoke(r0, r1);
            var acc = p.AsSpan(ch * cols, cols);
            acc.Clear();
            for (int r = r0; r < r1; r++) TensorPrimitives.Add(acc, x.AsSpan(xOff + r * cols, cols), acc);
        });
        if (partial is null) return;
        var sum = output.AsSpan(0, cols);
        p.AsSpan(0, cols).CopyTo(sum);
        for (int ch = 1; ch < chunks; ch++) TensorPrimitives.Add(sum, p.AsSpan(ch * cols, cols), sum);
    }

    /// <summary>How the GEMM reads one operand of a batched product: buffer, offset, leading dim, batch stride.</summary>
    readonly record struct MatrixView(float[] Data, long Offset, int Ld, long BatchStride, bool Trans)
    {
        // The operand's last two dims as a row-major matrix with a leading dim (flipping trans for column-major
        // views), its batch dims as one uniform stride (0 when broadcast). Copies only when neither fits.
        public static MatrixView Of(Tensor t, bool trans, int[] batchDims)
        {
            int rank = t.Rank, rows = t.Dims[^2], cols = t.Dims[^1];
            int rs = t.Strides[^2], cs = t.Strides[^1];
            var tb = t.Dims[..^2];
            long? batchStride = UniformBatchStride(t, batchDims);
            if (batchStride is long bs)
            {
                if (cs == 1 || cols == 1)
                {
                    int ld = rows <= 1 ? Math.Max(cols, 1) : rs;
                    if (ld >= Math.Max(cols, 1)) return new(t.Storage.Data, t.Offset, ld, bs, trans);
                }
                if (rs == 1 || rows == 1)
                {
                    int ld = cols <= 1 ? Math.Max(rows, 1) : cs;
                    if (ld >= Math.Max(rows, 1)) return new(t.Storage.Data, t.Offset, ld, bs, !trans);
                }
            }
            // Fallback: materialise the broadcast batch as a dense (batch, rows, cols) block.
            var dense = ContiguousCopy(Expand(t, [.. batchDims, rows, cols]));
            return new(dense.Storage.Data, 0, Math.Max(cols, 1), Shapes.Count(batchDims) <= 1 ? 0 : (long)rows * cols, trans);
        }

        // One stride that walks the operand's batch in row-major order of batchDims, or null when none exists.
        static long? UniformBatchStride(Tensor t, int[] batchDims)
        {
            int own = t.Rank - 2, lead = batchDims.Length - own;
            bool allBroadcast = true;
            for (int i = 0; i < own; i++) if (t.Dims[i] != 1 && batchDims[lead + i] != 1) allBroadcast = false;
            if (allBroadcast) return 0;                          // one matrix shared by the whole batch
            if (lead > 0 && Shapes.Count(batchDims.AsSpan(0, lead)) > 1) return null;
            long stride = -1, expect = -1;
            for (int i = own - 1; i >= 0; i--)
            {
                if (batchDims[lead + i] == 1) continue;
                if (t.Dims[i] != batchDims[lead + i]) return null;  // broadcast along some dims only
                if (stride < 0) { stride = t.Strides[i]; expect = stride * t.Dims[i]; continue; }
                if (t.Strides[i] != expect) return null;
                expect *= t.Dims[i];
            }
            return stride < 0 ? 0 : stride;
        }
    }
}
