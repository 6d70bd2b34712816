// Gradient checks against central finite differences, and the 1-vs-2-thread check.
// The scalar checked is L = sum_i w_i * f(x)_i with fixed random weights w, accumulated in double, so every output
// element contributes with a different weight. Each input element gets (L(x + eps) - L(x - eps)) / (2 eps).
// Default eps 1e-2 with float32 forward passes: truncation error ~eps^2 f''' and rounding ~1e-7 |L| / eps stay
// well below the 1e-2 relative tolerance for smooth ops; callers keep inputs away from kinks (relu, abs, max).
using Spacetime.Engine;
using Spacetime.Engine.Kernels;

namespace Spacetime.Tests.TestKit;

public static class GradCheck
{
    /// <summary>Checks the analytic gradients of f with respect to every input against finite differences.</summary>
    /// <param name="maxPerInput">At most this many elements per input are perturbed (evenly spread), to stay fast.</param>
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double eps = 1e-2, double rtol = 1e-2,
                             double atol = 1e-3, int maxPerInput = 48, string what = "")
    {
        foreach (var x in inputs) { x.RequiresGrad = true; x.Grad = null; }
        var output = f(inputs);
        var w = Weights(output.Count);
        var loss = F.Sum(F.Mul(output, Tensor.From(w, output.Shape.ToArray())));
        loss.Backward();
        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            Assert.True(x.Grad is not null, $"{what}: input {k} got no gradient.");
            var analytic = x.Grad!.ToArray();
            var shape = x.Shape.ToArray();
            int n = x.Count, step = Math.Max(1, n / maxPerInput);
            for (int i = 0; i < n; i += step)
            {
                var index = Unravel(i, shape);
                float orig = x[index];
                x[index] = orig + (float)eps;
                double plus = Loss(f, inputs, w);
                x[index] = orig - (float)eps;
                double minus = Loss(f, inputs, w);
                x[index] = orig;
                double numeric = (plus - minus) / (2 * eps);
                double a = analytic[i];
                double tol = atol + rtol * Math.Max(Math.Abs(a), Math.Abs(numeric));
                Assert.True(Math.Abs(a - numeric) <= tol,
                    $"{what}: d/d input{k}[{string.Join(",", index)}] analytic {a:G6} vs numeric {numeric:G6} (tol {tol:G3}).");
            }
        }
    }

    static double Loss(Func<Tensor[], Tensor> f, Tensor[] inputs, float[] w)
    {
        using var _ = Autograd.NoGrad();
        var y = f(inputs).ToArray();
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)y[i] * w[i];
        return s;
    }

    /// <summary>Each input's gradient of sum(f(inputs) * w) (of sum(f(inputs)) when w is null), from a fresh backward
    /// pass, as doubles; empty for an input f does not use. For comparing one op's gradients with another's.</summary>
    public static double[][] Gradients(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor? w = null)
    {
        foreach (var t in inputs) { t.RequiresGrad = true; t.Grad = null; }
        var y = f(inputs);
        F.Sum(w is null ? y : y * w).Backward();
        return inputs.Select(t => t.Grad?.ToArray().Select(v => (double)v).ToArray() ?? []).ToArray();
    }

    /// <summary>Runs forward and backward with 1 thread and with 2, and requires bitwise-equal outputs and gradients.</summary>
    public static void SameOnThreads(Func<Tensor[], Tensor> f, Tensor[] inputs, bool withBackward = true, string what = "")
    {
        (float[] y, float[][] g) Run(int threads)
        {
            using var _ = Par.UseThreads(threads, splitSmallLoops: true);
            foreach (var x in inputs) { x.RequiresGrad = withBackward; x.Grad = null; }
            var output = f(inputs);
            var y = output.ToArray();
            if (!withBackward) return (y, []);
            var w = Weights(output.Count);
            F.Sum(F.Mul(output, Tensor.From(w, output.Shape.ToArray()))).Backward();
            return (y, inputs.Select(x => x.Grad?.ToArray() ?? []).ToArray());
        }
        var one = Run(1);
        var two = Run(2);
        TensorAssert.BitwiseEqual(one.y, two.y, $"{what} forward, 1 vs 2 threads");
        for (int k = 0; k < one.g.Length; k++)
            TensorAssert.BitwiseEqual(one.g[k], two.g[k], $"{what} gradient of input {k}, 1 vs 2 threads");
    }

    static float[] Weights(int n)
    {
        var rng = new Rng(777);
        var w = new float[n];
        rng.FillUniform(w, -1f, 1f);
        return w;
    }

    public static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}
