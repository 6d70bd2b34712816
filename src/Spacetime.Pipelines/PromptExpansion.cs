// PromptExpansion: before sampling, a short prompt becomes a dense caption in the style the model was trained on (the
// Sora report's GPT step). Two expanders:
//   BuiltInExpander   World.PromptExpander's grammar (offline, deterministic; the default)
//   LlmPromptExpander any OpenAI-compatible POST {url}/chat/completions, with a system prompt that shows the caption
//                     style by example: world scenes' short prompts beside their dense captions, as the simulator
//                     writes them (WorldClip.Describe), so the model's own training captions are the style guide.
// The LLM is a guest: a failure of any kind (no answer within the timeout, an HTTP error, an answer that is not a chat
// completion, empty, too long or with control characters) falls back to the built-in expander and says so in a note,
// so a flaky endpoint never loses a generation.
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Spacetime.World;

namespace Spacetime.Pipelines;

/// <summary>Turns a short prompt into a dense caption; <paramref name="notes"/> hears what happened.</summary>
public interface IPromptExpander
{
    /// <summary>The dense caption for <paramref name="prompt"/>.</summary>
    string Expand(string prompt, List<string> notes);
}

/// <summary>The offline grammar expander (World.PromptExpander).</summary>
public sealed class BuiltInExpander : IPromptExpander
{
    /// <summary>The one instance.</summary>
    public static BuiltInExpander Instance { get; } = new();

    BuiltInExpander() { }

    /// <inheritdoc/>
    public string Expand(string prompt, List<string> notes) => PromptExpander.Expand(prompt);

    /// <summary>The same, keeping <paramref name="newColours"/> (colour words the model was taught by an adapter).
    /// </summary>
    public string Expand(string prompt, List<string> notes, IReadOnlyList<string> newColours) =>
        PromptExpander.Expand(prompt, newColours);
}

/// <summary>Where the LLM is and how long to wait for it.</summary>
/// <param name="BaseUrl">The API base, e.g. http://127.0.0.1:8080/v1 ("/chat/completions" is appended).</param>
/// <param name="Model">The model name sent in the request.</param>
/// <param name="ApiKey">Sent as a bearer token when given.</param>
/// <param name="TimeoutSeconds">How long to wait for the answer before falling back.</param>
/// <param name="Examples">World scenes shown in the system prompt as prompt-caption pairs.</param>
public sealed record LlmExpanderConfig(Uri BaseUrl, string Model = "gpt-4o-mini", string? ApiKey = null,
                                       double TimeoutSeconds = 20, int Examples = 6)
{
    /// <summary>Environment variables read for the key, in order.</summary>
    public static readonly string[] KeyVariables = ["SPACETIME_LLM_API_KEY", "OPENAI_API_KEY"];

    /// <summary>The key from the first of <see cref="KeyVariables"/> that is set, or null.</summary>
    public static string? KeyFromEnvironment() =>
        KeyVariables.Select(Environment.GetEnvironmentVariable).FirstOrDefault(k => !string.IsNullOrWhiteSpace(k));
}

/// <summary>Expands prompts with an OpenAI-compatible chat-completions endpoint (see the file header).</summary>
public sealed class LlmPromptExpander : IPromptExpander
{
    /// <summary>Longest caption accepted from the LLM (the training captions run to a few hundred characters).</summary>
    public const int MaxCaptionChars = 2000;

    readonly LlmExpanderConfig config;
    readonly HttpClient http;

    /// <summary>An expander for <paramref name="config"/>; <paramref name="handler"/> replaces the network (tests).
    /// </summary>
    public LlmPromptExpander(LlmExpanderConfig config, HttpMessageHandler? handler = null)
    {
        if (!config.BaseUrl.IsAbsoluteUri || config.BaseUrl.Scheme is not ("http" or "https"))
            throw new ArgumentException($"LLM URL {config.BaseUrl}: give an absolute http(s) URL such as " +
                                        "http://127.0.0.1:8080/v1");
        if (!(config.TimeoutSeconds > 0)) throw new ArgumentException("LLM timeout must be positive");
        this.config = config;
        SystemPrompt = BuildSystemPrompt(config.Examples);
        http = new HttpClient(handler ?? new HttpClientHandler()) { Timeout = TimeSpan.FromSeconds(config.TimeoutSeconds) };
    }

    /// <summary>The system prompt: the task, then world prompts beside their dense captions (built once).</summary>
    public string SystemPrompt { get; }

    static string BuildSystemPrompt(int examples)
    {
        {
            var sb = new StringBuilder();
            sb.Append("You expand a short video prompt into one dense caption in exactly the style of the examples: ")
              .Append("the background, gravity, the camera, then each object with its size, colour, shape, where it ")
              .Append("starts and what it does. Use only circles, squares and triangles in red, orange, yellow, ")
              .Append("green, cyan, blue, purple, pink or white. Answer with the caption alone.\n\n");
            for (int i = 0; i < examples; i++)
            {
                var truth = WorldClip.Describe(new ClipSettings(WorldClip.DeriveSeed(0x11A, i), 128, 128, 2, 8));
                sb.Append("Prompt: ").Append(truth.Prompt).Append("\nCaption: ").Append(truth.Caption).Append("\n\n");
            }
            return sb.ToString();
        }
    }

    /// <inheritdoc/>
    public string Expand(string prompt, List<string> notes)
    {
        string host = config.BaseUrl.Authority;
        try
        {
            string caption = Ask(prompt);
            notes.Add($"prompt expanded by {config.Model} at {host}");
            return caption;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException
                                      or InvalidDataException or InvalidOperationException or IOException)
        {
            string why = e is TaskCanceledException ? $"no answer within {config.TimeoutSeconds:0.#} s" : e.Message;
            notes.Add($"LLM prompt expansion at {host} failed ({why}); used the built-in expander");
            return PromptExpander.Expand(prompt);
        }
    }

    // One chat completion; throws on anything but a usable caption
    string Ask(string prompt)
    {
        var body = new JsonObject
        {
            ["model"] = config.Model,
            ["temperature"] = 0,
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = SystemPrompt },
                new JsonObject { ["role"] = "user", ["content"] = prompt }),
        };
        var url = new Uri(config.BaseUrl.AbsoluteUri.TrimEnd('/') + "/chat/completions");
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (config.ApiKey is { Length: > 0 } key) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = http.Send(request);
        if (!response.IsSuccessStatusCode)
            throw new HttpRequestException($"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
        using var reader = new StreamReader(response.Content.ReadAsStream());
        var answer = JsonNode.Parse(reader.ReadToEnd());
        var choice = answer is JsonObject o && o["choices"] is JsonArray { Count: > 0 } choices ? choices[0] : null;
        string? content = choice?["message"]?["content"] is JsonValue v && v.TryGetValue(out string? text) ? text : null;
        if (content is null) throw new InvalidDataException("the answer is not a chat completion");
        content = content.Trim();
        if (content.Length == 0) throw new InvalidDataException("the answer is empty");
        if (content.Length > MaxCaptionChars)
            throw new InvalidDataException($"the answer is {content.Length} characters, over {MaxCaptionChars}");
        if (content.Any(c => char.IsControl(c) && c != '\n'))
            throw new InvalidDataException("the answer holds control characters");
        return content.Replace('\n', ' ');
    }
}
