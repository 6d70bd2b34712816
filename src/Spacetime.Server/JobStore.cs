// JobStore: the durable video queue, rows of Database's `videos` table. A job moves
//     queued -> in_progress -> completed | failed
// Claiming is one UPDATE ... RETURNING, so two workers never take the same job. A server that stops (or is killed)
// with jobs in progress finds them at its next start and puts them back in the queue (RequeueInterrupted): they run
// again from the start, and their files are rewritten whole (VideoFiles writes through temp files).
// With a retention, a finished (completed or failed) video expires that long after completed_at: from then on it is
// not found (404), and the workers remove its row and files (Expired, Remove).
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace Spacetime.Server;

/// <summary>One row of the queue.</summary>
public sealed record VideoJob(string Id, string Owner, VideoStatus Status, int Progress, long CreatedAt,
                              long? CompletedAt, long? ExpiresAt, VideoSpec Spec, VideoError? Error)
{
    /// <summary>The API's view of the job.</summary>
    public VideoObject ToObject() => new(Id, Spec.Model, Status, Status == VideoStatus.Completed ? 100 : Progress,
                                         CreatedAt, CompletedAt, ExpiresAt, Spec.Seconds, Spec.Size, Spec.Prompt,
                                         Spec.RemixedFrom, Error);
}

/// <summary>The queue and the record of every video.</summary>
/// <param name="db">The database.</param>
/// <param name="retention">How long a finished video is kept after completed_at (null: until deleted).</param>
public sealed class JobStore(Database db, TimeSpan? retention = null)
{
    const string Columns = "id, owner, status, progress, created_at, completed_at, spec, error_code, error_message";

    // A row that has not expired. $keep is the retention in seconds (NULL: forever), $now the time in fractional
    // Unix seconds; completed_at is set only once a video is completed or failed.
    const string Live = "(completed_at IS NULL OR $keep IS NULL OR completed_at + $keep > $now)";

    /// <summary>Adds a queued job.</summary>
    public VideoJob Add(string id, string owner, VideoSpec spec)
    {
        var job = new VideoJob(id, owner, VideoStatus.Queued, 0, Now(), null, null, spec, null);
        Run("INSERT INTO videos (id, owner, status, created_at, spec) VALUES ($id, $owner, $status, $created, $spec)",
            ("$id", id), ("$owner", owner), ("$status", Name(VideoStatus.Queued)), ("$created", job.CreatedAt),
            ("$spec", JsonSerializer.Serialize(spec, ApiJson.Options)));
        return job;
    }

    /// <summary>The job with this id if <paramref name="owner"/> owns it (null: any owner).</summary>
    public VideoJob? Get(string id, string? owner = null) =>
        Query($"SELECT {Columns} FROM videos WHERE id = $id AND ($owner IS NULL OR owner = $owner) AND {Live}",
              [("$id", id), ("$owner", owner), .. Clock()]).FirstOrDefault();

    /// <summary>A page of the owner's videos after the video <paramref name="after"/> (null: from the start), oldest
    /// or newest first. Null when <paramref name="after"/> is not one of the owner's videos.</summary>
    public (IReadOnlyList<VideoJob> Page, bool HasMore)? List(string owner, string? after, int limit, bool ascending)
    {
        long? from = null;
        if (after is not null)
        {
            using var c = db.Connect();
            using var cmd = Command(c, "SELECT seq FROM videos WHERE id = $id AND owner = $owner", ("$id", after),
                                    ("$owner", owner));
            if (cmd.ExecuteScalar() is not long seq) return null;
            from = seq;
        }
        string cursor = ascending ? "seq > $from" : "seq < $from";
        var rows = Query($"SELECT {Columns} FROM videos WHERE owner = $owner AND ($from IS NULL OR {cursor}) " +
                         $"AND {Live} ORDER BY seq {(ascending ? "ASC" : "DESC")} LIMIT $limit",
                         [("$owner", owner), ("$from", from), ("$limit", limit + 1), .. Clock()]);
        return (rows.Take(limit).ToList(), rows.Count > limit);
    }

    /// <summary>Takes the oldest queued job and marks it in progress; null when the queue is empty.</summary>
    public VideoJob? ClaimNext() =>
        Query($"UPDATE videos SET status = $running, progress = 0 WHERE seq = " +
              $"(SELECT seq FROM videos WHERE status = $queued ORDER BY seq LIMIT 1) RETURNING {Columns}",
              ("$running", Name(VideoStatus.InProgress)), ("$queued", Name(VideoStatus.Queued))).FirstOrDefault();

    /// <summary>Records the progress (0..99) of a job in progress.</summary>
    public void SetProgress(string id, int progress) =>
        Run("UPDATE videos SET progress = $p WHERE id = $id AND status = $running", ("$p", progress), ("$id", id),
            ("$running", Name(VideoStatus.InProgress)));

    /// <summary>Marks a job completed (its files are in place).</summary>
    public void Complete(string id, double seconds) =>
        Run("UPDATE videos SET status = $done, progress = 100, completed_at = $now, run_seconds = $s WHERE id = $id",
            ("$done", Name(VideoStatus.Completed)), ("$now", Now()), ("$s", seconds), ("$id", id));

