// VideoRequests: reads and checks the body of POST /v1/videos and POST /v1/videos/{id}/remix, as OpenAI's SDKs send
// it: JSON, or multipart/form-data when there is an input_reference file (then every field is a form field).
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
// Remix takes prompt and the extensions. An unknown field, a value of the wrong JSON type, an image whose bytes are
// not the image its content type says: a 400 naming the parameter. Nothing here writes anything.
using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Spacetime.Media;
using Spacetime.Pipelines;

namespace Spacetime.Server;

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

    static readonly string[] CreateFields = ["prompt", "model", "seconds", "size", "input_reference", "seed",
                                             "negative_prompt", "steps"];
    static readonly string[] RemixFields = ["prompt", "seed", "negative_prompt", "steps"];
    static readonly string[] NumberFields = ["seed", "steps"];

    /// <summary>A create request's spec and its input image (null: text to video).</summary>
    public static async Task<(VideoSpec Spec, Frames? Image)> ReadCreate(HttpRequest request, IVideoMaker maker)
    {
        var (fields, file) = await ReadBody(request, CreateFields);
        var (w, h) = fields.TryGetValue("size", out var size) ? Size(size) : maker.DefaultSize;
        string seconds = fields.TryGetValue("seconds", out var s) ? Seconds(s) : DefaultSeconds;
        string model = fields.GetValueOrDefault("model") ?? DefaultModel;
        if (!IsModelName(model))
            throw ApiException.BadRequest($"Unknown model '{model}'; use one of {string.Join(", ", ModelNames)}.",
                                          "model");
        var spec = Extensions(new VideoSpec(Prompt(fields), model, seconds, w, h), fields);
        long frames = (long)Math.Round(spec.Duration * maker.Fps, MidpointRounding.AwayFromZero);
        if (frames * w * h * 3 > GenerationRequest.MaxBytes)
            throw ApiException.BadRequest($"{seconds} s at {w}x{h} needs more than 2 GiB of frames; ask for a " +
                                          "shorter or smaller video.", "seconds");
        var image = file is null ? null : await Image(file, maker.Fps);
        return (spec with { HasInputReference = image is not null }, image);
    }

    /// <summary>A remix of <paramref name="source"/>: its size, duration, model and knobs, with the new prompt (and
    /// any knobs the request changes).</summary>
    public static async Task<VideoSpec> ReadRemix(HttpRequest request, VideoSpec source, string sourceId)
    {
        var (fields, _) = await ReadBody(request, RemixFields);
        var spec = source with { Prompt = Prompt(fields), HasInputReference = false, RemixedFrom = sourceId };
        return Extensions(spec, fields);
    }

    // The body's fields as strings (JSON strings, or the raw text of JSON numbers where a number is allowed), and
    // the input_reference file.
    static async Task<(Dictionary<string, string> Fields, IFormFile? File)> ReadBody(HttpRequest request,
                                                                                     string[] known)
    {
        var fields = new Dictionary<string, string>();
        if (request.HasFormContentType)
        {
            var form = await request.ReadFormAsync();
            foreach (var (name, values) in form)
            {
                Known(name, known);
                if (name == "input_reference")
                    throw ApiException.BadRequest("input_reference must be a file (an image), not a text field.", name,
                                                  "invalid_type");
                if (values.Count != 1) throw ApiException.BadRequest($"'{name}' is given {values.Count} times.", name);
                fields[name] = values[0] ?? "";
            }
            IFormFile? image = null;
            foreach (var file in form.Files)
            {
                Known(file.Name, known);
                if (file.Name != "input_reference")
                    throw ApiException.BadRequest($"'{file.Name}' must be a text field, not a file.", file.Name,
                                                  "invalid_type");
                if (image is not null) throw ApiException.BadRequest("input_reference is given twice.", file.Name);
                image = file;
            }
            return (fields, image);
        }
        if (request.ContentType is not { } type
            || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
            throw ApiException.BadRequest("Send the request as application/json or multipart/form-data.", null,
                                          "unsupported_content_type");
        JsonDocument doc;
        try { doc = await JsonDocument.ParseAsync(request.Body); }
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
                    throw ApiException.BadRequest("input_reference is an image file: send the request as " +
                                                  "multipart/form-data.", p.Name, "invalid_type");
                switch (p.Value.ValueKind)
                {
                    case JsonValueKind.Null: break;                               // as if absent
                    case JsonValueKind.String: fields[p.Name] = p.Value.GetString()!; break;
                    case JsonValueKind.Number when NumberFields.Contains(p.Name):
                        fields[p.Name] = p.Value.GetRawText();
                        break;
                    default:
                        string expected = NumberFields.Contains(p.Name) ? "an integer" : "a string";
                        throw ApiException.BadRequest($"Invalid type for '{p.Name}': expected {expected}, but got " +
                                                      $"{p.Value.ValueKind.ToString().ToLowerInvariant()}.", p.Name,
                                                      "invalid_type");
                }
            }
        }
        return (fields, null);
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

    // The uploaded image, decoded. Its bytes decide what it is; a content type that names another image format is a
    // lie, and a file that is no image is refused. The upload passes through a temporary file that is always removed.
    static async Task<Frames> Image(IFormFile file, double fps)
    {
        const string param = "input_reference";
        if (file.Length == 0) throw ApiException.BadRequest("input_reference is empty.", param);
        var head = new byte[16];
        int got;
        await using (var s = file.OpenReadStream())
            got = await s.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false);
        string? kind = Sniff(head.AsSpan(0, got));
        if (kind is null)
            throw ApiException.BadRequest("input_reference is not an image (PNG, JPEG, WebP, GIF or BMP).", param,
                                          "invalid_image");
        string? declared = file.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (declared is { Length: > 0 } && declared.StartsWith("image/") && !ImageTypes(kind).Contains(declared))
            throw ApiException.BadRequest($"input_reference says {declared} but its bytes are a {kind} image.", param,
                                          "invalid_image");
        string temp = Path.Combine(Path.GetTempPath(), $"spacetime-upload-{Guid.NewGuid():N}.{kind}");
        try
        {
            await using (var target = File.Create(temp)) await file.CopyToAsync(target);
            return ImageFile.Read(temp, fps);
        }
        catch (MediaException e)
        {
            throw ApiException.BadRequest($"input_reference cannot be read as an image ({e.Message.TrimEnd('.')}).",
                                          param, "invalid_image");
        }
        finally { File.Delete(temp); }
    }

    // The image format of a file from its first bytes (the extension ImageFile reads it by), or null.
    static string? Sniff(ReadOnlySpan<byte> b)
    {
        if (b.StartsWith((ReadOnlySpan<byte>)[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])) return "png";
        if (b.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xD8, 0xFF])) return "jpg";
        if (b.StartsWith("GIF8"u8)) return "gif";
        if (b.StartsWith("BM"u8)) return "bmp";
        if (b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8)) return "webp";
        return null;
    }

    static string[] ImageTypes(string kind) => kind switch
    {
        "jpg" => ["image/jpeg", "image/jpg", "image/pjpeg"],
        "bmp" => ["image/bmp", "image/x-ms-bmp"],
        _ => [$"image/{kind}"],
    };
}
