// spacetime vae reconstruct: what a trained VAE keeps of a world clip. Encodes and decodes one clip and writes a
// contact sheet with the real frames in the top rows and the reconstruction below, and prints PSNR and SSIM.
//   spacetime vae reconstruct --vae runs/vae --seed 3 --size 128x128 --seconds 2 --fps 8 --out recon.png
using System.CommandLine;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.World;

namespace Spacetime.Cli;

internal static class VaeCommands
{
    public static Command Create(CliConsole io)
    {
        var vae = new Command("vae", "Inspect a trained video VAE.");
        vae.Subcommands.Add(Reconstruct(io));
        vae.Subcommands.Add(VaeScoreCommand.Create(io));
        return vae;
    }

    static Command Reconstruct(CliConsole io)
    {
        var dir = CliArgs.Required<string>("--vae", "VAE folder (`spacetime train vae --out`, or a model folder's vae/).");
        var seed = CliArgs.Option("--seed", "World scene seed.", 0L);
        var size = CliArgs.Option("--size", "Frame size WxH.", "128x128");
        var seconds = CliArgs.Option("--seconds", "Duration (frames are rounded to 1 + 4k).", 2.0);
        var fps = CliArgs.Option("--fps", "Frames per second.", 8.0);
        var output = CliArgs.Required<string>("--out", "Contact sheet (.png) or video: real frames above, reconstruction below.", "-o");
        var command = new Command("reconstruct", "Encode and decode one world clip; print PSNR and SSIM.")
        {
            dir, seed, size, seconds, fps, output,
        };
        command.SetAction(parsed =>
        {
            string outPath = parsed.GetValue(output)!;
            CliArgs.VideoOut("--out", outPath);
            VideoVae model;
            try { model = VaeCheckpoint.Load(parsed.GetValue(dir)!); }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException or InvalidDataException)
            {
                throw new UserError($"--vae: {e.Message}");
            }
            model.Eval();
            var codec = new VaeLatents(model);
            var (w, h) = CliArgs.Size("--size", parsed.GetValue(size)!);
            int f = codec.SpatialFactor;
            if (w % f != 0 || h % f != 0) throw new UserError($"--size {w}x{h}: width and height must divide by {f}");
            double rate = CliArgs.Positive("--fps", parsed.GetValue(fps));
            int frames = codec.NearestFrames((int)Math.Round(CliArgs.Positive("--seconds", parsed.GetValue(seconds)) * rate));
            var clip = WorldClip.Render(new ClipSettings(parsed.GetValue(seed), w, h, frames / rate, rate));
            var rebuilt = codec.Decode(codec.Encode(clip.Frames), rate);
            var both = new Frames(2 * frames, h, w, rate);
            clip.Frames.Rgb.CopyTo(both.Rgb, 0);
            rebuilt.Rgb.CopyTo(both.Rgb, clip.Frames.Rgb.Length);
            WorldCommands.CreateParent(outPath);
            if (Path.GetExtension(outPath).Equals(".png", StringComparison.OrdinalIgnoreCase))
                ContactSheet.Write(outPath, both, new ContactSheetOptions(Columns: Math.Min(frames, 9)));
            else VideoFile.Write(outPath, both);
            io.OutWriter.WriteLine($"wrote {outPath}: {frames} frames of {w}x{h}, real then reconstructed; " +
                                   $"PSNR {Fidelity.Psnr(clip.Frames, rebuilt):F2} dB, SSIM {Fidelity.Ssim(clip.Frames, rebuilt):F4}");
            return CliRunner.Ok;
        });
        return command;
    }
}
