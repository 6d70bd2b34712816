#:project ../../src/Spacetime.World/Spacetime.World.csproj
#:project ../../src/Spacetime.Data/Spacetime.Data.csproj
#:property PublishAot=false
// The data and the score of the LoRA measurement (bench/lora/run.sh): teach a model a colour it has never seen.
//   dotnet run bench/lora/clips.cs -- make OUT [COUNT] [PROMPTS]   COUNT (<= 100) training clips in OUT/data, and
//                                                                  PROMPTS held-out captions in OUT/prompts.txt
//   dotnet run bench/lora/clips.cs -- score DIR [DIR ...]         per folder of generated videos: how often the new
//                                                                  colour and the colour it replaced appear
// The world has nine object colours and no way to add one by configuration (Colour is an enum with a fixed palette,
// Vocabulary.cs), so the new colour is painted over rendered clips: every pixel of a red object, anti-aliased edges
// included, is repainted in the new colour, and every "red" in its caption and prompt becomes the new word. The colour
// is NEW_COLOUR=word=R,G,B (default olive=128,128,0, every measurement so far): olive is at least 100 RGB units from
// every object, background and occluder colour of the world, and no caption uses the word (magenta=255,0,255 is too).
// Only scenes on a plain background are used, so that a pixel's colour is exactly a blend of the object's colour and
// one known background colour: with p = a·red + (1 - a)·bg, the pixel is repainted a·new + (1 - a)·bg. Pixels that
// are not such a blend (where a red object's edge meets another object) are left as they are.
using System.Globalization;
using System.Text.RegularExpressions;
using Spacetime.Data;
using Spacetime.Media;
using Spacetime.World;

// the new colour: NEW_COLOUR=word=R,G,B in the environment (default olive=128,128,0, every figure so far)
var (NewWord, newRgb) = ParseColour(Environment.GetEnvironmentVariable("NEW_COLOUR") ?? "olive=128,128,0");
const string OldWord = "red";
var oldRgb = CaptionGrammar.Rgb(Colour.Red);
const long TrainSeeds = 7_000_000, HeldOutSeeds = 8_000_000;   // two seed ranges that no recipe's cache draws from
const int Width = 128, Height = 128, Fps = 8;                   // the shipped model's clip size and frame rate
const int MaxPrompt = 1000;                                      // `generate` takes prompts of at most this many characters

// the clips' length: the base model's training frame count (`train lora --object-weight` weighs only clips of exactly
// the model's size, length and fps); 17 frames for the shipped model v2
if (args.Length >= 2 && args[0] == "make") Make(args[1], Count(args, 2, 100), Count(args, 3, 24), Count(args, 4, 17));
else if (args.Length >= 2 && args[0] == "score") Score(args[1..]);
else
{
    Console.Error.WriteLine("usage: dotnet run bench/lora/clips.cs -- make OUT [COUNT<=100] [PROMPTS] [FRAMES] | score DIR...");
    Environment.Exit(2);
}

static (string Word, (byte R, byte G, byte B) Rgb) ParseColour(string spec)
{
    var m = Regex.Match(spec, @"^([a-z]+)=(\d+),(\d+),(\d+)$");
    if (!m.Success)
    {
        Console.Error.WriteLine($"NEW_COLOUR '{spec}': write word=R,G,B, e.g. magenta=255,0,255");
        Environment.Exit(2);
    }
    byte At(int g) => byte.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture);
    return (m.Groups[1].Value, (At(2), At(3), At(4)));
}

static int Count(string[] args, int at, int fallback) =>
    args.Length > at ? int.Parse(args[at], CultureInfo.InvariantCulture) : fallback;

// the training clips and the held-out captions (those `generate` takes), from scenes on a plain background with at
// least one red object
void Make(string outDir, int count, int prompts, int frames)
{
    double seconds = frames / (double)Fps;
    if (count is < 1 or > 100) throw new ArgumentException($"COUNT {count}: 1 to 100 clips");
    using (var writer = new DatasetWriter(Path.Combine(outDir, "data")))
        foreach (var settings in Scenes(TrainSeeds, seconds).Take(count))
        {
            var clip = WorldClip.Render(settings);
            var bg = CaptionGrammar.Rgb(WorldClip.SceneFor(settings).Background.A);
            writer.Add(Repaint(clip.Frames, bg), Rename(clip.Caption), Rename(clip.Prompt),
                       Rename(clip.Truth.ToJson()));                // the boxes, for `train lora --object-weight`
        }
    File.WriteAllLines(Path.Combine(outDir, "prompts.txt"),
                       Scenes(HeldOutSeeds, seconds).Select(s => Rename(WorldClip.Describe(s).Caption))
                           .Where(c => c.Length <= MaxPrompt).Take(prompts));
    Console.WriteLine($"{count} clips in {Path.Combine(outDir, "data")}, {prompts} held-out captions in " +
                      $"{Path.Combine(outDir, "prompts.txt")} ('{OldWord}' painted and written as '{NewWord}')");
}

