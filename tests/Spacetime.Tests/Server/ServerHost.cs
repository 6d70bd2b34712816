// Test helpers for the Videos API: a server on loopback Kestrel (a free port) over a temporary data folder, an
// HttpClient pointed at it, and FakeMaker, a stand-in model that makes solid-colour frames at once (or holds each job
// until a test lets it go), so contract tests run in milliseconds and the real model is tested apart.
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Spacetime.Media;
using Spacetime.Server;

namespace Spacetime.Tests.Server;

/// <summary>A stand-in video maker: solid frames whose colour is the seed's low byte, at the spec's size.</summary>
internal sealed class FakeMaker : IVideoMaker
{
    readonly Lock gate = new();
    readonly List<(VideoSpec Spec, VideoInputs Inputs)> made = [];

    /// <summary>While reset, every job waits at its first progress report (a "slow model").</summary>
    public ManualResetEventSlim Go { get; } = new(initialState: true);

    /// <summary>Set when a job is waiting at Go.</summary>
    public ManualResetEventSlim Waiting { get; } = new(initialState: false);

    /// <summary>When set, Make throws it (a model that fails).</summary>
    public Exception? Throw { get; set; }

    public (int Width, int Height) DefaultSize => (32, 32);
    public double Fps => 8;
    public int WindowFrames => 16;                                 // 2 s: the longest loop or connection

    /// <summary>Specs and inputs of every finished Make, in order.</summary>
    public IReadOnlyList<(VideoSpec Spec, VideoInputs Inputs)> Made { get { lock (gate) return [.. made]; } }

    int running;

    /// <summary>The most Make calls that ran at the same time.</summary>
    public int MaxConcurrent { get; private set; }

    public Frames Make(VideoSpec spec, VideoInputs inputs, IProgress<double> progress)
    {
        lock (gate) MaxConcurrent = Math.Max(MaxConcurrent, ++running);
        try { return MakeOne(spec, inputs, progress); }
        finally { lock (gate) running--; }
    }

    Frames MakeOne(VideoSpec spec, VideoInputs inputs, IProgress<double> progress)
    {
        progress.Report(0.1);
        while (!Go.IsSet)
        {
            Waiting.Set();
            Go.Wait(20);
            progress.Report(0.5);                                  // a stopping server ends the job here
        }
        if (Throw is { } e) throw e;
        int count = Math.Max(1, (int)Math.Round(spec.Duration * Fps));
        var frames = new Frames(count, spec.Height, spec.Width, Fps);
        Array.Fill(frames.Rgb, (byte)(spec.Seed & 0xFF));
        progress.Report(1);
        lock (gate) made.Add((spec, inputs));
        return frames;
    }
}

/// <summary>A running server over a temporary data folder; Restart keeps the folder.</summary>
internal sealed class ServerHost : IAsyncDisposable
{
    public string DataDir { get; }
    public IVideoMaker Maker { get; }
    public ServerConfig Config { get; }
    public VideoServer Server { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public StringWriter Log { get; } = new();

    ServerHost(IVideoMaker maker, ServerConfig config)
    {
        (Maker, Config, DataDir) = (maker, config, config.DataDir);
    }

    /// <summary>A started server; <paramref name="configure"/> changes the test defaults (port 0, fast polling).</summary>
    public static async Task<ServerHost> Start(IVideoMaker? maker = null, Func<ServerConfig, ServerConfig>? configure = null)
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-serve-" + Guid.NewGuid().ToString("N")[..8]);
        var config = new ServerConfig(dir) { Port = 0, PollInterval = TimeSpan.FromMilliseconds(100) };
        var host = new ServerHost(maker ?? new FakeMaker(), configure?.Invoke(config) ?? config);
        await host.Boot();
        return host;
    }

    /// <summary>Starts a server on the data folder (first, or again after Stop).</summary>
    public async Task Boot()
    {
        Server = VideoServer.Create(Config, Maker, new ServerLog(TextWriter.Synchronized(Log)));
        await Server.StartAsync();
        Http = new HttpClient { BaseAddress = Server.Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>Stops the server (a job in progress goes back to the queue) and starts a new one on the same data.
    /// </summary>
    public async Task Restart()
    {
        await Stop();
        await Boot();
    }

    public async Task Stop()
    {
        Http.Dispose();
        await Server.StopAsync();
        await Server.DisposeAsync();
    }

    public void UseKey(string? key) =>
        Http.DefaultRequestHeaders.Authorization = key is null ? null : new AuthenticationHeaderValue("Bearer", key);

    public async ValueTask DisposeAsync()
    {
        if (Maker is FakeMaker fake) fake.Go.Set();
        try { await Stop(); }
        catch (ObjectDisposedException) { }
        if (Directory.Exists(DataDir)) Directory.Delete(DataDir, recursive: true);
    }

    // ---- requests shaped like the SDKs' ------------------------------------------------------------------------

    public async Task<JsonElement> Create(object body)
    {
        var response = await Http.PostAsJsonAsync("/v1/videos", body);
        return await Ok(response);
    }

    public async Task<JsonElement> Get(string id) => await Ok(await Http.GetAsync($"/v1/videos/{id}"));

    /// <summary>Polls until the video is completed or failed (as the SDKs' create_and_poll does).</summary>
    public async Task<JsonElement> WaitDone(string id, int timeoutSeconds = 60)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var video = await Get(id);
            if (video.GetProperty("status").GetString() is "completed" or "failed") return video;
            if (clock.Elapsed.TotalSeconds > timeoutSeconds)
                throw new TimeoutException($"{id} still {video.GetProperty("status")} after {timeoutSeconds} s");
            await Task.Delay(25);
        }
    }

    public static async Task<JsonElement> Ok(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Checks an OpenAI error response: status, type, and (when given) param and code; returns the message.
    /// </summary>
    public static async Task<string> Error(HttpResponseMessage response, int status, string? param = null,
                                           string? code = null)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"expected {status}, got {(int)response.StatusCode}: {text}");
        var error = JsonDocument.Parse(text).RootElement.GetProperty("error");
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out var p), text);
        Assert.True(error.TryGetProperty("code", out var c), text);
        if (param is not null) Assert.Equal(param, p.GetString());
        if (code is not null) Assert.Equal(code, c.GetString());
        return error.GetProperty("message").GetString()!;
    }
}
