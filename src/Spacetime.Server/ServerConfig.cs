// ServerConfig: everything `spacetime serve` can be told, with the defaults a user gets. The folder layout under
// DataDir is owned by JobStore (the database) and VideoFiles (the files of each video).
using Spacetime.Media;

namespace Spacetime.Server;

/// <summary>How the server runs.</summary>
/// <param name="DataDir">Where the database and the video files live (created when missing).</param>
public sealed record ServerConfig(string DataDir)
{
    /// <summary>Address to listen on: an IP address or "localhost". Beyond loopback only with API keys.</summary>
    public string Host { get; init; } = "127.0.0.1";
    /// <summary>TCP port; 0 picks a free one (tests), see <see cref="VideoServer.Address"/>.</summary>
    public int Port { get; init; } = 8000;
    /// <summary>Jobs generated at the same time. Each already uses every core, so more than 1 only helps when
    /// generation waits on something else (writing the MP4).</summary>
    public int Workers { get; init; } = 1;
    /// <summary>Most videos waiting in the queue (all keys together); one more is answered 429 with Retry-After.
    /// </summary>
    public int MaxQueued { get; init; } = 64;
    /// <summary>Largest request body: the JSON, or the multipart form with its input_reference image (413 beyond).
    /// </summary>
    public long MaxRequestBytes { get; init; } = 20L * 1024 * 1024;
    /// <summary>How often an idle worker looks at the queue when nobody has told it about a new job.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How long a finished (completed or failed) video is kept: its expires_at is completed_at plus this,
    /// and then the workers remove it. Null keeps videos until they are deleted (expires_at null).</summary>
    public TimeSpan? Retention { get; init; } = TimeSpan.FromDays(DefaultRetentionDays);
    /// <summary>The retention `serve` gives without --retention-days.</summary>
    public const int DefaultRetentionDays = 7;

    /// <summary>Writes a video or image file atomically (VideoFile.Write); tests replace it with a failing disk.
    /// </summary>
    internal Action<string, Frames> WriteVideo { get; init; } = (path, frames) => VideoFile.Write(path, frames);
}
