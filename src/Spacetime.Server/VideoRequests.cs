// VideoRequests: reads and checks the body of POST /v1/videos and POST /v1/videos/{id}/remix, as OpenAI's SDKs send
// it: JSON, or multipart/form-data when there is a file (then every field is a form field).
//     prompt            required; at most GenerationRequest.MaxPromptChars characters
//     model             "spacetime", "sora-2", "sora-2-pro" or their dated names ("sora-2-2025-10-06"): all mean
//                       the loaded model; default "spacetime"
//     seconds           a string, as OpenAI sends it ("4", "8", "12", or any duration in (0, 60]); default "4"
//     size              "WxH", each side 16..1920 (OpenAI's 720x1280, 1280x720, 1024x1792, 1792x1024 included);
//                       default: the model's own size
//     input_reference   an image file (PNG, JPEG, WebP, GIF, BMP): image to video; multipart only
//   our extensions:
//     seed              a whole number >= 0 (default 0)
//     negative_prompt   what to steer away from
//     steps             sampler steps, 1..MaxSteps
//     extend            a video: new frames after it (the output starts with its last frames)
//     extend_backward   true: extend's new frames go before the video instead (default false)
//     loop              true: a seamless loop (from the input_reference image when one is given)
//     connect           two videos, in order: a transition from the end of the first to the start of the second
//     strength          with a video as input_reference: video to video (SDEdit), how much to change it, in (0, 1]
//                       (default ModelVideoMaker.RemixStrength); the output has the video's length, so no seconds
// A video (extend, connect) is a file part in multipart (MP4/MOV, WebM/MKV, AVI, Y4M, an animated GIF, or an image
// as a one-frame video), or the id of one of the caller's completed videos: a JSON string ("extend": "video_...";
// "connect": ["video_a", "video_b"]) or a text part of that name (a connection's two parts both files or both ids,
// so their order is the parts' order). input_reference is a file, an image or a video (a video needs multipart:
// to edit a finished video by id, remix it). Booleans are JSON true/false, or "true"/"false" in a form. One mode at
// a time (an image, an edit, extend, connect, loop; loop may start from an image). A loop, a connection and a
// backward extension are at most one model window (default seconds: the window).
// Remix takes prompt, seed, negative_prompt, steps and strength. An unknown field, a value of the wrong JSON type,
// two modes at once, a file whose bytes are not the image or video its content type says: a 400 naming the
// parameter; an id that is not the caller's: 404, one not completed: 409. Nothing here writes anything but a
// temporary file for decoding, always removed.
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Spacetime.Media;
using Spacetime.Pipelines;

namespace Spacetime.Server;

/// <summary>A video a create request gives: decoded from an upload, or the MP4 of one of the caller's completed
/// videos (stored as it is).</summary>
public sealed record GivenVideo(Frames? Frames, string? Mp4);

/// <summary>A checked create request and the inputs of its mode.</summary>
/// <param name="Spec">What to make.</param>
/// <param name="Image">The input_reference image (image to video, a loop's start), or null.</param>
/// <param name="Source">The video to edit, extend, or connect from; or null.</param>
/// <param name="Second">The video a connection leads into, or null.</param>
public sealed record CreateRequest(VideoSpec Spec, Frames? Image, GivenVideo? Source, GivenVideo? Second);

/// <summary>Reading create and remix requests.</summary>
public static class VideoRequests
{
    /// <summary>The model name a request without one gets.</summary>
    public const string DefaultModel = "spacetime";
    /// <summary>Model names that mean the loaded model (OpenAI's, so code written for them works unchanged); their
    /// dated snapshots ("sora-2-2025-10-06") too.</summary>
    public static readonly IReadOnlyList<string> ModelNames = [DefaultModel, "sora-2", "sora-2-pro"];

    static bool IsModelName(string name) =>
        ModelNames.Contains(name) || name.StartsWith("sora-2-", StringComparison.Ordinal);
    /// <summary>Duration of a request without one (OpenAI's default).</summary>
    public const string DefaultSeconds = "4";
    /// <summary>Smallest and largest side of a requested size.</summary>
    public const int MinSide = 16, MaxSide = 1920;
    /// <summary>Most sampler steps a request may ask for.</summary>
    public const int MaxSteps = 200;

    /// <summary>Most bytes an input video may decode to (RGB frames).</summary>
    public const long MaxInputBytes = 1L << 30;

