// BitmapFont: a small pixel font for chart text, our own design. Each glyph is 5 pixels wide and 9 rows tall: rows 0-6
// sit above the baseline (capitals and digits are 7 high, lower case has a 5-row x-height with ascenders to row 0) and
// rows 7-8 hold descenders (g j p q y , ; _). Characters advance 6 pixels (one blank column). Text is scaled by an
// integer factor, so it stays crisp. It covers printable ASCII; any other character is drawn as a hollow box.
// The glyphs are drawn below as pictures ('#' = ink): a line naming the characters (one every 6 columns), then the 9
// rows of each glyph side by side. They are parsed once into byte rows (bit 4 = leftmost pixel).
namespace Spacetime.Media;

internal static class BitmapFont
{
    public const int GlyphWidth = 5;    // pixels of ink across
    public const int Advance = 6;       // pixels from one character to the next
    public const int CapHeight = 7;     // rows above the baseline
    public const int Rows = 9;          // rows per glyph, descenders included

    const string Digits = """
        0     1     2     3     4     5     6     7     8     9
        .###. ..#.. .###. ##### ...#. ##### ..##. ##### .###. .###.
        #...# .##.. #...# ...#. ..##. #.... .#... ....# #...# #...#
        #..## ..#.. ....# ..#.. .#.#. ####. #.... ...#. #...# #...#
        #.#.# ..#.. ...#. ...#. #..#. ....# ####. ..#.. .###. .####
        ##..# ..#.. ..#.. ....# ##### ....# #...# .#... #...# ....#
        #...# ..#.. .#... #...# ...#. #...# #...# .#... #...# ...#.
        .###. .###. ##### .###. ...#. .###. .###. .#... .###. .##..
        ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        """;

    const string Upper = """
        A     B     C     D     E     F     G     H     I     J     K     L     M
        .###. ####. .###. ###.. ##### ##### .###. #...# .###. ..### #...# #.... #...#
        #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. ...#. #..#. #.... ##.##
        #...# #...# #.... #...# #.... #.... #.... #...# ..#.. ...#. #.#.. #.... #.#.#
        ##### ####. #.... #...# ####. ####. #.### ##### ..#.. ...#. ##... #.... #.#.#
        #...# #...# #.... #...# #.... #.... #...# #...# ..#.. ...#. #.#.. #.... #...#
        #...# #...# #...# #..#. #.... #.... #...# #...# ..#.. #..#. #..#. #.... #...#
        #...# ####. .###. ###.. ##### #.... .#### #...# .###. .##.. #...# ##### #...#
        ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        N     O     P     Q     R     S     T     U     V     W     X     Y     Z
        #...# .###. ####. .###. ####. .###. ##### #...# #...# #...# #...# #...# #####
        #...# #...# #...# #...# #...# #...# ..#.. #...# #...# #...# #...# #...# ....#
        ##..# #...# #...# #...# #...# #.... ..#.. #...# #...# #...# .#.#. .#.#. ...#.
        #.#.# #...# ####. #...# ####. .###. ..#.. #...# #...# #.#.# ..#.. ..#.. ..#..
        #..## #...# #.... #.#.# #.#.. ....# ..#.. #...# #...# #.#.# .#.#. ..#.. .#...
        #...# #...# #.... #..#. #..#. #...# ..#.. #...# .#.#. #.#.# #...# ..#.. #....
        #...# .###. #.... .##.# #...# .###. ..#.. .###. ..#.. .#.#. #...# ..#.. #####
        ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        """;

