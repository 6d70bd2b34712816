// Synthetic captions for the text tests, built here so the tests depend on no other branch's data: colours x
// shapes x motions (x places), in the style of the world simulator's captions.
namespace Spacetime.Tests.Models;

internal static class TextCorpus
{
    internal static readonly string[] Colours =
        ["red", "green", "blue", "yellow", "purple", "orange", "white", "black"];
    internal static readonly string[] Shapes = ["ball", "cube", "cone", "ring", "pyramid", "cylinder"];
    internal static readonly string[] Motions =
    [
        "moves left", "moves right", "falls down", "bounces", "rolls slowly", "spins in place",
        "slides across the floor",
    ];
    static readonly string[] Places = ["on a grey floor", "against a dark sky", "behind a wall", "in a small room"];
    static readonly string[] Sizes = ["small", "large", "tiny", "big"];

    /// <summary>336 captions: every colour, shape and motion, with a place picked by index.</summary>
    internal static List<string> Small()
    {
        var captions = new List<string>();
        foreach (var c in Colours)
            foreach (var s in Shapes)
                foreach (var m in Motions)
                    captions.Add($"A {c} {s} {m} {Places[captions.Count % Places.Length]}.");
        return captions;
    }

    /// <summary><paramref name="n"/> longer, multi-object captions drawn with a fixed seed.</summary>
    internal static List<string> Large(int n, int seed = 7)
    {
        var random = new Random(seed);
        string Pick(string[] xs) => xs[random.Next(xs.Length)];
        string Object() => $"a {Pick(Sizes)} {Pick(Colours)} {Pick(Shapes)}";
        return Enumerable.Range(0, n).Select(i =>
            $"{char.ToUpperInvariant(Object()[0])}{Object()[1..]} {Pick(Motions)} {Pick(Places)}, while " +
            $"{Object()} {Pick(Motions)}. The camera pans {(i % 2 == 0 ? "left" : "right")} over {i % 5 + 1} seconds.")
            .ToList();
    }

    static readonly string[] Syllables =
        ["ka", "lo", "mi", "ren", "tu", "vex", "zor", "pa", "quin", "sha", "dor", "bel", "fi", "gno", "hal", "jek"];

    /// <summary>Captions like <see cref="Large"/> that also name made-up objects ("a large red zorbelfi cube"):
    /// thousands of distinct words, so that learning a 4096-token vocabulary does not run out of pairs.</summary>
    internal static List<string> Varied(int n, int seed = 11)
    {
        var random = new Random(seed);
        string Name() => string.Concat(Enumerable.Range(0, 2 + random.Next(3)).Select(_ => Syllables[random.Next(16)]));
        return Large(n, seed).Select(c => $"{c} Near it, a {Colours[random.Next(8)]} {Name()} " +
                                          $"{Shapes[random.Next(6)]} called {Name()} waits.").ToList();
    }
}
