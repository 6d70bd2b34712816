// Ground truth of a rendered clip, per frame and per object, serialised as JSON (camelCase, System.Text.Json).
// World coordinates: units, y up, origin at the arena's bottom-left. Pixel coordinates: x right, y down, origin at
// the image's top-left corner, pixel centres at +0.5. Values are rounded to 4 decimals so files are stable and small.
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Spacetime.World;

/// <summary>An object's identity: id (left-to-right rank at t = 0, also depth order), shape, colour, size words.</summary>
public sealed record ObjectInfo(int Id, string Shape, string Colour, string Size);

/// <summary>
/// One object in one frame. Box is (x0, y0, x1, y1) in pixels and may reach past the image. Visible is the fraction
/// of the object's area a viewer sees: inside the camera's view, not behind the block, not behind a nearer object.
/// </summary>
public sealed record ObjectState(int Id, string Shape, string Colour, string Size, double[] CenterPx,
                                 double[] CenterWorld, double[] Box, double Visible);

/// <summary>One frame: its index, time in seconds, the camera's view (x0, y0, x1, y1, world), and every object.</summary>
public sealed record FrameTruth(int Index, double Time, double[] View, IReadOnlyList<ObjectState> Objects);

/// <summary>One event: time, the first frame at or after it, kind ("floorBounce", ...), object and other object.</summary>
public sealed record EventTruth(double Time, int Frame, string Kind, int Object, int? Other);

/// <summary>Everything known about a clip: settings, world, frames, events, caption and prompt.</summary>
public sealed record ClipTruth(
    long Seed,
    string Scenario,
    int Width,
    int Height,
    double Fps,
    int FrameCount,
    double Seconds,
    double WorldWidth,
    double WorldHeight,
    bool Gravity,
    string Camera,
    string Background,
    double[]? Occluder,
    IReadOnlyList<ObjectInfo> Objects,
    IReadOnlyList<FrameTruth> Frames,
    IReadOnlyList<EventTruth> Events,
    string Caption,
    string Prompt)
{
    public string ToJson() => JsonSerializer.Serialize(this, TruthJson.Default.ClipTruth);

    public static ClipTruth FromJson(string json) =>
        JsonSerializer.Deserialize(json, TruthJson.Default.ClipTruth) ?? throw new JsonException("truth JSON is null");

    internal static ClipTruth Build(Trajectory traj, ClipSettings settings, string caption, string prompt)
    {
        var scene = traj.Scene;
        var infos = scene.Bodies.Select(b => new ObjectInfo(
            b.Id, CaptionGrammar.Name(b.Shape), CaptionGrammar.Name(b.Colour), CaptionGrammar.Name(b.Size))).ToArray();
        int frameCount = settings.FrameCount;
        var frames = new FrameTruth[frameCount];
        for (int k = 0; k < frameCount; k++)
        {
            double t = k / settings.Fps;
            int step = traj.StepAt(t);
            var view = scene.View(t);
            var map = new Renderer.PixelMap(view, settings.Width, settings.Height);
            var objects = new ObjectState[scene.Bodies.Count];
            for (int i = 0; i < objects.Length; i++)
            {
                var body = scene.Bodies[i];
                var c = traj.Position(step, i);
                var box = Geometry.Bounds(c, body.Half);
                objects[i] = new ObjectState(i, infos[i].Shape, infos[i].Colour, infos[i].Size,
                    [R(map.Px(c.X)), R(map.Py(c.Y))], [R(c.X), R(c.Y)],
                    [R(map.Px(box.X0)), R(map.Py(box.Y1)), R(map.Px(box.X1)), R(map.Py(box.Y0))],
                    R(Coverage.Visible(traj, step, i, view)));
            }
            frames[k] = new FrameTruth(k, R(t), [R(view.X0), R(view.Y0), R(view.X1), R(view.Y1)], objects);
        }
        var events = traj.Events.Select(e => new EventTruth(
            R(e.Time),
            Math.Min(frameCount - 1, (int)Math.Ceiling(e.Time * settings.Fps - 1e-9)),   // first frame at or after
            JsonNamingPolicy.CamelCase.ConvertName(e.Kind.ToString()),
            e.Body,
            e.Other < 0 ? null : e.Other)).ToArray();
        var bg = scene.Background;
        string pattern = bg.Pattern.ToString().ToLowerInvariant();
        string background = $"{pattern}:{CaptionGrammar.Name(bg.A)}/{CaptionGrammar.Name(bg.B)}";
        double[]? occluder = scene.Occluder is { } o ? [R(o.X0), R(o.Y0), R(o.X1), R(o.Y1)] : null;
        return new ClipTruth(settings.Seed, scene.Kind.ToString().ToLowerInvariant(), settings.Width, settings.Height,
                             settings.Fps, frameCount, settings.Seconds, R(scene.WorldWidth), R(scene.WorldHeight),
                             scene.Gravity, JsonNamingPolicy.CamelCase.ConvertName(scene.Camera.ToString()), background,
                             occluder, infos, frames, events, caption, prompt);
    }

    static double R(double x) => Math.Round(x, 4, MidpointRounding.AwayFromZero);
}

/// <summary>Source-generated (reflection-free, fast) JSON for the truth records: camelCase, nulls left out.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
                             DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ClipTruth))]
internal sealed partial class TruthJson : JsonSerializerContext;
