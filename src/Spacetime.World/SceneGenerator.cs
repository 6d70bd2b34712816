// SceneGenerator: turns (seed, aspect ratio, duration) into a Scene through a weighted scenario mix.
//
// Draw order matters for "the same scene at every size": the scenario, object count, colours, shapes, sizes,
// camera and background are drawn first, from the seed alone; positions and velocities come after, as fractions
// of the arena and of the duration. So every aspect ratio gets the same cast, placed in its own arena.
namespace Spacetime.World;

internal static class SceneGenerator
{
    /// <summary>Scenario weights (relative). Throw and Collide are heavier: they carry directions and collisions.</summary>
    static readonly double[] ScenarioWeights = [2, 3, 2, 2, 3, 2];   // Drop, Throw, Slide, Float, Collide, Occlude

    static readonly double[] CameraWeights = [4, 1, 1, 1, 1];        // Still, PanLeft, PanRight, ZoomIn, ZoomOut
    static readonly double[] PatternWeights = [2, 1, 1, 1];          // Plain, Gradient, Stripes, Checker

    const double Gap = 0.3;                                          // least free space between objects at t = 0

    public static Scene Generate(long seed, int width, int height, double seconds)
    {
        var rng = new WorldRng((ulong)seed);
        var (w, h) = Scene.ArenaFor(width, height);
        double d = seconds;

        // 1) the cast, from the seed alone
        var kind = (ScenarioKind)rng.Weighted(ScenarioWeights);
        int count = kind == ScenarioKind.Collide ? 2 + rng.Int(3) : 1 + rng.Int(4);
        var colours = Enum.GetValues<Colour>();
        rng.Shuffle(colours);                                        // distinct colours: "the red one" is unique
        var cast = new (Shape Shape, Colour Colour, SizeClass Size)[count];
        for (int i = 0; i < count; i++)
            cast[i] = ((Shape)rng.Int(3), colours[i], (SizeClass)rng.Int(3));
        var camera = (CameraMotion)rng.Weighted(CameraWeights);
        var pattern = (BackgroundPattern)rng.Weighted(PatternWeights);
        var bgA = (BackgroundColour)rng.Int(4);
        var bgB = (BackgroundColour)((int)(bgA + 1 + rng.Int(3)) % 4);
        var background = new Background(pattern, bgA, bgB, rng.Uniform(1.0, 2.5), rng.Chance(0.7));
        bool extraOccluder = rng.Chance(0.2);

        // 2) the physics and initial state, by scenario
        var b = new Builder(rng, w, h, d, cast);
        switch (kind)
        {
            case ScenarioKind.Drop: b.Drop(); break;
            case ScenarioKind.Throw: b.Throw(); break;
            case ScenarioKind.Slide: b.Slide(); break;
            case ScenarioKind.Float: b.Float(); break;
            case ScenarioKind.Collide: b.Collide(); break;
            default: b.Occlude(); break;
        }
        if (extraOccluder && b.Occluder is null) b.AddBackdropOccluder();

        // 3) ids from left to right at t = 0; the id is also the depth order (higher is nearer)
        var order = Enumerable.Range(0, count).OrderBy(i => b.Pos[i].X).ThenBy(i => i).ToArray();
        var bodies = new BodySpec[count];
        int protagonist = 0;
        for (int k = 0; k < count; k++)
        {
            int i = order[k];
            bodies[k] = new BodySpec(k, cast[i].Shape, cast[i].Colour, cast[i].Size, b.Pos[i], b.Vel[i]);
            if (i == 0) protagonist = k;
        }
        return new Scene(seed, kind, w, h, d, b.Gravity, b.Restitution, b.ObjectRestitution, b.Friction, bodies,
                         protagonist, b.Occluder, camera, background);
    }

    /// <summary>Places the cast for one scenario. Body 0 is the protagonist: the one the short prompt is about.</summary>
    sealed class Builder
    {
        readonly WorldRng rng;
        readonly double w, h, d;
        readonly (Shape Shape, Colour Colour, SizeClass Size)[] cast;
        public readonly Vec2[] Pos, Vel;
        readonly bool[] placed;
        public bool Gravity = true;
        public double Restitution = 0.7, ObjectRestitution = 0.9, Friction = 0.3;
        public Box? Occluder;

