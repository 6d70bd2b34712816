// A fuzz test of the command line, in-process: hundreds of bad or edge-case invocations across every command (bad
// numbers, sizes, names, paths, files that are not what they claim, modes that do not combine). Each must print one
// line "error: ...", exit with code 2, show no stack trace, leave every pre-existing file as it was and no temp file
// behind. Arguments hold placeholders ({keep.gif}, {model}, ...) that FuzzFiles turns into real paths.
using Spacetime.Engine;
using Spacetime.Engine.IO;
using Spacetime.Media;
using Spacetime.Models.Vae;
using Spacetime.Training;

namespace Spacetime.Tests.Cli;

/// <summary>The files the fuzz cases point at: good model and VAE folders, a good clip, and bad files of every kind,
/// made once per test run in one folder.</summary>
internal static class FuzzFiles
{
    static readonly Lazy<string> root = new(Make);
    public static string Root => root.Value;

    static string Make()
    {
        string dir = Path.Combine(Path.GetTempPath(), "spacetime-fuzz-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(dir, recursive: true); } catch (IOException) { } };
        string P(string name) => Path.Combine(dir, name);
        DitTrainer.NewModel(DitRecipe.Preset("tiny"), seed: 1).Save(P("model"));
        VaeCheckpoint.Save(new VideoVae(VaeRecipe.Preset("tiny").Vae, new Rng(1)), P("vae"));
        var captioner = new Spacetime.Models.Caption.Captioner(Spacetime.Models.Caption.CaptionerConfig.Presets["tiny"],
            Spacetime.Models.Text.BpeTokenizer.Train(["A video of one object on a grey background."], 300))
        {
            Latents = Spacetime.Pipelines.LatentFingerprint.Of(new Spacetime.Pipelines.VaeLatents(VaeCheckpoint.Load(P("vae")))),
        };
        captioner.Save(P("captioner"));
        // the same folders with one weight NaN (a diverged run's export)
        foreach (var (good, bad, file) in new[] { ("model", "nanmodel", "dit/model.safetensors"), ("vae", "nanvae", "model.safetensors") })
        {
            foreach (var f in Directory.GetFiles(P(good), "*", SearchOption.AllDirectories))
            {
                string to = Path.Combine(P(bad), Path.GetRelativePath(P(good), f));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(f, to);
            }
            var tensors = Safetensors.Read(Path.Combine(P(bad), file)).Tensors.ToList();
            var first = tensors[0].Value.ToArray();
            first[0] = float.NaN;
            tensors[0] = new(tensors[0].Key, Tensor.From(first, tensors[0].Value.Shape.ToArray()));
            Safetensors.Write(Path.Combine(P(bad), file), tensors);
        }
        var clip = new Frames(5, 32, 32, 8);
        new Random(1).NextBytes(clip.Rgb);
        VideoFile.Write(P("clip.gif"), clip);
        VideoFile.Write(P("clip.y4m"), clip);
        File.WriteAllBytes(P("empty.png"), []);
        File.WriteAllBytes(P("empty.gif"), []);
        File.WriteAllBytes(P("empty.safetensors"), []);
        File.WriteAllBytes(P("empty.json"), []);
        var junk = new byte[4096];
        new Random(2).NextBytes(junk);
        foreach (var name in new[] { "garbage.png", "garbage.gif", "garbage.y4m", "garbage.safetensors", "garbage.jpg" })
            File.WriteAllBytes(P(name), junk);
        File.WriteAllBytes(P("truncated.safetensors"), File.ReadAllBytes(P("model/dit/model.safetensors"))[..200]);
        File.WriteAllText(P("array.json"), "[1, 2, 3]");
        File.WriteAllText(P("broken.json"), "{\"hidden\": ");
        foreach (var name in new[] { "zero.gif", "zero.y4m", "zero.png" })
            File.CreateSymbolicLink(P(name), "/dev/zero");              // endless bytes: refused, never read whole
        File.WriteAllText(P("keep.gif"), "keep");
        File.WriteAllText(P("keep.png"), "keep");
        File.WriteAllText(P("keep.json"), "keep");
        File.WriteAllText(P("file"), "a file, not a folder");
        Directory.CreateDirectory(P("emptydir"));
        Directory.CreateDirectory(P("badmodel/dit"));
        File.WriteAllText(P("badmodel/spacetime.json"), "{\"latents\": \"PixelSpace\"}");
        Directory.CreateDirectory(P("baddata"));
        File.WriteAllText(P("baddata/captions.jsonl"), "this is not json\n{\"file\": \"nope.gif\"}\n");
        return dir;
    }

    /// <summary>The argument with every {name} placeholder made a path under the root ({new:x}: a fresh path).</summary>
    public static string Expand(string arg)
    {
        if (!arg.Contains('{')) return arg;
        int a = arg.IndexOf('{'), b = arg.IndexOf('}', a);
        string name = arg[(a + 1)..b];
        string path = name.StartsWith("new:") ? Path.Combine(Root, "new-" + Guid.NewGuid().ToString("N")[..8] + name[4..])
                                              : Path.Combine(Root, name);
        return Expand(arg[..a] + path + arg[(b + 1)..]);
    }
}

public sealed class FuzzTests
{
    static readonly string[] BadInts = ["0", "-1", "abc", "1.5", "nan", "", "2147483648", "1e3"];
    static readonly string[] BadPositives = ["0", "-1", "nan", "NaN", "inf", "-inf", "abc", "", "1e999"];
    static readonly string[] BadSizes = ["0x0", "64", "x64", "64x", "-64x64", "64x-64", "abcxdef", "1e3x64", "99999x99999",
                                         "64x64x64", "", "64X", "8192x8192"];
    static readonly string[] BadSeeds = ["abc", "1.5", "99999999999999999999", ""];

