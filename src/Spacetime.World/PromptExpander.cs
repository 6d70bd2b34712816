// PromptExpander: rewrites a short user prompt ("a red ball falls and bounces") as a dense caption, the only kind of
// text the DiT was trained on. It reads the prompt with the caption grammar's word lists and writes the caption with
// the caption writer's own sentences (CaptionWriter.Write), so an expansion reads exactly like a training caption.
//
//   1) Scene words: background ("on a black background", "fades from black to navy"), camera ("pans left", "zooms
//      in"), gravity ("no gravity", "in space"), the grey block ("block", "behind").
//   2) Clauses: noun phrases ("a red ball", "two small squares", "a red and a blue box", "it") and the verbs after
//      them ("falls", "bounces twice", "moves to the left", "collides with", "passes behind"). A verb belongs to the
//      objects named since the last verb; objects after "with" are companions ("..., with a yellow square").
//   3) Plan: where each object starts (an object moving right starts on the left; in a collision the first object is
//      on the left; a falling one at the top; with gravity the rest on the floor), then its clauses in caption words.
//
// Defaults, for what a prompt leaves out (the world's most common choice, or a fixed neutral one where the world's
// choices are equally common):
//   background  plain (2 in 5 clips) dark grey (the 4 background colours are equally common)
//   camera      still (half of all clips)
//   gravity     on (9.5 of the 14 scenario weights), off when objects only drift or float, or the prompt says so
//   size        medium (then large, then small for objects that would otherwise share a name); shape: circle for
//               "object", "thing", "one"; colour: the first grammar colour no other object has (a world scene never
//               repeats a colour)
//   motion      an object given no verb stays still; a throw, slide or move with no direction goes away from the
//               side the object starts on, else to the right; objects that collide head for each other and rebound
//   block       in the middle
// At most ten objects and eight actions per object are kept (the reader keeps every action, for CaptionFacts, which
// reads long captions with it; the plan takes the first eight). Unknown words are ignored; a prompt in which no
// object or action is recognised is returned as typed (trimmed), since a caption would have to invent its content.
// Colour words a model was taught beyond the world's (an adapter's new words, `train lora --new-word`) are kept: each
// is read as a palette colour the prompt does not use, and written back in the caption (Expand(prompt, newColours)).
using System.Text;
using System.Text.RegularExpressions;

namespace Spacetime.World;

/// <summary>Rewrites short prompts in the dense-caption style the models are trained on.</summary>
public static class PromptExpander
{
    /// <summary>Most objects an expansion names (the world has at most four).</summary>
    public const int MaxObjects = 10;

    /// <summary>Most actions kept for one object.</summary>
    public const int MaxActions = 8;

    /// <summary>
    /// The dense caption for <paramref name="prompt"/>. Deterministic; never throws. "" for an empty prompt; a prompt
    /// that is already a dense caption (starts with "A video of") is returned unchanged.
    /// </summary>
    public static string Expand(string prompt)
    {
        if (string.IsNullOrWhiteSpace(prompt)) return "";
        if (prompt.TrimStart().StartsWith("A video of", StringComparison.OrdinalIgnoreCase)) return prompt;
        var reading = new PromptReader(Words(prompt)).Read();
        if (reading.Things.Count == 0) return prompt.Trim();
        return CaptionWriter.Write(Plan(reading));
    }

    /// <summary>
    /// The dense caption for <paramref name="prompt"/>, which may use <paramref name="newColours"/>: colour words a
    /// model was taught that the world does not have. Each such word in the prompt stands in for a palette colour the
    /// prompt does not use while it is expanded, and is written back in the caption ("an olive ball bounces" -> "...
    /// The medium olive circle ..."; the caption writer puts the size between an article and a colour, so no article
    /// needs changing). A word right after a palette colour ("a red star") is not
    /// in a colour's place and is left out, as any word the world does not know. Without such a word it is <see cref="Expand(string)"/>.
    /// </summary>
    public static string Expand(string prompt, IReadOnlyList<string> newColours)
    {
        var swaps = new List<(string Stand, string Word)>();
        string text = prompt;
        string colours = string.Join("|", CaptionGrammar.Colours);
        foreach (string word in newColours)
        {
            // not where a colour already stands before it ("a red star": a taught shape, not a colour)
            if (!HasWord(text, word)
                || Regex.IsMatch(text, $@"\b(?:{colours})\s+{Regex.Escape(word)}\b", RegexOptions.IgnoreCase)) continue;
            string? stand = CaptionGrammar.Colours.FirstOrDefault(c => !HasWord(prompt, c) && swaps.All(s => s.Stand != c));
            if (stand is null) break;                                    // every palette colour is named already
            text = Regex.Replace(text, $@"\b{Regex.Escape(word)}\b", stand, RegexOptions.IgnoreCase);
            swaps.Add((stand, word));
        }
        string caption = Expand(text);
        foreach (var (stand, word) in swaps) caption = Regex.Replace(caption, $@"\b{stand}\b", word);
        return caption;
    }

