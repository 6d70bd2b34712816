// What goes wrong outside the request: a client that disconnects in the middle of its upload (the request is
// aborted; no row, no file, no buffered upload left behind, and the server goes on serving), and a disk that fills
// while a finished video is written (through ServerConfig.WriteVideo: the job fails with an error object, no output
// file is left, nothing is served, and the next job completes).
using System.Net.Sockets;
using System.Text;
using Spacetime.Media;

namespace Spacetime.Tests.Server;

public sealed class FailureTests
{
    [Fact]
    public async Task ClientDisconnectsMidUpload_NothingStored_NothingLeaked()
    {
        await using var host = await ServerHost.Start();
        string temp = Path.GetTempPath();
        var before = Directory.GetFiles(temp, "ASPNETCORE_*.tmp").ToHashSet();

        // a multipart body that promises 4 MB and sends 300 kB of its image part (enough for the form reader to
        // buffer it to a temporary file), then resets the connection
        const string boundary = "spacetime-boundary";
        string head = $"--{boundary}\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\na ball\r\n" +
                      $"--{boundary}\r\nContent-Disposition: form-data; name=\"input_reference\"; filename=\"a.png\"\r\n" +
                      "Content-Type: image/png\r\n\r\n";
        string request = "POST /v1/videos HTTP/1.1\r\n" +
                         $"Host: {host.Server.Address.Authority}\r\n" +
                         $"Content-Type: multipart/form-data; boundary={boundary}\r\n" +
                         "Content-Length: 4000000\r\n\r\n" + head;
        using (var client = new TcpClient())
        {
            await client.ConnectAsync(host.Server.Address.Host, host.Server.Address.Port);
            var stream = client.GetStream();
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
            await stream.WriteAsync(VideoApiTests.Png(8, 8));
            await stream.WriteAsync(new byte[300_000]);
            await stream.FlushAsync();
            var buffering = System.Diagnostics.Stopwatch.StartNew();   // the server is now buffering the upload
            while (!Directory.GetFiles(temp, "ASPNETCORE_*.tmp").Any(f => !before.Contains(f)))
            {
                Assert.True(buffering.Elapsed.TotalSeconds < 10, "the upload was never buffered to a file");
                await Task.Delay(20);
            }
            client.Client.LingerState = new LingerOption(true, 0);   // close with a reset, as a dropped client does
        }

        // the request ends (its log line is written when it has) as aborted
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!host.Log.ToString().Contains("\"event\":\"aborted\""))
        {
            Assert.True(clock.Elapsed.TotalSeconds < 10, $"no aborted request in the log:\n{host.Log}");
            await Task.Delay(20);
        }
        Assert.False(Directory.Exists(Path.Combine(host.DataDir, "videos")));
        Assert.All(host.Server.Jobs.CountByStatus().Values, n => Assert.Equal(0, n));
        // the form reader's buffer file of the upload is removed with the request
        while (Directory.GetFiles(temp, "ASPNETCORE_*.tmp").Any(f => !before.Contains(f)))
        {
            Assert.True(clock.Elapsed.TotalSeconds < 10, "the upload's buffer file was left behind");
            await Task.Delay(20);
        }
        // and the server goes on serving
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        Assert.Equal("completed", (await host.WaitDone(id)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task DiskFullWhileWritingTheVideo_JobFails_NothingServed()
    {
        bool full = true;
        // a disk that fills part way through the MP4: some bytes reach the temporary file, then the write fails
        void Write(string path, Frames frames)
        {
            if (!full || !path.EndsWith(".mp4", StringComparison.Ordinal))
            {
                VideoFile.Write(path, frames);
                return;
            }
            AtomicFile.Write(path, tempPath =>
            {
                File.WriteAllBytes(tempPath, new byte[1000]);
                throw new IOException("No space left on device");
            });
        }
        await using var host = await ServerHost.Start(configure: c => c with { WriteVideo = Write });
        string id = (await host.Create(new { prompt = "p", seconds = "0.5" })).GetProperty("id").GetString()!;
        var failed = await host.WaitDone(id);
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        var error = failed.GetProperty("error");
        Assert.Equal("storage_error", error.GetProperty("code").GetString());
        Assert.Contains("No space left on device", error.GetProperty("message").GetString());
        foreach (var variant in new[] { "video", "thumbnail", "spritesheet" })
            await ServerHost.Error(await host.Http.GetAsync($"/v1/videos/{id}/content?variant={variant}"), 409);
        // no output and no temporary file of one is left in the video's folder
        string folder = Path.Combine(host.DataDir, "videos", id);
        Assert.Empty(Directory.Exists(folder) ? Directory.GetFiles(folder) : []);

        full = false;                                                // space again: the next job completes
        string next = (await host.Create(new { prompt = "p", seconds = "0.5" })).GetProperty("id").GetString()!;
        Assert.Equal("completed", (await host.WaitDone(next)).GetProperty("status").GetString());
    }
}
