// VideoSpec: what one video job asks for, checked and normalised: the API's create and remix parameters after
// VideoRequests has read them, kept in the database as JSON so a restarted server makes exactly the same video.
// The mode is the Generator's (Pipelines/Generation.cs); the files a mode needs are stored with the job (VideoFiles):
//     Text             nothing                     Image      input.png
//     Loop             input.png when given        Edit       source.mp4 (a remix's, or a video input_reference)
//     ExtendForward    source.mp4                  ExtendBackward  source.mp4
//     Connect          source.mp4 (the first video) and second.mp4
using System.Globalization;
using System.Text.Json.Serialization;
using Spacetime.Media;
using Spacetime.Pipelines;

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
    /// <summary>What the video is conditioned on besides the prompt (a remix is an Edit).</summary>
    public GenerationMode Mode { get; init; } = GenerationMode.Text;
    /// <summary>An input_reference image was stored with the job (VideoFiles.Input): image to video, or the start
    /// of a loop.</summary>
    public bool HasInputReference { get; init; }
    /// <summary>Edit only (extension): how much to change the source, SDEdit strength in (0, 1]; null: the remix
    /// default, <see cref="ModelVideoMaker.RemixStrength"/>.</summary>
    public double? Strength { get; init; }
    /// <summary>Remix: the id of the video this one edits (its MP4 was copied to VideoFiles.Source).</summary>
    public string? RemixedFrom { get; init; }

    /// <summary>True when the job has a source.mp4 (an edit, an extension, the first video of a connection).</summary>
    [JsonIgnore] public bool HasSource => Mode is GenerationMode.Edit or GenerationMode.ExtendForward
                                                  or GenerationMode.ExtendBackward or GenerationMode.Connect;

    /// <summary>"WxH", as the API writes sizes.</summary>
    [JsonIgnore] public string Size => $"{Width}x{Height}";

    /// <summary>The duration in seconds.</summary>
    [JsonIgnore] public double Duration => double.Parse(Seconds, NumberStyles.Float, CultureInfo.InvariantCulture);
}

/// <summary>What a video maker is given besides the spec.</summary>
/// <param name="Image">The input_reference image (image to video), or null.</param>
/// <param name="Source">The video an edit (or remix) changes, an extension continues, or a connection starts from; or
/// null.</param>
/// <param name="Second">The video a connection leads into, or null.</param>
public sealed record VideoInputs(Frames? Image, Frames? Source, Frames? Second = null);

/// <summary>Turns a spec into frames: the loaded model (<see cref="ModelVideoMaker"/>), or a stand-in in tests.
/// </summary>
public interface IVideoMaker
{
    /// <summary>The size a request without one gets (the model's training size).</summary>
    (int Width, int Height) DefaultSize { get; }
    /// <summary>Frames per second of what it makes.</summary>
    double Fps { get; }
    /// <summary>Frames it makes in one pass: the longest loop, connection or backward extension (the other modes
    /// run past it in chunks).</summary>
    int WindowFrames { get; }
    /// <summary>Makes the video at exactly the spec's size; reports progress in [0, 1]. A spec the model cannot make
    /// throws <see cref="Spacetime.Pipelines.GenerationRequestException"/>; an exception thrown by
    /// <paramref name="progress"/> (a stopping server) ends it early.</summary>
    Frames Make(VideoSpec spec, VideoInputs inputs, IProgress<double> progress);
    /// <summary>The watermark payload and manifest of a video it made (Pipelines/GenerationProvenance.cs); null: the
    /// outputs are written unmarked (a maker that knows no model).</summary>
    (uint Payload, Spacetime.Media.Provenance.ProvenanceManifest Manifest)? Provenance(VideoSpec spec, VideoInputs inputs,
                                                                                     Frames video) => null;
}
