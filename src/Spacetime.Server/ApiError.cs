// ApiError: a request the server refuses, as OpenAI's error object
//     {"error": {"message": "...", "type": "invalid_request_error", "param": "size", "code": "invalid_value"}}
// with the HTTP status the SDKs map to their exception types (400 BadRequest, 401 Authentication, 404 NotFound,
// 409 Conflict, 413, 429 RateLimit, 500 InternalServer). Handlers throw ApiException; VideoServer's error middleware
// writes it. Nothing is stored for a refused request: every check runs before anything is written.
namespace Spacetime.Server;

/// <summary>The "error" member of an OpenAI error response.</summary>
public sealed record ApiErrorBody(string Message, string Type, string? Param, string? Code);

/// <summary>An OpenAI error response: {"error": {...}}.</summary>
public sealed record ApiErrorResponse(ApiErrorBody Error);

/// <summary>A refused request: its HTTP status and the error object to send.</summary>
public sealed class ApiException(int status, string message, string type, string? param = null, string? code = null)
    : Exception(message)
{
    /// <summary>HTTP status code.</summary>
    public int Status { get; } = status;
    /// <summary>The body.</summary>
    public ApiErrorBody Body { get; } = new(message, type, param, code);
    /// <summary>Seconds the client should wait before trying again (429), sent as Retry-After.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>400: a parameter is missing, unknown, of the wrong type or out of range.</summary>
    public static ApiException BadRequest(string message, string? param = null, string code = "invalid_value") =>
        new(400, message, "invalid_request_error", param, code);

    /// <summary>401: no key, or a key that is not (or no longer) valid.</summary>
    public static ApiException Unauthorized(string message) =>
        new(401, message, "invalid_request_error", null, "invalid_api_key");

    /// <summary>404: no such video for this key (another key's videos do not exist for it).</summary>
    public static ApiException NotFound(string id) =>
        new(404, $"No video found with id '{id}'.", "invalid_request_error", "video_id", "not_found");

    /// <summary>409: the video is not in a state that allows this.</summary>
    public static ApiException Conflict(string message) =>
        new(409, message, "invalid_request_error", null, "invalid_state");

    /// <summary>413: the request body is larger than the server takes.</summary>
    public static ApiException TooLarge(long limit) =>
        new(413, $"The request body is larger than {limit} bytes.", "invalid_request_error", null, "request_too_large");

    /// <summary>429: the queue is full.</summary>
    public static ApiException QueueFull(int queued, int retryAfter) =>
        new(429, $"The queue is full ({queued} videos waiting); try again in {retryAfter} s.", "rate_limit_error", null,
            "queue_full") { RetryAfterSeconds = retryAfter };

    /// <summary>500: a bug; the message says no more than that (the log has the details).</summary>
    public static ApiException Internal() =>
        new(500, "The server had an internal error; the server log has the details.", "server_error", null,
            "internal_error");
}
