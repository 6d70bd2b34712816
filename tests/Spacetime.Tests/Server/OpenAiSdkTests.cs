// The server driven by the official OpenAI .NET SDK (NuGet OpenAI, VideoClient; its videos methods are protocol
// methods: JSON in, JSON out, marked experimental as OPENAI001) pointed at our base URL: create, retrieve, list page by
// page (has_more, last_id as the next after), download, remix, delete, and errors as the SDK's exception.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Text.Json;
using OpenAI;
using OpenAI.Videos;

namespace Spacetime.Tests.Server;

public sealed class OpenAiSdkTests
{
    static VideoClient Client(ServerHost host, string key = "unused") =>
        new(new ApiKeyCredential(key), new VideoClientOptions { Endpoint = new Uri(host.Server.Address, "v1") });

    static JsonElement Json(ClientResult result) =>
        JsonDocument.Parse(result.GetRawResponse().Content.ToString()).RootElement.Clone();

    static BinaryContent Body(object value) => BinaryContent.Create(BinaryData.FromObjectAsJson(value));

    [Fact]
    public async Task TheSdk_CreateRetrieveListDownloadRemixDelete()
    {
        await using var host = await ServerHost.Start();
        var (_, key) = host.Server.Keys.Add("sdk");
        var client = Client(host, key);

        var ids = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            var created = Json(await client.CreateVideoAsync(Body(new { prompt = $"a ball {i}", model = "sora-2",
                                                                         seconds = "1", size = "32x32" }),
                                                              "application/json"));
            ids.Add(created.GetProperty("id").GetString()!);
        }
        foreach (var id in ids)
        {
            JsonElement video;
            while ((video = Json(await client.GetVideoAsync(id))).GetProperty("status").GetString() is "queued" or "in_progress")
                await Task.Delay(25);
            Assert.Equal("completed", video.GetProperty("status").GetString());
        }

        // list, oldest first, two at a time: this SDK version returns one page per call (it does not follow
        // has_more itself), so the next call passes the page's last_id as `after`
        var listed = new List<string>();
        string? after = null;
        for (bool more = true; more;)
        {
            await foreach (var page in client.GetVideosAsync(limit: 2, order: "asc", after: after).GetRawPagesAsync())
            {
                var list = Json(page);
                listed.AddRange(list.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!));
                (more, after) = (list.GetProperty("has_more").GetBoolean(), list.GetProperty("last_id").GetString());
            }
        }
        Assert.Equal(ids, listed);

        var mp4 = (await client.DownloadVideoAsync(ids[0], variant: null)).GetRawResponse().Content.ToArray();
        Assert.Equal("ftyp", System.Text.Encoding.ASCII.GetString(mp4, 4, 4));

        var remix = Json(await client.CreateVideoRemixAsync(ids[0], Body(new { prompt = "a cube" }), "application/json"));
        Assert.Equal(ids[0], remix.GetProperty("remixed_from_video_id").GetString());

        var deleted = Json(await client.DeleteVideoAsync(ids[1]));
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => client.GetVideoAsync(ids[1]));
        Assert.Equal(404, missing.Status);

        var refused = await Assert.ThrowsAsync<ClientResultException>(() => Client(host, "sk-wrong").GetVideoAsync(ids[0]));
        Assert.Equal(401, refused.Status);
    }
}
