// The server with a real (tiny, untrained) model: the whole path from a request to a decodable MP4 at the size asked
// for, OpenAI's sizes generated at the model's own pixel count and scaled, image to video, a remix longer than the
// model's window (edited window by window), and our extensions' modes (extend, loop, connect, strength).
using System.Net.Http.Json;
using Spacetime.Media;
using Spacetime.Media.Provenance;
using Spacetime.Pipelines;
using Spacetime.Server;
using Spacetime.Training;

namespace Spacetime.Tests.Server;

/// <summary>One tiny model (32x32, 5-frame window, 8 fps) saved to a folder and loaded back, shared by a class.</summary>
public sealed class TinyModelFixture : IDisposable
{
    public string Dir { get; } = Path.Combine(Path.GetTempPath(), "spacetime-tinymodel-" + Guid.NewGuid().ToString("N")[..8]);
    public TextVideoModel Model { get; }

    public TinyModelFixture()
    {
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(Dir);
        Model = TextVideoModel.Load(Dir);
        Model.Eval();
    }

    public void Dispose()
    {
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}

public sealed class ModelServerTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public void GenerationSize_OpenAiSizesKeepTheModelsPixelCountAndTheirAspect()
    {
        var maker = new ModelVideoMaker(tiny.Model);                  // 32x32 = 1024 pixels, multiples of 8
        Assert.Equal((40, 24), maker.GenerationSize(1280, 720));      // 16:9 at ~1024 pixels
        Assert.Equal((24, 40), maker.GenerationSize(720, 1280));
        Assert.Equal((24, 40), maker.GenerationSize(1024, 1792));
        Assert.Equal((32, 32), maker.GenerationSize(32, 32));         // the model's own size: as asked
        Assert.Equal((16, 24), maker.GenerationSize(16, 24));         // smaller: as asked, rounded to the stride
    }

