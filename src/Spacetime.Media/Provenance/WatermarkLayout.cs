// WatermarkLayout: the secret-keyed pattern that Watermark embeds and detects, and its settings.
//
// The pattern is one square tile of n x n cells (cell = CellPx x CellPx pixels, tile = n * CellPx pixels), repeated
// over the whole frame from pixel (0, 0) and added to luma in every frame. A keyed shuffle splits the N = n * n cells:
//   sync cells  (SyncFraction of N)       value = sign[j]                      known to the detector: finds the shift
//   bit cells   (the rest, PayloadBits     value = sign[j] * (bit ? +1 : -1)    each bit spread over N_bit cells
//                groups of equal size)
// so every cell is +1 or -1 (full energy everywhere) and the detector, knowing sign[] and the grouping, can first find
// where the tile starts from the sync cells alone and then read each bit as the sign of its cells' correlation.
namespace Spacetime.Media.Provenance;

/// <summary>Watermark settings. The defaults are what `generate` embeds and `detect` looks for; changing any of
/// them (Key included) makes a different, mutually invisible watermark.</summary>
/// <param name="CellPx">Side of one pattern cell in pixels: 4 survives H.264 at CRF 35 on flat scenes and still has
/// 2-pixel cells after halving the size (docs/provenance.md has the measurements).</param>
/// <param name="TileCells">Cells per tile side: 16 x 16 = 256 cells, a 64-pixel tile, so a 128 x 128 video holds four
/// tiles and a crop or a half-size copy still holds whole tiles.</param>
/// <param name="Amplitude">Luma levels (of 255) added or subtracted at every pixel, dithered between the two nearest
/// integers: 2.4 gives a PSNR of 40.35 dB on any video (less change where pixels clip at 0 or 255).</param>
/// <param name="SyncFraction">Share of cells that carry the known sync signs (the rest carry the payload).</param>
/// <param name="Key">Seeds the shuffle and the signs; a detector with another key sees no mark.</param>
/// <param name="Perceptual">True (the default): the step at each pixel follows a just-noticeable-difference model (at
/// most one JND, 2 levels, on flat areas; up to 6 on edges and texture) with Amplitude as its root-mean-square ceiling
/// per frame: no flat pixel changes by more than one unit of CIE lightness, and 96 of 100 world clips are found after
/// H.264 CRF 35 (docs/provenance.md). False: Amplitude at every pixel (the first version: 40% of flat pixels over one
/// unit, 98 of 100 at CRF 35). Detection is the same for both.</param>
public sealed record WatermarkSettings(int CellPx = 4, int TileCells = 16, double Amplitude = 2.4,
                                       double SyncFraction = 0.5, ulong Key = WatermarkSettings.DefaultKey,
                                       bool Perceptual = true)
{
    /// <summary>The key Spacetime's outputs are marked with ("SPACETIM" in ASCII).</summary>
    public const ulong DefaultKey = 0x5350_4143_4554_494D;

    /// <summary>Bits of payload carried by the mark.</summary>
    public const int PayloadBits = 32;

    /// <summary>Tile side in pixels.</summary>
    public int TilePx => CellPx * TileCells;
}

/// <summary>The cell roles and signs of one key: which cells are sync, which carry bit k, and each cell's sign.</summary>
public sealed class WatermarkLayout
{
    /// <summary>The settings this layout was made from.</summary>
    public WatermarkSettings Settings { get; }
    /// <summary>Cells per tile side (n).</summary>
    public int N => Settings.TileCells;
    /// <summary>+1 or -1 per cell, row-major (n * n).</summary>
    public sbyte[] Sign { get; }
    /// <summary>Per cell: -1 for a sync cell, else the payload bit (0..31) it carries.</summary>
    public int[] Role { get; }
    /// <summary>Indices of the sync cells.</summary>
    public int[] SyncCells { get; }
    /// <summary>Indices of the cells of each payload bit.</summary>
    public int[][] BitCells { get; }

    /// <summary>Builds the layout for <paramref name="settings"/> (deterministic in the key).</summary>
    public WatermarkLayout(WatermarkSettings settings)
    {
        int cells = settings.TileCells * settings.TileCells;
        int perBit = (int)((cells - Math.Round(cells * settings.SyncFraction)) / WatermarkSettings.PayloadBits);
        if (settings.CellPx < 1 || settings.TileCells < 2 || perBit < 1 || !(settings.Amplitude > 0))
            throw new ArgumentException($"WatermarkSettings: {settings} leaves no cells for the payload or sync.");
        Settings = settings;
        var rng = new SplitMix(settings.Key);
        var order = Enumerable.Range(0, cells).ToArray();
        for (int i = cells - 1; i > 0; i--)                  // Fisher-Yates shuffle of the cells
        {
            int k = (int)(rng.Next() % (ulong)(i + 1));
            (order[i], order[k]) = (order[k], order[i]);
        }
        Sign = new sbyte[cells];
        for (int j = 0; j < cells; j++) Sign[j] = (rng.Next() & 1) == 0 ? (sbyte)1 : (sbyte)-1;
        Role = new int[cells];
        int bitCells = perBit * WatermarkSettings.PayloadBits;
        BitCells = new int[WatermarkSettings.PayloadBits][];
        for (int b = 0; b < WatermarkSettings.PayloadBits; b++)
        {
            BitCells[b] = order.AsSpan(b * perBit, perBit).ToArray();
            foreach (int j in BitCells[b]) Role[j] = b;
        }
        SyncCells = order[bitCells..];                       // every cell not given to a bit is sync
        foreach (int j in SyncCells) Role[j] = -1;
    }

    /// <summary>The +1/-1 value of every cell for <paramref name="payload"/> (bit k is (payload >> k) &amp; 1).</summary>
    public sbyte[] CellValues(uint payload)
    {
        var values = new sbyte[Sign.Length];
        for (int j = 0; j < values.Length; j++)
            values[j] = Role[j] < 0 || ((payload >> Role[j]) & 1) == 1 ? Sign[j] : (sbyte)-Sign[j];
        return values;
    }

    /// <summary>SplitMix64: a tiny, well-mixed generator; the layout must not depend on System.Random's algorithm.</summary>
    struct SplitMix(ulong state)
    {
        public ulong Next()
        {
            ulong z = state += 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            return z ^ (z >> 31);
        }
    }
}
