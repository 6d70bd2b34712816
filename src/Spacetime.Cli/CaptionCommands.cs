// spacetime caption ...: dense captions for a user's uncaptioned videos, by the shipped captioner (issue 20).
//   spacetime caption clip.mp4                      prints the caption
//   spacetime caption my-clips/                     writes my-clips/captions.jsonl (`train dit --data my-clips` reads it)
//   spacetime caption my-clips/ --out other.jsonl   writes there (paths relative to its folder)
using System.CommandLine;
using Spacetime.Data;
using Spacetime.Media;
using Spacetime.Models.Caption;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class CaptionCommands
{
    /// <summary>The shipped captioner and the VAE it reads.</summary>
    internal const string DefaultCaptioner = "models/captioner", DefaultVae = "models/spacetime/vae";

    public static Command Create(CliConsole io)
    {
        var input = new Argument<string>("input") { Description = "A video file (or image folder), or a folder of them." };
        var captioner = CliArgs.Option("--captioner", "Captioner folder (`spacetime train captioner`).", DefaultCaptioner);
        var vae = CliArgs.Option("--vae", "The VAE the captioner was trained with.", DefaultVae);
        var output = new Option<string?>("--out", "-o")
        {
            Description = "captions.jsonl to write (a folder's default: INPUT/captions.jsonl; a file's: print only).",
        };
        var command = new Command("caption", "Caption videos in the training style (dense captions) with the " +
                                             "captioner; a folder becomes a dataset `train dit --data` reads.")
        {
            input, captioner, vae, output,
        };
        command.SetAction(parsed =>
        {
            string path = parsed.GetValue(input)!;
            if (!File.Exists(path) && !Directory.Exists(path)) throw new UserError($"{path}: no such file or folder");
            bool folder = Directory.Exists(path) && !LooksLikeImageFolder(path);
            string? target = folder ? parsed.GetValue(output) ?? Path.Combine(path, Captions.FileName) : null;
            if (folder && parsed.GetValue(output) is null && File.Exists(target))
                throw new UserError($"{target} already exists; give --out FILE to write the captions elsewhere " +
                                    "(nothing existing is overwritten by default)");
            var captioning = Load(parsed.GetValue(captioner)!, parsed.GetValue(vae)!);
            if (!folder)
            {
                string caption = captioning.Caption(VideoFile.Read(path));
                io.OutWriter.WriteLine(caption);
                if (parsed.GetValue(output) is { } one)
                    Captions.WriteAll(one, [new CaptionEntry(Relative(one, path), caption)]);
                return CliRunner.Ok;
            }
            var data = Dataset.Load(path);
            if (data.Clips.Count == 0)
                throw new UserError($"{path}: no videos or image folders to caption" +
                                    (data.Problems.Count > 0 ? $" ({data.Problems[0]})" : ""));
            var entries = new List<CaptionEntry>();
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                                      new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("captioning", maxValue: data.Clips.Count);
                    foreach (var clip in data.Clips)
                    {
                        entries.Add(new CaptionEntry(Relative(target!, clip.Path), captioning.Caption(clip.Load())));
                        task.Increment(1);
                    }
                });
            Captions.WriteAll(target!, entries);
            io.OutWriter.WriteLine($"captioned {entries.Count} clips into {target}" +
                                   (data.Problems.Count > 0 ? $"; {data.Problems.Count} skipped ({data.Problems[0]})" : ""));
            return CliRunner.Ok;
        });
        return command;
    }

    /// <summary>The captioner and VAE folders as a captioning pipeline; a missing or mismatched folder is a
    /// UserError naming it.</summary>
    internal static VideoCaptioning Load(string captionerDir, string vaeDir)
    {
        if (!Captioner.IsCaptionerFolder(captionerDir))
            throw new UserError($"--captioner {captionerDir}: not a captioner folder (config.json, tokenizer.json, " +
                                "model.safetensors); train one with `spacetime train captioner --out DIR`");
        if (!File.Exists(Path.Combine(vaeDir, VaeCheckpoint.ConfigFile)))
            throw new UserError($"--vae {vaeDir}: not a VAE folder (no config.json)");
        var model = Captioner.Load(captionerDir);
        model.Eval();
        var vae = VaeCheckpoint.Load(vaeDir);
        vae.Eval();
        try { return new VideoCaptioning(model, new VaeLatents(vae)); }
        catch (ArgumentException e) { throw new UserError($"--vae {vaeDir}: {e.Message}"); }
    }

    // a folder of images is one clip, not a folder of clips
    static bool LooksLikeImageFolder(string dir) =>
        Directory.EnumerateFiles(dir).Any(f => ImageSequence.Extensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
        && !Directory.EnumerateFiles(dir).Any(f => Path.GetExtension(f).ToLowerInvariant() is ".gif" or ".mp4" or
                                                   ".webm" or ".mov" or ".mkv" or ".avi" or ".y4m");

    // the clip's path as captions.jsonl at `jsonl` names it: relative to that file's folder
    static string Relative(string jsonl, string clip) =>
        Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(jsonl))!, Path.GetFullPath(clip)).Replace('\\', '/');
}