static IEnumerable<ClipSettings> Scenes(long first, double seconds)
{
    for (long seed = first; ; seed++)
    {
        var settings = new ClipSettings(seed, Width, Height, seconds, Fps);
        var scene = WorldClip.SceneFor(settings);
        if (scene.Background.Pattern == BackgroundPattern.Plain && scene.Bodies.Any(b => b.Colour == Colour.Red))
            yield return settings;
    }
}

// "a red ball" -> "an olive ball", "The large red circle" -> "The large olive circle" (with the default word)
string Rename(string text)
{
    string article = "aeiou".Contains(NewWord[0]) ? "n" : "";
    return Regex.Replace(Regex.Replace(text, $@"\b([Aa]) {OldWord}\b", m => $"{m.Groups[1].Value}{article} {NewWord}"),
                         $@"\b{OldWord}\b", NewWord);
}

// every pixel that is a blend a·red + (1 - a)·bg (to within a few RGB units) becomes a·new + (1 - a)·bg
Frames Repaint(Frames frames, (byte R, byte G, byte B) bg)
{
    const double MaxOffLine = 6;                         // RGB units off the bg-red segment still counted as a blend
    var rgb = (byte[])frames.Rgb.Clone();
    double ur = oldRgb.R - bg.R, ug = oldRgb.G - bg.G, ub = oldRgb.B - bg.B, uu = ur * ur + ug * ug + ub * ub;
    for (int i = 0; i < rgb.Length; i += 3)
    {
        double dr = rgb[i] - bg.R, dg = rgb[i + 1] - bg.G, db = rgb[i + 2] - bg.B;
        double a = Math.Clamp((dr * ur + dg * ug + db * ub) / uu, 0, 1);
        double off = Math.Sqrt(Sq(dr - a * ur) + Sq(dg - a * ug) + Sq(db - a * ub));
        if (a < 0.05 || off > MaxOffLine) continue;
        rgb[i] = (byte)Math.Round(bg.R + a * (newRgb.R - bg.R));
        rgb[i + 1] = (byte)Math.Round(bg.G + a * (newRgb.G - bg.G));
        rgb[i + 2] = (byte)Math.Round(bg.B + a * (newRgb.B - bg.B));
    }
    return new Frames(frames.Count, frames.Height, frames.Width, frames.Fps, rgb);
}

static double Sq(double x) => x * x;

// Per folder: the share of videos in which the new colour (or the old) shows, i.e. at least 0.2% of the pixels lie
// within 40 RGB units of it in at least half of the frames, and the mean share of such pixels.
void Score(string[] dirs)
{
    const double Near = 40, MinShare = 0.002;
    Console.WriteLine($"| videos | n | {NewWord} shows | {OldWord} shows | mean {NewWord} pixels |");
    Console.WriteLine("|---|---|---|---|---|");
    foreach (var dir in dirs)
    {
        var files = Directory.GetFiles(dir).Where(VideoFile.IsVideoPath).Order().ToList();
        int showsNew = 0, showsOld = 0;
        double newPixels = 0;
        foreach (var file in files)
        {
            var video = VideoFile.Read(file);
            var (framesNew, framesOld, share) = (0, 0, 0.0);
            for (int t = 0; t < video.Count; t++)
            {
                var f = video.Frame(t);
                int n = 0, o = 0;
                for (int i = 0; i < f.Length; i += 3)
                {
                    if (Distance(f, i, newRgb) < Near) n++;
                    if (Distance(f, i, oldRgb) < Near) o++;
                }
                int pixels = f.Length / 3;
                share += n / (double)pixels / video.Count;
                if (n >= MinShare * pixels) framesNew++;
                if (o >= MinShare * pixels) framesOld++;
            }
            if (2 * framesNew >= video.Count) showsNew++;
            if (2 * framesOld >= video.Count) showsOld++;
            newPixels += share / files.Count;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {dir} | {files.Count} | {showsNew}/{files.Count} | {showsOld}/{files.Count} | {100 * newPixels:0.00}% |"));
    }
}

static double Distance(Span<byte> f, int i, (byte R, byte G, byte B) c) =>
    Math.Sqrt(Sq(f[i] - c.R) + Sq(f[i + 1] - c.G) + Sq(f[i + 2] - c.B));
