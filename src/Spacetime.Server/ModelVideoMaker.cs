// ModelVideoMaker: a VideoSpec through the one Generator (Pipelines/Generation.cs) of a loaded model.
//   size     a request no larger (in pixels) than the model's training size is generated at that size; a larger one
//            (OpenAI's 1280x720, 1792x1024, ...) at the model's own pixel count with the request's aspect ratio, then
//            scaled up. Either way the generated size is rounded to the model's stride, and the frames are scaled
//            and centre-cropped (Conform.Cover) to exactly the size asked for.
//   length   seconds at the model's frame rate; videos longer than the model's window are made in chunks by
//            Generator itself (text and image to video).
//   modes    the spec's mode with its stored inputs, as the Generator's Conditioning:
//                Image -> FromImage(image)            Loop -> Loop(image or none)
//                ExtendForward/Backward -> Extend(source, backward)      Connect -> Connect(source, second)
//                Edit (a remix, or a video input_reference with strength) -> Edit(source, strength)
//   edit     SDEdit of the source at the spec's strength (a remix's default: RemixStrength). The Generator edits at
//            most one window, so a longer source is edited window by window (the last window overlapping the one
//            before it so that every window is whole) and the pieces are put back in order; the result has the
//            source's length. Loops, connections and backward extensions are at most one window (VideoRequests
//            refuses longer ones).
using Spacetime.Diffusion;
using Spacetime.Media;
using Spacetime.Media.Provenance;
using Spacetime.Pipelines;

namespace Spacetime.Server;

/// <summary>Makes videos with a loaded text-to-video model; with <paramref name="identity"/> (the model folder's
/// ModelIdentity) its videos are watermarked and carry a manifest.</summary>
public sealed class ModelVideoMaker(TextVideoModel model, ModelIdentity? identity = null) : IVideoMaker
{
    /// <summary>How much a remix changes the source: SDEdit strength (the CLI's --strength default).</summary>
    public const double RemixStrength = 0.6;

    readonly Generator generator = new(model);

    // the sampler every video is made with (named in its manifest)
    const string SamplerName = "dpm++2m";
    static readonly SamplerConfig Sampler = SamplerConfig.Presets[SamplerName];

    /// <inheritdoc/>
    public (int Width, int Height) DefaultSize => (model.Config.Width, model.Config.Height);

    /// <inheritdoc/>
    public double Fps => model.Config.Fps;

    /// <inheritdoc/>
    public int WindowFrames => generator.WindowFrames;

    /// <inheritdoc/>
    public Frames Make(VideoSpec spec, VideoInputs inputs, IProgress<double> progress)
    {
        var (w, h) = GenerationSize(spec.Width, spec.Height);
        var request = new GenerationRequest(spec.Prompt)
        {
            Negative = spec.NegativePrompt, Width = w, Height = h, Seconds = spec.Duration, Seed = spec.Seed,
            Condition = Condition(spec, inputs), Sampler = Sampler with { Steps = spec.Steps ?? Sampler.Steps },
        };
        var video = spec.Mode == GenerationMode.Edit
            ? Edit(request, Required(inputs.Source, spec), spec.Strength ?? RemixStrength, progress)
            : Generate(request, progress, 0, 1);
        return Conform.Cover(video, spec.Height, spec.Width);
    }

    /// <inheritdoc/>
    public (uint Payload, ProvenanceManifest Manifest)? Provenance(VideoSpec spec, VideoInputs inputs, Frames video)
    {
        if (identity is null) return null;
        var manifest = GenerationProvenance.Manifest(identity, spec.Prompt, spec.Seed, SamplerName, spec.Steps ?? Sampler.Steps,
                                                     video, spec.Mode, inputs.Image ?? inputs.Source, inputs.Second);
        return (identity.Payload, manifest);
    }

    // The Conditioning of every mode but Edit (which Edit builds per window).
    static Conditioning Condition(VideoSpec spec, VideoInputs inputs) => spec.Mode switch
    {
        GenerationMode.Text or GenerationMode.Edit => Conditioning.None,
        GenerationMode.Image => Conditioning.FromImage(Required(inputs.Image, spec)),
        GenerationMode.Loop => Conditioning.Loop(inputs.Image),
        GenerationMode.ExtendForward => Conditioning.Extend(Required(inputs.Source, spec)),
        GenerationMode.ExtendBackward => Conditioning.Extend(Required(inputs.Source, spec), backward: true),
        GenerationMode.Connect => Conditioning.Connect(Required(inputs.Source, spec), Required(inputs.Second, spec)),
        _ => throw new ArgumentException($"ModelVideoMaker: unknown mode {spec.Mode}."),
    };

    // VideoWorkers reads every input a mode needs; a missing one is a bug there.
    static Frames Required(Frames? input, VideoSpec spec) =>
        input ?? throw new ArgumentException($"ModelVideoMaker: {spec.Mode} was given no input.");

    /// <summary>The size to generate a request of <paramref name="width"/> x <paramref name="height"/> at, before
    /// scaling to it: the request itself when it has no more pixels than the model's training size, else the
    /// training size's pixel count at the request's aspect ratio; rounded to the model's stride.</summary>
    public (int Width, int Height) GenerationSize(int width, int height)
    {
        double native = (double)model.Config.Width * model.Config.Height, asked = (double)width * height;
        double scale = asked <= native ? 1 : Math.Sqrt(native / asked);
        var g = generator.Geometry;
        return (g.RoundSize((int)Math.Round(width * scale)), g.RoundSize((int)Math.Round(height * scale)));
    }

    Frames Generate(GenerationRequest request, IProgress<double> progress, int part, int parts)
    {
        // part `part` of `parts` generations, each of p.Chunks chunks of p.Steps steps
        var report = new StepProgress(p =>
            progress.Report((part + (p.Chunk + p.Step / (double)p.Steps) / p.Chunks) / parts));
        return generator.Generate(request, report).Video;
    }

    // SDEdit over the source, one model window at a time: windows start at 0, n, 2n, ... and the last one ends at
    // the source's end, so each is exactly n frames; of the last, only the frames not already made are kept.
    Frames Edit(GenerationRequest request, Frames source, double strength, IProgress<double> progress)
    {
        var fitted = Conform.Cover(Conform.Retime(source, Fps), request.Height!.Value, request.Width!.Value);
        int total = fitted.Count, window = generator.WindowFrames;
        var starts = new List<int>();
        for (int s = 0; s < total; s += window) starts.Add(Math.Min(s, Math.Max(0, total - window)));
        var pieces = new List<Frames>();
        int made = 0;
        for (int k = 0; k < starts.Count; k++)
        {
            int count = Math.Min(window, total - starts[k]);
            var input = Conform.Range(fitted, starts[k], count);
            var edited = Generate(request with { Seconds = null, Frames = count,
                                                 Condition = Conditioning.Edit(input, strength) },
                                  progress, k, starts.Count);
            int skip = made - starts[k], keep = Math.Min(edited.Count - skip, total - made);
            pieces.Add(Conform.Range(edited, skip, keep));
            made += keep;
        }
        return Concat(pieces, Fps);
    }

    static Frames Concat(IReadOnlyList<Frames> pieces, double fps)
    {
        var first = pieces[0];
        var all = new Frames(pieces.Sum(p => p.Count), first.Height, first.Width, fps);
        int t = 0;
        foreach (var piece in pieces)
            for (int i = 0; i < piece.Count; i++) piece.Frame(i).CopyTo(all.Frame(t++));
        return all;
    }

    /// <summary>IProgress that reports on the calling thread, as the generation runs.</summary>
    sealed class StepProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
