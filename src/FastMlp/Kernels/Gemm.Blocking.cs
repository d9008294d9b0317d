namespace FastMlp.Kernels;

// Block sizes of the batched kernels: how many rows (or columns) of an operand one cache-resident block holds.
internal static partial class Gemm
{
    /// <summary>
    /// The size of the blocks that cut <paramref name="count"/> items: at most <paramref name="most"/> (rounded down to a
    /// multiple of <paramref name="unit"/>, at least one unit), then evened out over the blocks the count needs, so that the
    /// last block is not a sliver that pays a whole sweep of the other operand for a few items. Every block but the last
    /// has this size; the last is no larger. Results never depend on it: each kernel sums an element in the same order
    /// whichever block holds it.
    /// </summary>
    private static int EvenBlock(int count, int most, int unit)
    {
        most = Math.Max(unit, most / unit * unit);
        int blocks = Math.Max(1, (count + most - 1) / most);
        int even = (count + blocks - 1) / blocks;
        return Math.Min(most, (even + unit - 1) / unit * unit);
    }

    /// <summary>
    /// Rows of X per block of a batched Forward: as many as fill <see cref="XBlockBytes"/> at the given row stride, a
    /// multiple of T.DotRows (<paramref name="fr"/>), evened out (<see cref="EvenBlock"/>).
    /// </summary>
    private static int ForwardRowBlock(int fr, int rows, int stride) =>
        EvenBlock(rows, XBlockBytes / sizeof(float) / Math.Max(stride, 1), fr);
}
