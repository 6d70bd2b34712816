// Datasets on disk: the writer's folder layout and captions.jsonl, loading with malformed lines and unreadable clips
// (counted and listed, the rest loads), users' folders without captions.jsonl, and the inspection summary.
using Spacetime.Data;
using Spacetime.Media;
using Spacetime.Tests.Media;

namespace Spacetime.Tests.Data;

public class DatasetTests
{
    static Frames Video(int frames, int h, int w, int seed) => MediaTestKit.Noise(frames, h, w, seed);

    [Fact]
    public void DatasetWriter_ParallelAdds_WritesSortedCaptionsAndClips()
    {
        using var dir = new TempDir();
        using (var writer = new DatasetWriter(dir.Path))
            Parallel.For(0, 12, i => writer.Add(Video(2, 8, 8, i), $"caption {i}", $"prompt {i}",
                                                i % 2 == 0 ? $"{{\"seed\":{i}}}" : null));
        string[] lines = File.ReadAllLines(dir.File("captions.jsonl"));
        Assert.Equal(12, lines.Length);
        Assert.Equal(lines.Order(StringComparer.Ordinal), lines);
        Assert.StartsWith("{\"file\":\"clips/000001.gif\",\"caption\":", lines[0]);
        Assert.Equal(12, Directory.GetFiles(dir.File("clips")).Length);
        Assert.Equal(6, Directory.GetFiles(dir.File("truth")).Length);
        Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp*", SearchOption.AllDirectories));

        var data = Dataset.Load(dir.Path);
        Assert.Equal(12, data.Clips.Count);
        Assert.Empty(data.Problems);
        Assert.All(data.Clips, c => Assert.Equal((2, 8, 8, 8.0), (c.NumFrames, c.Height, c.Width, c.Fps)));
        Assert.Equal(12, data.Clips.Select(c => c.Caption).Distinct().Count());
        Assert.Equal(6, data.Clips.Count(c => c.TruthPath != null && File.Exists(c.TruthPath)));
    }

    [Fact]
    public void DatasetWriter_Reopened_ContinuesNumberingAfterCutOffLine()
    {
        using var dir = new TempDir();
        using (var writer = new DatasetWriter(dir.Path))
            writer.Add(Video(1, 4, 4, 1), "first", "p");
        File.AppendAllText(dir.File("captions.jsonl"), "{\"file\":\"clips/0000");        // a crash mid-line
        using (var writer = new DatasetWriter(dir.Path))
            Assert.Equal("clips/000002.gif", writer.Add(Video(1, 4, 4, 2), "second", "p"));
        var data = Dataset.Load(dir.Path);
        Assert.Equal(["first", "second"], data.Clips.Select(c => c.Caption));
        Assert.Single(data.Problems);
    }

    [Fact]
    public void Load_MalformedLinesAndBadClips_CountedAndRestLoads()
    {
        using var dir = new TempDir();
        using (var writer = new DatasetWriter(dir.Path))
            for (int i = 0; i < 3; i++)
                writer.Add(Video(3, 8, 12, i), $"a clip {i}", "p");
        File.WriteAllBytes(dir.File("clips/broken.gif"), File.ReadAllBytes(dir.File("clips/000001.gif"))[..40]);
        File.AppendAllLines(dir.File("captions.jsonl"),
        [
            "",                                                          // 4: blank lines are skipped silently
            "this is not json",                                          // 5
            "{\"caption\": \"no file\"}",                                // 6
            "{\"file\": \"clips/000001.gif\"}",                          // 7: no caption
            "[1, 2]",                                                    // 8
            "{\"file\": \"clips/missing.gif\", \"caption\": \"x\"}",    // 9
            "{\"file\": \"clips/broken.gif\", \"caption\": \"x\"}",     // 10: truncated GIF
            "{\"file\": \"clips/000002.gif\", \"caption\": \"again\", \"prompt\": \"short\"}",
        ]);
        var data = Dataset.Load(dir.Path);
        Assert.Equal(4, data.Clips.Count);
        Assert.Equal([5, 6, 7, 8, 9, 10], data.Problems.Select(p => p.Line));
        Assert.All(data.Problems, p => Assert.StartsWith(dir.File("captions.jsonl") + ":", p.ToString()));
        Assert.Contains("missing.gif", data.Problems[4].Message);
        Assert.Contains("truncated", data.Problems[5].Message);
        Assert.Equal("short", data.Clips[^1].Prompt);
    }

    [Fact]
    public void Load_UserFolderWithoutCaptions_ReadsVideosImageFoldersAndSidecars()
    {
        using var dir = new TempDir();
        VideoFile.Write(dir.File("walk.gif"), Video(4, 16, 24, 1));
        File.WriteAllText(dir.File("walk.txt"), "a person walks\n");
        VideoFile.Write(dir.File("frames"), Video(3, 8, 8, 2));           // an image-sequence folder
        VideoFile.Write(dir.File("clip.y4m"), Video(2, 8, 8, 3));
        File.WriteAllText(dir.File("notes.md"), "ignored");
        var data = Dataset.Load(dir.Path);
        Assert.Empty(data.Problems);
        Assert.Equal(["clip.y4m", "frames", "walk.gif"], data.Clips.Select(c => Path.GetFileName(c.Path)));
        Assert.Equal("a person walks", data.Clips[2].Caption);
        Assert.Equal(3, data.Clips[1].NumFrames);
        Assert.Equal(Video(3, 8, 8, 2).Rgb, data.Clips[1].Load().Rgb);
    }

    [Fact]
    public void Load_MissingFolder_ThrowsMediaException()
    {
        var e = Assert.Throws<MediaException>(() => Dataset.Load("/nonexistent/dataset"));
        Assert.Contains("/nonexistent/dataset", e.Message);
    }

    [Fact]
    public void Summarize_CountsSizesBucketsAndWords()
    {
        using var dir = new TempDir();
        using (var writer = new DatasetWriter(dir.Path))
        {
            writer.Add(Video(16, 16, 16, 1), "A red ball bounces.", "p");
            writer.Add(Video(16, 16, 16, 2), "a blue ball falls", "p");
            writer.Add(Video(8, 16, 24, 3), "", "p");
        }
        var summary = DatasetInspector.Summarize(Dataset.Load(dir.Path), BucketConfig.Default(64));
        Assert.Equal((3, 1, 40L), (summary.Clips, summary.Uncaptioned, summary.TotalFrames));
        Assert.Equal(5.0, summary.TotalSeconds, 9);
        Assert.Equal(new SizeCount(16, 16, 2), summary.Sizes[0]);
        Assert.Equal(2, summary.Buckets.Count);
        Assert.Equal(new WordCount("a", 2), summary.TopWords[0]);
        Assert.Equal(new WordCount("ball", 2), summary.TopWords[1]);
        Assert.Equal(6, summary.VocabularySize);
        Assert.True(summary.TotalBytes > 0);
    }
}
