// Physics invariants: energy, interpenetration, walls, object permanence behind the block.
using Spacetime.World;

namespace Spacetime.Tests.World;

public class PhysicsTests
{
    static Scene Box(bool gravity, double restitution, double friction, Box? block, params BodySpec[] bodies) =>
        new(Seed: 0, Kind: ScenarioKind.Float, WorldWidth: 15, WorldHeight: 10, Seconds: 4, Gravity: gravity,
            Restitution: restitution, ObjectRestitution: restitution, Friction: friction, Bodies: bodies, Protagonist: 0,
            Occluder: block, Camera: CameraMotion.Still,
            Background: new Background(BackgroundPattern.Plain, BackgroundColour.Black, BackgroundColour.Black, 1, true));

    static double KineticEnergy(Trajectory traj, int step)
    {
        double e = 0;
        for (int i = 0; i < traj.N; i++)
        {
            var v = traj.Velocity(step, i);
            double r = traj.Scene.Bodies[i].Radius;
            e += 0.5 * r * r * Vec2.Dot(v, v);                         // mass = r^2, as in Physics
        }
        return e;
    }

    [Fact]
    public void Physics_ElasticNoGravity_KeepsKineticEnergy()
    {
        var scene = Box(gravity: false, restitution: 1, friction: 0, block: null,
            new BodySpec(0, Shape.Circle, Colour.Red, SizeClass.Large, new Vec2(3, 5), new Vec2(6, 1.5)),
            new BodySpec(1, Shape.Square, Colour.Blue, SizeClass.Small, new Vec2(7.5, 5.2), new Vec2(-4, 2)),
            new BodySpec(2, Shape.Triangle, Colour.Green, SizeClass.Medium, new Vec2(12, 3), new Vec2(-7, -3)),
            new BodySpec(3, Shape.Circle, Colour.White, SizeClass.Medium, new Vec2(9, 8), new Vec2(2, -6)));
        var traj = Physics.Run(scene);
        double e0 = KineticEnergy(traj, 0);
        int collisions = traj.Events.Count(e => e.Kind == EventKind.Collision);
        Assert.True(collisions >= 2, $"the test scene should have collisions, had {collisions / 2}");
        // Walls flip a sign and pair impulses conserve energy exactly in real arithmetic; double rounding over
        // ~1000 steps stays far below 1e-9 relative.
        for (int s = 0; s < traj.Steps; s++)
            Assert.True(Math.Abs(KineticEnergy(traj, s) - e0) <= 1e-9 * e0, $"step {s}: {KineticEnergy(traj, s)} vs {e0}");
    }

    [Fact]
    public void Physics_GeneratedScenes_NoInterpenetrationAndStayInArena()
    {
        // Objects collide as circles; after each step the overlap of any pair stays under 0.05 units (~0.3 px at 64).
        double worst = 0;
        for (int seed = 0; seed < 60; seed++)
        {
            var scene = WorldClip.SceneFor(new ClipSettings(seed, 96, 64, 3, 8));
            var traj = Physics.Run(scene);
            for (int s = 0; s < traj.Steps; s++)
                for (int i = 0; i < traj.N; i++)
                {
                    var p = traj.Position(s, i);
                    var half = scene.Bodies[i].Half;
                    Assert.InRange(p.X, half.X - 1e-9, scene.WorldWidth - half.X + 1e-9);
                    Assert.InRange(p.Y, half.Y - 1e-9, scene.WorldHeight - half.Y + 1e-9);
                    for (int j = i + 1; j < traj.N; j++)
                    {
                        double overlap = scene.Bodies[i].Radius + scene.Bodies[j].Radius - (traj.Position(s, j) - p).Length;
                        worst = Math.Max(worst, overlap);
                    }
                }
        }
        Assert.True(worst < 0.05, $"worst overlap {worst} units");
    }

