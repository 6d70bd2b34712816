// Generation: the one place where a request becomes a video; the CLI's `generate`, `eval` and the server call it and
// nothing else samples. Every mode of the Sora report's "prompting with images and videos" is the same loop,
//     noise x (1, C, T', h, w) from the seed
//     for i in steps:   mask.Impose(x) -> model(x, t) -> classifier-free guidance -> sampler.Step(i, ...) -> mask.Impose
//     decode the latent to frames
// with a different FrameMask (Diffusion/Masking: the given latent frames kept clean, as the model was trained) or a
// different start (SDEdit):
//   text to video      nothing given
//   image to video     latent frame 0 = the image's latent (a causal VAE encodes frame 0 alone)
//   video to video     SDEdit: the video's latent noised to t = strength, sampled from there
//   extend forward     the first latent frames = the input's (at most half the window); backward: the last ones
//   loop               the last latent frame tied to the first; its frames are dropped, so the video wraps around
//   connect            the first latent frames = the end of video A, the last ones = the start of video B
// Given frames are encoded as part of a whole "guide" video of the output's length (the input where it is known,
// its nearest known frame or a cross-fade elsewhere), so a causal VAE sees them in their place in time.
// Videos longer than the model's window are made in chunks: each chunk after the first is an extension of the one
// before, its first latent frames the previous chunk's last (in latent space, with no decode and re-encode between).
using Spacetime.Data;
using Spacetime.Diffusion;
using Spacetime.Engine;
using Spacetime.Media;
using Spacetime.Models.Text;
using Spacetime.World;

namespace Spacetime.Pipelines;

/// <summary>The generation modes.</summary>
public enum GenerationMode
{
    /// <summary>Text to video (or to an image, with one frame).</summary>
    Text,
    /// <summary>Animate a still image: it is frame 0.</summary>
    Image,
    /// <summary>Video to video (SDEdit): the input changed as much as Strength says.</summary>
    Edit,
    /// <summary>New frames after the input.</summary>
    ExtendForward,
    /// <summary>New frames before the input.</summary>
    ExtendBackward,
    /// <summary>A video whose end leads back into its start (from an image when one is given).</summary>
    Loop,
    /// <summary>A transition from the end of one video to the start of another.</summary>
    Connect,
}

/// <summary>What a generation is conditioned on, besides the prompt. Build it with the static methods.</summary>
/// <param name="Mode">The mode.</param>
/// <param name="Input">The image (Image, Loop), the video (Edit, Extend*) or the first video (Connect); any size and
/// frame rate: it is fitted to the request's.</param>
/// <param name="Second">The second video of Connect.</param>
/// <param name="Strength">Edit only: how much to change, in (0, 1] (1 ignores the input).</param>
public sealed record Conditioning(GenerationMode Mode, Frames? Input = null, Frames? Second = null, double Strength = 0)
{
    /// <summary>Text alone.</summary>
    public static Conditioning None { get; } = new(GenerationMode.Text);
    /// <summary>Image to video.</summary>
    public static Conditioning FromImage(Frames image) => new(GenerationMode.Image, image);
    /// <summary>Video to video with SDEdit strength in (0, 1].</summary>
    public static Conditioning Edit(Frames video, double strength) => new(GenerationMode.Edit, video, Strength: strength);
    /// <summary>Extension of <paramref name="video"/> forward in time, or backward.</summary>
    public static Conditioning Extend(Frames video, bool backward = false) =>
        new(backward ? GenerationMode.ExtendBackward : GenerationMode.ExtendForward, video);
    /// <summary>A seamless loop, starting from <paramref name="image"/> when given.</summary>
    public static Conditioning Loop(Frames? image = null) => new(GenerationMode.Loop, image);
    /// <summary>A transition from the end of <paramref name="first"/> to the start of <paramref name="second"/>.</summary>
    public static Conditioning Connect(Frames first, Frames second) => new(GenerationMode.Connect, first, second);
}

