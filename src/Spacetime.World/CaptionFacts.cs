// CaptionFacts: the facts a dense caption states, read from its text (Read) or taken from a clip's ground truth (Of),
// and scored against each other per kind of fact (Score). A captioner model is measured as
//     FactScore.Sum(clips.Select(c => CaptionFacts.Score(CaptionFacts.Read(model(c)), CaptionFacts.Of(c.Truth))))
//
// Reading. The prompt reader (PromptReader, the reading half of the prompt expander) reads the caption's words, so a
// caption and a prompt are understood by the same rules. Three things a prompt never says are handled here:
//   - the count phrase "A video of three objects" is taken out of the words (and gives Count) before reading: the
//     reader would make three objects of no colour of it;
//   - so are two phrases that say where, not which way: "From left to right:" at the start of a sentence (the list
//     of objects) and "on its left side" ("reappears on its left side": the block's side). The reader would give
//     their "left" or "right" to the nearest verb as its direction;
//   - objects named without a colour ("so objects float freely") are not objects of the scene. Captions name every
//     object by size, colour and shape, and a world scene never repeats a colour, so colour identifies an object.
// A horizontal direction is one stated by a movement verb (falls, bounces, is thrown, slides, moves, drifts); the
// side in "hits the left wall" is not one.
//
// Scoring: right/total per FactKind. A true object's counterpart is the predicted object of the same colour (the
// first with the same colour and shape, else the first with the same colour); a true object without one is wrong on
// every per-object kind. So an empty or unreadable caption scores 0 on every kind.
//   Count       1 per clip: the stated count equals the number of objects.
//   Colour      1 per true object: it has a counterpart.
//   Shape       1 per true object: its counterpart states its shape.
//   Size        1 per true object: its counterpart states its size.
//   Direction   1 per true object that moves horizontally (its true Directions are not empty): its counterpart's
//               directions, repeats merged, equal the truth's ([right, right, left] = [right, left] != [right]).
//   Bounce      1 per true object: its counterpart states a floor bounce exactly when the object bounces.
//   Occlusion   1 per clip with a block: a block is stated; and 1 per object that passes behind the block: its
//               counterpart is said to go behind it. (A block or a passage stated where there is none is not scored.)
//   Camera      1 per clip: the stated camera motion is the true one.
//   Gravity     1 per clip: gravity is stated on or off as it is.
//   Background  1 per clip: pattern and colours (both colours, except for a plain background) are the true ones.
using System.Text;

namespace Spacetime.World;

/// <summary>The kinds of fact a caption states; each is scored on its own (see the file header).</summary>
public enum FactKind { Count, Colour, Shape, Size, Direction, Bounce, Occlusion, Camera, Gravity, Background }

/// <summary>What a caption states about one object.</summary>
/// <param name="Directions">Horizontal directions of motion in the order stated, -1 left, +1 right, one per clause
/// that states one (empty: no horizontal motion stated).</param>
/// <param name="Bounces">Floor bounces stated: "bounces" counts 1, "bounces twice" 2; 0 for none.</param>
/// <param name="Behind">Said to go behind the block.</param>
public sealed record ObjectFacts(Colour Colour, Shape? Shape, SizeClass? Size, IReadOnlyList<int> Directions,
                                 int Bounces, bool Behind);

/// <summary>A background as a caption states it: the pattern and its colours (A: the top or first colour); B is null
/// for a plain background, which has one colour.</summary>
public readonly record struct BackgroundFacts(BackgroundPattern Pattern, BackgroundColour A, BackgroundColour? B);

