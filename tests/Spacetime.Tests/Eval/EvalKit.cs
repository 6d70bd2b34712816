// Videos for testing the evaluator: single rendered objects, and the simulator's videos spoiled in known ways.
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Tests.Eval;

internal static class EvalKit
{
    /// <summary>One still object centred at (x, y) world units, rendered as one frame.</summary>
    public static Frames Single(Shape shape, Colour colour, SizeClass size, double x, double y, int width, int height,
                                Background background)
    {
        var (w, h) = Scene.ArenaFor(width, height);
        var body = new BodySpec(0, shape, colour, size, new Vec2(x, y), default);
        var scene = new Scene(0, ScenarioKind.Float, w, h, 0.25, Gravity: false, 1, 1, 0, [body], 0, null,
                              CameraMotion.Still, background);
        return Renderer.Render(Physics.Run(scene), width, height, fps: 4, frameCount: 1);
    }

    /// <summary>Uniform random bytes.</summary>
    public static Frames Noise(ClipSettings c)
    {
        var f = new Frames(c.FrameCount, c.Height, c.Width, c.Fps);
        new Random((int)(c.Seed & 0x7FFFFFFF)).NextBytes(f.Rgb);
        return f;
    }

    /// <summary>Every pixel one background colour.</summary>
    public static Frames Blank(ClipSettings c, BackgroundColour colour = BackgroundColour.DarkGrey)
    {
        var f = new Frames(c.FrameCount, c.Height, c.Width, c.Fps);
        var (r, g, b) = CaptionGrammar.Rgb(colour);
        for (int i = 0; i < f.Rgb.Length; i += 3) (f.Rgb[i], f.Rgb[i + 1], f.Rgb[i + 2]) = (r, g, b);
        return f;
    }

    /// <summary>Each output pixel from source pixel (map(x, y)).</summary>
    public static Frames Remap(Frames f, Func<int, int, (int X, int Y)> map)
    {
        var o = new Frames(f.Count, f.Height, f.Width, f.Fps);
        for (int t = 0; t < f.Count; t++)
        {
            ReadOnlySpan<byte> src = f.Frame(t);
            var dst = o.Frame(t);
            for (int y = 0; y < f.Height; y++)
                for (int x = 0; x < f.Width; x++)
                {
                    var (sx, sy) = map(x, y);
                    src.Slice((sy * f.Width + sx) * 3, 3).CopyTo(dst.Slice((y * f.Width + x) * 3, 3));
                }
        }
        return o;
    }

    public static Frames Mirror(Frames f) => Remap(f, (x, y) => (f.Width - 1 - x, y));

    public static Frames UpsideDown(Frames f) => Remap(f, (x, y) => (x, f.Height - 1 - y));

    /// <summary>Separable Gaussian blur (edges clamped), then +-noise/2 levels of uniform noise from the seed.</summary>
    public static Frames Blur(Frames f, double sigma, double noise = 0, int seed = 1)
    {
        int r = (int)Math.Ceiling(3 * sigma);
        var k = Enumerable.Range(-r, 2 * r + 1).Select(i => Math.Exp(-i * i / (2 * sigma * sigma))).ToArray();
        double sum = k.Sum();
        for (int i = 0; i < k.Length; i++) k[i] /= sum;
        var rng = new Random(seed);
        var o = new Frames(f.Count, f.Height, f.Width, f.Fps);
        int w = f.Width, h = f.Height;
        var rows = new double[w * h * 3];                                     // (H, W, 3) after the horizontal pass
        for (int t = 0; t < f.Count; t++)
        {
            ReadOnlySpan<byte> src = f.Frame(t);
            var dst = o.Frame(t);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        double s = 0;
                        for (int i = -r; i <= r; i++) s += k[i + r] * src[(y * w + Math.Clamp(x + i, 0, w - 1)) * 3 + c];
                        rows[(y * w + x) * 3 + c] = s;
                    }
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                    {
                        double s = (rng.NextDouble() - 0.5) * noise;
                        for (int i = -r; i <= r; i++) s += k[i + r] * rows[(Math.Clamp(y + i, 0, h - 1) * w + x) * 3 + c];
                        dst[(y * w + x) * 3 + c] = (byte)Math.Clamp(Math.Round(s), 0, 255);
                    }
        }
        return o;
    }
}
