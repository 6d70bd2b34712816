// Float64 reference helpers. Each op family's reference math lives in its test file (or a partial of this class);
// these are the shared pieces: reading tensors as doubles, row-major indexing, broadcasting.
using Spacetime.Engine;

namespace Spacetime.Tests.TestKit;

public static partial class Reference
{
    /// <summary>The elements of t in row-major order, as doubles.</summary>
    public static double[] D(Tensor t) => t.ToArray().Select(v => (double)v).ToArray();

    /// <summary>Row-major strides of a shape.</summary>
    public static int[] Strides(int[] shape)
    {
        var s = new int[shape.Length];
        for (int i = shape.Length - 1, acc = 1; i >= 0; acc *= shape[i], i--) s[i] = acc;
        return s;
    }

    /// <summary>NumPy broadcast of two shapes.</summary>
    public static int[] BroadcastShape(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            o[i] = da == 1 ? db : da;
        }
        return o;
    }

    /// <summary>Element of a (row-major, shape) array at the index of a broadcast output.</summary>
    public static double At(double[] a, int[] shape, int[] outIndex)
    {
        int lead = outIndex.Length - shape.Length, flat = 0;
        for (int i = 0; i < shape.Length; i++) flat = flat * shape[i] + (shape[i] == 1 ? 0 : outIndex[lead + i]);
        return a[flat];
    }

    /// <summary>c = f(a, b) with broadcasting, in double.</summary>
    public static double[] Broadcast(double[] a, int[] sa, double[] b, int[] sb, Func<double, double, double> f)
    {
        var so = BroadcastShape(sa, sb);
        int n = so.Aggregate(1, (x, y) => x * y);
        var o = new double[n];
        for (int i = 0; i < n; i++)
        {
            var idx = GradCheck.Unravel(i, so);
            o[i] = f(At(a, sa, idx), At(b, sb, idx));
        }
        return o;
    }

    /// <summary>Random tensor with values in [low, high) from a fixed seed.</summary>
    public static Tensor Rand(ulong seed, float low, float high, params int[] shape) =>
        new Rng(seed).Uniform(low, high, shape);
}
