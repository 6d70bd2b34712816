// ContactSheet: one PNG that shows a video's frames in a grid, with an optional text label on top, for people who
// would rather look than play. The grid layout goes in a tEXt chunk ("spacetime.sheet"), so reading the PNG back as a
// video (VideoFile.Read) cuts it into the original frames again.
// The label uses a built-in 3x5 pixel font (upper case, digits, common punctuation; lower case is drawn upper case).
using System.Globalization;

namespace Spacetime.Media;

/// <summary>How to lay out a contact sheet.</summary>
/// <param name="Columns">Frames per row; 0 = about square (ceil(sqrt(T))).</param>
/// <param name="Label">Text drawn above the grid (wrapped), or null.</param>
/// <param name="Gap">Pixels between frames and around the grid.</param>
public sealed record ContactSheetOptions(int Columns = 0, string? Label = null, int Gap = 2);

/// <summary>Frames laid out in a grid, as one image.</summary>
public static class ContactSheet
{
    internal const string TextKey = "spacetime.sheet";
    static readonly byte[] Background = [32, 32, 32];
    static readonly byte[] Ink = [235, 235, 235];

    /// <summary>Writes the contact sheet of <paramref name="frames"/> as a PNG (atomically).</summary>
    public static void Write(string path, Frames frames, ContactSheetOptions? options = null)
    {
        var sheet = Render(frames, options);
        Png.WriteImage(path, sheet.Rgb, sheet.Width, sheet.Height, sheet.Text);
    }

    /// <summary>Draws the sheet as an image whose text chunk records the grid.</summary>
    public static PngImage Render(Frames frames, ContactSheetOptions? options = null)
    {
        options ??= new ContactSheetOptions();
        int count = Math.Max(1, frames.Count);
        int columns = options.Columns > 0 ? Math.Min(options.Columns, count) : (int)Math.Ceiling(Math.Sqrt(count));
        int gap = Math.Max(0, options.Gap);
        int gridWidth = columns * frames.Width + (columns + 1) * gap;
        int scale = gridWidth >= 600 ? 2 : 1;                   // label pixels per font pixel
        List<string> lines = options.Label is { Length: > 0 } label ? Wrap(label, gridWidth / (4 * scale) - 1) : [];
        int top = lines.Count == 0 ? 0 : lines.Count * 6 * scale + 2 * gap + scale;
        var layout = new Layout(count, frames.Width, frames.Height, columns, gap, top, frames.Fps);
        int width = layout.SheetWidth, height = layout.SheetHeight;

        var rgb = new byte[width * height * 3];
        for (int i = 0; i < rgb.Length; i += 3)
            Background.CopyTo(rgb, i);
        for (int line = 0; line < lines.Count; line++)
            DrawText(rgb, width, lines[line], gap + scale, gap + scale + line * 6 * scale, scale);
        for (int t = 0; t < frames.Count; t++)
        {
            var (x0, y0) = layout.Origin(t);
            ReadOnlySpan<byte> frame = frames.Frame(t);
            for (int y = 0; y < frames.Height; y++)
                frame.Slice(y * frames.Width * 3, frames.Width * 3).CopyTo(rgb.AsSpan(((y0 + y) * width + x0) * 3));
        }
        string text = string.Create(CultureInfo.InvariantCulture,
            $"frames={frames.Count} width={frames.Width} height={frames.Height} columns={columns} gap={gap} top={top} " +
            $"fps={frames.Fps:R}");
        return new PngImage(width, height, rgb, new Dictionary<string, string> { [TextKey] = text });
    }

    /// <summary>The grid a sheet was drawn with, read from its tEXt chunk.</summary>
    internal sealed record Layout(int Frames, int Width, int Height, int Columns, int Gap, int Top, double Fps)
    {
        public int Rows => (Frames + Columns - 1) / Columns;
        public int SheetWidth => Columns * Width + (Columns + 1) * Gap;
        public int SheetHeight => Top + Rows * Height + (Rows + 1) * Gap;
        public (int X, int Y) Origin(int t) => (Gap + (t % Columns) * (Width + Gap), Top + Gap + (t / Columns) * (Height + Gap));
    }

