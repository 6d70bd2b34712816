// ReportJson: reading back the JSON files an evaluation writes (report.json, continuation.json), with one set of
// messages for what can be wrong with them: not JSON at all, or a field missing or of the wrong type.
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Spacetime.Eval;

internal static class ReportJson
{
    /// <summary>Parses <paramref name="path"/> and builds the result from its root with typed reads
    /// (<c>(int)node["x"]!</c>, ...); a failed read becomes an InvalidDataException naming the file, and an
    /// InvalidDataException thrown by <paramref name="build"/> passes through.</summary>
    public static T Read<T>(string path, Func<JsonNode?, T> build)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new InvalidDataException($"{path} is not valid JSON ({e.Message})"); }
        try { return build(root); }
        catch (Exception e) when (e is NullReferenceException or InvalidCastException or FormatException
                                      or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: a field is missing or of the wrong type ({e.Message})");
        }
    }
}
