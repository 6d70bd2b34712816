// Our extensions for the other generation modes, on loopback Kestrel with FakeMaker: extend (forward and backward),
// loop, connect and strength (video to video), each given as uploaded files (multipart) and as ids of finished
// videos (JSON), reaching the maker as the right mode with the right inputs in the right order; and every bad
// combination a 400 (404/409 for ids) naming the parameter, with nothing stored.
using System.Net.Http.Json;
using System.Text;
using Spacetime.Media;
using Spacetime.Pipelines;

namespace Spacetime.Tests.Server;

public sealed class ModesApiTests
{
    [Fact]
    public async Task Extend_Upload_Backward_ReachesTheMakerWithTheVideo()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        using var form = Form(("prompt", "the ball arrives"), ("extend_backward", "true"));
        form.Add(Video(Mp4(8, 32, 24, 90), "video/mp4"), "extend", "clip.mp4");
        var created = await ServerHost.Ok(await host.Http.PostAsync("/v1/videos", form));
        Assert.Equal("2", created.GetProperty("seconds").GetString());           // the window: FakeMaker's 16 frames
        await host.WaitDone(created.GetProperty("id").GetString()!);
        var (spec, inputs) = Assert.Single(fake.Made);
        Assert.Equal(GenerationMode.ExtendBackward, spec.Mode);
        Assert.Equal((8, 32, 24), (inputs.Source!.Count, inputs.Source.Width, inputs.Source.Height));
        Assert.InRange(inputs.Source.Rgb.Average(b => (double)b), 85, 95);
        Assert.Null(inputs.Image);
    }

    [Fact]
    public async Task Extend_ById_IsAForwardExtensionOfThatVideo()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        string source = await Finished(host, seed: 200);
        var created = await host.Create(new { prompt = "and then", extend = source, seconds = "3" });
        Assert.Equal("3", created.GetProperty("seconds").GetString());           // forward runs past the window
        await host.WaitDone(created.GetProperty("id").GetString()!);
        var (spec, inputs) = fake.Made[^1];
        Assert.Equal(GenerationMode.ExtendForward, spec.Mode);
        Assert.InRange(inputs.Source!.Rgb.Average(b => (double)b), 195, 205);    // seed 200's pixels
    }

    [Fact]
    public async Task Connect_TwoIds_InOrder()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        string first = await Finished(host, seed: 40), second = await Finished(host, seed: 160);
        string id = (await host.Create(new { prompt = "between", connect = new[] { first, second } }))
            .GetProperty("id").GetString()!;
        await host.WaitDone(id);
        var (spec, inputs) = fake.Made[^1];
        Assert.Equal(GenerationMode.Connect, spec.Mode);
        Assert.InRange(inputs.Source!.Rgb.Average(b => (double)b), 35, 45);
        Assert.InRange(inputs.Second!.Rgb.Average(b => (double)b), 155, 165);
        // the same sources by upload, as two file parts in order
        using var form = Form(("prompt", "between"), ("seconds", "1"));
        form.Add(Video(Mp4(4, 16, 16, 160), "video/mp4"), "connect", "a.mp4");
        form.Add(Video(Mp4(4, 16, 16, 40), "video/mp4"), "connect", "b.mp4");
        await host.WaitDone((await ServerHost.Ok(await host.Http.PostAsync("/v1/videos", form)))
                                .GetProperty("id").GetString()!);
        inputs = fake.Made[^1].Inputs;
        Assert.InRange(inputs.Source!.Rgb.Average(b => (double)b), 155, 165);
        Assert.InRange(inputs.Second!.Rgb.Average(b => (double)b), 35, 45);
    }

    [Fact]
    public async Task Loop_Alone_AndFromAnImage()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        await host.WaitDone((await host.Create(new { prompt = "round and round", loop = true, seconds = "1.5" }))
                                .GetProperty("id").GetString()!);
        var (spec, inputs) = fake.Made[^1];
        Assert.Equal((GenerationMode.Loop, "1.5"), (spec.Mode, spec.Seconds));
        Assert.Null(inputs.Image);

        using var form = Form(("prompt", "round"), ("loop", "true"));
        form.Add(VideoApiTests.Image(VideoApiTests.Png(24, 16), "image/png"), "input_reference", "start.png");
        await host.WaitDone((await ServerHost.Ok(await host.Http.PostAsync("/v1/videos", form)))
                                .GetProperty("id").GetString()!);
        (spec, inputs) = fake.Made[^1];
        Assert.Equal(GenerationMode.Loop, spec.Mode);
        Assert.Equal((24, 16, 1), (inputs.Image!.Width, inputs.Image.Height, inputs.Image.Count));
    }

    [Fact]
    public async Task Strength_WithAVideoReference_IsAnEditOfItsLength()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        using var form = Form(("prompt", "now in green"), ("strength", "0.3"));
        form.Add(Video(Mp4(12, 32, 32, 120), "video/mp4"), "input_reference", "clip.mp4");
        var created = await ServerHost.Ok(await host.Http.PostAsync("/v1/videos", form));
        Assert.Equal("1.5", created.GetProperty("seconds").GetString());         // 12 frames at 8 fps
        await host.WaitDone(created.GetProperty("id").GetString()!);
        var (spec, inputs) = fake.Made[^1];
        Assert.Equal((GenerationMode.Edit, (double?)0.3), (spec.Mode, spec.Strength));
        Assert.Equal(12, inputs.Source!.Count);

        // a remix takes strength too
        string remix = (await ServerHost.Ok(await host.Http.PostAsJsonAsync(
            $"/v1/videos/{created.GetProperty("id").GetString()}/remix", new { prompt = "red", strength = 0.25 })))
            .GetProperty("id").GetString()!;
        await host.WaitDone(remix);
        Assert.Equal((GenerationMode.Edit, (double?)0.25), (fake.Made[^1].Spec.Mode, fake.Made[^1].Spec.Strength));
    }

    [Theory]
    [InlineData("""{"prompt": "p", "loop": "yes"}""", 400, "loop", "invalid_value")]
    [InlineData("""{"prompt": "p", "loop": 1}""", 400, "loop", "invalid_type")]
    [InlineData("""{"prompt": "p", "extend_backward": true}""", 400, "extend_backward", "invalid_value")]
    [InlineData("""{"prompt": "p", "extend": 5}""", 400, "extend", "invalid_type")]
    [InlineData("""{"prompt": "p", "connect": "video_0123456789abcdef0123456789abcdef"}""", 400, "connect", "invalid_type")]
    [InlineData("""{"prompt": "p", "connect": ["video_0123456789abcdef0123456789abcdef"]}""", 400, "connect", "invalid_value")]
    [InlineData("""{"prompt": "p", "connect": [1, 2]}""", 400, "connect", "invalid_type")]
    [InlineData("""{"prompt": "p", "strength": 0}""", 400, "strength", "invalid_value")]
    [InlineData("""{"prompt": "p", "strength": 1.5}""", 400, "strength", "invalid_value")]
    [InlineData("""{"prompt": "p", "strength": true}""", 400, "strength", "invalid_type")]
    [InlineData("""{"prompt": "p", "strength": 0.5}""", 400, "strength", "invalid_value")]           // nothing to edit
    [InlineData("""{"prompt": "p", "loop": true, "seconds": "4"}""", 400, "seconds", "invalid_value")] // > window
    [InlineData("""{"prompt": "p", "loop": true, "extend": "video_0123456789abcdef0123456789abcdef"}""", 400, "loop",
                "conflicting_parameters")]
    [InlineData("""{"prompt": "p", "extend": "video_0123456789abcdef0123456789abcdef"}""", 404, "extend", "not_found")]
    [InlineData("""{"prompt": "p", "extend": "../../spacetime.db"}""", 404, "extend", "not_found")]
    public async Task BadModeParameters_AreErrorsNamingThem_AndStoreNothing(string json, int status, string param,
                                                                             string code)
    {
        await using var host = await ServerHost.Start();
        var response = await host.Http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
        await ServerHost.Error(response, status, param, code);
        AssertNothingStored(host);
    }

    [Theory]
    [InlineData("text", "extend", "not an image")]                  // a shell script as a video
    [InlineData("png-as-mp4", "extend", "says video/mp4")]         // an image that claims to be a video
    [InlineData("broken-mp4", "extend", "cannot be read")]         // an MP4 header and then junk
    [InlineData("loop-video", "input_reference", "loop starts from an image")]
    [InlineData("edit-seconds", "seconds", "keeps the length")]
    [InlineData("extend-connect", "connect", "two modes")]
    [InlineData("connect-mixed", "connect", "not one of each")]
    public async Task BadModeFiles_Are400_AndStoreNothing(string what, string param, string mention)
    {
        await using var host = await ServerHost.Start();
        using var form = Form(("prompt", "p"));
        byte[] mp4 = Mp4(4, 16, 16, 100);
        switch (what)
        {
            case "text": form.Add(Video(Encoding.ASCII.GetBytes("#!/bin/sh\necho hi\n"), "video/mp4"), "extend", "a.mp4"); break;
            case "png-as-mp4": form.Add(Video(VideoApiTests.Png(8, 8), "video/mp4"), "extend", "a.mp4"); break;
            case "broken-mp4":
                form.Add(Video([.. mp4.Take(32), .. Enumerable.Repeat((byte)7, 4000)], "video/mp4"), "extend", "a.mp4");
                break;
            case "loop-video":
                form.Add(new StringContent("true"), "loop");
                form.Add(Video(mp4, "video/mp4"), "input_reference", "a.mp4");
                break;
            case "edit-seconds":
                form.Add(new StringContent("4"), "seconds");
                form.Add(Video(mp4, "video/mp4"), "input_reference", "a.mp4");
                break;
            case "extend-connect":
                form.Add(Video(mp4, "video/mp4"), "extend", "a.mp4");
                form.Add(Video(mp4, "video/mp4"), "connect", "b.mp4");
                form.Add(Video(mp4, "video/mp4"), "connect", "c.mp4");
                break;
            case "connect-mixed":
                form.Add(Video(mp4, "video/mp4"), "connect", "b.mp4");
                form.Add(new StringContent("video_0123456789abcdef0123456789abcdef"), "connect");
                break;
        }
        string message = await ServerHost.Error(await host.Http.PostAsync("/v1/videos", form), 400, param);
        Assert.Contains(mention, message);
        AssertNothingStored(host);
    }

    [Fact]
    public async Task Extend_AnUnfinishedVideo_Is409()
    {
        await using var host = await ServerHost.Start();
        var fake = (FakeMaker)host.Maker;
        fake.Go.Reset();
        string id = (await host.Create(new { prompt = "p", seconds = "0.25" })).GetProperty("id").GetString()!;
        await ServerHost.Error(await host.Http.PostAsJsonAsync("/v1/videos", new { prompt = "more", extend = id }), 409,
                               "extend", "invalid_state");
        fake.Go.Set();
        await host.WaitDone(id);
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    // A completed video whose pixels are all `seed` (FakeMaker's colour).
    static async Task<string> Finished(ServerHost host, int seed)
    {
        string id = (await host.Create(new { prompt = "a source", seconds = "1", size = "32x32", seed }))
            .GetProperty("id").GetString()!;
        Assert.Equal("completed", (await host.WaitDone(id)).GetProperty("status").GetString());
        return id;
    }

    static void AssertNothingStored(ServerHost host)
    {
        Assert.False(Directory.Exists(Path.Combine(host.DataDir, "videos")));
        Assert.All(host.Server.Jobs.CountByStatus().Values, n => Assert.Equal(0, n));
    }

    internal static MultipartFormDataContent Form(params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        return form;
    }

    internal static ByteArrayContent Video(byte[] bytes, string contentType) => VideoApiTests.Image(bytes, contentType);

    /// <summary>An MP4 of solid frames of one value.</summary>
    internal static byte[] Mp4(int frames, int width, int height, byte value)
    {
        string path = Path.Combine(Path.GetTempPath(), $"spacetime-mp4-{Guid.NewGuid():N}.mp4");
        var video = new Frames(frames, height, width, 8);
        Array.Fill(video.Rgb, value);
        VideoFile.Write(path, video);
        try { return File.ReadAllBytes(path); }
        finally { File.Delete(path); }
    }
}
