// The object finder on rendered frames: the right colours, shapes, counts and positions, blurred or not; nothing in
// noise, blank frames or washes of colour.
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.World;

namespace Spacetime.Tests.Eval;

public sealed class ObjectFinderTests
{
    [Fact]
    public void ClassifyPixel_PaletteColours_AreThemselves_BackdropsAreBackground()
    {
        foreach (var c in Enum.GetValues<Colour>())
        {
            var (r, g, b) = CaptionGrammar.Rgb(c);
            Assert.Equal((int)c, ObjectFinder.ClassifyPixel(r, g, b));
        }
        foreach (var c in Enum.GetValues<BackgroundColour>())
        {
            var (r, g, b) = CaptionGrammar.Rgb(c);
            Assert.Equal(-1, ObjectFinder.ClassifyPixel(r, g, b));
        }
        var (gr, gg, gb) = CaptionGrammar.OccluderRgb;
        Assert.Equal(-1, ObjectFinder.ClassifyPixel(gr, gg, gb));
    }

    [Theory]
    [InlineData(Colour.Yellow, BackgroundColour.Black, 0.75, (int)Colour.Yellow)]   // nearest colour would say orange
    [InlineData(Colour.Red, BackgroundColour.Navy, 0.6, (int)Colour.Red)]
    [InlineData(Colour.White, BackgroundColour.Brown, 0.7, (int)Colour.White)]
    [InlineData(Colour.Blue, BackgroundColour.DarkGrey, 0.3, -1)]                   // more backdrop than object
    public void ClassifyPixel_EdgeMixes_ReadAlongTheirMixingLine(Colour c, BackgroundColour bg, double alpha, int expected)
    {
        var (r, g, b) = CaptionGrammar.Rgb(c);
        var (br, bgg, bb) = CaptionGrammar.Rgb(bg);
        byte Mix(byte o, byte k) => (byte)Math.Round(k + alpha * (o - k));
        Assert.Equal(expected, ObjectFinder.ClassifyPixel(Mix(r, br), Mix(g, bgg), Mix(b, bb)));
    }

    [Fact]
    public void Find_DrawnSquare_ExactCentroidAreaAndBox()
    {
        var f = EvalKit.Blank(new ClipSettings(0, 40, 30, 1, 1), BackgroundColour.Navy);
        var (r, g, b) = CaptionGrammar.Rgb(Colour.Green);
        for (int y = 10; y < 18; y++)
            for (int x = 5; x < 13; x++)
                (f.Rgb[(y * 40 + x) * 3], f.Rgb[(y * 40 + x) * 3 + 1], f.Rgb[(y * 40 + x) * 3 + 2]) = (r, g, b);
        var blob = Assert.Single(ObjectFinder.Find(f, 0));
        Assert.Equal(new Blob(Colour.Green, 9, 14, 64, 5, 10, 13, 18, Shape.Square), blob);
    }

    [Theory]
    [InlineData(64, 64)]
    [InlineData(128, 128)]
    [InlineData(96, 64)]
    public void Find_RenderedScenes_RightColoursCountsShapesAndPlaces(int width, int height)
    {
        int seen = 0, shapes = 0, rightShapes = 0;
        for (int seed = 0; seed < 10; seed++)
        {
            var clip = WorldClip.Render(new ClipSettings(seed, width, height, 1, 3));
            var truth = new SceneTruth(clip.Truth, clip.Scene.Protagonist);
            for (int k = 0; k < clip.Frames.Count; k++)
            {
                var found = ObjectFinder.Find(clip.Frames, k).ToDictionary(b => b.Colour);
                for (int o = 0; o < truth.Objects; o++)
                {
                    var sight = truth.SightOf(k, o);
                    bool isFound = found.Remove(truth.Colours[o], out var blob);
                    if (sight == Sight.Unsure) continue;
                    Assert.True(isFound == (sight == Sight.Seen), $"seed {seed} frame {k} object {o}: {sight}");
                    if (!isFound) continue;
                    seen++;
                    var state = truth.State(k, o);
                    if (state.Visible < 0.999) continue;
                    var box = state.Box;                 // whole: the blob fills the true box (pixels over half covered)
                    Assert.InRange(blob!.X0 - box[0], -1.5, 1.5);
                    Assert.InRange(blob.X1 - box[2], -1.5, 1.5);
                    Assert.InRange(blob.Y1 - box[3], -1.5, 1.5);
                    Assert.InRange(blob.Y0 - box[1], -1.5, 2.5);                  // a triangle's apex is thin
                    if (truth.Shapes[o] != Shape.Triangle)
                        Assert.InRange(Math.Abs(blob.X - state.CenterPx[0]) + Math.Abs(blob.Y - state.CenterPx[1]), 0, 0.75);
                    if (blob.Shape is not { } guess) continue;
                    shapes++;
                    if (guess == truth.Shapes[o]) rightShapes++;
                }
                Assert.Empty(found);                                              // no colour the scene lacks
            }
        }
        Assert.True(seen > 40, $"only {seen} objects seen");
        Assert.True(shapes > 30 && rightShapes >= 0.95 * shapes, $"shapes right {rightShapes} of {shapes}");
    }