    const string Lower = """
        a     b     c     d     e     f     g     h     i     j     k     l     m
        ..... #.... ..... ....# ..... ..##. ..... #.... ..#.. ...#. #.... .##.. .....
        ..... #.... ..... ....# ..... .#..# ..... #.... ..... ..... #.... ..#.. .....
        .###. #.##. .###. .##.# .###. .#... .#### #.##. .##.. ..##. #..#. ..#.. ##.#.
        ....# ##..# #.... #..## #...# ###.. #...# ##..# ..#.. ...#. #.#.. ..#.. #.#.#
        .#### #...# #.... #...# ##### .#... #...# #...# ..#.. ...#. ##... ..#.. #.#.#
        #...# #...# #...# #...# #.... .#... #...# #...# ..#.. ...#. #.#.. ..#.. #.#.#
        .#### ####. .###. .#### .###. .#... .#### #...# .###. ...#. #..#. .###. #.#.#
        ..... ..... ..... ..... ..... ..... ....# ..... ..... #..#. ..... ..... .....
        ..... ..... ..... ..... ..... ..... .###. ..... ..... .##.. ..... ..... .....
        n     o     p     q     r     s     t     u     v     w     x     y     z
        ..... ..... ..... ..... ..... ..... .#... ..... ..... ..... ..... ..... .....
        ..... ..... ..... ..... ..... ..... .#... ..... ..... ..... ..... ..... .....
        #.##. .###. ####. .#### #.##. .###. ###.. #...# #...# #...# #...# #...# #####
        ##..# #...# #...# #...# ##..# #.... .#... #...# #...# #...# .#.#. #...# ...#.
        #...# #...# #...# #...# #.... .###. .#... #...# #...# #.#.# ..#.. #...# ..#..
        #...# #...# #...# #...# #.... ....# .#..# #..## .#.#. #.#.# .#.#. #...# .#...
        #...# .###. ####. .#### #.... ####. ..##. .##.# ..#.. .#.#. #...# .#### #####
        ..... ..... #.... ....# ..... ..... ..... ..... ..... ..... ..... ....# .....
        ..... ..... #.... ....# ..... ..... ..... ..... ..... ..... ..... .###. .....
        """;

    const string Punctuation = """
        .     ,     -     +     :     _     /     (     )     %     =     !     ?     '     "     #
        ..... ..... ..... ..... ..... ..... ..... ...#. .#... ##..# ..... ..#.. .###. ..#.. .#.#. .#.#.
        ..... ..... ..... ..#.. ..... ..... ....# ..#.. ..#.. ##..# ..... ..#.. #...# ..#.. .#.#. .#.#.
        ..... ..... ..... ..#.. .##.. ..... ...#. .#... ...#. ...#. ##### ..#.. ....# ..... ..... #####
        ..... ..... ##### ##### .##.. ..... ..#.. .#... ...#. ..#.. ..... ..#.. ...#. ..... ..... .#.#.
        ..... ..... ..... ..#.. ..... ..... .#... .#... ...#. .#... ##### ..#.. ..#.. ..... ..... #####
        .##.. .##.. ..... ..#.. .##.. ..... #.... ..#.. ..#.. #..## ..... ..... ..... ..... ..... .#.#.
        .##.. .##.. ..... ..... .##.. ..... ..... ...#. .#... #..## ..... ..#.. ..#.. ..... ..... .#.#.
        ..... ..#.. ..... ..... ..... ##### ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        ..... .#... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        $     &     *     ;     <     >     @     [     ]     \     ^     `     {     |     }     ~
        ..#.. .##.. ..... ..... ...#. .#... .###. .###. .###. ..... ..#.. .#... ...#. ..#.. .#... .....
        .#### #..#. ..#.. .##.. ..#.. ..#.. #...# .#... ...#. #.... .#.#. ..#.. ..#.. ..#.. ..#.. .....
        #.#.. #.#.. #.#.# .##.. .#... ...#. #.### .#... ...#. .#... #...# ..... ..#.. ..#.. ..#.. .#...
        .###. .#... .###. ..... #.... ....# #.#.# .#... ...#. ..#.. ..... ..... .#... ..#.. ...#. #.#.#
        ..#.# #.#.# #.#.# .##.. .#... ...#. #.### .#... ...#. ...#. ..... ..... ..#.. ..#.. ..#.. ...#.
        ####. #..#. ..#.. .##.. ..#.. ..#.. #.... .#... ...#. ....# ..... ..... ..#.. ..#.. ..#.. .....
        ..#.. .##.# ..... ..#.. ...#. .#... .#### .###. .###. ..... ..... ..... ...#. ..#.. .#... .....
        ..... ..... ..... .#... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... ..... .....
        """;

