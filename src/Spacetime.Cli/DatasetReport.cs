// DatasetReport: prints a DatasetSummary as Spectre tables (overview, sizes, buckets, vocabulary, problems).
using System.Globalization;
using Spacetime.Data;
using Spacetime.World;
using Spectre.Console;

namespace Spacetime.Cli;

internal static class DatasetReport
{
    public static void Print(CliConsole io, DatasetSummary s)
    {
        var overview = new Table().Title("dataset").AddColumns("", "");
        overview.AddRow("folder", Markup.Escape(s.Root));
        overview.AddRow("clips", N(s.Clips));
        overview.AddRow("bad entries", s.Problems.Count == 0 ? "0" : $"[yellow]{s.Problems.Count}[/]");
        overview.AddRow("uncaptioned", N(s.Uncaptioned));
        overview.AddRow("frames", N(s.TotalFrames));
        overview.AddRow("on disk", $"{s.TotalBytes / 1048576.0:0.0} MiB");
        overview.AddRow("duration", $"{s.TotalSeconds:0.0} s total; min {s.MinSeconds:0.##}, " +
                                    $"mean {s.MeanSeconds:0.##}, max {s.MaxSeconds:0.##} s");
        io.Out.Write(overview);

        var sizes = new Table().Title("frame sizes").AddColumns("width x height", "clips");
        foreach (var size in s.Sizes) sizes.AddRow($"{size.Width}x{size.Height}", N(size.Clips));
        io.Out.Write(sizes);

        var buckets = new Table().Title($"buckets ({s.DroppedByBudget} clips over the token budget)")
            .AddColumns("frames", "height", "width", "tokens/clip", "batch", "clips", "batches");
        foreach (var b in s.Buckets)
            buckets.AddRow(N(b.NumFrames), N(b.Height), N(b.Width), N(b.TokensPerClip), N(b.BatchSize), N(b.Clips),
                           N(b.Batches));
        io.Out.Write(buckets);

        var grammar = new HashSet<string>(CaptionGrammar.Colours.Concat(CaptionGrammar.Shapes).Concat(CaptionGrammar.Sizes)
                                          .Concat(CaptionGrammar.Directions).Concat(CaptionGrammar.Counts));
        var words = new Table().Title($"caption vocabulary ({s.VocabularySize} words; grammar words in bold)")
            .AddColumns("word", "count", "word", "count", "word", "count", "word", "count");
        for (int row = 0; row * 4 < s.TopWords.Count; row++)
        {
            var cells = new List<string>();
            for (int col = 0; col < 4; col++)
            {
                int k = row * 4 + col;
                if (k >= s.TopWords.Count) { cells.Add(""); cells.Add(""); continue; }
                string w = Markup.Escape(s.TopWords[k].Word);
                cells.Add(grammar.Contains(s.TopWords[k].Word) ? $"[bold]{w}[/]" : w);
                cells.Add(N(s.TopWords[k].Count));
            }
            words.AddRow(cells.ToArray());
        }
        io.Out.Write(words);

        foreach (var problem in s.Problems)
            io.Out.MarkupLine("[yellow]skipped:[/] " + Markup.Escape(problem.ToString()));
    }

    static string N(long x) => x.ToString(CultureInfo.InvariantCulture);
}
