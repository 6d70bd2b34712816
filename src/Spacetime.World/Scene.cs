// Scene: the initial conditions of one world clip (what the seed chooses), in world units.
//
// World units. The arena is a rectangle with its origin at the bottom-left corner and y pointing up; the floor is
// y = 0. Its shorter side is always ShortSide = 10 units and its aspect ratio is the render's, so 64x64 gives a
// 10 x 10 arena, 96x64 gives 15 x 10 and 64x96 gives 10 x 15. Object sizes, speeds and gravity are in these units,
// so the same seed and aspect ratio give the same world at every pixel size, fps and frame count; another aspect
// ratio keeps every choice (scenario, objects, colours, camera, background) and scales positions to its arena.
namespace Spacetime.World;

/// <summary>A 2D vector in world units (y up).</summary>
public readonly record struct Vec2(double X, double Y)
{
    public static Vec2 operator +(Vec2 a, Vec2 b) => new(a.X + b.X, a.Y + b.Y);
    public static Vec2 operator -(Vec2 a, Vec2 b) => new(a.X - b.X, a.Y - b.Y);
    public static Vec2 operator *(double s, Vec2 a) => new(s * a.X, s * a.Y);
    public static double Dot(Vec2 a, Vec2 b) => a.X * b.X + a.Y * b.Y;
    public double Length => Math.Sqrt(X * X + Y * Y);
}

/// <summary>An axis-aligned rectangle in world units, x0 &lt; x1, y0 &lt; y1.</summary>
public readonly record struct Box(double X0, double Y0, double X1, double Y1)
{
    public double Width => X1 - X0;
    public double Height => Y1 - Y0;
    public bool Contains(double x, double y) => x >= X0 && x <= X1 && y >= Y0 && y <= Y1;
    public bool Overlaps(Box o) => X0 < o.X1 && o.X0 < X1 && Y0 < o.Y1 && o.Y0 < Y1;
}

/// <summary>What kind of story a scene tells; the mix is weighted so every checked caption word is common.</summary>
public enum ScenarioKind { Drop, Throw, Slide, Float, Collide, Occlude }

public enum CameraMotion { Still, PanLeft, PanRight, ZoomIn, ZoomOut }

public enum BackgroundPattern { Plain, Gradient, Stripes, Checker }

/// <summary>A background drawn in world space (it moves when the camera pans). Gradient: A at top, B at bottom.</summary>
public sealed record Background(BackgroundPattern Pattern, BackgroundColour A, BackgroundColour B, double Period,
                                bool Vertical);

/// <summary>One object's identity and initial state. Id: rank from left to right at t = 0, and depth order.</summary>
public sealed record BodySpec(int Id, Shape Shape, Colour Colour, SizeClass Size, Vec2 Position, Vec2 Velocity)
{
    /// <summary>Collision radius: objects collide as circles of this radius (all shapes; see Geometry).</summary>
    public double Radius => Geometry.Radius(Size);
    /// <summary>Half width and half height of the drawn shape; walls and floor use these, not the radius.</summary>
    public Vec2 Half => Geometry.HalfExtents(Shape, Radius);
    /// <summary>"large red circle".</summary>
    public string Name => CaptionGrammar.Name(Size, Colour, Shape);
}

/// <summary>
/// Initial conditions and constants of one clip. Restitution applies to walls, floor and ceiling;
/// ObjectRestitution to object pairs; Friction is the sliding (Coulomb) coefficient on the floor.
/// </summary>
public sealed record Scene(
    long Seed,
    ScenarioKind Kind,
    double WorldWidth,
    double WorldHeight,
    double Seconds,
    bool Gravity,
    double Restitution,
    double ObjectRestitution,
    double Friction,
    IReadOnlyList<BodySpec> Bodies,
    int Protagonist,
    Box? Occluder,
    CameraMotion Camera,
    Background Background)
{
    /// <summary>Gravity in world units per second squared (when on).</summary>
    public const double G = 18.0;

    /// <summary>The shorter side of every arena, in world units.</summary>
    public const double ShortSide = 10.0;

    /// <summary>The arena for a render of width x height pixels: shorter side 10 units, same aspect ratio.</summary>
    public static (double Width, double Height) ArenaFor(int width, int height) =>
        width >= height ? (ShortSide * width / height, ShortSide) : (ShortSide, ShortSide * height / width);

    /// <summary>
    /// The part of the arena the camera sees at time t (same aspect ratio as the arena).
    /// Pans: a 0.8-scale window slides across the arena's width. Zooms: the window scales between 1 and 0.7,
    /// anchored at the middle of the floor, so the floor stays at the bottom of the picture.
    /// </summary>
    public Box View(double t)
    {
        double u = Seconds > 0 ? Math.Clamp(t / Seconds, 0, 1) : 0;
        double w = WorldWidth, h = WorldHeight;
        switch (Camera)
        {
            case CameraMotion.PanLeft:
            case CameraMotion.PanRight:
            {
                double s = 0.8, travel = w * (1 - s);
                double x0 = Camera == CameraMotion.PanRight ? travel * u : travel * (1 - u);
                return new Box(x0, 0, x0 + s * w, s * h);
            }
            case CameraMotion.ZoomIn:
            case CameraMotion.ZoomOut:
            {
                double s = Camera == CameraMotion.ZoomIn ? 1 - 0.3 * u : 0.7 + 0.3 * u;
                double x0 = 0.5 * w * (1 - s);
                return new Box(x0, 0, x0 + s * w, s * h);
            }
            default:
                return new Box(0, 0, w, h);
        }
    }
}

/// <summary>Shape geometry in world units. Every shape has about the area of a circle of its radius.</summary>
internal static class Geometry
{
    public static double Radius(SizeClass size) => size switch
    {
        SizeClass.Small => 0.7,
        SizeClass.Medium => 1.0,
        _ => 1.35,
    };

    /// <summary>
    /// Half extents of the drawn shape. Square: side 1.77 r (area pi r^2). Triangle: isosceles, apex up,
    /// base 2.3 r, height 1.9 r, centred on its bounding box.
    /// </summary>
    public static Vec2 HalfExtents(Shape shape, double r) => shape switch
    {
        Shape.Circle => new Vec2(r, r),
        Shape.Square => new Vec2(0.886 * r, 0.886 * r),
        _ => new Vec2(1.15 * r, 0.95 * r),
    };

    /// <summary>Whether the offset (dx, dy) from the shape's centre lies inside it.</summary>
    public static bool Inside(Shape shape, double r, Vec2 half, double dx, double dy) => shape switch
    {
        Shape.Circle => dx * dx + dy * dy <= r * r,
        Shape.Square => Math.Abs(dx) <= half.X && Math.Abs(dy) <= half.Y,
        _ => dy >= -half.Y && dy <= half.Y && Math.Abs(dx) * 2 * half.Y <= half.X * (half.Y - dy),
    };

    /// <summary>The shape's bounding box around centre p.</summary>
    public static Box Bounds(Vec2 p, Vec2 half) => new(p.X - half.X, p.Y - half.Y, p.X + half.X, p.Y + half.Y);
}