    /// <summary>Whether <paramref name="text"/> has <paramref name="word"/> as a whole word, in any case.</summary>
    public static bool HasWord(string text, string word) =>
        Regex.IsMatch(text, $@"\b{Regex.Escape(word)}\b", RegexOptions.IgnoreCase);

    /// <summary>Lower-case ASCII words; ". ; ! ?" become "." and "," stays; everything else separates words.</summary>
    internal static List<string> Words(string prompt)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        foreach (char ch in prompt)
        {
            if (ch is >= 'a' and <= 'z' or >= '0' and <= '9') { word.Append(ch); continue; }
            if (ch is >= 'A' and <= 'Z') { word.Append((char)(ch + 32)); continue; }
            Flush();
            if (ch is '.' or ';' or '!' or '?') words.Add(".");
            else if (ch == ',') words.Add(",");
        }
        Flush();
        return words;

        void Flush()
        {
            if (word.Length > 0) words.Add(word.ToString());
            word.Clear();
        }
    }

    // ---- planning: where objects start, what they do, in caption words ----

    internal const double Left = 1.0 / 6, Middle = 0.5, Right = 5.0 / 6;   // start x (arena fractions) by third

    /// <summary>The background when a prompt names none: plain dark grey (B and the stripe settings go unused).
    /// </summary>
    static readonly Background DefaultBackground =
        new(BackgroundPattern.Plain, BackgroundColour.DarkGrey, BackgroundColour.Navy, 1.5, Vertical: true);

    static CaptionPlan Plan(PromptReading r)
    {
        var things = r.Things;
        foreach (var t in things)                                   // the first MaxActions deeds of each
            if (t.Actions.Count > MaxActions) t.Actions.RemoveRange(MaxActions, t.Actions.Count - MaxActions);
        bool gravity = r.Gravity ?? !(r.Acts.Contains(Act.Drifts)
                                      && !r.Acts.Any(a => a is Act.Falls or Act.Bounces or Act.Thrown or Act.Slides));
        AssignColours(things);
        AssignSizes(things);
        foreach (var t in things)                                   // where each starts across, from how it moves
        {
            t.Heading = t.Actions.FirstOrDefault(a => a.H != 0 && a.Kind != Act.Collides)?.H ?? 0;
            t.StartX = t.X ?? (t.Heading > 0 ? Left : t.Heading < 0 ? Right : t.SideHint)
                       ?? (t.Actions.Any(NeedsHeading) ? Left : null);
        }
        foreach (var t in things)                   // a collision's target faces the one that hits it, or is under it
            if (t.StartX is null && t.HitBy is { StartX: { } x } hitter)
                t.StartX = hitter is { Heading: 0, Actions: [{ Kind: Act.Falls }, ..] } ? x : x > Middle ? Left : Right;
        var free = things.Where(t => t.StartX is null).ToList();
        for (int k = 0; k < free.Count; k++)                        // the rest spread out, or wait in the middle
            free[k].StartX = free.Count == things.Count ? (k + 0.5) / free.Count : Middle;
        foreach (var t in things)
            if (t.Heading == 0) t.Heading = t.StartX > Middle ? -1 : 1;

        var objects = things.OrderBy(t => t.StartX).Select(t => new StoryText(t.Name, Start(t, gravity),
                                                                              Clauses(t, gravity))).ToList();
        string? block = r.Block ? CaptionWriter.Third(Middle, 1) : null;
        return new CaptionPlan(r.Background ?? DefaultBackground, gravity, r.Camera ?? CameraMotion.Still, block,
                               objects);
    }

    /// <summary>A deed that moves sideways in a direction the prompt may not state (then: away from its start side).
    /// </summary>
    static bool NeedsHeading(Deed d) => d.Kind is Act.Thrown or Act.Behind or Act.HitsWall
                                        || d.Kind is Act.Slides or Act.Moves or Act.Drifts && d.H == 0 && d.V == 0;

    /// <summary>Objects with no colour take the first grammar colour that no other object has.</summary>
    static void AssignColours(List<Thing> things)
    {
        var taken = things.Where(t => t.Colour is not null).Select(t => t.Colour!.Value).ToHashSet();
        var colours = Enum.GetValues<Colour>();
        int k = 0;
        foreach (var t in things.Where(t => t.Colour is null))
        {
            var c = colours.FirstOrDefault(c => !taken.Contains(c), colours[k++ % colours.Length]);
            taken.Add(c);
            t.Colour = c;
        }
    }

    /// <summary>Objects with no size are medium, unless an object of the same colour and shape already is: then
    /// large, then small, so that "two red balls" are told apart in the caption as the world's objects are.</summary>
    static void AssignSizes(List<Thing> things)
    {
        SizeClass[] order = [SizeClass.Medium, SizeClass.Large, SizeClass.Small];
        foreach (var t in things.Where(t => t.Size is null).ToList())
        {
            var taken = things.Where(o => o != t && o.Size is not null && o.Colour == t.Colour && o.Shape == t.Shape)
                              .Select(o => o.Size!.Value).ToHashSet();
            t.Size = order.FirstOrDefault(s => !taken.Contains(s), SizeClass.Medium);
        }
    }

    /// <summary>"at the top left", "on the floor on the right", "in the middle".</summary>
    static string Start(Thing t, bool gravity)
    {
        var first = t.Actions.Count > 0 ? t.Actions[0] : new Deed(Act.StaysStill);
        var band = t.Y ?? first switch
        {
            { Kind: Act.Falls or Act.Bounces } => Band.Top,
            { Kind: Act.Thrown } => gravity ? Band.Top : Band.Middle,
            { V: < 0 } => Band.Top,
            { V: > 0 } => Band.Bottom,
            _ => gravity ? Band.Floor : Band.Middle,
        };
        double y = band switch { Band.Top => 5.0 / 6, Band.Bottom => 1.0 / 6, _ => 0.5 };
        return CaptionWriter.StartPhrase(t.StartX ?? Middle, y, 1, 1, onFloor: band == Band.Floor);
    }

    /// <summary>What the object does, as caption clauses ("falls to the left", "bounces on the floor").</summary>
    static List<string> Clauses(Thing t, bool gravity)
    {
        var said = new List<string>();
        bool moved = false;                                         // a movement clause has been said
        int lastH = 0;                                              // the latest horizontal direction said
        int fallH = 0;                                              // a bounce keeps the direction of its fall
        for (int k = 0; k < t.Actions.Count; k++)
        {
            var a = t.Actions[k];
            switch (a.Kind)
            {
                case Act.Falls:
                    Say(gravity ? CaptionWriter.MoveText(MoveVerb.Falls, a.H, 0)
                                : CaptionWriter.MoveText(MoveVerb.Drifts, a.H, -1), a.H);
                    fallH = a.H;
                    break;
                case Act.Thrown or Act.Bounces:
                {
                    int h = a.H != 0 ? a.H : a.Kind == Act.Thrown ? t.Heading : fallH;
                    bool thrown = a.Kind == Act.Thrown;
                    if (!gravity)
                    {
                        if (thrown || !moved) Say(CaptionWriter.MoveText(MoveVerb.Drifts, h, thrown ? 0 : -1), h);
                        if (!thrown) said.Add(CaptionWriter.EventText(EventKind.FloorBounce));
                        break;
                    }
                    if (thrown || !moved) Say(CaptionWriter.MoveText(MoveVerb.Falls, h, 0), h);   // falls, then bounces
                    bool bounceNext = k + 1 < t.Actions.Count && t.Actions[k + 1].Kind == Act.Bounces;
                    if (!thrown || !bounceNext) Say(CaptionWriter.BouncesText(Math.Max(1, a.Times), h), h);
                    fallH = thrown ? h : 0;
                    break;
                }
                case Act.Slides or Act.Moves or Act.Drifts:
                {
                    var (h, v) = a.H == 0 && a.V == 0 ? (t.Heading, 0) : (a.H, a.V);
                    var verb = !gravity ? MoveVerb.Drifts : v == 0 ? MoveVerb.Slides : MoveVerb.Moves;
                    Say(CaptionWriter.MoveText(verb, h, v), h);
                    break;
                }
                case Act.Collides:
                {
                    var other = a.Other!;
                    int h = Math.Sign((other.StartX ?? Middle) - (t.StartX ?? Middle));
                    if (h == 0) h = t.Heading;
                    if (a.Approach && !moved) Glide(h);
                    said.Add(CaptionWriter.EventText(EventKind.Collision, other.Name));
                    if (a.Rebound && k == t.Actions.Count - 1) Glide(-h);
                    break;
                }
                case Act.Behind:
                {
                    if (lastH == 0 && !moved) Glide(a.H != 0 ? a.H : t.Heading);
                    said.Add(CaptionWriter.EventText(EventKind.GoesBehind));
                    if (lastH != 0) said.Add(CaptionWriter.EventText(EventKind.Reappears, side: lastH));
                    break;
                }
                case Act.HitsWall:
                {
                    int h = a.H != 0 ? a.H : lastH != 0 ? lastH : t.Heading;
                    if (!moved) Glide(h);
                    said.Add(CaptionWriter.EventText(a.V > 0 ? EventKind.Ceiling
                                                     : h < 0 ? EventKind.LeftWall : EventKind.RightWall));
                    break;
                }
                case Act.Rests:
                    said.Add(said.Count == 0 ? CaptionWriter.StaysStill : CaptionWriter.EventText(EventKind.Stop));
                    break;
                default:                                            // StaysStill: only when it does nothing else
                    if (t.Actions.Count == 1) said.Add(CaptionWriter.StaysStill);
                    break;
            }
        }
        if (said.Count == 0) said.Add(CaptionWriter.StaysStill);
        for (int k = said.Count - 1; k > 0; k--)                    // "falls, falls" is said once
            if (said[k] == said[k - 1]) said.RemoveAt(k);
        return said;

        void Say(string clause, int h)
        {
            said.Add(clause);
            moved = true;
            if (h != 0) lastH = h;
        }

        void Glide(int h) =>
            Say(CaptionWriter.MoveText(gravity ? MoveVerb.Slides : MoveVerb.Drifts, h, 0), h);
    }
}

