// CaptionFacts against the world: every fact of 200 world captions read back equals the simulator's truth; the
// directions read are the caption writer's own clauses; a caption with one wrong fact loses exactly the facts that
// hang on it; empty and nonsense captions score 0 and do not throw.
using System.Text;
using System.Text.RegularExpressions;
using Spacetime.World;

namespace Spacetime.Tests.World;

public class CaptionFactsTests
{
    const int Clips = 200;
    const long DatasetSeed = 20260611;

    /// <summary>200 clips of three arenas (64x64, 96x64, 64x96) and two lengths (2 s, 3 s). Captions do not depend on
    /// fps, so a low one keeps the truth cheap. Each clip's truth and the writer's stories of its objects.
    /// </summary>
    static readonly Lazy<(ClipTruth Truth, IReadOnlyList<ObjectStory> Stories)[]> World = new(() =>
        Enumerable.Range(0, Clips).Select(i =>
        {
            var settings = new ClipSettings(WorldClip.DeriveSeed(DatasetSeed, i), i % 3 == 1 ? 96 : 64,
                                            i % 3 == 2 ? 96 : 64, 2 + i % 2, 4);
            var (truth, traj) = WorldClip.Simulate(settings);
            return (truth, CaptionWriter.Stories(traj));
        }).ToArray());

    static IEnumerable<ClipTruth> Truths => World.Value.Select(w => w.Truth);

    static FactScore ScoreOf(string caption, ClipTruth truth) =>
        CaptionFacts.Score(CaptionFacts.Read(caption), CaptionFacts.Of(truth));

    [Fact]
    public void Score_WorldCaptionsAgainstTheirTruth_EveryFactRight()
    {
        var sum = FactScore.Sum(Truths.Select(t => ScoreOf(t.Caption, t)));
        foreach (var kind in FactScore.Kinds)
            Assert.True(sum[kind].Right == sum[kind].Total, $"{kind} is not all right:\n{sum.ToMarkdown()}");
        // every kind is exercised: per clip, per object, and the rarer per-object facts
        Assert.Equal(Clips, sum[FactKind.Count].Total);
        Assert.True(sum[FactKind.Colour].Total >= 2 * Clips, sum.ToMarkdown());
        Assert.True(sum[FactKind.Direction].Total >= Clips, sum.ToMarkdown());
        Assert.True(sum[FactKind.Occlusion].Total >= 40, sum.ToMarkdown());
        Assert.True(Truths.Count(t => t.Events.Any(e => e.Kind == "floorBounce")) >= Clips / 4);
    }

    /// <summary>
    /// Of takes directions from the truth's caption, so the check above cannot catch a direction misread. Here the
    /// directions read from each caption are compared with the writer's clauses (their H, measured from
    /// displacements), one by one; and the bounce counts read with the simulator's floorBounce events.
    /// </summary>
    [Fact]
    public void Read_WorldCaptions_DirectionsAreTheWritersClausesAndBouncesTheEvents()
    {
        foreach (var (truth, stories) in World.Value)
        {
            var read = CaptionFacts.Read(truth.Caption);
            Assert.Equal(truth.Objects.Count, read.Objects.Count);
            foreach (var story in stories)
            {
                var o = truth.Objects[story.Body];
                var facts = read.Objects.Single(f => CaptionGrammar.Name(f.Colour) == o.Colour);
                var written = story.Clauses.Where(c => c.Kind != ClauseKind.Event && c.H != 0).Select(c => c.H);
                Assert.True(written.SequenceEqual(facts.Directions),
                            $"seed {truth.Seed}, {o.Colour}: wrote [{string.Join(",", written)}], read " +
                            $"[{string.Join(",", facts.Directions)}] in '{truth.Caption}'");
                Assert.Equal(truth.Events.Count(e => e.Object == o.Id && e.Kind == "floorBounce"), facts.Bounces);
            }
        }
    }

    [Fact]
    public void Read_CountSentence_IsTheCount()
    {
        Assert.Equal(3, CaptionFacts.Read("A video of three objects on a plain black background.").Count);
        Assert.Equal(2, CaptionFacts.Read("A video of 2 objects.").Count);
        Assert.Equal(2, CaptionFacts.Read("A red ball and a blue box fall.").Count);        // no count: those named
    }

