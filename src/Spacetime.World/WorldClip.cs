// WorldClip: the one entry point other parts use. Settings in; scene, frames, truth, caption and prompt out.
//
//   var clip = WorldClip.Render(new ClipSettings(Seed: 7, Width: 96, Height: 64, Seconds: 2, Fps: 8));
//   clip.Frames (T x H x W x RGB), clip.Caption, clip.Prompt, clip.Truth.ToJson()
using Spacetime.Media;

namespace Spacetime.World;

/// <summary>What to render: a seed, an image size in pixels, a duration and a frame rate.</summary>
public sealed record ClipSettings(long Seed, int Width, int Height, double Seconds, double Fps)
{
    /// <summary>Frames in the clip: round(Seconds x Fps); frame k shows time k / Fps.</summary>
    public int FrameCount => (int)Math.Clamp(Math.Round(Seconds * Fps, MidpointRounding.AwayFromZero), 0, int.MaxValue);

    /// <summary>The most bytes a clip's frames may take (RGB, one array): 2 GiB.</summary>
    public const long MaxBytes = int.MaxValue;

    /// <summary>Throws ArgumentException naming the bad value.</summary>
    public void Validate()
    {
        if (Width <= 0 || Height <= 0)
            throw new ArgumentException($"size {Width}x{Height}: width and height must be positive");
        if ((long)Width * Height > 16_777_216)
            throw new ArgumentException($"size {Width}x{Height}: more than 16 megapixels per frame");
        if (!(Fps > 0) || double.IsInfinity(Fps))
            throw new ArgumentException($"fps {Fps}: must be a positive number");
        if (!(Seconds > 0) || double.IsInfinity(Seconds) || Seconds > 3600)
            throw new ArgumentException($"seconds {Seconds}: must be a positive number of at most 3600");
        if (FrameCount < 1)
            throw new ArgumentException($"{Seconds} seconds at {Fps} fps gives no frames; need at least one");
        double bytes = Math.Round(Seconds * Fps) * Width * (double)Height * 3;
        if (bytes > MaxBytes)
            throw new ArgumentException($"{Width}x{Height} for {Seconds} s at {Fps} fps needs {bytes / (1 << 30):0.#} GiB of " +
                                        $"frames; the limit is {MaxBytes / (double)(1 << 30):0} GiB: ask for a smaller size, " +
                                        "fewer seconds or a lower fps");
    }
}

/// <summary>One rendered world clip with its ground truth.</summary>
public sealed class WorldClip
{
    public required ClipSettings Settings { get; init; }
    public required Scene Scene { get; init; }
    public required Frames Frames { get; init; }
    public required ClipTruth Truth { get; init; }
    /// <summary>The dense caption (training style).</summary>
    public string Caption => Truth.Caption;
    /// <summary>The short user-style prompt for the same scene.</summary>
    public string Prompt => Truth.Prompt;

    /// <summary>Generates, simulates and renders the clip for these settings.</summary>
    public static WorldClip Render(ClipSettings settings)
    {
        var (truth, traj) = Simulate(settings);
        var frames = Renderer.Render(traj, settings.Width, settings.Height, settings.Fps, settings.FrameCount);
        return new WorldClip { Settings = settings, Scene = traj.Scene, Frames = frames, Truth = truth };
    }

    /// <summary>The frames of a given scene (e.g. a generated one with a body's colour changed): simulated from its
    /// initial conditions and rendered at this size, fps and length.</summary>
    public static Frames RenderScene(Scene scene, int width, int height, double fps, int frameCount) =>
        Renderer.Render(Physics.Run(scene), width, height, fps, frameCount);

    /// <summary>Ground truth, caption and prompt only (no pixels): cheap, for tests and evaluation.</summary>
    public static ClipTruth Describe(ClipSettings settings) => Simulate(settings).Truth;

    /// <summary>The scene a seed makes for this image size and duration.</summary>
    public static Scene SceneFor(ClipSettings settings)
    {
        settings.Validate();
        return SceneGenerator.Generate(settings.Seed, settings.Width, settings.Height, settings.Seconds);
    }

    /// <summary>The seed of clip <paramref name="index"/> in a dataset started from <paramref name="seed"/>.</summary>
    public static long DeriveSeed(long seed, long index) => WorldRng.Derive(seed, index);

    internal static (ClipTruth Truth, Trajectory Trajectory) Simulate(ClipSettings settings)
    {
        var scene = SceneFor(settings);
        var traj = Physics.Run(scene);
        var stories = CaptionWriter.Stories(traj);
        string caption = CaptionWriter.Caption(traj, stories);
        bool ball = (WorldRng.Derive(settings.Seed, -1) & 1) == 0;   // prompts say "ball" for a circle half the time
        string prompt = CaptionWriter.Prompt(traj, stories, ball);
        return (ClipTruth.Build(traj, settings, caption, prompt), traj);
    }
}
