// spacetime model ...: sizes of DiT configurations, and interop with reference (facebookresearch/DiT) checkpoints.
//   spacetime model info DiT-XL/2 --image 256 [--json]
//   spacetime model info DiT-S/2 --frames 17 --size 128x128 [--layout factorized] [--json]
//   spacetime model import ref.safetensors --config args.json --out models/imported
//   spacetime model forward --model models/imported --inputs in.safetensors --out out.safetensors
using System.CommandLine;
using System.Text.Json;
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class ModelCommands
{
    const int VaeSpatial = 8, VaeTemporal = 4;          // the video VAE's compression, for --frames/--size
    const int MaxPixels = 16384, MaxFrames = 100_000;   // beyond these the token counts overflow what info prints

    public static Command Create(CliConsole io)
    {
        var model = new Command("model", "DiT model sizes and reference-checkpoint interop.");
        model.Subcommands.Add(Info(io));
        model.Subcommands.Add(Import(io));
        model.Subcommands.Add(ForwardCommand(io));
        return model;
    }

    static Command Info(CliConsole io)
    {
        var name = new Argument<string>("name") { Description = "A preset: DiT-S/2 ... DiT-XL/8." };
        var image = new Option<int?>("--image") { Description = "Image size in pixels (the latent is size/8), e.g. 256." };
        var frames = new Option<int?>("--frames") { Description = "Video frames (video DiT; latent frames 1 + (T-1)/4)." };
        var size = new Option<string?>("--size") { Description = "Video frame size WxH in pixels (video DiT)." };
        var layout = new Option<AttentionLayout>("--layout") { Description = "Video self-attention: Full or Factorized.", DefaultValueFactory = _ => AttentionLayout.Full };
        var textTokens = new Option<int>("--text-tokens") { Description = "Caption tokens the video DiT cross-attends to.", DefaultValueFactory = _ => 32 };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (keys: params, gflops, ...)." };
        var command = new Command("info", "Parameters and forward GFLOPs of a DiT configuration.")
        {
            name, image, frames, size, layout, textTokens, json,
        };
        command.SetAction(parsed =>
        {
            var preset = parsed.GetValue(name)!;
            var cfg = PresetOrError(preset);
            int? img = parsed.GetValue(image), t = parsed.GetValue(frames);
            string? wh = parsed.GetValue(size);
            if (parsed.GetValue(textTokens) is < 0 or > 4096)
                throw new UserError($"--text-tokens {parsed.GetValue(textTokens)}: must be 0 to 4096");
            object result;
            if (t is null && wh is null)
            {
                int pixels = img ?? 256;
                if (pixels is < 1 or > MaxPixels)
                    throw new UserError($"--image {pixels}: must be 1 to {MaxPixels} pixels");
                if (pixels % (VaeSpatial * cfg.Patch) != 0)
                    throw new UserError($"--image {pixels} must divide by {VaeSpatial * cfg.Patch} (VAE 8x times patch {cfg.Patch})");
                int latent = pixels / VaeSpatial;
                result = new
                {
                    model = preset, kind = "image", image = pixels, latent = $"{latent}x{latent}x{cfg.InChannels}",
                    tokens = (latent / cfg.Patch) * (latent / cfg.Patch),
                    @params = DitFlops.ImageParameters(cfg, latent),
                    gflops = Math.Round(DitFlops.ImageForward(cfg, latent) / 1e9, 2),
                };
            }
            else
            {
                if (img is not null) throw new UserError("give either --image, or --frames and --size, not both");
                int T = CliArgs.Positive("--frames", t ?? 1);
                var (w, h) = CliArgs.Size("--size", wh ?? "128x128");
                if (w > MaxPixels || h > MaxPixels || T > MaxFrames)
                    throw new UserError($"--size {w}x{h} --frames {T}: at most {MaxPixels} pixels a side and {MaxFrames} frames");
                if (w % (VaeSpatial * cfg.Patch) != 0 || h % (VaeSpatial * cfg.Patch) != 0)
                    throw new UserError($"--size {w}x{h}: width and height must divide by {VaeSpatial * cfg.Patch}");
                if ((T - 1) % VaeTemporal != 0)
                    throw new UserError($"--frames {T}: the causal VAE takes 1 + 4k frames (e.g. 1, 5, 9, 17, 33)");
                int lt = 1 + (T - 1) / VaeTemporal, lh = h / VaeSpatial, lw = w / VaeSpatial;
                var vcfg = cfg with { Attention = parsed.GetValue(layout), LearnSigma = false };
                int l = parsed.GetValue(textTokens);
                result = new
                {
                    model = preset, kind = "video", layout = vcfg.Attention.ToString().ToLowerInvariant(),
                    frames = T, size = $"{w}x{h}", latent = $"{lt}x{lh}x{lw}x{cfg.InChannels}",
                    tokens = lt * (lh / cfg.Patch) * (lw / cfg.Patch), text_tokens = l,
                    @params = VideoParameters(vcfg),
                    gflops = Math.Round(DitFlops.VideoForward(vcfg, lt, lh, lw, l) / 1e9, 2),
                };
            }
            if (parsed.GetValue(json)) io.OutWriter.WriteLine(JsonSerializer.Serialize(result));
            else
            {
                var table = new Table().AddColumn("property").AddColumn("value");
                foreach (var p in result.GetType().GetProperties())
                    table.AddRow(Markup.Escape(p.Name), Markup.Escape(Format(p.GetValue(result))));
                io.Out.Write(table);
            }
            return CliRunner.Ok;
        });
        return command;
    }

    static string Format(object? v) => v switch
    {
        long n when n >= 1_000_000 => $"{n:N0} ({n / 1e6:F1}M)",
        null => "",
        _ => v.ToString() ?? "",
    };

    // Every block has the same parameters, so a 1- and a 2-block model give the total without building all blocks.
    static long VideoParameters(DitConfig cfg)
    {
        long one = new VideoDit(cfg with { Depth = 1 }).ParameterCount;
        long two = new VideoDit(cfg with { Depth = 2 }).ParameterCount;
        return one + (cfg.Depth - 1) * (two - one);
    }

    static DitConfig PresetOrError(string name) =>
        DitConfig.Presets.TryGetValue(name, out var c) ? c
            : throw new UserError($"unknown model '{name}'; choose one of {string.Join(", ", DitConfig.Presets.Keys)}");

    static Command Import(CliConsole io)
    {
        var path = new Argument<string>("checkpoint") { Description = "Reference DiT state dict (.safetensors)." };
        var config = new Option<string>("--config") { Description = "JSON of the reference constructor's arguments.", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Model folder to write.", Required = true };
        var command = new Command("import", "Convert a facebookresearch/DiT checkpoint into a Spacetime model folder.")
        {
            path, config, output,
        };
        command.SetAction(parsed =>
        {
            string src = parsed.GetValue(path)!, cfgPath = parsed.GetValue(config)!, dir = parsed.GetValue(output)!;
            if (!File.Exists(src)) throw new UserError($"{src}: no such checkpoint file");
            if (!File.Exists(cfgPath)) throw new UserError($"{cfgPath}: no such config file");
            var folder = DitCheckpoint.FromReferenceArgs(cfgPath);
            var model = DitCheckpoint.ImportReference(src, cfgPath);
            DitCheckpoint.Save(model, folder, dir);
            io.Out.MarkupLine($"[green]imported[/] {Markup.Escape(src)} -> {Markup.Escape(dir)}: " +
                              $"{model.ReferenceParameterCount:N0} parameters");
            return CliRunner.Ok;
        });
        return command;
    }

    static Command ForwardCommand(CliConsole io)
    {
        var modelDir = new Option<string>("--model") { Description = "Model folder (config.json + model.safetensors).", Required = true };
        var inputs = new Option<string>("--inputs") { Description = "Safetensors with x, t and y (image) or text (video).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Safetensors file to write the output to, as 'out'.", Required = true };
        var command = new Command("forward", "Run one forward pass on given tensors (for checking against a reference).")
        {
            modelDir, inputs, output,
        };
        command.SetAction(parsed =>
        {
            string dir = parsed.GetValue(modelDir)!, inPath = parsed.GetValue(inputs)!, outPath = parsed.GetValue(output)!;
            if (!File.Exists(inPath)) throw new UserError($"{inPath}: no such inputs file");
            var (model, cfg) = DitCheckpoint.Load(dir);
            var tensors = Safetensors.Read(inPath).Tensors;
            Tensor Need(string key) => tensors.TryGetValue(key, out var v) ? v
                : throw new UserError($"{inPath}: missing tensor '{key}' (expected x, t and {(cfg.Kind == DitKind.Image ? "y" : "text")})");
            model.Eval();
            Tensor result;
            using (Autograd.NoGrad())
            {
                if (cfg.Kind == DitKind.Image)
                {
                    var y = Need("y").ToArray().Select(v => (int)MathF.Round(v)).ToArray();
                    result = ((Dit)model).Forward(Need("x"), Need("t"), y);
                }
                else result = ((VideoDit)model).Forward(Need("x"), Need("t"), Need("text"));
            }
            CliArgs.Writable("--out", outPath);
            Safetensors.Write(outPath, [new("out", result)]);
            io.Out.MarkupLine($"[green]wrote[/] {Markup.Escape(outPath)}: out ({string.Join(", ", result.Shape.ToArray())})");
            return CliRunner.Ok;
        });
        return command;
    }
}
