// Physics: integrates a Scene at a fixed 240 Hz and records every state and event.
//
// The step is fixed in seconds, not per frame, so a clip's motion is the same at every fps: frame k shows the
// state at the step nearest to k / fps. One step: gravity, move (semi-implicit Euler), walls/floor/ceiling
// (restitution; a floor impact slower than RestSpeed lands instead of bouncing), object pairs, walls again
// (positions only), then floor friction on objects that rest on the floor.
// Events are impacts, not contacts: a collision counts only when the pair closes faster than ImpactSpeed, and an
// impact (collision, or the same wall/floor/ceiling for one object) within MergeWindow of the previous one is the
// same event, so objects pressed together under gravity do not repeat themselves in captions.
// Object-object collisions treat every shape as a circle of its collision radius (BodySpec.Radius); walls and the
// floor use the drawn shape's half extents. Impulses are along the line of centres, with masses proportional to
// r^2, and overlap is removed by moving both objects apart in inverse proportion to their masses.
// All arithmetic is IEEE double in a fixed order with no transcendental functions (only Math.Sqrt), so results
// are the same on every machine.
namespace Spacetime.World;

/// <summary>Kinds of events the simulator records.</summary>
public enum EventKind { FloorBounce, LeftWall, RightWall, Ceiling, Collision, Stop, GoesBehind, Reappears }

/// <summary>One event: at physics step Step, Body did Kind (with Other for a collision).</summary>
public sealed record WorldEvent(int Step, EventKind Kind, int Body, int Other = -1)
{
    public double Time => Step * Trajectory.Dt;
}

/// <summary>A simulated clip: the scene, every body's position at every step, and the events in order.</summary>
internal sealed class Trajectory
{
    /// <summary>Physics step in seconds.</summary>
    public const double Dt = 1.0 / 240;

    public required Scene Scene { get; init; }
    /// <summary>Stored states: steps 0..Steps-1; step s is time s * Dt.</summary>
    public required int Steps { get; init; }
    /// <summary>(Steps, N) positions, row-major: Positions[s * N + b].</summary>
    public required Vec2[] Positions { get; init; }
    /// <summary>(Steps, N) velocities.</summary>
    public required Vec2[] Velocities { get; init; }
    public required IReadOnlyList<WorldEvent> Events { get; init; }

    public int N => Scene.Bodies.Count;
    public Vec2 Position(int step, int body) => Positions[step * N + body];
    public Vec2 Velocity(int step, int body) => Velocities[step * N + body];

    /// <summary>The stored step nearest to time t.</summary>
    public int StepAt(double t) => Math.Clamp((int)Math.Round(t / Dt, MidpointRounding.AwayFromZero), 0, Steps - 1);
}

internal static class Physics
{
    /// <summary>A floor impact slower than this (units/s) lands instead of bouncing (about 1.5 px at 64 px).</summary>
    public const double RestSpeed = 3.0;
    /// <summary>Wall hits and collisions slower than this are contacts, not events.</summary>
    public const double EventSpeed = 0.3;
    /// <summary>
    /// Two objects collide (an event) only when they close faster than this (units/s) along the line of centres. Real
    /// impacts close at 1.5-15 units/s (slowest: a Float drift across 30% of a 10-unit arena in 2 s); an object
    /// resting on another under gravity gains only g * Dt = 0.075 units/s a step, and pushed stacks rarely pass 0.5.
    /// </summary>
    public const double ImpactSpeed = 0.75;
    /// <summary>Impacts of the same pair (or the same object on the same wall) closer than this (s) are one event.</summary>
    public const double MergeWindow = 0.25;
    /// <summary>The block hides this fraction: "goes behind" at HiddenAbove, "reappears" below ReappearBelow.</summary>
    public const double HiddenAbove = 0.6, ReappearBelow = 0.3;

