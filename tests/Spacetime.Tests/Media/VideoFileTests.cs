// VideoFile and the ffmpeg path: codec by extension, MP4/WebM through ffmpeg within a stated lossy tolerance, contact
// sheets and image sequences that read back into frames, atomic writes, and one-line errors for bad input.
using Spacetime.Media;

namespace Spacetime.Tests.Media;

public class VideoFileTests
{
    [Fact]
    public void Mp4_LosslessSettings_DecodeToOurPixels()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(8, 48, 64);
        string path = dir.File("a.mp4");
        VideoFile.Write(path, video, new VideoWriteOptions { Ffmpeg = new FfmpegOptions(Crf: 0, PixelFormat: "yuv444p") });
        var back = VideoFile.Read(path);
        Assert.Equal((8, 48, 64, 8.0), (back.Count, back.Height, back.Width, back.Fps));
        var (mean, max) = MediaTestKit.Error(video.Rgb, back.Rgb);
        // crf 0 + 4:4:4 is lossless in YCbCr, so only the RGB <-> YCbCr rounding of ffmpeg's swscale remains.
        Assert.True(mean < 1.0 && max <= 4, $"lossless H.264 error mean {mean:F2}, max {max}");
        Assert.Equal(back.Rgb, MediaTestKit.FfmpegDecode(path));
    }

    [Fact]
    public void Mp4_DefaultSettings_WithinLossyTolerance() => DefaultSettingsWithinLossyTolerance(".mp4");

    [Theory]
    [Trait("Category", "Slow")]
    [InlineData(".webm")]
    [InlineData(".mkv")]
    [InlineData(".mov")]
    [InlineData(".avi")]
    public void Ffmpeg_OtherContainers_WithinLossyTolerance(string ext) => DefaultSettingsWithinLossyTolerance(ext);

    static void DefaultSettingsWithinLossyTolerance(string ext)
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(8, 32, 48);
        string path = dir.File("b" + ext);
        VideoFile.Write(path, video);
        var back = VideoFile.Read(path);
        Assert.Equal(video.Count, back.Count);
        var (mean, _) = MediaTestKit.Error(video.Rgb, back.Rgb);
        // yuv420p at crf 18 (VP9: 30; AVI: MPEG-4 q 2): chroma is halved and the codec is lossy: a few levels.
        Assert.True(mean < 6, $"{ext} error mean {mean:F2}");
        var info = VideoFile.Probe(path);
        Assert.Equal((32, 48, 8.0), (info.Height, info.Width, info.Fps));
    }

    [Fact]
    public void ContactSheet_WithLabel_ReadsBackIntoFrames()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(7, 20, 30, fps: 12);
        string path = dir.File("sheet.png");
        VideoFile.Write(path, video, new VideoWriteOptions { Sheet = new ContactSheetOptions(Label: "a red ball bounces, 3 times!") });
        var sheet = Png.ReadImage(path);
        Assert.True(sheet.Width >= 3 * 30 && sheet.Height > 3 * 20);      // 3x3 grid plus the label strip
        var back = VideoFile.Read(path);
        Assert.Equal(video.Rgb, back.Rgb);
        Assert.Equal(12.0, back.Fps);
        Assert.Equal(new VideoInfo(7, 20, 30, 12), VideoFile.Probe(path));
    }

    [Fact]
    public void ImageSequence_Folder_RoundTripIsExact()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(5, 16, 24, fps: 6);
        string folder = dir.File("frames");
        VideoFile.Write(folder, video);
        Assert.Equal(5, Directory.GetFiles(folder, "*.png").Length);
        var back = VideoFile.Read(folder);
        Assert.Equal(video.Rgb, back.Rgb);
        Assert.Equal(6.0, back.Fps);
        Assert.Equal(new VideoInfo(5, 16, 24, 6), VideoFile.Probe(folder));
    }

    [Fact]
    public void Write_UnknownExtension_ThrowsOneLineMessage()
    {
        using var dir = new TempDir();
        string path = dir.File("clip.xyz");
        var e = Assert.Throws<MediaException>(() => VideoFile.Write(path, MediaTestKit.Noise(1, 4, 4, seed: 8)));
        Assert.Contains(path, e.Message);
        Assert.Contains("'.xyz'", e.Message);
        Assert.Contains(".gif", e.Message);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Read_MissingFile_ThrowsMediaException()
    {
        var e = Assert.Throws<MediaException>(() => VideoFile.Read("/nonexistent/clip.gif"));
        Assert.Contains("/nonexistent/clip.gif", e.Message);
    }

    [Fact]
    public void Ffmpeg_NotOnPath_MessageNamesFileAndInstallHint()
    {
        Assert.Null(Ffmpeg.Locate("ffmpeg", "/nonexistent-dir"));
        var e = Ffmpeg.Missing("out/clip.mp4");
        Assert.StartsWith("out/clip.mp4: .mp4 video needs ffmpeg", e.Message);
        Assert.Contains("apt-get install ffmpeg", e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Mp4_Truncated_ThrowsMediaExceptionNamingFile()
    {
        using var dir = new TempDir();
        string path = dir.File("t.mp4");
        VideoFile.Write(path, MediaTestKit.MovingShapes(4, 16, 16));
        byte[] bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(bytes.Length / 3)]);
        var e = Assert.Throws<MediaException>(() => VideoFile.Read(path));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Write_FailingEncoder_LeavesOldFileAndNoTemporaries()
    {
        using var dir = new TempDir();
        string path = dir.File("keep.mp4");
        File.WriteAllText(path, "old");
        var bad = new VideoWriteOptions { Ffmpeg = new FfmpegOptions(PixelFormat: "no-such-format") };
        var e = Assert.Throws<MediaException>(() => VideoFile.Write(path, MediaTestKit.Noise(2, 8, 8, seed: 9), bad));
        Assert.Contains(path, e.Message);
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path));
    }

    [Fact]
    public void Write_EveryFormat_ReplacesFileAtomically()
    {
        using var dir = new TempDir();
        var video = MediaTestKit.MovingShapes(2, 8, 8);
        foreach (string name in new[] { "a.gif", "a.png", "a.y4m", "seq" })
        {
            VideoFile.Write(dir.File(name), video);
            VideoFile.Write(dir.File(name), video);                       // overwrite in place
        }
        Assert.Equal(["a.gif", "a.png", "a.y4m", "seq"],
                     Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }
}
