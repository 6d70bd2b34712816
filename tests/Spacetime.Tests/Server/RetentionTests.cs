// Retention: a finished video's expires_at is completed_at plus ServerConfig.Retention (null without one); once it
// has passed the video is not found anywhere (404, not listed, not usable as an input) and the workers' loop removes
// its row and its files. Tiny retentions keep these tests well under a second of waiting.
using System.Net.Http.Json;
using System.Text.Json;

namespace Spacetime.Tests.Server;

public sealed class RetentionTests
{
    [Fact]
    public async Task ExpiresAt_IsCompletedAtPlusTheRetention_NullWhileRunning()
    {
        var fake = new FakeMaker();
        fake.Go.Reset();
        await using var host = await ServerHost.Start(fake, c => c with { Retention = TimeSpan.FromDays(3) });
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        Assert.True(fake.Waiting.Wait(TimeSpan.FromSeconds(10)));
        Assert.Equal(JsonValueKind.Null, (await host.Get(id)).GetProperty("expires_at").ValueKind);
        fake.Go.Set();
        var done = await host.WaitDone(id);
        Assert.Equal(done.GetProperty("completed_at").GetInt64() + 3 * 86400, done.GetProperty("expires_at").GetInt64());
    }

    [Fact]
    public async Task NoRetention_NeverExpires()
    {
        await using var host = await ServerHost.Start(configure: c => c with { Retention = null });
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        Assert.Equal(JsonValueKind.Null, (await host.WaitDone(id)).GetProperty("expires_at").ValueKind);
        Assert.Empty(host.Server.Jobs.Expired());
    }

    [Fact]
    public async Task Expired_Is404Everywhere_AndTheWorkersRemoveIt()
    {
        var fake = new FakeMaker();
        fake.Go.Reset();
        await using var host = await ServerHost.Start(fake, c => c with { Retention = TimeSpan.FromMilliseconds(200) });
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        Assert.True(fake.Waiting.Wait(TimeSpan.FromSeconds(10)));
        fake.Go.Set();
        string folder = Path.Combine(host.DataDir, "videos", id);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // completed (files in place), then gone: poll until the API stops finding it
        HttpResponseMessage response;
        while ((response = await host.Http.GetAsync($"/v1/videos/{id}")).IsSuccessStatusCode)
        {
            Assert.True(clock.Elapsed.TotalSeconds < 10, "never expired");
            await Task.Delay(20);
        }
        await ServerHost.Error(response, 404, "video_id");
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}/content"), 404);
        await ServerHost.Error(await host.Http.PostAsJsonAsync($"/v1/videos/{id}/remix", new { prompt = "x" }), 404);
        await ServerHost.Error(await host.Http.PostAsJsonAsync("/v1/videos", new { prompt = "x", extend = id }), 404,
                               "extend");
        Assert.Equal(0, (await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"))).GetProperty("data")
                            .GetArrayLength());
        // the row and the files go at the workers' next idle pass (PollInterval is 100 ms here)
        while (Directory.Exists(folder) || host.Server.Jobs.CountByStatus().Values.Sum() > 0)
        {
            Assert.True(clock.Elapsed.TotalSeconds < 10, "the workers did not remove the expired video");
            await Task.Delay(20);
        }
        Assert.Contains($"\"id\":\"{id}\",\"status\":\"expired\"", host.Log.ToString());
        Assert.Single(fake.Made);
    }
}
