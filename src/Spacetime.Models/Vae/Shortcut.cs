// The residual-autoencoding shortcut of VideoVaeConfig.Shortcut (DC-AE, Chen et al. 2024, made causal in time): the
// encoder adds the video's area means to the first three latent channels, the decoder adds those channels back,
// repeated, to its output. Latent frame 0 is video frame 0 alone; latent frame j >= 1 is video frames 4j-3..4j (for
// TemporalCompression 4), which is exactly the causal grouping of the convolutions, so chunked runs agree too: a
// chunk after the first holds whole groups.
using Spacetime.Engine;

namespace Spacetime.Models.Vae;

internal static class Shortcut
{
    // video x: (B, 3, T, H, W) -> (B, 3, T', H / f, W / f) means; first: this chunk holds frame 0 (kept alone)
    public static Tensor Means(Tensor x, int f, int k, bool first)
    {
        var pooled = F.AvgPool(x, 1, f, f);                                          // (B, 3, T, h, w)
        if (k == 1) return pooled;
        var head = first ? pooled.Slice(2, 0, 1) : null;                              // (B, 3, 1, h, w)
        var rest = first ? pooled.Slice(2, 1, pooled.Size(2) - 1) : pooled;          // (B, 3, k·m, h, w)
        if (rest.Size(2) == 0) return head!;
        var groups = F.AvgPool(rest, k, 1, 1);                                        // (B, 3, m, h, w)
        return head is null ? groups : F.Concat([head, groups], dim: 2);             // (B, 3, T', h, w)
    }

    // latent z: (B, z, T', h, w) -> (B, 3, T, f h, f w): channels 0..2 repeated over their pixels and frames
    public static Tensor Repeat(Tensor z, int f, int k, bool first)
    {
        var up = F.UpsampleNearest(z.Slice(1, 0, 3), k, f, f);                        // (B, 3, k·T', H, W)
        return first && k > 1 ? up.Slice(2, k - 1, up.Size(2) - (k - 1)) : up;       // (B, 3, 1 + k (T' - 1), H, W)
    }

    // (B, 3, T', h, w) means -> (B, 2z, T', h, w): into the first three mean channels, zeros elsewhere
    public static Tensor IntoMoments(Tensor means, int latentChannels) =>
        F.Pad(means, [0, 0, 0, 0, 0, 0, 0, 2 * latentChannels - 3]);
}
