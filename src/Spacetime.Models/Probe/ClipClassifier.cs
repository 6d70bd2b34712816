// ClipClassifier: a small 3-D convolutional network that reads world clips (the protagonist's colour and shape, the
// object count, the direction of motion; World.ClipLabels) so that its pooled features can measure how close a set of
// generated videos is to the simulator's (the Fréchet video distance, Eval/VideoDistance.cs). FVD proper uses an I3D
// network trained on Kinetics; nothing pretrained can be downloaded here, so the feature network is trained on the
// world itself, which is also the only domain our videos come from.
//   x (B, 3, Frames, Side, Side) in [-1, 1]
//   conv 3x3x3 stride (1, 2, 2) -> GELU -> conv stride 2 -> GELU -> conv stride 2 -> GELU    (B, C3, T/4, S/8, S/8)
//   mean over time and space -> features (B, C3)  -> Linear -> logits of every label head, concatenated
// A folder on disk: config.json (ClipClassifierConfig) + model.safetensors.
using System.Text.Json;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Nn;

namespace Spacetime.Models.Probe;

/// <summary>The classifier's shape: input side and frames, conv widths, and the label heads' class counts.</summary>
public sealed record ClipClassifierConfig
{
    /// <summary>Input frames are resized to Side x Side.</summary>
    public int Side { get; init; } = 64;
    /// <summary>Frames taken from a clip, evenly spaced.</summary>
    public int Frames { get; init; } = 8;
    /// <summary>Channels of the three convolutions; the last is the feature width.</summary>
    public int[] Channels { get; init; } = [32, 64, 128];
    /// <summary>Classes of each label head.</summary>
    public int[] Classes { get; init; } = [9, 3, 4, 3, 3];

    /// <summary>Feature width.</summary>
    public int Features => Channels[^1];

    /// <summary>Throws ArgumentException naming a bad value.</summary>
    public void Validate()
    {
        if (Side < 8 || Side % 8 != 0 || Frames < 4 || Channels.Length != 3 || Channels.Any(c => c < 1) ||
            Classes.Length == 0 || Classes.Any(c => c < 2))
            throw new ArgumentException($"ClipClassifierConfig: side {Side} (a multiple of 8), frames {Frames} (>= 4), " +
                                        $"three positive widths [{string.Join(", ", Channels)}] and heads of >= 2 " +
                                        $"classes [{string.Join(", ", Classes)}] needed");
    }
}

/// <summary>The world-clip classifier (see the file header).</summary>
public sealed class ClipClassifier : Module
{
    /// <summary>Its configuration.</summary>
    public ClipClassifierConfig Config { get; }

    readonly Conv3d c1, c2, c3;
    readonly Linear head;

    /// <summary>A freshly initialised classifier.</summary>
    public ClipClassifier(ClipClassifierConfig config, ulong seed = 0)
    {
        config.Validate();
        Config = config;
        var rng = new Rng(seed);
        int[] c = config.Channels;
        c1 = Add("conv1", new Conv3d(3, c[0], (3, 3, 3), rng, stride: (1, 2, 2), padding: (1, 1, 1)));
        c2 = Add("conv2", new Conv3d(c[0], c[1], (3, 3, 3), rng, stride: (2, 2, 2), padding: (1, 1, 1)));
        c3 = Add("conv3", new Conv3d(c[1], c[2], (3, 3, 3), rng, stride: (2, 2, 2), padding: (1, 1, 1)));
        head = Add("head", new Linear(c[2], config.Classes.Sum(), rng));
    }

    // x: (B, 3, Frames, Side, Side) -> (B, Features)
    /// <summary>The pooled features of a batch of prepared clips.</summary>
    public Tensor Features(Tensor x)
    {
        var h = F.Gelu(c1.Forward(x));                                     // (B, C1, T, S/2, S/2)
        h = F.Gelu(c2.Forward(h));                                         // (B, C2, T/2, S/4, S/4)
        h = F.Gelu(c3.Forward(h));                                         // (B, C3, T/4, S/8, S/8)
        return F.Mean(h, [2, 3, 4]);                                       // (B, C3)
    }

    // x: (B, 3, Frames, Side, Side) -> (B, sum of Classes)
    /// <summary>The logits of every head, concatenated in Config.Classes order.</summary>
    public Tensor Logits(Tensor x) => head.Forward(Features(x));

    /// <summary>Writes config.json and model.safetensors into <paramref name="dir"/> (each whole, then renamed).</summary>
    public void Save(string dir)
    {
        Directory.CreateDirectory(dir);
        Safetensors.Write(Path.Combine(dir, "model.safetensors"), StateDict(),
                          new Dictionary<string, string> { ["format"] = "spacetime-clip-classifier" });
        string tmp = Path.Combine(dir, "config.json.tmp");
        File.WriteAllText(tmp, JsonSerializer.Serialize(Config, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(tmp, Path.Combine(dir, "config.json"), overwrite: true);
    }

    /// <summary>Reads a folder written by <see cref="Save"/>; a missing or broken folder is one line
    /// (FileNotFoundException or InvalidDataException) saying what is wrong.</summary>
    public static ClipClassifier Load(string dir)
    {
        string config = Path.Combine(dir, "config.json"), weights = Path.Combine(dir, "model.safetensors");
        foreach (var f in new[] { config, weights })
            if (!File.Exists(f))
                throw new FileNotFoundException($"classifier folder {dir}: {Path.GetFileName(f)} is missing (train one " +
                                                "with `spacetime train classifier --out DIR`)", f);
        ClipClassifier model;
        try
        {
            var c = JsonSerializer.Deserialize<ClipClassifierConfig>(File.ReadAllText(config))
                    ?? throw new JsonException("the file holds null");
            model = new ClipClassifier(c);
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{config}: not a classifier config ({e.Message})", e);
        }
        model.LoadStateDict(Safetensors.Read(weights).Tensors);
        return model;
    }
}
