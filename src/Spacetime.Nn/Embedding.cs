// Embedding: a lookup table (V, D) indexed by integer ids, as torch.nn.Embedding; key weight, initialised N(0, 1)
// as PyTorch does. Used for class labels and text tokens.
using Spacetime.Engine;

namespace Spacetime.Nn;

/// <summary>A table of <c>count</c> learned vectors of size <c>dim</c>, looked up by id.</summary>
public sealed class Embedding : Module
{
    /// <summary>(count, dim).</summary>
    public Tensor Weight { get; }

    /// <summary>Creates a table of <paramref name="count"/> vectors of size <paramref name="dim"/>.</summary>
    public Embedding(int count, int dim, Rng rng)
    {
        if (count <= 0 || dim <= 0)
            throw new ArgumentOutOfRangeException(nameof(count),
                                                  $"Embedding: table ({count}, {dim}) must be non-empty.");
        Weight = Param("weight", Tensor.Zeros(count, dim));
        Init.Normal(Weight, rng);
    }

    // ids: idsShape (default (ids.Length)) -> (...idsShape, dim)
    /// <summary>The rows of the table for <paramref name="ids"/>, shaped (...idsShape, dim).</summary>
    public Tensor Forward(int[] ids, params int[] idsShape) => F.Embedding(Weight, ids, idsShape);
}