    /// <summary>Marks a job failed with the reason.</summary>
    public void Fail(string id, VideoError error, double seconds) =>
        Run("UPDATE videos SET status = $failed, completed_at = $now, run_seconds = $s, error_code = $code, " +
            "error_message = $message WHERE id = $id", ("$failed", Name(VideoStatus.Failed)), ("$now", Now()),
            ("$s", seconds), ("$code", error.Code), ("$message", error.Message), ("$id", id));

    /// <summary>Puts a job in progress back at its place in the queue (a worker stopped before finishing it).</summary>
    public void Requeue(string id) =>
        Run("UPDATE videos SET status = $queued, progress = 0 WHERE id = $id AND status = $running",
            ("$queued", Name(VideoStatus.Queued)), ("$id", id), ("$running", Name(VideoStatus.InProgress)));

    /// <summary>At start: every job left in progress by a server that stopped goes back to the queue. Returns their
    /// ids.</summary>
    public IReadOnlyList<string> RequeueInterrupted() =>
        Query($"UPDATE videos SET status = $queued, progress = 0 WHERE status = $running RETURNING {Columns}",
              ("$queued", Name(VideoStatus.Queued)), ("$running", Name(VideoStatus.InProgress)))
            .Select(j => j.Id).ToList();

    /// <summary>Deletes the owner's video unless a worker is making it; false when it is in progress.</summary>
    public bool Delete(string id, string owner) =>
        Run("DELETE FROM videos WHERE id = $id AND owner = $owner AND status != $running", ("$id", id),
            ("$owner", owner), ("$running", Name(VideoStatus.InProgress))) == 1;

    /// <summary>Ids of the finished videos whose retention has passed (none without a retention).</summary>
    public IReadOnlyList<string> Expired()
    {
        if (retention is null) return [];
        using var c = db.Connect();
        using var cmd = Command(c, $"SELECT id FROM videos WHERE NOT {Live}", Clock());
        using var r = cmd.ExecuteReader();
        var ids = new List<string>();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    /// <summary>Removes a job's row whatever its owner or status (an expired video, once its files are gone).
    /// </summary>
    public void Remove(string id) => Run("DELETE FROM videos WHERE id = $id", ("$id", id));

    /// <summary>Jobs per status (every status present, 0 when none).</summary>
    public IReadOnlyDictionary<VideoStatus, long> CountByStatus()
    {
        var counts = Enum.GetValues<VideoStatus>().ToDictionary(s => s, _ => 0L);
        using var c = db.Connect();
        using var cmd = Command(c, "SELECT status, COUNT(*) FROM videos GROUP BY status");
        using var r = cmd.ExecuteReader();
        while (r.Read()) counts[Parse(r.GetString(0))] = r.GetInt64(1);
        return counts;
    }

    /// <summary>Jobs waiting for a worker.</summary>
    public long QueuedCount() => CountByStatus()[VideoStatus.Queued];

    /// <summary>Wall seconds of every finished run (completed or failed): their sum and count.</summary>
    public (double Sum, long Count) RunSeconds()
    {
        using var c = db.Connect();
        using var cmd = Command(c, "SELECT COALESCE(SUM(run_seconds), 0), COUNT(run_seconds) FROM videos");
        using var r = cmd.ExecuteReader();
        r.Read();
        return (r.GetDouble(0), r.GetInt64(1));
    }

    static long Now() => DateTimeOffset.UtcNow.ToUnixTimeSeconds();

    // $keep and $now of the Live condition.
    (string, object?)[] Clock() =>
        [("$keep", retention?.TotalSeconds), ("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0)];

    // When a video finished at completedAt expires: whole seconds, rounded up (null: never, or not finished).
    long? ExpiresAt(long? completedAt) =>
        completedAt is { } t && retention is { } keep ? t + (long)Math.Ceiling(keep.TotalSeconds) : null;

    static string Name(VideoStatus s) => ApiJson.Name(s);

    static VideoStatus Parse(string name) =>
        Enum.GetValues<VideoStatus>().First(s => Name(s) == name);

    int Run(string sql, params (string Name, object? Value)[] args)
    {
        using var c = db.Connect();
        using var cmd = Command(c, sql, args);
        return cmd.ExecuteNonQuery();
    }

    List<VideoJob> Query(string sql, params (string Name, object? Value)[] args)
    {
        using var c = db.Connect();
        using var cmd = Command(c, sql, args);
        using var r = cmd.ExecuteReader();
        var jobs = new List<VideoJob>();
        while (r.Read())
        {
            var spec = JsonSerializer.Deserialize<VideoSpec>(r.GetString(6), ApiJson.Options)
                       ?? throw new InvalidDataException($"video {r.GetString(0)}: empty spec in {db.Path}");
            var error = r.IsDBNull(7) ? null : new VideoError(r.GetString(7), r.GetString(8));
            long? completedAt = r.IsDBNull(5) ? null : r.GetInt64(5);
            jobs.Add(new VideoJob(r.GetString(0), r.GetString(1), Parse(r.GetString(2)), r.GetInt32(3), r.GetInt64(4),
                                  completedAt, ExpiresAt(completedAt), spec, error));
        }
        return jobs;
    }

    static SqliteCommand Command(SqliteConnection c, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (name, value) in args) cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return cmd;
    }
}
