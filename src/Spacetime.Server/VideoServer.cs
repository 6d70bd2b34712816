// VideoServer: OpenAI's Videos API over HTTP (ASP.NET Core minimal APIs on Kestrel), on the durable queue:
//     POST   /v1/videos                  create (JSON, or multipart/form-data with files; every mode,
//                                         VideoRequests)                                              -> video
//     GET    /v1/videos                  list: after, limit (1..100, default 20), order (asc|desc, default desc)
//     GET    /v1/videos/{id}             retrieve                                                    -> video
//     GET    /v1/videos/{id}/content     variant=video|thumbnail|spritesheet (Range requests honoured)
//     DELETE /v1/videos/{id}             -> {"id", "object": "video.deleted", "deleted": true}
//     POST   /v1/videos/{id}/remix       {"prompt"}: a video-to-video edit of a completed video      -> video
//     POST   /v1/detect, /v1/inspect     multipart "file": the watermark decision, the provenance manifest (the JSON
//                                         of `spacetime detect --json` and `inspect --json`, ProvenanceJson)
// A finished video is kept for the retention (ServerConfig.Retention): then it is not found, and the workers
// remove it.
//     GET    /healthz, GET /metrics      liveness, Prometheus text (no key needed; they name no video)
//     GET    /                           the web page (Page/index.html): a prompt box and the caller's gallery
// Each request passes three layers, outermost first: a log line when it ends (ServerLog); errors turned into OpenAI
// error objects (ApiException, a body over the size limit as 413, anything else as 500 with the details logged; a
// client that went away mid-request gets nothing, and nothing of its request is kept);
// and, for /v1, the API key (ApiKeys), which decides whose videos the request sees.
using System.Net;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spacetime.Media;
using Spacetime.Media.Provenance;

namespace Spacetime.Server;

/// <summary>The HTTP server: build it with <see cref="Create"/>, then start and stop it.</summary>
public sealed class VideoServer : IAsyncDisposable
{
    /// <summary>How long an SDK's poll helper should wait between retrieves of an unfinished video
    /// (the openai-poll-after-ms header).</summary>
    public const int PollAfterMs = 1000;

    const string OwnerKey = "spacetime.owner";

    // The web page (Page/index.html, embedded): it calls /v1 itself, with the key the user types into it.
    static readonly Lazy<string> Page = new(() =>
    {
        using var stream = typeof(VideoServer).Assembly.GetManifestResourceStream("Spacetime.Server.index.html")!;
        return new StreamReader(stream).ReadToEnd();
    });

    readonly ServerConfig config;
    readonly IVideoMaker maker;
    readonly ServerLog log;
    readonly VideoFiles files;
    readonly FileStream dataLock;
    readonly WebApplication app;
    readonly VideoWorkers workers;

    /// <summary>The queue.</summary>
    public JobStore Jobs { get; }
    /// <summary>The API keys.</summary>
    public ApiKeys Keys { get; }

