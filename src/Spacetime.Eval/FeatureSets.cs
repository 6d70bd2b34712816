// FeatureSets: the world classifier's features behind an eval's Fréchet video distance, kept so that `eval compare`
// can test an FVD difference instead of only showing it. `eval` writes them as features.json beside report.json:
//   {"reference": [[f0, f1, ...], ...],                       the 4N simulator clips of another scene family
//    "systems": [{"name": "model", "videos": [[...], ...]}]}  each system's videos, scene by scene (report.json's order)
// The test (EvalComparison.FrechetPermutation): under "the two models are exchangeable", swapping the two videos of any
// scene changes nothing, so the observed FVD(new) - FVD(base) is compared with the differences after random swaps
// (a paired permutation test of a set metric; the reference set is the same for both).
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Spacetime.Eval;

/// <summary>An eval's classifier features: the reference set's rows and each system's, one row per scene.</summary>
public sealed record FeatureSets(IReadOnlyList<float[]> Reference, IReadOnlyList<(string Name, IReadOnlyList<float[]> Videos)> Systems)
{
    /// <summary>The file `eval` writes beside report.json.</summary>
    public const string FileName = "features.json";

    /// <summary>The rows of the system called <paramref name="name"/>, or null.</summary>
    public IReadOnlyList<float[]>? Of(string name) => Systems.FirstOrDefault(s => s.Name == name).Videos;

    /// <summary>Whether both hold the same reference rows (the same scene family and the same classifier), up to
    /// rounding: evals run on CPUs of other vector widths (AVX2, AVX-512) sum in other orders, and their features
    /// differ in the last bits (1e-6 on features up to 12 between an AVX-512 and an AVX2 EPYC, session 40). Each
    /// element may differ by <see cref="ReferenceTolerance"/> x (1 + |value|); another classifier or scene family
    /// differs by far more.</summary>
    public bool SameReference(FeatureSets other) =>
        Reference.Count == other.Reference.Count
        && Reference.Zip(other.Reference).All(p => p.First.Length == p.Second.Length
            && p.First.Zip(p.Second).All(v => Math.Abs(v.First - v.Second) <= ReferenceTolerance * (1 + Math.Abs(v.First))));

    /// <summary>The relative difference of two reference features that <see cref="SameReference"/> calls rounding.
    /// </summary>
    public const float ReferenceTolerance = 1e-4f;

    /// <summary>The JSON of features.json (floats written exactly: they read back bit for bit).</summary>
    public string ToJson()
    {
        static JsonArray Rows(IEnumerable<float[]> rows) =>
            new(rows.Select(r => (JsonNode)new JsonArray(r.Select(x => (JsonNode)x).ToArray())).ToArray());
        var root = new JsonObject
        {
            ["reference"] = Rows(Reference),
            ["systems"] = new JsonArray(Systems.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Name, ["videos"] = Rows(s.Videos),
            }).ToArray()),
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = false }) + "\n";
    }

    /// <summary>Reads features.json back; throws InvalidDataException naming what is wrong.</summary>
    public static FeatureSets Read(string path) => ReportJson.Read(path, o =>
    {
        static IReadOnlyList<float[]> Rows(JsonNode n) =>
            ((JsonArray)n).Select(r => ((JsonArray)r!).Select(x => (float)x!).ToArray()).ToList();
        var systems = ((JsonArray)o!["systems"]!)
            .Select(s => ((string)s!["name"]!, Rows(s["videos"]!))).ToList();
        var sets = new FeatureSets(Rows(o["reference"]!), systems);
        int width = sets.Reference.Count > 0 ? sets.Reference[0].Length : 0;
        if (sets.Reference.Concat(systems.SelectMany(s => s.Item2)).Any(r => r.Length != width))
            throw new InvalidDataException($"{path}: feature rows of different widths");
        return sets;
    });
}