    static readonly string[] CreateFields = ["prompt", "model", "seconds", "size", "input_reference", "seed",
                                             "negative_prompt", "steps", "extend", "extend_backward", "loop",
                                             "connect", "strength"];
    static readonly string[] RemixFields = ["prompt", "seed", "negative_prompt", "steps", "strength"];
    static readonly string[] NumberFields = ["seed", "steps", "strength"];
    static readonly string[] BoolFields = ["loop", "extend_backward"];
    static readonly string[] VideoFields = ["extend", "connect"];

    /// <summary>A create request: its spec and the inputs its mode needs. <paramref name="finishedVideo"/> gives
    /// the MP4 of the caller's completed video with an id (the parameter naming it, the id), or throws the 404/409.
    /// </summary>
    public static async Task<CreateRequest> ReadCreate(HttpRequest request, IVideoMaker maker,
                                                       Func<string, string, string> finishedVideo)
    {
        var body = await ReadBody(request, CreateFields);
        var fields = body.Fields;
        var (w, h) = fields.TryGetValue("size", out var size) ? Size(size) : maker.DefaultSize;
        string model = fields.GetValueOrDefault("model") ?? DefaultModel;
        if (!IsModelName(model))
            throw ApiException.BadRequest($"Unknown model '{model}'; use one of {string.Join(", ", ModelNames)}.",
                                          "model");
        var spec = Extensions(new VideoSpec(Prompt(fields), model, DefaultSeconds, w, h), fields);
        var mode = Mode(body, await ReferenceKind(body.Reference));
        bool storesImage = mode is GenerationMode.Image || (mode is GenerationMode.Loop && body.Reference is not null);
        spec = spec with { Mode = mode, HasInputReference = storesImage };
        if (spec.Strength is not null && mode != GenerationMode.Edit)
            throw ApiException.BadRequest("strength is how much to change a video: give the video as input_reference " +
                                          "(or remix a finished video).", "strength");

        // the length: as asked (a loop, connection or backward extension at most one window); an edit's is its video's
        bool windowed = mode is GenerationMode.Loop or GenerationMode.Connect or GenerationMode.ExtendBackward;
        string windowSeconds = (Math.Floor(maker.WindowFrames / maker.Fps * 1000) / 1000)
            .ToString("0.###", CultureInfo.InvariantCulture);
        if (fields.TryGetValue("seconds", out var s))
        {
            if (mode == GenerationMode.Edit)
                throw ApiException.BadRequest("An edit keeps the length of its video; leave seconds out.", "seconds");
            spec = spec with { Seconds = Seconds(s) };
        }
        else if (windowed) spec = spec with { Seconds = windowSeconds };
        if (windowed && Frames(spec, maker) > maker.WindowFrames)
            throw ApiException.BadRequest($"{Generator.Describe(mode)} is at most one model window, {windowSeconds} s; ask for " +
                                          "fewer seconds.", "seconds");
        CheckBytes(spec, maker);

        // the inputs: ids first (cheap), then the uploads decoded
        var videos = body.Videos.Values.SelectMany(v => v).ToList();
        var found = videos.Where(v => v.Id is not null).ToDictionary(v => v, v => finishedVideo(v.Param, v.Id!));
        async Task<GivenVideo> Given(GivenPart part) =>
            found.TryGetValue(part, out var mp4)
                ? new GivenVideo(null, mp4)
                : new GivenVideo(await Decode(part.File!, part.Param, maker.Fps), null);
        Frames? image = null;
        GivenVideo? source = null, second = null;
        switch (mode)
        {
            case GenerationMode.Image or GenerationMode.Loop when body.Reference is not null:
                image = await Decode(body.Reference, "input_reference", maker.Fps);
                break;
            case GenerationMode.Edit:
                var video = await Decode(body.Reference!, "input_reference", maker.Fps);
                source = new GivenVideo(video, null);
                spec = spec with { Seconds = video.Seconds.ToString("0.###", CultureInfo.InvariantCulture) };
                if (!(video.Seconds <= GenerationRequest.MaxSeconds))
                    throw ApiException.BadRequest($"input_reference is {video.Seconds:0.#} s long; an edit takes at " +
                                                  $"most {GenerationRequest.MaxSeconds} s.", "input_reference");
                CheckBytes(spec, maker);
                break;
            case GenerationMode.ExtendForward or GenerationMode.ExtendBackward:
                source = await Given(body.Videos["extend"][0]);
                break;
            case GenerationMode.Connect:
                source = await Given(body.Videos["connect"][0]);
                second = await Given(body.Videos["connect"][1]);
                break;
        }
        return new CreateRequest(spec, image, source, second);
    }