/// <summary>What a prompt makes an object do (words in <see cref="PromptReader"/>).</summary>
internal enum Act { Falls, Bounces, Thrown, Slides, Moves, Drifts, Collides, Behind, HitsWall, Rests, StaysStill }

/// <summary>Start height named by a prompt ("at the top", "on the floor").</summary>
internal enum Band { Top, Middle, Bottom, Floor }

/// <summary>One deed (action) of one object. H, V: -1, 0, +1 as stated (V = +1 is up). Other: the object collided with;
/// Approach: head for it first when not yet moving; Rebound: move back after it (a mutual collision).</summary>
internal sealed record Deed(Act Kind, int H = 0, int V = 0, int Times = 0, Thing? Other = null,
                              bool Approach = false, bool Rebound = false);

/// <summary>One object named by a prompt: what it said about it, then what the plan decided.</summary>
internal sealed class Thing
{
    public Colour? Colour;
    public Shape? Shape;
    public SizeClass? Size;
    public double? X;                      // start across (0 left .. 1 right), when the prompt says
    public Band? Y;                        // start height, when the prompt says
    public bool Unresolved;                // made by "the ..." that referred to no earlier object
    public readonly List<Deed> Actions = [];
    public double? SideHint;               // where a collision puts it, unless its own motion says otherwise
    public Thing? HitBy;                   // the object that hits this one (it starts facing it)
    public double? StartX;                 // planned start across
    public int Heading;                    // planned horizontal direction of travel

    public string Name => CaptionGrammar.Name(Size ?? SizeClass.Medium, Colour ?? World.Colour.Red,
                                              Shape ?? World.Shape.Circle);

    public void Add(Deed deed) => Actions.Add(deed);
}

/// <summary>What a prompt said: the objects in order of mention, the scene, and every action word used. Background,
/// Camera and Gravity are null when the text says nothing about them.</summary>
internal sealed record PromptReading(List<Thing> Things, Background? Background, CameraMotion? Camera, bool? Gravity,
                                     bool Block, HashSet<Act> Acts);
