// Prompt expansion through an OpenAI-compatible LLM: the request it sends, the caption it takes, and every failure
// (HTTP errors, time-outs, answers that are not captions) falling back to the built-in expander with a note; then the
// whole path through `generate --expand llm` against a real local HTTP endpoint.
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Spacetime.Pipelines;
using Spacetime.Tests.Cli;
using Spacetime.Training;
using Spacetime.World;

namespace Spacetime.Tests.Pipelines;

public sealed class PromptExpansionTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), "spacetime-llm-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
    }

    // answers every request with `reply` (status, body) after `delay`, and keeps the last request
    sealed class FakeLlm(HttpStatusCode status, string body, TimeSpan delay = default) : HttpMessageHandler
    {
        public HttpRequestMessage? Request;
        public string? RequestBody;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            Request = request;
            RequestBody = await request.Content!.ReadAsStringAsync(ct);
            if (delay > TimeSpan.Zero) await Task.Delay(delay, ct);
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }

        protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken ct) =>
            SendAsync(request, ct).GetAwaiter().GetResult();
    }

    static string Completion(string content) =>
        new JsonObject { ["choices"] = new JsonArray(new JsonObject
        {
            ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = content },
        }) }.ToJsonString();

    static readonly LlmExpanderConfig Config = new(new Uri("http://llm.local/v1"), "tiny-llm", ApiKey: "sk-test");

    [Fact]
    public void Success_SendsAChatCompletionWithStyleExamples_AndTakesTheCaption()
    {
        var fake = new FakeLlm(HttpStatusCode.OK, Completion("  A video of one object on a plain black background.\n  "));
        var notes = new List<string>();
        string caption = new LlmPromptExpander(Config, fake).Expand("a red ball", notes);
        Assert.Equal("A video of one object on a plain black background.", caption);
        Assert.Equal("http://llm.local/v1/chat/completions", fake.Request!.RequestUri!.ToString());
        Assert.Equal(HttpMethod.Post, fake.Request.Method);
        Assert.Equal("Bearer sk-test", fake.Request.Headers.Authorization!.ToString());
        var body = JsonNode.Parse(fake.RequestBody!)!;
        Assert.Equal("tiny-llm", body["model"]!.GetValue<string>());
        Assert.Equal("system", body["messages"]![0]!["role"]!.GetValue<string>());
        string system = body["messages"]![0]!["content"]!.GetValue<string>();
        Assert.Equal(6, system.Split("Prompt: ").Length - 1);                     // six world examples
        Assert.Contains("Caption: A video of", system);
        Assert.Equal("a red ball", body["messages"]![1]!["content"]!.GetValue<string>());
        Assert.Contains(notes, n => n.Contains("expanded by tiny-llm at llm.local"));
    }

    [Theory]
    [InlineData(500, "{}", "HTTP 500")]
    [InlineData(200, "not json at all", "")]
    [InlineData(200, "{\"choices\": []}", "not a chat completion")]
    [InlineData(200, "{\"choices\": [{\"message\": {\"content\": 42}}]}", "")]
    [InlineData(200, "EMPTY", "empty")]
    [InlineData(200, "LONG", "over 2000")]
    public void BadAnswer_FallsBackToTheBuiltInExpander_AndSaysWhy(int status, string body, string why)
    {
        body = body switch { "EMPTY" => Completion("   "), "LONG" => Completion(new string('a', 2500)), _ => body };
        var notes = new List<string>();
        string caption = new LlmPromptExpander(Config, new FakeLlm((HttpStatusCode)status, body)).Expand("a red ball", notes);
        Assert.Equal(PromptExpander.Expand("a red ball"), caption);
        var note = Assert.Single(notes);
        Assert.Contains("failed", note);
        Assert.Contains("used the built-in expander", note);
        Assert.Contains(why, note);
    }

    [Fact]
    public void NoAnswerInTime_FallsBack()
    {
        var slow = new FakeLlm(HttpStatusCode.OK, Completion("late"), TimeSpan.FromSeconds(5));
        var notes = new List<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string caption = new LlmPromptExpander(Config with { TimeoutSeconds = 0.2 }, slow).Expand("a blue square", notes);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(4), "the time-out was not honoured");
        Assert.Equal(PromptExpander.Expand("a blue square"), caption);
        Assert.Contains("no answer within 0.2 s", Assert.Single(notes));
    }

    [Fact]
    public async Task Generate_ExpandLlm_UsesALocalEndpointsCaption()
    {
        // a real HTTP endpoint on 127.0.0.1 answering one chat completion
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        string? path = null;
        var server = Task.Run(() =>
        {
            var ctx = listener.GetContext();
            path = ctx.Request.Url!.AbsolutePath;
            var bytes = Encoding.UTF8.GetBytes(Completion("A video of one object. The small green square slides to the left."));
            ctx.Response.ContentType = "application/json";
            ctx.Response.OutputStream.Write(bytes);
            ctx.Response.Close();
        });
        string model = Path.Combine(dir, "model");
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(model);
        var (code, stdout, err) = CliTests.Run("generate", "a green square", "--model", model, "--steps", "2",
                                               "--expand", "llm", "--llm-url", $"http://127.0.0.1:{port}/v1",
                                               "--out", Path.Combine(dir, "x.gif"));
        Assert.True(code == 0, err);
        await server.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("/v1/chat/completions", path);
        Assert.Contains("The small green square slides to the left.", stdout);
        Assert.Contains("prompt expanded by gpt-4o-mini at 127.0.0.1", stdout);
    }

    [Theory]
    [InlineData(new[] { "--expand", "llm" }, "--llm-url")]
    [InlineData(new[] { "--expand", "gpt" }, "builtin, llm or none")]
    [InlineData(new[] { "--expand", "llm", "--llm-url", "ftp://x/v1" }, "http(s)")]
    [InlineData(new[] { "--llm-url", "http://x/v1" }, "--expand llm")]
    public void Generate_BadExpandOptions_OneLineAndExit2(string[] options, string mention) =>
        CliTests.AssertOneLineError(["generate", "a red ball", .. options, "--out", Path.Combine(Path.GetTempPath(), "x.gif")],
                                    mention);
}