/// <summary>What to make. Null sizes and lengths take the model's training clip; Frames wins over Seconds.</summary>
public sealed record GenerationRequest(string Prompt)
{
    /// <summary>Longest video a request may ask for.</summary>
    public const double MaxSeconds = 60;
    /// <summary>Longest prompt (and negative prompt) in characters.</summary>
    public const int MaxPromptChars = 1000;
    /// <summary>Highest frame rate.</summary>
    public const double MaxFps = 120;
    /// <summary>Largest guidance scale (beyond ~20 the samples saturate; far beyond, float32 overflows).</summary>
    public const double MaxGuidance = 100;
    /// <summary>Largest timestep shift of the sampling grid (at 10 the first half of the steps stay above t = 0.9).
    /// </summary>
    public const double MaxShift = 10;
    /// <summary>Most bytes the output frames may take (RGB): 2 GiB.</summary>
    public const long MaxBytes = int.MaxValue;

    /// <summary>The unconditional branch's caption ("" is the learned null caption).</summary>
    public string Negative { get; init; } = "";
    /// <summary>Width in pixels, rounded to the model's stride.</summary>
    public int? Width { get; init; }
    /// <summary>Height in pixels, rounded to the model's stride.</summary>
    public int? Height { get; init; }
    /// <summary>Frame count (rounded to one the model makes); 1 makes an image.</summary>
    public int? Frames { get; init; }
    /// <summary>Duration in seconds (up to MaxSeconds), when Frames is null.</summary>
    public double? Seconds { get; init; }
    /// <summary>Frame rate (default: the model's).</summary>
    public double? Fps { get; init; }
    /// <summary>Fixes the noise: the same request and seed give the same video.</summary>
    public ulong Seed { get; init; }
    /// <summary>Sampler and its steps (default: DPM-Solver++(2M) at its preset steps).</summary>
    public SamplerConfig Sampler { get; init; } = SamplerConfig.Presets["dpm++2m"];
    /// <summary>Classifier-free guidance scale (1: the conditional model alone).</summary>
    public double Guidance { get; init; } = 4.0;
    /// <summary>The path times at which guidance is applied (Guidance.cs); elsewhere the conditional model runs
    /// alone, at half the cost of a guided step.</summary>
    public GuidanceInterval GuidanceInterval { get; init; } = GuidanceInterval.Everywhere;
    /// <summary>Expand the prompt into a dense caption in the training style first.</summary>
    public bool ExpandPrompt { get; init; } = true;
    /// <summary>Who expands it (PromptExpansion.cs); null: the built-in expander.</summary>
    public IPromptExpander? Expander { get; init; }
    /// <summary>What else the video is conditioned on.</summary>
    public Conditioning Condition { get; init; } = Conditioning.None;
}

/// <summary>The video and what was done to make it.</summary>
/// <param name="Video">The frames.</param>
/// <param name="Caption">The caption the model saw (the expanded prompt, or the prompt as typed).</param>
/// <param name="Steps">Sampler steps run per chunk (fewer than asked for SDEdit).</param>
/// <param name="Chunks">Sampling passes (1 unless the video is longer than the model's window).</param>
/// <param name="Notes">What was changed from the request and why (rounded sizes, fitted inputs), one line each.</param>
public sealed record GenerationResult(Frames Video, string Caption, int Steps, int Chunks, IReadOnlyList<string> Notes);

/// <summary>Where a generation is: chunk (0-based) of Chunks, step (1-based) of Steps.</summary>
public readonly record struct GenerationProgress(int Chunk, int Chunks, int Step, int Steps);

/// <summary>A request that cannot be made as asked (a user's mistake, not a bug); the message says what to change.
/// </summary>
public sealed class GenerationRequestException(string message) : Exception(message);

/// <summary>Makes videos with a trained <see cref="TextVideoModel"/>; <paramref name="path"/> defaults to rectified flow.
/// </summary>
public sealed class Generator(TextVideoModel model, PathConfig? path = null)
{
    readonly IPath path = (path ?? PathConfig.Presets["RF"]).Create();

    /// <summary>The model.</summary>
    public TextVideoModel Model => model;

    /// <summary>The model's pixels-to-tokens geometry: size multiples and the frame counts it makes.</summary>
    public LatentGeometry Geometry => model.Latents.Geometry(model.Dit.Config.PatchT, model.Dit.Config.Patch);

    /// <summary>Frames the model makes in one pass: its training clip, rounded to a count it makes.</summary>
    public int WindowFrames => Geometry.NearestFrames(model.Config.Frames);

