// Quantizer: picks one palette of at most 256 colours for a whole video and maps every pixel to it.
// 1. If the video has at most `maxColors` distinct colours, they are the palette and the mapping is exact.
// 2. Otherwise median cut (Heckbert 1982) over a 5-bit-per-channel histogram: repeatedly split the box with the most
//    pixels x widest side at its weighted median, then take each box's mean colour (from exact 8-bit sums), and run
//    a few weighted k-means (Lloyd) passes over the histogram cells to pull the colours to their clusters.
// Pixels are mapped through a 32768-entry cell -> palette table filled on demand (nearest palette colour to the cell's
// mean); ordered dithering adds a 4x4 Bayer offset before the lookup.
namespace Spacetime.Media;

/// <summary>GIF dithering: none (flat colours, best for synthetic video) or a 4x4 ordered (Bayer) pattern.</summary>
public enum GifDither { None, Ordered }

internal sealed class Quantizer
{
    const int Cells = 1 << 15;                 // 5 bits per channel
    readonly byte[] palette;                   // (K, 3)
    readonly int count;                        // K
    readonly ColorTable? exact;                // colour -> index when the video has <= K colours
    readonly short[] cellToIndex;              // (32768) palette index per cell, -1 until first used
    readonly long[] cellSum;                   // (32768, 3) colour sums, to map a cell by its mean colour
    readonly int[] cellCount;                  // (32768)

    public ReadOnlySpan<byte> Palette => palette.AsSpan(0, count * 3);
    public int Count => count;
    public bool IsExact => exact != null;

    public Quantizer(ReadOnlySpan<byte> rgb, int maxColors = 256, int kMeansPasses = 2)
    {
        if (maxColors is < 2 or > 256)
            throw new ArgumentOutOfRangeException(nameof(maxColors), "a GIF palette has 2 to 256 colours");
        palette = new byte[maxColors * 3];
        cellToIndex = new short[Cells];
        cellToIndex.AsSpan().Fill(-1);
        cellSum = new long[Cells * 3];
        cellCount = new int[Cells];

        exact = DistinctColors(rgb, maxColors);
        if (exact != null)
        {
            for (int index = 0; index < exact.Count; index++)
            {
                int color = exact.Colors[index];
                (palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2]) =
                    ((byte)(color >> 16), (byte)(color >> 8), (byte)color);
            }
            count = Math.Max(exact.Count, 1);
            return;
        }

