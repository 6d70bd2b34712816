// Masked-frame conditioning: known frames come out exactly as given for every mask kind and sampler, loops close,
// training keeps known frames clean and out of the loss, SDEdit starts at the right step, and the training mask
// sampler's frequencies match its probabilities.
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Tests.TestKit;

namespace Spacetime.Tests.Diffusion;

public class MaskTests
{
    const int B = 2, C = 3, T = 6, H = 4, W = 5;

    // A dummy model that depends on every input element nonlinearly, so imposed frames are really overwritten.
    static Tensor Dummy(Tensor x, Tensor t) => F.Tanh(x * 0.7f + t[0]) * 0.9f;

    public static TheoryData<string, SamplerKind, bool> Cases()
    {
        var data = new TheoryData<string, SamplerKind, bool>();
        foreach (var mask in new[] { "image", "forward", "backward", "connect", "loop", "image-loop" })
            foreach (var kind in new[] { SamplerKind.DpmSolverPlusPlus2M, SamplerKind.Heun, SamplerKind.EulerMaruyama })
                foreach (bool replacement in new[] { false, true })
                    data.Add(mask, kind, replacement);
        return data;
    }

    static FrameMask Make(string name, Rng rng) => name switch
    {
        "image" => FrameMask.ImageToVideo(rng.Normal(B, C, H, W), T),
        "forward" => FrameMask.ExtendForward(rng.Normal(B, C, 2, H, W), T),
        "backward" => FrameMask.ExtendBackward(rng.Normal(B, C, 3, H, W), T),
        "connect" => FrameMask.Connect(rng.Normal(B, C, 2, H, W), rng.Normal(B, C, 1, H, W), T),
        "loop" => FrameMask.SeamlessLoop(T),
        _ => FrameMask.SeamlessLoop(T, rng.Normal(B, C, 1, H, W)),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void FrameMask_EveryKindAndSampler_KnownFramesComeOutExactly(string name, SamplerKind kind, bool replacement)
    {
        var rng = new Rng(1);
        var mask = Make(name, rng);
        if (replacement) mask = mask.WithReplacement(rng);
        foreach (var preset in new[] { "RF", "DDPM-eps" })
        {
            var path = PathConfig.Presets[preset].Create();
            var sampler = new SamplerConfig(kind, 5, Eta: 1).Create(path);
            var model = mask.Condition(Guidance.ClassifierFree((x, t) => Dummy(x, t), 3.0), path);
            var x = ExactDenoiser.Sample(sampler, model, rng.Normal(B, C, T, H, W), rng, afterStep: (s, t) => mask.Impose(s, path, t));
            var frames = x.ToArray();
            var known = mask.Known.ToArray();
            var given = mask.Latents?.ToArray();
            for (int i = 0; i < frames.Length; i++)
            {
                int f = i / (H * W) % T;
                if (known[f] == 1f) Assert.Equal(given![i], frames[i]);                                   // bit for bit
                else if (mask.Loop && f == T - 1) Assert.Equal(frames[i - (T - 1) * H * W], frames[i]);  // last = first
                else Assert.True(float.IsFinite(frames[i]));
            }
            Assert.Contains(frames.Where((_, i) => known[i / (H * W) % T] == 0f), v => v != 0f);        // something generated
        }
    }

    [Fact]
    public void FrameMask_Constructors_MarkTheRightFrames()
    {
        var rng = new Rng(2);
        Assert.Equal([1f, 0, 0, 0, 0, 0], Make("image", rng).Known.ToArray());
        Assert.Equal([1f, 1, 0, 0, 0, 0], Make("forward", rng).Known.ToArray());
        Assert.Equal([0f, 0, 0, 1, 1, 1], Make("backward", rng).Known.ToArray());
        Assert.Equal([1f, 1, 0, 0, 0, 1], Make("connect", rng).Known.ToArray());
        Assert.True(Make("loop", rng).Loop);
        Assert.Throws<ArgumentException>(() => FrameMask.ExtendForward(rng.Normal(1, C, T, H, W), T));      // nothing to generate
        Assert.Throws<ArgumentException>(() => FrameMask.Connect(rng.Normal(1, C, 1, H, W), rng.Normal(1, 2, 1, H, W), T));
        // The per-frame times a mask-trained model sees: 0 on clean known frames.
        var ft = Make("forward", rng).FrameTimesteps(Tensor.From([0.5f, 0.25f], 2));
        Assert.Equal([0f, 0, 0.5f, 0.5f, 0.5f, 0.5f, 0, 0, 0.25f, 0.25f, 0.25f, 0.25f], ft.ToArray());
    }

    [Fact]
    public void Objective_WithKnownFrames_KeepsThemCleanAndOutOfTheLoss()
    {
        var rng = new Rng(3);
        var path = new FlowPath();
        var (x0, noise) = (rng.Normal(B, C, T, H, W), rng.Normal(B, C, T, H, W));
        var known = Tensor.From([1f, 1, 0, 0, 0, 0, /* clip 2 */ 0, 0, 0, 0, 0, 1], B, 1, T, 1, 1);
        var example = Objective.Prepare(path, x0, noise, Tensor.From([0.6f, 0.3f], B), known);
        var (input, clean, w) = (example.Input.ToArray(), x0.ToArray(), example.Weight!.ToArray());
        for (int i = 0; i < input.Length; i++)
        {
            int b = i / (C * T * H * W), f = i / (H * W) % T;
            if (known[b, 0, f, 0, 0] == 1f) Assert.Equal(clean[i], input[i]);
            else Assert.NotEqual(clean[i], input[i]);
        }
        Assert.Equal([0f, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0], w);
        // The loss ignores predictions at known frames and is the plain MSE over the rest.
        var perfect = example.Target.ToArray();
        var wrongOnKnown = perfect.Select((v, i) => known[i / (C * T * H * W), 0, i / (H * W) % T, 0, 0] == 1f ? v + 5 : v).ToArray();
        Assert.Equal(0f, Objective.Loss(Tensor.From(wrongOnKnown, B, C, T, H, W), example.Target, example.Weight).Item());
        var offByOne = Tensor.From(perfect.Select(v => v + 1).ToArray(), B, C, T, H, W);
        Assert.Equal(1f, Objective.Loss(offByOne, example.Target, example.Weight).Item(), 5);
        Assert.Equal(1f, Objective.Loss(offByOne, example.Target).Item(), 5);
    }

    [Fact]
    public void SdEdit_Strength_PicksTheStartStepAndNoiseLevel()
    {
        var path = new FlowPath();
        var sampler = new SamplerConfig(SamplerKind.Euler, 10).Create(path);
        var video = new Rng(4).Normal(1, C, T, H, W);
        var (start0, step0) = SdEdit.Start(sampler, path, video, 0.0, new Rng(5));
        Assert.Equal(10, step0);                                                    // strength 0: nothing to run
        TensorAssert.BitwiseEqual(video.ToArray(), start0.ToArray(), "strength 0");
        Assert.Equal(0, SdEdit.Start(sampler, path, video, 1.0, new Rng(5)).StartStep);
        var (start, step) = SdEdit.Start(sampler, path, video, 0.45, new Rng(5));
        Assert.Equal(6, step);                                                      // grid 1.0, 0.9, ..., 0.4 is step 6
        var noise = new Rng(5).Normal(1, C, T, H, W);
        TensorAssert.Close(video.ToArray().Zip(noise.ToArray(), (v, n) => 0.6 * v + 0.4 * n).ToArray(), start, 1e-5, 1e-6, "x at t = 0.4");
        // Running the rest with a model that knows the input exactly (velocity = eps - x0 along the line) returns it.
        var back = ExactDenoiser.Sample(sampler, (x, t) => (x - video) / t[0], start, from: step);
        TensorAssert.Close(video.ToArray().Select(v => (double)v).ToArray(), back, 1e-4, 1e-5, "SDEdit round trip");
    }

    [Fact]
    public void MaskSampler_Frequencies_MatchProbabilities()
    {
        // 20000 draws: each frequency's binomial standard error is sqrt(p (1 - p) / n) <= 0.0035; allow 4.5 of them.
        var mix = MaskSampler.Presets["sora"];
        var rng = new Rng(6);
        var counts = new int[Enum.GetValues<MaskKind>().Length];
        const int n = 20000;
        for (int i = 0; i < n; i++) counts[(int)mix.SampleKind(rng)]++;
        var p = mix.Probabilities;
        for (int k = 0; k < p.Length; k++)
            Assert.True(Math.Abs((double)counts[k] / n - p[k]) <= 4.5 * Math.Sqrt(p[k] * (1 - p[k]) / n),
                        $"{(MaskKind)k}: frequency {(double)counts[k] / n:F4}, probability {p[k]}");
        // Every drawn mask leaves something to generate; a one-frame clip (an image) is never conditioned.
        var known = mix.Sample(512, 8, rng).ToArray();
        for (int b = 0; b < 512; b++) Assert.True(known.Skip(b * 8).Take(8).Sum() < 8);
        Assert.All(mix.Sample(64, 1, rng).ToArray(), v => Assert.Equal(0f, v));
        Assert.Throws<ArgumentException>(() => (mix with { None = 0.9 }).SampleKind(rng));
        Assert.All(MaskSampler.Presets["text-to-video"].Sample(64, 8, rng).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void MaskSampler_KnownFrames_HaveTheShapeOfTheirKind()
    {
        var mix = new MaskSampler();
        var rng = new Rng(7);
        for (int i = 0; i < 200; i++)
        {
            var image = mix.KnownFrames(MaskKind.ImageToVideo, 8, rng);
            Assert.Equal([1f, 0, 0, 0, 0, 0, 0, 0], image);
            var head = mix.KnownFrames(MaskKind.ExtendForward, 8, rng);
            int k = (int)head.Sum();
            Assert.InRange(k, 1, 4);                                             // MaxContext 0.5 of 8
            Assert.All(head.Take(k), v => Assert.Equal(1f, v));
            var tail = mix.KnownFrames(MaskKind.ExtendBackward, 8, rng);
            Assert.All(tail.Skip(8 - (int)tail.Sum()), v => Assert.Equal(1f, v));
            var both = mix.KnownFrames(MaskKind.Connect, 8, rng);
            Assert.True(both[0] == 1f && both[7] == 1f && both.Sum() < 8);
            Assert.Equal(0f, mix.KnownFrames(MaskKind.None, 8, rng).Sum());
        }
    }
}