    /// <summary>Makes the video <paramref name="r"/> asks for; <paramref name="progress"/> hears of every step.</summary>
    public GenerationResult Generate(GenerationRequest r, IProgress<GenerationProgress>? progress = null)
    {
        var notes = new List<string>();
        var plan = Plan(r, notes);
        var taught = model.Text.Tokenizer.Words;                                           // an adapter's new words
        string caption = !r.ExpandPrompt ? r.Prompt
            : (r.Expander ?? BuiltInExpander.Instance) is BuiltInExpander builtIn
                ? builtIn.Expand(r.Prompt, notes, taught)                                  // kept as colours
                : r.Expander!.Expand(r.Prompt, notes);
        foreach (string word in taught)
            if (PromptExpander.HasWord(r.Prompt, word) && !PromptExpander.HasWord(caption, word))
                notes.Add($"'{word}' is a word this model was taught (an adapter's new word), but the prompt " +
                          "expander left it out (the built-in one keeps a new word only where a colour goes); write " +
                          "the dense caption yourself with --expand none, or expand with --expand llm");
        using var noGrad = Autograd.NoGrad();
        using var outer = TensorScope.Begin();
        var text = model.Text.Encode(caption, r.Negative);                                 // (2, L, Dt): cond, uncond
        var rng = new Rng(r.Seed);
        var solver = r.Sampler.Create(path);

        int window = Geometry.LatentFrames(plan.ChunkFrames), overlap = Overlap(window);
        int chunks = plan.Frames <= plan.ChunkFrames ? 1
            : 1 + (int)Math.Ceiling((Geometry.LatentFrames(plan.Frames) - window) / (double)(window - overlap));
        if (chunks > 1)
            notes.Add($"{plan.Frames} frames are longer than the model's window of {plan.ChunkFrames}: made in {chunks} " +
                      $"chunks, each continuing the last {(overlap == 1 ? "latent frame" : $"{overlap} latent frames")} " +
                      "of the one before");

        var (mask, start, startStep) = Condition(r.Condition, plan, solver, rng, notes);
        int steps = solver.Steps - startStep;
        var latents = new List<Tensor>();                                                 // (1, C, t_i, h, w) per chunk
        Tensor? previous = null;
        for (int c = 0; c < chunks; c++)
        {
            var chunkMask = c == 0 ? mask : FrameMask.ExtendForward(previous!.Slice(2, window - overlap, overlap), window);
            var x = c == 0 && start is not null ? start
                : rng.Normal(1, model.Latents.Channels, window, plan.Height / Geometry.SpatialDown,
                             plan.Width / Geometry.SpatialDown);                                // (1, C, T', h, w)
            int chunk = c;
            int chunkSteps = c == 0 ? steps : solver.Steps;
            previous = Sample(text, r.Guidance, r.GuidanceInterval, chunkMask, x, solver, c == 0 ? startStep : 0, rng,
                              i => progress?.Report(new GenerationProgress(chunk, chunks, i, chunkSteps)));
            latents.Add(c == 0 ? previous : previous.Slice(2, overlap, window - overlap));
        }
        var latent = F.Concat([.. latents], dim: 2);                                       // (1, C, T'_all, h, w)
        int needed = Geometry.LatentFrames(plan.Frames);
        if (latent.Size(2) > needed) latent = latent.Slice(2, 0, needed);                  // the last chunk's surplus
        var video = model.Latents.Decode(latent.Squeeze(0), plan.Fps);                      // (T, H, W, RGB)
        // a loop's tied last latent frame, or the frames beyond a single image, are cut here (the decoder is causal,
        // so the frames kept do not depend on them)
        if (video.Count > plan.OutputFrames) video = Conform.Range(video, 0, plan.OutputFrames);
        return new GenerationResult(video, caption, steps, chunks, notes);
    }

    // The sampling loop of one chunk: x from Times[startStep] to 0 with the mask re-imposed around every model call
    // and after every step. Returns (1, C, T', h, w).
    Tensor Sample(TextEmbedding text, double guidance, GuidanceInterval interval, FrameMask? mask, Tensor x,
                  ISampler solver, int startStep, Rng rng, Action<int> onStep)
    {
        Func<Tensor, Tensor, Tensor> paired = (xt, t) => model.Predict(xt, t, text);      // (2, C, T', h, w)
        var conditionalText = text.Rows(0, 1);
        Func<Tensor, Tensor, Tensor> conditional = (xt, t) => model.Predict(xt, t, conditionalText); // (1, ...)
        var guided = Guidance.ClassifierFree(paired, guidance, interval, conditional);      // (1, ...) -> (1, ...)
        var conditioned = mask is null ? guided : mask.Condition(guided, path);
        if (mask is not null) x = mask.Impose(x, path, solver.Times[startStep]);
        Tensor? denoised = null;
        for (int i = startStep; i < solver.Steps; i++)
        {
            using var scope = TensorScope.Begin();
            var step = solver.Step(i, x, conditioned, denoised, rng);                       // model -> CFG -> step
            var next = mask is null ? step.Sample : mask.Impose(step.Sample, path, solver.Times[i + 1]);
            (x, denoised) = (scope.Keep(next), scope.Keep(step.Denoised));
            onStep(i - startStep + 1);
        }
        return x;
    }

