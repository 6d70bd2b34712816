// Strided loops: copy and binary arithmetic between tensors of any layout (views, broadcasts with stride 0).
// The shape is first coalesced (size-1 dims dropped, dims that are dense in every operand merged), then split into
// rows along the last dim; each row runs as one TensorPrimitives call when its strides are 1 or 0, else a scalar loop.
// Rows are independent, so Par splits them without changing any result.
using System.Numerics.Tensors;

namespace Spacetime.Engine.Kernels;

internal enum BinaryOp { Add, Sub, Mul, Div }

internal static class StridedKernels
{
    /// <summary>A layout of up to three operands over one shape after coalescing.</summary>
    internal readonly record struct Layout(int[] Dims, int[] S0, int[] S1, int[] S2)
    {
        public int Inner => Dims.Length == 0 ? 1 : Dims[^1];
        public int Rows => Dims.Length <= 1 ? 1 : Shapes.Count(Dims.AsSpan(0, Dims.Length - 1));

        // Offsets of row r for the three operands (relative to their base offsets).
        public void RowOffsets(int r, out long o0, out long o1, out long o2)
        {
            o0 = o1 = o2 = 0;
            for (int d = Dims.Length - 2; d >= 0; d--)
            {
                int i = r % Dims[d];
                r /= Dims[d];
                o0 += (long)i * S0[d];
                o1 += (long)i * S1[d];
                o2 += (long)i * S2[d];
            }
        }
    }

    /// <summary>Drops size-1 dims and merges neighbours that are dense in all three stride sets.</summary>
    internal static Layout Coalesce(int[] dims, int[] s0, int[] s1, int[] s2)
    {
        var d = new List<int>(dims.Length);
        var a = new List<int>(dims.Length);
        var b = new List<int>(dims.Length);
        var c = new List<int>(dims.Length);
        for (int i = 0; i < dims.Length; i++)
        {
            if (dims[i] == 1) continue;
            int n = d.Count - 1;
            if (n >= 0 && a[n] == s0[i] * dims[i] && b[n] == s1[i] * dims[i] && c[n] == s2[i] * dims[i])
            {
                d[n] *= dims[i];
                a[n] = s0[i]; b[n] = s1[i]; c[n] = s2[i];
            }
            else
            {
                d.Add(dims[i]); a.Add(s0[i]); b.Add(s1[i]); c.Add(s2[i]);
            }
        }
        if (d.Count == 0) { d.Add(1); a.Add(1); b.Add(1); c.Add(1); }
        return new Layout([.. d], [.. a], [.. b], [.. c]);
    }

    /// <summary>dst[i] = src[i] over the shape, both strided. dst must not overlap src.</summary>
    public static void Copy(float[] dst, int dstOff, int[] dstStrides, float[] src, int srcOff, int[] srcStrides, int[] dims)
    {
        if (Shapes.Count(dims) == 0) return;      // an empty shape may still have rows of length 0 past the buffer
        var L = Coalesce(dims, dstStrides, srcStrides, dstStrides);
        int n = L.Inner, sd = L.S0[^1], ss = L.S1[^1];
        Par.ForRange(L.Rows, n, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                L.RowOffsets(r, out long od, out long os, out _);
                long pd = dstOff + od, ps = srcOff + os;
                if (sd == 1 && ss == 1) src.AsSpan((int)ps, n).CopyTo(dst.AsSpan((int)pd, n));
                else if (sd == 1 && ss == 0) dst.AsSpan((int)pd, n).Fill(src[ps]);
                else
                    for (int i = 0; i < n; i++) dst[pd + (long)i * sd] = src[ps + (long)i * ss];
            }
        });
    }

    /// <summary>out = a (op) b over the shape; out dense or strided, a and b strided/broadcast. out may alias a.</summary>
    public static void Binary(BinaryOp op, float[] o, int oOff, int[] oStrides, float[] a, int aOff, int[] aStrides,
                              float[] b, int bOff, int[] bStrides, int[] dims)
    {
        if (Shapes.Count(dims) == 0) return;
        var L = Coalesce(dims, oStrides, aStrides, bStrides);
        int n = L.Inner, so = L.S0[^1], sa = L.S1[^1], sb = L.S2[^1];
        Par.ForRange(L.Rows, n, (r0, r1) =>
        {
            for (int r = r0; r < r1; r++)
            {
                L.RowOffsets(r, out long oo, out long oa, out long ob);
                Row(op, o, oOff + oo, so, a, aOff + oa, sa, b, bOff + ob, sb, n);
            }
        });
    }

    static void Row(BinaryOp op, float[] o, long po, int so, float[] a, long pa, int sa, float[] b, long pb, int sb, int n)
    {
        if (so == 1 && (sa == 1 || sa == 0) && (sb == 1 || sb == 0) && !(sa == 0 && sb == 0))
        {
            var dst = o.AsSpan((int)po, n);
            if (sa == 1 && sb == 1)
            {
                ReadOnlySpan<float> x = a.AsSpan((int)pa, n), y = b.AsSpan((int)pb, n);
                switch (op)
                {
                    case BinaryOp.Add: TensorPrimitives.Add(x, y, dst); break;
                    case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, dst); break;
                    case BinaryOp.Mul: TensorPrimitives.Multiply(x, y, dst); break;
                    default: TensorPrimitives.Divide(x, y, dst); break;
                }
            }
            else if (sa == 1)
            {
                ReadOnlySpan<float> x = a.AsSpan((int)pa, n);
                float y = b[pb];
                switch (op)
                {
                    case BinaryOp.Add: TensorPrimitives.Add(x, y, dst); break;
                    case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, dst); break;
                    case BinaryOp.Mul: TensorPrimitives.Multiply(x, y, dst); break;
                    default: TensorPrimitives.Divide(x, y, dst); break;
                }
            }
            else
            {
                float x = a[pa];
                ReadOnlySpan<float> y = b.AsSpan((int)pb, n);
                switch (op)
                {
                    case BinaryOp.Add: TensorPrimitives.Add(y, x, dst); break;
                    case BinaryOp.Sub: TensorPrimitives.Subtract(x, y, dst); break;
                    case BinaryOp.Mul: TensorPrimitives.Multiply(y, x, dst); break;
                    default: TensorPrimitives.Divide(x, y, dst); break;
                }
            }
            return;
        }
        for (int i = 0; i < n; i++)
        {
            float x = a[pa + (long)i * sa], y = b[pb + (long)i * sb];
            o[po + (long)i * so] = op switch
            {
                BinaryOp.Add => x + y,
                BinaryOp.Sub => x - y,
                BinaryOp.Mul => x * y,
                _ => x / y,
            };
        }
    }
}
