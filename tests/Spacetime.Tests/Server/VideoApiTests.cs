// The Videos API contract on loopback Kestrel with FakeMaker: what the OpenAI SDKs send and parse, every route, and
// the error objects and statuses of bad requests (and that a refused request stores nothing).
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Spacetime.Media;

namespace Spacetime.Tests.Server;

public sealed class VideoApiTests
{
    [Fact]
    public async Task Create_Poll_Content_TheWholeLifecycle()
    {
        await using var host = await ServerHost.Start();
        var created = await host.Create(new { prompt = "a red ball bounces", model = "sora-2", seconds = "1", size = "48x32" });
        string id = created.GetProperty("id").GetString()!;
        Assert.Matches("^video_[0-9a-f]{32}$", id);
        Assert.Equal("video", created.GetProperty("object").GetString());
        Assert.Equal("sora-2", created.GetProperty("model").GetString());
        Assert.Equal("1", created.GetProperty("seconds").GetString());
        Assert.Equal("48x32", created.GetProperty("size").GetString());
        Assert.Equal("a red ball bounces", created.GetProperty("prompt").GetString());
        Assert.Contains(created.GetProperty("status").GetString(), new[] { "queued", "in_progress", "completed" });
        Assert.Equal(JsonValueKind.Null, created.GetProperty("error").ValueKind);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("remixed_from_video_id").ValueKind);
        Assert.InRange(created.GetProperty("created_at").GetInt64(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 60,
                       DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);

        var done = await host.WaitDone(id);
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(100, done.GetProperty("progress").GetInt32());
        Assert.True(done.GetProperty("completed_at").GetInt64() >= created.GetProperty("created_at").GetInt64());

        var mp4 = await host.Http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.OK, mp4.StatusCode);
        Assert.Equal("video/mp4", mp4.Content.Headers.ContentType!.MediaType);
        byte[] bytes = await mp4.Content.ReadAsByteArrayAsync();
        Assert.Equal("ftyp", Encoding.ASCII.GetString(bytes, 4, 4));           // an MP4 box header
        string saved = Path.Combine(host.DataDir, "check.mp4");
        await File.WriteAllBytesAsync(saved, bytes);
        var video = VideoFile.Read(saved);
        Assert.Equal((48, 32, 8), (video.Width, video.Height, video.Count));

        // a Range request: 206 with exactly the bytes asked for
        var range = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        range.Headers.Range = new RangeHeaderValue(10, 29);
        var part = await host.Http.SendAsync(range);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(bytes[10..30], await part.Content.ReadAsByteArrayAsync());

