// Fused ops for the DiT block, forward and backward together; each equals a composition of plain ops (the tests
// compare against it) but makes one pass and one tape record. Kernels: MatMulKernels.GemmBiasGelu, FusedKernels,
// UnaryKernels. (LayerNorm + adaLN modulate is F.LayerNormModulate in Ops/Norm.cs.)
// Backward rules (dy is dL/d(out)):
//   LinearGelu:  h = x W^T + b (kept), dh = dy gelu'(h), then Linear's rule with dh: dx = dh W, dW = dh^T x, db = sum dh
//   GatedAdd:    dx = dy, dgate = sum over the rows reading each gate row of dy y, dy_y = dy gate
//   SiluLinear:  s = silu(c) (kept), ds = dy W, dc = ds silu'(c), dW = dy^T s, db = sum dy
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>
    /// GELU (tanh form) of a linear layer, gelu_tanh(x W^T + b), as the MLP's fc1 + activation, in one pass over the
    /// output: the GELU runs as the GEMM's epilogue on each finished tile. x: (..., in), weight: (out, in), bias:
    /// (out) or null. Result (..., out). When recorded, the pre-activation is kept for the backward pass (recomputing
    /// it would cost a second GEMM; keeping it costs what the unfused fc1 output cost).
    /// </summary>
    public static Tensor LinearGelu(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var (x2, w, bc, rows, inF, outF) = LinearOperands("LinearGelu", x, weight, bias);
        Tensor[] inputs = bias is null ? [x, weight] : [x, weight, bias];
        bool record = Autograd.Needs(inputs);
        var y = Tensor.Empty([.. x.Dims[..^1], outF]);                     // (rows, out)
        var pre = record ? Tensor.Empty(y.Dims) : null;                    // (rows, out) x W^T + b, for backward
        MatMulKernels.GemmBiasGelu(false, true, rows, outF, inF, x2.Storage.Data, x2.Offset, inF,
                                   w.Storage.Data, w.Offset, inF, bc?.Storage.Data, bc?.Offset ?? 0,
                                   y.Storage.Data, 0, outF, pre?.Storage.Data, 0);
        if (!record) return y;
        return Autograd.Record(OpKind.LinearGelu, y, inputs, dy =>
        {
            var dh = Tensor.Empty(y.Dims);                                 // dL/dh = dy gelu'(h)
            float[] g = dy.Storage.Data, h = pre!.Storage.Data, d = dh.Storage.Data;
            int go = dy.Offset;
            void GeluGrad(int r0, int r1)                                  // dh for rows [r0, r1)
            {
                int s = r0 * outF, n = (r1 - r0) * outF;
                UnaryKernels.Backward(UnaryOp.GeluTanh, d.AsSpan(s, n), g.AsSpan(go + s, n), h.AsSpan(s, n),
                    h.AsSpan(s, n));
            }
            Tensor? db = null;
            if (bias is not null && bias.RequiresGrad)
            {
                db = Tensor.Empty(outF);                                   // db = column sums of dh, in the same pass
                ColumnSums(db.Storage.Data, d, 0, rows, outF, before: GeluGrad);
            }
            else Par.ForRange(rows, 8L * outF, GeluGrad);
            var dx = LinearBackward(x, weight, null, x2, w, rows, inF, outF, d, 0);
            if (db is not null) Autograd.Accumulate(bias!, db, fresh: true);
            if (dx is not null) Autograd.Accumulate(x, dx, fresh: true);
        });
    }

    /// <summary>
    /// adaLN-Zero's gated residual, x + gate.unsqueeze(1) * y, in one kernel. x, y: (B, N, D); gate: (B, D), or
    /// (B|1, 1|N, D) broadcast over the tokens or the batch (a packed sequence's per-token gate).
    /// </summary>
    public static Tensor GatedAdd(Tensor x, Tensor gate, Tensor y)
    {
        if (x.Rank != 3 || !Shapes.Equal(x.Dims, y.Dims))
            throw new ArgumentException($"GatedAdd: x {Shapes.Format(x.Dims)} and y {Shapes.Format(y.Dims)} must " +
                                        "both be (B, N, D).");
        int B = x.Dims[0], N = x.Dims[1], D = x.Dims[2];
        var (GB, GN) = gate.Rank == 2 && gate.Dims[0] == B && gate.Dims[1] == D ? (B, 1)
            : gate.Rank == 3 && gate.Dims[0] is var gb && (gb == B || gb == 1) && gate.Dims[1] is var gn
              && (gn == N || gn == 1) && gate.Dims[2] == D ? (gb, gn)
            : throw new ArgumentException($"GatedAdd: gate has shape {Shapes.Format(gate.Dims)}, expected (B, D) = " +
                                          $"({B}, {D}) or (B|1, 1|N, D) for x {Shapes.Format(x.Dims)}.");
        var xc = x.IsContiguous ? x : ContiguousCopy(x);
        var yc = y.IsContiguous ? y : ContiguousCopy(y);
        float[] g = Dense(gate)!;                                          // (GB, GN, D)
        var o = Tensor.Empty(x.Dims);                                      // (B, N, D)
        FusedKernels.GatedAddForward(o.Storage.Data, xc.Storage.Data, xc.Offset, g, yc.Storage.Data, yc.Offset,
                                     B, N, D, GB, GN);
        if (!Autograd.Needs([x, gate, y])) return o;
        return Autograd.Record(OpKind.GatedAdd, o, [x, gate, y], dy =>
        {
            var dgate = gate.RequiresGrad ? Tensor.Empty(gate.Dims) : null;
            var dyy = y.RequiresGrad ? Tensor.Empty(y.Dims) : null;
            FusedKernels.GatedAddBackward(dgate?.Storage.Data, dyy?.Storage.Data, dy.Storage.Data, dy.Offset, g,
                                          yc.Storage.Data, yc.Offset, B, N, D, GB, GN);
            if (dgate is not null) Autograd.Accumulate(gate, dgate, fresh: true);
            if (dyy is not null) Autograd.Accumulate(y, dyy, fresh: true);
            // dx = dy: the output's gradient is dropped after this call and was read above, so x takes the buffer
            // itself (no copy of the residual stream's gradient per block).
            if (x.RequiresGrad) Autograd.Accumulate(x, dy, fresh: true);
        });
    }

    /// <summary>
    /// Linear(SiLU(c)), the adaLN branch: silu(c) W^T + b. c: (..., in), tiny ((B, D) conditioning vectors); the
    /// SiLU goes into a pooled scratch kept for dW, so no recorded intermediate. Result (..., out).
    /// </summary>
    public static Tensor SiluLinear(Tensor c, Tensor weight, Tensor? bias = null)
    {
        var (c2, w, bc, rows, inF, outF) = LinearOperands("SiluLinear", c, weight, bias);
        var s = Tensor.Empty(c.Dims);                                      // (rows, in) silu(c)
        UnaryKernels.Forward(UnaryOp.Silu, s.Span, c2.Span);
        var y = Tensor.Empty([.. c.Dims[..^1], outF]);                     // (rows, out)
        if (bc is null)
            MatMulKernels.Gemm(false, true, rows, outF, inF, s.Storage.Data, 0, inF,
                               w.Storage.Data, w.Offset, inF, y.Storage.Data, 0, outF, accumulate: false);
        else
            MatMulKernels.GemmBias(false, true, rows, outF, inF, s.Storage.Data, 0, inF,
                                   w.Storage.Data, w.Offset, inF, bc.Storage.Data, bc.Offset,
                                   y.Storage.Data, 0, outF, accumulate: false);
        Tensor[] inputs = bias is null ? [c, weight] : [c, weight, bias];
        if (!Autograd.Needs(inputs)) return y;
        return Autograd.Record(OpKind.SiluLinear, y, inputs, dy =>
        {
            var ds = LinearBackward(c, weight, bias, s, w, rows, inF, outF, dy.Storage.Data, dy.Offset);
            if (ds is null) return;
            var dc = Tensor.Empty(c.Dims);                                 // dc = ds silu'(c)
            UnaryKernels.Backward(UnaryOp.Silu, dc.Span, ds.Span, c2.Span, s.Span);
            Autograd.Accumulate(c, dc, fresh: true);
        });
    }
}
