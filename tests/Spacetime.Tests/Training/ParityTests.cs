// Training parity with PyTorch (bench/parity): a 5-step run of the world VAE recipe and of the world-s DiT recipe
// is written with TrainParity and replayed by bench/parity/parity.py, which must agree on every step's loss. Slow, and
// it needs a python3 that imports torch (Debian's python3-torch at /usr/bin/python3); without one it says so and
// passes. The mirror must also refuse weights whose names it does not know with one line (exit 2). A fast test checks
// our half of the folder alone.
using System.Diagnostics;
using System.Globalization;
using Spacetime.Engine.IO;
using Spacetime.Training;
using Xunit.Abstractions;

namespace Spacetime.Tests.Training;

public sealed class ParityTests(ITestOutputHelper output) : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-parity-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    // 5 steps with weight decay on, so the decay rule (matrices only) is part of what is compared
    static readonly TrainConfig Five = new()
    {
        Steps = 5, Batch = 2, WarmupSteps = 2, WeightDecay = 0.01f, EmaDecay = 0, CheckpointEvery = 100, Seed = 1,
    };

    [Fact, Trait("Category", "Slow")]
    public void Vae_WorldRecipe_FiveStepsAgreeWithPyTorch_AndUnknownNamesAreOneLine()
    {
        if (Python() is not { } python) { output.WriteLine("skipped: no python3 that imports torch"); return; }
        string dir = Path.Combine(root, "vae");
        TrainParity.Vae(VaeRecipe.Preset("world"), Five with { Lr = 5e-4f }, Path.Combine(root, "vae-run"), dir);
        var (code, stdout, stderr) = Run(python, dir, "--float64");
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, code);

        // a renamed tensor: one line naming it on each side, exit 2
        var init = Safetensors.Read(Path.Combine(dir, "init.safetensors")).Tensors;
        var renamed = init.Select(kv => kv.Key != "decoder.conv_out.conv.bias" ? kv
            : new KeyValuePair<string, Spacetime.Engine.Tensor>("decoder.conv_out.conv.offset", kv.Value)).ToList();
        Safetensors.Write(Path.Combine(dir, "init.safetensors"), renamed);
        (code, _, stderr) = Run(python, dir);
        Assert.Equal(2, code);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("decoder.conv_out.conv.bias", line);
        Assert.Contains("decoder.conv_out.conv.offset", line);
    }

    [Fact, Trait("Category", "Slow")]
    public void Dit_WorldSRecipe_FiveStepsAgreeWithPyTorch()
    {
        if (Python() is not { } python) { output.WriteLine("skipped: no python3 that imports torch"); return; }
        string dir = Path.Combine(root, "dit");
        // the networks and draws of world-s; a small latent cache keeps the test short (it changes no tensor shape).
        // The DiT meets the plain goals (no float64 replay needed, and float64 matmuls are slow on a CPU).
        var recipe = DitRecipe.Preset("world-s") with { CacheClips = 8 };
        TrainParity.Dit(recipe, Five with { CaptionDropout = 0.5f }, Path.Combine(root, "dit-run"), dir);
        var (code, stdout, stderr) = Run(python, dir);
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, code);
    }

    // Our half alone (fast, no python): the folder holds the run's own losses and final weights, the initial
    // weights of a fresh model from the seed, one inputs file per step, and a gradient for every parameter.
    [Fact]
    public void Vae_TinyRecipe_ParityFolderHoldsTheRun()
    {
        string dir = Path.Combine(root, "tiny"), run = Path.Combine(root, "tiny-run");
        var cfg = Five with { Steps = 2 };
        var recipe = VaeRecipe.Preset("tiny");
        TrainParity.Vae(recipe, cfg, run, dir);

        var fresh = new Spacetime.Models.Vae.VideoVae(recipe.Vae, new Spacetime.Engine.Rng(cfg.Seed)).StateDict();
        var init = Safetensors.Read(Path.Combine(dir, "init.safetensors")).Tensors;
        Assert.Equal(fresh.Keys, init.Keys);
        foreach (var (k, t) in fresh) Assert.Equal(t.ToArray(), init[k].ToArray());
        Assert.Equal(fresh.Keys, Safetensors.Read(Path.Combine(dir, "grads_step1.safetensors")).Tensors.Keys);
        Assert.Equal(File.ReadAllBytes(Trainer.CheckpointFile(run, "model.safetensors")),
                     File.ReadAllBytes(Path.Combine(dir, "final.safetensors")));
        var video = Safetensors.Read(Path.Combine(dir, "inputs", "step00002.safetensors")).Tensors["m0.video"];
        Assert.Equal([2, 3, recipe.Frames, recipe.Crop, recipe.Crop], video.Shape.ToArray());

        var ours = File.ReadLines(Path.Combine(dir, "ours.csv")).Skip(1).Select(l => l.Split(',')).ToArray();
        var logged = File.ReadLines(Trainer.LossCsv(run)).Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.Equal(2, ours.Length);
        for (int i = 0; i < 2; i++)       // loss.csv rounds to 6 digits; ours.csv keeps every bit
            Assert.Equal(float.Parse(logged[i][1], CultureInfo.InvariantCulture),
                         float.Parse(ours[i][1], CultureInfo.InvariantCulture), 1e-5f);
        Assert.Throws<ArgumentException>(() => TrainParity.Vae(recipe, cfg, run, dir));   // not a new run
    }

    // bench/parity/parity.py, found by walking up from the test binaries to the repository root
    static string Script()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string path = Path.Combine(d.FullName, "bench", "parity", "parity.py");
            if (File.Exists(path)) return path;
        }
        throw new FileNotFoundException("bench/parity/parity.py not found above " + AppContext.BaseDirectory);
    }

    static (int Code, string Stdout, string Stderr) Run(string python, params string[] args)
    {
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Script());
        foreach (var a in args) info.ArgumentList.Add(a);
        using var p = Process.Start(info)!;
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }

    // Debian's python3 (which has python3-torch) first, then whatever python3 the PATH gives
    static string? Python()
    {
        foreach (var python in new[] { "/usr/bin/python3", "python3" })
            try
            {
                var info = new ProcessStartInfo(python, ["-c", "import torch"])
                {
                    RedirectStandardOutput = true, RedirectStandardError = true,
                };
                using var p = Process.Start(info)!;
                p.WaitForExit();
                if (p.ExitCode == 0) return python;
            }
            catch (System.ComponentModel.Win32Exception) { }       // not installed
        return null;
    }
}