        public Builder(WorldRng rng, double w, double h, double d, (Shape Shape, Colour Colour, SizeClass Size)[] cast)
        {
            (this.rng, this.w, this.h, this.d, this.cast) = (rng, w, h, d, cast);
            Pos = new Vec2[cast.Length];
            Vel = new Vec2[cast.Length];
            placed = new bool[cast.Length];
        }

        double R(int i) => Geometry.Radius(cast[i].Size);
        Vec2 Half(int i) => Geometry.HalfExtents(cast[i].Shape, R(i));

        /// <summary>Puts the centre in [x0,x1] x [y0,y1], clear of placed objects and the block (60 tries).</summary>
        void Place(int i, double x0, double x1, double y0, double y1)
        {
            var half = Half(i);
            x0 = Math.Max(x0, half.X + 0.05); x1 = Math.Min(x1, w - half.X - 0.05);
            y0 = Math.Max(y0, half.Y); y1 = Math.Min(y1, h - half.Y - 0.05);
            if (x1 < x0) x1 = x0;
            if (y1 < y0) y1 = y0;
            Vec2 p = default;
            for (int attempt = 0; attempt < 60; attempt++)
            {
                p = new Vec2(rng.Uniform(x0, x1), rng.Uniform(y0, y1));
                if (Clear(i, p)) break;
            }
            Pos[i] = p;
            placed[i] = true;
        }

        bool Clear(int i, Vec2 p)
        {
            for (int j = 0; j < Pos.Length; j++)
                if (placed[j] && (p - Pos[j]).Length < R(i) + R(j) + Gap) return false;
            return Occluder is not { } o || !Geometry.Bounds(p, Half(i)).Overlaps(o);
        }

        /// <summary>Objects let go in the upper part of the arena, with a little sideways drift.</summary>
        void Dropped(int i)
        {
            Place(i, 0, w, 0.45 * h, h);
            Vel[i] = new Vec2(rng.Uniform(-0.1, 0.1) * w / d, 0);
        }

        /// <summary>Objects moving in a straight line at a speed that crosses 30-60% of the arena in the clip.</summary>
        void Drifting(int i)
        {
            Place(i, 0, w, 0, h);
            double vx = rng.Sign() * rng.Uniform(0.2, 1), vy = rng.Chance(0.25) ? 0 : rng.Sign() * rng.Uniform(0.2, 1);
            if (rng.Chance(0.2)) (vx, vy) = (0, rng.Sign() * 1.0);
            double speed = rng.Uniform(0.3, 0.6) * Math.Min(w, h) / d, len = Math.Sqrt(vx * vx + vy * vy);
            Vel[i] = new Vec2(speed * vx / len, speed * vy / len);
        }

        public void Drop()
        {
            Restitution = rng.Uniform(0.55, 0.8);
            Friction = 0.4;
            for (int i = 0; i < cast.Length; i++) Dropped(i);
        }

        public void Throw()
        {
            Restitution = rng.Uniform(0.6, 0.85);
            Friction = 0.3;
            int dir = rng.Sign();
            Place(0, dir > 0 ? 0 : 0.7 * w, dir > 0 ? 0.3 * w : w, 0.5 * h, h);
            Vel[0] = new Vec2(dir * rng.Uniform(0.35, 0.6) * w / d, rng.Uniform(-1, 3));
            for (int i = 1; i < cast.Length; i++)
            {
                if (rng.Chance(0.5)) Dropped(i);
                else { Place(i, 0, w, 0, 0); Vel[i] = default; }     // resting on the floor
            }
        }

        public void Slide()
        {
            Restitution = 0.5;
            double t = rng.Uniform(0.5, 0.9) * d, dist = rng.Uniform(0.3, 0.6) * w;
            Friction = Math.Clamp(2 * dist / (Scene.G * t * t), 0.08, 0.8);   // stops after ~dist, at ~t
            for (int i = 0; i < cast.Length; i++)
            {
                int dir = rng.Sign();
                Place(i, dir > 0 ? 0 : 0.4 * w, dir > 0 ? 0.6 * w : w, 0, 0);
                double v = Math.Sqrt(2 * Friction * Scene.G * rng.Uniform(0.3, 0.6) * w);
                Vel[i] = new Vec2(dir * v, 0);
            }
        }