    // Latent frames a chunk takes over from the one before: a quarter of the window (at least one), never all of it.
    static int Overlap(int window) => Math.Clamp(window / 4, 1, Math.Max(1, window - 1));

    /// <summary>The request's sizes and lengths, rounded to what the model makes.</summary>
    /// <param name="Frames">Frames sampled (for a loop, one latent frame's worth more than the output).</param>
    /// <param name="OutputFrames">Frames in the result.</param>
    /// <param name="ChunkFrames">Frames of one sampling pass.</param>
    sealed record Shape(int Width, int Height, int Frames, int OutputFrames, int ChunkFrames, double Fps);

    Shape Plan(GenerationRequest r, List<string> notes)
    {
        var g = Geometry;
        var mode = r.Condition.Mode;
        if (string.IsNullOrWhiteSpace(r.Prompt)) throw new GenerationRequestException("the prompt is empty; say what the video shows");
        CheckInputs(r.Condition);
        int w = Round("width", r.Width ?? model.Config.Width), h = Round("height", r.Height ?? model.Config.Height);
        double fps = r.Fps ?? model.Config.Fps;
        if (!(fps > 0 && fps <= GenerationRequest.MaxFps))
            throw new GenerationRequestException($"fps {fps}: must be above 0 and at most {GenerationRequest.MaxFps}");
        if (!(r.Guidance >= 0 && r.Guidance <= GenerationRequest.MaxGuidance))
            throw new GenerationRequestException($"guidance {r.Guidance}: must be 0 to {GenerationRequest.MaxGuidance}");
        try { r.GuidanceInterval.Validate(); }
        catch (ArgumentException e) { throw new GenerationRequestException(e.Message); }
        if (!(r.Sampler.Shift > 0 && r.Sampler.Shift <= GenerationRequest.MaxShift))
            throw new GenerationRequestException($"timestep shift {r.Sampler.Shift}: must be above 0 and at most " +
                                                 $"{GenerationRequest.MaxShift}");
        if (r.Seconds is { } s && !(s > 0 && s <= GenerationRequest.MaxSeconds))
            throw new GenerationRequestException($"seconds {s}: must be above 0 and at most {GenerationRequest.MaxSeconds}");
        int asked = r.Frames ?? (int)Math.Round((r.Seconds ?? model.Config.Frames / model.Config.Fps) * fps,
                                                MidpointRounding.AwayFromZero);
        if (asked < 1) throw new GenerationRequestException($"{asked} frames: ask for at least one");
        if (asked > GenerationRequest.MaxSeconds * fps + 1e-9)
            throw new GenerationRequestException($"{asked} frames at {fps:0.###} fps is longer than " +
                                                 $"{GenerationRequest.MaxSeconds} s; ask for less");
        if ((double)asked * w * h * 3 > GenerationRequest.MaxBytes)
            throw new GenerationRequestException($"{asked} frames of {w}x{h} need {(double)asked * w * h * 3 / (1 << 30):0.#} " +
                                                 $"GiB; the limit is 2 GiB: ask for fewer frames or a smaller size");
        int window = WindowFrames;
        bool chunked = asked > window;
        if (chunked && mode is not (GenerationMode.Text or GenerationMode.Image or GenerationMode.ExtendForward))
            throw new GenerationRequestException($"{asked} frames are longer than the model's window ({window}); " +
                                                 $"only text, an image or a forward extension go beyond it, not {Describe(mode)}");
        int frames = g.NearestFrames(asked), output = asked == 1 ? 1 : frames;    // one frame: an image
        if (mode == GenerationMode.Loop)
        {
            // one more latent frame than shown: it is tied to the first and dropped, so the last shown frame leads
            // into the first as any frame leads into the next
            frames = g.NearestFrames(asked + g.TemporalDown);
            output = g.VideoFrames(g.LatentFrames(frames) - 1);
            if (g.LatentFrames(frames) < 2) (frames, output) = (g.NearestFrames(g.VideoFrames(2)), 1);
        }
        // a given frame needs at least one latent frame to generate beside it; a connection one between two
        int least = mode switch
        {
            GenerationMode.Image or GenerationMode.ExtendForward or GenerationMode.ExtendBackward => 2,
            GenerationMode.Connect => 3,
            _ => 1,
        };
        if (g.LatentFrames(frames) < least) frames = output = g.NearestFrames(g.VideoFrames(least));
        if (output != asked)
            notes.Add($"{asked} frames rounded to {output} (this model makes {g.FrameRule}" +
                      (mode == GenerationMode.Loop ? ", and a loop drops the frames that repeat the first)" : ")"));
        return new Shape(w, h, frames, output, chunked ? window : frames, fps);

        int Round(string what, int pixels)
        {
            if (pixels < 1) throw new GenerationRequestException($"{what} {pixels} must be positive");
            int rounded = g.RoundSize(pixels);
            if (rounded != pixels)
                notes.Add($"{what} {pixels} rounded to {rounded} (this model makes multiples of {g.SizeMultiple})");
            return rounded;
        }
    }

