// VideoFile: read and write a video by its file name. The extension picks the codec:
//   .gif                      animated GIF (Gif)
//   .png                      contact sheet (ContactSheet), or the image itself for one frame; read back into frames
//                             when we wrote a sheet, else one frame
//   .y4m                      YUV4MPEG2 (Y4m)
//   .mp4 .mkv .mov            H.264 through ffmpeg        .webm  VP9 through ffmpeg        .avi  MPEG-4 through ffmpeg
//   a folder (no extension)   image sequence, one PNG per frame (ImageSequence)
// Reading also takes anything else ffmpeg reads (.m4v .mpg .ts .flv ...). Every write is atomic (temp file + rename).
namespace Spacetime.Media;

/// <summary>A video's frame count, size and frame rate, read without decoding every pixel where possible.</summary>
public sealed record VideoInfo(int NumFrames, int Height, int Width, double Fps);

/// <summary>Options for <see cref="VideoFile.Write"/>; each codec reads the ones that concern it.</summary>
public sealed record VideoWriteOptions
{
    /// <summary>GIF palette and dithering.</summary>
    public GifOptions Gif { get; init; } = new();
    /// <summary>MP4/WebM/MKV/MOV quality and pixel format.</summary>
    public FfmpegOptions Ffmpeg { get; init; } = new();
    /// <summary>Y4M chroma subsampling.</summary>
    public Y4mChroma Y4mChroma { get; init; } = Y4mChroma.C444;
    /// <summary>Contact sheet layout and label (.png).</summary>
    public ContactSheetOptions Sheet { get; init; } = new();
}

/// <summary>Reads and writes videos, choosing the codec from the file extension.</summary>
public static class VideoFile
{
    /// <summary>Extensions <see cref="Write"/> accepts (a path without extension is an image-sequence folder).</summary>
    public static readonly IReadOnlyList<string> WriteExtensions = [".gif", ".png", ".y4m", ".mp4", ".webm", ".mkv", ".mov", ".avi"];

    /// <summary>Extensions of video files that <see cref="Read"/> passes to ffmpeg.</summary>
    public static readonly IReadOnlyList<string> FfmpegReadExtensions =
        [".mp4", ".webm", ".mkv", ".mov", ".avi", ".m4v", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".ogv", ".3gp"];

    /// <summary>True when <paramref name="path"/> names something <see cref="Read"/> can open: a video file with a
    /// known extension, or an existing folder of images.</summary>
    public static bool IsVideoPath(string path)
    {
        string ext = MediaFiles.Extension(path);
        return Directory.Exists(path) || ext is ".gif" or ".png" or ".y4m" || FfmpegReadExtensions.Contains(ext);
    }

    /// <summary>Writes <paramref name="frames"/> to <paramref name="path"/> in the format its extension names.</summary>
    public static void Write(string path, Frames frames, VideoWriteOptions? options = null)
    {
        options ??= new VideoWriteOptions();
        string ext = MediaFiles.Extension(path);
        if (frames.Count == 0)
            throw new MediaException(path, "cannot write a video with zero frames", "give at least one frame");
        switch (ext)
        {
            case ".gif": Gif.Write(path, frames, options.Gif); break;
            case ".png" when frames.Count == 1: Png.WriteImage(path, frames.Frame(0), frames.Width, frames.Height); break;
            case ".png": ContactSheet.Write(path, frames, options.Sheet); break;
            case ".y4m": Y4m.Write(path, frames, options.Y4mChroma); break;
            case ".mp4" or ".webm" or ".mkv" or ".mov" or ".avi": Ffmpeg.Write(path, frames, options.Ffmpeg); break;
            case "": ImageSequence.Write(path, frames); break;
            default: throw UnknownExtension(path, forWriting: true);
        }
    }

    /// <summary>Reads a video file or an image-sequence folder. <paramref name="defaultFps"/> is used when the file
    /// does not say its frame rate (a plain PNG, an image folder, a GIF without delays).</summary>
    public static Frames Read(string path, double defaultFps = 8)
    {
        if (Directory.Exists(path))
            return ImageSequence.Read(path, defaultFps);
        string ext = MediaFiles.Extension(path);
        switch (ext)
        {
            case ".gif": return Gif.Read(path, defaultFps);
            case ".y4m": return Y4m.Read(path);
            case ".png":
                var image = Png.ReadImage(path);
                return ContactSheet.Split(image) ?? new Frames(1, image.Height, image.Width, defaultFps, image.Rgb);
        }
        if (FfmpegReadExtensions.Contains(ext) || (ext.Length > 0 && ImageSequence.Extensions.Contains(ext)))
            return Ffmpeg.Read(path);
        if (!File.Exists(path))
            throw new MediaException(path, "file or folder not found", "check the path");
        throw UnknownExtension(path, forWriting: false);
    }

    /// <summary>Frame count, size and fps; cheap for every format (headers only; ffmpeg's estimate for MP4 etc.).</summary>
    public static VideoInfo Probe(string path, double defaultFps = 8)
    {
        if (Directory.Exists(path))
            return ImageSequence.Probe(path, defaultFps);
        string ext = MediaFiles.Extension(path);
        switch (ext)
        {
            case ".gif": return Gif.Probe(path, defaultFps);
            case ".y4m": return Y4m.Probe(path);
            case ".png":
                var (w, h, text) = Png.ReadHeader(path);
                var sheet = ContactSheet.ParseLayout(text);
                return sheet != null && sheet.SheetWidth <= w && sheet.SheetHeight <= h
                    ? new VideoInfo(sheet.Frames, sheet.Height, sheet.Width, sheet.Fps)
                    : new VideoInfo(1, h, w, defaultFps);
        }
        if (FfmpegReadExtensions.Contains(ext))
            return Ffmpeg.Probe(path);
        if (!File.Exists(path))
            throw new MediaException(path, "file or folder not found", "check the path");
        throw UnknownExtension(path, forWriting: false);
    }

    static MediaException UnknownExtension(string path, bool forWriting)
    {
        string ext = MediaFiles.Extension(path);
        string known = forWriting
            ? string.Join(" ", WriteExtensions) + ", or a folder path (no extension) for PNG frames"
            : ".gif .png .y4m " + string.Join(" ", FfmpegReadExtensions) + ", or a folder of images";
        return new MediaException(path, $"unknown video extension '{ext}'", "use one of " + known);
    }
}
