// VideoFiles: where each video's files live, DATA/videos/<id>/:
//     video.mp4        the video (H.264 through ffmpeg)              content variant "video"
//     thumbnail.png    its middle frame                              content variant "thumbnail"
//     spritesheet.png  a contact sheet of its frames                 content variant "spritesheet"
//     input.png        the input_reference image (image to video, a loop's start), decoded and re-encoded
//     source.mp4       the video an edit changes, an extension continues or a connection starts from: an upload
//                      decoded and re-encoded, or a copy of the caller's finished video (so deleting that video
//                      does not break this one)
//     second.mp4       the video a connection leads into (the same)
// Every file is written to a temporary name and renamed into place (AtomicFile), and a job is marked completed only
// after all three outputs exist, so a half-written file is never served; outputs of a write that failed part way
// (a full disk) are removed. Ids are checked (VideoIds) before any path is built from them.
using System.Text.RegularExpressions;
using Spacetime.Media;
using Spacetime.Media.Provenance;

namespace Spacetime.Server;

/// <summary>Video ids: "video_" and 32 lower-case hex digits.</summary>
public static partial class VideoIds
{
    /// <summary>A fresh id.</summary>
    public static string New() => "video_" + Guid.NewGuid().ToString("N");

    /// <summary>True for a well-formed id (anything else names no video, and never a path).</summary>
    public static bool IsValid(string? id) => id is not null && Pattern().IsMatch(id);

    [GeneratedRegex("^video_[0-9a-f]{32}$")]
    private static partial Regex Pattern();
}

/// <summary>The downloadable files of a video.</summary>
public enum ContentVariant
{
    /// <summary>The MP4.</summary>
    Video,
    /// <summary>One frame as a PNG.</summary>
    Thumbnail,
    /// <summary>All frames on one PNG.</summary>
    Spritesheet,
}

/// <summary>The files of each video under the data folder.</summary>
/// <param name="dataDir">The data folder.</param>
/// <param name="write">Writes one video or image file atomically by its extension (VideoFile.Write; a test's failing
/// disk).</param>
public sealed class VideoFiles(string dataDir, Action<string, Frames> write)
{
    readonly string root = Path.Combine(Path.GetFullPath(dataDir), "videos");

    /// <summary>DATA/videos/&lt;id&gt;.</summary>
    public string Folder(string id) =>
        VideoIds.IsValid(id) ? Path.Combine(root, id) : throw new ArgumentException($"VideoFiles: bad id '{id}'.");

    /// <summary>The file of a content variant, and its media type.</summary>
    public (string Path, string ContentType) Content(string id, ContentVariant variant) => variant switch
    {
        ContentVariant.Video => (Path.Combine(Folder(id), "video.mp4"), "video/mp4"),
        ContentVariant.Thumbnail => (Path.Combine(Folder(id), "thumbnail.png"), "image/png"),
        _ => (Path.Combine(Folder(id), "spritesheet.png"), "image/png"),
    };

    /// <summary>The stored input_reference image.</summary>
    public string Input(string id) => Path.Combine(Folder(id), "input.png");

    /// <summary>The video an edit, extension or connection starts from.</summary>
    public string Source(string id) => Path.Combine(Folder(id), "source.mp4");

    /// <summary>The second video of a connection.</summary>
    public string Second(string id) => Path.Combine(Folder(id), "second.mp4");

    /// <summary>Stores an input video: <paramref name="copyOf"/>'s bytes when given (a finished MP4 of ours),
    /// else <paramref name="frames"/> encoded.</summary>
    public void WriteInput(string path, Frames? frames, string? copyOf)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        if (copyOf is not null) AtomicFile.Write(path, temp => File.Copy(copyOf, temp, overwrite: true));
        else write(path, frames ?? throw new ArgumentException("VideoFiles.WriteInput: no frames and no file."));
    }

    /// <summary>Writes the three outputs of a finished video, the MP4 last. With <paramref name="provenance"/>, every
    /// output is made from the watermarked frames (its payload) and the MP4 carries the manifest (docs/provenance.md).
    /// When one fails, those already written are removed before the exception goes on.</summary>
    public void WriteOutputs(string id, Frames video, (uint Payload, ProvenanceManifest Manifest)? provenance = null)
    {
        Directory.CreateDirectory(Folder(id));
        if (provenance is { } marks) video = Watermark.Embed(video, marks.Payload);
        try
        {
            write(Content(id, ContentVariant.Thumbnail).Path, Conform.Range(video, video.Count / 2, 1));
            ContactSheet.Write(Content(id, ContentVariant.Spritesheet).Path, video);
            string mp4 = Content(id, ContentVariant.Video).Path;
            write(mp4, video);
            if (provenance is { } p)
                ManifestStore.Attach(mp4, p.Manifest with { WatermarkPayload = ProvenanceManifest.FormatPayload(p.Payload) });
        }
        catch
        {
            foreach (var variant in Enum.GetValues<ContentVariant>()) File.Delete(Content(id, variant).Path);
            throw;
        }
    }

    /// <summary>Removes a video's folder (nothing when it has none).</summary>
    public void Delete(string id)
    {
        string folder = Folder(id);
        try { Directory.Delete(folder, recursive: true); }
        catch (DirectoryNotFoundException) { }                              // none, or another worker removed it
    }
}
