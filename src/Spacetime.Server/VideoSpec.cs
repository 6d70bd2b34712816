// VideoSpec: what one video job asks for, checked and normalised: the API's create and remix parameters after
// VideoRequests has read them, kept in the database as JSON so a restarted server makes exactly the same video.
using System.Globalization;
using System.Text.Json.Serialization;
using Spacetime.Media;

namespace Spacetime.Server;

/// <summary>A checked request for one video.</summary>
/// <param name="Prompt">What the video shows.</param>
/// <param name="Model">The model name the client asked for (echoed back; every accepted name is the loaded model).
/// </param>
/// <param name="Seconds">Duration as the client sent it ("4"); <see cref="Duration"/> is its value.</param>
/// <param name="Width">Output width in pixels.</param>
/// <param name="Height">Output height in pixels.</param>
public sealed record VideoSpec(string Prompt, string Model, string Seconds, int Width, int Height)
{
    /// <summary>Noise seed (extension): the same spec and seed give the same video.</summary>
    public ulong Seed { get; init; }
    /// <summary>What to steer away from (extension; "" is the learned empty caption).</summary>
    public string NegativePrompt { get; init; } = "";
    /// <summary>Sampler steps (extension; null: the sampler's default).</summary>
    public int? Steps { get; init; }
    /// <summary>Image to video: an input_reference image was stored with the job (VideoFiles.Input).</summary>
    public bool HasInputReference { get; init; }
    /// <summary>Remix: the id of the video this one edits (its MP4 was copied to VideoFiles.Source).</summary>
    public string? RemixedFrom { get; init; }

    /// <summary>"WxH", as the API writes sizes.</summary>
    [JsonIgnore] public string Size => $"{Width}x{Height}";

    /// <summary>The duration in seconds.</summary>
    [JsonIgnore] public double Duration => double.Parse(Seconds, NumberStyles.Float, CultureInfo.InvariantCulture);
}

/// <summary>What a video maker is given besides the spec.</summary>
/// <param name="Image">The input_reference image (image to video), or null.</param>
/// <param name="Source">The finished video a remix edits, or null.</param>
public sealed record VideoInputs(Frames? Image, Frames? Source);

/// <summary>Turns a spec into frames: the loaded model (<see cref="ModelVideoMaker"/>), or a stand-in in tests.
/// </summary>
public interface IVideoMaker
{
    /// <summary>The size a request without one gets (the model's training size).</summary>
    (int Width, int Height) DefaultSize { get; }
    /// <summary>Frames per second of what it makes.</summary>
    double Fps { get; }
    /// <summary>Makes the video at exactly the spec's size; reports progress in [0, 1]. A spec the model cannot make
    /// throws <see cref="Spacetime.Pipelines.GenerationRequestException"/>; an exception thrown by
    /// <paramref name="progress"/> (a stopping server) ends it early.</summary>
    Frames Make(VideoSpec spec, VideoInputs inputs, IProgress<double> progress);
}
