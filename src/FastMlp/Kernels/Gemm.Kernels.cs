using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

/// <summary>
/// The vector operations a GEMM micro-kernel needs, implemented once per path by a readonly struct
/// (Gemm.Avx512.cs, Gemm.Avx2.cs, Gemm.Vector128.cs, Gemm.Neon.cs). The drivers below are generic over it;
/// with a struct type argument the JIT compiles one specialised copy per path and inlines every call.
/// </summary>
/// <typeparam name="TVec">The vector type (Vector512/256/128 of float).</typeparam>
internal interface IGemmSimd<TVec> where TVec : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Width { get; }
    /// <summary>All zeros.</summary>
    static abstract TVec Zero { get; }
    /// <summary>Unaligned load of <see cref="Width"/> floats.</summary>
    static abstract TVec Load(ref float p);
    /// <summary>Unaligned store of <see cref="Width"/> floats.</summary>
    static abstract void Store(TVec v, ref float p);
    /// <summary>Every lane = s.</summary>
    static abstract TVec Splat(float s);
    /// <summary>a * b + c (fused on the FMA paths).</summary>
    static abstract TVec MulAdd(TVec a, TVec b, TVec c);
    /// <summary>a + b.</summary>
    static abstract TVec Add(TVec a, TVec b);
    /// <summary>Horizontal sum, in a fixed lane order.</summary>
    static abstract float Sum(TVec v);
    /// <summary>Rows of the outer-product tile (4, 6 or 8): the tile is rows x 2 vectors, 2 rows accumulators.</summary>
    static abstract int TileRows { get; }
}

internal static partial class Gemm
{
    /// <summary>Reduction chunk of the outer-product kernel: a B panel of chunk x 2 vectors is 16 KiB (half of L1).</summary>
    private const int PanelBytes = 16 * 1024;

    private static void ForwardSimd<T, TVec>(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        CheckForward(x, w, b, y, rows, inputs, outputs);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pb = ref MemoryMarshal.GetReference(b);
        ref float py = ref MemoryMarshal.GetReference(y);
        if (rows == 1)
            Gemv<T, TVec>(ref px, ref pw, ref pb, ref py, inputs, outputs);
        else
            DotForward<T, TVec>(ref px, ref pw, ref pb, ref py, rows, inputs, outputs);
    }

    private static void InputGradientSimd<T, TVec>(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int rows, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        CheckInputGradient(dy, w, dx, rows, inputs, outputs);
        if (rows == 1)
        {
            InputGemv<T, TVec>(ref MemoryMarshal.GetReference(dy), ref MemoryMarshal.GetReference(w), ref MemoryMarshal.GetReference(dx), inputs, outputs);
            return;
        }
        // dx[r, i] = sum_o dy[r, o] w[o, i]: M = rows, N = inputs, reduction P = outputs; A(m, p) = dy[m * outputs + p].
        OuterProduct<T, TVec>(ref MemoryMarshal.GetReference(dy), outputs, 1, ref MemoryMarshal.GetReference(w),
            ref MemoryMarshal.GetReference(dx), rows, inputs, outputs, accumulate: false);
    }

