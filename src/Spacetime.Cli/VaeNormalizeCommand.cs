// spacetime vae normalize: a copy of a VAE folder with per-channel latent statistics, so that a DiT trained in its
// latents sees every channel at zero mean and unit variance (VideoVaeConfig.ChannelMean/ChannelStd).
//   spacetime vae normalize --vae models/spacetime/vae --out runs/vae-norm [--clips 256]
// Measured on world clips of the world recipes' sizes (128x128, 160x96, 96x160; 17 frames at 8 fps) from a clip family
// no training run draws. The weights are copied unchanged; a model trained in the old latents does not work in the new
// ones (the fingerprint differs), so a DiT starts a stage with them (docs/model-v2.md).
using System.CommandLine;
using System.Globalization;
using Spacetime.Engine;
using Spacetime.Models.Vae;
using Spacetime.Pipelines;
using Spacetime.World;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class VaeNormalizeCommand
{
    /// <summary>Salt of the clip family measured on (not a training run's).</summary>
    const long ClipSalt = 0xC4A7_57A7;

    static readonly (int W, int H)[] Sizes = [(128, 128), (160, 96), (96, 160)];

    public static Command Create(CliConsole io)
    {
        var dir = CliArgs.Required<string>("--vae", "VAE folder (`spacetime train vae --out`, or a model folder's vae/).");
        var output = CliArgs.Required<string>("--out", "New VAE folder (must not exist): the same weights, with the " +
                                              "channel statistics in config.json.", "-o");
        var clips = CliArgs.Option("--clips", "World clips to measure on.", 256);
        var command = new Command("normalize", "Measure per-channel latent statistics and write a normalised copy of " +
                                               "a VAE folder.")
        {
            dir, output, clips,
        };
        command.SetAction(parsed =>
        {
            int count = CliArgs.Positive("--clips", parsed.GetValue(clips));
            string outDir = parsed.GetValue(output)!;
            if (File.Exists(outDir) || Directory.Exists(outDir))
                throw new UserError($"--out {outDir}: already exists; give a new folder (nothing is overwritten)");
            var source = VaeCommands.Load(parsed.GetValue(dir)!);
            if (source.Config.ChannelMean is not null)
                io.OutWriter.WriteLine("the VAE is normalised already: measuring again from its raw latents");
            // the raw latents (z * LatentScale), whatever normalisation the source had
            var raw = source.WithChannelStats(null, null);                  // in eval mode, as loaded
            var codec = new VaeLatents(raw);

            (float[] Mean, float[] Std) stats = ([], []);
            io.Out.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                                      new RemainingTimeColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask("encoding world clips", maxValue: count);
                    var flat = new Tensor[count];                       // per clip (C, T' h w), pooled over the sizes
                    for (int i = 0; i < count; i++)
                    {
                        var (w, h) = Sizes[i % Sizes.Length];
                        var clip = WorldClip.Render(new ClipSettings(WorldClip.DeriveSeed(ClipSalt, i), w, h, 2.125, 8));
                        flat[i] = codec.Encode(clip.Frames).Reshape(raw.Config.LatentChannels, -1).CopyUnscoped();
                        task.Value = i + 1;
                    }
                    var all = F.Concat(flat, 1);                                                   // (C, N)
                    try { stats = VideoVae.MeasureChannelStats(all.Unsqueeze(0)); }                // (1, C, N)
                    catch (ArgumentException e)
                    {
                        throw new UserError($"--vae: {e.Message.Replace("VideoVae.MeasureChannelStats: ", "")} " +
                                            "(an untrained VAE's detail channels are all zero); normalise a trained VAE");
                    }
                });

            var normalised = source.WithChannelStats(stats.Mean, stats.Std);
            string tmp = outDir.TrimEnd('/', '\\') + ".tmp-" + Environment.ProcessId;
            VaeCheckpoint.Save(normalised, tmp);
            Directory.Move(tmp, outDir);
            io.OutWriter.WriteLine("| channel | mean | std |");
            io.OutWriter.WriteLine("|---|---|---|");
            for (int c = 0; c < stats.Mean.Length; c++)
                io.OutWriter.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {c} | {stats.Mean[c]:0.000} | {stats.Std[c]:0.000} |"));
            io.OutWriter.WriteLine($"measured on {count} world clips; wrote {outDir} (the same weights, normalised " +
                                   "latents: train a DiT stage in them, e.g. `train dit --init MODEL` with this VAE " +
                                   "as the model's vae/)");
            return CliRunner.Ok;
        });
        return command;
    }
}
