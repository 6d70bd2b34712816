// CaptionWriter: writes a dense caption and a short user-style prompt from a simulated clip's ground truth.
//
// Each object's story is split at its events (floor bounces, wall hits, collisions, stops). Each piece between two
// events gets a direction from its measured displacement: horizontal when |dx| >= MinMove and |dx| >= 0.2 |dy|,
// vertical likewise. Runs of floor bounces whose hops share a horizontal direction become one clause ("bounces on
// the floor three times while moving to the right"). Every clause keeps its time span and the directions it
// states, so tests can check each stated direction against the measured motion.
using System.Text;

namespace Spacetime.World;

internal enum ClauseKind { Move, Bounces, Event }

/// <summary>One clause of an object's story, over [T0, T1] seconds. H, V: -1, 0, +1 (V = +1 is up), as stated.</summary>
internal sealed record Clause(ClauseKind Kind, double T0, double T1, int H, int V, string Text);

/// <summary>What a caption says about one object.</summary>
internal sealed record ObjectStory(int Body, string Start, IReadOnlyList<Clause> Clauses);

/// <summary>One object's sentence: its name ("large red circle"), where it starts, and its clauses in order.</summary>
internal sealed record StoryText(string Name, string Start, IReadOnlyList<string> Clauses);

/// <summary>Everything a dense caption states. Objects are listed from left to right. OccluderAt: "in the middle",
/// "on the left", ... or null when there is no block.</summary>
internal sealed record CaptionPlan(Background Background, bool Gravity, CameraMotion Camera, string? OccluderAt,
                                   IReadOnlyList<StoryText> Objects);

/// <summary>The verbs of movement clauses.</summary>
internal enum MoveVerb { Falls, Slides, Moves, Drifts }

internal static class CaptionWriter
{
    /// <summary>Least displacement (world units, ~3 px at 64 px) that a stated direction needs.</summary>
    public const double MinMove = 0.5;

    public static IReadOnlyList<ObjectStory> Stories(Trajectory traj) =>
        Enumerable.Range(0, traj.N).Select(i => Story(traj, i)).ToArray();

    public static string Caption(Trajectory traj, IReadOnlyList<ObjectStory> stories)
    {
        var scene = traj.Scene;
        string? occluderAt = scene.Occluder is { } o ? Third(Centre(o), scene.WorldWidth) : null;
        var objects = stories.Select(s => new StoryText(scene.Bodies[s.Body].Name, s.Start,
                                                        s.Clauses.Select(c => c.Text).ToList())).ToList();
        return Write(new CaptionPlan(scene.Background, scene.Gravity, scene.Camera, occluderAt, objects));
    }

    /// <summary>
    /// The caption's sentences, in order: count and background, gravity, camera, the block, the objects from left to
    /// right, then one sentence per object. The one place caption sentences are written (the prompt expander too).
    /// </summary>
    internal static string Write(CaptionPlan plan)
    {
        var objects = plan.Objects;
        var sb = new StringBuilder();
        string count = CaptionGrammar.CountWord(objects.Count);
        string noun = objects.Count == 1 ? "object" : "objects";
        sb.Append($"A video of {count} {noun} on {BackgroundPhrase(plan.Background)}. ");
        sb.Append(plan.Gravity ? "Gravity pulls everything down. " : "There is no gravity, so objects float freely. ");
        sb.Append($"The camera {CaptionGrammar.Cameras[(int)plan.Camera]}. ");
        if (plan.OccluderAt is { } at)
            sb.Append($"A {CaptionGrammar.OccluderName} stands in the foreground {at}. ");
        if (objects.Count > 1)
            sb.Append($"From left to right: {JoinAnd(objects.Select(o => WithArticle(o.Name)).ToList())}. ");
        foreach (var story in objects)
        {
            sb.Append($"The {story.Name} starts {story.Start}.");
            if (story.Clauses.Count > 0) sb.Append(" It ").Append(JoinThen(story.Clauses)).Append('.');
            sb.Append(' ');
        }
        return sb.ToString().TrimEnd();
    }

