using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

// The micro-kernel of the narrow outer product (Gemm.Narrow.cs), a tile of TRows rows x TVectors vectors of C (the last one
// masked where it holds the column tail) from an A panel read with a fixed step per reduction index and B read in place;
// and the masked column tail of the tiled and one-row kernels.
internal static partial class Gemm
{
    /// <summary>
    /// <paramref name="blocks"/> row blocks (A from a + t * <paramref name="ablock"/>, C from c + t * R * ldc) of
    /// <paramref name="groups"/> tiles side by side, each TRows.Value rows x TVectors.Value (1 to 4) vectors of C, from
    /// reduction indices 0..pn-1: row r's broadcast at a[p * astep + r * arow], the vectors of tile g at
    /// b[p * ldb + (g * TVectors.Value + v) * Width]; with TLast <see cref="MaskedLast"/> (one tile, the last) only the
    /// first <paramref name="count"/> lanes of its last vector are read and written. One call per column block, chunk and
    /// tile width, so that the call and its set-up are not paid per tile (short reductions: a 10-step tile is about 80
    /// cycles of multiply-adds). Each element is a chain of T.MulAdd from zero over p in order, exactly as
    /// <see cref="OuterPacked2"/> and <see cref="NarrowTail"/> sum it; only the first <paramref name="rows"/> rows are
    /// stored (added to C when <paramref name="add"/>), and on the <paramref name="final"/> chunk of a fused product the
    /// epilogue is applied to them with Y (<paramref name="y"/>, laid out as C). Both counts are type arguments, so each shape is its own method
    /// with the unused accumulators folded away (R x V &lt;= 24 of Avx512's 32 registers, 12 of Avx2's 16, plus V loads and one
    /// broadcast; R &lt;= 10).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NarrowTiles<T, TVec, TRows, TVectors, TLayout, TEpi, TLast>(ref float a, nint arow, nint astep, nint ablock, int blocks,
        ref float b, nint ldb, ref float c, ref float y, nint ldc, int rows, int pn, int groups, bool add, bool final, TEpi epi, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TRows : struct, IConstant where TVectors : struct, IConstant
        where TLayout : struct, IConstant where TEpi : struct, IBinaryOp where TLast : struct, IConstant
    {
        // Row r's value of step p: a[p * astep + r] when TLayout is RowsAdjacent (packed, or WeightGradient's dy), else
        // a[p * astep + r * arow] (InputGradient's dy read in place: one row of dy per row of the tile).
        if (TLayout.Value == RowsAdjacent.Value) arow = 1;
        int w = T.Width;
        int R = TRows.Value;
        int V = TVectors.Value;
        Debug.Assert(R <= 10 && (V <= 2 || R <= 6 || (V == 3 && R <= 8)) && R * V <= NarrowAccumulators<T>(),
            "The tile must fit the accumulators it names, and the path's registers.");
        TVec mask = FirstLanes<TVec, TLast>(count);
        for (int t = 0; t < blocks; t++)
        {
            ref float at = ref Unsafe.Add(ref a, t * ablock);
            ref float ct = ref Unsafe.Add(ref c, t * R * ldc);
            ref float yt = ref Unsafe.Add(ref y, t * R * ldc);
            for (int g = 0; g < groups; g++)
            {
                ref float cg = ref Unsafe.Add(ref ct, g * V * w);
                TVec c00 = T.Zero, c01 = T.Zero, c02 = T.Zero, c03 = T.Zero, c10 = T.Zero, c11 = T.Zero, c12 = T.Zero, c13 = T.Zero;
                TVec c20 = T.Zero, c21 = T.Zero, c22 = T.Zero, c23 = T.Zero, c30 = T.Zero, c31 = T.Zero, c32 = T.Zero, c33 = T.Zero;
                TVec c40 = T.Zero, c41 = T.Zero, c42 = T.Zero, c43 = T.Zero, c50 = T.Zero, c51 = T.Zero, c52 = T.Zero, c53 = T.Zero;
                TVec c60 = T.Zero, c61 = T.Zero, c62 = T.Zero, c70 = T.Zero, c71 = T.Zero, c72 = T.Zero;
                TVec c80 = T.Zero, c81 = T.Zero, c90 = T.Zero, c91 = T.Zero;
                ref float ap = ref at;
                ref float bp = ref Unsafe.Add(ref b, g * V * w);
                for (int p = 0; p < pn; p++)
                {
                    TVec b0 = NarrowLoad<T, TVec, TVectors, TLast>(ref bp, 0, mask);
                    TVec b1 = V > 1 ? NarrowLoad<T, TVec, TVectors, TLast>(ref bp, 1, mask) : T.Zero;
                    TVec b2 = V > 2 ? NarrowLoad<T, TVec, TVectors, TLast>(ref bp, 2, mask) : T.Zero;
                    TVec b3 = V > 3 ? NarrowLoad<T, TVec, TVectors, TLast>(ref bp, 3, mask) : T.Zero;
                    TVec s = T.Splat(ap);
                    c00 = T.MulAdd(s, b0, c00);
                    if (V > 1) c01 = T.MulAdd(s, b1, c01);
                    if (V > 2) c02 = T.MulAdd(s, b2, c02);
                    if (V > 3) c03 = T.MulAdd(s, b3, c03);
                    if (R > 1)
                    {
                        s = T.Splat(Unsafe.Add(ref ap, 1 * arow));
                        c10 = T.MulAdd(s, b0, c10);
                        if (V > 1) c11 = T.MulAdd(s, b1, c11);
                        if (V > 2) c12 = T.MulAdd(s, b2, c12);
                        if (V > 3) c13 = T.MulAdd(s, b3, c13);
                    }
                    if (R > 2)
                    {
                        s = T.Splat(Unsafe.Add(ref ap, 2 * arow));
                        c20 = T.MulAdd(s, b0, c20);
                        if (V > 1) c21 = T.MulAdd(s, b1, c21);
                        if (V > 2) c22 = T.MulAdd(s, b2, c22);
                        if (V > 3) c23 = T.MulAdd(s, b3, c23);
                    }
                    if (R > 3)
                    {
                        s = T.Splat(Unsafe.Add(ref ap, 3 * arow));
                        c30 = T.MulAdd(s, b0, c30);
                        if (V > 1) c31 = T.MulAdd(s, b1, c31);
                        if (V > 2) c32 = T.MulAdd(s, b2, c32);
                        if (V > 3) c33 = T.MulAdd(s, b3, c33);
                    }
                    if (R > 4)
                    {
                        s = T.Splat(Unsafe.Add(ref ap, 4 * arow));
                        c40 = T.MulAdd(s, b0, c40);
                        if (V > 1) c41 = T.MulAdd(s, b1, c41);
                        if (V > 2) c42 = T.MulAdd(s, b2, c42);
                        if (V > 3) c43 = T.MulAdd(s, b3, c43);
                    }
                    if (R > 5)
                    {
                        s = T.Splat(Unsafe.Add(ref ap, 5 * arow));
                        c50 = T.MulAdd(s, b0, c50);
                        if (V > 1) c51 = T.MulAdd(s, b1, c51);
                        if (V > 2) c52 = T.MulAdd(s, b2, c52);
                        if (V > 3) c53 = T.MulAdd(s, b3, c53);
                    }
                    // Rows 6 and 7 exist with at most 3 vectors, rows 8 and 9 with at most 2 (the 24-accumulator budget).
                    if (R > 6)
                    {
                        s = T.Splat(Unsafe.Add(ref ap, 6 * arow));
                        c60 = T.MulAdd(s, b0, c60);
                        if (V > 1) c61 = T.MulAdd(s, b1, c61);
                        if (V > 2) c62 = T.MulAdd(s, b2, c62);
                        s = T.Splat(Unsafe.Add(ref ap, 7 * arow));
                        c70 = T.MulAdd(s, b0, c70);
                        if (V > 1) c71 = T.MulAdd(s, b1, c71);
                        if (V > 2) c72 = T.MulAdd(s, b2, c72);
                    }
                    if (R > 8)
                    {
                        s = T.Splat(Unsafe.Add(ref ap, 8 * arow));
                        c80 = T.MulAdd(s, b0, c80);
                        if (V > 1) c81 = T.MulAdd(s, b1, c81);
                        s = T.Splat(Unsafe.Add(ref ap, 9 * arow));
                        c90 = T.MulAdd(s, b0, c90);
                        if (V > 1) c91 = T.MulAdd(s, b1, c91);
                    }
                    ap = ref Unsafe.Add(ref ap, astep);
                    bp = ref Unsafe.Add(ref bp, ldb);
                }
                NarrowStore<T, TVec, TVectors, TLast>(ref cg, c00, c01, c02, c03, add, count);
                if (R > 1 && rows > 1) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, ldc), c10, c11, c12, c13, add, count);
                if (R > 2 && rows > 2) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 2 * ldc), c20, c21, c22, c23, add, count);
                if (R > 3 && rows > 3) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 3 * ldc), c30, c31, c32, c33, add, count);
                if (R > 4 && rows > 4) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 4 * ldc), c40, c41, c42, c43, add, count);
                if (R > 5 && rows > 5) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 5 * ldc), c50, c51, c52, c53, add, count);
                if (R > 6 && rows > 6) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 6 * ldc), c60, c61, c62, c62, add, count);
                if (R > 7 && rows > 7) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 7 * ldc), c70, c71, c72, c72, add, count);
                if (R > 8 && rows > 8) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 8 * ldc), c80, c81, c80, c81, add, count);
                if (R > 9 && rows > 9) NarrowStore<T, TVec, TVectors, TLast>(ref Unsafe.Add(ref cg, 9 * ldc), c90, c91, c90, c91, add, count);
                // The last chunk of a fused product: the derivative on the finished vectors, in 2-vector pieces, then on the tail.
                if (typeof(TEpi) != typeof(NoDerivativeOp) && final)
                {
                    int whole = TLast.Value == MaskedLast.Value ? V - 1 : V;
                    for (int v = 0; v < whole; v += 2)
                        EpilogueTile<T, TVec, TEpi>(ref Unsafe.Add(ref cg, v * w), ref Unsafe.Add(ref yt, g * V * w + v * w), ldc, rows, Math.Min(2, whole - v), epi);
                    if (TLast.Value == MaskedLast.Value)
                        for (int m = 0; m < rows; m++)
                            EpilogueTail<T, TVec, TEpi>(ref Unsafe.Add(ref cg, m * ldc + whole * w), ref Unsafe.Add(ref yt, m * ldc + g * V * w + whole * w),
                                count, epi);
                }
            }
        }
    }

    /// <summary>
    /// Vector <paramref name="v"/> of a narrow tile's step: loaded whole, or, for the last vector of a tile whose TLast is
    /// <see cref="MaskedLast"/>, the lanes of <paramref name="mask"/> (<see cref="FirstLanes"/>: the column tail; zeros in the
    /// others, nothing past it read).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec NarrowLoad<T, TVec, TVectors, TLast>(ref float b, int v, TVec mask)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TVectors : struct, IConstant where TLast : struct, IConstant
    {
        ref float p = ref Unsafe.Add(ref b, v * T.Width);
        if (TLast.Value != MaskedLast.Value || v != TVectors.Value - 1)
            return T.Load(ref p);
        // The narrow kernel runs on these two paths only; the typeof tests are JIT-time constants.
        if (typeof(TVec) == typeof(Vector512<float>))
            return (TVec)(object)VectorMath.LoadMasked(ref p, (Vector512<float>)(object)mask);
        if (typeof(TVec) == typeof(Vector256<float>))
            return (TVec)(object)VectorMath.LoadMasked(ref p, (Vector256<float>)(object)mask);
        throw new NotSupportedException($"No narrow kernel for {typeof(T).Name}.");
    }

    /// <summary>
    /// The mask of a tile's masked last vector, lanes 0..count-1 set, made once per tile call so that the step loop only
    /// loads through it (<see cref="IGemvSimd{TVec}.LoadFirst"/> rebuilt it at every step); zero when the tile has none.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec FirstLanes<TVec, TLast>(int count) where TVec : struct where TLast : struct, IConstant
    {
        if (TLast.Value != MaskedLast.Value)
            return default;
        if (typeof(TVec) == typeof(Vector512<float>))
            return (TVec)(object)Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();
        if (typeof(TVec) == typeof(Vector256<float>))
            return (TVec)(object)Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();
        throw new NotSupportedException($"No narrow kernel for {typeof(TVec).Name}.");
    }

    /// <summary>
    /// One row of a narrow tile: its TVectors.Value vectors stored, or added to C (the chunk partials in order); with TLast
    /// <see cref="MaskedLast"/>, only the first <paramref name="count"/> lanes of the last one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NarrowStore<T, TVec, TVectors, TLast>(ref float c, TVec v0, TVec v1, TVec v2, TVec v3, bool add, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TVectors : struct, IConstant where TLast : struct, IConstant
    {
        int w = T.Width;
        int V = TVectors.Value;
        bool masked = TLast.Value == MaskedLast.Value;
        int whole = masked ? V - 1 : V;
        if (whole == 1)
            StoreC1<T, TVec>(ref c, v0, add);
        else if (whole > 1)
            StoreC2<T, TVec>(ref c, v0, v1, add);
        if (whole == 3) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 2 * w), v2, add);
        if (whole > 3) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 2 * w), v2, v3, add);
        if (masked)
            NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, whole * w), V == 1 ? v0 : V == 2 ? v1 : V == 3 ? v2 : v3, add, count);
    }

    /// <summary>
    /// The last <paramref name="count"/> (&lt; Width) columns of TRows.Value rows of C, through masked vectors, for the tiled
    /// kernel and the one-row kernels: each lane a chain of <see cref="IGemmSimd{TVec}.MulAdd(TVec, TVec, TVec)"/> from zero over p in
    /// order, then stored or added to C, as a narrow tile sums its masked last vector and a one-column tail its column
    /// (<see cref="IGemmSimd{TVec}.MulAdd(float, float, float)"/>, the same operation on one lane), so the bits are the same;
    /// nothing past the tail is read or written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NarrowTail<T, TVec, TRows>(ref float a, nint arow, nint astep, ref float b, nint ldb, ref float c, nint ldc,
        int rows, int pn, bool add, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TRows : struct, IConstant
    {
        int R = TRows.Value;
        TVec c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero, c4 = T.Zero, c5 = T.Zero;
        TVec c6 = T.Zero, c7 = T.Zero, c8 = T.Zero, c9 = T.Zero;
        ref float ap = ref a;
        ref float bp = ref b;
        for (int p = 0; p < pn; p++)
        {
            TVec bv = T.LoadFirst(ref bp, count);
            c0 = T.MulAdd(T.Splat(ap), bv, c0);
            if (R > 1) c1 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 1 * arow)), bv, c1);
            if (R > 2) c2 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 2 * arow)), bv, c2);
            if (R > 3) c3 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 3 * arow)), bv, c3);
            if (R > 4) c4 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 4 * arow)), bv, c4);
            if (R > 5) c5 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 5 * arow)), bv, c5);
            if (R > 6) c6 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 6 * arow)), bv, c6);
            if (R > 7) c7 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 7 * arow)), bv, c7);
            if (R > 8) c8 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 8 * arow)), bv, c8);
            if (R > 9) c9 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, 9 * arow)), bv, c9);
            ap = ref Unsafe.Add(ref ap, astep);
            bp = ref Unsafe.Add(ref bp, ldb);
        }
        NarrowStoreFirst<T, TVec>(ref c, c0, add, count);
        if (R > 1 && rows > 1) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, ldc), c1, add, count);
        if (R > 2 && rows > 2) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 2 * ldc), c2, add, count);
        if (R > 3 && rows > 3) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 3 * ldc), c3, add, count);
        if (R > 4 && rows > 4) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 4 * ldc), c4, add, count);
        if (R > 5 && rows > 5) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 5 * ldc), c5, add, count);
        if (R > 6 && rows > 6) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 6 * ldc), c6, add, count);
        if (R > 7 && rows > 7) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 7 * ldc), c7, add, count);
        if (R > 8 && rows > 8) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 8 * ldc), c8, add, count);
        if (R > 9 && rows > 9) NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref c, 9 * ldc), c9, add, count);
    }

    /// <summary>The first <paramref name="count"/> lanes stored, or added to C: as the scalar tail's <c>add ? c + sum : sum</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NarrowStoreFirst<T, TVec>(ref float c, TVec v, bool add, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        if (add) v = T.Add(T.LoadFirst(ref c, count), v);
        T.StoreFirst(v, ref c, count);
    }
}

