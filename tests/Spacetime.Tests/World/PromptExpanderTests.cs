// The prompt expander against the world's own (prompt, caption) pairs, on hand-written prompts, and on junk.
using System.Text;
using System.Text.RegularExpressions;
using Spacetime.World;

namespace Spacetime.Tests.World;

public class PromptExpanderTests
{
    const int Seeds = 200;

    static readonly Regex ObjectName = new(
        $@"\b({string.Join('|', CaptionGrammar.Sizes)}) ({string.Join('|', CaptionGrammar.Colours)}) " +
        $@"({string.Join('|', CaptionGrammar.Shapes)})\b");

    static readonly Regex CountSentence = new(@"^A video of (\w+) objects? on ");

    static readonly Lazy<ClipTruth[]> Truths = new(() =>
        Enumerable.Range(0, Seeds).Select(s => WorldClip.Describe(new ClipSettings(s, 64, 64, 2, 8))).ToArray());

    static ClipTruth World(int seed) => Truths.Value[seed];

    /// <summary>(colour, shape) of every object a caption names, as "red circle".</summary>
    static SortedSet<string> Named(string caption) =>
        new(ObjectName.Matches(caption).Select(m => $"{m.Groups[2].Value} {m.Groups[3].Value}"));

    static int Counted(string caption) =>
        CaptionGrammar.Counts.ToList().IndexOf(CountSentence.Match(caption).Groups[1].Value) + 1;

    [Fact]
    public void Expand_WorldPrompts_NameTheTrueObjectsAndCount()
    {
        int same = 0;
        var misses = new List<string>();
        for (int seed = 0; seed < Seeds; seed++)
        {
            var truth = World(seed);
            string expanded = PromptExpander.Expand(truth.Prompt);
            Assert.Equal(truth.Objects.Count, Counted(expanded));
            var expected = new SortedSet<string>(truth.Objects.Select(o => $"{o.Colour} {o.Shape}"));
            if (expected.SetEquals(Named(expanded))) same++;
            else misses.Add($"seed {seed}: '{truth.Prompt}' -> '{expanded}'");
        }
        Assert.True(same >= 0.95 * Seeds, $"{same}/{Seeds} name the true objects; {string.Join(" | ", misses)}");
    }

    [Fact]
    public void Expand_WorldPrompts_KeepEveryStatedDirection()
    {
        int stated = 0;
        for (int seed = 0; seed < Seeds; seed++)
        {
            string prompt = World(seed).Prompt;
            var m = Regex.Match(prompt, @"^an? (\w+) (\w+) ([^,]*)");               // the protagonist and its verbs
            string verbs = m.Groups[3].Value;
            int h = verbs.Contains("to the right") ? 1 : verbs.Contains("to the left") ? -1 : 0;
            int v = Regex.IsMatch(verbs, @"\bup\b") ? 1 : Regex.IsMatch(verbs, @"\bdown\b") ? -1 : 0;
            if (h == 0 && v == 0) continue;
            string colour = m.Groups[1].Value;
            string shape = CaptionGrammar.Name(CaptionGrammar.ShapeSynonyms[m.Groups[2].Value]);
            string expanded = PromptExpander.Expand(prompt);
            string sentence = Regex.Match(expanded, $@"The \w+ {colour} {shape} starts[^.]*\. It [^.]*\.").Value;
            Assert.True(sentence.Contains(CaptionGrammar.DirectionPhrase(h, v)),
                        $"seed {seed}: '{prompt}' -> '{sentence}'");
            stated++;
        }
        Assert.True(stated >= 40, $"only {stated} prompts state a direction");
    }

