#:project ../../src/Spacetime.Pipelines/Spacetime.Pipelines.csproj
#:property PublishAot=false
// Does a latent space carry an object's colour, and where? Renders world scenes with every body red, then blue, then
// red and moved 1/8 of the frame to the right, encodes each with a codec, and prints per latent channel its std (over
// the red clips) and the rms of red - blue over every latent cell; then how much of the red - blue energy sits in the
// top 5% of cells (local or spread by the encoder), and the colour change's energy against the move's.
//   dotnet run bench/probe/latent-colour.cs -- VAE_DIR|pixels4 [SCENES]
// Measured (session 28, 12 scenes): the world VAE (models/spacetime/vae) puts colour in channels 0 and 2 (red - blue
// rms 1.25 and 1.31 against stds 1.24 and 0.53; channels 3-15 under 0.05), 35-98% of it in the top 5% of cells, and
// colour/move energy 1.07; pixels4: 1.95. The VAE's latents carry colour as strongly as pixels do.
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.World;

if (args.Length is < 1 or > 2 || args[0] != "pixels4" && !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: dotnet run bench/probe/latent-colour.cs -- VAE_DIR|pixels4 [SCENES]");
    Environment.Exit(2);
}
ILatentCodec codec = args[0] == "pixels4" ? new PixelLatents(4) : new VaeLatents(VaeCheckpoint.Load(args[0]));
int scenes = args.Length > 1 ? int.Parse(args[1]) : 12;
int frames = codec.NearestFrames(16);                       // 16 in pixels, 17 for a 4x causal VAE
using var noGrad = Autograd.NoGrad();
int C = codec.Channels;
var (sum, sq, colour, move) = (new double[C], new double[C], new double[C], new double[C]);
long per = 0;
for (int s = 0; s < scenes; s++)
{
    var scene = WorldClip.SceneFor(new ClipSettings(100 + s, 128, 128, frames / 8.0, 8));
    float[] Encode(Colour c, double dx) => codec.Encode(WorldClip.RenderScene(scene with
    {
        Bodies = scene.Bodies.Select(b => b with { Colour = c, Position = b.Position + new Vec2(dx, 0) }).ToList(),
    }, 128, 128, 8, frames)).ToArray();                     // (C, T', h, w) flat
    var (red, blue, moved) = (Encode(Colour.Red, 0), Encode(Colour.Blue, 0), Encode(Colour.Red, scene.WorldWidth / 8));
    int cells = red.Length / C;
    per += cells;
    var cellColour = new double[cells];
    for (int c = 0; c < C; c++)
        for (int i = 0; i < cells; i++)
        {
            int j = c * cells + i;
            double d = red[j] - blue[j];
            (sum[c], sq[c], colour[c], move[c]) = (sum[c] + red[j], sq[c] + red[j] * red[j], colour[c] + d * d,
                                                   move[c] + (red[j] - moved[j]) * (red[j] - moved[j]));
            cellColour[i] += d * d;
        }
    var sorted = cellColour.OrderByDescending(v => v).ToArray();
    Console.WriteLine($"scene {s}: red - blue energy in the top 5% of cells {sorted.Take(cells / 20).Sum() / sorted.Sum():P0}");
}
for (int c = 0; c < C; c++)
{
    double mean = sum[c] / per, std = Math.Sqrt(sq[c] / per - mean * mean);
    Console.WriteLine($"channel {c,2}: mean {mean,7:F3}  std {std,6:F3}  red - blue rms {Math.Sqrt(colour[c] / per),6:F3}");
}
Console.WriteLine($"colour energy / move energy: {colour.Sum() / move.Sum():F2}");
