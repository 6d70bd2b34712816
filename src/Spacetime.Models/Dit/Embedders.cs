// The DiT's input embedders, with the reference's state-dict keys (facebookresearch/DiT models.py):
//   TimestepEmbedder  t_embedder.mlp.{0,2}     sinusoidal frequencies of t (256 wide) -> Linear -> SiLU -> Linear
//   LabelEmbedder     y_embedder.embedding_table   num_classes + 1 rows; the last row is the null label of CFG
//   PooledTextEmbedder y_embedder.mlp.{0,2}  mean of the caption's valid tokens -> Linear -> SiLU -> Linear (zeroed)
//   PatchEmbed        x_embedder.proj          a conv with kernel = stride = patch, done as patchify + one GEMM
using Spacetime.Engine;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>Embeds diffusion timesteps: sinusoidal features, then a two-layer MLP (DiT's TimestepEmbedder).</summary>
public sealed class TimestepEmbedder : Module
{
    /// <summary>Width of the sinusoidal features (DiT: 256).</summary>
    public const int FrequencySize = 256;
    readonly Linear fc1, fc2;

    /// <summary>Creates the embedder for width <paramref name="hidden"/>.</summary>
    public TimestepEmbedder(int hidden, Rng rng)
    {
        fc1 = Add("mlp.0", new Linear(FrequencySize, hidden, rng));
        fc2 = Add("mlp.2", new Linear(hidden, hidden, rng));
    }

    // t: (B) timesteps (any real values) -> (B, D)
    /// <summary>Embeds a batch of timesteps.</summary>
    public Tensor Forward(Tensor t) => fc2.Forward(F.Silu(fc1.Forward(Frequencies(t))));

    /// <summary>The reference's init: MLP weights N(0, 0.02), biases zero.</summary>
    public void InitializeWeights(Rng rng)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (name, p) in NamedParameters())
            if (name.EndsWith("weight")) Init.Normal(p, rng, 0f, 0.02f); else Init.Zeros(p);
    }

    /// <summary>(B, 256): [cos(t w_k), sin(t w_k)] with w_k = 10000^(-k/128), as the reference's timestep_embedding.</summary>
    public static Tensor Frequencies(Tensor t, int dim = FrequencySize, double maxPeriod = 10000)
    {
        var ts = t.ToArray();
        int half = dim / 2;
        var o = new float[ts.Length * dim];
        for (int b = 0; b < ts.Length; b++)
            for (int k = 0; k < half; k++)
            {
                // the reference computes freqs in float32: exp(-ln(maxPeriod) * k / half)
                float freq = MathF.Exp((float)-Math.Log(maxPeriod) * k / half);
                float arg = ts[b] * freq;
                o[b * dim + k] = MathF.Cos(arg);
                o[b * dim + half + k] = MathF.Sin(arg);
            }
        return Tensor.From(o, ts.Length, dim);
    }
}

/// <summary>
/// Embeds a whole caption for adaLN: the mean of its valid tokens through a two-layer MLP whose last layer starts at
/// zero, so a model gains this path without changing its output (SD3 adds a pooled text vector the same way).
/// </summary>
public sealed class PooledTextEmbedder : Module
{
    readonly Linear fc1, fc2;

    /// <summary>Creates the embedder from text width <paramref name="textHidden"/> to <paramref name="hidden"/>.</summary>
    public PooledTextEmbedder(int textHidden, int hidden, Rng rng)
    {
        fc1 = Add("mlp.0", new Linear(textHidden, hidden, rng));
        fc2 = Add("mlp.2", new Linear(hidden, hidden, rng));
    }

    // text: (B, L, Dt)   valid: (B·L) or null (all valid) -> (B, D)
    /// <summary>Embeds a batch of encoded captions; padding tokens are left out of the mean.</summary>
    public Tensor Forward(Tensor text, bool[]? valid)
    {
        int B = text.Size(0), L = text.Size(1);
        var w = new float[B * L];
        for (int b = 0; b < B; b++)
        {
            int n = 0;
            for (int l = 0; l < L; l++) n += valid is null || valid[b * L + l] ? 1 : 0;
            for (int l = 0; l < L; l++) w[b * L + l] = (valid is null || valid[b * L + l]) && n > 0 ? 1f / n : 0f;
        }
        var pooled = F.Sum(text * Tensor.From(w, B, L, 1), [1]);                     // (B, Dt)
        return fc2.Forward(F.Silu(fc1.Forward(pooled)));                              // (B, D)
    }

