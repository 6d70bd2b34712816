// Reductions over axes: Sum, Mean, Max, Var. The reduced axes are moved to the end (a permuted copy when needed),
// so each becomes a row reduction over a dense (R, K) block (Kernels/ReduceKernels.cs).
// Backward: sum -> dy broadcast back; mean -> dy / K; max -> dy to the first argmax; var -> dy 2 (x - mean) / (K - c).
using Spacetime.Engine.Kernels;

namespace Spacetime.Engine;

public static partial class F
{
    /// <summary>Sum over <paramref name="dims"/> (all dims when empty).</summary>
    public static Tensor Sum(Tensor x, int[]? dims = null, bool keepDim = false) =>
        SumOrMean(OpKind.Sum, x, dims, keepDim);

    /// <summary>Mean over <paramref name="dims"/> (all dims when empty).</summary>
    public static Tensor Mean(Tensor x, int[]? dims = null, bool keepDim = false) =>
        SumOrMean(OpKind.Mean, x, dims, keepDim);

    static Tensor SumOrMean(OpKind kind, Tensor x, int[]? dims, bool keepDim)
    {
        var plan = ReducePlan.Make(x, dims, kind.ToString());
        var rows = plan.Rows(x);
        var y = Tensor.Empty(plan.OutDims(keepDim));
        float scale = kind == OpKind.Mean ? 1f / Math.Max(plan.K, 1) : 1f;
        if (kind == OpKind.Mean && plan.K == 0) scale = float.NaN;        // mean of nothing is NaN, as in PyTorch
        ReduceKernels.SumForward(y.Storage.Data, rows.Storage.Data, rows.Offset, plan.R, plan.K, scale);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(kind, y, [x], dy =>
        {
            var g = Expand(Reshape(dy, plan.OutDims(keepDim: true)), x.Dims);
            Autograd.Accumulate(x, scale == 1f ? ContiguousCopy(g) : MulScalar(g, scale), fresh: true);
        });
    }

    /// <summary>Maximum over <paramref name="dims"/>; the gradient goes to the first maximal element.</summary>
    public static Tensor Max(Tensor x, int[]? dims = null, bool keepDim = false)
    {
        var plan = ReducePlan.Make(x, dims, "Max");
        if (plan.K == 0) throw new ArgumentException($"Max: cannot reduce over an empty dim (shape {Shapes.Format(x.Dims)}).");
        var rows = plan.Rows(x);
        var y = Tensor.Empty(plan.OutDims(keepDim));
        var argmax = new int[plan.R];
        ReduceKernels.MaxForward(y.Storage.Data, argmax, rows.Storage.Data, rows.Offset, plan.R, plan.K);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Max, y, [x], dy =>
        {
            var d = Tensor.Zeros(plan.R, plan.K);                      // gradient in the permuted (R, K) layout
            for (int r = 0; r < plan.R; r++) d.Storage.Data[r * plan.K + argmax[r]] = dy.Storage.Data[dy.Offset + r];
            Autograd.Accumulate(x, plan.Unrows(d), fresh: true);
        });
    }

    /// <summary>Variance over <paramref name="dims"/> with <paramref name="correction"/> (1 = unbiased, PyTorch's default).</summary>
    public static Tensor Var(Tensor x, int[]? dims = null, bool keepDim = false, int correction = 1)
    {
        var plan = ReducePlan.Make(x, dims, "Var");
        var rows = plan.Rows(x);
        var y = Tensor.Empty(plan.OutDims(keepDim));
        var mean = new float[plan.R];
        ReduceKernels.VarForward(y.Storage.Data, mean, rows.Storage.Data, rows.Offset, plan.R, plan.K, correction);
        if (!Autograd.Needs(x)) return y;
        return Autograd.Record(OpKind.Var, y, [x], dy =>
        {
            // dx = dy * 2 (x - mean) / (K - correction), computed in the (R, K) layout
            var d = Tensor.Empty(plan.R, plan.K);
            float[] xs = rows.Storage.Data, g = dy.Storage.Data, o = d.Storage.Data;
            int xo = rows.Offset, go = dy.Offset, K = plan.K;
            float c = 2f / Math.Max(K - correction, 0);
            Par.ForRange(plan.R, K, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                    for (int k = 0; k < K; k++) o[r * K + k] = g[go + r] * c * (xs[xo + r * K + k] - mean[r]);
            });
            Autograd.Accumulate(x, plan.Unrows(d), fresh: true);
        });
    }

    /// <summary>Sums a broadcast gradient back to <paramref name="dims"/> (the reverse of Expand). Not recorded.</summary>
    internal static Tensor SumTo(Tensor g, int[] dims)
    {
        if (Shapes.Equal(g.Dims, dims)) return g;
        int lead = g.Rank - dims.Length;
        if (lead < 0) throw new ArgumentException($"SumTo: {Shapes.Format(g.Dims)} cannot reduce to {Shapes.Format(dims)}.");
        var axes = new List<int>();
        for (int i = 0; i < g.Rank; i++)
            if (i < lead || (dims[i - lead] == 1 && g.Dims[i] != 1)) axes.Add(i);
        using (Autograd.NoGrad())
            return Reshape(Sum(g, [.. axes], keepDim: false), dims);
    }

    /// <summary>Which axes a reduction keeps and reduces, and how to lay x out as (R, K) rows.</summary>
    sealed class ReducePlan
    {
        public required int[] InDims;
        public required int[] Perm;          // kept axes, then reduced axes
        public required bool[] Reduced;
        public int R, K;

        public static ReducePlan Make(Tensor x, int[]? dims, string op)
        {
            var reduced = new bool[x.Rank];
            if (dims is null || dims.Length == 0) Array.Fill(reduced, true);
            else foreach (int d in dims) reduced[Shapes.Axis(d, x.Rank, op)] = true;
            var perm = Enumerable.Range(0, x.Rank).Where(i => !reduced[i])
                                 .Concat(Enumerable.Range(0, x.Rank).Where(i => reduced[i])).ToArray();
            long r = 1, k = 1;
            for (int i = 0; i < x.Rank; i++) if (reduced[i]) k *= x.Dims[i]; else r *= x.Dims[i];
            return new ReducePlan { InDims = x.Dims, Perm = perm, Reduced = reduced, R = (int)r, K = (int)k };
        }

        public int[] OutDims(bool keepDim)
        {
            var o = new List<int>();
            for (int i = 0; i < InDims.Length; i++)
                if (!Reduced[i]) o.Add(InDims[i]);
                else if (keepDim) o.Add(1);
            return [.. o];
        }

        // x as dense (R, K) rows: kept axes first, reduced axes last.
        public Tensor Rows(Tensor x)
        {
            using var _ = Autograd.NoGrad();
            var p = Permute(x, Perm);
            return p.IsContiguous ? p : ContiguousCopy(p);
        }

        // The inverse of Rows: an (R, K) block back to x's shape and axis order, dense.
        public Tensor Unrows(Tensor rows)
        {
            using var _ = Autograd.NoGrad();
            var permuted = Perm.Select(i => InDims[i]).ToArray();
            var inverse = new int[Perm.Length];
            for (int i = 0; i < Perm.Length; i++) inverse[Perm[i]] = i;
            return ContiguousCopy(Permute(Reshape(rows, permuted), inverse));
        }
    }
}
