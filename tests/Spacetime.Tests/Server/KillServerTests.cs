// `spacetime serve` killed for real: the CLI in its own process with a tiny model, sent SIGKILL while a job is being
// made and others wait; a new process on the same data folder finishes every job, and no half-written file is left
// or served. Slow (two process starts, ~10 s); DurabilityTests covers the same database states in-process.
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Spacetime.Media;

namespace Spacetime.Tests.Server;

public sealed class KillServerTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>, IDisposable
{
    readonly string data = Path.Combine(Path.GetTempPath(), "spacetime-killserve-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
    }

    static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "spacetime.dll");

    // A server process on a free loopback port; returns once it says it is serving.
    (Process Process, HttpClient Http) Serve()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }
        var p = Process.Start(new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Cli, "serve", "--port", port.ToString(), "--data", data, "--model", tiny.Dir },
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        })!;
        _ = p.StandardOutput.ReadToEndAsync();
        string? line = p.StandardError.ReadLine();                       // "serving OpenAI's Videos API on ..."
        if (line?.StartsWith("serving") != true)
            Assert.Fail($"the server did not start: {line}{p.StandardError.ReadToEnd()}");
        _ = p.StandardError.ReadToEndAsync();
        return (p, new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") });
    }

    [Fact, Trait("Category", "Slow")]
    public async Task KilledWhileMakingAVideo_TheNextProcessFinishesEveryJob()
    {
        var (server, http) = Serve();
        var ids = new List<string>();
        try
        {
            for (int i = 0; i < 3; i++)
            {
                var created = await ServerHost.Ok(await http.PostAsJsonAsync("/v1/videos",
                    new { prompt = $"a ball {i}", seconds = "4", size = "32x32", steps = 40 }));
                ids.Add(created.GetProperty("id").GetString()!);
            }
            var clock = Stopwatch.StartNew();
            string status;
            while ((status = Status(await ServerHost.Ok(await http.GetAsync($"/v1/videos/{ids[0]}")))) == "queued")
            {
                Assert.True(clock.Elapsed.TotalSeconds < 30, "the first job never started");
                await Task.Delay(10);
            }
            server.Kill();                                                // SIGKILL: no chance to clean up
            Assert.Equal("in_progress", status);                          // (a job takes ~1.5 s; polled every 10 ms)
            server.WaitForExit();
        }
        finally
        {
            http.Dispose();
            server.Dispose();
        }

        (server, http) = Serve();
        try
        {
            foreach (var id in ids)
            {
                var clock = Stopwatch.StartNew();
                JsonElement video;
                while (Status(video = await ServerHost.Ok(await http.GetAsync($"/v1/videos/{id}"))) is not ("completed" or "failed"))
                {
                    Assert.True(clock.Elapsed.TotalSeconds < 60, $"{id} did not finish");
                    await Task.Delay(50);
                }
                Assert.True(Status(video) == "completed", video.ToString());
                string path = Path.Combine(data, $"check-{id}.mp4");
                await File.WriteAllBytesAsync(path, await http.GetByteArrayAsync($"/v1/videos/{id}/content"));
                Assert.Equal(32, VideoFile.Read(path).Count);
            }
        }
        finally
        {
            server.Kill();
            server.WaitForExit();
            http.Dispose();
            server.Dispose();
        }
        Assert.Empty(Directory.GetFiles(Path.Combine(data, "videos"), "*.tmp*", SearchOption.AllDirectories));
    }

    static string Status(JsonElement video) => video.GetProperty("status").GetString()!;
}
