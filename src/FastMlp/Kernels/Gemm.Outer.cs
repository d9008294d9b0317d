using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace FastMlp.Kernels;

internal static partial class Gemm
{
    /// <summary>Reduction chunk of the outer-product kernel: a B panel of chunk x 2 vectors is 16 KiB (half of L1).</summary>
    private const int PanelBytes = 16 * 1024;

    /// <summary>
    /// Bytes of the packed A block (chunk x a multiple of the tile height rows), which stays in L2 while every B panel of the
    /// packed B block sweeps over it: 256 rows on Avx512 (chunk 128), 126 on Avx2 (chunk 256), 64 on the 4-float paths.
    /// </summary>
    private const int ABlockBytes = 128 * 1024;

    /// <summary>
    /// Bytes of the packed B block (chunk x a multiple of 2 vectors columns): with the A block it fits the 1 MiB L2 of
    /// Zen 4 and Zen 5, and holds a whole 1024-wide chunk on Avx512 (512 columns on Avx2, 256 on the 4-float paths, whose
    /// chunks are longer).
    /// </summary>
    private const int BBlockBytes = 512 * 1024;

    /// <summary>
    /// Chunks at least this long prefetch the C tile they add to before their reduction: the reduction then hides the miss
    /// (C of a 256 x 1024 product, 1 MiB, does not stay in L2 beside the packed blocks). A shorter chunk's reduction is too
    /// short to hide it, and the prefetches would only add instructions to a loop that is already short.
    /// </summary>
    private const int PrefetchMinChunk = 64;

    /// <summary>Chunks up to this long walk a block's tiles one by one across its B panels (see <see cref="OuterBlock"/>).</summary>
    private const int TileMajorMaxChunk = 16;

