// ApiKeys: the server's API keys, in Database's `api_keys` table. A key is "sk-spacetime-" and 32 random bytes
// (base64url); only its SHA-256 is stored, so the key itself is shown once, by `spacetime keys add`, and never again.
// While any key is active, every /v1 request needs "Authorization: Bearer <key>", and a key sees only the videos made
// with it. With no key the server serves everyone as one anonymous owner, and only on loopback (VideoServer).
using System.Security.Cryptography;
using System.Text;

namespace Spacetime.Server;

/// <summary>A stored key, without the secret.</summary>
/// <param name="Id">"key_" and 8 hex digits: what lists show and revoke takes; the owner of the key's videos.</param>
public sealed record ApiKeyInfo(string Id, string Name, long CreatedAt, long? RevokedAt);

/// <summary>Adds, lists, revokes and checks API keys.</summary>
public sealed class ApiKeys(Database db)
{
    /// <summary>What every key starts with (so a leaked one is easy to recognise).</summary>
    public const string Prefix = "sk-spacetime-";

    /// <summary>Makes a key; returns its record and the key, which is not stored and cannot be shown again.</summary>
    public (ApiKeyInfo Info, string Key) Add(string name)
    {
        string key = Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var info = new ApiKeyInfo("key_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), name,
                                  DateTimeOffset.UtcNow.ToUnixTimeSeconds(), null);
        using var c = db.Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "INSERT INTO api_keys (id, name, hash, created_at) VALUES ($id, $name, $hash, $at)";
        cmd.Parameters.AddWithValue("$id", info.Id);
        cmd.Parameters.AddWithValue("$name", name);
        cmd.Parameters.AddWithValue("$hash", Hash(key));
        cmd.Parameters.AddWithValue("$at", info.CreatedAt);
        cmd.ExecuteNonQuery();
        return (info, key);
    }

    /// <summary>Every key ever added, oldest first, revoked ones included.</summary>
    public IReadOnlyList<ApiKeyInfo> List()
    {
        using var c = db.Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, name, created_at, revoked_at FROM api_keys ORDER BY created_at, id";
        using var r = cmd.ExecuteReader();
        var keys = new List<ApiKeyInfo>();
        while (r.Read())
            keys.Add(new ApiKeyInfo(r.GetString(0), r.GetString(1), r.GetInt64(2),
                                    r.IsDBNull(3) ? null : r.GetInt64(3)));
        return keys;
    }

    /// <summary>Revokes the key with this id; false when there is no such active key.</summary>
    public bool Revoke(string id)
    {
        using var c = db.Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE api_keys SET revoked_at = $at WHERE id = $id AND revoked_at IS NULL";
        cmd.Parameters.AddWithValue("$at", DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        cmd.Parameters.AddWithValue("$id", id);
        return cmd.ExecuteNonQuery() == 1;
    }

    /// <summary>True when at least one key is active (then every /v1 request needs one).</summary>
    public bool AnyActive()
    {
        using var c = db.Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT EXISTS (SELECT 1 FROM api_keys WHERE revoked_at IS NULL)";
        return (long)cmd.ExecuteScalar()! == 1;
    }

    /// <summary>The id of the active key <paramref name="key"/>, or null.</summary>
    public string? Find(string key)
    {
        using var c = db.Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id FROM api_keys WHERE hash = $hash AND revoked_at IS NULL";
        cmd.Parameters.AddWithValue("$hash", Hash(key));
        return cmd.ExecuteScalar() as string;
    }

    // SHA-256 is enough: the keys are 256 random bits, so there is nothing for a slow password hash to protect.
    static string Hash(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
