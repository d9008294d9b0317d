using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

// Weight gradients of layers with at most 4 inputs (tabular data: the first layer of an iris or 2-3-2 network).
internal static partial class Gemm
{
    /// <summary>
    /// C [M x N] (+)= A B for N &lt;= 4 columns with A's values of a step adjacent (a weight gradient: A(m, p) = dy[p * sp +
    /// m], B = x [P x N], C = dW): the narrow tiles turned around. Their vectors run along C's rows, of which N lanes are
    /// used (a quarter of Avx512's 16 for 4 inputs: 256 x 4 x 16 ran at 0.55x OpenBLAS); here lane j of accumulator i holds
    /// C[m + j, i], so a step is one vector of dy's row p (T.Width outputs) times N broadcasts of x's row p, N multiply-adds
    /// for T.Width x N products, and the accumulators are transposed into C's rows at the end of each chunk. Each element
    /// gets the narrow kernel's operations in its order (a fused chain from zero over the chunk, the chunks' partials added
    /// to C in order, <paramref name="chunk"/> steps long: the calling path's), so the bits are the same. Blocks of 4 vectors
    /// of outputs on 16-float vectors (32 registers), of 2 (8 chains of multiply-adds in flight), then one, the last through a
    /// mask: nothing past dy's last row or C's last element is read or written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewColumns<T, TVec>(ref float a, nint sp, ref float b, ref float c, int M, int N, int P, bool accumulate, int chunk)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        for (int p0 = 0; p0 < P; p0 += chunk)
        {
            int pn = Math.Min(chunk, P - p0);
            bool add = accumulate || p0 > 0;
            ref float ap = ref Unsafe.Add(ref a, p0 * sp);
            ref float bp = ref Unsafe.Add(ref b, (nint)p0 * N);
            int m = 0;
            if (width == 16)
                for (; m + 4 * width <= M; m += 4 * width)
                    FewColumnsTile<T, TVec, Vectors4>(ref Unsafe.Add(ref ap, m), sp, ref bp, N, ref Unsafe.Add(ref c, (nint)m * N), 4 * width, pn, add);
            for (; m + 2 * width <= M; m += 2 * width)
                FewColumnsTile<T, TVec, Vectors2>(ref Unsafe.Add(ref ap, m), sp, ref bp, N, ref Unsafe.Add(ref c, (nint)m * N), 2 * width, pn, add);
            for (; m < M; m += width)
                FewColumnsTile<T, TVec, Vectors1>(ref Unsafe.Add(ref ap, m), sp, ref bp, N, ref Unsafe.Add(ref c, (nint)m * N), Math.Min(width, M - m), pn, add);
        }
    }

    /// <summary>
    /// <paramref name="rows"/> rows of C (TVectors.Value vectors of outputs, the last one partial when rows says so) over one
    /// chunk of <paramref name="pn"/> steps: the chains, then each vector's accumulators transposed within their 128-bit lanes
    /// (<see cref="IGemvSimd{TVec}.TransposeQuads"/>: vector k's lane q becomes row 4q + k's N columns) and stored row by row.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FewColumnsTile<T, TVec, TVectors>(ref float a, nint sp, ref float b, int N, ref float c, int rows, int pn, bool add)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TVectors : struct, IConstant
    {
        int width = T.Width;
        int V = TVectors.Value;
        int first = V > 1 ? width : rows;
        TVec c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero, d0 = T.Zero, d1 = T.Zero, d2 = T.Zero, d3 = T.Zero;
        TVec e0 = T.Zero, e1 = T.Zero, e2 = T.Zero, e3 = T.Zero, f0 = T.Zero, f1 = T.Zero, f2 = T.Zero, f3 = T.Zero;
        for (int p = 0; p < pn; p++)
        {
            TVec x0 = T.Splat(b);
            TVec x1 = N > 1 ? T.Splat(Unsafe.Add(ref b, 1)) : T.Zero, x2 = N > 2 ? T.Splat(Unsafe.Add(ref b, 2)) : T.Zero;
            TVec x3 = N > 3 ? T.Splat(Unsafe.Add(ref b, 3)) : T.Zero;
            FewColumnsStep<T, TVec>(first == width ? T.Load(ref a) : T.LoadFirst(ref a, first), x0, x1, x2, x3, N, ref c0, ref c1, ref c2, ref c3);
            if (V > 1)
                FewColumnsStep<T, TVec>(T.Load(ref Unsafe.Add(ref a, width)), x0, x1, x2, x3, N, ref d0, ref d1, ref d2, ref d3);
            if (V > 2)
            {
                FewColumnsStep<T, TVec>(T.Load(ref Unsafe.Add(ref a, 2 * width)), x0, x1, x2, x3, N, ref e0, ref e1, ref e2, ref e3);
                FewColumnsStep<T, TVec>(T.Load(ref Unsafe.Add(ref a, 3 * width)), x0, x1, x2, x3, N, ref f0, ref f1, ref f2, ref f3);
            }
            a = ref Unsafe.Add(ref a, sp);
            b = ref Unsafe.Add(ref b, N);
        }
        nint block = (nint)width * N;
        FewColumnsStore<T, TVec>(c0, c1, c2, c3, ref c, N, first, add);
        if (V > 1)
            FewColumnsStore<T, TVec>(d0, d1, d2, d3, ref Unsafe.Add(ref c, block), N, width, add);
        if (V > 2)
        {
            FewColumnsStore<T, TVec>(e0, e1, e2, e3, ref Unsafe.Add(ref c, 2 * block), N, width, add);
            FewColumnsStore<T, TVec>(f0, f1, f2, f3, ref Unsafe.Add(ref c, 3 * block), N, width, add);
        }
    }

    /// <summary>One step of one vector of outputs: accumulator i += dy's vector times x's column i (i &lt; N).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FewColumnsStep<T, TVec>(TVec dy, TVec x0, TVec x1, TVec x2, TVec x3, int N, ref TVec c0, ref TVec c1, ref TVec c2, ref TVec c3)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        c0 = T.MulAdd(dy, x0, c0);
        if (N > 1) c1 = T.MulAdd(dy, x1, c1);
        if (N > 2) c2 = T.MulAdd(dy, x2, c2);
        if (N > 3) c3 = T.MulAdd(dy, x3, c3);
    }

    /// <summary>Rows 0..rows-1 of C from accumulators whose lane j holds row j's column i (i &lt; N; the others zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FewColumnsStore<T, TVec>(TVec v0, TVec v1, TVec v2, TVec v3, ref float c, int N, int rows, bool add)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        T.TransposeQuads(ref v0, ref v1, ref v2, ref v3);
        Unsafe.SkipInit(out QuadBuffer buffer);
        ref float q = ref Unsafe.As<QuadBuffer, float>(ref buffer);
        int width = T.Width;
        T.Store(v0, ref q);
        T.Store(v1, ref Unsafe.Add(ref q, width));
        T.Store(v2, ref Unsafe.Add(ref q, 2 * width));
        T.Store(v3, ref Unsafe.Add(ref q, 3 * width));
        for (int r = 0; r < rows; r++)
        {
            // Row r = 4 lane + k sits in lane r / 4 of vector r % 4.
            Vector128<float> row = Vector128.LoadUnsafe(ref Unsafe.Add(ref q, r % 4 * width + r / 4 * 4));
            ref float cr = ref Unsafe.Add(ref c, (nint)r * N);
            if (N == 4)
            {
                if (add) row = Vector128.LoadUnsafe(ref cr) + row;
                row.StoreUnsafe(ref cr);
                continue;
            }
            if (add) row = VectorMath.LoadRow128(ref cr, N, 0f) + row;
            VectorMath.StoreRow128(row, ref cr, N);
        }
    }
}
