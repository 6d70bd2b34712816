// Renderer: draws a simulated clip into Frames at any width x height, fps and frame count.
//
// Painter's order: background (in world space, so a pan moves it), objects by id (higher is nearer), then the
// block in front of everything. Anti-aliasing: every pixel's coverage by a shape is measured on a 4 x 4 grid of
// sub-samples and the colour is blended by that fraction; the block is axis-aligned, so its coverage is exact.
// The world-to-pixel map only scales the camera's view (same aspect ratio as the image), so a scene looks the
// same at every size: 64x64 and 256x256 show the same picture at different resolutions.
using Spacetime.Media;

namespace Spacetime.World;

internal static class Renderer
{
    const int S = 4;                                   // sub-samples per pixel side

    /// <summary>Renders frameCount frames; frame k shows the state at time k / fps.</summary>
    public static Frames Render(Trajectory traj, int width, int height, double fps, int frameCount)
    {
        var frames = new Frames(frameCount, height, width, fps);
        var acc = new float[width * height * 3];       // (H, W, 3) colour of the frame being drawn, 0..255
        for (int k = 0; k < frameCount; k++)
        {
            double t = k / fps;
            DrawFrame(traj, traj.StepAt(t), traj.Scene.View(t), width, height, acc);
            var rgb = frames.Frame(k);
            for (int i = 0; i < acc.Length; i++) rgb[i] = (byte)(acc[i] + 0.5f);
        }
        return frames;
    }

    static void DrawFrame(Trajectory traj, int step, Box view, int width, int height, float[] acc)
    {
        var scene = traj.Scene;
        var map = new PixelMap(view, width, height);
        DrawBackground(scene.Background, scene.WorldHeight, map, acc);
        for (int i = 0; i < scene.Bodies.Count; i++)
        {
            var body = scene.Bodies[i];
            DrawShape(body, traj.Position(step, i), map, acc);
        }
        if (scene.Occluder is { } block) DrawBlock(block, map, acc);
    }

    /// <summary>World (x, y up) to pixel (px right, py down) for one view; pixel centres are at +0.5.</summary>
    internal readonly struct PixelMap(Box view, int width, int height)
    {
        public readonly Box View = view;
        public readonly int Width = width, Height = height;
        public readonly double Sx = width / view.Width, Sy = height / view.Height;   // pixels per world unit
        public double Px(double x) => (x - View.X0) * Sx;
        public double Py(double y) => (View.Y1 - y) * Sy;
        public double X(double px) => View.X0 + px / Sx;
        public double Y(double py) => View.Y1 - py / Sy;
    }

    static void DrawBackground(Background bg, double worldHeight, PixelMap map, float[] acc)
    {
        var a = CaptionGrammar.Rgb(bg.A);
        var b = CaptionGrammar.Rgb(bg.B);
        for (int py = 0; py < map.Height; py++)
            for (int px = 0; px < map.Width; px++)
            {
                float f = bg.Pattern switch                    // weight of colour A in this pixel
                {
                    BackgroundPattern.Plain => 1f,
                    BackgroundPattern.Gradient => (float)Math.Clamp(map.Y(py + 0.5) / worldHeight, 0, 1),
                    _ => PatternCoverage(bg, map, px, py),
                };
                int o = (py * map.Width + px) * 3;
                acc[o] = b.R + (a.R - b.R) * f;
                acc[o + 1] = b.G + (a.G - b.G) * f;
                acc[o + 2] = b.B + (a.B - b.B) * f;
            }
    }

    /// <summary>Fraction of the pixel's sub-samples on colour A of stripes or a checkerboard.</summary>
    static float PatternCoverage(Background bg, PixelMap map, int px, int py)
    {
        int count = 0;
        for (int sy = 0; sy < S; sy++)
            for (int sx = 0; sx < S; sx++)
            {
                long cx = (long)Math.Floor(map.X(px + (sx + 0.5) / S) / bg.Period);
                long cy = (long)Math.Floor(map.Y(py + (sy + 0.5) / S) / bg.Period);
                long cell = bg.Pattern == BackgroundPattern.Checker ? cx + cy : bg.Vertical ? cx : cy;
                if ((cell & 1) == 0) count++;
            }
        return count / (float)(S * S);
    }

    static void DrawShape(BodySpec body, Vec2 centre, PixelMap map, float[] acc)
    {
        var half = body.Half;
        double r = body.Radius;
        var (cr, cg, cb) = CaptionGrammar.Rgb(body.Colour);
        int x0 = Math.Max(0, (int)Math.Floor(map.Px(centre.X - half.X)));
        int x1 = Math.Min(map.Width - 1, (int)Math.Floor(map.Px(centre.X + half.X)));
        int y0 = Math.Max(0, (int)Math.Floor(map.Py(centre.Y + half.Y)));
        int y1 = Math.Min(map.Height - 1, (int)Math.Floor(map.Py(centre.Y - half.Y)));
        for (int py = y0; py <= y1; py++)
            for (int px = x0; px <= x1; px++)
            {
                int count = 0;
                for (int sy = 0; sy < S; sy++)
                {
                    double dy = map.Y(py + (sy + 0.5) / S) - centre.Y;
                    for (int sx = 0; sx < S; sx++)
                        if (Geometry.Inside(body.Shape, r, half, map.X(px + (sx + 0.5) / S) - centre.X, dy)) count++;
                }
                if (count == 0) continue;
                Blend(acc, (py * map.Width + px) * 3, cr, cg, cb, count / (float)(S * S));
            }
    }

    static void DrawBlock(Box block, PixelMap map, float[] acc)
    {
        var (cr, cg, cb) = CaptionGrammar.OccluderRgb;
        double bx0 = map.Px(block.X0), bx1 = map.Px(block.X1), by0 = map.Py(block.Y1), by1 = map.Py(block.Y0);
        int x0 = Math.Max(0, (int)Math.Floor(bx0)), x1 = Math.Min(map.Width - 1, (int)Math.Floor(bx1));
        int y0 = Math.Max(0, (int)Math.Floor(by0)), y1 = Math.Min(map.Height - 1, (int)Math.Floor(by1));
        for (int py = y0; py <= y1; py++)
        {
            double cy = Math.Min(py + 1, by1) - Math.Max(py, by0);        // exact 1D overlaps of pixel and block
            for (int px = x0; px <= x1; px++)
            {
                double cx = Math.Min(px + 1, bx1) - Math.Max(px, bx0);
                if (cx > 0 && cy > 0) Blend(acc, (py * map.Width + px) * 3, cr, cg, cb, (float)(cx * cy));
            }
        }
    }

    static void Blend(float[] acc, int o, byte r, byte g, byte b, float c)
    {
        acc[o] += (r - acc[o]) * c;
        acc[o + 1] += (g - acc[o + 1]) * c;
        acc[o + 2] += (b - acc[o + 2]) * c;
    }
}
