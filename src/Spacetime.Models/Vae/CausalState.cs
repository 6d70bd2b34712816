// CausalState: what one chunk of a video leaves behind for the next, so that a video encoded or decoded chunk by
// chunk (microFrames at a time) gives the same numbers as one pass. Every StreamingCausalConv3d stores the input
// frames its next window still needs; every time upsample records that it has seen frame 0. A forward pass with no
// state (null) is a whole video: zeros before frame 0, nothing carried. The state also counts the convolutions'
// multiply-adds, which is how VideoVae.CountMultiplyAdds measures FLOPs.
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Vae;

/// <summary>Frames carried across chunks of one video, one entry per causal layer.</summary>
internal sealed class CausalState
{
    readonly Dictionary<Module, Tensor> tails = [];
    readonly HashSet<Module> started = [];

    /// <summary>Multiply-adds of the convolutions run with this state (one multiply-add = one FLOP, as DiT
    /// counts).</summary>
    public long MultiplyAdds { get; set; }

    /// <summary>The frames <paramref name="layer"/> kept from the previous chunk, or null on the first chunk.</summary>
    public Tensor? Tail(Module layer) => tails.GetValueOrDefault(layer);

    /// <summary>Keeps <paramref name="frames"/> (B, C, kept, H, W) for <paramref name="layer"/>'s next chunk, outside
    /// any TensorScope; keeping no frames clears the entry.</summary>
    public void SetTail(Module layer, Tensor frames)
    {
        if (frames.Size(2) == 0) tails.Remove(layer);
        else tails[layer] = frames.CopyUnscoped();
    }

    /// <summary>True the first time <paramref name="layer"/> asks, i.e. on the chunk that holds frame 0.</summary>
    public bool FirstChunk(Module layer) => started.Add(layer);
}
