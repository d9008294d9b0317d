using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

internal static partial class Gemm
{
    /// <summary>Reduction chunk of the outer-product kernel: a B panel of chunk x 2 vectors is 16 KiB (half of L1).</summary>
    private const int PanelBytes = 16 * 1024;

    /// <summary>Floats of the packed A block (48 KiB, on the stack): chunk x (a multiple of the tile height) rows.</summary>
    private const int PackFloats = 12 * 1024;

    /// <summary>
    /// C[m, n] = (accumulate ? C[m, n] : 0) + sum_p A(m, p) B[p, n], with A(m, p) = a[m * sm + p * sp], B [P x N] and
    /// C [M x N] row-major. The reduction is cut into chunks whose B panel (chunk x 2 vectors) is 16 KiB; within a
    /// chunk, A is packed per block of rows (<see cref="PackFloats"/> floats on the stack) into tiles of T.TileRows rows laid out p-major
    /// (the broadcasts of one step are adjacent), and each 2-vector column panel of B is reused by every tile (copied
    /// contiguous first when three or more tiles share it). M == 1 goes to <see cref="OuterRow"/>.
    /// Each C element is still summed over p in order, so the result does not depend on the tile size.
    /// The epilogue <paramref name="epi"/> (<see cref="NoDerivativeOp"/> for none) is applied, with the element Y[m, n] of
    /// <paramref name="y"/> (laid out as C), to each tile of results as soon as the last chunk has been added to it:
    /// C = epi(Y, C), the input gradient times the activation derivative of the layer below. It needs M &gt; 1 and P &gt; 0
    /// (<see cref="OuterRow"/> has no epilogue; the fused entry point sends one row and empty reductions the two-pass way).
    /// </summary>
    [SkipLocalsInit]
    private static void OuterProduct<T, TVec, TEpi>(ref float a, nint sm, nint sp, ref float bm, ref float c, int M, int N, int P, bool accumulate,
        ref float y, TEpi epi)
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
        int width = T.Width;
        int mr = T.TileRows;
        int chunk = PanelBytes / (2 * width * sizeof(float));
        if (M == 1)
        {
            OuterRow<T, TVec>(ref a, sp, ref bm, ref c, N, P, chunk, accumulate);
            return;
        }
        // Rows per packed block: 96 on Avx512 (chunk 128), 48 on Avx2 (chunk 256), 24 on the 4-float paths (chunk 512).
        int packRows = PackFloats / chunk / mr * mr;
        Span<float> packed = stackalloc float[PackFloats];
        ref float pa = ref MemoryMarshal.GetReference(packed);
        // One B panel (chunk x 2 vectors) copied contiguous when three or more tiles share it: read in sequence, no 4 KiB-stride
        // aliasing in L1 (for one or two tiles the copy costs more than it saves: measured on 1024 x 10).
        Span<float> panel = stackalloc float[PanelBytes / sizeof(float)];
        ref float pb = ref MemoryMarshal.GetReference(panel);
        for (int p0 = 0; p0 < P; p0 += chunk)
        {
            int pn = Math.Min(chunk, P - p0);
            bool add = accumulate || p0 > 0;
            // The last chunk completes every element: its stores carry the epilogue.
            bool final = fused && p0 + pn == P;
            ref float ap = ref Unsafe.Add(ref a, p0 * sp);
            ref float bp = ref Unsafe.Add(ref bm, (nint)p0 * N);
            for (int m0 = 0; m0 < M; m0 += packRows)
            {
                int mb = Math.Min(packRows, M - m0);
                int tiles = (mb + mr - 1) / mr;
                PackA(ref ap, sm, sp, ref pa, m0, M, tiles, mr, pn);
                ref float cm = ref Unsafe.Add(ref c, (nint)m0 * N);
                ref float ym = ref Unsafe.Add(ref y, (nint)m0 * N);
                nint tileSize = (nint)mr * pn;
                int n = 0;
                for (; n <= N - 2 * width; n += 2 * width)
                {
                    ref float bn = ref Unsafe.Add(ref bp, n);
                    if (tiles > 2)
                    {
                        PackB<T, TVec>(ref bn, N, ref pb, pn);
                        for (int t = 0; t < tiles; t++)
                        {
                            OuterPacked2<T, TVec>(ref Unsafe.Add(ref pa, t * tileSize), ref pb, 2 * width,
                                ref Unsafe.Add(ref cm, (nint)t * mr * N + n), N, Math.Min(mr, mb - t * mr), pn, add);
                            if (final)
                                EpilogueTile<T, TVec, TEpi>(ref Unsafe.Add(ref cm, (nint)t * mr * N + n), ref Unsafe.Add(ref ym, (nint)t * mr * N + n),
                                    N, Math.Min(mr, mb - t * mr), 2, epi);
                        }
                    }
                    else
                        for (int t = 0; t < tiles; t++)
                        {
                            OuterPacked2<T, TVec>(ref Unsafe.Add(ref pa, t * tileSize), ref bn, N,
                                ref Unsafe.Add(ref cm, (nint)t * mr * N + n), N, Math.Min(mr, mb - t * mr), pn, add);
                            if (final)
                                EpilogueTile<T, TVec, TEpi>(ref Unsafe.Add(ref cm, (nint)t * mr * N + n), ref Unsafe.Add(ref ym, (nint)t * mr * N + n),
                                    N, Math.Min(mr, mb - t * mr), 2, epi);
                        }
                }
                for (; n <= N - width; n += width)
                    for (int t = 0; t < tiles; t++)
                    {
                        OuterPacked1<T, TVec>(ref Unsafe.Add(ref pa, t * tileSize), ref Unsafe.Add(ref bp, n), N,
                            ref Unsafe.Add(ref cm, (nint)t * mr * N + n), N, Math.Min(mr, mb - t * mr), pn, add);
                        if (final)
                            EpilogueTile<T, TVec, TEpi>(ref Unsafe.Add(ref cm, (nint)t * mr * N + n), ref Unsafe.Add(ref ym, (nint)t * mr * N + n),
                                N, Math.Min(mr, mb - t * mr), 1, epi);
                    }
                int columnTail = n;
                for (; n < N; n++)
                    for (int m = 0; m < mb; m++)
                    {
                        ref float at = ref Unsafe.Add(ref pa, (m / mr) * tileSize + m % mr);
                        float sum = 0f;
                        for (int p = 0; p < pn; p++)
                            sum += Unsafe.Add(ref at, (nint)p * mr) * Unsafe.Add(ref bp, (nint)p * N + n);
                        ref float cmn = ref Unsafe.Add(ref cm, (nint)m * N + n);
                        cmn = add ? cmn + sum : sum;
                    }
                if (final && columnTail < N)
                    for (int m = 0; m < mb; m++)
                        EpilogueTail<T, TVec, TEpi>(ref Unsafe.Add(ref cm, (nint)m * N + columnTail), ref Unsafe.Add(ref ym, (nint)m * N + columnTail),
                            N - columnTail, epi);
            }
        }
    }

    /// <summary>Copies pn rows of 2 vectors from B (row stride ldb) to dst, contiguous.</summary>
    private static void PackB<T, TVec>(ref float b, nint ldb, ref float dst, int pn)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        for (int p = 0; p < pn; p++)
        {
            ref float src = ref Unsafe.Add(ref b, p * ldb);
            ref float d = ref Unsafe.Add(ref dst, (nint)p * 2 * width);
            T.Store(T.Load(ref src), ref d);
            T.Store(T.Load(ref Unsafe.Add(ref src, width)), ref Unsafe.Add(ref d, width));
        }
    }

    /// <summary>
    /// M == 1 (InputGradient of one sample: dx = dy W, a transposed GEMV): one row of C, 4 vectors at a time, each
    /// a chain of multiply-adds over the chunk, in the chunks of the tiled kernel and with its column tails, so every
    /// element gets exactly the operations the tiled kernel would give it (a row block of one equals the whole).
    /// </summary>
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
            for (; n < N; n++)
            {
                float sum = 0f;
                for (int p = 0; p < pn; p++)
                    sum += Unsafe.Add(ref ap, p * sp) * Unsafe.Add(ref bp, (nint)p * N + n);
                ref float cn = ref Unsafe.Add(ref c, n);
                cn = add ? cn + sum : sum;
            }
        }
    }

    /// <summary>Packs rows m0.. of A(m, p0..p0+pn) into tiles of mr rows, p-major; rows past M repeat row M-1.</summary>
    private static void PackA(ref float a, nint sm, nint sp, ref float dst, int m0, int M, int tiles, int mr, int pn)
    {
        for (int t = 0; t < tiles; t++)
        {
            ref float d = ref Unsafe.Add(ref dst, (nint)t * mr * pn);
            int first = m0 + t * mr;
            if (sm == 1 && first + mr <= M)
            {
                // WeightGradient (A = dy^T): a tile's mr values of one p are adjacent in dy; copy them row by row.
                ref float src = ref Unsafe.Add(ref a, first);
                for (int p = 0; p < pn; p++)
                {
                    ref float sp0 = ref Unsafe.Add(ref src, p * sp);
                    ref float dp = ref Unsafe.Add(ref d, (nint)p * mr);
                    for (int i = 0; i < mr; i++)
                        Unsafe.Add(ref dp, i) = Unsafe.Add(ref sp0, i);
                }
                continue;
            }
            for (int i = 0; i < mr; i++)
            {
                ref float src = ref Unsafe.Add(ref a, Math.Min(first + i, M - 1) * sm);
                ref float di = ref Unsafe.Add(ref d, i);
                if (sp == 1)
                    for (int p = 0; p < pn; p++)
                        Unsafe.Add(ref di, (nint)p * mr) = Unsafe.Add(ref src, p);
                else
                    for (int p = 0; p < pn; p++)
                        Unsafe.Add(ref di, (nint)p * mr) = Unsafe.Add(ref src, p * sp);
            }
        }
    }

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
    [MethodImpl(MethodImplOptions.NoInlining)]
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
