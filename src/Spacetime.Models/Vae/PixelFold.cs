// PixelFold: the VAE's space-to-depth stem (VideoVaeConfig.Patch). Fold moves every p x p pixel block of each frame
// into channels, in the order (colour, row in block, column in block); Unfold is its exact inverse. Both are a reshape,
// a permute and a copy, so their gradients are the same moves backwards.
using Spacetime.Engine;

namespace Spacetime.Models.Vae;

internal static class PixelFold
{
    // x: (B, C, T, H, W) -> (B, C·p·p, T, H / p, W / p); channel c·p² + i·p + j holds pixel (p·y + i, p·x + j)
    public static Tensor Fold(Tensor x, int p)
    {
        if (p == 1) return x;
        int b = x.Size(0), c = x.Size(1), t = x.Size(2), h = x.Size(3) / p, w = x.Size(4) / p;
        return x.Reshape(b, c, t, h, p, w, p)                                        // (B, C, T, h, p, w, p)
                .Permute(0, 1, 4, 6, 2, 3, 5)                                         // (B, C, p, p, T, h, w)
                .Reshape(b, c * p * p, t, h, w);                                      // (B, C·p·p, T, h, w)
    }

    // x: (B, C·p·p, T, h, w) -> (B, C, T, h·p, w·p), the inverse of Fold
    public static Tensor Unfold(Tensor x, int p)
    {
        if (p == 1) return x;
        int b = x.Size(0), c = x.Size(1) / (p * p), t = x.Size(2), h = x.Size(3), w = x.Size(4);
        return x.Reshape(b, c, p, p, t, h, w)                                        // (B, C, p, p, T, h, w)
                .Permute(0, 1, 4, 5, 2, 6, 3)                                         // (B, C, T, h, p, w, p)
                .Reshape(b, c, t, h * p, w * p);                                      // (B, C, T, H, W)
    }
}