    [Fact]
    public async Task TextToVideo_OpenAiSize_IsAnMp4OfThatSize()
    {
        await using var host = await ServerHost.Start(new ModelVideoMaker(tiny.Model));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string id = (await host.Create(new { prompt = "a red ball bounces", model = "sora-2-pro", size = "1280x720",
                                             seconds = "1", steps = 2 })).GetProperty("id").GetString()!;
        var done = await host.WaitDone(id);
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
        var video = Download(host, id);
        Assert.Equal((1280, 720, 8), (video.Width, video.Height, video.Count));
        Assert.True(clock.Elapsed.TotalSeconds < 30, $"{clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public async Task Outputs_AreWatermarkedWithTheModelsPayload_AndTheMp4CarriesTheManifest()
    {
        var identity = ModelIdentity.Of(tiny.Dir);
        await using var host = await ServerHost.Start(new ModelVideoMaker(tiny.Model, identity));
        string id = (await host.Create(new { prompt = "a red ball bounces", size = "1280x720", seconds = "1",
                                             steps = 2 })).GetProperty("id").GetString()!;
        var done = await host.WaitDone(id);
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
        // the thumbnail (lossless PNG) carries the mark; the MP4 carries the manifest, bound to its bytes
        string thumb = Path.Combine(host.DataDir, "thumb.png"), mp4 = Path.Combine(host.DataDir, "video.mp4");
        File.WriteAllBytes(thumb, await host.Http.GetByteArrayAsync($"/v1/videos/{id}/content?variant=thumbnail"));
        File.WriteAllBytes(mp4, await host.Http.GetByteArrayAsync($"/v1/videos/{id}/content"));
        var found = Watermark.Detect(VideoFile.Read(thumb));
        Assert.True(found.Watermarked, $"p = {found.PValue}");
        Assert.Equal(identity.Payload, found.Payload);
        var read = ManifestStore.Read(mp4);
        Assert.NotNull(read);
        Assert.Equal(identity.WeightsSha256, read!.Envelope.Manifest.WeightsSha256);
        Assert.Equal(ProvenanceManifest.Sha256Hex("a red ball bounces"), read.Envelope.Manifest.PromptSha256);
        Assert.True(read.ContentUnchanged);

        // the server says the same of uploads: POST /v1/detect and /v1/inspect
        var detected = await ServerHost.Ok(await host.Http.PostAsync("/v1/detect", Upload(thumb, "image/png")));
        Assert.True(detected.GetProperty("watermarked").GetBoolean(), detected.ToString());
        Assert.Equal(ProvenanceManifest.FormatPayload(identity.Payload), detected.GetProperty("payload").GetString());
        var inspected = await ServerHost.Ok(await host.Http.PostAsync("/v1/inspect", Upload(mp4, "video/mp4")));
        Assert.True(inspected.GetProperty("manifest_present").GetBoolean());
        Assert.True(inspected.GetProperty("content_unchanged").GetBoolean());
        Assert.Equal(identity.WeightsSha256, inspected.GetProperty("weights_sha256").GetString());
    }

    static MultipartFormDataContent Upload(string path, string type, string field = "file") =>
        new() { { VideoApiTests.Image(File.ReadAllBytes(path), type), field, Path.GetFileName(path) } };

    [Fact]
    public async Task DetectAndInspect_AnotherFile_SayNo_AndBadUploadsAreOpenAiErrors()
    {
        await using var host = await ServerHost.Start(new ModelVideoMaker(tiny.Model));
        string png = Path.Combine(host.DataDir, "plain.png");
        File.WriteAllBytes(png, VideoApiTests.Png(96, 64));
        var detected = await ServerHost.Ok(await host.Http.PostAsync("/v1/detect", Upload(png, "image/png")));
        Assert.False(detected.GetProperty("watermarked").GetBoolean(), detected.ToString());
        Assert.True(detected.GetProperty("p_value").GetDouble() > 1e-4);
        var inspected = await ServerHost.Ok(await host.Http.PostAsync("/v1/inspect", Upload(png, "image/png")));
        Assert.False(inspected.GetProperty("manifest_present").GetBoolean());

        await ServerHost.Error(await host.Http.PostAsync("/v1/detect", Upload(png, "image/png", "video")), 400,
                               "video", "unknown_parameter");
        await ServerHost.Error(await host.Http.PostAsync("/v1/inspect", new MultipartFormDataContent
                               { { new StringContent("x"), "prompt" } }), 400, "prompt", "unknown_parameter");
        await ServerHost.Error(await host.Http.PostAsync("/v1/detect", new StringContent("{}", System.Text.Encoding.UTF8,
                               "application/json")), 400, "file");
        string junk = Path.Combine(host.DataDir, "junk.png");
        File.WriteAllBytes(junk, [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9]);  // a PNG's
        await ServerHost.Error(await host.Http.PostAsync("/v1/detect", Upload(junk, "image/png")), 400, "file",   // head only
                               "invalid_file");
        await ServerHost.Error(await host.Http.PostAsync("/v1/inspect", Upload(junk, "image/png")), 400, "file",
                               "invalid_file");
        File.WriteAllBytes(junk, VideoApiTests.Png(8, 8));                   // too small to carry the mark
        await ServerHost.Error(await host.Http.PostAsync("/v1/detect", Upload(junk, "image/png")), 400, "file",
                               "file_too_small");
    }

    [Fact]
    public async Task ImageToVideo_Multipart_Completes()
    {
        await using var host = await ServerHost.Start(new ModelVideoMaker(tiny.Model));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("the ball rolls to the left"), "prompt" },
            { new StringContent("1"), "seconds" },
            { new StringContent("32x32"), "size" },
            { new StringContent("2"), "steps" },
        };
        form.Add(VideoApiTests.Image(VideoApiTests.Png(64, 48), "image/png"), "input_reference", "start.png");
        string id = (await ServerHost.Ok(await host.Http.PostAsync("/v1/videos", form))).GetProperty("id").GetString()!;
        var done = await host.WaitDone(id);
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
        Assert.Equal((32, 32), (Download(host, id).Width, Download(host, id).Height));
    }