    static IEnumerable<(string, string[])> Options(string[] basis, string option, IEnumerable<string> values) =>
        values.Select(v => ($"{string.Join(' ', basis.Take(2))} {option} '{v}'", basis.Append(option).Append(v).ToArray()));

    static IEnumerable<(string Name, string[] Args)> All()
    {
        // world render
        string[] render = ["world", "render", "--out", "{keep.gif}"];
        foreach (var c in Options(render, "--seed", BadSeeds)) yield return c;
        foreach (var c in Options(render, "--size", BadSizes)) yield return c;
        foreach (var c in Options(render, "--seconds", BadPositives.Concat(["4000", "0.01"])) ) yield return c;
        foreach (var c in Options(render, "--fps", BadPositives.Concat(["1e9"]))) yield return c;
        yield return ("render unknown extension", ["world", "render", "--out", "{x.xyz}"]);
        yield return ("render out under a file", ["world", "render", "--out", "{file}/x.gif"]);
        yield return ("render truth under a file", [.. render, "--truth", "{file}/t.json"]);
        yield return ("render huge", ["world", "render", "--size", "4096x4096", "--seconds", "10", "--out", "{keep.gif}"]);
        yield return ("render unknown option", [.. render, "--bogus", "1"]);

        // data synth and inspect
        string[] synth = ["data", "synth", "--count", "2", "--out", "{new:ds}"];
        foreach (var c in Options(synth, "--count", BadInts)) yield return c;
        foreach (var c in Options(synth, "--sizes", BadSizes.Where(s => s.Length > 0).Concat([",,", "64x64,bad"]))) yield return c;
        foreach (var c in Options(synth, "--seconds", ["0", "-1", "2..1", "a..b", "1..2..3", "nan", "inf", "0..1", "5000"])) yield return c;
        foreach (var c in Options(synth, "--fps", BadPositives)) yield return c;
        foreach (var c in Options(synth, "--jobs", ["0", "-1", "abc"])) yield return c;
        foreach (var c in Options(synth, "--format", [".xyz", "xyz", ""])) yield return c;
        yield return ("synth out is a file", ["data", "synth", "--count", "1", "--out", "{file}"]);
        foreach (var d in new[] { "{nope}", "{file}" })       // an empty or partly bad folder is reported, not refused
            yield return ($"inspect {d}", ["data", "inspect", d]);

        // model info, import, forward
        foreach (var n in new[] { "Bogus", "", "DiT-S/3", "dit-xl" }) yield return ($"info '{n}'", ["model", "info", n]);
        string[] info = ["model", "info", "DiT-S/2"];
        foreach (var c in Options(info, "--image", ["0", "-8", "7", "2147483632", "abc", "1e3", "20000"])) yield return c;
        foreach (var c in Options(info, "--frames", ["0", "-1", "2", "abc"])) yield return c;
        foreach (var c in Options(info, "--size", BadSizes)) yield return c;
        foreach (var c in Options(info, "--layout", ["bogus", ""])) yield return c;
        foreach (var c in Options(info, "--text-tokens", ["-1", "abc"])) yield return c;
        yield return ("info image and size", [.. info, "--image", "256", "--size", "64x64"]);
        foreach (var ck in new[] { "{nope.safetensors}", "{empty.safetensors}", "{garbage.safetensors}", "{truncated.safetensors}", "{emptydir}" })
            yield return ($"import {ck}", ["model", "import", ck, "--config", "{array.json}", "--out", "{new:imp}"]);
        foreach (var cfg in new[] { "{nope.json}", "{empty.json}", "{array.json}", "{broken.json}", "{garbage.png}" })
            yield return ($"import config {cfg}", ["model", "import", "{model/dit/model.safetensors}", "--config", cfg, "--out", "{new:imp}"]);
        foreach (var m in new[] { "{nope}", "{file}", "{emptydir}", "{badmodel}" })
            yield return ($"forward model {m}", ["model", "forward", "--model", m, "--inputs", "{model/dit/model.safetensors}", "--out", "{new:f.safetensors}"]);
        foreach (var i in new[] { "{nope.safetensors}", "{empty.safetensors}", "{garbage.safetensors}", "{truncated.safetensors}", "{model/dit/model.safetensors}" })
            yield return ($"forward inputs {i}", ["model", "forward", "--model", "{model/dit}", "--inputs", i, "--out", "{new:f.safetensors}"]);

        // train vae and dit: every knob, and the folders they read
        foreach (var (kind, recipe) in new[] { ("vae", "tiny"), ("dit", "tiny") })
        {
            string[] train = ["train", kind, "--recipe", recipe, "--out", "{new:run}"];
            foreach (var c in Options(train, "--recipe", ["bogus", ""])) yield return c;
            foreach (var o in new[] { "--steps", "--batch", "--accumulate", "--checkpoint-every" })
                foreach (var c in Options(train, o, BadInts)) yield return c;
            foreach (var c in Options(train, "--lr", BadPositives)) yield return c;
            foreach (var c in Options(train, "--weight-decay", ["-1", "nan", "inf", "abc"])) yield return c;
            foreach (var c in Options(train, "--ema", ["-0.1", "1", "nan", "abc"])) yield return c;
            foreach (var c in Options(train, "--seed", ["-1", "abc"])) yield return c;
            foreach (var c in Options(train, "--max-minutes", ["-1", "nan", "inf", "abc"])) yield return c;
            foreach (var c in Options(train, "--profile", ["-1", "abc"])) yield return c;
            yield return ($"train {kind} out is a file", ["train", kind, "--recipe", recipe, "--out", "{file}"]);
        }
        yield return ("train dit --cache-clips without a cache", ["train", "dit", "--recipe", "tiny", "--cache-clips", "4", "--out", "{new:run}"]);
        foreach (var c in Options(["train", "dit", "--recipe", "tiny-vae", "--vae", "{vae}", "--out", "{new:run}"], "--cache-clips", BadInts))
            yield return c;
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{model}" })
            yield return ($"train dit --vae {v}", ["train", "dit", "--recipe", "tiny-vae", "--vae", v, "--out", "{new:run}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{badmodel}" })
            yield return ($"train dit --init {v}", ["train", "dit", "--recipe", "tiny", "--init", v, "--out", "{new:run}"]);
        yield return ("train dit --init a pixel model --vae", ["train", "dit", "--recipe", "tiny", "--init", "{model}", "--vae", "{vae}", "--out", "{new:run}"]);
        yield return ("train vae world-decoder without --init", ["train", "vae", "--recipe", "world-decoder", "--out", "{new:run}"]);
        yield return ("train vae world-decoder --init of another design", ["train", "vae", "--recipe", "world-decoder", "--init", "{vae}", "--out", "{new:run}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{model}", "{nanvae}" })
            yield return ($"train vae --init {v}", ["train", "vae", "--recipe", "world-decoder", "--init", v, "--out", "{new:run}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{model}", "{nanvae}" })
            yield return ($"vae normalize --vae {v}", ["vae", "normalize", "--vae", v, "--out", "{new:norm}", "--clips", "1"]);
        yield return ("vae normalize --out exists", ["vae", "normalize", "--vae", "{vae}", "--out", "{emptydir}", "--clips", "1"]);
        foreach (var c in Options(["vae", "normalize", "--vae", "{vae}", "--out", "{new:norm}"], "--clips", BadInts)) yield return c;
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{badmodel}" })
            yield return ($"train dit --text-from {v}", ["train", "dit", "--recipe", "tiny", "--text-from", v, "--out", "{new:run}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{baddata}" })
            yield return ($"train dit --data {v}", ["train", "dit", "--recipe", "tiny", "--data", v, "--out", "{new:run}"]);

        // train captioner and caption: the folders they read
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{model}" })
            yield return ($"train captioner --vae {v}", ["train", "captioner", "--recipe", "tiny", "--vae", v, "--out", "{new:run}"]);
        foreach (var c in Options(["train", "captioner", "--recipe", "tiny", "--out", "{new:run}"], "--recipe", ["bogus", ""]))
            yield return c;
        yield return ("train captioner without --vae", ["train", "captioner", "--recipe", "tiny", "--out", "{new:run}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{model}" })
            yield return ($"caption --captioner {v}", ["caption", "{clip.gif}", "--captioner", v, "--vae", "{vae}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{garbage.gif}" })
            yield return ($"caption input {v}", ["caption", v, "--captioner", "{captioner}", "--vae", "{vae}"]);
        yield return ("caption with another VAE", ["caption", "{clip.gif}", "--captioner", "{captioner}", "--vae", "{nanvae}"]);
        yield return ("caption folder over captions.jsonl", ["caption", "{baddata}", "--captioner", "{captioner}", "--vae", "{vae}"]);

        // train lora: its own knobs (checked before the data and the model are read), the data folders it reads
        string[] lora = ["train", "lora", "--model", "{model}", "--data", "{baddata}", "--out", "{new:run}"];
        foreach (var c in Options(lora, "--rank", BadInts)) yield return c;
        foreach (var c in Options(lora, "--alpha", BadPositives)) yield return c;
        foreach (var c in Options(lora, "--targets", ["bogus", "", "none", "1", "mlp,,", "self-attention,qkv"])) yield return c;
        foreach (var c in Options(lora, "--steps", BadInts)) yield return c;
        yield return ("train lora --dump-parity", [.. lora, "--dump-parity", "{new:parity}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{baddata}" })
            yield return ($"train lora --data {v}", ["train", "lora", "--model", "{model}", "--data", v, "--out", "{new:run}"]);

        // adapters: every kind of bad file, where generate and lora merge/info read them
        var badAdapters = new[] { "{nope}", "{file}", "{emptydir}", "{empty.safetensors}", "{garbage.safetensors}",
                                  "{truncated.safetensors}", "{model/dit/model.safetensors}", "{model}" };
        foreach (var a in badAdapters)
        {
            yield return ($"generate --lora {a}", ["generate", "x", "--model", "{model}", "--lora", a, "--out", "{keep.gif}"]);
            yield return ($"lora merge --lora {a}", ["lora", "merge", "--model", "{model}", "--lora", a, "--out", "{new:m}"]);
            yield return ($"lora info {a}", ["lora", "info", a]);
        }
        yield return ("generate --lora-scale alone", ["generate", "x", "--model", "{model}", "--lora-scale", "1", "--out", "{keep.gif}"]);
        yield return ("lora merge without --lora", ["lora", "merge", "--model", "{model}", "--out", "{new:m}"]);
        yield return ("lora merge out is a file", ["lora", "merge", "--model", "{model}", "--lora", "{nope}", "--out", "{file}"]);
        foreach (var m in new[] { "{nope}", "{file}", "{emptydir}", "{badmodel}", "{nanmodel}" })
            yield return ($"lora merge model {m}", ["lora", "merge", "--model", m, "--lora", "{nope}", "--out", "{new:m}"]);

        // generate: every knob, every mode's inputs, modes that do not combine
        string[] gen = ["generate", "a red ball", "--model", "{model}", "--steps", "1", "--out", "{keep.gif}"];
        foreach (var c in Options(gen, "--size", BadSizes)) yield return c;
        foreach (var c in Options(gen, "--seconds", BadPositives.Concat(["61", "0.01"]))) yield return c;
        foreach (var c in Options(gen, "--frames", BadInts.Concat(["1000000"]))) yield return c;
        foreach (var c in Options(gen, "--fps", BadPositives.Concat(["121", "1e9"]))) yield return c;
        foreach (var c in Options(gen, "--seed", BadSeeds.Concat(["-1"]))) yield return c;
        foreach (var c in Options(gen, "--steps", BadInts)) yield return c;
        foreach (var c in Options(gen, "--sampler", ["bogus", ""])) yield return c;
        foreach (var c in Options(gen, "--guidance", ["-1", "nan", "inf", "101", "1e308", "abc"])) yield return c;
        foreach (var c in Options(gen, "--guidance-interval", ["0.9..0.1", "0..2", "-1..0.5", "0.5", "a..b", "nan..1", ""]))
            yield return c;
        foreach (var c in Options(gen, "--shift", ["0", "-1", "10.5", "nan", "inf", "abc"])) yield return c;
        foreach (var c in Options(gen, "--negative", [new string('n', 1001)])) yield return c;
        foreach (var p in new[] { "", "   ", new string('p', 1001) })
            yield return ($"generate prompt of {p.Length}", ["generate", p, "--model", "{model}", "--out", "{keep.gif}"]);
        foreach (var m in new[] { "{nope}", "{file}", "{emptydir}", "{badmodel}", "{vae}", "{nanmodel}" })
            yield return ($"generate model {m}", ["generate", "x", "--model", m, "--out", "{keep.gif}"]);
        foreach (var o in new[] { "{emptydir}", "{x.xyz}", "{file}/x.gif" })
            yield return ($"generate out {o}", ["generate", "x", "--model", "{model}", "--out", o]);
        foreach (var i in new[] { "{nope.png}", "{empty.png}", "{garbage.png}", "{garbage.jpg}", "{emptydir}", "{clip.y4m}", "{empty.gif}", "{zero.png}" })
            yield return ($"generate image {i}", [.. gen, "--image", i]);
        foreach (var v in new[] { "{nope.gif}", "{empty.gif}", "{garbage.gif}", "{garbage.y4m}", "{emptydir}", "{file}", "{zero.gif}", "{zero.y4m}" })
        {
            yield return ($"generate video {v}", [.. gen, "--video", v]);
            yield return ($"generate extend {v}", [.. gen, "--extend", v]);
            yield return ($"generate connect {v}", [.. gen, "--connect", "{clip.gif}", v]);
        }
        foreach (var c in Options([.. gen, "--video", "{clip.gif}"], "--strength", ["0", "-1", "1.5", "nan", "abc"])) yield return c;
        yield return ("generate strength alone", [.. gen, "--strength", "0.5"]);
        yield return ("generate backward alone", [.. gen, "--backward"]);
        yield return ("generate connect one", [.. gen, "--connect", "{clip.gif}"]);
        yield return ("generate image and video", [.. gen, "--image", "{keep.png}", "--video", "{clip.gif}"]);
        yield return ("generate extend and connect", [.. gen, "--extend", "{clip.gif}", "--connect", "{clip.gif}", "{clip.gif}"]);
        yield return ("generate loop and video", [.. gen, "--loop", "--video", "{clip.gif}"]);
        yield return ("generate frames and seconds", [.. gen, "--frames", "5", "--seconds", "1"]);
        yield return ("generate loop past the window", [.. gen, "--loop", "--seconds", "30"]);

        // eval
        string[] eval = ["eval", "--model", "{model}", "--prompts", "1", "--steps", "1", "--out", "{new:eval}"];
        foreach (var c in Options(eval, "--prompts", BadInts)) yield return c;
        foreach (var c in Options(eval, "--steps", BadInts)) yield return c;
        foreach (var c in Options(eval, "--guidance", ["-1", "nan", "inf", "abc"])) yield return c;
        foreach (var c in Options(eval, "--guidance-interval", ["1..0", "0.2"])) yield return c;
        foreach (var c in Options(eval, "--shift", ["0", "11", "abc"])) yield return c;
        foreach (var c in Options(eval, "--seed", ["-1", "abc"])) yield return c;
        foreach (var m in new[] { "{nope}", "{file}", "{emptydir}", "{badmodel}" })
            yield return ($"eval model {m}", ["eval", "--model", m, "--prompts", "1", "--out", "{new:eval}"]);
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{model}" })
            yield return ($"eval vae {v}", [.. eval, "--vae", v]);
        yield return ("eval out is a file", ["eval", "--model", "{model}", "--prompts", "1", "--out", "{file}"]);

        // vae reconstruct and score
        string[] rec = ["vae", "reconstruct", "--vae", "{vae}", "--out", "{keep.gif}"];
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}", "{model}", "{badmodel}", "{nanvae}" })
            yield return ($"reconstruct vae {v}", ["vae", "reconstruct", "--vae", v, "--input", "{clip.gif}", "--out", "{keep.gif}"]);
        foreach (var i in new[] { "{nope.gif}", "{empty.gif}", "{garbage.gif}", "{garbage.y4m}", "{emptydir}", "{file}", "{empty.png}", "{zero.y4m}", "{zero.png}" })
            yield return ($"reconstruct input {i}", [.. rec, "--input", i]);
        foreach (var o in new[] { "{x.xyz}", "{file}/x.gif" })
            yield return ($"reconstruct out {o}", ["vae", "reconstruct", "--vae", "{vae}", "--input", "{clip.gif}", "--out", o]);
        foreach (var c in Options(rec, "--size", BadSizes.Concat(["13x13"]))) yield return c;
        foreach (var c in Options(rec, "--seconds", BadPositives)) yield return c;
        foreach (var c in Options(rec, "--fps", BadPositives)) yield return c;
        string[] score = ["vae", "score", "--vae", "{vae}", "--out", "{new:score}"];
        foreach (var c in Options(score, "--clips", BadInts)) yield return c;
        foreach (var c in Options(score, "--frames", BadInts)) yield return c;
        foreach (var c in Options(score, "--sizes", ["3x3", "13x13", "abc", ",,", "0x0"])) yield return c;
        foreach (var v in new[] { "{nope}", "{file}", "{emptydir}" })
            yield return ($"score vae {v}", ["vae", "score", "--vae", v, "--out", "{new:score}"]);

