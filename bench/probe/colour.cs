#:project ../../src/Spacetime.Pipelines/Spacetime.Pipelines.csproj
#:property PublishAot=false
// Does a model hear the colour word? For one dense caption and the same caption with "red" replaced by "blue":
//   1) the text encoder's output tokens: rms of the difference against the rms of the tokens;
//   2) the DiT's velocity prediction on one noised world clip at t = 0.9, 0.6, 0.3: rms of (red - blue) against rms of
//      (red - empty caption), i.e. how much the colour word moves the prediction compared with the whole caption.
//   dotnet run bench/probe/colour.cs -- MODEL_DIR
// Measured (session 27), text red - blue / prediction ratios: the shipped pixel model 0.30 / 0.41-0.97; model v2 after
// stage 1 (runs/world-v2) 0.19 / 0.013-0.015, after the object stage 0.013 / 0.008-0.009, after 1,988 steps of stage 3
// 0.006 / 0.003: v2's DiT never used the colour word, and its text encoder then lost the distinction.
using Spacetime.Engine;
using Spacetime.Pipelines;
using Spacetime.World;

if (args.Length != 1 || !Directory.Exists(args[0]))
{
    Console.Error.WriteLine("usage: dotnet run bench/probe/colour.cs -- MODEL_DIR");
    Environment.Exit(2);
}
var m = TextVideoModel.Load(args[0]);
using var noGrad = Autograd.NoGrad();
var clip = WorldClip.Render(new ClipSettings(5, m.Config.Width, m.Config.Height, m.Config.Frames / m.Config.Fps,
                                             m.Config.Fps));
var x0 = m.Latents.Encode(clip.Frames).Unsqueeze(0);                                  // (1, C, T', h, w)
const string Red = "A video of one object on a plain dark grey background. Gravity pulls everything down. The camera " +
                   "is still. The medium red circle starts at the top left. It falls to the right and then bounces on " +
                   "the floor while moving to the right.";
string[] captions = [Red, Red.Replace("red", "blue"), ""];

static double Rms(float[] a, float[]? b = null) =>
    Math.Sqrt(a.Select((v, i) => (double)(v - (b?[i] ?? 0)) * (v - (b?[i] ?? 0))).Sum() / a.Length);

var red = m.Text.Encode(captions[0]).Tokens.ToArray();                                 // (1, L, D)
var blue = m.Text.Encode(captions[1]).Tokens.ToArray();
Console.WriteLine($"text tokens: rms {Rms(red):G3}, red - blue {Rms(red, blue):G3}");
foreach (float tv in new[] { 0.9f, 0.6f, 0.3f })
{
    using var scope = TensorScope.Begin();
    var noise = new Rng(1).Normal(x0.Shape.ToArray());
    var xt = x0 * (1 - tv) + noise * tv;                                               // rectified flow's x_t
    var t = Tensor.From([tv], 1);
    var p = captions.Select(c => m.Predict(xt, t, m.Text.Encode(c)).ToArray()).ToArray();
    Console.WriteLine($"t {tv}: prediction red - blue {Rms(p[0], p[1]):G3}, red - empty {Rms(p[0], p[2]):G3}, " +
                      $"ratio {Rms(p[0], p[1]) / Rms(p[0], p[2]):F3}");
}