    /// <summary>A remix of <paramref name="source"/>: its size, duration, model and knobs, with the new prompt (and
    /// any knobs the request changes, strength among them).</summary>
    public static async Task<VideoSpec> ReadRemix(HttpRequest request, VideoSpec source, string sourceId)
    {
        var body = await ReadBody(request, RemixFields);
        var spec = source with { Prompt = Prompt(body.Fields), Mode = GenerationMode.Edit, HasInputReference = false,
                                 RemixedFrom = sourceId, Strength = null };
        return Extensions(spec, body.Fields);
    }

    // The mode the given parameters ask for; two at once (but a loop from an image) is a 400 naming the second.
    static GenerationMode Mode(Body body, UploadKind? reference)
    {
        bool loop = Bool(body.Fields, "loop"), backward = Bool(body.Fields, "extend_backward");
        var extend = body.Videos.GetValueOrDefault("extend");
        var connect = body.Videos.GetValueOrDefault("connect");
        if (extend is not null && extend.Count != 1)
            throw ApiException.BadRequest($"extend is given {extend.Count} times; give one video.", "extend");
        if (connect is not null && connect.Count != 2)
            throw ApiException.BadRequest($"connect is given {connect.Count} video(s); give two, in order.", "connect");
        if (connect is not null && (connect[0].Id is null) != (connect[1].Id is null))
            throw ApiException.BadRequest("connect: give two files or two ids, not one of each (their order would " +
                                          "be unclear).", "connect");
        if (backward && extend is null)
            throw ApiException.BadRequest("extend_backward needs extend, the video to extend.", "extend_backward");
        if (loop && reference == UploadKind.Video)
            throw ApiException.BadRequest("A loop starts from an image; input_reference is a video.",
                                          "input_reference", "conflicting_parameters");
        var modes = new List<(string Param, GenerationMode Mode)>();
        if (reference is { } kind && !loop)
            modes.Add(("input_reference", kind == UploadKind.Video ? GenerationMode.Edit : GenerationMode.Image));
        if (extend is not null)
            modes.Add(("extend", backward ? GenerationMode.ExtendBackward : GenerationMode.ExtendForward));
        if (connect is not null) modes.Add(("connect", GenerationMode.Connect));
        if (loop) modes.Add(("loop", GenerationMode.Loop));
        if (modes.Count > 1)
            throw ApiException.BadRequest($"{modes[0].Param} ({Generator.Describe(modes[0].Mode)}) and {modes[1].Param} " +
                                          $"({Generator.Describe(modes[1].Mode)}) are two modes; give one.", modes[1].Param,
                                          "conflicting_parameters");
        return modes.Count == 1 ? modes[0].Mode : GenerationMode.Text;
    }

    static bool Bool(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out var text)
            ? text switch
            {
                "true" => true,
                "false" => false,
                _ => throw ApiException.BadRequest($"Invalid {name} '{text}': true or false.", name),
            }
            : false;

    // Frames of the spec's length at the maker's frame rate.
    static long Frames(VideoSpec spec, IVideoMaker maker) =>
        (long)Math.Round(spec.Duration * maker.Fps, MidpointRounding.AwayFromZero);

    static void CheckBytes(VideoSpec spec, IVideoMaker maker)
    {
        if (Frames(spec, maker) * spec.Width * spec.Height * 3 > GenerationRequest.MaxBytes)
            throw ApiException.BadRequest($"{spec.Seconds} s at {spec.Size} needs more than 2 GiB of frames; ask " +
                                          "for a shorter or smaller video.", "seconds");
    }

    // The body: single fields as strings (JSON strings, the raw text of JSON numbers where a number is allowed,
    // "true"/"false" for JSON booleans), the input_reference file, and the videos of extend and connect in order.
    sealed record Body(Dictionary<string, string> Fields, IFormFile? Reference,
                       Dictionary<string, List<GivenPart>> Videos);

    // One video of extend or connect: an uploaded file, or the id of a finished video (a class: the same id given
    // twice is two parts).
    sealed class GivenPart(string param, IFormFile? file, string? id)
    {
        public string Param => param;
        public IFormFile? File => file;
        public string? Id => id;
    }