    static void CheckInputs(Conditioning c)
    {
        bool needsInput = c.Mode is not (GenerationMode.Text or GenerationMode.Loop);
        if (needsInput && c.Input is null) throw new GenerationRequestException($"{Describe(c.Mode)} needs an input");
        if (c.Mode == GenerationMode.Connect && c.Second is null)
            throw new GenerationRequestException("connecting needs two videos");
        if (c.Mode == GenerationMode.Edit && !(c.Strength > 0 && c.Strength <= 1))
            throw new GenerationRequestException($"strength {c.Strength}: must be above 0 and at most 1");
        foreach (var f in new[] { c.Input, c.Second })
            if (f is { Count: 0 }) throw new GenerationRequestException($"{Describe(c.Mode)}: the input has no frames");
    }

    /// <summary>The mode in words ("image to video", "extending forward", ...), for messages.</summary>
    public static string Describe(GenerationMode m) => m switch
    {
        GenerationMode.Text => "text to video",
        GenerationMode.Image => "image to video",
        GenerationMode.Edit => "video to video",
        GenerationMode.ExtendForward => "extending forward",
        GenerationMode.ExtendBackward => "extending backward",
        GenerationMode.Loop => "a loop",
        _ => "connecting two videos",
    };

    // The first chunk's conditioning: the mask, and SDEdit's start (x and step index).
    (FrameMask? Mask, Tensor? Start, int StartStep) Condition(Conditioning c, Shape p, ISampler solver, Rng rng,
                                                              List<string> notes)
    {
        var g = Geometry;
        int L = g.LatentFrames(p.ChunkFrames), n = p.ChunkFrames;
        Frames Fit(Frames f, string what)
        {
            if (f.Count > 1 && Math.Abs(f.Fps - p.Fps) > 1e-9)
                notes.Add($"{what} resampled from {f.Fps:0.###} to {p.Fps:0.###} fps");
            if (f.Width != p.Width || f.Height != p.Height)
                notes.Add($"{what} ({f.Width}x{f.Height}) scaled and centre-cropped to {p.Width}x{p.Height}");
            return Conform.Cover(f.Count > 1 ? Conform.Retime(f, p.Fps) : f, p.Height, p.Width);
        }
        // the last (or first) part of a video that is longer than the frames it may fill, saying so
        Frames Part(Frames f, int count, bool last, string what)
        {
            if (f.Count <= count) return f;
            notes.Add($"{what} has {f.Count} frames; its {(last ? "last" : "first")} " +
                      (count == 1 ? "frame is used" : $"{count} are used"));
            return Conform.Range(f, last ? f.Count - count : 0, count);
        }
        switch (c.Mode)
        {
            case GenerationMode.Text:
                return (null, null, 0);
            case GenerationMode.Image:
            {
                var image = Fit(Conform.Range(c.Input!, 0, 1), "the image");
                return (FrameMask.ImageToVideo(Encode(image), L), null, 0);
            }
            case GenerationMode.Loop:
            {
                var first = c.Input is null ? null : Encode(Fit(Conform.Range(c.Input, 0, 1), "the image"));
                return (FrameMask.SeamlessLoop(L, first), null, 0);
            }
            case GenerationMode.Edit:
            {
                var video = Part(Fit(c.Input!, "the video"), n, last: false, "the video");
                var (start, step) = SdEdit.Start(solver, path, Encode(Guide(n, (video, 0))), c.Strength, rng);
                return (null, start, Math.Min(step, solver.Steps - 1));                 // strength > 0 runs a step
            }
            case GenerationMode.ExtendForward:
            {
                var video = Fit(c.Input!, "the video");
                int m = Math.Min(MaxGiven(L), HeadLatents(video.Count));                 // latent frames it fills
                var head = Part(video, g.VideoFrames(m), last: true, "the video");
                var latent = Encode(Guide(n, (head, 0)));
                return (FrameMask.ExtendForward(latent.Slice(2, 0, m), L), null, 0);
            }
            case GenerationMode.ExtendBackward:
            {
                var video = Fit(c.Input!, "the video");
                int m = Math.Min(MaxGiven(L), TailLatents(video.Count));
                var tail = Part(video, n - g.VideoFrames(L - m), last: false, "the video");
                var latent = Encode(Guide(n, (tail, n - tail.Count)));
                return (FrameMask.ExtendBackward(latent.Slice(2, L - m, m), L), null, 0);
            }
            default:
            {
                // a third of the window from each video (at least one latent frame), the transition between them
                int ma = Math.Clamp(HeadLatents(c.Input!.Count), 1, Math.Max(1, (L - 1) / 3));
                int mb = Math.Clamp(TailLatents(c.Second!.Count), 1, Math.Max(1, (L - 1) / 3));
                var end = Part(Fit(c.Input!, "the first video"), g.VideoFrames(ma), last: true, "the first video");
                var begin = Part(Fit(c.Second!, "the second video"), n - g.VideoFrames(L - mb), last: false,
                                 "the second video");
                var latent = Encode(Guide(n, (end, 0), (begin, n - begin.Count)));
                return (FrameMask.Connect(latent.Slice(2, 0, ma), latent.Slice(2, L - mb, mb), L), null, 0);
            }
        }
    }

