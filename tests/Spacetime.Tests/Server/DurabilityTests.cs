// The queue survives its server: jobs queued or in progress when a server stops (or is killed, leaving rows in
// progress) run after the next start; a database that is not ours, or a folder another server holds, is refused
// at start without touching the file.
using Microsoft.Data.Sqlite;
using Spacetime.Server;

namespace Spacetime.Tests.Server;

public sealed class DurabilityTests
{
    [Fact]
    public async Task StopMidQueue_StartAgain_EveryJobCompletes()
    {
        var fake = new FakeMaker();
        fake.Go.Reset();
        await using var host = await ServerHost.Start(fake);
        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
            ids.Add((await host.Create(new { prompt = $"job {i}", seconds = "0.25" })).GetProperty("id").GetString()!);
        Assert.True(fake.Waiting.Wait(TimeSpan.FromSeconds(10)));                  // job 0 is in progress
        await host.Stop();
        Assert.Contains("\"reason\":\"server stopping\"", host.Log.ToString());
        fake.Go.Set();
        await host.Boot();
        foreach (var id in ids) Assert.Equal("completed", (await host.WaitDone(id)).GetProperty("status").GetString());
        Assert.Equal(3, fake.Made.Count);
    }

    [Fact]
    public async Task AKilledServer_LeavesJobsInProgress_TheNextStartRunsThem()
    {
        var fake = new FakeMaker();
        fake.Go.Reset();
        await using var host = await ServerHost.Start(fake);
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        await host.Stop();
        // what kill -9 leaves: the row still in progress (a graceful stop would have requeued it)
        using (var c = new SqliteConnection($"Data Source={Path.Combine(host.DataDir, Database.FileName)}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE videos SET status = 'in_progress', progress = 40";
            Assert.Equal(1, cmd.ExecuteNonQuery());
        }
        fake.Go.Set();
        await host.Boot();
        Assert.Equal("completed", (await host.WaitDone(id)).GetProperty("status").GetString());
        Assert.Contains("\"reason\":\"requeued at start\"", host.Log.ToString());
    }

    [Fact]
    public async Task ManyClientsAtOnce_AllQueued_AllComplete_WorkersAtATime()
    {
        var fake = new FakeMaker();
        fake.Go.Reset();                                                  // every job waits until both workers hold one
        await using var host = await ServerHost.Start(fake, c => c with { Workers = 2 });
        var posts = Enumerable.Range(0, 8).Select(i => host.Create(new { prompt = $"client {i}", seconds = "0.25" }));
        var ids = (await Task.WhenAll(posts)).Select(v => v.GetProperty("id").GetString()!).ToList();
        Assert.Equal(8, ids.Distinct().Count());
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (fake.MaxConcurrent < 2 && clock.Elapsed.TotalSeconds < 20) await Task.Delay(10);
        var states = await Task.WhenAll(ids.Select(async id => (await host.Get(id)).GetProperty("status").GetString()));
        Assert.Equal(2, states.Count(s => s == "in_progress"));            // both workers busy, the rest queued
        Assert.Equal(6, states.Count(s => s == "queued"));
        fake.Go.Set();
        foreach (var id in ids) Assert.Equal("completed", (await host.WaitDone(id)).GetProperty("status").GetString());
        Assert.Equal(8, fake.Made.Count);
        Assert.Equal(2, fake.MaxConcurrent);                               // never more than --workers
    }

    [Fact]
    public void CorruptDatabase_RefusedAndLeftAsItIs()
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-corrupt-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, Database.FileName);
            byte[] junk = [.. Enumerable.Range(0, 8192).Select(i => (byte)(i * 31 % 251))];
            File.WriteAllBytes(path, junk);
            var e = Assert.Throws<ServerStartException>(() => VideoServer.Create(new ServerConfig(dir), new FakeMaker()));
            Assert.Contains(Database.FileName, e.Message);
            Assert.DoesNotContain('\n', e.Message);
            Assert.Equal(junk, File.ReadAllBytes(path));
        }
        finally
        {
            Database.ReleaseAll();
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task SecondServerOnTheSameFolder_Refused()
    {
        await using var host = await ServerHost.Start();
        var e = Assert.Throws<ServerStartException>(() => VideoServer.Create(host.Config, new FakeMaker()));
        Assert.Contains("another server", e.Message);
    }
}