    static async Task<Body> ReadBody(HttpRequest request, string[] known)
    {
        var body = new Body([], null, []);
        void AddVideo(string name, IFormFile? file, string? id)
        {
            if (!body.Videos.TryGetValue(name, out var list)) body.Videos[name] = list = [];
            list.Add(new GivenPart(name, file, id));
        }
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
            foreach (var (name, values) in form)
            {
                Known(name, known);
                if (name == "input_reference")
                    throw ApiException.BadRequest("input_reference must be a file (an image or a video), not a text " +
                                                  "field.", name, "invalid_type");
                if (VideoFields.Contains(name))
                {
                    foreach (var id in values) AddVideo(name, null, id ?? "");
                    continue;
                }
                if (values.Count != 1) throw ApiException.BadRequest($"'{name}' is given {values.Count} times.", name);
                body.Fields[name] = values[0] ?? "";
            }
            IFormFile? reference = null;
            foreach (var file in form.Files)
            {
                Known(file.Name, known);
                if (VideoFields.Contains(file.Name)) AddVideo(file.Name, file, null);
                else if (file.Name != "input_reference")
                    throw ApiException.BadRequest($"'{file.Name}' must be a text field, not a file.", file.Name,
                                                  "invalid_type");
                else if (reference is not null)
                    throw ApiException.BadRequest("input_reference is given twice.", file.Name);
                else reference = file;
            }
            return body with { Reference = reference };
        }
        if (request.ContentType is not { } type
            || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw ApiException.BadRequest("Send the request as application/json or multipart/form-data.", null,
                                          "unsupported_content_type");
        JsonDocument doc;
        var aborted = request.HttpContext.RequestAborted;
        try { doc = await JsonDocument.ParseAsync(request.Body, cancellationToken: aborted); }
        catch (JsonException)
        {
            throw ApiException.BadRequest("We could not parse the JSON body of your request.", null, "invalid_json");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw ApiException.BadRequest("The JSON body must be an object.", null, "invalid_json");
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                Known(p.Name, known);
                if (p.Name == "input_reference")
                    throw ApiException.BadRequest("input_reference is a file: send the request as " +
                                                  "multipart/form-data.", p.Name, "invalid_type");
                var value = p.Value;
                switch (value.ValueKind)
                {
                    case JsonValueKind.Null: break;                               // as if absent
                    case JsonValueKind.String when p.Name == "extend": AddVideo(p.Name, null, value.GetString()); break;
                    case JsonValueKind.Array when p.Name == "connect" && value.EnumerateArray()
                                                      .All(v => v.ValueKind == JsonValueKind.String):
                        foreach (var v in value.EnumerateArray()) AddVideo(p.Name, null, v.GetString());
                        break;
                    case JsonValueKind.String when !VideoFields.Contains(p.Name):
                        body.Fields[p.Name] = value.GetString()!;
                        break;
                    case JsonValueKind.Number when NumberFields.Contains(p.Name):
                        body.Fields[p.Name] = value.GetRawText();
                        break;
                    case JsonValueKind.True or JsonValueKind.False when BoolFields.Contains(p.Name):
                        body.Fields[p.Name] = value.ValueKind == JsonValueKind.True ? "true" : "false";
                        break;
                    default:
                        string expected = p.Name switch
                        {
                            "extend" => "the id of a completed video (a string)",
                            "connect" => "an array of two video ids",
                            _ when NumberFields.Contains(p.Name) => "a number",
                            _ when BoolFields.Contains(p.Name) => "a boolean",
                            _ => "a string",
                        };
                        throw ApiException.BadRequest($"Invalid type for '{p.Name}': expected {expected}, but got " +
                                                      $"{value.ValueKind.ToString().ToLowerInvariant()}.", p.Name,
                                                      "invalid_type");
                }
            }
        }
        return body;
    }

    static void Known(string name, string[] known)
    {
        if (!known.Contains(name))
            throw ApiException.BadRequest($"Unknown parameter: '{name}'.", name, "unknown_parameter");
    }

    static string Prompt(Dictionary<string, string> fields)
    {
        if (!fields.TryGetValue("prompt", out var prompt) || string.IsNullOrWhiteSpace(prompt))
            throw ApiException.BadRequest("Missing required parameter: 'prompt'.", "prompt",
                                          "missing_required_parameter");
        if (prompt.Length > GenerationRequest.MaxPromptChars)
            throw ApiException.BadRequest($"The prompt has {prompt.Length} characters; at most " +
                                          $"{GenerationRequest.MaxPromptChars}.", "prompt", "string_above_max_length");
        return prompt;
    }

    static VideoSpec Extensions(VideoSpec spec, Dictionary<string, string> fields)
    {
        if (fields.TryGetValue("seed", out var seed))
            spec = spec with { Seed = ulong.TryParse(seed, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                ? v : throw ApiException.BadRequest($"Invalid seed '{seed}': a whole number, 0 or more.", "seed") };
        if (fields.TryGetValue("steps", out var steps))
            spec = spec with { Steps = int.TryParse(steps, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                                       && n is >= 1 and <= MaxSteps
                ? n : throw ApiException.BadRequest($"Invalid steps '{steps}': a whole number from 1 to {MaxSteps}.",
                                                    "steps") };
        if (fields.TryGetValue("strength", out var strength))
            spec = spec with { Strength = double.TryParse(strength, NumberStyles.AllowDecimalPoint,
                                                          CultureInfo.InvariantCulture, out var x) && x > 0 && x <= 1
                ? x : throw ApiException.BadRequest($"Invalid strength '{strength}': a number above 0 and at most 1.",
                                                    "strength") };
        if (fields.TryGetValue("negative_prompt", out var negative))
        {
            if (negative.Length > GenerationRequest.MaxPromptChars)
                throw ApiException.BadRequest($"negative_prompt has {negative.Length} characters; at most " +
                                              $"{GenerationRequest.MaxPromptChars}.", "negative_prompt",
                                              "string_above_max_length");
            spec = spec with { NegativePrompt = negative };
        }
        return spec;
    }

    /// <summary>"WxH" with each side in [MinSide, MaxSide], or a 400 naming size.</summary>
    public static (int Width, int Height) Size(string text)
    {
        var parts = text.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
                              || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h))
            throw ApiException.BadRequest($"Invalid size '{text}': write it as WIDTHxHEIGHT, e.g. 1280x720.", "size");
        if (w is < MinSide or > MaxSide || h is < MinSide or > MaxSide)
            throw ApiException.BadRequest($"Invalid size '{text}': each side must be {MinSide} to {MaxSide} pixels.",
                                          "size");
        return (w, h);
    }

    /// <summary>A duration string in (0, MaxSeconds], returned as given, or a 400 naming seconds.</summary>
    public static string Seconds(string text)
    {
        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double s)
            || !(s > 0 && s <= GenerationRequest.MaxSeconds))
            throw ApiException.BadRequest($"Invalid seconds '{text}': a duration above 0 and at most " +
                                          $"{GenerationRequest.MaxSeconds}, as a string (\"4\", \"8\", \"12\").",
                                          "seconds");
        return text;
    }

    /// <summary>What the bytes of an upload are.</summary>
    enum UploadKind { Image, Video }

    // What input_reference is (null: none), from its first bytes; neither an image nor a video is a 400.
    static async Task<UploadKind?> ReferenceKind(IFormFile? file) =>
        file is null ? null : Kind(await Sniff(file, "input_reference"));

    static UploadKind Kind(string format) => format is "mp4" or "mkv" or "avi" or "y4m" ? UploadKind.Video
                                                                                          : UploadKind.Image;

    // The format of an upload from its first bytes (the extension it is decoded by), checked against the content type
    // it declares: a type of the other kind (an image/* that is a video) or of another image format is a lie.
    static async Task<string> Sniff(IFormFile file, string param)
    {
        if (file.Length == 0) throw ApiException.BadRequest($"{param} is empty.", param);
        var head = new byte[16];
        int got;
        await using (var s = file.OpenReadStream())
            got = await s.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false);
        string? format = Format(head.AsSpan(0, got));
        if (format is null)
            throw ApiException.BadRequest($"{param} is not an image (PNG, JPEG, WebP, GIF, BMP) or a video (MP4, " +
                                          "MOV, WebM, MKV, AVI, Y4M).", param, "invalid_file");
        string? declared = file.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        string noun = Kind(format) == UploadKind.Video ? "video" : "image";
        if (declared is { Length: > 0 } && (declared.StartsWith("image/") || declared.StartsWith("video/"))
            && (declared.StartsWith("video/") != (noun == "video")
                || (noun == "image" && !ImageTypes(format).Contains(declared))))
            throw ApiException.BadRequest($"{param} says {declared} but its bytes are a {format} {noun}.", param,
                                          "invalid_file");
        return format;
    }

    // An upload decoded: an image to one frame (an animated GIF given as a video to all of its frames), a video to
    // its frames if they fit in MaxInputBytes. The upload passes through a temporary file that is always removed.
    /// <summary>The one file of a POST /v1/detect or /v1/inspect: multipart/form-data with a single file part named
    /// "file" (an image or a video) and nothing else; anything else is a 400 naming it.</summary>
    public static async Task<IFormFile> ReadProvenanceUpload(HttpRequest request)
    {
        if (!request.HasFormContentType)
            throw ApiException.BadRequest("Send the video as multipart/form-data, in a file part named 'file'.", "file");
        var form = await request.ReadFormAsync(request.HttpContext.RequestAborted);
        foreach (var (name, _) in form)
            throw ApiException.BadRequest($"Unknown parameter: '{name}'.", name, "unknown_parameter");
        var file = form.Files.FirstOrDefault(f => f.Name != "file");
        if (file is not null)
            throw ApiException.BadRequest($"Unknown parameter: '{file.Name}'.", file.Name, "unknown_parameter");
        if (form.Files.Count != 1)
            throw ApiException.BadRequest(form.Files.Count == 0 ? "Give the video in a file part named 'file'."
                                                                : "'file' is given more than once.", "file");
        return form.Files[0];
    }

    /// <summary>Runs <paramref name="read"/> on an upload's bytes saved to a temp file named with its sniffed format
    /// (what a reader that goes by the extension needs), then deletes the file.</summary>
    public static async Task<T> WithUploadFile<T>(IFormFile file, string param, Func<string, T> read)
    {
        string format = await Sniff(file, param);
        string temp = Path.Combine(Path.GetTempPath(), $"spacetime-upload-{Guid.NewGuid():N}.{format}");
        try
        {
            await using (var target = File.Create(temp)) await file.CopyToAsync(target);
            return read(temp);
        }
        finally { File.Delete(temp); }
    }

    /// <summary>An uploaded image or video decoded (PNG, JPEG, WebP, GIF, BMP, MP4, MOV, WebM, MKV, AVI, Y4M): sniffed
    /// format, declared type and decoded size checked; a 400 naming <paramref name="param"/> otherwise.</summary>
    public static async Task<Frames> Decode(IFormFile file, string param, double fps)
    {
        string format = await Sniff(file, param);
        bool asVideo = Kind(format) == UploadKind.Video || (format == "gif" && param != "input_reference");
        string temp = Path.Combine(Path.GetTempPath(), $"spacetime-upload-{Guid.NewGuid():N}.{format}");
        try
        {
            await using (var target = File.Create(temp)) await file.CopyToAsync(target);
            if (!asVideo) return ImageFile.Read(temp, fps);
            var info = VideoFile.Probe(temp, fps);
            if ((double)info.NumFrames * info.Width * info.Height * 3 > MaxInputBytes)
                throw ApiException.BadRequest($"{param} decodes to {info.NumFrames} frames of {info.Width}x" +
                                              $"{info.Height}, over {MaxInputBytes >> 20} MiB; send a shorter or " +
                                              "smaller video.", param, "file_too_large");
            return VideoFile.Read(temp, fps);
        }
        catch (MediaException e)
        {
            throw ApiException.BadRequest($"{param} cannot be read as {(asVideo ? "a video" : "an image")} " +
                                          $"({e.Message.TrimEnd('.')}).", param, "invalid_file");
        }
        finally { File.Delete(temp); }
    }

    // The format of a file from its first bytes (the extension it is read by), or null.
    static string? Format(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) return "png";
        if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return "jpg";
        if (b.StartsWith("GIF8"u8)) return "gif";
        if (b.StartsWith("BM"u8)) return "bmp";
        if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8)) return "webp";
        if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("AVI "u8)) return "avi";
        if (b.Length >= 8 && b[4..8].SequenceEqual("ftyp"u8)) return "mp4";             // MP4, MOV, M4V, 3GP
        if (b.StartsWith((ReadOnlySpan<byte>)[0x1A, 0x45, 0xDF, 0xA3])) return "mkv";    // Matroska, WebM
        if (b.StartsWith("YUV4MPEG2"u8)) return "y4m";
        return null;
    }

    static string[] ImageTypes(string kind) => kind switch
    {
        "jpg" => ["image/jpeg", "image/jpg", "image/pjpeg"],
        "bmp" => ["image/bmp", "image/x-ms-bmp"],
        _ => [$"image/{kind}"],
    };
}