        foreach (var variant in new[] { "thumbnail", "spritesheet" })
        {
            var image = await host.Http.GetAsync($"/v1/videos/{id}/content?variant={variant}");
            Assert.Equal("image/png", image.Content.Headers.ContentType!.MediaType);
            Assert.Equal(0x89, (await image.Content.ReadAsByteArrayAsync())[0]);
        }
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}/content?variant=gif"), 400, "variant");
    }

    [Fact]
    public async Task Create_Extensions_ReachTheModel()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        var created = await host.Create(new { prompt = "p", model = "sora-2-2025-10-06", seed = 7, negative_prompt = "blur",
                                             steps = 3, seconds = "0.5" });
        Assert.Equal("sora-2-2025-10-06", created.GetProperty("model").GetString());
        await host.WaitDone(created.GetProperty("id").GetString()!);
        var spec = Assert.Single(fake.Made).Spec;
        Assert.Equal((7UL, "blur", (int?)3, 32, 32), (spec.Seed, spec.NegativePrompt, spec.Steps, spec.Width, spec.Height));
        Assert.Equal("32x32", created.GetProperty("size").GetString());          // no size: the model's own
    }

    [Fact]
    public async Task List_PaginatesWithAfterLimitOrder()
    {
        await using var host = await ServerHost.Start();
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
            ids.Add((await host.Create(new { prompt = $"video {i}", seconds = "0.25" })).GetProperty("id").GetString()!);

        var page1 = await ServerHost.Ok(await host.Http.GetAsync("/v1/videos?limit=2&order=asc"));
        Assert.Equal("list", page1.GetProperty("object").GetString());
        Assert.Equal(ids[..2], page1.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()));
        Assert.True(page1.GetProperty("has_more").GetBoolean());
        Assert.Equal(ids[0], page1.GetProperty("first_id").GetString());
        Assert.Equal(ids[1], page1.GetProperty("last_id").GetString());
        var page3 = await ServerHost.Ok(await host.Http.GetAsync($"/v1/videos?limit=2&order=asc&after={ids[3]}"));
        Assert.Equal([ids[4]], page3.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()));
        Assert.False(page3.GetProperty("has_more").GetBoolean());

        var newest = await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"));      // default: newest first, 20
        Assert.Equal(Enumerable.Reverse(ids), newest.GetProperty("data").EnumerateArray()
                                                   .Select(v => v.GetProperty("id").GetString()));
        await ServerHost.Error(await host.Http.GetAsync("/v1/videos?limit=0"), 400, "limit");
        await ServerHost.Error(await host.Http.GetAsync("/v1/videos?order=up"), 400, "order");
        await ServerHost.Error(await host.Http.GetAsync("/v1/videos?after=video_nope"), 400, "after");
    }

    [Fact]
    public async Task Delete_RemovesTheVideoAndItsFiles()
    {
        await using var host = await ServerHost.Start();
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        await host.WaitDone(id);
        string folder = Path.Combine(host.DataDir, "videos", id);
        Assert.True(File.Exists(Path.Combine(folder, "video.mp4")));
        var deleted = await ServerHost.Ok(await host.Http.DeleteAsync($"/v1/videos/{id}"));
        Assert.Equal(id, deleted.GetProperty("id").GetString());
        Assert.Equal("video.deleted", deleted.GetProperty("object").GetString());
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        Assert.False(Directory.Exists(folder));
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}"), 404, "video_id");
        await ServerHost.Error(await host.Http.DeleteAsync($"/v1/videos/{id}"), 404);
    }

    [Fact]
    public async Task Remix_EditsTheFinishedVideo_AndPointsBackToIt()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        string id = (await host.Create(new { prompt = "a ball", seconds = "1", size = "32x48", seed = 200 }))
            .GetProperty("id").GetString()!;
        await host.WaitDone(id);
        var remix = await ServerHost.Ok(await host.Http.PostAsJsonAsync($"/v1/videos/{id}/remix", new { prompt = "a cube" }));
        string remixId = remix.GetProperty("id").GetString()!;
        Assert.NotEqual(id, remixId);
        Assert.Equal(id, remix.GetProperty("remixed_from_video_id").GetString());
        Assert.Equal("a cube", remix.GetProperty("prompt").GetString());
        Assert.Equal("32x48", remix.GetProperty("size").GetString());            // the source's size and length
        Assert.Equal("1", remix.GetProperty("seconds").GetString());
        // the source can go before the remix runs: the remix has its own copy
        await ServerHost.Ok(await host.Http.DeleteAsync($"/v1/videos/{id}"));
        Assert.Equal("completed", (await host.WaitDone(remixId)).GetProperty("status").GetString());
        var source = fake.Made[^1].Inputs.Source!;
        Assert.Equal((32, 48, 8), (source.Width, source.Height, source.Count));
        Assert.InRange(source.Rgb.Average(b => (double)b), 190, 210);           // the source's pixels (seed 200)
        await ServerHost.Error(await host.Http.PostAsJsonAsync($"/v1/videos/{id}/remix", new { prompt = "x" }), 404);
    }

    [Fact]
    public async Task Remix_OfAnUnfinishedVideo_Is409()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        fake.Go.Reset();
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        await ServerHost.Error(await host.Http.PostAsJsonAsync($"/v1/videos/{id}/remix", new { prompt = "x" }), 409);
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}/content"), 409);
        Assert.True(fake.Waiting.Wait(TimeSpan.FromSeconds(10)));
        await ServerHost.Error(await host.Http.DeleteAsync($"/v1/videos/{id}"), 409);     // a worker is making it
        fake.Go.Set();
        await host.WaitDone(id);
    }

    [Fact]
    public async Task Multipart_WithInputReference_IsImageToVideo()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        using var form = new MultipartFormDataContent
        {
            { new StringContent("a ball rolls"), "prompt" },
            { new StringContent("1"), "seconds" },
            { new StringContent("32x32"), "size" },
        };
        form.Add(Image(Png(40, 24), "image/png"), "input_reference", "first.png");
        var created = await ServerHost.Ok(await host.Http.PostAsync("/v1/videos", form));
        await host.WaitDone(created.GetProperty("id").GetString()!);
        var image = Assert.Single(fake.Made).Inputs.Image!;
        Assert.Equal((40, 24, 1), (image.Width, image.Height, image.Count));
    }

    [Theory]
    [InlineData("image/jpeg", "says image/jpeg")]        // PNG bytes that claim to be a JPEG
    [InlineData("image/png", "not an image")]            // text that claims to be a PNG
    public async Task Multipart_ImageThatLies_Is400AndStoresNothing(string contentType, string mention)
    {
        await using var host = await ServerHost.Start();
        byte[] bytes = mention == "not an image" ? Encoding.ASCII.GetBytes("#!/bin/sh\nrm -rf /\n") : Png(8, 8);
        using var form = new MultipartFormDataContent { { new StringContent("p"), "prompt" } };
        form.Add(Image(bytes, contentType), "input_reference", "../../etc/passwd.png");
        string message = await ServerHost.Error(await host.Http.PostAsync("/v1/videos", form), 400, "input_reference");
        Assert.Contains(mention, message);
        Assert.False(Directory.Exists(Path.Combine(host.DataDir, "videos")));
        Assert.Equal(0, (await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"))).GetProperty("data").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"prompt": "p", "quality": "high"}""", "quality", "unknown_parameter")]
    [InlineData("""{"prompt": "p", "size": "1280by720"}""", "size", "invalid_value")]
    [InlineData("""{"prompt": "p", "size": "4000x720"}""", "size", "invalid_value")]
    [InlineData("""{"prompt": "p", "seconds": "0"}""", "seconds", "invalid_value")]
    [InlineData("""{"prompt": "p", "seconds": "61"}""", "seconds", "invalid_value")]
    [InlineData("""{"prompt": "p", "seconds": "four"}""", "seconds", "invalid_value")]
    [InlineData("""{"prompt": "p", "seconds": 4}""", "seconds", "invalid_type")]
    [InlineData("""{"prompt": "p", "model": "dall-e-3"}""", "model", "invalid_value")]
    [InlineData("""{"prompt": "p", "model": "sora-1"}""", "model", "invalid_value")]
    [InlineData("""{"prompt": "p", "seed": -1}""", "seed", "invalid_value")]
    [InlineData("""{"prompt": "p", "seed": "x"}""", "seed", "invalid_value")]
    [InlineData("""{"prompt": "p", "steps": 0}""", "steps", "invalid_value")]
    [InlineData("""{"prompt": "p", "input_reference": "x.png"}""", "input_reference", "invalid_type")]
    [InlineData("""{"prompt": ["p"]}""", "prompt", "invalid_type")]
    [InlineData("""{"seconds": "4"}""", "prompt", "missing_required_parameter")]
    [InlineData("""{"prompt": "   "}""", "prompt", "missing_required_parameter")]
    [InlineData("""{"prompt": "p",""", null, "invalid_json")]
    [InlineData("""["p"]""", null, "invalid_json")]
    [InlineData("""{"prompt": "p", "size": "1792x1024", "seconds": "60"}""", "seconds", "invalid_value")]
    public async Task Create_BadBody_Is400NamingTheParameter(string json, string? param, string code)
    {
        await using var host = await ServerHost.Start();
        var response = await host.Http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
        await ServerHost.Error(response, 400, param, code);
        Assert.Equal(0, (await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"))).GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Create_PromptTooLong_Is400()
    {
        await using var host = await ServerHost.Start();
        var response = await host.Http.PostAsJsonAsync("/v1/videos", new { prompt = new string('a', 1001) });
        await ServerHost.Error(response, 400, "prompt", "string_above_max_length");
    }

    [Fact]
    public async Task Create_BodyOverTheLimit_Is413()
    {
        await using var host = await ServerHost.Start(configure: c => c with { MaxRequestBytes = 4096 });
        using var form = new MultipartFormDataContent { { new StringContent("p"), "prompt" } };
        form.Add(Image(new byte[20_000], "image/png"), "input_reference", "big.png");
        await ServerHost.Error(await host.Http.PostAsync("/v1/videos", form), 413);
        var json = new StringContent($$"""{"prompt": "{{new string('a', 5000)}}"}""", Encoding.UTF8, "application/json");
        await ServerHost.Error(await host.Http.PostAsync("/v1/videos", json), 413);
    }

    [Fact]
    public async Task Create_FullQueue_Is429WithRetryAfter()
    {
        var fake = new FakeMaker();
        fake.Go.Reset();
        await using var host = await ServerHost.Start(fake, c => c with { MaxQueued = 2 });
        await host.Create(new { prompt = "taken by the worker", seconds = "0.25" });
        Assert.True(fake.Waiting.Wait(TimeSpan.FromSeconds(10)));
        await host.Create(new { prompt = "queued 1", seconds = "0.25" });
        await host.Create(new { prompt = "queued 2", seconds = "0.25" });
        var full = await host.Http.PostAsJsonAsync("/v1/videos", new { prompt = "one too many" });
        await ServerHost.Error(full, 429, code: "queue_full");
        Assert.True(full.Headers.RetryAfter?.Delta?.TotalSeconds >= 1);
        fake.Go.Set();
    }

    [Fact]
    public async Task UnknownIdsAndRoutes_Are404()
    {
        await using var host = await ServerHost.Start();
        foreach (var id in new[] { "video_0123456789abcdef0123456789abcdef", "..%2F..%2Fspacetime.db", "nope" })
        {
            await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}"), 404);
            await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}/content"), 404);
        }
        await ServerHost.Error(await host.Http.GetAsync("/v1/images"), 404, code: "unknown_url");
    }

    [Fact]
    public async Task FailedGeneration_IsAFailedVideoWithItsReason()
    {
        var fake = new FakeMaker { Throw = new Spacetime.Pipelines.GenerationRequestException("too many frames") };
        await using var host = await ServerHost.Start(fake);
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        var failed = await host.WaitDone(id);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("invalid_request", failed.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("too many frames", failed.GetProperty("error").GetProperty("message").GetString());
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}/content"), 409);
    }

    [Fact]
    public async Task Health_Metrics_AndTheLog()
    {
        await using var host = await ServerHost.Start();
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        await host.WaitDone(id);
        var health = await ServerHost.Ok(await host.Http.GetAsync("/healthz"));
        Assert.Equal("ok", health.GetProperty("status").GetString());
        string metrics = await host.Http.GetStringAsync("/metrics");
        Assert.Contains("spacetime_videos{status=\"completed\"} 1\n", metrics);
        Assert.Contains("spacetime_videos{status=\"queued\"} 0\n", metrics);
        Assert.Contains("spacetime_queue_depth 0\n", metrics);
        Assert.Contains("spacetime_job_seconds_count 1\n", metrics);
        // one JSON line per request and per job state change
        var lines = host.Log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(lines, l => l.GetProperty("event").GetString() == "request"
                                    && l.GetProperty("path").GetString() == "/v1/videos"
                                    && l.GetProperty("status").GetInt32() == 200);
        var states = lines.Where(l => l.GetProperty("event").GetString() == "job" && l.GetProperty("id").GetString() == id)
            .Select(l => l.GetProperty("status").GetString()).ToList();
        Assert.Equal(["queued", "in_progress", "completed"], states);
    }

    internal static byte[] Png(int width, int height)
    {
        string path = Path.Combine(Path.GetTempPath(), $"spacetime-png-{Guid.NewGuid():N}.png");
        var frames = new Frames(1, height, width, 8);
        for (int i = 0; i < frames.Rgb.Length; i++) frames.Rgb[i] = (byte)(i * 7);
        VideoFile.Write(path, frames);
        try { return File.ReadAllBytes(path); }
        finally { File.Delete(path); }
    }

    internal static ByteArrayContent Image(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }
}
