// ServerLog: one JSON object per line, for every request and every job state change, e.g.
//     {"ts":"2026-01-02T03:04:05.678Z","event":"request","method":"POST","path":"/v1/videos","status":200,"ms":3.1}
//     {"ts":"...","event":"job","id":"video_...","status":"completed","seconds":2.4}
// ASP.NET Core's own console logging is switched off, so these are the only lines the server prints.
using System.Text.Json;

namespace Spacetime.Server;

/// <summary>Writes structured log lines.</summary>
public sealed class ServerLog(TextWriter writer)
{
    readonly Lock gate = new();

    /// <summary>A log that drops everything.</summary>
    public static ServerLog None { get; } = new(TextWriter.Null);

    /// <summary>Writes one line: the time, the event name and the given fields.</summary>
    public void Write(string eventName, params (string Key, object? Value)[] fields)
    {
        var line = new Dictionary<string, object?>
        {
            ["ts"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
            ["event"] = eventName,
        };
        foreach (var (key, value) in fields) line[key] = value;
        string text = JsonSerializer.Serialize(line);
        lock (gate)
        {
            writer.WriteLine(text);
            writer.Flush();
        }
    }
}
