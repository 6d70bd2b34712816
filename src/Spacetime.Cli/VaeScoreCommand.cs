// spacetime vae score: a VAE's reconstruction quality on held-out world clips, per frame size, with its speed.
//   spacetime vae score --vae models/spacetime/vae --clips 32 --sizes 128x128,160x96,96x160 --out vae-score
// Prints a table (PSNR mean and worst, SSIM, encode + decode seconds per clip) and writes report.md and contact.png
// (four clips of the first size: real frames above, reconstruction below) into --out.
using System.Diagnostics;
using System.Globalization;
using System.CommandLine;
using System.Text;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class VaeScoreCommand
{
    public static Command Create(CliConsole io)
    {
        var dir = CliArgs.Required<string>("--vae", "VAE folder (`spacetime train vae --out`, or a model folder's vae/).");
        var clips = CliArgs.Option("--clips", "Held-out world clips per size.", 32);
        var sizes = CliArgs.Option("--sizes", "Frame sizes WxH, comma-separated.", "128x128,160x96,96x160");
        var frames = CliArgs.Option("--frames", "Frames per clip (rounded to what the VAE takes, 1 + 4k).", 17);
        var seed = CliArgs.Option("--seed", "Held-out clip family (never drawn by training).", 0L);
        var output = CliArgs.Option("--out", "Report folder: report.md and contact.png.", "vae-score", "-o");
        var command = new Command("score", "Reconstruction PSNR, SSIM and speed on held-out world clips.")
        {
            dir, clips, sizes, frames, seed, output,
        };
        command.SetAction(parsed =>
        {
            int count = CliArgs.Positive("--clips", parsed.GetValue(clips));
            var sizeList = CliArgs.Sizes("--sizes", parsed.GetValue(sizes)!);
            long seedValue = parsed.GetValue(seed);
            if (seedValue < 0) throw new UserError($"--seed {seedValue}: must be 0 or more");
            string outDir = parsed.GetValue(output)!;
            var model = VaeCommands.Load(parsed.GetValue(dir)!);
            var codec = new VaeLatents(model);
            foreach (var (w, h) in sizeList)
                if (w % codec.SpatialFactor != 0 || h % codec.SpatialFactor != 0)
                    throw new UserError($"--sizes {w}x{h}: width and height must divide by the VAE's {codec.SpatialFactor}");
            int frameCount = codec.NearestFrames(CliArgs.Positive("--frames", parsed.GetValue(frames)));
            var settings = new VaeScoreSettings(sizeList, count, frameCount, 8, seedValue);

            var kept = new List<(Frames Real, Frames Rebuilt)>();
            IReadOnlyList<VaeSizeScore> scores = [];
            var clock = Stopwatch.StartNew();
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                                      new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("reconstructing", maxValue: count * sizeList.Count);
                    scores = VaeScore.Run(codec, settings, (done, _) => task.Value = done, kept);
                });
            string table = Table(scores, parsed.GetValue(dir)!, settings, model.Config);
            Directory.CreateDirectory(outDir);
            AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), table);
            ContactSheet.Write(Path.Combine(outDir, "contact.png"), VaeScore.SheetFrames(kept, 9),
                               new ContactSheetOptions(Columns: Math.Min(9, frameCount)));
            io.OutWriter.Write(table);
            io.OutWriter.WriteLine($"{clock.Elapsed.TotalSeconds:F1} s; wrote report.md and contact.png in {outDir}");
            return CliRunner.Ok;
        });
        return command;
    }

    static string Table(IReadOnlyList<VaeSizeScore> scores, string dir, VaeScoreSettings s, VideoVaeConfig cfg)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.AppendLine(inv, $"VAE {dir}: {cfg.SpatialCompression}x{cfg.SpatialCompression} spatial, " +
                           $"{cfg.TemporalCompression}x temporal, {cfg.LatentChannels} latent channels; " +
                           $"{s.Clips} held-out world clips per size (seed family {s.Seed}), {s.Frames} frames, " +
                           $"{Environment.ProcessorCount} cores");
        sb.AppendLine();
        sb.AppendLine("| size | clips | PSNR (dB) | worst PSNR | SSIM | encode + decode (s/clip) |");
        sb.AppendLine("|---|---|---|---|---|---|");
        foreach (var r in scores)
            sb.AppendLine(inv, $"| {r.Width}x{r.Height} | {r.Clips} | {r.Psnr:F2} | {r.WorstPsnr:F2} | {r.Ssim:F4} | " +
                               $"{r.SecondsPerClip:F2} |");
        return sb.ToString();
    }
}