    /// <summary>Every shape, size and colour once, on every background pattern, at random places.</summary>
    static IEnumerable<(Shape Shape, Frames Frame)> Singles(int width, int height, int seed)
    {
        var rng = new Random(seed);
        var (w, h) = Scene.ArenaFor(width, height);
        var patterns = Enum.GetValues<BackgroundPattern>();
        int i = 0;
        foreach (var shape in Enum.GetValues<Shape>())
            foreach (var size in Enum.GetValues<SizeClass>())
                foreach (var colour in Enum.GetValues<Colour>())
                {
                    var a = (BackgroundColour)rng.Next(4);
                    var bg = new Background(patterns[i++ % patterns.Length], a, (BackgroundColour)(((int)a + 1) % 4), 1.5,
                                            rng.Next(2) == 0);
                    double x = 1.6 + rng.NextDouble() * (w - 3.2), y = 1.6 + rng.NextDouble() * (h - 3.2);
                    yield return (shape, EvalKit.Single(shape, colour, size, x, y, width, height, bg));
                }
    }

    [Theory]
    [InlineData(64, 0.0)]
    [InlineData(128, 0.0)]
    [InlineData(64, 1.0)]                                        // blurred and noisy, like a decoder's output
    public void GuessShape_RenderedSingleObjects_AtLeast90PercentRight(int size, double blur)
    {
        int total = 0, right = 0;
        foreach (var (shape, frame) in Singles(size, size, seed: 20261121))
        {
            var video = blur > 0 ? EvalKit.Blur(frame, blur, noise: 16) : frame;
            var blob = Assert.Single(ObjectFinder.Find(video, 0));
            total++;
            if (blob.Shape == shape) right++;
        }
        Assert.Equal(81, total);
        Assert.True(right >= 0.9 * total, $"{right} of {total} right");
    }

    [Fact]
    public void Find_NoiseBlankAndWash_FindNothing()
    {
        var c = new ClipSettings(3, 64, 64, 0.5, 8);
        var noise = EvalKit.Noise(c);
        var blank = EvalKit.Blank(c);
        var wash = EvalKit.Blank(c);
        var (r, g, b) = CaptionGrammar.Rgb(Colour.Red);
        for (int i = 0; i < wash.Rgb.Length / 2; i += 3) (wash.Rgb[i], wash.Rgb[i + 1], wash.Rgb[i + 2]) = (r, g, b);
        for (int t = 0; t < c.FrameCount; t++)
        {
            Assert.Empty(ObjectFinder.Find(noise, t));
            Assert.Empty(ObjectFinder.Find(blank, t));
            Assert.Empty(ObjectFinder.Find(wash, t));                         // half the frame red: not an object
        }
    }

    [Fact]
    public void Find_UpsampledNoise_FindsNothing()
    {
        // The untrained model's output in 4x pixel-space latents: noise blocks of 4 x 4 pixels.
        var rng = new Spacetime.Engine.Rng(7);
        var video = new Spacetime.Pipelines.PixelLatents(4).Decode(rng.Normal(3, 4, 8, 8), 8);   // (4, 32, 32)
        for (int t = 0; t < video.Count; t++) Assert.Empty(ObjectFinder.Find(video, t));
    }

    [Fact]
    public void MinArea_ScalesWithTheFrame_WithAFloor()
    {
        Assert.Equal(5, ObjectFinder.MinArea(32, 32));
        Assert.Equal(9, ObjectFinder.MinArea(64, 64));
        Assert.Equal(132, ObjectFinder.MinArea(256, 256));
    }
}