    /// <summary>A short prompt about the protagonist: "a red ball bounces to the right, with a blue square".</summary>
    public static string Prompt(Trajectory traj, IReadOnlyList<ObjectStory> stories, bool ballForCircle)
    {
        var scene = traj.Scene;
        int p = scene.Protagonist;
        var story = stories[p];
        var named = new List<int> { p };
        var events = traj.Events.Where(e => e.Body == p).ToList();
        var motion = story.Clauses.FirstOrDefault(c => c.Kind != ClauseKind.Event);
        var bounce = story.Clauses.FirstOrDefault(c => c.Kind == ClauseKind.Bounces);
        string text;
        if (scene.Kind == ScenarioKind.Collide && events.FirstOrDefault(e => e.Kind == EventKind.Collision) is { } hit)
        {
            named.Add(hit.Other);
            text = $"{Short(p)} and {Short(hit.Other)} collide";
        }
        else if (scene.Kind == ScenarioKind.Occlude && events.Any(e => e.Kind == EventKind.GoesBehind))
            text = $"{Short(p)} passes behind a {CaptionGrammar.OccluderName}";
        else if (bounce is not null && (scene.Kind == ScenarioKind.Throw || motion == bounce))
            text = $"{Short(p)} bounces {(bounce.H == 0 ? "on the floor" : CaptionGrammar.DirectionPhrase(bounce.H, 0))}";
        else if (motion is { Kind: ClauseKind.Move } m && m.Text.StartsWith("falls"))
            text = $"{Short(p)} {(bounce is null ? m.Text : "falls and bounces")}";
        else if (motion is not null)
            text = $"{Short(p)} {motion.Text}";
        else
            text = $"{Short(p)} {(story.Clauses.Count > 0 ? story.Clauses[0].Text : "stays still")}";

        var rest = Enumerable.Range(0, scene.Bodies.Count).Where(i => !named.Contains(i)).Select(Short).ToList();
        if (scene.Occluder is not null && !text.Contains(CaptionGrammar.OccluderName))
            rest.Add($"a {CaptionGrammar.OccluderName} in front");
        return rest.Count > 0 ? $"{text}, with {JoinAnd(rest)}" : text;

        string Short(int i)
        {
            var b = scene.Bodies[i];
            string shape = b.Shape == Shape.Circle && ballForCircle ? "ball" : CaptionGrammar.Name(b.Shape);
            return WithArticle($"{CaptionGrammar.Name(b.Colour)} {shape}");
        }
    }