    [Fact]
    public void Read_WrongCount_LosesOnlyTheCount()
    {
        foreach (var truth in Truths)
        {
            int n = truth.Objects.Count, wrong = n % 4 + 1;
            string caption = truth.Caption.Replace($"A video of {CaptionGrammar.CountWord(n)} object",
                                                   $"A video of {CaptionGrammar.CountWord(wrong)} object");
            AssertLoses(truth, caption, new() { [FactKind.Count] = 1 });
        }
    }

    [Fact]
    public void Read_WrongCamera_LosesOnlyTheCamera()
    {
        foreach (var truth in Truths)
        {
            var camera = Enum.Parse<CameraMotion>(truth.Camera, ignoreCase: true);
            var wrong = (CameraMotion)(((int)camera + 1) % CaptionGrammar.Cameras.Count);
            string caption = truth.Caption.Replace($"The camera {CaptionGrammar.Cameras[(int)camera]}.",
                                                   $"The camera {CaptionGrammar.Cameras[(int)wrong]}.");
            AssertLoses(truth, caption, new() { [FactKind.Camera] = 1 });
        }
    }

    [Fact]
    public void Read_WrongGravity_LosesOnlyTheGravity()
    {
        const string On = "Gravity pulls everything down.", Off = "There is no gravity, so objects float freely.";
        foreach (var truth in Truths)
        {
            string caption = truth.Gravity ? truth.Caption.Replace(On, Off) : truth.Caption.Replace(Off, On);
            AssertLoses(truth, caption, new() { [FactKind.Gravity] = 1 });
        }
    }

    /// <summary>One object's horizontal directions all turned around (in its own sentence only): one direction
    /// fact lost, for every object that moves sideways.</summary>
    [Fact]
    public void Read_WrongDirection_LosesOnlyThatObjectsDirection()
    {
        int checkedObjects = 0;
        foreach (var truth in Truths)
            foreach (var o in truth.Objects)
            {
                var sentence = Regex.Match(truth.Caption,
                                           $@"The {o.Size} {o.Colour} {o.Shape} starts[^.]*\.( It [^.]*\.)?");
                if (!sentence.Value.Contains("to the left") && !sentence.Value.Contains("to the right")) continue;
                string turned = sentence.Value.Replace("to the left", "to the LEFT")
                                              .Replace("to the right", "to the left")
                                              .Replace("to the LEFT", "to the right");
                string caption = truth.Caption.Remove(sentence.Index, sentence.Length).Insert(sentence.Index, turned);
                AssertLoses(truth, caption, new() { [FactKind.Direction] = 1 });
                checkedObjects++;
            }
        Assert.True(checkedObjects >= Clips, $"only {checkedObjects} objects move sideways");
    }

