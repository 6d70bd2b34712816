#:project ../../src/Spacetime.Pipelines/Spacetime.Pipelines.csproj
#:property PublishAot=false
// Does a model hear the words of its caption? For one dense caption and copies with one phrase changed ("red" ->
// "blue", "circle" -> "square", "dark grey" -> "navy", ...) it prints:
//   text   rms of the change of the text encoder's output tokens (when both have as many tokens; else -);
//   t x    rms of the change of the DiT's velocity prediction on one noised world clip at time x, against the change
//          from the whole caption (the prediction for "" instead): 1 means this word moves the prediction as much as
//          the whole caption does, 0 that the model does not hear it.
// Then the colour word again with each conditioning path cut (every block's cross-attention output projection, or
// the pooled caption's MLP, zeroed): which path carries it.
//   dotnet run bench/probe/colour.cs -- MODEL_DIR
// Measured (session 28): the shipped pixel model red->blue 0.30 / t 0.9: 0.97, carried by cross-attention (0.06 with it
// cut); model v2 stage 1 (runs/world-v2) 0.19 / 0.014 and stage 3 0.006 / 0.003, while "dark grey"->"navy" moves both
// models' predictions by 0.8-0.9: v2 learned the background words and never the colour words.
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
const string Caption = "A video of one object on a plain dark grey background. Gravity pulls everything down. The " +
                       "camera is still. The medium red circle starts at the top left. It falls to the right and " +
                       "then bounces on the floor while moving to the right.";
(string From, string To)[] edits = [("red", "blue"), ("red", "green"), ("circle", "square"), ("medium", "large"),
                                    ("top left", "bottom right"), ("falls", "rises"), ("dark grey", "navy"),
                                    ("plain", "striped")];
float[] times = [1.0f, 0.9f, 0.6f, 0.3f];

static double Rms(float[] a, float[]? b = null) =>
    Math.Sqrt(a.Select((v, i) => (double)(v - (b?[i] ?? 0)) * (v - (b?[i] ?? 0))).Sum() / a.Length);

// the prediction for `caption` at time tv, on the clip noised with a fixed draw
float[] Predict(string caption, float tv)
{
    using var scope = TensorScope.Begin();
    var noise = new Rng(1).Normal(x0.Shape.ToArray());
    var xt = x0 * (1 - tv) + noise * tv;                                               // rectified flow's x_t
    return m.Predict(xt, Tensor.From([tv], 1), m.Text.Encode(caption)).ToArray();       // (1, C, T', h, w)
}
// per time: rms(pred(a) - pred(b)) / rms(pred(a) - pred(""))
double[] Ratios(string a, string b) => times.Select(tv =>
{
    var (pa, pb, pe) = (Predict(a, tv), Predict(b, tv), Predict("", tv));
    return Rms(pa, pb) / Rms(pa, pe);
}).ToArray();

Console.WriteLine($"{"edit",-26} {"text",6}  " + string.Join("  ", times.Select(t => $"t {t:F1}")));
foreach (var (from, to) in edits)
{
    string edited = Caption.Replace(from, to);
    var (ta, tb) = (m.Text.Encode(Caption).Tokens, m.Text.Encode(edited).Tokens);    // (1, L, D)
    string text = ta.Count == tb.Count ? $"{Rms(ta.ToArray(), tb.ToArray()),6:F3}" : $"{"-",6}";
    Console.WriteLine($"{from + " -> " + to,-26} {text}  " + string.Join("  ", Ratios(Caption, edited).Select(r => $"{r,5:F3}")));
}

// the colour word with one conditioning path cut at a time
var parameters = m.Dit.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter);
string blue = Caption.Replace("red", "blue");
foreach (var (path, marker) in new[] { ("cross-attention", ".cross_attn.proj."), ("pooled caption", "y_embedder.mlp.2.") })
{
    var cut = parameters.Where(p => p.Key.Contains(marker)).Select(p => p.Value).ToList();
    if (cut.Count == 0) { Console.WriteLine($"red -> blue, {path} cut: the model has no {path}"); continue; }
    var saved = cut.Select(p => p.ToArray()).ToList();
    foreach (var p in cut) p.AsSpan().Clear();
    Console.WriteLine($"red -> blue, {path} cut: " + string.Join("  ", Ratios(Caption, blue).Select(r => $"{r:F3}")));
    for (int i = 0; i < cut.Count; i++) saved[i].CopyTo(cut[i].AsSpan());
}