    [Fact]
    public void Physics_Gravity_DroppedObjectFallsBouncesAndLands()
    {
        var scene = Box(gravity: true, restitution: 0.7, friction: 0.4, block: null,
            new BodySpec(0, Shape.Circle, Colour.Red, SizeClass.Medium, new Vec2(7, 5), new Vec2(0, 0)));
        var traj = Physics.Run(scene);
        int bounces = traj.Events.Count(e => e.Kind == EventKind.FloorBounce);
        Assert.InRange(bounces, 2, 8);
        // First impact time matches free fall from 4 units above the floor: t = sqrt(2 h / g).
        double expected = Math.Sqrt(2 * 4 / Scene.G);
        Assert.Equal(expected, traj.Events.First(e => e.Kind == EventKind.FloorBounce).Time, 0.02);
        var bounceTimes = traj.Events.Where(e => e.Kind == EventKind.FloorBounce).Select(e => e.Time).ToArray();
        for (int k = 2; k < bounceTimes.Length; k++)                   // each hop shorter than the one before
            Assert.True(bounceTimes[k] - bounceTimes[k - 1] < bounceTimes[k - 1] - bounceTimes[k - 2]);
        Assert.Equal(1.0, traj.Position(traj.Steps - 1, 0).Y, 6);    // at rest on the floor
    }

    [Fact]
    public void Physics_Friction_SlidingObjectStops()
    {
        var scene = Box(gravity: true, restitution: 0.5, friction: 0.5, block: null,
            new BodySpec(0, Shape.Square, Colour.Red, SizeClass.Medium, new Vec2(2, 0.886), new Vec2(6, 0)));
        var traj = Physics.Run(scene);
        var stop = Assert.Single(traj.Events, e => e.Kind == EventKind.Stop);
        // v^2 / (2 mu g) = 36 / 18 = 2 units, after v / (mu g) = 0.67 s.
        Assert.Equal(2.0 / 3, stop.Time, 0.02);
        Assert.Equal(4.0, traj.Position(traj.Steps - 1, 0).X, 0.05);
    }

    [Fact]
    public void Physics_Occluder_ObjectGoesBehindAndComesOutOnTheFarSide()
    {
        var block = new Box(6, 3, 9, 7);
        var scene = Box(gravity: false, restitution: 1, friction: 0, block: block,
            new BodySpec(0, Shape.Circle, Colour.Red, SizeClass.Medium, new Vec2(2, 5), new Vec2(3, 0)));
        var traj = Physics.Run(scene);
        var behind = Assert.Single(traj.Events, e => e.Kind == EventKind.GoesBehind);
        var back = Assert.Single(traj.Events, e => e.Kind == EventKind.Reappears);
        Assert.True(back.Step > behind.Step);
        Assert.True(traj.Position(behind.Step, 0).X < (block.X0 + block.X1) / 2);
        Assert.True(traj.Position(back.Step, 0).X > block.X1, "reappears on the far (right) side");

        var truth = WorldClip.Describe(new ClipSettings(0, 96, 64, 4, 8)); // a generated clip: truth is well-formed
        Assert.All(truth.Frames, f => Assert.All(f.Objects, o => Assert.InRange(o.Visible, 0, 1)));
    }

    [Fact]
    public void Physics_GeneratedOcclusion_EveryHiddenObjectIsStillThereAndReappearsAcross()
    {
        int checkedCrossings = 0;
        for (int seed = 0; seed < 200 && checkedCrossings < 5; seed++)
        {
            var scene = WorldClip.SceneFor(new ClipSettings(seed, 64, 64, 3, 8));
            if (scene.Kind != ScenarioKind.Occlude) continue;
            var traj = Physics.Run(scene);
            var block = scene.Occluder!.Value;
            double mid = (block.X0 + block.X1) / 2;
            foreach (var behind in traj.Events.Where(e => e.Kind == EventKind.GoesBehind))
            {
                var back = traj.Events.FirstOrDefault(
                    e => e.Kind == EventKind.Reappears && e.Body == behind.Body && e.Step > behind.Step);
                var v = traj.Velocity(behind.Step, behind.Body);
                if (back is null || Math.Abs(v.X) < 2 * Math.Abs(v.Y)) continue;   // only objects crossing sideways
                bool turned = traj.Events.Any(e => e.Body == behind.Body && e.Step > behind.Step && e.Step <= back.Step
                                                   && e.Kind is EventKind.Collision or EventKind.LeftWall
                                                                or EventKind.RightWall);
                if (turned) continue;
                double before = traj.Position(behind.Step, behind.Body).X - mid;
                double after = traj.Position(back.Step, behind.Body).X - mid;
                Assert.True(Math.Sign(before) == -Math.Sign(after), $"seed {seed}: body {behind.Body} came back on its side");
                checkedCrossings++;
            }
        }
        Assert.True(checkedCrossings >= 3, $"only {checkedCrossings} occlusion crossings in 200 seeds");
    }
}
