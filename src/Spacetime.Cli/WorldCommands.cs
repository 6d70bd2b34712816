// spacetime world ...: render one world-simulator scene to a video file and print its caption.
//   spacetime world render --seed 7 --size 96x64 --seconds 2 --fps 8 --out clip.gif [--truth clip.json]
using System.CommandLine;
using Spacetime.Media;
using Spacetime.World;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class WorldCommands
{
    public static Command Create(CliConsole io)
    {
        var world = new Command("world", "The world simulator: physics scenes rendered with exact captions.");
        world.Subcommands.Add(Render(io));
        return world;
    }

    static Command Render(CliConsole io)
    {
        var seed = new Option<long>("--seed") { Description = "Scene seed; the same seed gives the same clip.", DefaultValueFactory = _ => 0 };
        var size = new Option<string>("--size") { Description = "Frame size WxH in pixels.", DefaultValueFactory = _ => "64x64" };
        var seconds = new Option<double>("--seconds") { Description = "Duration in seconds.", DefaultValueFactory = _ => 2 };
        var fps = new Option<double>("--fps") { Description = "Frames per second.", DefaultValueFactory = _ => 8 };
        var output = new Option<string>("--out", "-o")
        {
            Description = "Video file: .gif .mp4 .webm .png (contact sheet) .y4m (.mp4/.webm need ffmpeg).",
            Required = true,
        };
        var truth = new Option<string?>("--truth") { Description = "Also write the per-frame ground truth as JSON." };
        var command = new Command("render", "Render one scene to a video file and print its caption and prompt.")
        {
            seed, size, seconds, fps, output, truth,
        };
        command.SetAction(parsed =>
        {
            var (w, h) = CliArgs.Size("--size", parsed.GetValue(size)!);
            double s = CliArgs.Positive("--seconds", parsed.GetValue(seconds));
            double f = CliArgs.Positive("--fps", parsed.GetValue(fps));
            string outPath = parsed.GetValue(output)!;
            string? truthPath = parsed.GetValue(truth);
            CliArgs.VideoOut("--out", outPath);
            var settings = new ClipSettings(parsed.GetValue(seed), w, h, s, f);
            if (settings.FrameCount < 1)
                throw new UserError($"--seconds {s} at --fps {f} gives zero frames; ask for at least one frame");

            var clip = WorldClip.Render(settings);
            CreateParent(outPath);
            VideoFile.Write(outPath, clip.Frames);
            if (truthPath != null)
            {
                CreateParent(truthPath);
                string temp = truthPath + ".tmp";
                File.WriteAllText(temp, clip.Truth.ToJson());
                File.Move(temp, truthPath, overwrite: true);
            }
            io.Out.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: {clip.Frames.Count} frames of {w}x{h} at {f:0.###} fps" +
                              (truthPath != null ? $", truth in {Markup.Escape(truthPath)}" : ""));
            io.OutWriter.WriteLine($"caption: {clip.Caption}");              // unwrapped, for scripts
            io.OutWriter.WriteLine($"prompt:  {clip.Prompt}");
            return CliRunner.Ok;
        });
        return command;
    }

    internal static void CreateParent(string path)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
    }
}
