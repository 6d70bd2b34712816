// The VAE presets' published figures: parameters, forward GFLOPs per frame at 128x128, and the time of one training
// step of "world-s" at 64x64, 9 frames, batch 4 (wall and CPU time: on a shared machine the CPU time, divided by
// the cores, is the steadier figure). Slow (minutes on 2 cores); run with
//   dotnet test tests/Spacetime.Tests -c Release --filter "FullyQualifiedName~VaeFigures" \
//     --logger "console;verbosity=detailed"
using System.Diagnostics;
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Nn.Optim;
using Xunit.Abstractions;

namespace Spacetime.Tests.Models;

[Trait("Category", "Slow")]
public class VaeFiguresTests(ITestOutputHelper output)
{
    // Every conv pads "same" and strides by 2 on sizes divisible by 8, so multiply-adds scale exactly with H x W:
    // count at 16x16 and multiply by 64 for 128x128. Latent frame k >= 1 adds the same cost, so 1 + 4k frames cost
    // A + B k; per frame of a long clip is B / 4.
    [Theory]
    [InlineData("world-s")]
    [InlineData("world-s-f4")]
    [InlineData("world-b")]
    public void VaePresets_ParametersAndGflopsPerFrameAt128(string preset)
    {
        var vae = new VideoVae(VideoVaeConfig.Presets[preset], new Rng(0));
        long image = vae.CountMultiplyAdds(1, 16, 16) * 64, clip5 = vae.CountMultiplyAdds(5, 16, 16) * 64;
        double perFrame = (clip5 - image) / 4.0;
        output.WriteLine($"{preset}: {vae.ParameterCount:N0} parameters; encode+decode at 128x128: " +
                         $"image {image / 1e9:F2} GFLOPs, video {perFrame / 1e9:F2} GFLOPs per frame " +
                         $"(17 frames: {(image + 4 * (clip5 - image)) / 17.0 / 1e9:F2} per frame); " +
                         $"1 FLOP = 1 multiply-add");
        Assert.True(image > 0 && perFrame > 0);
    }

    [Fact]
    public void VaeWorldS_TrainStep_64x64x9Batch4()
    {
        var vae = new VideoVae(VideoVaeConfig.Presets["world-s"], new Rng(0));
        var video = new Rng(1).Uniform(-1f, 1f, 4, 3, 9, 64, 64);
        var opt = new AdamW(vae.NamedParameters(), lr: 1e-4f);
        var loss = new VaeLoss();
        var rng = new Rng(2);
        var times = new List<string>();
        var process = Process.GetCurrentProcess();
        for (int step = 0; step < 3; step++)
        {
            var sw = Stopwatch.StartNew();
            process.Refresh();
            var cpu = process.TotalProcessorTime;
            using (TensorScope.Begin())
            {
                var (rec, q) = vae.Forward(video, rng);
                var parts = loss.Compute(video, rec, q);
                opt.ZeroGrad();
                parts.Total.Backward();
                opt.Step();
            }
            process.Refresh();
            double cpuSeconds = (process.TotalProcessorTime - cpu).TotalSeconds;
            times.Add($"{sw.Elapsed.TotalSeconds:F1} s wall / {cpuSeconds:F1} s CPU");
        }
        output.WriteLine($"world-s train step (64x64, 9 frames, batch 4, forward + backward + AdamW), " +
                         $"{Environment.ProcessorCount} cores: {string.Join("; ", times)} " +
                         $"(the first includes JIT); load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
    }
}