    static readonly byte[] Box = [0b11111, 0b10001, 0b10001, 0b10001, 0b10001, 0b10001, 0b11111, 0, 0];
    static readonly Dictionary<char, byte[]> Glyphs = Parse(Digits, Upper, Lower, Punctuation);

    /// <summary>True when <paramref name="c"/> has its own glyph (a space counts; anything else draws a box).</summary>
    public static bool HasGlyph(char c) => c == ' ' || Glyphs.ContainsKey(c);

    /// <summary>The 9 rows of a glyph, bit 4 = leftmost pixel; a box for a character the font lacks.</summary>
    public static ReadOnlySpan<byte> Glyph(char c) =>
        c == ' ' ? new byte[Rows] : Glyphs.TryGetValue(c, out byte[]? rows) ? rows : Box;

    /// <summary>Pixels from the left of the first glyph to the right of the last one's ink.</summary>
    public static int MeasureWidth(string text, int scale) =>
        text.Length == 0 ? 0 : (text.Length * Advance - 1) * scale;

    /// <summary>Draws <paramref name="text"/> left to right; (x, y) is the top-left corner of the first glyph's
    /// cell, so capitals fill rows y .. y + 7·scale - 1.</summary>
    public static void Draw(Canvas canvas, string text, int x, int y, int scale, Rgb color)
    {
        for (int i = 0; i < text.Length; i++)
        {
            ReadOnlySpan<byte> rows = Glyph(text[i]);
            for (int gy = 0; gy < Rows; gy++)
                for (int gx = 0; gx < GlyphWidth; gx++)
                    if ((rows[gy] >> (GlyphWidth - 1 - gx) & 1) != 0)
                        canvas.Fill(new Rect(x + (i * Advance + gx) * scale, y + gy * scale, scale, scale), color);
        }
    }

    /// <summary>Draws <paramref name="text"/> turned 90° anticlockwise, reading bottom to top (a y-axis label);
    /// (x, y) is the bottom-left corner: the text rises from y, and the glyph tops face left, at x.</summary>
    public static void DrawVertical(Canvas canvas, string text, int x, int y, int scale, Rgb color)
    {
        for (int i = 0; i < text.Length; i++)
        {
            ReadOnlySpan<byte> rows = Glyph(text[i]);
            for (int gy = 0; gy < Rows; gy++)
                for (int gx = 0; gx < GlyphWidth; gx++)
                    if ((rows[gy] >> (GlyphWidth - 1 - gx) & 1) != 0)
                        canvas.Fill(new Rect(x + gy * scale, y - (i * Advance + gx + 1) * scale, scale, scale), color);
        }
    }

    // Reads the pictures above: for each block, a name line then Rows picture lines, glyph i at column 6·i.
    static Dictionary<char, byte[]> Parse(params string[] blocks)
    {
        var glyphs = new Dictionary<char, byte[]>();
        foreach (string block in blocks)
        {
            string[] lines = block.Split('\n');
            if (lines.Length % (Rows + 1) != 0)
                throw new InvalidOperationException($"BitmapFont: a block has {lines.Length} lines, not 10 per row.");
            for (int start = 0; start < lines.Length; start += Rows + 1)
            {
                string names = lines[start];
                for (int i = 0; i * Advance < names.Length; i++)
                {
                    var rows = new byte[Rows];
                    for (int r = 0; r < Rows; r++)
                    {
                        string line = lines[start + 1 + r];
                        for (int gx = 0; gx < GlyphWidth; gx++)
                            if (line[i * Advance + gx] == '#')
                                rows[r] |= (byte)(1 << (GlyphWidth - 1 - gx));
                    }
                    if (!glyphs.TryAdd(names[i * Advance], rows))
                        throw new InvalidOperationException($"BitmapFont: '{names[i * Advance]}' is drawn twice.");
                }
            }
        }
        return glyphs;
    }
}
