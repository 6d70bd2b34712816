// LoRA adapters for the video DiT (Hu et al. 2021): one LoraLayer per targeted Linear of every block, keyed by that
// Linear's path in the DiT's state dict, so the keys are "blocks.0.attn.qkv.lora_A.weight" (r, in) and
// "blocks.0.attn.qkv.lora_B.weight" (out, r): PEFT's names without its "base_model.model." prefix. The targets:
//     SelfQkv, SelfProj             attn.qkv, attn.proj (and attn_temporal.qkv/proj in the factorized layout)
//     CrossQ, CrossKv, CrossProj    cross_attn.q, cross_attn.kv (from the caption tokens), cross_attn.proj
//     MlpFc1, MlpFc2                mlp.fc1, mlp.fc2
// adaLN_modulation, the embedders and the final layer are never adapted: the adapters change what the blocks compute
// from tokens and captions, not how the timestep conditions them. The base DiT is not changed by building adapters;
// Attach makes its Linears add them, MergeInto folds them into its weights.
// An adapter set may also carry new words for the text encoder (NewWords, key "new_words.weight" (K, D)): textual
// inversion, alone (targets None) or beside the low-rank updates. The words change only captions that use them.
using Spacetime.Engine;
using Spacetime.Models.Text;
using Spacetime.Nn;

namespace Spacetime.Models.Dit;

/// <summary>Which Linears of each DiT block get a LoRA update (combine with |).</summary>
[Flags]
public enum LoraTargets
{
    /// <summary>No layer: valid only for an adapter that teaches new words (textual inversion alone).</summary>
    None = 0,
    /// <summary>Self-attention's fused q, k, v projection.</summary>
    SelfQkv = 1,
    /// <summary>Self-attention's output projection.</summary>
    SelfProj = 2,
    /// <summary>Cross-attention's query projection (from the video tokens).</summary>
    CrossQ = 4,
    /// <summary>Cross-attention's key and value projection (from the caption tokens).</summary>
    CrossKv = 8,
    /// <summary>Cross-attention's output projection.</summary>
    CrossProj = 16,
    /// <summary>The MLP's first layer.</summary>
    MlpFc1 = 32,
    /// <summary>The MLP's second layer.</summary>
    MlpFc2 = 64,
    /// <summary>Every self-attention projection.</summary>
    SelfAttention = SelfQkv | SelfProj,
    /// <summary>Every cross-attention projection.</summary>
    CrossAttention = CrossQ | CrossKv | CrossProj,
    /// <summary>Both MLP layers.</summary>
    Mlp = MlpFc1 | MlpFc2,
    /// <summary>Every attention and MLP Linear of every block.</summary>
    All = SelfAttention | CrossAttention | Mlp,
}

/// <summary>The shape of a set of LoRA adapters. Override with <c>with</c>.</summary>
public sealed record LoraConfig
{
    /// <summary>Rank r of every update (the LoRA paper finds 4 to 8 enough for its tasks).</summary>
    public int Rank { get; init; } = 8;
    /// <summary>The update is scaled by s = Alpha / Rank; Alpha = Rank gives s = 1.</summary>
    public float Alpha { get; init; } = 8;
    /// <summary>Which Linears are adapted.</summary>
    public LoraTargets Targets { get; init; } = LoraTargets.All;

    /// <summary>s = Alpha / Rank.</summary>
    public float Scale => Alpha / Rank;

    /// <summary>Throws ArgumentException naming a bad value; Targets None passes only with
    /// <paramref name="newWords"/> (an adapter that teaches words and adapts no layer).</summary>
    public void Validate(bool newWords = false)
    {
        if (Rank < 1) throw new ArgumentException($"LoRA rank {Rank} must be at least 1");
        if (!(Alpha > 0) || float.IsInfinity(Alpha)) throw new ArgumentException($"LoRA alpha {Alpha} must be positive");
        if (Targets == LoraTargets.None && newWords) return;
        if ((Targets & LoraTargets.All) == 0 || (Targets & ~LoraTargets.All) != 0)
            throw new ArgumentException($"LoRA targets '{Targets}' name no layer; use some of " +
                                        string.Join(", ", Enum.GetNames<LoraTargets>().Where(n => n != "None")));
    }
}

/// <summary>The LoRA adapters of one <see cref="VideoDit"/> architecture, and new words for its text encoder.</summary>
public sealed class DitLora : Module
{
    /// <summary>Rank, alpha and targets.</summary>
    public LoraConfig Config { get; }

    readonly List<(string Path, LoraLayer Layer)> layers = [];

    /// <summary>The new words this adapter teaches the text encoder, or null.</summary>
    public NewWords? Words { get; }