    /// <summary>The layout in a sheet's text chunks, or null when there is none or it is invalid.</summary>
    internal static Layout? ParseLayout(IReadOnlyDictionary<string, string> text)
    {
        if (!text.TryGetValue(TextKey, out string? layout))
            return null;
        var fields = new Dictionary<string, double>();
        foreach (string part in layout.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] kv = part.Split('=');
            if (kv.Length == 2 && double.TryParse(kv[1], NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
                fields[kv[0]] = v;
        }
        int Field(string key) => fields.TryGetValue(key, out double v) && v is >= 0 and <= 1 << 20 ? (int)v : -1;
        var result = new Layout(Field("frames"), Field("width"), Field("height"), Field("columns"), Field("gap"), Field("top"),
                                fields.GetValueOrDefault("fps", 8));
        bool ok = result.Frames > 0 && result.Width > 0 && result.Height > 0 && result.Columns > 0 && result.Gap >= 0 &&
                  result.Top >= 0 && result.Fps > 0 && !double.IsInfinity(result.Fps);
        return ok ? result : null;
    }

    /// <summary>Cuts a sheet written by <see cref="Write"/> back into frames, or returns null when the image carries
    /// no layout or the layout does not fit the image.</summary>
    internal static Frames? Split(PngImage image)
    {
        var layout = ParseLayout(image.Text);
        if (layout == null || layout.SheetWidth > image.Width || layout.SheetHeight > image.Height)
            return null;
        var frames = new Frames(layout.Frames, layout.Height, layout.Width, layout.Fps);
        for (int t = 0; t < layout.Frames; t++)
        {
            var (x0, y0) = layout.Origin(t);
            for (int y = 0; y < layout.Height; y++)
                image.Rgb.AsSpan(((y0 + y) * image.Width + x0) * 3, layout.Width * 3)
                    .CopyTo(frames.Frame(t).Slice(y * layout.Width * 3));
        }
        return frames;
    }

    static List<string> Wrap(string text, int maxChars)
    {
        maxChars = Math.Max(4, maxChars);
        var lines = new List<string>();
        string line = "";
        foreach (string word in text.Split((char[])[' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries))
        {
            string w = word;
            while (w.Length > maxChars)                    // a word longer than a line is cut
            {
                if (line.Length > 0) { lines.Add(line); line = ""; }
                lines.Add(w[..maxChars]);
                w = w[maxChars..];
            }
            if (line.Length == 0) line = w;
            else if (line.Length + 1 + w.Length <= maxChars) line += " " + w;
            else { lines.Add(line); line = w; }
        }
        if (line.Length > 0)
            lines.Add(line);
        return lines;
    }

    static void DrawText(byte[] rgb, int width, string text, int x0, int y0, int scale)
    {
        int height = rgb.Length / 3 / width;
        for (int i = 0; i < text.Length; i++)
        {
            string glyph = Glyph(char.ToUpperInvariant(text[i]));
            for (int gy = 0; gy < 5; gy++)
                for (int gx = 0; gx < 3; gx++)
                {
                    if (glyph[gy * 3 + gx] != '#')
                        continue;
                    for (int sy = 0; sy < scale; sy++)
                        for (int sx = 0; sx < scale; sx++)
                        {
                            int x = x0 + (i * 4 + gx) * scale + sx, y = y0 + gy * scale + sy;
                            if (x < width && y < height)
                                Ink.CopyTo(rgb, (y * width + x) * 3);
                        }
                }
        }
    }

    // 3x5 glyphs, five rows of three pixels each, '#' = ink.
    static string Glyph(char c) => c switch
    {
        'A' => ".#.#.#####.##.#", 'B' => "##.#.###.#.###.", 'C' => ".###..#..#...##", 'D' => "##.#.##.##.###.",
        'E' => "####..##.#..###", 'F' => "####..##.#..#..", 'G' => ".###..#.##.#.##", 'H' => "#.##.#####.##.#",
        'I' => "###.#..#..#.###", 'J' => "..#..#..##.#.#.", 'K' => "#.##.###.#.##.#", 'L' => "#..#..#..#..###",
        'M' => "#.########.##.#", 'N' => "##.#.##.##.##.#", 'O' => ".#.#.##.##.#.#.", 'P' => "##.#.###.#..#..",
        'Q' => ".#.#.##.###..##", 'R' => "##.#.###.#.##.#", 'S' => ".###...#...###.", 'T' => "###.#..#..#..#.",
        'U' => "#.##.##.##.####", 'V' => "#.##.##.##.#.#.", 'W' => "#.##.########.#", 'X' => "#.##.#.#.#.##.#",
        'Y' => "#.##.#.#..#..#.", 'Z' => "###..#.#.#..###", '0' => "####.##.##.####", '1' => ".#.##..#..#.###",
        '2' => "##...#.#.#..###", '3' => "##...#.#...###.", '4' => "#.##.####..#..#", '5' => "####..##...###.",
        '6' => ".###..####.####", '7' => "###..#.#..#..#.", '8' => "####.#####.####", '9' => "####.####..###.",
        ' ' => "...............", '.' => ".............#.", ',' => "..........#.#..", ':' => "....#.....#....",
        '-' => "......###......", '_' => "............###", '/' => "..#..#.#.#..#..", '(' => ".#.#..#..#...#.",
        ')' => ".#...#..#..#.#.", '!' => ".#..#..#.....#.", '\'' => ".#..#..........", '=' => "...###...###...",
        '+' => "....#.###.#....", '%' => "#.#..#.#.#..#.#",
        _ => "##...#.#.....#.",                                                 // '?' for anything else
    };
}