        // the root
        foreach (var a in new[] { "bogus", "--bogus", "generate" })
            yield return ($"root {a}", [a]);
    }

    public static IEnumerable<object[]> Cases() => All().Select(c => new object[] { c.Name, c.Args });

    [Fact]
    public void TheFuzzSet_HasAtLeast300Cases() => Assert.True(All().Count() >= 300, $"{All().Count()} cases");

    [Theory]
    [MemberData(nameof(Cases))]
    public void BadInvocation_OneLine_Exit2_NothingChanged_NothingLeft(string name, string[] args)
    {
        string root = FuzzFiles.Root;
        var keep = Directory.GetFiles(root, "keep.*").ToDictionary(f => f, File.ReadAllBytes);
        var expanded = args.Select(FuzzFiles.Expand).ToArray();
        var (code, output, err) = CliTests.Run(expanded);
        Assert.True(code == 2, $"{name}: exit {code}\n{err}{output}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].StartsWith("error: "), $"{name}: stderr is not one error line:\n{err}");
        Assert.DoesNotContain("   at ", err + output);
        foreach (var (file, bytes) in keep)
            Assert.True(File.ReadAllBytes(file).SequenceEqual(bytes), $"{name}: {Path.GetFileName(file)} changed");
        Assert.Empty(Directory.GetFiles(root, "*.tmp*", SearchOption.AllDirectories));
    }
}
