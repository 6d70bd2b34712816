// ImageFile: reads a still image (PNG, JPEG, WebP, BMP, TGA, or a GIF's first frame) into a one-frame video, through
// SixLabors.ImageSharp (a kept library: image decoders are where crafted files do harm, so none is written here).
// Frames of our own PNG contact sheets and image folders are VideoFile's business; this is for a user's photo.
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace Spacetime.Media;

/// <summary>Still images in.</summary>
public static class ImageFile
{
    /// <summary>The extensions <see cref="Read"/> takes.</summary>
    public static readonly IReadOnlyList<string> Extensions = [".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tga", ".gif"];

    /// <summary>Images larger than this many pixels are refused (a decompression bomb would otherwise fill memory).
    /// </summary>
    public const long MaxPixels = 64L * 1024 * 1024;

    /// <summary>The image (a GIF's first frame) as one frame at <paramref name="fps"/>; a missing, unreadable or
    /// oversized file is a <see cref="MediaException"/>.</summary>
    public static Frames Read(string path, double fps = 8)
    {
        if (!File.Exists(path)) throw new MediaException(path, "file not found", "check the path");
        if (!Extensions.Contains(MediaFiles.Extension(path)))
            throw new MediaException(path, "not an image this reads", $"give one of {string.Join(" ", Extensions)}");
        if (new FileInfo(path).Length == 0)                     // also a device or pipe: nothing to decode
            throw new MediaException(path, "the file is empty (or not a regular file)", "check the path");
        try
        {
            var info = Image.Identify(path)
                       ?? throw new MediaException(path, "not a readable image", "check that the file is an image");
            if ((long)info.Width * info.Height > MaxPixels)
                throw new MediaException(path, $"{info.Width}x{info.Height} is larger than {MaxPixels} pixels",
                                         "resize it first");
            using var image = Image.Load<Rgb24>(path);
            var frames = new Frames(1, image.Height, image.Width, fps);
            image.Frames.RootFrame.CopyPixelDataTo(frames.Frame(0));
            return frames;
        }
        catch (Exception e) when (e is UnknownImageFormatException or InvalidImageContentException or NotSupportedException)
        {
            throw new MediaException(path, $"not a readable image ({e.Message.TrimEnd('.')})", "check that the file is an image", e);
        }
    }
}
