#:project ../../src/Spacetime.Cli/Spacetime.Cli.csproj
#:property PublishAot=false
// How well does a model denoise what it is shown? For held-out world clips (eval's scene family, other indices) it
// runs video-to-video (SDEdit: the clip's latents noised to t = strength, then sampled back with the clip's own
// dense caption, so that the text asks for what the clip shows, background included) and prints, per strength (0: the VAE's round trip alone, the ceiling):
//   PSNR     the result against the clip (dB);
//   shape    of the objects the eval's finder sees in the clip and in the result (same colour, same frame, whole and
//            large enough to tell), the share whose shape guess agrees: 1 = every outline kept;
//   speckle  the share of the clip's flat background pixels (no object of any colour within 3 px) that the result
//            changes by more than 24 levels (summed over RGB): stray colour, 0 = a clean background.
// A denoiser that works returns a clip noised to t = 0.2 nearly untouched; the shipped model (stage 6) turns circles
// into blobs and sprinkles the background already from t = 0.3 (docs/model-v2.md).
//   dotnet run bench/probe/denoise.cs -- MODEL_DIR [CLIPS=16] [STRENGTHS=0,0.2,0.3,0.5,0.7,0.9]
using Spacetime.Data;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Pipelines;
using Spacetime.World;

if (args.Length is < 1 or > 3 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: dotnet run bench/probe/denoise.cs -- MODEL_DIR [CLIPS] [STRENGTHS, comma-separated]");
    Environment.Exit(2);
}
int clips = args.Length > 1 ? int.Parse(args[1]) : 16;
var model = TextVideoModel.Load(args[0]);
var generator = new Generator(model);
var settings = new EvalSettings(Prompts: clips, Seed: 7_000_000, Width: 128, Height: 128, Seconds: 2.125, Fps: 8);
double[] strengths = args.Length > 2
    ? args[2].Split(',').Select(x => double.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToArray()
    : [0, 0.2, 0.3, 0.5, 0.7, 0.9];
Console.WriteLine($"{args[0]}: {clips} clips, 128x128 x 17, 25 steps, guidance 4");
Console.WriteLine("| strength (0: codec) | PSNR dB | shape kept | speckle |");
Console.WriteLine("|---|---|---|---|");
foreach (double s in strengths)
{
    double psnr = 0, speckle = 0;
    int agree = 0, compared = 0;
    for (int i = 0; i < clips; i++)
    {
        var c = settings.Clip(i);
        var clip = WorldClip.Render(c);
        var video = s == 0 ? model.Latents.Decode(model.Latents.Encode(clip.Frames), c.Fps)   // the codec alone
            : generator.Generate(new GenerationRequest(clip.Caption)
            {
                ExpandPrompt = false,
                Width = c.Width, Height = c.Height, Frames = clip.Frames.Count, Fps = c.Fps, Seed = (ulong)i,
                Condition = Conditioning.Edit(clip.Frames, s),
            }).Video;
        psnr += Fidelity.Psnr(video, clip.Frames);
        for (int k = 0; k < clip.Frames.Count; k++)
        {
            var truth = ObjectFinder.Find(clip.Frames, k).Where(b => b.Shape is not null).ToList();
            var found = ObjectFinder.Find(video, k).ToDictionary(b => b.Colour);
            foreach (var b in truth)
            {
                compared++;
                if (found.TryGetValue(b.Colour, out var f) && f.Shape == b.Shape) agree++;
            }
        }
        speckle += Speckle(clip.Frames, video);
    }
    Console.WriteLine($"| {s:0.0} | {psnr / clips:F2} | {(double)agree / Math.Max(1, compared):F2} ({compared}) | {speckle / clips:P1} |");
}

// share of background pixels (no found object's box within 3 px) changed by more than 24 levels over RGB
static double Speckle(Frames truth, Frames video)
{
    long flat = 0, changed = 0;
    for (int k = 0; k < truth.Count; k++)
    {
        var boxes = ObjectFinder.Find(truth, k);
        ReadOnlySpan<byte> a = truth.Frame(k), b = video.Frame(k);
        for (int y = 0; y < truth.Height; y++)
            for (int x = 0; x < truth.Width; x++)
            {
                if (boxes.Any(o => x >= o.X0 - 3 && x <= o.X1 + 3 && y >= o.Y0 - 3 && y <= o.Y1 + 3)) continue;
                int i = 3 * (y * truth.Width + x);
                flat++;
                if (Math.Abs(a[i] - b[i]) + Math.Abs(a[i + 1] - b[i + 1]) + Math.Abs(a[i + 2] - b[i + 2]) > 24) changed++;
            }
    }
    return (double)changed / Math.Max(1, flat);
}