    public static Trajectory Run(Scene scene)
    {
        var bodies = scene.Bodies;
        int n = bodies.Count;
        int steps = (int)Math.Ceiling(scene.Seconds / Trajectory.Dt - 1e-9) + 1;
        double w = scene.WorldWidth, h = scene.WorldHeight, dt = Trajectory.Dt;
        double g = scene.Gravity ? Scene.G : 0, e = scene.Restitution, eObj = scene.ObjectRestitution;

        var p = bodies.Select(b => b.Position).ToArray();
        var v = bodies.Select(b => b.Velocity).ToArray();
        var r = bodies.Select(b => b.Radius).ToArray();
        var half = bodies.Select(b => b.Half).ToArray();
        var invMass = r.Select(x => 1 / (x * x)).ToArray();
        var touching = new bool[n, n];
        int merge = (int)Math.Round(MergeWindow / dt);                    // 60 steps
        var lastHit = new int[n, n];                                       // step of the pair's last impact
        var lastWall = new int[n, 4];                                      // step of the last left/right/floor/ceiling hit
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++) lastHit[i, j] = -merge - 1;
            for (int k = 0; k < 4; k++) lastWall[i, k] = -merge - 1;
        }
        var moving = v.Select(x => x.Length > EventSpeed).ToArray();
        var positions = new Vec2[steps * n];
        var velocities = new Vec2[steps * n];
        var events = new List<WorldEvent>();
        Array.Copy(p, positions, n);
        Array.Copy(v, velocities, n);

        for (int s = 1; s < steps; s++)
        {
            for (int i = 0; i < n; i++)
            {
                v[i] = new Vec2(v[i].X, v[i].Y - g * dt);
                p[i] = p[i] + dt * v[i];
            }
            for (int i = 0; i < n; i++) Walls(i, s);
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++) Pair(i, j, s);
            for (int i = 0; i < n; i++) Clamp(i);
            for (int i = 0; i < n; i++)
            {
                bool onFloor = g > 0 && p[i].Y - half[i].Y <= 1e-9 && v[i].Y == 0;
                if (onFloor)
                {
                    double dv = scene.Friction * g * dt;
                    v[i] = new Vec2(Math.Abs(v[i].X) <= dv ? 0 : v[i].X - Math.Sign(v[i].X) * dv, 0);
                }
                double speed = v[i].Length;
                if (moving[i] && onFloor && speed == 0)
                {
                    events.Add(new WorldEvent(s, EventKind.Stop, i));
                    moving[i] = false;
                }
                else if (speed > EventSpeed) moving[i] = true;
            }
            Array.Copy(p, 0, positions, s * n, n);
            Array.Copy(v, 0, velocities, s * n, n);
        }

        var trajectory = new Trajectory
        {
            Scene = scene, Steps = steps, Positions = positions, Velocities = velocities, Events = events,
        };
        if (scene.Occluder is { } block) AddOcclusionEvents(trajectory, block, events);
        events.Sort((a, b) => a.Step != b.Step ? a.Step.CompareTo(b.Step)          // by time, then body, then kind
                            : a.Body != b.Body ? a.Body.CompareTo(b.Body) : a.Kind.CompareTo(b.Kind));
        return trajectory;

        // Walls, floor and ceiling: push inside, reflect the velocity with restitution, record the hit.
        void Walls(int i, int s)
        {
            var (x, y) = (p[i].X, p[i].Y);
            var (vx, vy) = (v[i].X, v[i].Y);
            if (x - half[i].X < 0)
            {
                x = half[i].X;
                if (vx < 0) { if (-vx > EventSpeed) Hit(i, EventKind.LeftWall, s); vx = -e * vx; }
            }
            else if (x + half[i].X > w)
            {
                x = w - half[i].X;
                if (vx > 0) { if (vx > EventSpeed) Hit(i, EventKind.RightWall, s); vx = -e * vx; }
            }
            if (y - half[i].Y < 0)
            {
                y = half[i].Y;
                if (vy < 0)
                {
                    if (g > 0 && -vy < RestSpeed) vy = 0;                  // lands
                    else
                    {
                        if (-vy > EventSpeed) Hit(i, EventKind.FloorBounce, s);
                        vy = -e * vy;
                    }
                }
            }
            else if (y + half[i].Y > h)
            {
                y = h - half[i].Y;
                if (vy > 0) { if (vy > EventSpeed) Hit(i, EventKind.Ceiling, s); vy = -e * vy; }
            }
            p[i] = new Vec2(x, y);
            v[i] = new Vec2(vx, vy);
        }

        // A wall, floor or ceiling hit is an event unless the same one was hit within the merge window.
        void Hit(int i, EventKind kind, int s)
        {
            int k = (int)kind;                                             // FloorBounce, LeftWall, RightWall, Ceiling = 0..3
            if (s - lastWall[i, k] > merge) events.Add(new WorldEvent(s, kind, i));
            lastWall[i, k] = s;
        }

        // Two circles: separate them, and if they approach, exchange an impulse along the line of centres.
        void Pair(int i, int j, int s)
        {
            var d = p[j] - p[i];
            double dist2 = Vec2.Dot(d, d), reach = r[i] + r[j];
            if (dist2 >= reach * reach) { touching[i, j] = false; return; }
            double dist = Math.Sqrt(dist2);
            var normal = dist > 1e-12 ? (1 / dist) * d : new Vec2(1, 0);
            double overlap = reach - dist, share = invMass[i] / (invMass[i] + invMass[j]);
            p[i] = p[i] - (overlap * share) * normal;
            p[j] = p[j] + (overlap * (1 - share)) * normal;
            double approach = Vec2.Dot(v[j] - v[i], normal);         // < 0 when closing
            if (approach < 0)
            {
                double impulse = -(1 + eObj) * approach / (invMass[i] + invMass[j]);
                v[i] = v[i] - (impulse * invMass[i]) * normal;
                v[j] = v[j] + (impulse * invMass[j]) * normal;
                if (!touching[i, j] && -approach > ImpactSpeed)
                {
                    if (s - lastHit[i, j] > merge)
                    {
                        events.Add(new WorldEvent(s, EventKind.Collision, i, j));
                        events.Add(new WorldEvent(s, EventKind.Collision, j, i));
                    }
                    lastHit[i, j] = s;
                }
            }
            touching[i, j] = true;
        }

        // After pairs pushed objects apart, keep them inside the arena (positions only).
        void Clamp(int i)
        {
            double x = Math.Clamp(p[i].X, half[i].X, w - half[i].X);
            double y = Math.Clamp(p[i].Y, half[i].Y, h - half[i].Y);
            p[i] = new Vec2(x, y);
        }
    }

    /// <summary>Goes-behind / reappears events from the block's coverage of each object, checked every 2 steps.</summary>
    static void AddOcclusionEvents(Trajectory traj, Box block, List<WorldEvent> events)
    {
        var bodies = traj.Scene.Bodies;
        for (int i = 0; i < bodies.Count; i++)
        {
            bool hidden = false;
            for (int s = 0; s < traj.Steps; s += 2)
            {
                double covered = Coverage.CoveredBy(bodies[i], traj.Position(s, i), block);
                if (!hidden && covered >= HiddenAbove)
                {
                    hidden = true;
                    if (s > 0) events.Add(new WorldEvent(s, EventKind.GoesBehind, i));     // not when it starts hidden
                }
                else if (hidden && covered <= ReappearBelow)
                {
                    hidden = false;
                    events.Add(new WorldEvent(s, EventKind.Reappears, i));
                }
            }
        }
    }
}

