// ByteLevel: the two fixed pieces of a byte-level BPE tokenizer (as GPT-2's, Radford et al. 2019).
//
// 1. Pre-tokenization: text is cut into pieces before any merge, so a merge never crosses a word boundary. A piece
//    is one run of letters (with combining marks), one run of digits, or one run of other visible characters
//    (punctuation, symbols, emoji), each taking along ONE space just before it: the leading-space marker, so " red"
//    (a word after a space) and "red" (at the start) are different tokens. Other whitespace forms pieces of its own.
//    Runs are cut every MaxPieceChars characters (at rune boundaries) so that a huge word cannot make the
//    quadratic merge loop slow. Concatenating the pieces gives back the text exactly.
// 2. Token names: each byte is shown as one printable character (printable Latin-1 as itself, the other 68 bytes,
//    space included, shifted to U+0100..U+0143, so a space is 'Ġ'), which keeps tokenizer.json readable: " red" is
//    "Ġred".
using System.Globalization;
using System.Text;

namespace Spacetime.Models.Text;

/// <summary>Pre-tokenization and byte names of the byte-level BPE tokenizer.</summary>
internal static class ByteLevel
{
    /// <summary>Longest piece in UTF-16 chars; longer runs are cut (a cap on the cost of merging one piece).</summary>
    internal const int MaxPieceChars = 64;

    enum Kind { Space, Letter, Digit, Other }

    /// <summary>Adds the (start, length) of each piece of <paramref name="text"/> to <paramref name="pieces"/>.
    /// </summary>
    internal static void Split(string text, List<(int Start, int Length)> pieces)
    {
        int i = 0, n = text.Length;
        while (i < n)
        {
            int start = i;
            if (KindAt(text, i, out _) == Kind.Space)
            {
                int j = i;
                while (j < n && KindAt(text, j, out int w) == Kind.Space && j - i < MaxPieceChars) j += w;
                bool marker = j < n && text[j - 1] == ' ' && KindAt(text, j, out _) != Kind.Space;
                if (!marker) { pieces.Add((i, j - i)); i = j; continue; }
                if (j - 1 > i) pieces.Add((i, j - 1 - i));          // the run without its last space
                start = j - 1;                                       // the last space leads the next word
                i = j;
            }
            var kind = KindAt(text, i, out _);
            while (i < n && KindAt(text, i, out int w) == kind && i - start < MaxPieceChars) i += w;
            pieces.Add((start, i - start));
        }
    }

    /// <summary>The pieces of <paramref name="text"/> as strings.</summary>
    internal static List<string> Pieces(string text)
    {
        var spans = new List<(int, int)>();
        Split(text, spans);
        return spans.Select(s => text.Substring(s.Item1, s.Item2)).ToList();
    }

    // The class of the rune at text[i], and its width in chars (2 for a surrogate pair; 1 for a lone surrogate,
    // which UTF-8 encoding later turns into U+FFFD). ASCII, nearly all of a caption, comes from a table.
    static Kind KindAt(string text, int i, out int width)
    {
        width = 1;
        if (text[i] < 128) return AsciiKind[text[i]];
        Rune.DecodeFromUtf16(text.AsSpan(i), out var r, out width);
        if (width == 0) width = 1;
        return KindOf(r);
    }

    static Kind KindOf(Rune r)
    {
        if (Rune.IsWhiteSpace(r)) return Kind.Space;
        if (Rune.IsLetter(r)) return Kind.Letter;
        if (Rune.IsDigit(r) || Rune.IsNumber(r)) return Kind.Digit;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.EnclosingMark ? Kind.Letter : Kind.Other;
    }

    static readonly Kind[] AsciiKind = Enumerable.Range(0, 128).Select(c => KindOf(new Rune(c))).ToArray();

    static readonly char[] ByteToChar = MakeByteToChar();
    static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    static char[] MakeByteToChar()
    {
        var map = new char[256];
        int shifted = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= 0x21 and <= 0x7E or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(0x100 + shifted++);
        }
        return map;
    }

    /// <summary>The printable name of a byte string ("Ġred" for " red").</summary>
    internal static string Name(ReadOnlySpan<byte> bytes)
    {
        var sb = new StringBuilder(bytes.Length);
        foreach (byte b in bytes) sb.Append(ByteToChar[b]);
        return sb.ToString();
    }

    /// <summary>The bytes named by <paramref name="name"/>, or null when a character is not a byte name.</summary>
    internal static byte[]? Bytes(string name)
    {
        var bytes = new byte[name.Length];
        for (int i = 0; i < name.Length; i++)
            if (!CharToByte.TryGetValue(name[i], out bytes[i])) return null;
        return bytes;
    }
}