    [Fact]
    public void Expand_WorldPrompts_UseOnlyCaptionWords()
    {
        var vocabulary = new HashSet<string>();
        var expansions = new List<string>();
        for (int seed = 0; seed < Seeds; seed++)
        {
            var truth = World(seed);
            vocabulary.UnionWith(Words(truth.Caption));
            expansions.Add(PromptExpander.Expand(truth.Prompt));
        }
        foreach (var e in expansions)
            Assert.All(Words(e), word => Assert.Contains(word, vocabulary));

        static IEnumerable<string> Words(string text) =>
            Regex.Matches(text.ToLowerInvariant(), "[a-z]+").Select(m => m.Value);
    }

    [Fact]
    public void Expand_RedBallFalls_OneMediumRedCircleFallsFromTheTop() =>
        Assert.Equal("A video of one object on a plain dark grey background. Gravity pulls everything down. " +
                     "The camera is still. The medium red circle starts at the top. It falls.",
                     PromptExpander.Expand("a red ball falls"));

    [Fact]
    public void Expand_BlueSquareMovesLeft_SlidesLeftFromTheRight() =>
        Assert.Equal("A video of one object on a plain dark grey background. Gravity pulls everything down. " +
                     "The camera is still. The medium blue square starts on the floor on the right. " +
                     "It slides to the left.",
                     PromptExpander.Expand("a blue square moves to the left"));

    [Fact]
    public void Expand_TwoCirclesCollide_TwoColouredCirclesMeetAndRebound() =>
        Assert.Equal("A video of two objects on a plain dark grey background. Gravity pulls everything down. " +
                     "The camera is still. From left to right: a medium red circle and a medium orange circle. " +
                     "The medium red circle starts on the floor on the left. It slides to the right, collides with " +
                     "the medium orange circle and then slides to the left. The medium orange circle starts on the " +
                     "floor on the right. It slides to the left, collides with the medium red circle and then " +
                     "slides to the right.",
                     PromptExpander.Expand("two circles collide"));

    [Theory]
    [InlineData("a red ball falls and bounces",
                "The medium red circle starts at the top. It falls and then bounces on the floor.")]
    [InlineData("a big green cube is thrown to the left",
                "The large green square starts at the top right. It falls to the left and then bounces on" +
                " the floor while moving to the left.")]
    [InlineData("a tiny pink ball floats up", "There is no gravity, so objects float freely.")]
    [InlineData("a tiny pink ball floats up", "The small pink circle starts at the bottom. It drifts up.")]
    [InlineData("a yellow box passes behind a block", "A grey block stands in the foreground in the middle.")]
    [InlineData("a yellow box passes behind a block",
                "It slides to the right, goes behind the grey block and then reappears on its right side.")]
    [InlineData("a red ball rolls into a blue box",
                "It slides to the right and then collides with the medium blue square.")]
    [InlineData("a red ball rolls into a blue box",
                "The medium blue square starts on the floor on the right. It collides with the medium red" +
                " circle.")]
    [InlineData("a white triangle bounces twice, with a cyan ball", "It falls and then bounces on the floor twice.")]
    [InlineData("a red ball hits the left wall", "It slides to the left and then hits the left wall.")]
    [InlineData("a red and a blue ball fall", "From left to right: a medium red circle and a medium blue circle.")]
    [InlineData("red and blue boxes slide to the right",
                "From left to right: a medium red square and a medium blue square.")]
    [InlineData("two red balls collide", "From left to right: a medium red circle and a large red circle.")]
    [InlineData("a ball sits on the left. the ball comes to rest",
                "The medium red circle starts on the floor on the left. It stays still.")]
    [InlineData("an orange sphere falls. it bounces to the right",
                "It falls and then bounces on the floor while moving to the right.")]
    [InlineData("a purple triangle on a black and navy checkerboard background",
                "on a black and navy checkerboard background.")]
    [InlineData("a red ball falls on a background that fades from black to navy",
                "on a background that fades from black at the top to navy at the bottom.")]
    [InlineData("a ball falls while the camera pans to the left",
                "The camera pans to the left. The medium red circle starts at the top. It falls.")]
    [InlineData("the camera zooms in on a cyan ball drifting down and to the right in space",
                "The camera zooms in. The medium cyan circle starts at the top left. It drifts down and " +
                "to the right.")]
    [InlineData("a red triangle collides with the small cyan square, with a cyan square", "A video of two objects")]
    public void Expand_HandWrittenPrompt_SaysThis(string prompt, string expected) =>
        Assert.Contains(expected, PromptExpander.Expand(prompt));