    private static void WeightGradientSimd<T, TVec>(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate, int dyStride)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        dyStride = CheckWeightGradient(dy, x, dw, db, rows, inputs, outputs, dyStride);
        // dw[o, i] = sum_r dy[r, o] x[r, i]: M = outputs, N = inputs, reduction P = rows; A(m, p) = dy[p * dyStride + m].
        ref float pdy = ref MemoryMarshal.GetReference(dy);
        OuterProduct<T, TVec>(ref pdy, 1, dyStride, ref MemoryMarshal.GetReference(x),
            ref MemoryMarshal.GetReference(dw), outputs, inputs, rows, accumulate);
        ColumnSums<T, TVec>(ref pdy, ref MemoryMarshal.GetReference(db), rows, outputs, dyStride, accumulate);
    }

    /// <summary>
    /// Forward on a batch: for each block of rows of X (kept in L2), for each block of 4 W rows (kept hot in L1),
    /// every group of R rows of X (R = 4 on AVX-512, 3 on AVX2, 2 otherwise): R x 4 dot products in vector
    /// accumulators, reduced along the inputs, horizontal sums at the end. Every output is summed in the same order
    /// whatever R and the blocking, the order <see cref="Gemv"/> uses.
    /// </summary>
    [SkipLocalsInit]
    private static void DotForward<T, TVec>(ref float x, ref float w, ref float b, ref float y, int rows, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        int fr = T.TileRows >= 8 ? 4 : T.TileRows >= 6 ? 3 : 2;
        int rowBlock = Math.Max(fr, XBlockBytes / sizeof(float) / Math.Max(inputs, 1) / fr * fr);
        for (int r0 = 0; r0 < rows; r0 += rowBlock)
        {
            int rEnd = Math.Min(rows, r0 + rowBlock);
            for (int o = 0; o < outputs; o += 4)
            {
                int no = Math.Min(4, outputs - o);
                ref float w0 = ref Unsafe.Add(ref w, (nint)o * inputs);
                ref float w1 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 1, outputs - 1) * inputs);
                ref float w2 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 2, outputs - 1) * inputs);
                ref float w3 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 3, outputs - 1) * inputs);
                ref float bo = ref Unsafe.Add(ref b, o);
                for (int r = r0; r < rEnd; r += fr)
                    DotTile<T, TVec>(ref x, ref w0, ref w1, ref w2, ref w3, ref bo, ref Unsafe.Add(ref y, (nint)r * outputs + o),
                        r, rows, inputs, outputs, no);
            }
        }
    }

    /// <summary>R (2..4) rows of X by 4 rows of W; rows past the end re-read the last row and are not stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotTile<T, TVec>(ref float x, ref float w0, ref float w1, ref float w2, ref float w3, ref float bo, ref float y0,
        int r, int rows, int inputs, int outputs, int no)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        int fr = T.TileRows >= 8 ? 4 : T.TileRows >= 6 ? 3 : 2;
        ref float x0 = ref Unsafe.Add(ref x, (nint)r * inputs);
        ref float x1 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 1, rows - 1) * inputs);
        ref float x2 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 2, rows - 1) * inputs);
        ref float x3 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 3, rows - 1) * inputs);
        TVec a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
        TVec a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
        TVec a20 = T.Zero, a21 = T.Zero, a22 = T.Zero, a23 = T.Zero;
        TVec a30 = T.Zero, a31 = T.Zero, a32 = T.Zero, a33 = T.Zero;
        int k = 0;
        for (; k <= inputs - width; k += width)
        {
            TVec xv0 = T.Load(ref Unsafe.Add(ref x0, k));
            TVec xv1 = T.Load(ref Unsafe.Add(ref x1, k));
            TVec xv2 = fr > 2 ? T.Load(ref Unsafe.Add(ref x2, k)) : T.Zero;
            TVec xv3 = fr > 3 ? T.Load(ref Unsafe.Add(ref x3, k)) : T.Zero;
            TVec wv = T.Load(ref Unsafe.Add(ref w0, k));
            a00 = T.MulAdd(xv0, wv, a00);
            a10 = T.MulAdd(xv1, wv, a10);
            if (fr > 2) a20 = T.MulAdd(xv2, wv, a20);
            if (fr > 3) a30 = T.MulAdd(xv3, wv, a30);
            wv = T.Load(ref Unsafe.Add(ref w1, k));
            a01 = T.MulAdd(xv0, wv, a01);
            a11 = T.MulAdd(xv1, wv, a11);
            if (fr > 2) a21 = T.MulAdd(xv2, wv, a21);
            if (fr > 3) a31 = T.MulAdd(xv3, wv, a31);
            wv = T.Load(ref Unsafe.Add(ref w2, k));
            a02 = T.MulAdd(xv0, wv, a02);
            a12 = T.MulAdd(xv1, wv, a12);
            if (fr > 2) a22 = T.MulAdd(xv2, wv, a22);
            if (fr > 3) a32 = T.MulAdd(xv3, wv, a32);
            wv = T.Load(ref Unsafe.Add(ref w3, k));
            a03 = T.MulAdd(xv0, wv, a03);
            a13 = T.MulAdd(xv1, wv, a13);
            if (fr > 2) a23 = T.MulAdd(xv2, wv, a23);
            if (fr > 3) a33 = T.MulAdd(xv3, wv, a33);
        }
        int nr = Math.Min(fr, rows - r);
        DotFinish<T, TVec>(ref x0, ref w0, ref w1, ref w2, ref w3, ref bo, ref y0, a00, a01, a02, a03, k, inputs, no);
        if (nr > 1) DotFinish<T, TVec>(ref x1, ref w0, ref w1, ref w2, ref w3, ref bo, ref Unsafe.Add(ref y0, outputs), a10, a11, a12, a13, k, inputs, no);
        if (fr > 2 && nr > 2) DotFinish<T, TVec>(ref x2, ref w0, ref w1, ref w2, ref w3, ref bo, ref Unsafe.Add(ref y0, 2 * outputs), a20, a21, a22, a23, k, inputs, no);
        if (fr > 3 && nr > 3) DotFinish<T, TVec>(ref x3, ref w0, ref w1, ref w2, ref w3, ref bo, ref Unsafe.Add(ref y0, 3 * outputs), a30, a31, a32, a33, k, inputs, no);
    }

    /// <summary>Horizontal sums of one row's 4 accumulators, the scalar tail from k, plus bias, stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotFinish<T, TVec>(ref float xr, ref float w0, ref float w1, ref float w2, ref float w3, ref float bo, ref float y,
        TVec a0, TVec a1, TVec a2, TVec a3, int k, int inputs, int no)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        float s0 = T.Sum(a0), s1 = T.Sum(a1), s2 = T.Sum(a2), s3 = T.Sum(a3);
        for (; k < inputs; k++)
        {
            float xa = Unsafe.Add(ref xr, k);
            s0 += xa * Unsafe.Add(ref w0, k); s1 += xa * Unsafe.Add(ref w1, k);
            s2 += xa * Unsafe.Add(ref w2, k); s3 += xa * Unsafe.Add(ref w3, k);
        }
        StoreRow4(ref y, ref bo, s0, s1, s2, s3, no);
    }

    /// <summary>y[j] = b[j] + s_j for the first <paramref name="count"/> (1..4) of four results.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow4(ref float y, ref float b, float s0, float s1, float s2, float s3, int count)
    {
        y = b + s0;
        if (count > 1) Unsafe.Add(ref y, 1) = Unsafe.Add(ref b, 1) + s1;
        if (count > 2) Unsafe.Add(ref y, 2) = Unsafe.Add(ref b, 2) + s2;
        if (count > 3) Unsafe.Add(ref y, 3) = Unsafe.Add(ref b, 3) + s3;
    }

    /// <summary>Floats of the packed A block (48 KiB, on the stack): chunk x (a multiple of the tile height) rows.</summary>
    private const int PackFloats = 12 * 1024;

    /// <summary>Bytes of X a batched Forward keeps in L2 while it sweeps W.</summary>
    private const int XBlockBytes = 256 * 1024;

    /// <summary>
    /// C[m, n] = (accumulate ? C[m, n] : 0) + sum_p A(m, p) B[p, n], with A(m, p) = a[m * sm + p * sp], B [P x N] and
    /// C [M x N] row-major. The reduction is cut into chunks whose B panel (chunk x 2 vectors) is 16 KiB; within a
    /// chunk, A is packed per block of rows (<see cref="PackFloats"/> floats on the stack) into tiles of T.TileRows rows laid out p-major
    /// (the broadcasts of one step are adjacent), and each 2-vector column panel of B is reused by every tile.
    /// Each C element is still summed over p in order, so the result does not depend on the tile size.
    /// </summary>
    [SkipLocalsInit]
    private static void OuterProduct<T, TVec>(ref float a, nint sm, nint sp, ref float bm, ref float c, int M, int N, int P, bool accumulate)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        if (M == 0 || N == 0) return;
        if (P == 0)
        {
            if (!accumulate) MemoryMarshal.CreateSpan(ref c, M * N).Clear();
            return;
        }
        int width = T.Width;
        int mr = T.TileRows;
        int chunk = PanelBytes / (2 * width * sizeof(float));
        // Rows per packed block: 96 on Avx512 (chunk 128), 48 on Avx2 (chunk 256), 24 on the 4-float paths (chunk 512).
        int packRows = PackFloats / chunk / mr * mr;
        Span<float> packed = stackalloc float[PackFloats];
        ref float pa = ref MemoryMarshal.GetReference(packed);
        for (int p0 = 0; p0 < P; p0 += chunk)
        {
            int pn = Math.Min(chunk, P - p0);
            bool add = accumulate || p0 > 0;
            ref float ap = ref Unsafe.Add(ref a, p0 * sp);
            ref float bp = ref Unsafe.Add(ref bm, (nint)p0 * N);
            for (int m0 = 0; m0 < M; m0 += packRows)
            {
                int mb = Math.Min(packRows, M - m0);
                int tiles = (mb + mr - 1) / mr;
                PackA(ref ap, sm, sp, ref pa, m0, M, tiles, mr, pn);
                ref float cm = ref Unsafe.Add(ref c, (nint)m0 * N);
                nint tileSize = (nint)mr * pn;
                int n = 0;
                for (; n <= N - 2 * width; n += 2 * width)
                    for (int t = 0; t < tiles; t++)
                        OuterPacked2<T, TVec>(ref Unsafe.Add(ref pa, t * tileSize), ref Unsafe.Add(ref bp, n), N,
                            ref Unsafe.Add(ref cm, (nint)t * mr * N + n), Math.Min(mr, mb - t * mr), pn, add);
                for (; n <= N - width; n += width)
                    for (int t = 0; t < tiles; t++)
                        OuterPacked1<T, TVec>(ref Unsafe.Add(ref pa, t * tileSize), ref Unsafe.Add(ref bp, n), N,
                            ref Unsafe.Add(ref cm, (nint)t * mr * N + n), Math.Min(mr, mb - t * mr), pn, add);
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
            }
        }
    }

    /// <summary>Packs rows m0.. of A(m, p0..p0+pn) into tiles of mr rows, p-major; rows past M repeat row M-1.</summary>
    private static void PackA(ref float a, nint sm, nint sp, ref float dst, int m0, int M, int tiles, int mr, int pn)
    {
        for (int t = 0; t < tiles; t++)
        {
            ref float d = ref Unsafe.Add(ref dst, (nint)t * mr * pn);
            for (int i = 0; i < mr; i++)
            {
                ref float src = ref Unsafe.Add(ref a, Math.Min(m0 + t * mr + i, M - 1) * sm);
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
    private static void OuterPacked2<T, TVec>(ref float a, ref float b, int ldb, ref float c, int rows, int pn, bool add)
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
        if (rows > 1) StoreC2<T, TVec>(ref Unsafe.Add(ref c, ldb), c10, c11, add);
        if (rows > 2) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 2 * ldb), c20, c21, add);
        if (rows > 3) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 3 * ldb), c30, c31, add);
        if (mr > 4)
        {
            if (rows > 4) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 4 * ldb), c40, c41, add);
            if (rows > 5) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 5 * ldb), c50, c51, add);
        }
        if (mr > 6)
        {
            if (rows > 6) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 6 * ldb), c60, c61, add);
            if (rows > 7) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 7 * ldb), c70, c71, add);
        }
    }

    /// <summary>T.TileRows rows x 1 vector of C (the column tail of <see cref="OuterPacked2"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void OuterPacked1<T, TVec>(ref float a, ref float b, int ldb, ref float c, int rows, int pn, bool add)
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
        if (rows > 1) StoreC1<T, TVec>(ref Unsafe.Add(ref c, ldb), c1, add);
        if (rows > 2) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 2 * ldb), c2, add);
        if (rows > 3) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 3 * ldb), c3, add);
        if (mr > 4)
        {
            if (rows > 4) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 4 * ldb), c4, add);
            if (rows > 5) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 5 * ldb), c5, add);
        }
        if (mr > 6)
        {
            if (rows > 6) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 6 * ldb), c6, add);
            if (rows > 7) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 7 * ldb), c7, add);
        }
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

    /// <summary>db[o] = (accumulate ? db[o] : 0) + sum_r dy[r * stride + o], vectors along o, rows in order.</summary>
    private static void ColumnSums<T, TVec>(ref float dy, ref float db, int rows, int outputs, nint stride, bool accumulate)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        int o = 0;
        for (; o <= outputs - width; o += width)
        {
            TVec s = T.Zero;
            for (int r = 0; r < rows; r++)
                s = T.Add(s, T.Load(ref Unsafe.Add(ref dy, r * stride + o)));
            StoreC1<T, TVec>(ref Unsafe.Add(ref db, o), s, accumulate);
        }
        for (; o < outputs; o++)
        {
            float s = 0f;
            for (int r = 0; r < rows; r++)
                s += Unsafe.Add(ref dy, r * stride + o);
            ref float d = ref Unsafe.Add(ref db, o);
            d = accumulate ? d + s : s;
        }
    }
}