    static ObjectStory Story(Trajectory traj, int i)
    {
        var scene = traj.Scene;
        var body = scene.Bodies[i];
        int last = traj.Steps - 1;
        var splitting = traj.Events                                               // events that change the motion
            .Where(e => e.Body == i && e.Kind is not (EventKind.GoesBehind or EventKind.Reappears)).ToList();
        var cuts = new List<int> { 0 };
        foreach (var e in splitting)
            if (e.Step > cuts[^1] && e.Step < last) cuts.Add(e.Step);
        cuts.Add(last);
        var pieces = new List<Piece>();
        for (int k = 0; k + 1 < cuts.Count; k++) pieces.Add(Measure(traj, i, cuts[k], cuts[k + 1]));

        var clauses = new List<Clause>();
        for (int k = 0; k < pieces.Count; k++)
        {
            var piece = pieces[k];
            var atStart = splitting.Where(e => e.Step == piece.S0).ToList();      // the events that began this piece
            bool floorBounce = scene.Gravity && atStart.Any(e => e.Kind == EventKind.FloorBounce);
            if (floorBounce)
            {
                foreach (var e in atStart.Where(e => e.Kind != EventKind.FloorBounce)) clauses.Add(EventClause(traj, e));
                int bounces = 1, end = k;
                while (end + 1 < pieces.Count && pieces[end + 1].H == piece.H
                       && splitting.Where(e => e.Step == pieces[end + 1].S0).All(e => e.Kind == EventKind.FloorBounce))
                {
                    end++;
                    bounces++;
                }
                double t0 = piece.S0 * Trajectory.Dt, t1 = pieces[end].S1 * Trajectory.Dt;
                double dx = traj.Position(pieces[end].S1, i).X - traj.Position(piece.S0, i).X;   // over the whole run
                int h = Math.Abs(dx) >= MinMove && Math.Sign(dx) == piece.H ? piece.H : 0;
                clauses.Add(new Clause(ClauseKind.Bounces, t0, t1, h, 0, BouncesText(bounces, h)));
                k = end;
                continue;
            }
            foreach (var e in atStart) clauses.Add(EventClause(traj, e));
            if (piece.H == 0 && piece.V == 0) continue;                          // no clear direction: say nothing
            var verb = piece.Sliding ? MoveVerb.Slides
                     : scene.Gravity && piece.V < 0 && clauses.Count == 0 ? MoveVerb.Falls
                     : scene.Gravity ? MoveVerb.Moves : MoveVerb.Drifts;
            clauses.Add(new Clause(ClauseKind.Move, piece.S0 * Trajectory.Dt, piece.S1 * Trajectory.Dt, piece.H, piece.V,
                                   MoveText(verb, piece.H, piece.V)));
        }
        foreach (var e in splitting.Where(e => e.Step == last)) clauses.Add(EventClause(traj, e));

        // The block's events don't split motion; they go in at their time.
        foreach (var e in traj.Events.Where(e => e.Body == i && e.Kind is EventKind.GoesBehind or EventKind.Reappears))
        {
            int at = clauses.FindIndex(c => c.T0 > e.Time);
            clauses.Insert(at < 0 ? clauses.Count : at, EventClause(traj, e));
        }
        for (int k = clauses.Count - 1; k > 0; k--)       // an impact repeated with no stated motion between is said once
            if (clauses[k].Kind == ClauseKind.Event && clauses[k].Text == clauses[k - 1].Text) clauses.RemoveAt(k);
        if (clauses.Count == 0 && MaxDisplacement(traj, i) < MinMove)
            clauses.Add(new Clause(ClauseKind.Event, 0, last * Trajectory.Dt, 0, 0, StaysStill));
        return new ObjectStory(i, StartPhrase(scene, body), clauses);
    }

    readonly record struct Piece(int S0, int S1, int H, int V, bool Sliding);

    static Piece Measure(Trajectory traj, int i, int s0, int s1)
    {
        var a = traj.Position(s0, i);
        var b = traj.Position(s1, i);
        double dx = b.X - a.X, dy = b.Y - a.Y;
        int h = Math.Abs(dx) >= MinMove && Math.Abs(dx) >= 0.2 * Math.Abs(dy) ? Math.Sign(dx) : 0;
        int v = Math.Abs(dy) >= MinMove && Math.Abs(dy) >= 0.2 * Math.Abs(dx) ? Math.Sign(dy) : 0;
        double floor = traj.Scene.Bodies[i].Half.Y + 1e-6;
        int onFloor = 0;
        for (int s = s0; s <= s1; s++)
            if (traj.Position(s, i).Y <= floor) onFloor++;
        bool sliding = traj.Scene.Gravity && v == 0 && h != 0 && onFloor >= 0.8 * (s1 - s0 + 1);
        return new Piece(s0, s1, h, v, sliding);
    }

    static double MaxDisplacement(Trajectory traj, int i)
    {
        double most = 0;
        var start = traj.Position(0, i);
        for (int s = 0; s < traj.Steps; s++) most = Math.Max(most, (traj.Position(s, i) - start).Length);
        return most;
    }

    static Clause EventClause(Trajectory traj, WorldEvent e)
    {
        var scene = traj.Scene;
        string other = e.Kind == EventKind.Collision ? scene.Bodies[e.Other].Name : "";
        bool right = e.Kind == EventKind.Reappears && traj.Position(e.Step, e.Body).X > Centre(scene.Occluder!.Value);
        int side = right ? 1 : -1;
        return new Clause(ClauseKind.Event, e.Time, e.Time, 0, 0, EventText(e.Kind, other, side));
    }

