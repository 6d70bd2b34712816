// spacetime vae reconstruct: what a trained VAE keeps of a video. Encodes and decodes either a video file (--input)
// or one world clip (--seed, the default), and prints PSNR and SSIM against the original and the wall time.
//   spacetime vae reconstruct --vae runs/vae --input clip.mp4 --out clip-vae.mp4
//   spacetime vae reconstruct --vae runs/vae --seed 3 --size 128x128 --seconds 2 --fps 8 --out recon.png
// A file of any size and length is fitted to the VAE (VaeRoundTrip: padded, or shrunk when very large) and written
// back at its own size, frame count and fps; a .png output is a contact sheet, real frames above the reconstruction.
using System.CommandLine;
using System.Diagnostics;
using Spacetime.Eval;
using Spacetime.Media;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.World;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class VaeCommands
{
    /// <summary>Frames shown per row of a reconstruction contact sheet (evenly spaced over a longer video).</summary>
    const int SheetFrames = 8;

    public static Command Create(CliConsole io)
    {
        var vae = new Command("vae", "Inspect a trained video VAE.");
        vae.Subcommands.Add(Reconstruct(io));
        vae.Subcommands.Add(VaeScoreCommand.Create(io));
        vae.Subcommands.Add(VaeNormalizeCommand.Create(io));
        return vae;
    }

    static Command Reconstruct(CliConsole io)
    {
        var dir = CliArgs.Required<string>("--vae",
                                           "VAE folder (`spacetime train vae --out`, or a model folder's vae/).");
        var input = CliArgs.Option<string?>("--input", "Video to reconstruct: .gif, .y4m, .png, a folder of PNG " +
                                            "frames, or anything ffmpeg reads (.mp4, .webm, ...).", null, "-i");
        var seed = CliArgs.Option("--seed", "World scene seed (without --input).", 0L);
        var size = CliArgs.Option("--size", "World clip frame size WxH.", "128x128");
        var seconds = CliArgs.Option("--seconds", "World clip duration (frames are rounded to 1 + 4k).", 2.0);
        var fps = CliArgs.Option("--fps", "World clip frames per second.", 8.0);
        var output = CliArgs.Required<string>("--out", "Video (.gif .y4m .mp4 .webm ..., or a folder for PNG " +
                                              "frames) or contact sheet (.png: real frames above, reconstruction " +
                                              "below).", "-o");
        var command = new Command("reconstruct", "Encode and decode a video file or a world clip; print PSNR and SSIM.")
        {
            dir, input, seed, size, seconds, fps, output,
        };
        command.SetAction(parsed =>
        {
            var clock = Stopwatch.StartNew();
            string outPath = parsed.GetValue(output)!;
            if (Path.GetExtension(outPath).Length > 0) CliArgs.VideoOut("--out", outPath);   // no extension: a folder
            string? inPath = parsed.GetValue(input);
            if (inPath is not null)
                foreach (var clipOption in new Option[] { seed, size, seconds, fps })
                    if (parsed.GetResult(clipOption) is { Implicit: false })
                        throw new UserError($"--input and {clipOption.Name} together: {clipOption.Name} describes a " +
                                            "world clip; give either --input FILE or the world clip's options");
            if (inPath is not null && !File.Exists(inPath) && !Directory.Exists(inPath))
                throw new UserError($"--input {inPath}: file or folder not found; check the path");
            var model = Load(parsed.GetValue(dir)!);
            if (inPath is not null) return FromFile(io, model, inPath, outPath, clock);
            var (w, h) = CliArgs.Size("--size", parsed.GetValue(size)!);
            double rate = CliArgs.Positive("--fps", parsed.GetValue(fps));
            double duration = CliArgs.Positive("--seconds", parsed.GetValue(seconds));
            return FromWorld(io, model, parsed.GetValue(seed), w, h, duration, rate, outPath);
        });
        return command;
    }

    // The VAE folder, in eval mode, or one user error (--vae) that names what is wrong with it.
    internal static VideoVae Load(string dir, string option = "--vae")
    {
        VideoVae model;
        try { model = VaeCheckpoint.Load(dir); }
        catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
        {
            throw new UserError($"{option}: {e.Message}");
        }
        model.Eval();
        return model;
    }

    // --input: the file fitted to the VAE, encoded, decoded, and written back at its own size, length and fps.
    static int FromFile(CliConsole io, VideoVae model, string inPath, string outPath, Stopwatch clock)
    {
        var source = VideoFile.Read(inPath);
        int min = VaeRoundTrip.MinSide(model.Config);
        if (source.Width < min || source.Height < min)
            throw new UserError($"--input {inPath}: {source.Width}x{source.Height} is smaller than one latent cell; " +
                                $"this VAE needs frames of at least {min}x{min} pixels, so upscale or pad the video");
        if (source.Count == 0) throw new UserError($"--input {inPath}: the video has no frames");
        var plan = VaeRoundTrip.Plan(model.Config, source.Width, source.Height, source.Count);
        var say = io.OutWriter;
        say.WriteLine($"read {inPath}: {Describe(source)}");
        foreach (string line in plan.Describe()) say.WriteLine(line);
        string Stage(string stage) =>
            $"{stage} {plan.PaddedCount} frames of {plan.PaddedWidth}x{plan.PaddedHeight}" +
            (plan.Chunks > 1 ? $" in {plan.Chunks} chunks of up to {1 + plan.MicroFrames} frames" : "");
        // on a terminal a spinner shows the stage while it runs; elsewhere (logs, pipes) each stage is a line
        var (rebuilt, encodeTime, decodeTime) = io.Out.Profile.Capabilities.Interactive
            ? io.Out.Status().Start("fitting the video to the VAE", ctx =>
                VaeRoundTrip.Run(model, source, plan, stage => ctx.Status(Markup.Escape(Stage(stage)))))
            : VaeRoundTrip.Run(model, source, plan, stage =>
            {
                say.WriteLine(Stage(stage));
                say.Flush();
            });
        string what = Describe(rebuilt);
        if (Path.GetExtension(outPath).Equals(".png", StringComparison.OrdinalIgnoreCase))
        {
            var (sheet, columns) = RealAboveReconstruction(source, rebuilt);
            ContactSheet.Write(outPath, sheet, new ContactSheetOptions(Columns: columns));
            what = $"contact sheet, {columns} of the {what} above their reconstructions";
        }
        else VideoFile.Write(outPath, rebuilt);
        say.WriteLine($"wrote {outPath}: {what}; PSNR {Decibels(Fidelity.Psnr(source, rebuilt))} dB, " +
                      $"SSIM {Fidelity.Ssim(source, rebuilt):F4}; wall time {clock.Elapsed.TotalSeconds:F1} s " +
                      $"(encode {encodeTime.TotalSeconds:F1} s, decode {decodeTime.TotalSeconds:F1} s)");
        return CliRunner.Ok;
    }

    // --seed: one world clip at a size the VAE takes; the output holds the real frames, then the reconstruction.
    static int FromWorld(CliConsole io, VideoVae model, long seed, int w, int h, double seconds, double rate,
                         string outPath)
    {
        var codec = new VaeLatents(model);
        int f = codec.SpatialFactor;
        if (w % f != 0 || h % f != 0) throw new UserError($"--size {w}x{h}: width and height must divide by {f}");
        int frames = codec.NearestFrames((int)Math.Round(seconds * rate));
        var clip = WorldClip.Render(CliArgs.Checked(new ClipSettings(seed, w, h, frames / rate, rate)));
        var rebuilt = codec.Decode(codec.Encode(clip.Frames), rate);
        var both = new Frames(2 * frames, h, w, rate);
        clip.Frames.Rgb.CopyTo(both.Rgb, 0);
        rebuilt.Rgb.CopyTo(both.Rgb, clip.Frames.Rgb.Length);
        CliArgs.Writable("--out", outPath);
        if (Path.GetExtension(outPath).Equals(".png", StringComparison.OrdinalIgnoreCase))
            ContactSheet.Write(outPath, both, new ContactSheetOptions(Columns: Math.Min(frames, 9)));
        else VideoFile.Write(outPath, both);
        io.OutWriter.WriteLine($"wrote {outPath}: {frames} frames of {w}x{h}, real then reconstructed; " +
                               $"PSNR {Fidelity.Psnr(clip.Frames, rebuilt):F2} dB, " +
                               $"SSIM {Fidelity.Ssim(clip.Frames, rebuilt):F4}");
        return CliRunner.Ok;
    }

    // Up to SheetFrames evenly spaced frames (first and last included): the real ones in the top row, their
    // reconstructions in the row below.
    static (Frames Sheet, int Columns) RealAboveReconstruction(Frames real, Frames rebuilt)
    {
        int n = Math.Min(real.Count, SheetFrames);
        var sheet = new Frames(2 * n, real.Height, real.Width, real.Fps);
        for (int i = 0; i < n; i++)
        {
            int t = n == 1 ? 0 : (int)Math.Round(i * (real.Count - 1) / (double)(n - 1));
            real.Frame(t).CopyTo(sheet.Frame(i));
            rebuilt.Frame(t).CopyTo(sheet.Frame(n + i));
        }
        return (sheet, n);
    }

    static string Decibels(double psnr) => double.IsPositiveInfinity(psnr) ? "inf" : $"{psnr:F2}";

    static string Describe(Frames v) =>
        $"{v.Count} frame{(v.Count == 1 ? "" : "s")} of {v.Width}x{v.Height} at {v.Fps:0.###} fps";
}