internal readonly struct Rows5 : IConstant { public static int Value => 5; }
internal readonly struct Rows6 : IConstant { public static int Value => 6; }
internal readonly struct Rows8 : IConstant { public static int Value => 8; }
internal readonly struct Rows10 : IConstant { public static int Value => 10; }
/// <summary>A narrow tile's A values of one step are adjacent (row stride 1, folded by the JIT).</summary>
internal readonly struct RowsAdjacent : IConstant { public static int Value => 1; }
/// <summary>A narrow tile's A values of one step are a runtime row stride apart.</summary>
internal readonly struct RowsStrided : IConstant { public static int Value => 0; }
internal readonly struct Vectors1 : IConstant { public static int Value => 1; }
internal readonly struct Vectors2 : IConstant { public static int Value => 2; }
internal readonly struct Vectors3 : IConstant { public static int Value => 3; }
internal readonly struct Vectors4 : IConstant { public static int Value => 4; }
internal readonly struct Vectors8 : IConstant { public static int Value => 8; }
/// <summary>A narrow tile whose vectors are all whole.</summary>
internal readonly struct WholeLast : IConstant { public static int Value => 0; }
/// <summary>A narrow tile whose last vector is the column tail (fewer lanes than a vector, masked).</summary>
internal readonly struct MaskedLast : IConstant { public static int Value => 1; }
