// The world's vocabulary: shapes, colours, sizes, directions, counts and events, with the exact words captions use.
// Public because the prompt expander and the evaluation reuse it: one list, so a caption word and a checked word agree.
namespace Spacetime.World;

public enum Shape { Circle, Square, Triangle }

/// <summary>Object colours, far apart in RGB so that renders segment reliably by colour.</summary>
public enum Colour { Red, Orange, Yellow, Green, Cyan, Blue, Purple, Pink, White }

public enum SizeClass { Small, Medium, Large }

/// <summary>Dark, unsaturated background colours that no object colour comes near.</summary>
public enum BackgroundColour { Black, DarkGrey, Navy, Brown }

/// <summary>The caption grammar: every word list and phrase pattern that captions and prompts are built from.</summary>
public static class CaptionGrammar
{
    /// <summary>Colour words, indexed by <see cref="Colour"/>.</summary>
    public static IReadOnlyList<string> Colours { get; } =
        ["red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "white"];

    /// <summary>Shape words, indexed by <see cref="Shape"/>.</summary>
    public static IReadOnlyList<string> Shapes { get; } = ["circle", "square", "triangle"];

    /// <summary>Words a user may write for a shape (prompts use "ball" for a circle).</summary>
    public static IReadOnlyDictionary<string, Shape> ShapeSynonyms { get; } = new SortedDictionary<string, Shape>
    {
        ["circle"] = Shape.Circle, ["ball"] = Shape.Circle, ["disc"] = Shape.Circle,
        ["sphere"] = Shape.Circle,
        ["square"] = Shape.Square, ["box"] = Shape.Square, ["cube"] = Shape.Square,
        ["triangle"] = Shape.Triangle, ["pyramid"] = Shape.Triangle,
    };

    /// <summary>Size words, indexed by <see cref="SizeClass"/>.</summary>
    public static IReadOnlyList<string> Sizes { get; } = ["small", "medium", "large"];

    /// <summary>Direction words. Horizontal ones are written "to the left" / "to the right".</summary>
    public static IReadOnlyList<string> Directions { get; } = ["left", "right", "up", "down"];

    /// <summary>Count words for 1..10; a scene has one to four objects.</summary>
    public static IReadOnlyList<string> Counts { get; } =
        ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"];

    /// <summary>Event verbs in the form captions use them.</summary>
    public static IReadOnlyList<string> Events { get; } =
        ["falls", "bounces", "slides", "moves", "drifts", "collides with", "hits the left wall", "hits the right wall",
         "hits the ceiling", "goes behind", "reappears", "comes to rest", "stays still"];

    /// <summary>Camera phrases, indexed by <see cref="CameraMotion"/>.</summary>
    public static IReadOnlyList<string> Cameras { get; } =
        ["is still", "pans to the left", "pans to the right", "zooms in", "zooms out"];

    /// <summary>Background colour words, indexed by <see cref="BackgroundColour"/>.</summary>
    public static IReadOnlyList<string> BackgroundColours { get; } = ["black", "dark grey", "navy", "brown"];

    /// <summary>The occluder's name in captions.</summary>
    public const string OccluderName = "grey block";

    public static string Name(Colour c) => Colours[(int)c];
    public static string Name(Shape s) => Shapes[(int)s];
    public static string Name(SizeClass s) => Sizes[(int)s];
    public static string Name(BackgroundColour c) => BackgroundColours[(int)c];

    /// <summary>An object's caption name: "large red circle".</summary>
    public static string Name(SizeClass size, Colour colour, Shape shape) => $"{Name(size)} {Name(colour)} {Name(shape)}";

    /// <summary>"one".."ten", digits above.</summary>
    public static string CountWord(int n) => n >= 1 && n <= Counts.Count ? Counts[n - 1] : n.ToString();

    /// <summary>"once", "twice", "three times".</summary>
    public static string Times(int n) => n switch { 1 => "once", 2 => "twice", _ => CountWord(n) + " times" };

    /// <summary>"a" or "an" for the word that follows.</summary>
    public static string Article(string nextWord) => "aeiou".Contains(nextWord[0]) ? "an" : "a";

    /// <summary>"to the left", "up and to the right", ...; h and v are -1, 0 or +1 (v = +1 is up).</summary>
    public static string DirectionPhrase(int h, int v)
    {
        string hs = h < 0 ? "to the left" : h > 0 ? "to the right" : "";
        string vs = v > 0 ? "up" : v < 0 ? "down" : "";
        return (hs, vs) switch
        {
            ("", "") => "",
            ("", _) => vs,
            (_, "") => hs,
            _ => vs + " and " + hs,
        };
    }

    /// <summary>Object colours as sRGB, indexed by <see cref="Colour"/>.</summary>
    public static (byte R, byte G, byte B) Rgb(Colour c) => c switch
    {
        Colour.Red => (230, 40, 40),
        Colour.Orange => (255, 150, 20),
        Colour.Yellow => (245, 230, 50),
        Colour.Green => (40, 190, 70),
        Colour.Cyan => (40, 220, 235),
        Colour.Blue => (40, 90, 240),
        Colour.Purple => (150, 60, 210),
        Colour.Pink => (255, 130, 200),
        Colour.White => (245, 245, 245),
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };

    /// <summary>Background colours as sRGB.</summary>
    public static (byte R, byte G, byte B) Rgb(BackgroundColour c) => c switch
    {
        BackgroundColour.Black => (16, 16, 20),
        BackgroundColour.DarkGrey => (58, 58, 64),
        BackgroundColour.Navy => (20, 30, 72),
        BackgroundColour.Brown => (66, 44, 28),
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };

    /// <summary>The occluder's colour: mid grey, far from every object and background colour.</summary>
    public static (byte R, byte G, byte B) OccluderRgb => (128, 128, 136);
}