/// <summary>
/// What a dense caption states (see the file header). Count: the objects the caption counts (the number it names,
/// else the objects it names). Objects: in the order first named (left to right in world captions). Block: a block
/// stands in the foreground. Camera, Gravity, Background: null when not stated.
/// </summary>
public sealed record CaptionFacts(int Count, IReadOnlyList<ObjectFacts> Objects, bool Block, CameraMotion? Camera,
                                  bool? Gravity, BackgroundFacts? Background)
{
    /// <summary>The facts a caption states. Never throws; an empty or unreadable caption states nothing.</summary>
    public static CaptionFacts Read(string caption)
    {
        var words = PromptExpander.Words(caption ?? "");
        int? count = TakeCount(words);
        DropWhere(words);
        var reading = new PromptReader(words).Read();
        var objects = reading.Things.Where(t => t.Colour is not null).Select(t => new ObjectFacts(
            t.Colour!.Value, t.Shape, t.Size,
            t.Actions.Where(a => a.H != 0 && IsMotion(a.Kind)).Select(a => a.H).ToArray(),
            t.Actions.Where(a => a.Kind == Act.Bounces).Sum(a => Math.Max(1, a.Times)),
            t.Actions.Any(a => a.Kind == Act.Behind))).ToArray();
        var background = reading.Background is { } b
            ? new BackgroundFacts(b.Pattern, b.A, b.Pattern == BackgroundPattern.Plain ? null : b.B)
            : (BackgroundFacts?)null;
        return new CaptionFacts(count ?? objects.Length, objects, reading.Block, reading.Camera, reading.Gravity,
                                background);
    }

    /// <summary>
    /// The true facts of a clip. Objects (colour, shape, size), count, camera, gravity, background and block come from
    /// the truth's own fields; bounces count its floorBounce events and Behind is a goesBehind event. The truth has no
    /// per-object direction field, so Directions are what the simulator's own caption states (Read(truth.Caption)):
    /// CaptionWriter derives each from the object's measured displacement between events, and only where it moved
    /// clearly (at least CaptionWriter.MinMove), so a direction is scored only where the truth is unambiguous.
    /// </summary>
    public static CaptionFacts Of(ClipTruth truth)
    {
        var stated = Read(truth.Caption);
        var objects = truth.Objects.Select(o =>
        {
            var colour = Named<Colour>(CaptionGrammar.Colours, o.Colour);
            var events = truth.Events.Where(e => e.Object == o.Id)
                                     .Select(e => Enum.Parse<EventKind>(e.Kind, ignoreCase: true)).ToList();
            return new ObjectFacts(colour, Named<Shape>(CaptionGrammar.Shapes, o.Shape),
                                   Named<SizeClass>(CaptionGrammar.Sizes, o.Size),
                                   stated.Objects.FirstOrDefault(s => s.Colour == colour)?.Directions ?? [],
                                   events.Count(k => k == EventKind.FloorBounce),
                                   events.Contains(EventKind.GoesBehind));
        }).ToArray();
        return new CaptionFacts(objects.Length, objects, truth.Occluder is not null,
                                Enum.Parse<CameraMotion>(truth.Camera, ignoreCase: true), truth.Gravity,
                                BackgroundOf(truth.Background));
    }

    /// <summary>Right/total per kind of fact for one clip, by the rules in the file header.</summary>
    public static FactScore Score(CaptionFacts predicted, CaptionFacts truth)
    {
        var score = new FactScore();
        score.Add(FactKind.Count, predicted.Count == truth.Count);
        foreach (var o in truth.Objects)
        {
            var p = predicted.Objects.FirstOrDefault(p => p.Colour == o.Colour && p.Shape == o.Shape)
                    ?? predicted.Objects.FirstOrDefault(p => p.Colour == o.Colour);
            score.Add(FactKind.Colour, p is not null);
            score.Add(FactKind.Shape, p is not null && p.Shape == o.Shape);
            score.Add(FactKind.Size, p is not null && p.Size == o.Size);
            if (o.Directions.Count > 0)
                score.Add(FactKind.Direction, p is not null && Turns(p.Directions).SequenceEqual(Turns(o.Directions)));
            score.Add(FactKind.Bounce, p is not null && (p.Bounces > 0) == (o.Bounces > 0));
            if (o.Behind) score.Add(FactKind.Occlusion, p is { Behind: true });
        }
        if (truth.Block) score.Add(FactKind.Occlusion, predicted.Block);
        score.Add(FactKind.Camera, predicted.Camera == truth.Camera);
        score.Add(FactKind.Gravity, predicted.Gravity == truth.Gravity);
        score.Add(FactKind.Background, predicted.Background == truth.Background);
        return score;
    }

    /// <summary>Directions with repeats merged: [+1, +1, -1] -> [+1, -1], the order in which it heads each way.
    /// </summary>
    static List<int> Turns(IReadOnlyList<int> directions)
    {
        var turns = new List<int>();
        foreach (int h in directions)
            if (turns.Count == 0 || turns[^1] != h) turns.Add(h);
        return turns;
    }

    /// <summary>Deeds whose direction is a direction of motion (not a wall's side or the side of a block).</summary>
    static bool IsMotion(Act act) => act is Act.Falls or Act.Bounces or Act.Thrown or Act.Slides or Act.Moves
                                     or Act.Drifts;

    /// <summary>Takes "video of three objects" out of the words; returns its number (null when there is none).
    /// </summary>
    static int? TakeCount(List<string> words)
    {
        for (int k = 0; k + 3 < words.Count; k++)
            if (words[k] == "video" && words[k + 1] == "of" && words[k + 3] is "object" or "objects"
                && PromptReader.CountOf(words[k + 2]) is { } n)
            {
                words.RemoveRange(k, 4);
                return n;
            }
        return null;
    }

    /// <summary>Takes out "from left to right" where it starts a sentence ("From left to right: a red circle and
    /// ...") and "on its left side", "on its right side" ("reappears on its right side").</summary>
    static void DropWhere(List<string> words)
    {
        for (int k = 0; k + 3 < words.Count; k++)
        {
            bool list = (k == 0 || words[k - 1] == ".") && words[k] == "from" && words[k + 1] == "left"
                        && words[k + 2] == "to" && words[k + 3] == "right";
            bool side = words[k] == "on" && words[k + 1] == "its" && words[k + 2] is "left" or "right"
                        && words[k + 3] == "side";
            if (list || side) words.RemoveRange(k, 4);
        }
    }

    /// <summary>"plain:dark grey/navy", "gradient:black/navy" (ClipTruth.Background): pattern, then colours A/B.
    /// </summary>
    static BackgroundFacts BackgroundOf(string text)
    {
        var parts = text.Split(':', '/');
        if (parts.Length != 3) throw new FormatException($"background '{text}': expected pattern:colour/colour");
        var pattern = Enum.Parse<BackgroundPattern>(parts[0], ignoreCase: true);
        var a = Named<BackgroundColour>(CaptionGrammar.BackgroundColours, parts[1]);
        var b = Named<BackgroundColour>(CaptionGrammar.BackgroundColours, parts[2]);
        return new BackgroundFacts(pattern, a, pattern == BackgroundPattern.Plain ? null : b);
    }

    /// <summary>The enum value whose caption word is <paramref name="word"/> (the grammar lists are indexed by it).
    /// </summary>
    static T Named<T>(IReadOnlyList<string> words, string word) where T : struct, Enum
    {
        for (int k = 0; k < words.Count; k++)
            if (words[k] == word) return (T)Enum.ToObject(typeof(T), k);
        throw new FormatException($"'{word}' is not a {typeof(T).Name} word ({string.Join(", ", words)})");
    }
}

