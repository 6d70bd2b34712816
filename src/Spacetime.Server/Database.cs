// Database: the server's SQLite file, DATA/spacetime.db, in WAL mode (readers never wait for the one writer, and a
// commit survives the process being killed at any moment). Two tables:
//     videos     one row per video job: who owns it, its status and progress, its checked spec (JSON), its error
//     api_keys   the SHA-256 of each API key (never the key), a name, when it was made and revoked
// Every operation opens its own pooled connection, so the HTTP handlers and the workers share nothing but the file;
// a writer that finds the database busy waits (DefaultTimeout) instead of failing.
using Microsoft.Data.Sqlite;

namespace Spacetime.Server;

/// <summary>A refusal to start that is the user's to fix (a corrupt or locked database, a bind the keys do not
/// allow); the message is one line that says what to do.</summary>
public sealed class ServerStartException(string message) : Exception(message);

/// <summary>The server's database file.</summary>
public sealed class Database
{
    /// <summary>The file name under the data folder.</summary>
    public const string FileName = "spacetime.db";

    const int SchemaVersion = 1;

    const string Schema = """
        CREATE TABLE IF NOT EXISTS videos (
            seq           INTEGER PRIMARY KEY AUTOINCREMENT,   -- creation order: the list's cursor
            id            TEXT NOT NULL UNIQUE,                -- video_<32 hex>
            owner         TEXT NOT NULL,                       -- the API key's id; '' when the server has no keys
            status        TEXT NOT NULL,                       -- queued | in_progress | completed | failed
            progress      INTEGER NOT NULL DEFAULT 0,          -- 0..100
            created_at    INTEGER NOT NULL,                    -- Unix seconds
            completed_at  INTEGER,                             -- Unix seconds, completed or failed
            run_seconds   REAL,                                -- wall time of the run that finished it
            spec          TEXT NOT NULL,                       -- VideoSpec as JSON
            error_code    TEXT,
            error_message TEXT
        );
        CREATE INDEX IF NOT EXISTS videos_by_status ON videos (status, seq);
        CREATE INDEX IF NOT EXISTS videos_by_owner ON videos (owner, seq);
        CREATE TABLE IF NOT EXISTS api_keys (
            id         TEXT PRIMARY KEY,                       -- key_<8 hex>: what `keys list` shows and revoke takes
            name       TEXT NOT NULL,
            hash       TEXT NOT NULL UNIQUE,                   -- SHA-256 of the key, lower-case hex
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        );
        """;

    readonly string connectionString;

    /// <summary>The database file's path.</summary>
    public string Path { get; }

    Database(string path)
    {
        Path = path;
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true, DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Opens (or creates) DATA/spacetime.db and its tables. A file that is not a database of ours, or one
    /// that is locked, is a <see cref="ServerStartException"/>; the file is never overwritten.</summary>
    public static Database Open(string dataDir)
    {
        try { Directory.CreateDirectory(dataDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServerStartException($"--data {dataDir}: cannot create the folder ({e.Message.TrimEnd('.')})");
        }
        var db = new Database(System.IO.Path.Combine(dataDir, FileName));
        try
        {
            using var c = db.Connect();
            long version = (long)db.Scalar(c, "PRAGMA user_version")!;
            if (version > SchemaVersion)
                throw new ServerStartException($"{db.Path}: written by a newer Spacetime (schema {version}); upgrade");
            if (db.Scalar(c, "PRAGMA journal_mode = WAL") is not "wal")
                throw new ServerStartException($"{db.Path}: cannot switch the database to WAL mode");
            using var tx = c.BeginTransaction();
            Execute(c, Schema, tx);
            Execute(c, $"PRAGMA user_version = {SchemaVersion}", tx);
            tx.Commit();
        }
        catch (SqliteException e)
        {
            SqliteConnection.ClearAllPools();
            throw new ServerStartException($"{db.Path}: cannot use the database ({e.Message.TrimEnd('.')}); " +
                                           "it was left as it is: move it away to start with an empty queue");
        }
        return db;
    }

    /// <summary>A new open connection (from the pool).</summary>
    public SqliteConnection Connect()
    {
        var c = new SqliteConnection(connectionString);
        c.Open();
        return c;
    }

    /// <summary>Closes the pooled connections to the file (before its folder is removed or reopened).</summary>
    public static void ReleaseAll() => SqliteConnection.ClearAllPools();

    object? Scalar(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return cmd.ExecuteScalar();
    }

    static void Execute(SqliteConnection c, string sql, SqliteTransaction tx)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
}
