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
            var settings = new ClipSettings(parsed.GetValue(seed), w, h, s, f);
            if (settings.FrameCount < 1)
                throw new UserError($"--seconds {s} at --fps {f} gives zero frames; ask for at least one frame");
            CliArgs.Checked(settings);

            CliArgs.Writable("--out", outPath);
            if (truthPath != null) CliArgs.Writable("--truth", truthPath);

            // both files are written to temp files first and renamed only when both are complete, so a failure
            // leaves any existing video and truth as they were
            var clip = WorldClip.Render(settings);
            bool folder = Path.GetExtension(outPath).Length == 0;             // PNG frames: VideoFile swaps the folder
            string videoTemp = folder ? outPath : AtomicFile.TempPathFor(outPath);
            string? truthTemp = truthPath is null ? null : AtomicFile.TempPathFor(truthPath);
            try
            {
                VideoFile.Write(videoTemp, clip.Frames);
                if (truthTemp != null) File.WriteAllText(truthTemp, clip.Truth.ToJson());
                if (!folder) File.Move(videoTemp, outPath, overwrite: true);
                if (truthTemp != null) File.Move(truthTemp, truthPath!, overwrite: true);
            }
            finally
            {
                foreach (var temp in new[] { folder ? null : videoTemp, truthTemp })
                    if (temp != null && File.Exists(temp)) File.Delete(temp);
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
}