    VideoServer(ServerConfig config, IVideoMaker maker, ServerLog log, Database db, FileStream dataLock)
    {
        (this.config, this.maker, this.log, this.dataLock) = (config, maker, log, dataLock);
        files = new VideoFiles(config.DataDir, config.WriteVideo);
        Jobs = new JobStore(db, config.Retention);
        Keys = new ApiKeys(db);
        workers = new VideoWorkers(config, Jobs, files, maker, log);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.Logging.ClearProviders();                                    // ServerLog writes the only lines
        builder.Services.AddHostedService(_ => workers);
        builder.Services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = config.MaxRequestBytes);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = config.MaxRequestBytes;
            if (config.Host == "localhost") k.ListenLocalhost(config.Port);
            else k.Listen(IPAddress.Parse(config.Host), config.Port);
        });
        app = builder.Build();
        app.Use(LogRequest);
        app.Use(HandleErrors);
        app.Use(Authenticate);
        app.MapGet("/", () => Results.Text(Page.Value, "text/html; charset=utf-8"));
        app.MapGet("/healthz", () => Health());
        app.MapGet("/metrics", () => Metrics());
        var v1 = app.MapGroup("/v1/videos");
        v1.MapPost("", (Func<HttpContext, Task<IResult>>)Create);
        v1.MapGet("", (HttpContext ctx) => List(ctx));
        v1.MapGet("/{id}", (HttpContext ctx, string id) => Retrieve(ctx, id));
        v1.MapDelete("/{id}", (HttpContext ctx, string id) => Delete(ctx, id));
        v1.MapGet("/{id}/content", (HttpContext ctx, string id) => Content(ctx, id));
        v1.MapPost("/{id}/remix", (HttpContext ctx, string id) => Remix(ctx, id));
        app.MapPost("/v1/detect", (Func<HttpContext, Task<IResult>>)Detect);
        app.MapPost("/v1/inspect", (Func<HttpContext, Task<IResult>>)Inspect);
        app.MapFallback((HttpContext ctx) =>
            throw new ApiException(404, $"Unknown request URL: {ctx.Request.Method} {ctx.Request.Path}.",
                                   "invalid_request_error", null, "unknown_url"));
    }

    /// <summary>Opens the data folder and its database and checks that the server may listen where asked. Refusals
    /// the user can fix (a corrupt or locked database, another server on the folder, a public address with no API
    /// key) are <see cref="ServerStartException"/>s.</summary>
    public static VideoServer Create(ServerConfig config, IVideoMaker maker, ServerLog? log = null) =>
        Create(config, () => maker, log);

    /// <summary>As above, loading the maker (the model, which takes a while) only once the checks have passed.
    /// </summary>
    public static VideoServer Create(ServerConfig config, Func<IVideoMaker> loadMaker, ServerLog? log = null)
    {
        if (config.Workers < 1) throw new ArgumentException($"VideoServer: workers {config.Workers} must be >= 1.");
        bool loopback = IsLoopback(config.Host);
        var db = Database.Open(config.DataDir);
        FileStream dataLock;
        string lockPath = Path.Combine(config.DataDir, "server.lock");
        try { dataLock = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException)
        {
            throw new ServerStartException($"--data {config.DataDir}: another server is using this folder; stop it " +
                                           "or give another --data");
        }
        if (!loopback && !new ApiKeys(db).AnyActive())
        {
            dataLock.Dispose();
            throw new ServerStartException($"--host {config.Host}: refusing to listen beyond this machine with no " +
                                           $"API key; add one (spacetime keys add --data {config.DataDir}) or use " +
                                           "--host 127.0.0.1");
        }
        try { return new VideoServer(config, loadMaker(), log ?? ServerLog.None, db, dataLock); }
        catch
        {
            dataLock.Dispose();
            throw;
        }
    }

    /// <summary>True for "localhost" and loopback addresses; any other host must be an IP address.</summary>
    public static bool IsLoopback(string host)
    {
        if (host == "localhost") return true;
        if (!IPAddress.TryParse(host, out var address))
            throw new ServerStartException($"--host '{host}' is not an IP address; give e.g. 127.0.0.1, 0.0.0.0 or " +
                                           "localhost");
        return IPAddress.IsLoopback(address);
    }

    /// <summary>Starts listening and working the queue.</summary>
    public async Task StartAsync()
    {
        try { await app.StartAsync(); }
        catch (IOException e)                                                // the port is taken
        {
            throw new ServerStartException($"cannot listen on {config.Host}:{config.Port} ({e.Message.TrimEnd('.')})");
        }
        log.Write("start", ("address", Address.ToString()), ("data", Path.GetFullPath(config.DataDir)),
                  ("workers", config.Workers));
    }

    /// <summary>The address it listens on (with the real port when Port was 0). Valid after StartAsync.</summary>
    public Uri Address => new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
                                 .Addresses.First());

    /// <summary>Waits until <paramref name="token"/> is cancelled (Ctrl-C), then stops.</summary>
    public async Task RunUntil(CancellationToken token)
    {
        try { await Task.Delay(Timeout.Infinite, token); }
        catch (OperationCanceledException) { }
        await StopAsync();
    }

    /// <summary>Stops accepting requests; a job being made goes back to the queue.</summary>
    public async Task StopAsync()
    {
        await app.StopAsync();
        log.Write("stop");
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        await dataLock.DisposeAsync();
        Database.ReleaseAll();
    }

    // ---- the three layers -------------------------------------------------------------------------------------

    async Task LogRequest(HttpContext ctx, RequestDelegate next)
    {
        var clock = Stopwatch.StartNew();
        try { await next(ctx); }
        finally
        {
            log.Write("request", ("method", ctx.Request.Method), ("path", ctx.Request.Path.Value),
                      ("status", ctx.Response.StatusCode), ("ms", Math.Round(clock.Elapsed.TotalMilliseconds, 1)),
                      ("key", ctx.Items[OwnerKey] is string { Length: > 0 } owner ? owner : null));
        }
    }

    // A connection reset mid-body: Kestrel may report it as a bad request (the body ended early) or a reset before
    // the request's abort token is set; either way the client is gone.
    static bool ClientWentAway(Exception e) =>
        e is Microsoft.AspNetCore.Connections.ConnectionResetException
        || e is BadHttpRequestException b && b.Message.StartsWith("Unexpected end of request content", StringComparison.Ordinal)
        || e.InnerException is { } inner && ClientWentAway(inner);

    async Task HandleErrors(HttpContext ctx, RequestDelegate next)
    {
        ApiException error;
        try
        {
            await next(ctx);
            return;
        }
        catch (Exception e) when (ctx.RequestAborted.IsCancellationRequested || ClientWentAway(e))
        {
            log.Write("aborted", ("path", ctx.Request.Path.Value), ("reason", e.GetType().Name));
            return;                                                          // the client went away; nobody to tell
        }
        catch (ApiException e) { error = e; }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            error = ApiException.TooLarge(config.MaxRequestBytes);
        }
        catch (InvalidDataException e) when (e.Message.Contains("length limit", StringComparison.OrdinalIgnoreCase))
        {
            error = ApiException.TooLarge(config.MaxRequestBytes);               // the multipart reader's own limit
        }
        catch (BadHttpRequestException e)
        {
            error = ApiException.BadRequest($"Bad request: {e.Message.TrimEnd('.')}.", null, "bad_request");
        }
        catch (Exception e)
        {
            log.Write("error", ("path", ctx.Request.Path.Value), ("exception", e.ToString()));
            error = ApiException.Internal();
        }
        if (ctx.Response.HasStarted) return;
        ctx.Response.Clear();
        ctx.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is { } wait)
            ctx.Response.Headers.RetryAfter = wait.ToString(CultureInfo.InvariantCulture);
        await ctx.Response.WriteAsJsonAsync(new ApiErrorResponse(error.Body), ApiJson.Options);
    }

    // With any active key, a /v1 request names one ("Authorization: Bearer <key>") and sees that key's videos; with
    // none, every request is the one anonymous owner "".
    Task Authenticate(HttpContext ctx, RequestDelegate next)
    {
        if (!ctx.Request.Path.StartsWithSegments("/v1")) return next(ctx);
        string owner = "";
        if (Keys.AnyActive())
        {
            string header = ctx.Request.Headers.Authorization.ToString();
            if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
                throw ApiException.Unauthorized("You didn't provide an API key. Send it as 'Authorization: Bearer " +
                                                "<key>' (keys are made with `spacetime keys add`).");
            owner = Keys.Find(header["Bearer ".Length..].Trim())
                    ?? throw ApiException.Unauthorized("Incorrect API key provided.");
        }
        ctx.Items[OwnerKey] = owner;
        return next(ctx);
    }

    static string Owner(HttpContext ctx) => (string)ctx.Items[OwnerKey]!;

    // ---- /v1/videos -------------------------------------------------------------------------------------------

    async Task<IResult> Create(HttpContext ctx)
    {
        CheckQueueRoom();
        var create = await VideoRequests.ReadCreate(ctx.Request, maker, (param, id) => FinishedVideo(ctx, param, id));
        string id = VideoIds.New();
        try
        {
            // uploads decoded and re-encoded (only pixels); a finished video of ours copied as it is
            if (create.Image is { } image) files.WriteInput(files.Input(id), image, null);
            if (create.Source is { } source) files.WriteInput(files.Source(id), source.Frames, source.Mp4);
            if (create.Second is { } second) files.WriteInput(files.Second(id), second.Frames, second.Mp4);
        }
        catch
        {
            files.Delete(id);                                                // no half-stored input
            throw;
        }
        return Queue(id, Owner(ctx), create.Spec);
    }

    // The MP4 of the caller's completed video `id`, named by the parameter `param` of a create request.
    string FinishedVideo(HttpContext ctx, string param, string id)
    {
        var job = (VideoIds.IsValid(id) ? Jobs.Get(id, Owner(ctx)) : null)
                  ?? throw new ApiException(404, $"{param}: no video found with id '{id}'.", "invalid_request_error",
                                            param, "not_found");
        if (job.Status != VideoStatus.Completed)
            throw new ApiException(409, $"{param}: video '{id}' is {ApiJson.Name(job.Status)}; only a completed " +
                                        "video can be used.", "invalid_request_error", param, "invalid_state");
        return files.Content(id, ContentVariant.Video).Path;
    }

    // POST /v1/detect (multipart "file"): whether the upload carries Spacetime's watermark, as `detect --json` says
    async Task<IResult> Detect(HttpContext ctx)
    {
        var upload = await VideoRequests.ReadProvenanceUpload(ctx.Request);
        var video = await VideoRequests.Decode(upload, "file", maker.Fps);
        if (Watermark.WhyTooSmall(video) is { } why)
            throw ApiException.BadRequest($"file: {why}, so no decision can be made.", "file", "file_too_small");
        return Results.Text(ProvenanceJson.Detection(Watermark.Detect(video)).ToJsonString(ProvenanceJson.Plain),
                            "application/json");
    }

    // POST /v1/inspect (multipart "file"): the upload's provenance manifest and whether it still binds the bytes, as
    // `inspect --json` says
    async Task<IResult> Inspect(HttpContext ctx)
    {
        var upload = await VideoRequests.ReadProvenanceUpload(ctx.Request);
        ManifestRead? read;
        try { read = await VideoRequests.WithUploadFile(upload, "file", ManifestStore.Read); }
        catch (MediaException e)
        {
            throw ApiException.BadRequest($"file cannot be read ({e.Message.TrimEnd('.')}).", "file", "invalid_file");
        }
        return Results.Text(ProvenanceJson.Inspection(read).ToJsonString(ProvenanceJson.Plain), "application/json");
    }

    async Task<IResult> Remix(HttpContext ctx, string id)
    {
        var source = Find(ctx, id);
        if (source.Status != VideoStatus.Completed)
            throw ApiException.Conflict($"Video '{id}' is {ApiJson.Name(source.Status)}; only a completed video can " +
                                        "be remixed.");
        CheckQueueRoom();
        var spec = await VideoRequests.ReadRemix(ctx.Request, source.Spec, id);
        string remixId = VideoIds.New();
        try { files.WriteInput(files.Source(remixId), null, files.Content(id, ContentVariant.Video).Path); }
        catch
        {
            files.Delete(remixId);
            throw;
        }
        return Queue(remixId, Owner(ctx), spec);
    }

    IResult Queue(string id, string owner, VideoSpec spec)
    {
        VideoJob job;
        try { job = Jobs.Add(id, owner, spec); }
        catch
        {
            files.Delete(id);                                                // nothing stored for a refused request
            throw;
        }
        log.Write("job", ("id", id), ("status", ApiJson.Name(VideoStatus.Queued)), ("size", spec.Size),
                  ("seconds", spec.Seconds), ("remixed_from", spec.RemixedFrom));
        workers.Wake();
        return Results.Json(job.ToObject(), ApiJson.Options);
    }

    void CheckQueueRoom()
    {
        long queued = Jobs.QueuedCount();
        if (queued < config.MaxQueued) return;
        var (sum, count) = Jobs.RunSeconds();
        double perJob = count > 0 ? sum / count : 30;                        // a guess until a job has finished
        int wait = (int)Math.Clamp(Math.Ceiling(perJob * queued / config.Workers), 1, 3600);
        throw ApiException.QueueFull((int)queued, wait);
    }

    IResult List(HttpContext ctx)
    {
        var q = ctx.Request.Query;
        int limit = 20;
        if (q.TryGetValue("limit", out var l) && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture,
                                                                out limit) || limit is < 1 or > 100))
            throw ApiException.BadRequest($"Invalid limit '{l}': a whole number from 1 to 100.", "limit");
        string order = q.TryGetValue("order", out var o) ? o.ToString() : "desc";
        if (order is not ("asc" or "desc"))
            throw ApiException.BadRequest($"Invalid order '{order}': asc or desc.", "order");
        string? after = q.TryGetValue("after", out var a) ? a.ToString() : null;
        var page = (after is null || VideoIds.IsValid(after) ? Jobs.List(Owner(ctx), after, limit, order == "asc")
                                                             : null)
                   ?? throw ApiException.BadRequest($"Invalid after '{after}': no such video.", "after");
        var data = page.Page.Select(j => j.ToObject()).ToList();
        return Results.Json(new VideoList(data, data.FirstOrDefault()?.Id, data.LastOrDefault()?.Id, page.HasMore),
                            ApiJson.Options);
    }

    IResult Retrieve(HttpContext ctx, string id)
    {
        var job = Find(ctx, id);
        if (job.Status is VideoStatus.Queued or VideoStatus.InProgress)
            ctx.Response.Headers["openai-poll-after-ms"] = PollAfterMs.ToString(CultureInfo.InvariantCulture);
        return Results.Json(job.ToObject(), ApiJson.Options);
    }

    IResult Delete(HttpContext ctx, string id)
    {
        Find(ctx, id);
        if (!Jobs.Delete(id, Owner(ctx)))
            throw ApiException.Conflict($"Video '{id}' is being generated; delete it once it has completed or failed.");
        files.Delete(id);
        log.Write("job", ("id", id), ("status", "deleted"));
        return Results.Json(new VideoDeleted(id), ApiJson.Options);
    }

    IResult Content(HttpContext ctx, string id)
    {
        string name = ctx.Request.Query.TryGetValue("variant", out var v) ? v.ToString() : "video";
        var variant = Enum.GetValues<ContentVariant>().Where(c => c.ToString().ToLowerInvariant() == name)
                          .Cast<ContentVariant?>().FirstOrDefault()
                      ?? throw ApiException.BadRequest($"Invalid variant '{name}': video, thumbnail or spritesheet.",
                                                       "variant");
        var job = Find(ctx, id);
        if (job.Status != VideoStatus.Completed)
            throw ApiException.Conflict($"Video '{id}' is {ApiJson.Name(job.Status)}; its content is there once it " +
                                        "has completed.");
        var (path, type) = files.Content(id, variant);
        if (!File.Exists(path)) throw new FileNotFoundException($"completed video {id} has no {path}");
        return Results.File(path, type, enableRangeProcessing: true);
    }

    // The caller's video with this id; a malformed id, another key's video and a missing one are all 404.
    VideoJob Find(HttpContext ctx, string id) =>
        (VideoIds.IsValid(id) ? Jobs.Get(id, Owner(ctx)) : null) ?? throw ApiException.NotFound(id);

    // ---- health and metrics ----------------------------------------------------------------------------------

    IResult Health()
    {
        var counts = Jobs.CountByStatus();                                   // also proves the database answers
        return Results.Json(new { status = "ok", workers = config.Workers, queued = counts[VideoStatus.Queued],
                                  in_progress = counts[VideoStatus.InProgress] });
    }

    IResult Metrics()
    {
        var counts = Jobs.CountByStatus();
        var (sum, count) = Jobs.RunSeconds();
        var text = new StringBuilder();
        text.Append("# HELP spacetime_videos Videos by status.\n# TYPE spacetime_videos gauge\n");
        foreach (var (status, n) in counts) text.Append($"spacetime_videos{{status=\"{ApiJson.Name(status)}\"}} {n}\n");
        text.Append("# HELP spacetime_queue_depth Videos waiting for a worker.\n# TYPE spacetime_queue_depth gauge\n");
        text.Append($"spacetime_queue_depth {counts[VideoStatus.Queued]}\n");
        text.Append("# HELP spacetime_workers Worker threads.\n# TYPE spacetime_workers gauge\n");
        text.Append($"spacetime_workers {config.Workers}\n");
        text.Append("# HELP spacetime_job_seconds Wall time of finished jobs (completed or failed).\n");
        text.Append("# TYPE spacetime_job_seconds summary\n");
        text.Append(CultureInfo.InvariantCulture, $"spacetime_job_seconds_sum {sum:0.###}\n");
        text.Append($"spacetime_job_seconds_count {count}\n");
        return Results.Text(text.ToString(), "text/plain; version=0.0.4; charset=utf-8");
    }
}
