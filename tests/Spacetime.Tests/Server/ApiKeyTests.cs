// API keys: with any key, every /v1 request needs one (401 otherwise), and a key sees and deletes only its own
// videos; with none, the server will not listen beyond loopback.
using System.Net.Http.Json;
using Spacetime.Server;

namespace Spacetime.Tests.Server;

public sealed class ApiKeyTests
{
    [Fact]
    public async Task WithAKey_RequestsWithoutOneOrWithAWrongOne_Are401()
    {
        await using var host = await ServerHost.Start();
        var (_, key) = host.Server.Keys.Add("ci");
        Assert.StartsWith(ApiKeys.Prefix, key);
        await ServerHost.Error(await host.Http.GetAsync("/v1/videos"), 401, code: "invalid_api_key");
        host.UseKey(key + "x");
        await ServerHost.Error(await host.Http.PostAsJsonAsync("/v1/videos", new { prompt = "p" }), 401,
                               code: "invalid_api_key");
        host.UseKey(key);
        await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"));
        host.UseKey(null);
        await ServerHost.Ok(await host.Http.GetAsync("/healthz"));                // names no video: no key needed
    }

    [Fact]
    public async Task AKey_SeesAndDeletesOnlyItsOwnVideos()
    {
        await using var host = await ServerHost.Start();
        var (_, alice) = host.Server.Keys.Add("alice");
        var (_, bob) = host.Server.Keys.Add("bob");
        host.UseKey(alice);
        string id = (await host.Create(new { prompt = "alice's", seconds = "0.25" })).GetProperty("id").GetString()!;
        await host.WaitDone(id);

        host.UseKey(bob);
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}"), 404);
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}/content"), 404);
        await ServerHost.Error(await host.Http.DeleteAsync($"/v1/videos/{id}"), 404);
        await ServerHost.Error(await host.Http.PostAsJsonAsync($"/v1/videos/{id}/remix", new { prompt = "x" }), 404);
        Assert.Equal(0, (await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"))).GetProperty("data").GetArrayLength());
        await ServerHost.Error(await host.Http.GetAsync($"/v1/videos?after={id}"), 400, "after");

        host.UseKey(alice);
        Assert.Equal(1, (await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"))).GetProperty("data").GetArrayLength());
        (await host.Http.GetAsync($"/v1/videos/{id}/content")).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task ARevokedKey_Is401()
    {
        await using var host = await ServerHost.Start();
        var (info, key) = host.Server.Keys.Add("temp");
        host.Server.Keys.Add("other");                    // a key stays configured, so requests still need one
        host.UseKey(key);
        await ServerHost.Ok(await host.Http.GetAsync("/v1/videos"));
        Assert.True(host.Server.Keys.Revoke(info.Id));
        Assert.False(host.Server.Keys.Revoke(info.Id));
        await ServerHost.Error(await host.Http.GetAsync("/v1/videos"), 401);
    }

    [Fact]
    public async Task NoKey_RefusesToListenBeyondLoopback()
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-bind-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var config = new ServerConfig(dir) { Host = "0.0.0.0", Port = 0 };
            var e = Assert.Throws<ServerStartException>(() => VideoServer.Create(config, new FakeMaker()));
            Assert.Contains("keys add", e.Message);
            Assert.Throws<ServerStartException>(() => VideoServer.Create(config with { Host = "example.org" }, new FakeMaker()));

            new ApiKeys(Database.Open(dir)).Add("k");
            await VideoServer.Create(config, new FakeMaker()).DisposeAsync();        // allowed now (not started)
            Assert.True(VideoServer.IsLoopback("127.0.0.1") && VideoServer.IsLoopback("::1")
                        && VideoServer.IsLoopback("localhost") && !VideoServer.IsLoopback("0.0.0.0"));
        }
        finally
        {
            Database.ReleaseAll();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Keys_AreStoredHashed()
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-keys-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var db = Database.Open(dir);
            var (info, key) = new ApiKeys(db).Add("k");
            Assert.Equal(info.Id, new ApiKeys(db).Find(key));
            Database.ReleaseAll();
            byte[] file = File.ReadAllBytes(Path.Combine(dir, Database.FileName));
            byte[] wal = File.Exists(Path.Combine(dir, Database.FileName + "-wal"))
                ? File.ReadAllBytes(Path.Combine(dir, Database.FileName + "-wal")) : [];
            string secret = key[ApiKeys.Prefix.Length..];
            Assert.DoesNotContain(secret, System.Text.Encoding.ASCII.GetString([.. file, .. wal]));
        }
        finally
        {
            Database.ReleaseAll();
            Directory.Delete(dir, recursive: true);
        }
    }
}
