// Fixed sin-cos position embeddings.
//   2-D, as in the DiT/MAE reference: half the channels encode one grid coordinate, half the other; each half is
//   [sin(pos * omega_k), cos(pos * omega_k)] with omega_k = 10000^(-k / (D/4)). The reference builds its grid with
//   np.meshgrid(grid_w, grid_h), so the FIRST half encodes the column (w) and the second the row (h); we match it,
//   because converted checkpoints carry a pos_embed that must equal ours.
//   3-D by coordinate (video): the channels split into (t, h, w) groups, each a 1-D sin-cos of that coordinate, so any
//   frame count and size works, including ones never seen in training.
namespace Spacetime.Models.Dit;

internal static class PosEmbed
{
    // (positions, dim): [sin(pos * omega), cos(pos * omega)] per position; dim must be even.
    public static float[] SinCos1d(int dim, ReadOnlySpan<double> positions)
    {
        if (dim % 2 != 0) throw new ArgumentException($"PosEmbed: 1-D sin-cos needs an even width, got {dim}.");
        int half = dim / 2;
        var o = new float[positions.Length * dim];
        for (int p = 0; p < positions.Length; p++)
            for (int k = 0; k < half; k++)
            {
                double omega = 1.0 / Math.Pow(10000.0, (double)k / half);
                double a = positions[p] * omega;
                o[p * dim + k] = (float)Math.Sin(a);
                o[p * dim + half + k] = (float)Math.Cos(a);
            }
        return o;
    }

    /// <summary>(gridH * gridW, dim) table, row-major over (h, w), exactly as DiT's get_2d_sincos_pos_embed.</summary>
    public static float[] SinCos2d(int dim, int gridH, int gridW)
    {
        if (dim % 4 != 0) throw new ArgumentException($"PosEmbed: 2-D sin-cos needs a width divisible by 4, got {dim}.");
        int n = gridH * gridW, half = dim / 2;
        var ws = new double[n];
        var hs = new double[n];
        for (int i = 0; i < n; i++) (hs[i], ws[i]) = (i / gridW, i % gridW);
        float[] ew = SinCos1d(half, ws), eh = SinCos1d(half, hs);
        var o = new float[n * dim];
        for (int i = 0; i < n; i++)
        {
            ew.AsSpan(i * half, half).CopyTo(o.AsSpan(i * dim, half));
            eh.AsSpan(i * half, half).CopyTo(o.AsSpan(i * dim + half, half));
        }
        return o;
    }

    /// <summary>
    /// (T * H * W, dim) table, row-major over (t, h, w). Channels split as [t | h | w]: dh = dw = 2 * floor(dim / 6)
    /// and dt takes the rest (384 -> 128 each).
    /// </summary>
    public static float[] SinCos3d(int dim, int T, int H, int W)
    {
        int dh = dim / 6 * 2, dw = dh, dt = dim - dh - dw;
        if (dt % 2 != 0 || dt <= 0)
            throw new ArgumentException($"PosEmbed: 3-D sin-cos needs an even width of at least 6, got {dim}.");
        int n = T * H * W;
        var ts = new double[n];
        var hs = new double[n];
        var ws = new double[n];
        for (int i = 0; i < n; i++) (ts[i], hs[i], ws[i]) = (i / (H * W), i / W % H, i % W);
        float[] et = SinCos1d(dt, ts), eh = SinCos1d(dh, hs), ew = SinCos1d(dw, ws);
        var o = new float[n * dim];
        for (int i = 0; i < n; i++)
        {
            et.AsSpan(i * dt, dt).CopyTo(o.AsSpan(i * dim, dt));
            eh.AsSpan(i * dh, dh).CopyTo(o.AsSpan(i * dim + dt, dh));
            ew.AsSpan(i * dw, dw).CopyTo(o.AsSpan(i * dim + dt + dh, dw));
        }
        return o;
    }
}