/// <summary>Area fractions on a fixed grid over the object's box, in world units (so the same at every size).</summary>
internal static class Coverage
{
    const int Grid = 16;

    /// <summary>Fraction of the object's area inside the box.</summary>
    public static double CoveredBy(BodySpec body, Vec2 centre, Box box)
    {
        var half = body.Half;
        if (!Geometry.Bounds(centre, half).Overlaps(box)) return 0;
        int inside = 0, covered = 0;
        for (int gy = 0; gy < Grid; gy++)
            for (int gx = 0; gx < Grid; gx++)
            {
                double dx = ((gx + 0.5) / Grid * 2 - 1) * half.X, dy = ((gy + 0.5) / Grid * 2 - 1) * half.Y;
                if (!Geometry.Inside(body.Shape, body.Radius, half, dx, dy)) continue;
                inside++;
                if (box.Contains(centre.X + dx, centre.Y + dy)) covered++;
            }
        return inside == 0 ? 0 : (double)covered / inside;
    }

    /// <summary>
    /// Fraction of body i's area that a viewer sees at this step: inside the camera view, not behind the block,
    /// and not behind an object drawn in front of it (higher id).
    /// </summary>
    public static double Visible(Trajectory traj, int step, int i, Box view)
    {
        var bodies = traj.Scene.Bodies;
        var body = bodies[i];
        var half = body.Half;
        var c = traj.Position(step, i);
        var bounds = Geometry.Bounds(c, half);
        var occluder = traj.Scene.Occluder;
        bool clear = view.Contains(bounds.X0, bounds.Y0) && view.Contains(bounds.X1, bounds.Y1)
                     && !(occluder is { } block && bounds.Overlaps(block));
        for (int j = i + 1; j < bodies.Count && clear; j++)
            clear = !bounds.Overlaps(Geometry.Bounds(traj.Position(step, j), bodies[j].Half));
        if (clear) return 1;                                   // nothing can hide any part of it
        int inside = 0, seen = 0;
        for (int gy = 0; gy < Grid; gy++)
            for (int gx = 0; gx < Grid; gx++)
            {
                double dx = ((gx + 0.5) / Grid * 2 - 1) * half.X, dy = ((gy + 0.5) / Grid * 2 - 1) * half.Y;
                if (!Geometry.Inside(body.Shape, body.Radius, half, dx, dy)) continue;
                inside++;
                double x = c.X + dx, y = c.Y + dy;
                if (!view.Contains(x, y)) continue;
                if (occluder is { } o && o.Contains(x, y)) continue;
                bool behind = false;
                for (int j = i + 1; j < bodies.Count && !behind; j++)
                {
                    var q = traj.Position(step, j);
                    behind = Geometry.Inside(bodies[j].Shape, bodies[j].Radius, bodies[j].Half, x - q.X, y - q.Y);
                }
                if (!behind) seen++;
            }
        return inside == 0 ? 0 : (double)seen / inside;
    }
}
