using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

// The outer-product micro-kernels (a tile of C from a packed A tile and a B panel), their stores and the epilogue on a
// finished tile; the blocking and packing around them is in Gemm.Outer.cs.
internal static partial class Gemm
{
    /// <summary>T.TileRows rows x 2 vectors of C from a packed A tile; only the first <paramref name="rows"/> rows are stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OuterPacked2<T, TVec>(ref float a, ref float b, nint ldb, ref float c, nint ldc, int rows, int pn, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        int mr = T.TileRows;
        TVec c00 = T.Zero, c01 = T.Zero, c10 = T.Zero, c11 = T.Zero, c20 = T.Zero, c21 = T.Zero, c30 = T.Zero, c31 = T.Zero;
        TVec c40 = T.Zero, c41 = T.Zero, c50 = T.Zero, c51 = T.Zero, c60 = T.Zero, c61 = T.Zero, c70 = T.Zero, c71 = T.Zero;
        ref float ap = ref a;
        ref float bp = ref b;
        for (int p = 0; p < pn; p++)
        {
            TVec b0 = T.Load(ref bp);
            TVec b1 = T.Load(ref Unsafe.Add(ref bp, width));
            TVec av = T.Splat(ap);
            c00 = T.MulAdd(av, b0, c00);
            c01 = T.MulAdd(av, b1, c01);
            av = T.Splat(Unsafe.Add(ref ap, 1));
            c10 = T.MulAdd(av, b0, c10);
            c11 = T.MulAdd(av, b1, c11);
            av = T.Splat(Unsafe.Add(ref ap, 2));
            c20 = T.MulAdd(av, b0, c20);
            c21 = T.MulAdd(av, b1, c21);
            av = T.Splat(Unsafe.Add(ref ap, 3));
            c30 = T.MulAdd(av, b0, c30);
            c31 = T.MulAdd(av, b1, c31);
            if (mr > 4)
            {
                av = T.Splat(Unsafe.Add(ref ap, 4));
                c40 = T.MulAdd(av, b0, c40);
                c41 = T.MulAdd(av, b1, c41);
                av = T.Splat(Unsafe.Add(ref ap, 5));
                c50 = T.MulAdd(av, b0, c50);
                c51 = T.MulAdd(av, b1, c51);
            }
            if (mr > 6)
            {
                av = T.Splat(Unsafe.Add(ref ap, 6));
                c60 = T.MulAdd(av, b0, c60);
                c61 = T.MulAdd(av, b1, c61);
                av = T.Splat(Unsafe.Add(ref ap, 7));
                c70 = T.MulAdd(av, b0, c70);
                c71 = T.MulAdd(av, b1, c71);
            }
            ap = ref Unsafe.Add(ref ap, mr);
            bp = ref Unsafe.Add(ref bp, ldb);
        }
        StoreC2<T, TVec>(ref c, c00, c01, add);
        if (rows > 1) StoreC2<T, TVec>(ref Unsafe.Add(ref c, ldc), c10, c11, add);
        if (rows > 2) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 2 * ldc), c20, c21, add);
        if (rows > 3) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 3 * ldc), c30, c31, add);
        if (mr > 4)
        {
            if (rows > 4) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 4 * ldc), c40, c41, add);
            if (rows > 5) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 5 * ldc), c50, c51, add);
        }
        if (mr > 6)
        {
            if (rows > 6) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 6 * ldc), c60, c61, add);
            if (rows > 7) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 7 * ldc), c70, c71, add);
        }
    }

    /// <summary>T.TileRows rows x 1 vector of C (the column tail of <see cref="OuterPacked2"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OuterPacked1<T, TVec>(ref float a, ref float b, nint ldb, ref float c, nint ldc, int rows, int pn, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int mr = T.TileRows;
        TVec c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero, c4 = T.Zero, c5 = T.Zero, c6 = T.Zero, c7 = T.Zero;
        ref float ap = ref a;
        ref float bp = ref b;
        for (int p = 0; p < pn; p++)
        {
            TVec b0 = T.Load(ref bp);
            c0 = T.MulAdd(T.Splat(ap), b0, c0);
            c1 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 1)), b0, c1);
            c2 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 2)), b0, c2);
            c3 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 3)), b0, c3);
            if (mr > 4)
            {
                c4 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 4)), b0, c4);
                c5 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 5)), b0, c5);
            }
            if (mr > 6)
            {
                c6 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 6)), b0, c6);
                c7 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 7)), b0, c7);
            }
            ap = ref Unsafe.Add(ref ap, mr);
            bp = ref Unsafe.Add(ref bp, ldb);
        }
        StoreC1<T, TVec>(ref c, c0, add);
        if (rows > 1) StoreC1<T, TVec>(ref Unsafe.Add(ref c, ldc), c1, add);
        if (rows > 2) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 2 * ldc), c2, add);
        if (rows > 3) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 3 * ldc), c3, add);
        if (mr > 4)
        {
            if (rows > 4) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 4 * ldc), c4, add);
            if (rows > 5) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 5 * ldc), c5, add);
        }
        if (mr > 6)
        {
            if (rows > 6) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 6 * ldc), c6, add);
            if (rows > 7) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 7 * ldc), c7, add);
        }
    }

    /// <summary>
    /// The epilogue on a finished tile of C: rows x (<paramref name="vectors"/> vectors), C = epi(Y, C), right after the tile's
    /// last store (the loads are forwarded from those stores or hit L1). Kept out of line on purpose: inlined into the
    /// micro-kernel, its extra live values made the JIT spill the accumulators inside the reduction loop (measured).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void EpilogueTile<T, TVec, TEpi>(ref float c, ref float y, nint ldc, int rows, int vectors, TEpi epi)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp
    {
        int width = T.Width;
        for (int m = 0; m < rows; m++)
        {
            ref float cr = ref Unsafe.Add(ref c, m * ldc);
            ref float yr = ref Unsafe.Add(ref y, m * ldc);
            T.Store(T.ApplyBinary(epi, T.Load(ref yr), T.Load(ref cr)), ref cr);
            if (vectors > 1)
            {
                ref float c1 = ref Unsafe.Add(ref cr, width);
                T.Store(T.ApplyBinary(epi, T.Load(ref Unsafe.Add(ref yr, width)), T.Load(ref c1)), ref c1);
            }
        }
    }

    /// <summary>
    /// The epilogue on the <paramref name="count"/> (&lt; T.Width) finished columns of one row past the last whole vector:
    /// through a zero-padded vector, so they get the vector operator as every other element does (the scalar
    /// <see cref="IBinaryOp"/> overloads compute in double and would not match the two-pass result).
    /// </summary>
    [SkipLocalsInit]
    private static void EpilogueTail<T, TVec, TEpi>(ref float c, ref float y, int count, TEpi epi)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp
    {
        int width = T.Width;
        Span<float> buf = stackalloc float[2 * width];
        buf.Clear();
        MemoryMarshal.CreateReadOnlySpan(ref y, count).CopyTo(buf);
        MemoryMarshal.CreateReadOnlySpan(ref c, count).CopyTo(buf.Slice(width));
        ref float pb = ref MemoryMarshal.GetReference(buf);
        T.Store(T.ApplyBinary(epi, T.Load(ref pb), T.Load(ref Unsafe.Add(ref pb, width))), ref pb);
        buf.Slice(0, count).CopyTo(MemoryMarshal.CreateSpan(ref c, count));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreC2<T, TVec>(ref float c, TVec v0, TVec v1, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        ref float c1 = ref Unsafe.Add(ref c, T.Width);
        if (add)
        {
            v0 = T.Add(T.Load(ref c), v0);
            v1 = T.Add(T.Load(ref c1), v1);
        }
        T.Store(v0, ref c);
        T.Store(v1, ref c1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreC1<T, TVec>(ref float c, TVec v, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        if (add) v = T.Add(T.Load(ref c), v);
        T.Store(v, ref c);
    }
}