    /// <summary>
    /// C[m, n] = (accumulate ? C[m, n] : 0) + sum_p A(m, p) B[p, n], with A(m, p) = a[m * sm + p * sp], B [P x N] and
    /// C [M x N] row-major, blocked as BLIS does. The columns are cut into blocks of <see cref="BBlockBytes"/> per chunk
    /// and the reduction into chunks whose B panel (chunk x 2 vectors) is 16 KiB; per column block and chunk, B is packed
    /// once into the per-thread workspace, panel after panel (each panel contiguous, 64-byte aligned: read in sequence, no
    /// 4 KiB-stride aliasing in L1), then A is walked in blocks of <see cref="ABlockBytes"/> (L2), each packed into tiles
    /// of T.TileRows rows laid out p-major (the broadcasts of one step are adjacent), and every tile of the block is
    /// multiplied by each B panel in turn (the panel stays in L1; short chunks go tile by tile, see <see cref="OuterBlock"/>).
    /// M == 1 goes to <see cref="OuterRow"/>.
    /// Each C element is still summed over p in order within a chunk and the chunk partials added to it in order, so the
    /// result depends neither on the tile nor on any block size.
    /// The epilogue <paramref name="epi"/> (<see cref="NoDerivativeOp"/> for none) is applied, with the element Y[m, n] of
    /// <paramref name="y"/> (laid out as C), to each tile of results as soon as the last chunk has been added to it:
    /// C = epi(Y, C), the input gradient times the activation derivative of the layer below. It needs M &gt; 1 and P &gt; 0
    /// (<see cref="OuterRow"/> has no epilogue; the fused entry point sends one row and empty reductions the two-pass way).
    /// Holds the <see cref="Workspace"/> throughout: nothing it calls may use it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OuterProduct<T, TVec, TEpi>(ref float a, nint sm, nint sp, ref float bm, ref float c, int M, int N, int P, bool accumulate,
        ref float y, TEpi epi, bool allowNarrow = true)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp
    {
        bool fused = typeof(TEpi) != typeof(NoDerivativeOp);
        Debug.Assert(!fused || (M > 1 && P > 0), "The derivative epilogue needs a tiled product.");
        if (M == 0 || N == 0) return;
        if (P == 0)
        {
            if (!accumulate) MemoryMarshal.CreateSpan(ref c, M * N).Clear();
            return;
        }
        if (allowNarrow && NarrowTakes<T, TVec>(M, N, P, sm))
        {
            // Same bits as below (see NarrowOuter); T is Avx512GemmSimd or Avx2GemmSimd here.
            if (typeof(T) == typeof(Avx512GemmSimd))
                NarrowOuter<Avx512GemmSimd, Vector512<float>, TEpi>(ref a, sm, sp, ref bm, ref c, M, N, P, accumulate, ref y, epi);
            else
                NarrowOuter<Avx2GemmSimd, Vector256<float>, TEpi>(ref a, sm, sp, ref bm, ref c, M, N, P, accumulate, ref y, epi);
            return;
        }
        int nr = 2 * T.Width;
        int mr = T.TileRows;
        int chunk = PanelBytes / (nr * sizeof(float));
        if (M == 1)
        {
            OuterRow<T, TVec>(ref a, sp, ref bm, ref c, N, P, chunk, accumulate);
            return;
        }
        int mc = EvenBlock(M, ABlockBytes / sizeof(float) / chunk, mr);
        int nc = EvenBlock(N, BBlockBytes / sizeof(float) / chunk, nr);
        // B is packed when three or more tiles share each panel: for one or two the copy costs more than it saves (measured
        // on 1024 x 10); they read the panel in place.
        bool packB = (M + mr - 1) / mr > 2;
        ref float pa = ref Workspace(mc * chunk + (packB ? nc * chunk : 0));
        // The packed B block follows the A block (64-byte aligned: mc * chunk is a multiple of 16 floats).
        ref float pb = ref packB ? ref Unsafe.Add(ref pa, (nint)mc * chunk) : ref pa;
        for (int n0 = 0; n0 < N; n0 += nc)
        {
            int nEnd = Math.Min(N, n0 + nc);
            for (int p0 = 0; p0 < P; p0 += chunk)
            {
                int pn = Math.Min(chunk, P - p0);
                ref float bp = ref Unsafe.Add(ref bm, (nint)p0 * N);
                if (packB)
                    for (int n = n0; n <= nEnd - nr; n += nr)
                        PackB<T, TVec>(ref Unsafe.Add(ref bp, n), N, ref Unsafe.Add(ref pb, (nint)(n - n0) * pn), pn);
                var step = new OuterStep(pn, n0, nEnd, N, accumulate || p0 > 0,
                    // The last chunk completes every element: its stores carry the epilogue.
                    fused && p0 + pn == P);
                for (int m0 = 0; m0 < M; m0 += mc)
                {
                    int tiles = (Math.Min(mc, M - m0) + mr - 1) / mr;
                    PackA(ref Unsafe.Add(ref a, p0 * sp), sm, sp, ref pa, m0, M, tiles, mr, pn);
                    OuterBlock<T, TVec, TEpi>(ref pa, packB, ref pb, ref bp, ref Unsafe.Add(ref c, (nint)m0 * N), ref Unsafe.Add(ref y, (nint)m0 * N),
                        Math.Min(mc, M - m0), step, epi);
                }
            }
        }
    }

    /// <summary>One chunk of one column block of <see cref="OuterProduct"/>: what every A block of it shares.</summary>
    /// <param name="Pn">Length of the chunk.</param>
    /// <param name="N0">First column of the block.</param>
    /// <param name="NEnd">End of the block's columns.</param>
    /// <param name="N">Columns of B and C (their row stride).</param>
    /// <param name="Add">Add to C (an earlier chunk or accumulate) rather than overwrite it.</param>
    /// <param name="Final">The last chunk of a fused product: apply the epilogue to each finished tile.</param>
    private readonly record struct OuterStep(int Pn, int N0, int NEnd, int N, bool Add, bool Final);

    /// <summary>
    /// One packed A block (<paramref name="mb"/> rows of C from <paramref name="cm"/>) times the block's B panels: each
    /// panel (packed at <paramref name="pb"/>, or read in place from <paramref name="bp"/>) by every tile of the block
    /// (for chunks of at most <see cref="TileMajorMaxChunk"/> steps, each tile by every panel), then the columns past the
    /// last whole panel (1 vector, then scalars) from B in place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OuterBlock<T, TVec, TEpi>(ref float pa, bool packB, ref float pb, ref float bp, ref float cm, ref float ym, int mb,
        OuterStep s, TEpi epi)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp
    {
        int width = T.Width;
        int mr = T.TileRows;
        int tiles = (mb + mr - 1) / mr;
        int pn = s.Pn;
        nint N = s.N;
        nint tileSize = (nint)mr * pn;
        bool prefetch = s.Add && pn >= PrefetchMinChunk;
        int panels = (s.NEnd - s.N0) / (2 * width);
        // Panel by panel, every tile stores into the same 64 bytes of its C rows; when the row stride is a multiple of 4 KiB
        // those lines all fall in one L1 set, and with a short chunk the stores come so often that they thrash it (Avx2,
        // dX of 256 x 1024 x 10: 195 us, against 52 us tile by tile, and 256 x 1008 x 10 took 53 us either way). So short
        // chunks go tile by tile across the panels; longer ones keep a panel in L1 across the tiles (at 32 and 64 steps
        // the two orders measured the same). The order changes no element's operations.
        bool tileMajor = pn <= TileMajorMaxChunk;
        int outer = tileMajor ? tiles : panels, inner = tileMajor ? panels : tiles;
        for (int i = 0; i < outer; i++)
            for (int j = 0; j < inner; j++)
            {
                int t = tileMajor ? i : j;
                int column = s.N0 + (tileMajor ? j : i) * 2 * width;
                ref float bn = ref packB ? ref Unsafe.Add(ref pb, (nint)(column - s.N0) * pn) : ref Unsafe.Add(ref bp, column);
                ref float ct = ref Unsafe.Add(ref cm, t * mr * N + column);
                int rows = Math.Min(mr, mb - t * mr);
                if (prefetch)
                    PrefetchRows(ref ct, N, rows, 2 * width);
                OuterPacked2<T, TVec>(ref Unsafe.Add(ref pa, t * tileSize), ref bn, packB ? 2 * width : N, ref ct, N, rows, pn, s.Add);
                if (s.Final)
                    EpilogueTile<T, TVec, TEpi>(ref ct, ref Unsafe.Add(ref ym, t * mr * N + column), N, rows, 2, epi);
            }
        int n = s.N0 + panels * 2 * width;
        for (; n <= s.NEnd - width; n += width)
            for (int t = 0; t < tiles; t++)
            {
                ref float ct = ref Unsafe.Add(ref cm, t * mr * N + n);
                int rows = Math.Min(mr, mb - t * mr);
                OuterPacked1<T, TVec>(ref Unsafe.Add(ref pa, t * tileSize), ref Unsafe.Add(ref bp, n), N, ref ct, N, rows, pn, s.Add);
                if (s.Final)
                    EpilogueTile<T, TVec, TEpi>(ref ct, ref Unsafe.Add(ref ym, t * mr * N + n), N, rows, 1, epi);
            }
        if (n == s.NEnd)
            return;
        // T.TileRows is a JIT-time constant: one call survives.
        if (T.TileRows == 8)
            OuterColumnTail<T, TVec, Rows8>(ref pa, tileSize, tiles, mb, ref Unsafe.Add(ref bp, n), N, ref Unsafe.Add(ref cm, n), pn, s.Add, s.NEnd - n);
        else if (T.TileRows == 6)
            OuterColumnTail<T, TVec, Rows6>(ref pa, tileSize, tiles, mb, ref Unsafe.Add(ref bp, n), N, ref Unsafe.Add(ref cm, n), pn, s.Add, s.NEnd - n);
        else
            OuterColumnTail<T, TVec, Rows4>(ref pa, tileSize, tiles, mb, ref Unsafe.Add(ref bp, n), N, ref Unsafe.Add(ref cm, n), pn, s.Add, s.NEnd - n);
        if (s.Final)
            for (int m = 0; m < mb; m++)
                EpilogueTail<T, TVec, TEpi>(ref Unsafe.Add(ref cm, m * N + n), ref Unsafe.Add(ref ym, m * N + n), s.NEnd - n, epi);
    }

    /// <summary>
    /// The last <paramref name="count"/> (&lt; Width) columns of an A block's tiles (TRows.Value = T.TileRows rows each), each
    /// element a chain of T.MulAdd from zero over the chunk, then stored or added to C, as the narrow kernel sums its masked
    /// last vector: lane-wise in masked vectors (<see cref="MaskedTail"/>, a tile's rows side by side; a scalar loop, one
    /// element at a time, took 40 % of an Avx512 weight gradient of 256 x 1000 x 1024 for its 8 tail columns).
    /// </summary>
    private static void OuterColumnTail<T, TVec, TRows>(ref float pa, nint tileSize, int tiles, int mb, ref float b, nint ldb, ref float c,
        int pn, bool add, int count)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TRows : struct, IConstant
    {
        int mr = TRows.Value;
        Debug.Assert(mr == T.TileRows, "The packed tiles' height.");
        for (int t = 0; t < tiles; t++)
            MaskedTail<T, TVec, TRows>(ref Unsafe.Add(ref pa, t * tileSize), 1, mr, ref b, ldb, ref Unsafe.Add(ref c, t * mr * ldb), ldb,
                Math.Min(mr, mb - t * mr), pn, add, count);
    }

    /// <summary>
    /// <see cref="NarrowTail"/> (the masked-vector column tail) from a kernel generic over <see cref="IGemmSimd{TVec}"/>: every
    /// path's struct implements <see cref="IGemvSimd{TVec}"/>, and the typeof tests are JIT-time constants (one call survives).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaskedTail<T, TVec, TRows>(ref float a, nint arow, nint astep, ref float b, nint ldb, ref float c, nint ldc,
        int rows, int pn, bool add, int count)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TRows : struct, IConstant
    {
        if (typeof(T) == typeof(Avx512GemmSimd))
            NarrowTail<Avx512GemmSimd, Vector512<float>, TRows>(ref a, arow, astep, ref b, ldb, ref c, ldc, rows, pn, add, count);
        else if (typeof(T) == typeof(Avx2GemmSimd))
            NarrowTail<Avx2GemmSimd, Vector256<float>, TRows>(ref a, arow, astep, ref b, ldb, ref c, ldc, rows, pn, add, count);
        else if (typeof(T) == typeof(Vector128GemmSimd))
            NarrowTail<Vector128GemmSimd, Vector128<float>, TRows>(ref a, arow, astep, ref b, ldb, ref c, ldc, rows, pn, add, count);
        else if (typeof(T) == typeof(NeonGemmSimd))
            NarrowTail<NeonGemmSimd, Vector128<float>, TRows>(ref a, arow, astep, ref b, ldb, ref c, ldc, rows, pn, add, count);
        else
            throw new NotSupportedException($"No column tail for {typeof(T).Name}.");
    }

    /// <summary>
    /// Prefetches <paramref name="rows"/> rows of <paramref name="floats"/> floats (row stride <paramref name="ldc"/>) into
    /// L2: the C tile a long reduction will add to. L2, not L1: on Zen 5 (Avx512, input and weight gradients of 256 x 1024 x
    /// 1024 and 256 x 784 x 256, short runs on a shared machine) prefetching into L1 gave a median of 189 GFLOP/s over 12
    /// measurements against 198 over 20 with no prefetch (probably: the tile's rows, 4 KiB apart, crowd one L1 set beside
    /// the B panel), into L2 198 over 24: no loss, no gain measurable there; issue 4 asked for it from a Zen 4 measurement.
    /// x86 only: .NET exposes no prefetch instruction on Arm, where this is nothing.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchRows(ref float c, nint ldc, int rows, int floats)
    {
        if (!Sse.IsSupported) return;
        for (int m = 0; m < rows; m++)
        {
            // A prefetch never faults and a moved array only makes it useless, so the unpinned address is safe.
            byte* row = (byte*)Unsafe.AsPointer(ref Unsafe.Add(ref c, m * ldc));
            for (int b = 0; b < floats * sizeof(float); b += 64)
                Sse.Prefetch1(row + b);
            // The last line, when the row does not start on a cache line.
            Sse.Prefetch1(row + floats * sizeof(float) - 1);
        }
    }

    /// <summary>
    /// M == 1 (InputGradient of one sample: dx = dy W, a transposed GEMV): one row of C, 4 vectors at a time, each
    /// a chain of multiply-adds over the chunk, in the chunks of the tiled kernel and with its column tails, so every
    /// element gets exactly the operations the tiled kernel would give it (a row block of one equals the whole).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void OuterRow<T, TVec>(ref float a, nint sp, ref float b, ref float c, int N, int P, int chunk, bool accumulate)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        for (int p0 = 0; p0 < P; p0 += chunk)
        {
            int pn = Math.Min(chunk, P - p0);
            bool add = accumulate || p0 > 0;
            ref float ap = ref Unsafe.Add(ref a, p0 * sp);
            ref float bp = ref Unsafe.Add(ref b, (nint)p0 * N);
            int n = 0;
            for (; n <= N - 4 * width; n += 4 * width)
            {
                TVec c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero;
                ref float bk = ref Unsafe.Add(ref bp, n);
                for (int p = 0; p < pn; p++)
                {
                    TVec av = T.Splat(Unsafe.Add(ref ap, p * sp));
                    c0 = T.MulAdd(av, T.Load(ref bk), c0);
                    c1 = T.MulAdd(av, T.Load(ref Unsafe.Add(ref bk, width)), c1);
                    c2 = T.MulAdd(av, T.Load(ref Unsafe.Add(ref bk, 2 * width)), c2);
                    c3 = T.MulAdd(av, T.Load(ref Unsafe.Add(ref bk, 3 * width)), c3);
                    bk = ref Unsafe.Add(ref bk, N);
                }
                ref float cn = ref Unsafe.Add(ref c, n);
                StoreC2<T, TVec>(ref cn, c0, c1, add);
                StoreC2<T, TVec>(ref Unsafe.Add(ref cn, 2 * width), c2, c3, add);
            }
            for (; n <= N - width; n += width)
            {
                TVec c0 = T.Zero;
                ref float bk = ref Unsafe.Add(ref bp, n);
                for (int p = 0; p < pn; p++)
                {
                    c0 = T.MulAdd(T.Splat(Unsafe.Add(ref ap, p * sp)), T.Load(ref bk), c0);
                    bk = ref Unsafe.Add(ref bk, N);
                }
                StoreC1<T, TVec>(ref Unsafe.Add(ref c, n), c0, add);
            }
            if (n < N)
                MaskedTail<T, TVec, Rows1>(ref ap, 0, sp, ref Unsafe.Add(ref bp, n), N, ref Unsafe.Add(ref c, n), 0, 1, pn, add, N - n);
        }
    }
}