    [Fact]
    public async Task Remix_LongerThanTheWindow_KeepsLengthAndSize()
    {
        await using var host = await ServerHost.Start(new ModelVideoMaker(tiny.Model));
        string id = (await host.Create(new { prompt = "a ball", size = "48x32", seconds = "2", steps = 2 }))
            .GetProperty("id").GetString()!;
        await host.WaitDone(id);
        var source = Download(host, id);
        Assert.Equal(16, source.Count);                                // > the 5-frame window
        string remix = (await ServerHost.Ok(await host.Http.PostAsJsonAsync($"/v1/videos/{id}/remix",
                                                                             new { prompt = "a green cube" })))
            .GetProperty("id").GetString()!;
        var done = await host.WaitDone(remix);
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
        var edited = Download(host, remix);
        Assert.Equal((48, 32, 16), (edited.Width, edited.Height, edited.Count));
    }

    [Fact]
    public async Task EveryExtensionMode_Completes_AtTheSizeAndLengthAsked()
    {
        await using var host = await ServerHost.Start(new ModelVideoMaker(tiny.Model));
        Assert.Equal(5, host.Maker.WindowFrames);                      // 0.625 s at 8 fps
        async Task<(string Id, Frames Video)> Make(HttpContent body)
        {
            string id = (await ServerHost.Ok(await host.Http.PostAsync("/v1/videos", body))).GetProperty("id")
                .GetString()!;
            var done = await host.WaitDone(id);
            Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
            return (id, Download(host, id));
        }
        HttpContent Json(object body) => JsonContent.Create(body);

        var (a, first) = await Make(Json(new { prompt = "a red ball", size = "32x32", seconds = "1", steps = 2 }));
        var (b, _) = await Make(Json(new { prompt = "a blue cube", size = "32x32", seconds = "1", steps = 2, seed = 3 }));
        Assert.Equal(8, first.Count);

        var (_, forward) = await Make(Json(new { prompt = "it goes on", size = "48x32", seconds = "2", steps = 2,
                                                 extend = a }));
        Assert.Equal((48, 32, 16), (forward.Width, forward.Height, forward.Count));   // past the window, in chunks
        var (_, loop) = await Make(Json(new { prompt = "round", size = "32x32", steps = 2, loop = true }));
        Assert.Equal((32, 32), (loop.Width, loop.Height));
        Assert.InRange(loop.Count, 1, 5);                               // at most the window
        var (_, between) = await Make(Json(new { prompt = "from one to the other", size = "32x32", steps = 2,
                                                 connect = new[] { a, b } }));
        Assert.Equal((32, 32, 5), (between.Width, between.Height, between.Count));

        byte[] mp4 = ModesApiTests.Mp4(8, 40, 24, 128);                 // uploads at another size
        using (var form = ModesApiTests.Form(("prompt", "before it"), ("size", "32x32"), ("steps", "2"),
                                             ("extend_backward", "true")))
        {
            form.Add(ModesApiTests.Video(mp4, "video/mp4"), "extend", "clip.mp4");
            var (_, backward) = await Make(form);
            Assert.Equal((32, 32, 5), (backward.Width, backward.Height, backward.Count));
        }
        using (var form = ModesApiTests.Form(("prompt", "now green"), ("size", "32x32"), ("steps", "2"),
                                             ("strength", "0.5")))
        {
            form.Add(ModesApiTests.Video(mp4, "video/mp4"), "input_reference", "clip.mp4");
            var (_, edited) = await Make(form);
            Assert.Equal((32, 32, 8), (edited.Width, edited.Height, edited.Count));   // the video's length
        }
    }

    static Frames Download(ServerHost host, string id)
    {
        string path = Path.Combine(host.DataDir, $"download-{Guid.NewGuid():N}.mp4");
        File.WriteAllBytes(path, host.Http.GetByteArrayAsync($"/v1/videos/{id}/content").GetAwaiter().GetResult());
        return VideoFile.Read(path);
    }
}
