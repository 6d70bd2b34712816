// The web page at /: served as HTML with the form; and, in a real browser (Debian's chromium, driven by Playwright),
// a prompt typed and submitted becomes a video that plays in place. The browser tests run by default (about 5 s each;
// CI installs chromium) and fail with a line that says what to install when the browser is missing rather than passing.
using Microsoft.Playwright;
using Spacetime.Server;

namespace Spacetime.Tests.Server;

public sealed class PageTests(TinyModelFixture tiny) : IClassFixture<TinyModelFixture>
{
    [Fact]
    public async Task Root_IsThePage()
    {
        await using var host = await ServerHost.Start();
        var response = await host.Http.GetAsync("/");
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        string html = await response.Content.ReadAsStringAsync();
        foreach (var part in new[] { "id=\"prompt\"", "id=\"size\"", "id=\"seconds\"", "id=\"mode\"", "id=\"image\"",
                                     "id=\"gallery\"", "/v1/videos", "value=\"edit\"", "value=\"extend\"",
                                     "value=\"extend_backward\"", "value=\"loop\"", "value=\"connect\"",
                                     "id=\"second\"", "id=\"strength\"" })
            Assert.Contains(part, html);
    }

    /// <summary>Debian's chromium, or null.</summary>
    static string? Chromium() =>
        new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);

    // Debian's chromium, headless, on a page of a server running the tiny model
    async Task InBrowser(Func<IPage, ServerHost, Task> body, ViewportSize? viewport = null)
    {
        string chromium = Chromium()
            ?? throw new InvalidOperationException("the browser test needs chromium: apt-get install -y chromium");
        await using var host = await ServerHost.Start(new ModelVideoMaker(tiny.Model));
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = viewport });
        await page.GotoAsync(host.Server.Address.ToString());
        await body(page, host);
    }

    // waits until the first card's video can play
    static Task VideoPlays(IPage page) =>
        page.WaitForFunctionAsync("() => { const v = document.querySelector('.card video'); " +
                                  "return v !== null && v.readyState >= 1 && v.duration > 0; }",
                                  null, new() { Timeout = 60_000 });

    [Fact]
    public Task Browser_TypeAPrompt_TheVideoPlaysInPlace() => InBrowser(async (page, host) =>
    {
        await page.FillAsync("#prompt", "a red ball falls and bounces");
        await page.SelectOptionAsync("#seconds", "2");
        await page.ClickAsync("#submit");
        await VideoPlays(page);
        double duration = await page.EvalOnSelectorAsync<double>(".card video", "v => v.duration");
        Assert.InRange(duration, 1.5, 2.5);                                // 2 s asked, 16 frames at 8 fps
        Assert.Contains("completed", await page.InnerTextAsync(".card .meta"));
        string shot = Environment.GetEnvironmentVariable("SPACETIME_PAGE_SCREENSHOT")
                      ?? Path.Combine(host.DataDir, "page.png");
        await page.ScreenshotAsync(new() { Path = shot });
        Assert.True(new FileInfo(shot).Length > 0);
    }, new ViewportSize { Width = 1000, Height = 640 });

    [Fact]
    public Task Browser_LoopMode_SendsALoop_AndItPlays() => InBrowser(async (page, _) =>
    {
        await page.FillAsync("#prompt", "a blue square slides to the left");
        await page.SelectOptionAsync("#mode", "loop");
        await page.ClickAsync("#submit");
        await VideoPlays(page);
        Assert.Equal("", await page.InnerTextAsync("#error"));
        Assert.Contains("completed", await page.InnerTextAsync(".card .meta"));
    });
}