    /// <summary>The first layer N(0, 0.02) like the timestep MLP; the last layer zero.</summary>
    public void InitializeWeights(Rng rng)
    {
        using var _ = Autograd.NoGrad();
        foreach (var (name, p) in NamedParameters())
            if (name == "mlp.0.weight") Init.Normal(p, rng, 0f, 0.02f); else Init.Zeros(p);
    }
}

/// <summary>Class-label embedding with an extra null label for classifier-free guidance (DiT's LabelEmbedder).</summary>
public sealed class LabelEmbedder : Module
{
    readonly Tensor table;          // (numClasses + 1, D) when dropout is used
    readonly int numClasses;
    readonly float dropoutProb;

    /// <summary>Creates the table; the null row exists when <paramref name="dropoutProb"/> &gt; 0, as in the reference.</summary>
    public LabelEmbedder(int numClasses, int hidden, float dropoutProb)
    {
        this.numClasses = numClasses;
        this.dropoutProb = dropoutProb;
        table = Param("embedding_table.weight", Tensor.Zeros(numClasses + (dropoutProb > 0 ? 1 : 0), hidden));
    }

    /// <summary>The (rows, D) embedding table.</summary>
    public Tensor Table => table;

    /// <summary>Embeds labels (numClasses = the null label). In training, labels are dropped with the dropout rate.</summary>
    public Tensor Forward(int[] labels, Rng? rng = null)
    {
        var ids = (int[])labels.Clone();
        if (Training && dropoutProb > 0 && rng is not null)
            for (int i = 0; i < ids.Length; i++)
                if (rng.NextFloat() < dropoutProb) ids[i] = numClasses;
        return F.Embedding(table, ids);                                           // (B, D)
    }
}

/// <summary>
/// Patch embedding: a convolution whose kernel equals its stride, written as patchify + one matrix product. The
/// weight keeps the convolution's layout (D, C, [pt,] p, p), so reference checkpoints load unchanged.
/// </summary>
public sealed class PatchEmbed : Module
{
    readonly Tensor weight, bias;
    readonly int channels, patchT, patch, hidden;
    readonly bool video;

    /// <summary>Image patches (p x p) when <paramref name="video"/> is false, spacetime patches (pt x p x p) otherwise.</summary>
    public PatchEmbed(int channels, int hidden, int patch, int patchT, bool video)
    {
        (this.channels, this.patch, this.patchT, this.hidden, this.video) = (channels, patch, patchT, hidden, video);
        int[] shape = video ? [hidden, channels, patchT, patch, patch] : [hidden, channels, patch, patch];
        weight = Param("proj.weight", Tensor.Zeros(shape));
        bias = Param("proj.bias", Tensor.Zeros(hidden));
    }

    /// <summary>The convolution weight, (D, C, [pt,] p, p).</summary>
    public Tensor Weight => weight;

    // image x: (B, C, H, W) -> (B, H/p * W/p, D);   video x: (B, C, T, H, W) -> (B, T/pt * H/p * W/p, D)
    /// <summary>Cuts x into patches and projects each to D channels.</summary>
    public Tensor Forward(Tensor x)
    {
        var patches = video ? Patchify.Video(x, patchT, patch) : Patchify.Image(x, patch);   // (B, N, C·[pt·]p·p)
        return Project(patches);                                                          // (B, N, D)
    }

    // patches: (B, N, C·[pt·]p·p) -> (B, N, D)
    /// <summary>The reference's init: the projection xavier-uniform as a (D, C·[pt·]p·p) matrix, the bias zero.</summary>
    public void InitializeWeights(Rng rng)
    {
        using var _ = Autograd.NoGrad();
        Init.XavierUniform(weight.Reshape(hidden, -1), rng);
        Init.Zeros(bias);
    }

    /// <summary>Projects already patchified tokens (used when several videos are packed into one sequence).</summary>
    public Tensor Project(Tensor patches) => F.Linear(patches, weight.Reshape(hidden, -1), bias);
}