    /// <summary>
    /// One object's colour word changed everywhere to a colour not in the scene. Objects are told apart by colour, so
    /// the caption now says nothing about the true object: it loses that object's colour and with it every fact
    /// scored through its counterpart (shape, size, bounce; direction and passing behind where it has them), and
    /// nothing about the scene or the other objects.
    /// </summary>
    [Fact]
    public void Read_WrongColour_LosesThatObjectsFactsOnly()
    {
        foreach (var truth in Truths)
        {
            var facts = CaptionFacts.Of(truth);
            var o = facts.Objects[^1];
            var unused = Enum.GetValues<Colour>().First(c => facts.Objects.All(f => f.Colour != c));
            string caption = Regex.Replace(truth.Caption, $@"\b{CaptionGrammar.Name(o.Colour)}\b",
                                           CaptionGrammar.Name(unused));
            var lost = new Dictionary<FactKind, int>
            {
                [FactKind.Colour] = 1, [FactKind.Shape] = 1, [FactKind.Size] = 1, [FactKind.Bounce] = 1,
            };
            if (o.Directions.Count > 0) lost[FactKind.Direction] = 1;
            if (o.Behind) lost[FactKind.Occlusion] = 1;
            AssertLoses(truth, caption, lost);
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    [InlineData(null)]
    [InlineData("lorem ipsum dolor sit amet")]
    [InlineData("!!! ??? ... ,,,")]
    [InlineData("\u0000 ÄÖÜ 漢字 🙂🙂")]
    [InlineData("A video of")]
    [InlineData("a video of 0 objects, 99999999999 objects")]
    public void Score_EmptyOrNonsenseCaption_ScoresZero(string? caption)
    {
        foreach (var truth in Truths.Take(40))
        {
            var score = ScoreOf(caption!, truth);
            foreach (var kind in FactScore.Kinds) Assert.Equal(0, score[kind].Right);
            Assert.Equal(1, score[FactKind.Count].Total);
            Assert.Equal(truth.Objects.Count, score[FactKind.Colour].Total);
        }
    }

    [Fact]
    public void Read_Junk_NeverThrows()
    {
        var rng = new Random(20260611);
        var vocabulary = Regex.Matches(string.Join(" ", Truths.Take(50).Select(t => t.Caption)), @"\w+|[.,:]")
                              .Select(m => m.Value).Distinct().Concat(["🙂", "\u0000", "99999999999", "0", "twice"])
                              .ToArray();
        var truth = Truths.First();
        var junk = new List<string> { new('x', 100_000), string.Concat(Enumerable.Repeat(truth.Caption + " ", 500)) };
        for (int k = 0; k < 500; k++)
        {
            var sb = new StringBuilder();
            for (int j = rng.Next(1, 60); j > 0; j--) sb.Append(vocabulary[rng.Next(vocabulary.Length)]).Append(' ');
            junk.Add(sb.ToString());
        }
        foreach (string caption in junk)
        {
            var facts = CaptionFacts.Read(caption);
            Assert.InRange(facts.Objects.Count, 0, PromptExpander.MaxObjects);
            var score = CaptionFacts.Score(facts, CaptionFacts.Of(truth));
            Assert.All(FactScore.Kinds, k => Assert.InRange(score[k].Right, 0, score[k].Total));
        }
    }

    [Fact]
    public void Sum_AddsKindByKind_AndFormatsATable()
    {
        var truths = Truths.Take(3).ToArray();
        var scores = truths.Select(t => ScoreOf(t.Caption, t)).Append(ScoreOf("", truths[0])).ToArray();
        var sum = FactScore.Sum(scores);
        foreach (var kind in FactScore.Kinds)
        {
            Assert.Equal(scores.Sum(s => s[kind].Total), sum[kind].Total);
            Assert.Equal(scores.Sum(s => s[kind].Right), sum[kind].Right);
        }
        Assert.Equal(0.75, sum.Accuracy(FactKind.Count));
        string table = sum.ToMarkdown();
        Assert.StartsWith("| fact | accuracy | right/total |\n|---|---:|---:|\n| count | 75.0% | 3/4 |\n", table);
        Assert.Equal(2 + FactScore.Kinds.Count, table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Contains("| occlusion | - | 0/0 |", FactScore.Sum([]).ToMarkdown());
        Assert.True(double.IsNaN(FactScore.Sum([]).Accuracy(FactKind.Camera)));
    }

    /// <summary>The caption scores as the true caption does, less exactly <paramref name="lost"/> facts per kind.
    /// </summary>
    static void AssertLoses(ClipTruth truth, string caption, Dictionary<FactKind, int> lost)
    {
        var right = ScoreOf(truth.Caption, truth);
        var changed = ScoreOf(caption, truth);
        Assert.NotEqual(truth.Caption, caption);
        foreach (var kind in FactScore.Kinds)
        {
            Assert.Equal(right[kind].Total, changed[kind].Total);
            Assert.True(right[kind].Right - lost.GetValueOrDefault(kind) == changed[kind].Right,
                        $"seed {truth.Seed}, {kind}: {changed[kind].Right}/{changed[kind].Total}, expected " +
                        $"{right[kind].Right - lost.GetValueOrDefault(kind)} in '{caption}'");
        }
    }
}