    // Most latent frames of a window an extension is given: half (at least one), so that at least half is new.
    static int MaxGiven(int window) => Math.Max(1, window / 2);

    // Latent frames that the first `frames` frames of a video fill whole (at least one: a short video is padded).
    int HeadLatents(int frames)
    {
        int m = Geometry.LatentFrames(frames);
        while (m > 1 && Geometry.VideoFrames(m) > frames) m--;
        return m;
    }

    // Latent frames at the end of a window that `frames` frames fill whole (at least one).
    int TailLatents(int frames) => Math.Max(1, frames / Geometry.TemporalDown);

    // (1, C, T', h, w): the codec's latent of a video whose size and frame count it accepts
    Tensor Encode(Frames video) => model.Latents.Encode(video).Unsqueeze(0);

    // A video of n frames holding each part at its offset; every other frame is a cross-fade between the nearest given
    // frames before and after it (or a copy of the nearest one at either end).
    static Frames Guide(int n, params (Frames Video, int Offset)[] parts)
    {
        var first = parts[0].Video;
        var guide = new Frames(n, first.Height, first.Width, first.Fps);
        var given = new bool[n];
        foreach (var (video, offset) in parts)
            for (int i = 0; i < video.Count && offset + i < n; i++)
            {
                video.Frame(i).CopyTo(guide.Frame(offset + i));
                given[offset + i] = true;
            }
        for (int t = 0; t < n; t++)
        {
            if (given[t]) continue;
            int before = t - 1, after = t + 1;
            while (before >= 0 && !given[before]) before--;
            while (after < n && !given[after]) after++;
            var dst = guide.Frame(t);
            if (before < 0 && after >= n) continue;
            if (before < 0) { guide.Frame(after).CopyTo(dst); continue; }
            if (after >= n) { guide.Frame(before).CopyTo(dst); continue; }
            double a = (t - before) / (double)(after - before);
            var x = guide.Frame(before);
            var y = guide.Frame(after);
            for (int i = 0; i < dst.Length; i++) dst[i] = (byte)Math.Round(x[i] + a * (y[i] - x[i]));
        }
        return guide;
    }
}
