// Training killed for real: the CLI in its own process, sent SIGKILL, SIGTERM or SIGINT at many moments (with a
// checkpoint every step, so many of the kills land inside a checkpoint write), then resumed until it finishes. The
// final weights must equal an uninterrupted run's, bit for bit, every time. Slow: each kill costs a process start.
using System.Diagnostics;

namespace Spacetime.Tests.Cli;

public sealed class KillTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "spacetime-kill-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
    }

    static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "spacetime.dll");

    static Process Train(string dir) => Process.Start(new ProcessStartInfo("dotnet")
    {
        ArgumentList = { Cli, "train", "vae", "--recipe", "tiny", "--steps", "60", "--checkpoint-every", "1", "--out", dir },
        RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
    })!;

    static void Signal(Process p, string signal)
    {
        if (signal == "KILL") { p.Kill(); return; }
        using var kill = Process.Start("kill", ["-s", signal, p.Id.ToString()]);
        kill.WaitForExit();
    }

    [Theory, Trait("Category", "Slow")]
    [InlineData("KILL")]
    [InlineData("TERM")]
    [InlineData("INT")]
    public void KilledAtManyMoments_ResumesToTheUninterruptedWeights(string signal)
    {
        string straight = Path.Combine(root, "straight"), killed = Path.Combine(root, "killed");
        using (var p = Train(straight)) { p.WaitForExit(); Assert.Equal(0, p.ExitCode); }
        var rng = new Random(signal.Length);
        int kills = 0;
        for (int attempt = 0; attempt < 30; attempt++)
        {
            using var p = Train(killed);
            _ = p.StandardOutput.ReadToEndAsync();
            _ = p.StandardError.ReadToEndAsync();
            bool done = p.WaitForExit(rng.Next(1200, 2600));                    // process start is ~1 s of it
            if (done) { Assert.Equal(0, p.ExitCode); break; }
            Signal(p, signal);
            p.WaitForExit();
            kills++;
            if (signal != "KILL") Assert.Contains(p.ExitCode, new[] { 0, 130 });  // a graceful stop, with a checkpoint
        }
        Assert.True(kills >= 3, $"only {kills} kills landed before the run finished");
        using (var p = Train(killed)) { p.WaitForExit(); Assert.Equal(0, p.ExitCode); }   // finished: a no-op resume
        foreach (var file in new[] { "model.safetensors", "optimizer.safetensors" })
            Assert.True(File.ReadAllBytes(Spacetime.Training.Trainer.CheckpointFile(straight, file))
                            .SequenceEqual(File.ReadAllBytes(Spacetime.Training.Trainer.CheckpointFile(killed, file))),
                        $"{file} differs after {kills} {signal} kills");
        Assert.Empty(Directory.GetFiles(killed, "*.tmp*", SearchOption.AllDirectories));
    }
}