/// <summary>Right and total facts per <see cref="FactKind"/>, for one clip or summed over many.</summary>
public sealed class FactScore
{
    readonly (int Right, int Total)[] tallies = new (int, int)[Kinds.Count];

    /// <summary>Every kind, in table order.</summary>
    public static IReadOnlyList<FactKind> Kinds { get; } = Enum.GetValues<FactKind>();

    /// <summary>Facts of this kind stated rightly, out of those scored.</summary>
    public (int Right, int Total) this[FactKind kind] => tallies[(int)kind];

    /// <summary>Right / total; NaN when no fact of this kind was scored.</summary>
    public double Accuracy(FactKind kind) =>
        this[kind].Total > 0 ? (double)this[kind].Right / this[kind].Total : double.NaN;

    internal void Add(FactKind kind, bool right)
    {
        var (r, t) = tallies[(int)kind];
        tallies[(int)kind] = (r + (right ? 1 : 0), t + 1);
    }

    /// <summary>The scores of many clips added up, kind by kind.</summary>
    public static FactScore Sum(IEnumerable<FactScore> scores)
    {
        var sum = new FactScore();
        foreach (var s in scores)
            for (int k = 0; k < sum.tallies.Length; k++)
                sum.tallies[k] = (sum.tallies[k].Right + s.tallies[k].Right, sum.tallies[k].Total + s.tallies[k].Total);
        return sum;
    }

    /// <summary>A Markdown table, one row per kind: | fact | accuracy | right/total | ("-" where none was scored).
    /// </summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder("| fact | accuracy | right/total |\n|---|---:|---:|\n");
        foreach (var kind in Kinds)
        {
            var (right, total) = this[kind];
            string accuracy = total > 0 ? $"{100.0 * right / total:0.0}%" : "-";
            sb.Append($"| {kind.ToString().ToLowerInvariant()} | {accuracy} | {right}/{total} |\n");
        }
        return sb.ToString();
    }
}