        for (int i = 0; i < rgb.Length; i += 3)
        {
            int cell = Cell(rgb[i], rgb[i + 1], rgb[i + 2]);
            cellCount[cell]++;
            cellSum[cell * 3] += rgb[i];
            cellSum[cell * 3 + 1] += rgb[i + 1];
            cellSum[cell * 3 + 2] += rgb[i + 2];
        }
        var used = new List<int>();
        for (int c = 0; c < Cells; c++)
            if (cellCount[c] > 0)
                used.Add(c);
        count = MedianCut(used.ToArray(), maxColors);
        for (int pass = 0; pass < kMeansPasses; pass++)
            KMeansPass(used);
    }

    /// <summary>Palette index of each pixel: indices[i] for pixel i of <paramref name="rgb"/> (H x W x 3).</summary>
    public void Map(ReadOnlySpan<byte> rgb, Span<byte> indices, int width, GifDither dither)
    {
        if (exact != null)
        {
            int lastColor = -1, lastIndex = 0;
            for (int i = 0, p = 0; i < rgb.Length; i += 3, p++)
            {
                int c = (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
                if (c != lastColor)
                    (lastColor, lastIndex) = (c, exact.Find(c));   // runs of one colour skip the lookup
                indices[p] = (byte)lastIndex;
            }
            return;
        }
        for (int i = 0, p = 0; i < rgb.Length; i += 3, p++)
        {
            int r = rgb[i], g = rgb[i + 1], b = rgb[i + 2];
            if (dither == GifDither.Ordered)
            {
                int offset = Bayer4[(p / width & 3) * 4 + (p % width & 3)] - 8;  // -8..7: half a 5-bit cell each way
                r = Math.Clamp(r + offset, 0, 255);
                g = Math.Clamp(g + offset, 0, 255);
                b = Math.Clamp(b + offset, 0, 255);
            }
            int cell = Cell(r, g, b);
            int index = cellToIndex[cell];
            if (index < 0)
                index = cellToIndex[cell] = (short)Nearest(CellColor(cell));
            indices[p] = (byte)index;
        }
    }

    static readonly int[] Bayer4 = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5];

    static int Cell(int r, int g, int b) => ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3);

    // Mean colour of a cell's pixels, or its centre when no pixel fell in it (dithered lookups).
    (int R, int G, int B) CellColor(int cell)
    {
        int n = cellCount[cell];
        if (n > 0)
            return ((int)(cellSum[cell * 3] / n), (int)(cellSum[cell * 3 + 1] / n), (int)(cellSum[cell * 3 + 2] / n));
        return (((cell >> 10) << 3) + 4, (((cell >> 5) & 31) << 3) + 4, ((cell & 31) << 3) + 4);
    }

    int Nearest((int R, int G, int B) c)
    {
        int best = 0, bestDistance = int.MaxValue;
        for (int k = 0; k < count; k++)
        {
            int dr = palette[k * 3] - c.R, dg = palette[k * 3 + 1] - c.G, db = palette[k * 3 + 2] - c.B;
            int d = dr * dr + dg * dg + db * db;
            if (d < bestDistance)
                (best, bestDistance) = (k, d);
        }
        return best;
    }

    static ColorTable? DistinctColors(ReadOnlySpan<byte> rgb, int maxColors)
    {
        var table = new ColorTable();
        int last = -1;
        for (int i = 0; i < rgb.Length; i += 3)
        {
            int c = (rgb[i] << 16) | (rgb[i + 1] << 8) | rgb[i + 2];
            if (c == last)
                continue;
            last = c;
            if (table.Find(c) < 0 && (table.Count == maxColors || !table.Add(c)))
                return null;
        }
        return table;
    }

    // A tiny open-addressing set of up to 256 colours (1024 slots), colour -> insertion index.
    sealed class ColorTable
    {
        readonly int[] keys = Enumerable.Repeat(-1, 1024).ToArray();
        readonly byte[] values = new byte[1024];
        public readonly int[] Colors = new int[256];
        public int Count;

        static int Slot(int c) => (int)((uint)c * 2654435761u >> 22);

        public int Find(int c)
        {
            for (int s = Slot(c); ; s = (s + 1) & 1023)
            {
                if (keys[s] == c) return values[s];
                if (keys[s] == -1) return -1;
            }
        }

        public bool Add(int c)
        {
            if (Count == 256)
                return false;
            int s = Slot(c);
            while (keys[s] != -1)
                s = (s + 1) & 1023;
            (keys[s], values[s]) = (c, (byte)Count);
            Colors[Count++] = c;
            return true;
        }
    }

    // Median cut over the used cells; writes box means into palette and returns how many boxes there are.
    int MedianCut(int[] cells, int maxColors)
    {
        var boxes = new List<(int Start, int Length)> { (0, cells.Length) };
        var stats = new List<(int Axis, long Score)> { Score(cells.AsSpan()) };   // measured once per box
        while (boxes.Count < maxColors)
        {
            int pick = -1;
            long bestScore = 0;
            for (int k = 0; k < boxes.Count; k++)
                if (stats[k].Score > bestScore)
                    (pick, bestScore) = (k, stats[k].Score);
            if (pick < 0)
                break;
            int pickAxis = stats[pick].Axis;
            var (start, length) = boxes[pick];
            Span<int> box = cells.AsSpan(start, length);
            int shift = 10 - 5 * pickAxis;
            box.Sort((a, b) => ((a >> shift) & 31) - ((b >> shift) & 31));
            long half = 0, total = 0;
            foreach (int c in box) total += cellCount[c];
            int split = 1;
            for (int i = 0; i < length - 1; i++)
            {
                half += cellCount[box[i]];
                split = i + 1;
                if (half * 2 >= total)
                    break;
            }
            boxes[pick] = (start, split);
            boxes.Add((start + split, length - split));
            stats[pick] = Score(cells.AsSpan(start, split));
            stats.Add(Score(cells.AsSpan(start + split, length - split)));
        }
        for (int k = 0; k < boxes.Count; k++)
        {
            long r = 0, g = 0, b = 0, n = 0;
            foreach (int c in cells.AsSpan(boxes[k].Start, boxes[k].Length))
            {
                r += cellSum[c * 3]; g += cellSum[c * 3 + 1]; b += cellSum[c * 3 + 2]; n += cellCount[c];
            }
            (palette[k * 3], palette[k * 3 + 1], palette[k * 3 + 2]) = ((byte)(r / n), (byte)(g / n), (byte)(b / n));
        }
        return boxes.Count;
    }

    // Which box to split next: pixels x widest extent (0 when the box cannot be split), and along which axis.
    (int Axis, long Score) Score(ReadOnlySpan<int> box)
    {
        var (axis, extent, pixels) = Measure(box);
        return (axis, box.Length > 1 ? extent * pixels : 0);
    }

    // The widest axis (0 = R, 1 = G, 2 = B) of a box, its extent in cells, and its pixel count.
    (int Axis, int Extent, long Pixels) Measure(ReadOnlySpan<int> box)
    {
        Span<int> lo = [31, 31, 31];
        Span<int> hi = [0, 0, 0];
        long pixels = 0;
        foreach (int c in box)
        {
            for (int a = 0; a < 3; a++)
            {
                int v = (c >> (10 - 5 * a)) & 31;
                lo[a] = Math.Min(lo[a], v);
                hi[a] = Math.Max(hi[a], v);
            }
            pixels += cellCount[c];
        }
        int axis = 0;
        for (int a = 1; a < 3; a++)
            if (hi[a] - lo[a] > hi[axis] - lo[axis])
                axis = a;
        return (axis, hi[axis] - lo[axis], pixels);
    }

    // One weighted Lloyd step: assign every used cell to its nearest colour, move each colour to its cells' mean.
    void KMeansPass(List<int> used)
    {
        var sums = new long[count * 4];
        foreach (int cell in used)
        {
            int k = Nearest(CellColor(cell));
            sums[k * 4] += cellSum[cell * 3];
            sums[k * 4 + 1] += cellSum[cell * 3 + 1];
            sums[k * 4 + 2] += cellSum[cell * 3 + 2];
            sums[k * 4 + 3] += cellCount[cell];
        }
        for (int k = 0; k < count; k++)
        {
            long n = sums[k * 4 + 3];
            if (n > 0)
                (palette[k * 3], palette[k * 3 + 1], palette[k * 3 + 2]) =
                    ((byte)(sums[k * 4] / n), (byte)(sums[k * 4 + 1] / n), (byte)(sums[k * 4 + 2] / n));
        }
    }
}