    [Fact]
    public void Expand_EmptyOrCaption_ReturnedAsIs()
    {
        Assert.Equal("", PromptExpander.Expand(""));
        Assert.Equal("", PromptExpander.Expand("  \n\t "));
        Assert.Equal("", PromptExpander.Expand(null!));
        string caption = World(5).Caption;
        Assert.Equal(caption, PromptExpander.Expand(caption));
        Assert.Equal("hello there", PromptExpander.Expand("  hello there "));      // nothing recognised: as typed
    }

    [Fact]
    public void Expand_Junk_NeverThrowsAndIsDeterministic()
    {
        var rng = new Random(20240601);
        string[] pieces = ["a", "the", "two", "red", "blue", "ball", "boxes", "it", "falls", "bounces", "collide", "with",
                           "into", "left", "right", "up", "on", "the", "top", "behind", "block", "wall", "twice", "3",
                           "times", "camera", "pans", "zooms", "in", "space", "gravity", "background", "black", "and",
                           ",", ".", "🙂", "ß", "\u0000", "😀😀", "-", "'", "99999999999", "0", "stops", "rest", "to"];
        var prompts = new List<string>
        {
            "🙂🙂🙂", "!!!", ".,.,", "\u0000\u0001", "ÄÖÜ ñ 漢字", "the the the", "a a a", "it bounces", "with with",
            "collide", "behind behind the", "0 balls",
                                         string.Concat(Enumerable.Repeat("a red ball falls and bounces, ", 5000)),
                                         new string('x', 100_000) };
        for (int k = 0; k < 500; k++)
        {
            var sb = new StringBuilder();
            int n = rng.Next(1, 30);
            for (int j = 0; j < n; j++) sb.Append(pieces[rng.Next(pieces.Length)]).Append(rng.Next(3) == 0 ? "" : " ");
            prompts.Add(sb.ToString());
        }
        foreach (string prompt in prompts)
        {
            string expanded = PromptExpander.Expand(prompt);
            Assert.Equal(expanded, PromptExpander.Expand(prompt));
            if (!expanded.StartsWith("A video of")) Assert.Equal(prompt.Trim(), expanded);
            else Assert.InRange(Counted(expanded), 1, PromptExpander.MaxObjects);
        }
    }

    [Fact]
    public void Expand_WithNewColourWords_KeepsThemWhereTheColourGoes()
    {
        // the word stands in for the first palette colour the prompt leaves free (red), which is then written back
        Assert.Equal(PromptExpander.Expand("A red ball bounces").Replace("red", "olive"),
                     PromptExpander.Expand("An olive ball bounces", ["olive"]));
        // beside palette colours it takes one the prompt does not use, and the others stay
        string two = PromptExpander.Expand("a red ball hits an olive square", ["olive"]);
        Assert.Contains("From left to right: a medium red circle and a medium olive square.", two);
        Assert.DoesNotMatch(@"\borange\b", two);
        // right after a colour it is not a colour ("a red star"): left out, as an unknown word
        Assert.Equal(PromptExpander.Expand("a red star falls"), PromptExpander.Expand("a red star falls", ["star"]));
        // without the word, or without new words, it is the plain expansion
        Assert.Equal(PromptExpander.Expand("a red ball falls"), PromptExpander.Expand("a red ball falls", ["olive"]));
        Assert.Equal(PromptExpander.Expand("a ball falls"), PromptExpander.Expand("a ball falls", []));
    }
}
