using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

// The outer product of narrow layers on Avx512 and Avx2 (B read in place, tiles shaped to the narrow dimension, masked column tail);
// the tiles are in Gemm.NarrowTiles.cs, the general blocked kernel in Gemm.Outer.cs.
internal static partial class Gemm
{
    /// <summary>
    /// Whether <see cref="OuterProduct"/> hands C [M x N] = A [M x P] B [P x N] to <see cref="NarrowOuter"/>: on Avx512 and
    /// Avx2 (their tiles are sized to the accumulators each leaves free, <see cref="NarrowAccumulators{T}"/>), for M &gt; 1
    /// (one row is <see cref="OuterRow"/>'s), when its unpacked B is cheap to re-read: the narrow kernel reads a chunk of a
    /// column block of B (<see cref="NarrowBBlockBytes"/>, in L2) once per block of R rows of C, where the tiled kernel packs
    /// it once. With A's rows strided (InputGradient) it takes every product; with A's values of a step adjacent
    /// (WeightGradient) up to 256 rows of C, or chunks of B of at most <see cref="NarrowAdjacentMaxBytes"/>.
    /// Measured on Zen 5 (aligned operands, one process, narrow against tiled, GFLOP/s): InputGradient 32 x 1024 x 1024
    /// 222 / 167 on Avx512 and 100 / 69 on Avx2, 256 x 1024 x 1024 204 / 200 and 100 / 91, every other dX tried faster too;
    /// WeightGradient with 256 outputs or fewer faster on both paths (256 x 256 x 128 222 / 196 and 112 / 102, 32 x 784 x 256
    /// 231 / 217 and 117 / 107), with 512 or 1024 outputs slower on Avx2 (32 x 1024 x 1024: 81 / 108, 256 x 512 x 256
    /// 100 / 104) and on Avx512 with 4 KiB rows (64 x 1024 x 1024: 205 / 219).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool NarrowTakes<T, TVec>(int M, int N, int P, nint sm) where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        if (NarrowAccumulators<T>() == 0 || M <= 1)
            return false;
        if (sm != 1 || M <= NarrowAdjacentMaxRows)
            return true;
        int chunk = PanelBytes / (2 * T.Width * sizeof(float));
        return (long)Math.Min(P, chunk) * N * sizeof(float) <= NarrowAdjacentMaxBytes;
    }

    /// <summary>
    /// Accumulators a narrow tile of path T may hold: 24 of Avx512's 32 registers, 12 of Avx2's 16 (the rest hold a step's
    /// B vectors and a broadcast); 0 where the path has no narrow kernel (the 4-float paths: there the tiled kernel's tile
    /// of 4 rows x 2 vectors already leaves B in place when at most two tiles share a panel).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NarrowAccumulators<T>() =>
        typeof(T) == typeof(Avx512GemmSimd) ? 24 : typeof(T) == typeof(Avx2GemmSimd) ? 12 : 0;

    /// <summary>The most rows of C the narrow kernel takes, whatever their length, when A's values of a step are adjacent (WeightGradient).</summary>
    private const int NarrowAdjacentMaxRows = 256;

    /// <summary>The largest chunk of B (bytes) the narrow kernel takes for more rows than <see cref="NarrowAdjacentMaxRows"/> (WeightGradient).</summary>
    private const int NarrowAdjacentMaxBytes = 64 * 1024;

    /// <summary>
    /// The outer product of <see cref="OuterProduct"/> (same arguments and contract) with B read in place instead of packed:
    /// the columns are cut into blocks whose B chunk stays in L2 (<see cref="NarrowColumnBlock"/>); per column block and
    /// reduction chunk (the tiled kernel's length), every whole block of R rows of C (R from <see cref="NarrowRows"/>) is
    /// computed tile by tile, R rows x 4, 3, 2 or 1 vectors, the column tail the masked last vector of the last tile, with A's
    /// values broadcast where they lie (a row stride apart in InputGradient's dy, adjacent in WeightGradient's); the last,
    /// partial block of rows first copies its A values p-major into the workspace, its last row repeated. Each element gets
    /// exactly the operations the tiled kernel gives it (a chain of T.MulAdd per column over the chunk, tail columns
    /// included, chunk partials added in order, the epilogue after the last chunk), so the two give the same bits and either
    /// may compute any block of rows or of dW's outputs. Holds the <see cref="Workspace"/> throughout.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NarrowOuter<T, TVec, TEpi>(ref float a, nint sm, nint sp, ref float b, ref float c, int M, int N, int P, bool accumulate,
        ref float y, TEpi epi)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp
    {
        if (P == 1 && typeof(TEpi) == typeof(NoDerivativeOp))
        {
            NarrowRank1<T, TVec>(ref a, sm, ref b, ref c, M, N, accumulate);
            return;
        }
        int chunk = PanelBytes / (2 * T.Width * sizeof(float));
        // A weight gradient (A's values of a step adjacent) of at most 4 inputs: the outputs along the lanes. On Avx512 fewer
        // than 64 outputs go on 8-float vectors (with Avx512's chunks: the same bits), whose twice as many chains measured
        // 1.3-1.5x as fast there.
        if (sm == 1 && N <= 4 && typeof(TEpi) == typeof(NoDerivativeOp))
        {
            if (T.Width == 16 && M < 64)
                FewColumns<Avx2GemmSimd, Vector256<float>>(ref a, sp, ref b, ref c, M, N, P, accumulate, chunk);
            else
                FewColumns<T, TVec>(ref a, sp, ref b, ref c, M, N, P, accumulate, chunk);
            return;
        }
        switch (NarrowRows<T, TVec>(M, N, P, chunk, sm == 1))
        {
            case 4: NarrowRowBlocks<T, TVec, TEpi, Rows4>(ref a, sm, sp, ref b, ref c, M, N, P, accumulate, ref y, epi); break;
            case 5: NarrowRowBlocks<T, TVec, TEpi, Rows5>(ref a, sm, sp, ref b, ref c, M, N, P, accumulate, ref y, epi); break;
            case 6: NarrowRowBlocks<T, TVec, TEpi, Rows6>(ref a, sm, sp, ref b, ref c, M, N, P, accumulate, ref y, epi); break;
            case 8: NarrowRowBlocks<T, TVec, TEpi, Rows8>(ref a, sm, sp, ref b, ref c, M, N, P, accumulate, ref y, epi); break;
            default: NarrowRowBlocks<T, TVec, TEpi, Rows10>(ref a, sm, sp, ref b, ref c, M, N, P, accumulate, ref y, epi); break;
        }
    }

    /// <summary>
    /// Rows per narrow tile, R. The tile is as wide as the accumulators allow at that height (<see cref="NarrowWidth"/>:
    /// with Avx512's 24, 4 vectors up to 6 rows, 3 at 8, 2 at 10; with Avx2's 12, 3 vectors at 4 rows, 2 at 5 and 6, 1 at 8
    /// and 10). With 4 or more vectors of columns the heights are 6, 5 and 4, and 8 from 12 vectors on (with fewer, the 1-
    /// and 2-vector tiles left over cost more than the padding saved); narrower C takes tiles of up to 8 rows, or 10 when
    /// A's values of a step are adjacent (WeightGradient: with a row stride, InputGradient, each extra row costs an address
    /// register, and 10 rows measured slower than 8).
    /// The height minimises an estimated cost, in multiply-adds of one vector: ceil(M / R) row blocks x, per tile across the
    /// columns, (reduction steps x R x the tile's vectors + <see cref="NarrowTileOverhead"/>); ties go to the taller.
    /// Measured on Zen 5 (narrow-gradients report, Avx512): M = 32 takes 8 x 3 tiles at 10 steps over 1024 columns (3.5
    /// against 3.9 us with 6 x 4) but 4 x 4 at 128 steps over 64 columns; M = 256 takes 6 x 4.
    /// </summary>
    /// <remarks>Generic over the path and unrolled over the heights so that every divisor is a JIT-time constant: with a loop
    /// over a span of heights its ten-odd integer divisions were 40 % of a 4 x 16 x 4 product (75 ns a call, Zen 5).</remarks>
    private static int NarrowRows<T, TVec>(int M, int N, int P, int chunk, bool adjacent) where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int vectors = Math.Max(1, (N + T.Width - 1) / T.Width);
        long steps = Math.Min(P, chunk);
        int best = 0;
        long bestCost = long.MaxValue;
        if (N < 4 * T.Width)
        {
            if (adjacent) ConsiderHeight<T>(10, M, vectors, steps, ref best, ref bestCost);
            ConsiderHeight<T>(8, M, vectors, steps, ref best, ref bestCost);
        }
        else if (vectors >= 12)
            ConsiderHeight<T>(8, M, vectors, steps, ref best, ref bestCost);
        ConsiderHeight<T>(6, M, vectors, steps, ref best, ref bestCost);
        ConsiderHeight<T>(5, M, vectors, steps, ref best, ref bestCost);
        ConsiderHeight<T>(4, M, vectors, steps, ref best, ref bestCost);
        return best;
    }

    /// <summary>
    /// <see cref="NarrowRows"/>'s estimated cost of height <paramref name="h"/> (a constant at every call): it becomes the best
    /// when strictly cheaper, so ties go to the taller, considered first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ConsiderHeight<T>(int h, int M, int vectors, long steps, ref int best, ref long bestCost)
    {
        int vw = NarrowWidth(h, NarrowAccumulators<T>());
        // Tiles of vw vectors, then one of the vectors left (the column tail counted as a vector).
        int tiles = (vectors + vw - 1) / vw;
        long cost = (M + h - 1) / h * (steps * h * vectors + (long)NarrowTileOverhead * tiles);
        if (cost < bestCost) (best, bestCost) = (h, cost);
    }

    /// <summary>
    /// Vectors of the widest narrow tile of <paramref name="rows"/> rows within <paramref name="accumulators"/> (at most 4:
    /// 24 give 4 x 6, 3 x 8, 2 x 10; 12 give 3 x 4, 2 x 6, 1 x 10).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NarrowWidth(int rows, int accumulators) => Math.Min(4, accumulators / rows);

    /// <summary>
    /// The fixed cost of a narrow tile (zeroing, stores, loop set-up), in vector multiply-adds: fitted to the choices measured
    /// (it decides between a short reduction's padded rows and its extra tiles). Zen 5, aligned operands: 160 sent dX of
    /// 16-32 x 64-128 x 10 to 6-row tiles with padded rows, 17-24 % slower than the 4-row tiles that 64 picks (Avx512
    /// 32 x 128 x 10: 148 -> 167-179 GFLOP/s; Avx2 dX and dW of 32 x 32 x 32: 77 -> 86 and 75 -> 82); the other narrow
    /// shapes kept their tiles or measured the same, but for Avx512 dX of 256 x 1024 x 10, a near tie that now takes
    /// 8 x 3 tiles (186 against 191-194).
    /// </summary>
    private const int NarrowTileOverhead = 64;

    /// <summary><see cref="NarrowOuter"/> at tile height TRows.Value: the column blocks, chunks and row blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NarrowRowBlocks<T, TVec, TEpi, TRows>(ref float a, nint sm, nint sp, ref float b, ref float c, int M, int N, int P,
        bool accumulate, ref float y, TEpi epi)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp where TRows : struct, IConstant
    {
        bool fused = typeof(TEpi) != typeof(NoDerivativeOp);
        int w = T.Width;
        int R = TRows.Value;
        int chunk = PanelBytes / (2 * w * sizeof(float));
        nint ldn = N;
        // Blocks of columns whose B chunk stays in L2: every row block meets the B block there.
        int nb = NarrowColumnBlock(N, Math.Min(P, chunk), w);
        // On Avx2, B rows a multiple of 4 KiB apart put a tile's whole chunk in one L1 set, and past 16 steps its lines
        // outnumber the set's ways: such a B block is copied to a PackedStride first, once for every row block that reads
        // it (Zen 5, aligned operands, dX of 256 x 1024 x 32: 75-78 -> 102-111 GFLOP/s; dW of 32 x 1024 x 10: 72-74 -> 83).
        // Shorter chunks measured the same or faster without it, and so did Avx512, whose tiles run twice the arithmetic
        // per line of B (dW of 256 x 1024 x 10: 178-186 without the copy, 110-115 with it: one row block per copy).
        bool copyB = typeof(T) == typeof(Avx2GemmSimd) && N % (4096 / sizeof(float)) == 0 && Math.Min(P, chunk) > 16;
        nint ldb = copyB ? PackedStride(nb) : ldn;
        int aFloats = AlignUp(R * chunk);
        // Only a partial row block and a B copy use the workspace (a short product of whole blocks skips its lookup).
        ref float pa = ref M % R != 0 || copyB ? ref Workspace(aFloats + (copyB ? Math.Min(P, chunk) * (int)ldb : 0)) : ref c;
        ref float bCopy = ref copyB ? ref Unsafe.Add(ref pa, aFloats) : ref pa;
        for (int n0 = 0; n0 < N; n0 += nb)
        {
            int nn = Math.Min(nb, N - n0);
            // The widest tiles the accumulators allow at this height (NarrowWidth), then one narrower tile for the vectors
            // left; the column tail is the last vector of the last tile, masked.
            int vw = NarrowWidth(R, NarrowAccumulators<T>());
            int tail = nn % w;
            int vectors = (nn + w - 1) / w;
            int last = vectors % vw == 0 && tail > 0 ? vw : vectors % vw;
            int wide = (vectors - last) / vw;
            int full = M / R, m0 = full * R;
            for (int p0 = 0; p0 < P; p0 += chunk)
            {
                int pn = Math.Min(chunk, P - p0);
                var pass = new NarrowPass(pn, accumulate || p0 > 0, fused && p0 + pn == P, wide, last, tail);
                ref float bp = ref Unsafe.Add(ref b, p0 * ldn + n0);
                if (copyB)
                {
                    PackRows<T, TVec>(ref bp, N, nn, ref bCopy, (int)ldb, pn);
                    bp = ref bCopy;
                }
                // Whole row blocks read A in place; the last, partial one copies its rows (the last repeated, so that no row
                // past M is read) p-major.
                if (full > 0)
                {
                    ref float ap = ref Unsafe.Add(ref a, p0 * sp);
                    if (sm == 1)
                        NarrowColumns<T, TVec, TEpi, TRows, RowsAdjacent>(ref ap, 1, sp, R, full, ref bp, ldb, ref Unsafe.Add(ref c, n0),
                            ref Unsafe.Add(ref y, n0), ldn, R, pass, epi);
                    else
                        NarrowColumns<T, TVec, TEpi, TRows, RowsStrided>(ref ap, sm, sp, R * sm, full, ref bp, ldb, ref Unsafe.Add(ref c, n0),
                            ref Unsafe.Add(ref y, n0), ldn, R, pass, epi);
                }
                if (m0 < M)
                {
                    NarrowPackA(ref a, sm, sp, ref pa, m0, M, R, p0, pn);
                    NarrowColumns<T, TVec, TEpi, TRows, RowsAdjacent>(ref pa, 1, R, 0, 1, ref bp, ldb, ref Unsafe.Add(ref c, m0 * ldn + n0),
                        ref Unsafe.Add(ref y, m0 * ldn + n0), ldn, M - m0, pass, epi);
                }
            }
        }
    }

    /// <summary>One chunk of one column block of <see cref="NarrowRowBlocks"/>: the reduction steps, the store mode, and the
    /// column tiles (how many of the widest, the vectors of the last one, and the lanes of its masked last vector, 0 if whole).</summary>
    private readonly record struct NarrowPass(int Pn, bool Add, bool Final, int Wide, int Last, int Tail);

    /// <summary>
    /// <paramref name="blocks"/> row blocks of R rows (A from a + t * ablock) across the columns of one pass: the widest tiles
    /// (<see cref="NarrowWidth"/> vectors), then one tile of the vectors left, its last vector the masked column tail when
    /// there is one; only the first <paramref name="rows"/> rows of each block are stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NarrowColumns<T, TVec, TEpi, TRows, TLayout>(ref float a, nint arow, nint astep, nint ablock, int blocks, ref float b,
        nint ldb, ref float c, ref float y, nint ldn, int rows, NarrowPass s, TEpi epi)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp where TRows : struct, IConstant
        where TLayout : struct, IConstant
    {
        int vw = NarrowWidth(TRows.Value, NarrowAccumulators<T>());
        if (s.Wide > 0)
            NarrowTilesOf<T, TVec, TEpi, TRows, TLayout, WholeLast>(vw, ref a, arow, astep, ablock, blocks, ref b, ldb, ref c, ref y, ldn, rows,
                s.Wide, s, epi);
        if (s.Last == 0)
            return;
        nint n = s.Wide * vw * T.Width;
        if (s.Tail > 0)
            NarrowTilesOf<T, TVec, TEpi, TRows, TLayout, MaskedLast>(s.Last, ref a, arow, astep, ablock, blocks, ref Unsafe.Add(ref b, n), ldb,
                ref Unsafe.Add(ref c, n), ref Unsafe.Add(ref y, n), ldn, rows, 1, s, epi);
        else
            NarrowTilesOf<T, TVec, TEpi, TRows, TLayout, WholeLast>(s.Last, ref a, arow, astep, ablock, blocks, ref Unsafe.Add(ref b, n), ldb,
                ref Unsafe.Add(ref c, n), ref Unsafe.Add(ref y, n), ldn, rows, 1, s, epi);
    }

    /// <summary><see cref="NarrowTiles"/> at a tile width of <paramref name="vectors"/> (1 to 4, within the path's accumulators at
    /// height TRows.Value): <paramref name="groups"/> tiles side by side.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void NarrowTilesOf<T, TVec, TEpi, TRows, TLayout, TLast>(int vectors, ref float a, nint arow, nint astep, nint ablock,
        int blocks, ref float b, nint ldb, ref float c, ref float y, nint ldn, int rows, int groups, NarrowPass s, TEpi epi)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp where TRows : struct, IConstant
        where TLayout : struct, IConstant where TLast : struct, IConstant
    {
        // Only the widths that fit: a width the accumulators cannot hold at this height is never asked for, and is not compiled.
        int vw = NarrowWidth(TRows.Value, NarrowAccumulators<T>());
        if (vectors == 4 && vw >= 4)
            NarrowTiles<T, TVec, TRows, Vectors4, TLayout, TEpi, TLast>(ref a, arow, astep, ablock, blocks, ref b, ldb, ref c, ref y, ldn,
                rows, s.Pn, groups, s.Add, s.Final, epi, s.Tail);
        else if (vectors == 3 && vw >= 3)
            NarrowTiles<T, TVec, TRows, Vectors3, TLayout, TEpi, TLast>(ref a, arow, astep, ablock, blocks, ref b, ldb, ref c, ref y, ldn,
                rows, s.Pn, groups, s.Add, s.Final, epi, s.Tail);
        else if (vectors == 2 && vw >= 2)
            NarrowTiles<T, TVec, TRows, Vectors2, TLayout, TEpi, TLast>(ref a, arow, astep, ablock, blocks, ref b, ldb, ref c, ref y, ldn,
                rows, s.Pn, groups, s.Add, s.Final, epi, s.Tail);
        else
            NarrowTiles<T, TVec, TRows, Vectors1, TLayout, TEpi, TLast>(ref a, arow, astep, ablock, blocks, ref b, ldb, ref c, ref y, ldn,
                rows, s.Pn, groups, s.Add, s.Final, epi, s.Tail);
    }

    /// <summary>
    /// P == 1 (WeightGradient of one sample: dw = dy^T x, a rank-1 update): C[m, n] = A(m, 0) B[0, n], each vector (the
    /// tail's masked) a multiply-add onto zero, the one step of a tiled chain, so the bits are the tiles'. No tiling,
    /// packing or blocking to set up: a C that stays in L1 goes column-major over 4-vector groups
    /// (<see cref="NarrowRank1Columns"/>: each group of B loaded once into registers, every row of C written with it); a
    /// larger one row after row (<see cref="NarrowRank1Rows"/>), one sequential stream of stores. Column groups wrote a C of
    /// 1024 x 1024 in pieces 4 KiB apart, revisiting every row once per group: 4 (Avx512) to 8 (Avx2) times slower than
    /// rows; rows cost a loop per row and re-read B from L1, 10-30 % slower on a C that stays in L1
    /// (<see cref="RankColumnsMaxGroups"/>).
    /// </summary>
    private static void NarrowRank1<T, TVec>(ref float a, nint sm, ref float b, ref float c, int M, int N, bool accumulate)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        if ((long)M * N * sizeof(float) > RankColumnsMaxGroups * 4 * T.Width * sizeof(float))
            NarrowRank1Rows<T, TVec>(ref a, sm, ref b, ref c, M, N, accumulate);
        else
            NarrowRank1Columns<T, TVec>(ref a, sm, ref b, ref c, M, N, accumulate);
    }

    /// <summary>
    /// The largest C, in 4-vector groups, that <see cref="NarrowRank1"/> writes column-major: 48 KiB on Avx512 (Zen 5's L1),
    /// 24 KiB on Avx2 (measured on Zen 5: Avx512 40 KiB (10 x 1024) columns 83 against rows 72 GFLOP/s, 64 KiB rows 76 against
    /// 55; Avx2 32 KiB (64 x 128) rows 44 against 39, 16 KiB level).
    /// </summary>
    private const int RankColumnsMaxGroups = 192;

    /// <summary><see cref="NarrowRank1"/> row after row: B's row read from L1 in 4-vector steps, C written front to back.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void NarrowRank1Rows<T, TVec>(ref float a, nint sm, ref float b, ref float c, int M, int N, bool accumulate)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        int w = T.Width;
        int end1 = N / w * w;
        int tail = N - end1;
        TVec bt = tail > 0 ? T.LoadFirst(ref Unsafe.Add(ref b, end1), tail) : T.Zero;
        ref float cm = ref c;
        for (int m = 0; m < M; m++)
        {
            TVec s = T.Splat(Unsafe.Add(ref a, m * sm));
            int n = 0;
            for (; n <= end1 - 4 * w; n += 4 * w)
            {
                ref float bn = ref Unsafe.Add(ref b, n);
                ref float cn = ref Unsafe.Add(ref cm, n);
                StoreC2<T, TVec>(ref cn, T.MulAdd(s, T.Load(ref bn), T.Zero), T.MulAdd(s, T.Load(ref Unsafe.Add(ref bn, w)), T.Zero), accumulate);
                StoreC2<T, TVec>(ref Unsafe.Add(ref cn, 2 * w), T.MulAdd(s, T.Load(ref Unsafe.Add(ref bn, 2 * w)), T.Zero),
                    T.MulAdd(s, T.Load(ref Unsafe.Add(ref bn, 3 * w)), T.Zero), accumulate);
            }
            for (; n < end1; n += w)
                StoreC1<T, TVec>(ref Unsafe.Add(ref cm, n), T.MulAdd(s, T.Load(ref Unsafe.Add(ref b, n)), T.Zero), accumulate);
            if (tail > 0)
                NarrowStoreFirst<T, TVec>(ref Unsafe.Add(ref cm, end1), T.MulAdd(s, bt, T.Zero), accumulate, tail);
            cm = ref Unsafe.Add(ref cm, (nint)N);
        }
    }

    /// <summary><see cref="NarrowRank1"/> column-major: per group of 4 vectors of B (then single vectors, then the tail), every row of C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization | MethodImplOptions.NoInlining)]
    private static void NarrowRank1Columns<T, TVec>(ref float a, nint sm, ref float b, ref float c, int M, int N, bool accumulate)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        int w = T.Width;
        int end1 = N / w * w;
        nint ldc = N;
        int n = 0;
        for (; n <= end1 - 4 * w; n += 4 * w)
        {
            TVec b0 = T.Load(ref Unsafe.Add(ref b, n)), b1 = T.Load(ref Unsafe.Add(ref b, n + w));
            TVec b2 = T.Load(ref Unsafe.Add(ref b, n + 2 * w)), b3 = T.Load(ref Unsafe.Add(ref b, n + 3 * w));
            ref float cn = ref Unsafe.Add(ref c, n);
            for (int m = 0; m < M; m++)
            {
                TVec s = T.Splat(Unsafe.Add(ref a, m * sm));
                StoreC2<T, TVec>(ref cn, T.MulAdd(s, b0, T.Zero), T.MulAdd(s, b1, T.Zero), accumulate);
                StoreC2<T, TVec>(ref Unsafe.Add(ref cn, 2 * w), T.MulAdd(s, b2, T.Zero), T.MulAdd(s, b3, T.Zero), accumulate);
                cn = ref Unsafe.Add(ref cn, ldc);
            }
        }
        for (; n < end1; n += w)
        {
            TVec b0 = T.Load(ref Unsafe.Add(ref b, n));
            ref float cn = ref Unsafe.Add(ref c, n);
            for (int m = 0; m < M; m++)
            {
                StoreC1<T, TVec>(ref cn, T.MulAdd(T.Splat(Unsafe.Add(ref a, m * sm)), b0, T.Zero), accumulate);
                cn = ref Unsafe.Add(ref cn, ldc);
            }
        }
        if (n < N)
        {
            int tail = N - n;
            TVec b0 = T.LoadFirst(ref Unsafe.Add(ref b, n), tail);
            ref float cn = ref Unsafe.Add(ref c, n);
            for (int m = 0; m < M; m++)
            {
                NarrowStoreFirst<T, TVec>(ref cn, T.MulAdd(T.Splat(Unsafe.Add(ref a, m * sm)), b0, T.Zero), accumulate, tail);
                cn = ref Unsafe.Add(ref cn, ldc);
            }
        }
    }

    /// <summary>
    /// Columns per block of the narrow kernel: whole 4-vector tiles whose B chunk (<paramref name="steps"/> rows) takes at most
    /// <see cref="NarrowBBlockBytes"/>, at least one tile; all of N when it fits.
    /// </summary>
    private static int NarrowColumnBlock(int N, int steps, int width)
    {
        int tile = 4 * width;
        int nb = Math.Max(tile, NarrowBBlockBytes / sizeof(float) / Math.Max(steps, 1) / tile * tile);
        return nb >= N ? Math.Max(N, 1) : nb;
    }

    /// <summary>
    /// Bytes of B per column block of the narrow kernel: a quarter of the 1 MiB L2 of Zen 4 and Zen 5. Blocks that fit L1
    /// (32 KiB) read B from L3 or memory in pieces of 32 (Avx2) or 64 (Avx512) columns, each row a row stride from the last,
    /// which the prefetchers follow poorly: Zen 5, one process, 256 KiB against 32 KiB blocks: dX of 32 x 1024 x 1024 222
    /// against 170 GFLOP/s on Avx512, 99 against 80 on Avx2; dW of 256 x 64 x 32 on Avx2 108 against 90; dW of 256 x 1024 x
    /// 10 199 against 167 on Avx512; every other narrow product of the suite level (within 3 %).
    /// </summary>
    private const int NarrowBBlockBytes = 256 * 1024;

    /// <summary>A(m0..m0+R-1, p0..p0+pn-1) into dst, p-major (R values per p); rows past M repeat row M - 1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NarrowPackA(ref float a, nint sm, nint sp, ref float dst, int m0, int M, int R, int p0, int pn)
    {
        for (int i = 0; i < R; i++)
        {
            ref float src = ref Unsafe.Add(ref a, Math.Min(m0 + i, M - 1) * sm + p0 * sp);
            ref float d = ref Unsafe.Add(ref dst, i);
            for (int p = 0; p < pn; p++)
                Unsafe.Add(ref d, (nint)p * R) = Unsafe.Add(ref src, p * sp);
        }
    }

    /// <summary>
    /// For tests and measurements: C = (accumulate ? C : 0) + A B on <paramref name="path"/> (Avx512 or Avx2) through the
    /// narrow kernel, or through the tiled kernel even where the narrow one would take the shape. A(m, p) = a[m * sm + p * sp].
    /// </summary>
    internal static void OuterNarrowOrTiled(KernelPath path, bool narrow, ReadOnlySpan<float> a, int sm, int sp, ReadOnlySpan<float> b,
        Span<float> c, int M, int N, int P, bool accumulate)
    {
        if (path is not (KernelPath.Avx512 or KernelPath.Avx2))
            throw new ArgumentOutOfRangeException(nameof(path), path, "Only the Avx512 and Avx2 paths have a narrow kernel.");
        if (!KernelDispatch.IsSupported(path))
            throw new NotSupportedException($"The kernel path {path} is not supported on this CPU.");
        CheckDims(M, N, P);
        CheckLength(b.Length, (long)P * N, nameof(b));
        CheckLength(c.Length, (long)M * N, nameof(c));
        if (M > 0 && P > 0)
            CheckLength(a.Length, (long)(M - 1) * sm + (long)(P - 1) * sp + 1, nameof(a));
        ref float pa = ref MemoryMarshal.GetReference(a), pb = ref MemoryMarshal.GetReference(b), pc = ref MemoryMarshal.GetReference(c);
        bool run = narrow && M > 0 && N > 0 && P > 0;
        if (path == KernelPath.Avx512 && run)
            NarrowOuter<Avx512GemmSimd, Vector512<float>, NoDerivativeOp>(ref pa, sm, sp, ref pb, ref pc, M, N, P, accumulate, ref pc, default);
        else if (path == KernelPath.Avx512)
            OuterProduct<Avx512GemmSimd, Vector512<float>, NoDerivativeOp>(ref pa, sm, sp, ref pb, ref pc, M, N, P, accumulate, ref pc, default,
                allowNarrow: false);
        else if (run)
            NarrowOuter<Avx2GemmSimd, Vector256<float>, NoDerivativeOp>(ref pa, sm, sp, ref pb, ref pc, M, N, P, accumulate, ref pc, default);
        else
            OuterProduct<Avx2GemmSimd, Vector256<float>, NoDerivativeOp>(ref pa, sm, sp, ref pb, ref pc, M, N, P, accumulate, ref pc, default,
                allowNarrow: false);
    }
}