        public void Float()
        {
            Gravity = false;
            Restitution = 1;
            ObjectRestitution = 1;
            Friction = 0;
            for (int i = 0; i < cast.Length; i++) Drifting(i);
        }

        public void Collide()
        {
            Gravity = rng.Chance(0.5);
            ObjectRestitution = rng.Uniform(0.8, 1);
            Restitution = Gravity ? 0.6 : 1;
            Friction = Gravity ? 0.05 : 0;
            double y = Gravity ? 0 : rng.Uniform(0.3, 0.7) * h;
            Place(0, 0, 0.3 * w, y, y);
            Place(1, 0.7 * w, w, y, y);
            if (!Gravity) Pos[1] = Pos[1] with { Y = Pos[0].Y + rng.Uniform(-0.5, 0.5) * R(0) };
            double gap = Math.Abs(Pos[1].X - Pos[0].X) - R(0) - R(1);
            double closing = gap / (rng.Uniform(0.3, 0.5) * d);
            double share = rng.Uniform(0.35, 0.65);
            int dir = Pos[1].X > Pos[0].X ? 1 : -1;
            Vel[0] = new Vec2(dir * closing * share, 0);
            Vel[1] = new Vec2(-dir * closing * (1 - share), 0);
            for (int i = 2; i < cast.Length; i++)
                if (Gravity) Dropped(i); else Drifting(i);
        }

        public void Occlude()
        {
            Gravity = rng.Chance(0.5);
            Restitution = Gravity ? 0.6 : 1;
            ObjectRestitution = 0.9;
            Friction = 0;                                            // glide behind the block at constant speed
            var half = Half(0);
            double ow = 2 * half.X + rng.Uniform(0.6, 1.6);
            double cx = rng.Uniform(0.4, 0.6) * w;
            double y;
            if (Gravity)
            {
                Occluder = new Box(cx - ow / 2, 0, cx + ow / 2, rng.Uniform(0.45, 0.7) * h);
                y = half.Y;
            }
            else
            {
                double oh = 2 * half.Y + rng.Uniform(1, 3), cy = rng.Uniform(0.35, 0.65) * h;
                Occluder = new Box(cx - ow / 2, cy - oh / 2, cx + ow / 2, cy + oh / 2);
                y = cy;
            }
            var o = Occluder.Value;
            int dir = rng.Sign();
            double room = dir > 0 ? o.X0 - half.X - 0.3 : w - o.X1 - half.X - 0.3;
            double x = dir > 0 ? rng.Uniform(half.X + 0.1, Math.Max(half.X + 0.1, room))
                               : w - rng.Uniform(half.X + 0.1, Math.Max(half.X + 0.1, room));
            Pos[0] = new Vec2(x, y);
            placed[0] = true;
            double end = dir > 0 ? o.X1 + half.X + 0.5 : o.X0 - half.X - 0.5;   // fully out on the far side
            Vel[0] = new Vec2((end - x) / (rng.Uniform(0.55, 0.8) * d), 0);
            for (int i = 1; i < cast.Length; i++)
                if (Gravity) Dropped(i); else Drifting(i);
        }

        /// <summary>A block in the foreground of a scene about something else (20% of other scenes).</summary>
        public void AddBackdropOccluder()
        {
            double ow = rng.Uniform(1.5, 3), cx = rng.Uniform(0.25, 0.75) * w;
            var o = Gravity ? new Box(cx - ow / 2, 0, cx + ow / 2, rng.Uniform(0.3, 0.6) * h)
                            : new Box(cx - ow / 2, 0.3 * h, cx + ow / 2, 0.7 * h);
            for (int i = 0; i < Pos.Length; i++)
                if (Geometry.Bounds(Pos[i], Half(i)).Overlaps(o)) return;   // never start an object hidden
            Occluder = o;
        }
    }
}
