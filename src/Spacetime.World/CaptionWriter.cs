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

internal static class CaptionWriter
{
    /// <summary>Least displacement (world units, ~3 px at 64 px) that a stated direction needs.</summary>
    public const double MinMove = 0.5;

    public static IReadOnlyList<ObjectStory> Stories(Trajectory traj) =>
        Enumerable.Range(0, traj.N).Select(i => Story(traj, i)).ToArray();

    public static string Caption(Trajectory traj, IReadOnlyList<ObjectStory> stories)
    {
        var scene = traj.Scene;
        var bodies = scene.Bodies;
        var sb = new StringBuilder();
        string count = CaptionGrammar.CountWord(bodies.Count);
        string objects = bodies.Count == 1 ? "object" : "objects";
        sb.Append($"A video of {count} {objects} on {BackgroundPhrase(scene.Background)}. ");
        sb.Append(scene.Gravity ? "Gravity pulls everything down. " : "There is no gravity, so objects float freely. ");
        sb.Append($"The camera {CaptionGrammar.Cameras[(int)scene.Camera]}. ");
        if (scene.Occluder is { } o)
            sb.Append($"A {CaptionGrammar.OccluderName} stands in the foreground {Third(Centre(o), scene.WorldWidth)}. ");
        if (bodies.Count > 1)
            sb.Append($"From left to right: {JoinAnd(bodies.Select(b => WithArticle(b.Name)).ToList())}. ");
        foreach (var story in stories)
        {
            string name = bodies[story.Body].Name;
            sb.Append($"The {name} starts {story.Start}.");
            if (story.Clauses.Count > 0)
                sb.Append(" It ").Append(JoinThen(story.Clauses.Select(c => c.Text).ToList())).Append('.');
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
                string text = "bounces on the floor" + (bounces > 1 ? " " + CaptionGrammar.Times(bounces) : "")
                              + (h != 0 ? " while moving " + CaptionGrammar.DirectionPhrase(h, 0) : "");
                clauses.Add(new Clause(ClauseKind.Bounces, t0, t1, h, 0, text));
                k = end;
                continue;
            }
            foreach (var e in atStart) clauses.Add(EventClause(traj, e));
            if (piece.H == 0 && piece.V == 0) continue;                          // no clear direction: say nothing
            string verb = piece.Sliding ? "slides"
                        : scene.Gravity && piece.V < 0 && clauses.Count == 0 ? "falls"
                        : scene.Gravity ? "moves" : "drifts";
            string dir = verb == "falls" ? CaptionGrammar.DirectionPhrase(piece.H, 0)
                       : CaptionGrammar.DirectionPhrase(piece.H, piece.V);
            clauses.Add(new Clause(ClauseKind.Move, piece.S0 * Trajectory.Dt, piece.S1 * Trajectory.Dt, piece.H, piece.V,
                                   dir.Length > 0 ? verb + " " + dir : verb));
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
            clauses.Add(new Clause(ClauseKind.Event, 0, last * Trajectory.Dt, 0, 0, "stays still"));
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
        string text = e.Kind switch
        {
            EventKind.FloorBounce => "bounces off the floor",
            EventKind.LeftWall => "hits the left wall",
            EventKind.RightWall => "hits the right wall",
            EventKind.Ceiling => "hits the ceiling",
            EventKind.Collision => "collides with the " + scene.Bodies[e.Other].Name,
            EventKind.Stop => "comes to rest",
            EventKind.GoesBehind => "goes behind the " + CaptionGrammar.OccluderName,
            _ => traj.Position(e.Step, e.Body).X > Centre(scene.Occluder!.Value) ? "reappears on its right side"
                                                                                  : "reappears on its left side",
        };
        return new Clause(ClauseKind.Event, e.Time, e.Time, 0, 0, text);
    }

    static double Centre(Box b) => (b.X0 + b.X1) / 2;

    /// <summary>"at the top left", "on the floor in the middle", "in the middle".</summary>
    static string StartPhrase(Scene scene, BodySpec body)
    {
        string across = Third(body.Position.X, scene.WorldWidth);
        if (body.Position.Y - body.Half.Y <= 1e-6) return "on the floor " + across;
        double v = body.Position.Y / scene.WorldHeight;
        string up = v >= 2.0 / 3 ? "top" : v < 1.0 / 3 ? "bottom" : "";
        double u = body.Position.X / scene.WorldWidth;
        string side = u < 1.0 / 3 ? "left" : u >= 2.0 / 3 ? "right" : "";
        return (up, side) switch
        {
            ("", "") => "in the middle",
            ("", _) => $"in the middle {across}",
            (_, "") => $"at the {up}",
            _ => $"at the {up} {side}",
        };
    }

    static string Third(double x, double width) =>
        x < width / 3 ? "on the left" : x >= 2 * width / 3 ? "on the right" : "in the middle";

    static string BackgroundPhrase(Background bg)
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

    static string WithArticle(string phrase) => CaptionGrammar.Article(phrase) + " " + phrase;

    static string JoinAnd(IReadOnlyList<string> items) =>
        items.Count <= 1 ? string.Concat(items) : string.Join(", ", items.Take(items.Count - 1)) + " and " + items[^1];

    static string JoinThen(IReadOnlyList<string> items) =>
        items.Count <= 1 ? string.Concat(items)
        : items.Count == 2 ? items[0] + " and then " + items[1]
        : string.Join(", ", items.Take(items.Count - 1)) + " and then " + items[^1];
}
