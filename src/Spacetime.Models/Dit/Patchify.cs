// Patchify and unpatchify between latents and token sequences. A token's features are ordered (c, [dt,] dy, dx),
// the layout of a convolution weight, so PatchEmbed's projection equals the reference's strided Conv2d/Conv3d.
// Tokens are ordered row-major over the patch grid: (t, h, w).
using Spacetime.Engine;

namespace Spacetime.Models.Dit;

/// <summary>Latent &lt;-&gt; token reshapes for spacetime patches.</summary>
public static class Patchify
{
    /// <summary>(B, C, H, W) -> (B, H/p · W/p, C·p·p).</summary>
    public static Tensor Image(Tensor x, int p)
    {
        int B = x.Size(0), C = x.Size(1), H = x.Size(2), W = x.Size(3);
        CheckDivisible("image", H, W, 1, p, 1);
        return x.Reshape(B, C, H / p, p, W / p, p)
                .Permute(0, 2, 4, 1, 3, 5)                                // (B, h, w, C, p, p)
                .Reshape(B, H / p * (W / p), C * p * p);
    }

    /// <summary>(B, C, T, H, W) -> (B, T/pt · H/p · W/p, C·pt·p·p).</summary>
    public static Tensor Video(Tensor x, int pt, int p)
    {
        int B = x.Size(0), C = x.Size(1), T = x.Size(2), H = x.Size(3), W = x.Size(4);
        CheckDivisible("video", H, W, T, p, pt);
        return x.Reshape(B, C, T / pt, pt, H / p, p, W / p, p)
                .Permute(0, 2, 4, 6, 1, 3, 5, 7)                          // (B, t, h, w, C, pt, p, p)
                .Reshape(B, T / pt * (H / p) * (W / p), C * pt * p * p);
    }

    /// <summary>(B, h·w, p·p·C) -> (B, C, h·p, w·p), the reference's unpatchify (features ordered (dy, dx, c)).</summary>
    public static Tensor UnImage(Tensor tokens, int C, int h, int w, int p)
    {
        int B = tokens.Size(0);
        return tokens.Reshape(B, h, w, p, p, C)
                     .Permute(0, 5, 1, 3, 2, 4)                           // (B, C, h, p, w, p)
                     .Reshape(B, C, h * p, w * p);
    }

    /// <summary>(B, t·h·w, pt·p·p·C) -> (B, C, t·pt, h·p, w·p); features ordered (dt, dy, dx, c) like UnImage.</summary>
    public static Tensor UnVideo(Tensor tokens, int C, int t, int h, int w, int pt, int p)
    {
        int B = tokens.Size(0);
        return tokens.Reshape(B, t, h, w, pt, p, p, C)
                     .Permute(0, 7, 1, 4, 2, 5, 3, 6)                     // (B, C, t, pt, h, p, w, p)
                     .Reshape(B, C, t * pt, h * p, w * p);
    }

    static void CheckDivisible(string what, int H, int W, int T, int p, int pt)
    {
        if (H % p != 0 || W % p != 0 || T % pt != 0)
            throw new ArgumentException($"Patchify: {what} latent of {T} x {H} x {W} (T x H x W) does not divide into " +
                                        $"patches of {pt} x {p} x {p}.");
    }
}