    /// <summary>"falls to the left" (a fall states no vertical direction), "drifts up and to the right".</summary>
    internal static string MoveText(MoveVerb verb, int h, int v)
    {
        string dir = CaptionGrammar.DirectionPhrase(h, verb == MoveVerb.Falls ? 0 : v);
        string word = verb.ToString().ToLowerInvariant();
        return dir.Length > 0 ? word + " " + dir : word;
    }

    /// <summary>"bounces on the floor", "bounces on the floor twice while moving to the right".</summary>
    internal static string BouncesText(int bounces, int h) =>
        "bounces on the floor" + (bounces > 1 ? " " + CaptionGrammar.Times(bounces) : "")
        + (h != 0 ? " while moving " + CaptionGrammar.DirectionPhrase(h, 0) : "");

    /// <summary>What an object that never moves does.</summary>
    internal const string StaysStill = "stays still";

    /// <summary>An event's clause. <paramref name="other"/>: the other object's name (collisions);
    /// <paramref name="side"/>: the block's side an object reappears on (-1 left, +1 right).</summary>
    internal static string EventText(EventKind kind, string other = "", int side = 0) => kind switch
    {
        EventKind.FloorBounce => "bounces off the floor",
        EventKind.LeftWall => "hits the left wall",
        EventKind.RightWall => "hits the right wall",
        EventKind.Ceiling => "hits the ceiling",
        EventKind.Collision => "collides with the " + other,
        EventKind.Stop => "comes to rest",
        EventKind.GoesBehind => "goes behind the " + CaptionGrammar.OccluderName,
        _ => side > 0 ? "reappears on its right side" : "reappears on its left side",
    };

    static double Centre(Box b) => (b.X0 + b.X1) / 2;

    static string StartPhrase(Scene scene, BodySpec body) =>
        StartPhrase(body.Position.X, body.Position.Y, scene.WorldWidth, scene.WorldHeight,
                    onFloor: body.Position.Y - body.Half.Y <= 1e-6);

    /// <summary>"at the top left", "on the floor in the middle", "in the middle": where a centre (x, y) lies in a
    /// width x height arena, by thirds.</summary>
    internal static string StartPhrase(double x, double y, double width, double height, bool onFloor)
    {
        string across = Third(x, width);
        if (onFloor) return "on the floor " + across;
        double v = y / height;
        string up = v >= 2.0 / 3 ? "top" : v < 1.0 / 3 ? "bottom" : "";
        double u = x / width;
        string side = u < 1.0 / 3 ? "left" : u >= 2.0 / 3 ? "right" : "";
        return (up, side) switch
        {
            ("", "") => "in the middle",
            ("", _) => $"in the middle {across}",
            (_, "") => $"at the {up}",
            _ => $"at the {up} {side}",
        };
    }

    /// <summary>"on the left", "in the middle" or "on the right": the third of the width that x lies in.</summary>
    internal static string Third(double x, double width) =>
        x < width / 3 ? "on the left" : x >= 2 * width / 3 ? "on the right" : "in the middle";

    internal static string BackgroundPhrase(Background bg)
    {
        string a = CaptionGrammar.Name(bg.A), b = CaptionGrammar.Name(bg.B);
        return bg.Pattern switch
        {
            BackgroundPattern.Plain => $"a plain {a} background",
            BackgroundPattern.Gradient => $"a background that fades from {a} at the top to {b} at the bottom",
            BackgroundPattern.Stripes => $"a background of {(bg.Vertical ? "vertical" : "horizontal")} {a} and {b} stripes",
            _ => $"a {a} and {b} checkerboard background",
        };
    }

    internal static string WithArticle(string phrase) => CaptionGrammar.Article(phrase) + " " + phrase;

    internal static string JoinAnd(IReadOnlyList<string> items) =>
        items.Count <= 1 ? string.Concat(items) : string.Join(", ", items.Take(items.Count - 1)) + " and " + items[^1];

    internal static string JoinThen(IReadOnlyList<string> items) =>
        items.Count <= 1 ? string.Concat(items)
        : items.Count == 2 ? items[0] + " and then " + items[1]
        : string.Join(", ", items.Take(items.Count - 1)) + " and then " + items[^1];
}