    /// <summary>Adapters for every Linear of <paramref name="dit"/> that <paramref name="cfg"/> targets, A drawn from
    /// Rng(<paramref name="seed"/>), B zero, and <paramref name="words"/> (new words for the text encoder) when
    /// given. A rank above a targeted layer's smaller width is refused, naming it.</summary>
    public DitLora(VideoDit dit, LoraConfig cfg, ulong seed = 0, NewWords? words = null)
    {
        cfg.Validate(newWords: words is not null);
        Config = cfg;
        if (words is not null) Words = Add("new_words", words);
        if (cfg.Targets == LoraTargets.None) return;
        var targeted = Targeted(dit, cfg.Targets).ToList();
        if (targeted.Count == 0)
            throw new ArgumentException($"the DiT has no layer that LoRA targets '{cfg.Targets}' name");
        var (narrowPath, narrow) = targeted.MinBy(t => Math.Min(t.Layer.Weight.Size(0), t.Layer.Weight.Size(1)));
        int most = Math.Min(narrow.Weight.Size(0), narrow.Weight.Size(1));
        if (cfg.Rank > most)
            throw new ArgumentException($"LoRA rank {cfg.Rank} is larger than layer {narrowPath} " +
                                        $"({narrow.Weight.Size(1)} -> {narrow.Weight.Size(0)}) allows; use a rank of " +
                                        $"at most {most}");
        var rng = new Rng(seed);
        foreach (var (path, linear) in targeted)
            layers.Add((path, Add(path, new LoraLayer(linear.Weight.Size(1), linear.Weight.Size(0), cfg.Rank,
                                                      cfg.Alpha, rng))));
    }

    /// <summary>The adapted Linears' paths in the DiT, each with its update, in state-dict order.</summary>
    public IReadOnlyList<(string Path, LoraLayer Layer)> Layers => layers;

    /// <summary>Makes <paramref name="dit"/>'s Linears add these updates (training, or sampling unmerged).</summary>
    public void Attach(VideoDit dit)
    {
        var linears = Linears(dit);
        foreach (var (path, layer) in layers) Find(linears, path).Attach(layer);
    }

    /// <summary>Removes every update from <paramref name="dit"/>'s Linears.</summary>
    public static void Detach(VideoDit dit)
    {
        foreach (var linear in Linears(dit).Values) linear.Attach(null);
    }

    /// <summary>Folds strength · s · B·A into each adapted weight of <paramref name="dit"/>, in place.</summary>
    public void MergeInto(VideoDit dit, float strength = 1f)
    {
        var linears = Linears(dit);
        foreach (var (path, layer) in layers) layer.MergeInto(Find(linears, path), strength);
    }

    // The block Linears a target set names, with their paths: blocks.{i}.{name} for the names in BlockLinears.
    static IEnumerable<(string Path, Linear Layer)> Targeted(VideoDit dit, LoraTargets targets) =>
        dit.NamedModules().Where(m => m.Module is Linear && (TargetOf(m.Name) & targets) != 0)
           .Select(m => (m.Name, (Linear)m.Module));

    static LoraTargets TargetOf(string path)
    {
        var parts = path.Split('.', 3);                                   // "blocks", "3", "attn.qkv"
        return parts.Length == 3 && parts[0] == "blocks" ? BlockLinears.GetValueOrDefault(parts[2]) : LoraTargets.None;
    }

    // a block's Linears by their names inside the block (VideoDitBlock's state-dict keys)
    static readonly Dictionary<string, LoraTargets> BlockLinears = new()
    {
        ["attn.qkv"] = LoraTargets.SelfQkv, ["attn.proj"] = LoraTargets.SelfProj,
        ["attn_temporal.qkv"] = LoraTargets.SelfQkv, ["attn_temporal.proj"] = LoraTargets.SelfProj,
        ["cross_attn.q"] = LoraTargets.CrossQ, ["cross_attn.kv"] = LoraTargets.CrossKv,
        ["cross_attn.proj"] = LoraTargets.CrossProj,
        ["mlp.fc1"] = LoraTargets.MlpFc1, ["mlp.fc2"] = LoraTargets.MlpFc2,
    };

    static Dictionary<string, Linear> Linears(VideoDit dit) =>
        dit.NamedModules().Where(m => m.Module is Linear).ToDictionary(m => m.Name, m => (Linear)m.Module);

    static Linear Find(Dictionary<string, Linear> linears, string path) => linears.GetValueOrDefault(path)
        ?? throw new ArgumentException($"DitLora: the DiT has no Linear '{path}' (an adapter for another architecture).");
}
