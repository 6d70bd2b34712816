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
        var seed = CliArgs.Option("--seed", "Scene seed; the same seed gives the same clip.", 0L);
        var size = CliArgs.Option("--size", "Frame size WxH in pixels.", "64x64");
        var seconds = CliArgs.Option("--seconds", "Duration in seconds.", 2.0);
        var fps = CliArgs.Option("--fps", "Frames per second.", 8.0);
        var output = CliArgs.Required<string>("--out", "Video file: .gif .mp4 .webm .png (contact sheet) .y4m " +
                                                       "(.mp4 and .webm need ffmpeg).", "-o");
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
            var settings = CliArgs.Checked(new ClipSettings(parsed.GetValue(seed), w, h, s, f));
            if (settings.FrameCount < 1)
                throw new UserError($"--seconds {s} at --fps {f} gives zero frames; ask for at least one frame");

            var clip = WorldClip.Render(settings);
            CreateParent(outPath);
            VideoFile.Write(outPath, clip.Frames);
            if (truthPath != null)
            {
                CreateParent(truthPath);
                AtomicFile.WriteAllText(truthPath, clip.Truth.ToJson());
            }
            string truthNote = truthPath != null ? $", truth in {Markup.Escape(truthPath)}" : "";
            io.Out.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: {clip.Frames.Count} frames of {w}x{h} " +
                              $"at {f:0.###} fps{truthNote}");
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
