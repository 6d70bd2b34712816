// The wire shapes of the Videos API, as OpenAI's SDKs parse them (snake_case names; absent values sent as null):
//     video         {"id", "object": "video", "model", "status", "progress", "created_at", "completed_at",
//                    "expires_at", "seconds", "size", "prompt", "remixed_from_video_id", "error": {"code", "message"}}
//     list          {"object": "list", "data": [video...], "first_id", "last_id", "has_more"}
//     deleted       {"id", "object": "video.deleted", "deleted": true}
// Times are Unix seconds. A finished video's expires_at is completed_at plus the server's retention (--retention-days;
// null while it is being made, and always with a retention of 0, which keeps videos until they are deleted).
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spacetime.Server;

/// <summary>Where a video job is. Written on the wire in snake_case ("in_progress").</summary>
public enum VideoStatus
{
    /// <summary>Waiting for a worker.</summary>
    Queued,
    /// <summary>A worker is generating it.</summary>
    InProgress,
    /// <summary>Its files are complete and can be downloaded.</summary>
    Completed,
    /// <summary>Generation failed; error says why.</summary>
    Failed,
}

/// <summary>Why a video failed.</summary>
public sealed record VideoError(string Code, string Message);

/// <summary>A video job as the API returns it.</summary>
public sealed record VideoObject(
    string Id, string Model, VideoStatus Status, int Progress, long CreatedAt, long? CompletedAt, long? ExpiresAt,
    string Seconds, string Size, string Prompt, string? RemixedFromVideoId, VideoError? Error)
{
    /// <summary>Always "video".</summary>
    public string Object => "video";
}

/// <summary>A page of videos (cursor pagination: pass last_id as `after` for the next page).</summary>
public sealed record VideoList(IReadOnlyList<VideoObject> Data, string? FirstId, string? LastId, bool HasMore)
{
    /// <summary>Always "list".</summary>
    public string Object => "list";
}

/// <summary>The answer to DELETE.</summary>
public sealed record VideoDeleted(string Id)
{
    /// <summary>Always "video.deleted".</summary>
    public string Object => "video.deleted";
    /// <summary>Always true (a video that cannot be deleted is an error instead).</summary>
    public bool Deleted => true;
}

/// <summary>The JSON settings of every response (and of the specs kept in the database).</summary>
public static class ApiJson
{
    /// <summary>snake_case names and enum values; nulls written out, as OpenAI does.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>The wire name of a status ("in_progress").</summary>
    public static string Name(VideoStatus s) => JsonNamingPolicy.SnakeCaseLower.ConvertName(s.ToString());
}
