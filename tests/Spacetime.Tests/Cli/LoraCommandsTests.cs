// The LoRA commands end to end on the tiny recipe (train lora, generate --lora, lora merge, lora info), and their
// refusals: each bad input is one line, exit code 2, no stack trace, nothing written.
using Spacetime.Engine.IO;
using Spacetime.Models.Dit;
using Spacetime.Pipelines;
using Spacetime.Tests.Training;
using Spacetime.Training;
using static Spacetime.Tests.Cli.CliTests;

namespace Spacetime.Tests.Cli;

public sealed class LoraCommandsTests(LoraFixture fixture) : IClassFixture<LoraFixture>
{
    string New(string name) => Path.Combine(fixture.Root, name + "-" + Guid.NewGuid().ToString("N")[..8]);

    // a trained adapter of rank 4 (3 steps), made once per test that needs one
    string TrainedAdapter()
    {
        string run = New("lora");
        var (code, output, err) = Run("train", "lora", "--model", fixture.BaseDir, "--data", fixture.DataDir,
                                      "--rank", "4", "--steps", "3", "--batch", "2", "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains("LoRA rank 4, alpha 4 on 14 layers", output);
        Assert.Contains($"adapter in {Path.Combine(run, LoraAdapter.FileName)}", output);
        return run;
    }

    [Fact]
    public void TrainLora_ThenMerge_TheMergedModelHoldsBasePlusUpdate()
    {
        string run = TrainedAdapter(), merged = New("merged");
        var (code, output, err) = Run("lora", "merge", "--model", fixture.BaseDir, "--lora", run, "--scale", "0.5",
                                      "--out", merged);
        Assert.True(code == 0, err);
        Assert.Contains("(scale 0.5)", output);
        var expected = TextVideoModel.Load(fixture.BaseDir);
        LoraAdapter.Load(run, expected.Dit).Layers.MergeInto(expected.Dit, 0.5f);
        var got = TextVideoModel.Load(merged);
        foreach (var (key, t) in expected.StateDict())
            TestKit.TensorAssert.BitwiseEqual(t.ToArray(), got.StateDict()[key].ToArray(), key);
        Assert.Empty(Directory.GetFileSystemEntries(fixture.Root, ".*.tmp"));

        (code, output, _) = Run("lora", "info", run);
        Assert.Equal(0, code);
        Assert.Contains("rank 4, alpha 4 (scale 1), targets All", output);
        Assert.Contains("base model: 'base'", output);
    }

    [Fact]
    public void Generate_WithTwoAdapters_WritesTheVideoAndSaysWhatWasApplied()
    {
        string run = TrainedAdapter(), video = Path.Combine(New("gen"), "a.gif");
        var (code, output, err) = Run("generate", "a red ball falls", "--model", fixture.BaseDir, "--lora", run,
                                      "--lora-scale", "0.5", "--lora", Path.Combine(run, LoraAdapter.FileName),
                                      "--lora-scale", "1", "--steps", "2", "--out", video);
        Assert.True(code == 0, err);
        Assert.Contains($"LoRA: {run} (scale 0.5), {Path.Combine(run, LoraAdapter.FileName)} (scale 1)", output);
        var manifest = Spacetime.Media.Provenance.ManifestStore.Read(video)!.Envelope.Manifest;
        string sha = Spacetime.Media.Provenance.ProvenanceManifest.Sha256Hex(
            File.ReadAllBytes(Path.Combine(run, LoraAdapter.FileName)));
        Assert.Equal([new(sha, 0.5), new(sha, 1.0)], manifest.Adapters!);
        Assert.Equal("base", manifest.ModelId);                                   // the model fields name the base

        string plain = Path.Combine(New("gen"), "b.gif");
        Assert.Equal(0, Run("generate", "a red ball falls", "--model", fixture.BaseDir, "--steps", "2", "--out", plain).Code);
        var without = Spacetime.Media.Provenance.ManifestStore.Read(plain)!.Envelope;
        Assert.Null(without.Manifest.Adapters);
        Assert.DoesNotContain("adapters", without.ToJson());
    }

    [Fact]
    public void TrainLora_NewWordAlone_ThenGenerateAndMerge_TeachTheModelTheWord()
    {
        string run = New("word"), merged = New("merged");
        var (code, output, err) = Run("train", "lora", "--model", fixture.BaseDir, "--data", fixture.WordDir,
                                      "--targets", "none", "--new-word", LoraFixture.NewWord, "--init-word", "red",
                                      "--word-blocks", "--steps", "3", "--batch", "2", "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains($"no LoRA layers, new words {LoraFixture.NewWord} (textual inversion, offsets in 2 blocks)",
                        output);
        (code, output, _) = Run("lora", "info", run);
        Assert.Equal(0, code);
        Assert.Contains($"no LoRA layers, new words {LoraFixture.NewWord} (offsets in 2 blocks)", output);

        string video = Path.Combine(New("gen"), "a.gif");
        (code, _, err) = Run("generate", $"a {LoraFixture.NewWord} ball falls", "--model", fixture.BaseDir,
                             "--lora", run, "--expand", "none", "--steps", "2", "--out", video);
        Assert.True(code == 0, err);
        // the built-in expander keeps the taught word where a colour goes
        (code, output, err) = Run("generate", $"a {LoraFixture.NewWord} ball falls", "--model", fixture.BaseDir,
                                  "--lora", run, "--steps", "1", "--out", Path.Combine(New("gen"), "b.gif"));
        Assert.True(code == 0, err);
        Assert.Contains($"caption: A video of one object", output);
        Assert.Contains($"The medium {LoraFixture.NewWord} circle starts at the top", output);
        Assert.DoesNotContain("is a word this model was taught", output + err);
        (code, _, err) = Run("lora", "merge", "--model", fixture.BaseDir, "--lora", run, "--out", merged);
        Assert.True(code == 0, err);
        Assert.Equal([LoraFixture.NewWord], TextVideoModel.Load(merged).Text.Tokenizer.Words);
        // the merged model knows the word, so the adapter cannot be applied to it again
        AssertOneLineError(["generate", "a ball", "--model", merged, "--lora", run, "--steps", "1", "--out",
                            New("g") + ".gif"], "--lora", $"'{LoraFixture.NewWord}' is already");
    }

    [Fact]
    public void BadInput_OneLineExit2()
    {
        string run = TrainedAdapter(), empty = New("empty"), other = New("other");
        Directory.CreateDirectory(empty);
        var tiny = DitRecipe.Preset("tiny");
        DitTrainer.NewModel(tiny with { Dit = tiny.Dit with { Hidden = 48 } }, seed: 1).Save(other);
        string[] Train(params string[] more) =>
            ["train", "lora", "--model", fixture.BaseDir, "--data", fixture.DataDir, "--steps", "1", "--out", New("x"),
             .. more];
        string[] Generate(params string[] more) =>
            ["generate", "a ball", "--model", fixture.BaseDir, "--steps", "1", "--out", New("g") + ".gif", .. more];

        AssertOneLineError(Train("--rank", "33"), "--rank", "rank 33", "blocks.0.", "at most 32");
        AssertOneLineError(Train("--rank", "0"), "--rank", "positive");
        AssertOneLineError(Train("--alpha", "-1"), "--alpha");
        AssertOneLineError(Train("--targets", "self-attention,fc3"), "--targets", "'fc3'", "cross-attention");
        AssertOneLineError(Train("--targets", "none"), "--targets", "--new-word");
        AssertOneLineError(Train("--new-word", "red"), "--new-word", "'red' is already a word");
        AssertOneLineError(Train("--new-word", "two words"), "--new-word", "letters only");
        AssertOneLineError(Train("--init-word", "red"), "--init-word", "give the new word too");
        AssertOneLineError(Train("--word-blocks"), "--word-blocks", "give the new word too");
        AssertOneLineError(Train("--new-word", "zorp", "--init-word", "zzqqx"), "--init-word", "'zzqqx'");
        AssertOneLineError(["train", "lora", "--model", fixture.BaseDir, "--data", empty, "--out", New("x")],
                           "--data", "no usable clips", "data synth");
        AssertOneLineError(["train", "lora", "--model", fixture.BaseDir, "--data", New("missing"), "--out", New("x")],
                           "--data", "no such folder");
        AssertOneLineError(["train", "lora", "--model", New("nomodel"), "--data", fixture.DataDir, "--out", New("x")],
                           "--model");
        AssertOneLineError(Train("--prior", empty), "--prior", "no usable clips");
        AssertOneLineError(Train("--prior", fixture.DataDir, "--prior-share", "1"), "--prior-share", "below 1");
        AssertOneLineError(Train("--object-weight", "-2"), "--object-weight", "0 to 100");
        AssertOneLineError(Generate("--lora", run).Select(a => a == fixture.BaseDir ? other : a).ToArray(),
                           "does not fit this model", "blocks.0.attn.qkv.lora_A.weight is (4, 32) in the adapter " +
                           "but (4, 48) for this model", "trained on 'base'");
        AssertOneLineError(Generate("--lora", New("nothing")), "--lora", "no such adapter");
        AssertOneLineError(Generate("--lora", fixture.DataDir), "--lora", "without adapter.safetensors");
        AssertOneLineError(Generate("--lora", Path.Combine(fixture.BaseDir, "dit", "model.safetensors")),
                           "not a LoRA adapter");
        AssertOneLineError(Generate("--lora", run, "--lora", run, "--lora-scale", "1", "--lora-scale", "2",
                                    "--lora-scale", "3"), "--lora-scale", "3 values for 2 adapters");
        AssertOneLineError(Generate("--lora-scale", "2"), "--lora-scale goes with --lora");
        AssertOneLineError(Generate("--lora", run, "--lora-scale", "nan"), "--lora-scale", "finite");
        AssertOneLineError(["lora", "merge", "--model", fixture.BaseDir, "--lora", run, "--out", fixture.DataDir],
                           "--out", "already exists");
        AssertOneLineError(["lora", "info", fixture.BaseDir], "without adapter.safetensors");
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "nothing")));
    }
}
