// Captions: the captions.jsonl format, one JSON object per line:
//   {"file": "clips/000001.gif", "caption": "...dense caption...", "prompt": "...short prompt...", "truth": "truth/000001.json"}
// "file" and "caption" are required, "prompt" and "truth" optional; paths are relative to the dataset folder.
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spacetime.Data;

/// <summary>One line of captions.jsonl.</summary>
public sealed record CaptionEntry(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("caption")] string Caption,
    [property: JsonPropertyName("prompt")] string? Prompt = null,
    [property: JsonPropertyName("truth")] string? Truth = null);

/// <summary>The captions.jsonl format (see the file header).</summary>
public static class Captions
{
    /// <summary>The file's name in a dataset folder.</summary>
    public const string FileName = "captions.jsonl";

    /// <summary>Writes <paramref name="entries"/> as the whole of <paramref name="path"/> (a temp file, then renamed).
    /// </summary>
    public static void WriteAll(string path, IEnumerable<CaptionEntry> entries)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Spacetime.Media.AtomicFile.WriteAllText(path, string.Concat(entries.Select(e => Format(e) + "\n")));
    }

    static readonly JsonSerializerOptions Options = new()
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,      // keep captions readable; the file is not HTML
    };

    /// <summary>One JSON line, without the newline.</summary>
    public static string Format(CaptionEntry entry) => JsonSerializer.Serialize(entry, Options);

    /// <summary>Parses one line; returns null and a reason when it is malformed.</summary>
    public static CaptionEntry? Parse(string line, out string problem)
    {
        problem = "";
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            problem = "not valid JSON (" + e.Message.Split('.')[0] + ")";
            return null;
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "not a JSON object";
                return null;
            }
            string? file = Text(root, "file"), caption = Text(root, "caption");
            if (string.IsNullOrWhiteSpace(file))
            {
                problem = "missing \"file\" (a string path to the clip)";
                return null;
            }
            if (caption == null)
            {
                problem = "missing \"caption\" (a string)";
                return null;
            }
            return new CaptionEntry(file, caption, Text(root, "prompt"), Text(root, "truth"));
        }
    }

    static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
