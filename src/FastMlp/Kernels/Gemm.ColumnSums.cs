using System.Runtime.CompilerServices;

namespace FastMlp.Kernels;

// The bias gradient of WeightGradient: column sums of dy.
internal static partial class Gemm
{
    /// <summary>
    /// db[o] = (accumulate ? db[o] : 0) + sum_r dy[r * stride + o]: each column a chain of additions from zero over the rows
    /// in order, whatever its position. The chains are latency-bound (one dependent add per row), so up to 4 vectors of
    /// columns run side by side, and the columns past the last whole vector go through one masked vector (a lane-wise add
    /// rounds as the scalar add does) instead of one scalar chain each: with 10 outputs and 256 rows those ten chains
    /// had cost more than the whole weight product (measured, 256 x 32 x 10 on Zen 5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnSums<T, TVec>(ref float dy, ref float db, int rows, int outputs, nint stride, bool accumulate)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        int w = T.Width;
        int o = 0;
        for (; o <= outputs - 4 * w; o += 4 * w)
        {
            TVec s0 = T.Zero, s1 = T.Zero, s2 = T.Zero, s3 = T.Zero;
            ref float d = ref Unsafe.Add(ref dy, o);
            for (int r = 0; r < rows; r++)
            {
                s0 = T.Add(s0, T.Load(ref d));
                s1 = T.Add(s1, T.Load(ref Unsafe.Add(ref d, w)));
                s2 = T.Add(s2, T.Load(ref Unsafe.Add(ref d, 2 * w)));
                s3 = T.Add(s3, T.Load(ref Unsafe.Add(ref d, 3 * w)));
                d = ref Unsafe.Add(ref d, stride);
            }
            ref float bo = ref Unsafe.Add(ref db, o);
            StoreC2<T, TVec>(ref bo, s0, s1, accumulate);
            StoreC2<T, TVec>(ref Unsafe.Add(ref bo, 2 * w), s2, s3, accumulate);
        }
        for (; o <= outputs - 2 * w; o += 2 * w)
        {
            TVec s0 = T.Zero, s1 = T.Zero;
            ref float d = ref Unsafe.Add(ref dy, o);
            for (int r = 0; r < rows; r++)
            {
                s0 = T.Add(s0, T.Load(ref d));
                s1 = T.Add(s1, T.Load(ref Unsafe.Add(ref d, w)));
                d = ref Unsafe.Add(ref d, stride);
            }
            StoreC2<T, TVec>(ref Unsafe.Add(ref db, o), s0, s1, accumulate);
        }
        for (; o <= outputs - w; o += w)
        {
            TVec s = T.Zero;
            ref float d = ref Unsafe.Add(ref dy, o);
            for (int r = 0; r < rows; r++)
            {
                s = T.Add(s, T.Load(ref d));
                d = ref Unsafe.Add(ref d, stride);
            }
            StoreC1<T, TVec>(ref Unsafe.Add(ref db, o), s, accumulate);
        }
        if (o < outputs)
        {
            int count = outputs - o;
            TVec s = T.Zero;
            ref float d = ref Unsafe.Add(ref dy, o);
            for (int r = 0; r < rows; r++)
            {
                s = T.Add(s, T.LoadFirst(ref d, count));
                d = ref Unsafe.Add(ref d, stride);
            }
            NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref db, o), s, accumulate, count);
        }
    }
}
