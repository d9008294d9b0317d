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
        // dx[r, i] = sum_o dy[r, o] w[o, i]: M = rows, N = inputs, reduction P = outputs; A(m, p) = dy[m * outputs + p].
        OuterProduct<T, TVec>(ref MemoryMarshal.GetReference(dy), outputs, 1, ref MemoryMarshal.GetReference(w),
            ref MemoryMarshal.GetReference(dx), rows, inputs, outputs, accumulate: false);
    }

    private static void WeightGradientSimd<T, TVec>(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        CheckWeightGradient(dy, x, dw, db, rows, inputs, outputs);
        // dw[o, i] = sum_r dy[r, o] x[r, i]: M = outputs, N = inputs, reduction P = rows; A(m, p) = dy[p * outputs + m].
        ref float pdy = ref MemoryMarshal.GetReference(dy);
        OuterProduct<T, TVec>(ref pdy, 1, outputs, ref MemoryMarshal.GetReference(x),
            ref MemoryMarshal.GetReference(dw), outputs, inputs, rows, accumulate);
        ColumnSums<T, TVec>(ref pdy, ref MemoryMarshal.GetReference(db), rows, outputs, accumulate);
    }

    /// <summary>
    /// Forward for one sample (the latency path: no packing, no set-up): 8 rows of W at a time, one vector accumulator
    /// per output (8 independent chains), then a 4-row block with clamped pointers for the rest. Each output is summed in
    /// exactly the order <see cref="DotForward"/> uses, so a one-row call and row r of a batch agree bitwise.
    /// </summary>
    [SkipLocalsInit]
    private static void Gemv<T, TVec>(ref float x, ref float w, ref float b, ref float y, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        int o = 0;
        for (; o + 8 <= outputs; o += 8)
        {
            ref float w0 = ref Unsafe.Add(ref w, (nint)o * inputs);
            nint ld = inputs;
            TVec a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero, a4 = T.Zero, a5 = T.Zero, a6 = T.Zero, a7 = T.Zero;
            int k = 0;
            for (; k <= inputs - width; k += width)
            {
                TVec xv = T.Load(ref Unsafe.Add(ref x, k));
                ref float wk = ref Unsafe.Add(ref w0, k);
                a0 = T.MulAdd(xv, T.Load(ref wk), a0);
                a1 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, ld)), a1);
                a2 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, 2 * ld)), a2);
                a3 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, 3 * ld)), a3);
                a4 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, 4 * ld)), a4);
                a5 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, 5 * ld)), a5);
                a6 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, 6 * ld)), a6);
                a7 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, 7 * ld)), a7);
            }
            float s0 = T.Sum(a0), s1 = T.Sum(a1), s2 = T.Sum(a2), s3 = T.Sum(a3);
            float s4 = T.Sum(a4), s5 = T.Sum(a5), s6 = T.Sum(a6), s7 = T.Sum(a7);
            for (; k < inputs; k++)
            {
                float xk = Unsafe.Add(ref x, k);
                ref float wk = ref Unsafe.Add(ref w0, k);
                s0 += xk * wk; s1 += xk * Unsafe.Add(ref wk, ld);
                s2 += xk * Unsafe.Add(ref wk, 2 * ld); s3 += xk * Unsafe.Add(ref wk, 3 * ld);
                s4 += xk * Unsafe.Add(ref wk, 4 * ld); s5 += xk * Unsafe.Add(ref wk, 5 * ld);
                s6 += xk * Unsafe.Add(ref wk, 6 * ld); s7 += xk * Unsafe.Add(ref wk, 7 * ld);
            }
            StoreRow4(ref Unsafe.Add(ref y, o), ref Unsafe.Add(ref b, o), s0, s1, s2, s3, 4);
            StoreRow4(ref Unsafe.Add(ref y, o + 4), ref Unsafe.Add(ref b, o + 4), s4, s5, s6, s7, 4);
        }
        for (; o < outputs; o += 4)
        {
            int no = Math.Min(4, outputs - o);
            ref float w0 = ref Unsafe.Add(ref w, (nint)o * inputs);
            ref float w1 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 1, outputs - 1) * inputs);
            ref float w2 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 2, outputs - 1) * inputs);
            ref float w3 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 3, outputs - 1) * inputs);
            TVec a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero;
            int k = 0;
            for (; k <= inputs - width; k += width)
            {
                TVec xv = T.Load(ref Unsafe.Add(ref x, k));
                a0 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref w0, k)), a0);
                a1 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref w1, k)), a1);
                a2 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref w2, k)), a2);
                a3 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref w3, k)), a3);
            }
            float s0 = T.Sum(a0), s1 = T.Sum(a1), s2 = T.Sum(a2), s3 = T.Sum(a3);
            for (; k < inputs; k++)
            {
                float xk = Unsafe.Add(ref x, k);
                s0 += xk * Unsafe.Add(ref w0, k);
                s1 += xk * Unsafe.Add(ref w1, k);
                s2 += xk * Unsafe.Add(ref w2, k);
                s3 += xk * Unsafe.Add(ref w3, k);
            }
            StoreRow4(ref Unsafe.Add(ref y, o), ref Unsafe.Add(ref b, o), s0, s1, s2, s3, no);
        }
    }

    /// <summary>
    /// Forward on a batch: for each block of 4 W rows (kept hot in L1), every pair of X rows; 2 x 4 dot products
    /// in 8 vector accumulators, reduced along the inputs, 8 horizontal sums at the end.
    /// </summary>
    [SkipLocalsInit]
    private static void DotForward<T, TVec>(ref float x, ref float w, ref float b, ref float y, int rows, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        for (int o = 0; o < outputs; o += 4)
        {
            int no = Math.Min(4, outputs - o);
            ref float w0 = ref Unsafe.Add(ref w, (nint)o * inputs);
            ref float w1 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 1, outputs - 1) * inputs);
            ref float w2 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 2, outputs - 1) * inputs);
            ref float w3 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 3, outputs - 1) * inputs);
            ref float bo = ref Unsafe.Add(ref b, o);
            for (int r = 0; r < rows; r += 2)
            {
                ref float x0 = ref Unsafe.Add(ref x, (nint)r * inputs);
                ref float x1 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 1, rows - 1) * inputs);
                TVec a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
                TVec a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
                int k = 0;
                for (; k <= inputs - width; k += width)
                {
                    TVec xv0 = T.Load(ref Unsafe.Add(ref x0, k));
                    TVec xv1 = T.Load(ref Unsafe.Add(ref x1, k));
                    TVec wv = T.Load(ref Unsafe.Add(ref w0, k));
                    a00 = T.MulAdd(xv0, wv, a00);
                    a10 = T.MulAdd(xv1, wv, a10);
                    wv = T.Load(ref Unsafe.Add(ref w1, k));
                    a01 = T.MulAdd(xv0, wv, a01);
                    a11 = T.MulAdd(xv1, wv, a11);
                    wv = T.Load(ref Unsafe.Add(ref w2, k));
                    a02 = T.MulAdd(xv0, wv, a02);
                    a12 = T.MulAdd(xv1, wv, a12);
                    wv = T.Load(ref Unsafe.Add(ref w3, k));
                    a03 = T.MulAdd(xv0, wv, a03);
                    a13 = T.MulAdd(xv1, wv, a13);
                }
                float s00 = T.Sum(a00), s01 = T.Sum(a01), s02 = T.Sum(a02), s03 = T.Sum(a03);
                float s10 = T.Sum(a10), s11 = T.Sum(a11), s12 = T.Sum(a12), s13 = T.Sum(a13);
                for (; k < inputs; k++)
                {
                    float xa = Unsafe.Add(ref x0, k), xb = Unsafe.Add(ref x1, k);
                    float v0 = Unsafe.Add(ref w0, k), v1 = Unsafe.Add(ref w1, k), v2 = Unsafe.Add(ref w2, k), v3 = Unsafe.Add(ref w3, k);
                    s00 += xa * v0; s01 += xa * v1; s02 += xa * v2; s03 += xa * v3;
                    s10 += xb * v0; s11 += xb * v1; s12 += xb * v2; s13 += xb * v3;
                }
                ref float y0 = ref Unsafe.Add(ref y, (nint)r * outputs + o);
                StoreRow4(ref y0, ref bo, s00, s01, s02, s03, no);
                if (r + 1 < rows)
                    StoreRow4(ref Unsafe.Add(ref y0, outputs), ref bo, s10, s11, s12, s13, no);
            }
        }
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

    /// <summary>
    /// C[m, n] = (accumulate ? C[m, n] : 0) + sum_p A(m, p) B[p, n], with A(m, p) = a[m * sm + p * sp], B [P x N] and
    /// C [M x N] row-major. The reduction is cut into chunks whose B panel (chunk x 2 vectors) is 16 KiB; within a
    /// chunk, each 2-vector column panel of B is reused by every block of 4 rows of C (8 accumulators).
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
        int chunk = PanelBytes / (2 * width * sizeof(float));
        for (int p0 = 0; p0 < P; p0 += chunk)
        {
            int pn = Math.Min(chunk, P - p0);
            bool add = accumulate || p0 > 0;
            ref float ap = ref Unsafe.Add(ref a, p0 * sp);
            ref float bp = ref Unsafe.Add(ref bm, (nint)p0 * N);
            int n = 0;
            for (; n <= N - 2 * width; n += 2 * width)
                for (int m = 0; m < M; m += 4)
                    Outer4x2<T, TVec>(ref ap, sm, sp, ref Unsafe.Add(ref bp, n), N, ref Unsafe.Add(ref c, (nint)m * N + n), m, M, pn, add);
            for (; n <= N - width; n += width)
                for (int m = 0; m < M; m += 4)
                    Outer4x1<T, TVec>(ref ap, sm, sp, ref Unsafe.Add(ref bp, n), N, ref Unsafe.Add(ref c, (nint)m * N + n), m, M, pn, add);
            for (; n < N; n++)
                for (int m = 0; m < M; m++)
                {
                    float sum = 0f;
                    for (int p = 0; p < pn; p++)
                        sum += Unsafe.Add(ref ap, m * sm + p * sp) * Unsafe.Add(ref bp, (nint)p * N + n);
                    ref float cmn = ref Unsafe.Add(ref c, (nint)m * N + n);
                    cmn = add ? cmn + sum : sum;
                }
        }
    }

    /// <summary>4 rows x 2 vectors of C in 8 accumulators; rows past M re-read row M-1 and are not stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Outer4x2<T, TVec>(ref float a, nint sm, nint sp, ref float b, int ldb, ref float c, int m, int M, int pn, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        ref float a0 = ref Unsafe.Add(ref a, m * sm);
        ref float a1 = ref Unsafe.Add(ref a, Math.Min(m + 1, M - 1) * sm);
        ref float a2 = ref Unsafe.Add(ref a, Math.Min(m + 2, M - 1) * sm);
        ref float a3 = ref Unsafe.Add(ref a, Math.Min(m + 3, M - 1) * sm);
        TVec c00 = T.Zero, c01 = T.Zero, c10 = T.Zero, c11 = T.Zero, c20 = T.Zero, c21 = T.Zero, c30 = T.Zero, c31 = T.Zero;
        nint ap = 0;
        ref float bp = ref b;
        for (int p = 0; p < pn; p++)
        {
            TVec b0 = T.Load(ref bp);
            TVec b1 = T.Load(ref Unsafe.Add(ref bp, width));
            TVec av = T.Splat(Unsafe.Add(ref a0, ap));
            c00 = T.MulAdd(av, b0, c00);
            c01 = T.MulAdd(av, b1, c01);
            av = T.Splat(Unsafe.Add(ref a1, ap));
            c10 = T.MulAdd(av, b0, c10);
            c11 = T.MulAdd(av, b1, c11);
            av = T.Splat(Unsafe.Add(ref a2, ap));
            c20 = T.MulAdd(av, b0, c20);
            c21 = T.MulAdd(av, b1, c21);
            av = T.Splat(Unsafe.Add(ref a3, ap));
            c30 = T.MulAdd(av, b0, c30);
            c31 = T.MulAdd(av, b1, c31);
            ap += sp;
            bp = ref Unsafe.Add(ref bp, ldb);
        }
        int rows = Math.Min(4, M - m);
        StoreC2<T, TVec>(ref c, c00, c01, add);
        if (rows > 1) StoreC2<T, TVec>(ref Unsafe.Add(ref c, ldb), c10, c11, add);
        if (rows > 2) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 2 * ldb), c20, c21, add);
        if (rows > 3) StoreC2<T, TVec>(ref Unsafe.Add(ref c, 3 * ldb), c30, c31, add);
    }

    /// <summary>4 rows x 1 vector of C (the column tail of <see cref="Outer4x2"/>), the reduction unrolled twice: 8 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Outer4x1<T, TVec>(ref float a, nint sm, nint sp, ref float b, int ldb, ref float c, int m, int M, int pn, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        ref float a0 = ref Unsafe.Add(ref a, m * sm);
        ref float a1 = ref Unsafe.Add(ref a, Math.Min(m + 1, M - 1) * sm);
        ref float a2 = ref Unsafe.Add(ref a, Math.Min(m + 2, M - 1) * sm);
        ref float a3 = ref Unsafe.Add(ref a, Math.Min(m + 3, M - 1) * sm);
        TVec c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero;
        TVec d0 = T.Zero, d1 = T.Zero, d2 = T.Zero, d3 = T.Zero;
        int p = 0;
        for (; p + 1 < pn; p += 2)
        {
            nint ap = p * sp;
            TVec b0 = T.Load(ref Unsafe.Add(ref b, (nint)p * ldb));
            TVec b1 = T.Load(ref Unsafe.Add(ref b, (nint)(p + 1) * ldb));
            c0 = T.MulAdd(T.Splat(Unsafe.Add(ref a0, ap)), b0, c0);
            c1 = T.MulAdd(T.Splat(Unsafe.Add(ref a1, ap)), b0, c1);
            c2 = T.MulAdd(T.Splat(Unsafe.Add(ref a2, ap)), b0, c2);
            c3 = T.MulAdd(T.Splat(Unsafe.Add(ref a3, ap)), b0, c3);
            ap += sp;
            d0 = T.MulAdd(T.Splat(Unsafe.Add(ref a0, ap)), b1, d0);
            d1 = T.MulAdd(T.Splat(Unsafe.Add(ref a1, ap)), b1, d1);
            d2 = T.MulAdd(T.Splat(Unsafe.Add(ref a2, ap)), b1, d2);
            d3 = T.MulAdd(T.Splat(Unsafe.Add(ref a3, ap)), b1, d3);
        }
        if (p < pn)
        {
            nint ap = p * sp;
            TVec b0 = T.Load(ref Unsafe.Add(ref b, (nint)p * ldb));
            c0 = T.MulAdd(T.Splat(Unsafe.Add(ref a0, ap)), b0, c0);
            c1 = T.MulAdd(T.Splat(Unsafe.Add(ref a1, ap)), b0, c1);
            c2 = T.MulAdd(T.Splat(Unsafe.Add(ref a2, ap)), b0, c2);
            c3 = T.MulAdd(T.Splat(Unsafe.Add(ref a3, ap)), b0, c3);
        }
        int rows = Math.Min(4, M - m);
        StoreC1<T, TVec>(ref c, T.Add(c0, d0), add);
        if (rows > 1) StoreC1<T, TVec>(ref Unsafe.Add(ref c, ldb), T.Add(c1, d1), add);
        if (rows > 2) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 2 * ldb), T.Add(c2, d2), add);
        if (rows > 3) StoreC1<T, TVec>(ref Unsafe.Add(ref c, 3 * ldb), T.Add(c3, d3), add);
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

    /// <summary>db[o] = (accumulate ? db[o] : 0) + sum_r dy[r, o], vectors along o, rows in order.</summary>
    private static void ColumnSums<T, TVec>(ref float dy, ref float db, int rows, int outputs, bool accumulate)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        int o = 0;
        for (; o <= outputs - width; o += width)
        {
            TVec s = T.Zero;
            for (int r = 0; r < rows; r++)
                s = T.Add(s, T.Load(ref Unsafe.Add(ref dy, (nint)r * outputs + o)));
            StoreC1<T, TVec>(ref Unsafe.Add(ref db, o), s, accumulate);
        }
        for (; o < outputs; o++)
        {
            float s = 0f;
            for (int r = 0; r < rows; r++)
                s += Unsafe.Add(ref dy, (nint)r * outputs + o);
            ref float d = ref Unsafe.Add(ref db, o);
            d = accumulate ? d + s : s;
        }
    }
}
