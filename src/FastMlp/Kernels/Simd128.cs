// Template for every vector width: Simd256.cs and Simd512.cs are generated from this file by
// generate-widths.sh (a textual 128 -> 256 / 512 substitution). Edit this file, then regenerate.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static FastMlp.Kernels.VectorMath;

namespace FastMlp.Kernels;

/// <summary>
/// The Vector128 kernels: vector math (derivations in <see cref="VectorMath"/>), the generic element-wise
/// drivers, row-wise softmax, level-1 operations and optimizer updates.
/// </summary>
/// <remarks>
/// Tail strategy (every kernel): the last n mod W elements (n mod 4W for the quad-based math and element-wise
/// drivers) are copied into a stack buffer of one vector (one quad) padded with the operation's identity (0 for
/// sums, -Inf for softmax exponentials), processed by the same vector code and copied back. Each element therefore goes through exactly the same instructions wherever it sits, the result
/// does not depend on alignment or on the position of the tail, and nothing reads or writes out of bounds. (A softmax
/// row of at most one vector, the common output layer, is read and written with masked moves instead: same lanes, no copies.)
/// Reductions accumulate in a fixed order that depends on the length only.
/// </remarks>
internal static class Simd128
{
    private static int W => Vector128<float>.Count;

    // ---------------------------------------------------------------- math (derivations in VectorMath)

    /// <summary>S(r) ~ (e^r - 1)/r for |r| &lt;= ln2/2.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Quad128 ExpSeries(Quad128 r) =>
        Quad128.Horner(Quad128.Horner(Quad128.Horner(Quad128.Horner(Quad128.MulAdd(Quad128.Splat(S5), r, S4), r, S3), r, S2), r, S1), r, 1f);

    /// <summary>e^x for x already clamped to [-104, 89] (or NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Quad128 ExpClamped(Quad128 xc)
    {
        Quad128 nf = Quad128.Round(xc * Log2E);
        Quad128 r = Quad128.MulAdd(nf, -Ln2Hi, xc);
        r = Quad128.MulAdd(nf, -Ln2Lo, r);
        return Quad128.ScaleByPow2(Quad128.MulAdd(ExpSeries(r), r, 1f), nf);
    }

    /// <summary>e^x; NaN stays NaN, overflow gives +Inf, underflow 0 (subnormals correctly rounded from e^r).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Exp(Quad128 x) => ExpClamped(Quad128.AtMost(Quad128.AtLeast(x, ExpClampLow), ExpClampHigh));

    /// <summary>e^x - 1 for x already clamped to [-87.5, 88] (or NaN), with full relative accuracy near 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Quad128 ExpM1Clamped(Quad128 xc)
    {
        Quad128 nf = Quad128.Round(xc * Log2E);
        Quad128 r = Quad128.MulAdd(nf, -Ln2Hi, xc);
        r = Quad128.MulAdd(nf, -Ln2Lo, r);
        Quad128 q = ExpSeries(r) * r;
        Quad128 s = Quad128.Pow2(nf);
        return Quad128.MulAdd(s, q, s + -1f);
    }

    /// <summary>e^x - 1 with full relative accuracy near 0 (x clamped to [-87.5, 88]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 ExpM1(Quad128 x) => ExpM1Clamped(Quad128.AtMost(Quad128.AtLeast(x, ExpM1ClampLow), ExpM1ClampHigh));

    /// <summary>ln(1 + t) for t in [0, 1] (NaN propagates).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Quad128 Log1pUnit(Quad128 t)
    {
        Quad128 u = t + 1f;
        Quad128 c = t - (u + -1f);                                // rounding error of 1 + t
        Quad128 big = Quad128.GreaterThan(u, Sqrt2);
        Quad128 f = Quad128.Select(big, u * 0.5f, u) + -1f;
        Quad128 k = big & Quad128.Splat(1f);                       // 1.0f where big, else 0
        Quad128 z = f * f;
        Quad128 p = Quad128.MulAdd(Quad128.Splat(L0), f, L1);
        p = Quad128.Horner(p, f, L2);
        p = Quad128.Horner(p, f, L3);
        p = Quad128.Horner(p, f, L4);
        p = Quad128.Horner(p, f, L5);
        p = Quad128.Horner(p, f, L6);
        p = Quad128.Horner(p, f, L7);
        p = Quad128.Horner(p, f, L8);
        Quad128 y = p * f * z;
        y = Quad128.MulAdd(k, Ln2Lo, y);
        y = Quad128.MulAdd(z, -0.5f, y);
        y = y + Quad128.Divide(c, u);
        return Quad128.MulAdd(k, Ln2Hi, f + y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Sigmoid(Quad128 x)
    {
        // -|x| <= 0, so only the lower clamp is needed.
        Quad128 t = ExpClamped(Quad128.AtLeast(Quad128.NegAbs(x), ExpClampLow));
        Quad128 num = Quad128.SelectWhereAtLeast(x, 0f, Quad128.Splat(1f), t);
        return Quad128.Divide(num, t + 1f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Tanh(Quad128 x)
    {
        // m = expm1(-2|x|) in [-1, 0]; tanh|x| = -m / (2 + m). -2|x| <= 0: only the lower clamp is needed.
        Quad128 m = ExpM1Clamped(Quad128.AtLeast(Quad128.Abs(x) * -2f, ExpM1ClampLow));
        Quad128 t = Quad128.Divide(m, m + 2f);
        // |t| = tanh|x|: the sign bit comes from x, the rest from t (t is +-0 at x = +-0, so tanh(-0) = -0, tanh(+0) = +0).
        return Quad128.Select(Quad128.Splat(-0f), x, t);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Softplus(Quad128 x)
    {
        Quad128 pos = Quad128.SelectWhereGreater(x, 0f, x, default);
        return pos + Log1pUnit(ExpClamped(Quad128.AtLeast(Quad128.NegAbs(x), ExpClampLow)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Elu(Quad128 x, float alpha) =>
        Quad128.SelectWhereGreater(x, 0f, x, ExpM1(x) * alpha);

    // ---------------------------------------------------------------- element-wise drivers

    // The drivers have a single call site of the operation: the padded tail block goes through the same loop body
    // with its pointers moved to a stack buffer. Inlining a long kernel (softplus is ~80 instructions per vector
    // on four vectors) twice made the method too large for the JIT to keep the quads in registers.

    /// <summary>y[i] = op(x[i]); x and y may be the same span.</summary>
    public static void Unary<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryOp
    {
        int n = x.Length, q = Quad128.Count, full = n - n % q;
        Span<float> buf = stackalloc float[q];
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        for (int i = 0; i < n; i += q)
        {
            bool tail = i == full;
            if (tail)
            {
                buf.Clear();
                x.Slice(i).CopyTo(buf);
            }
            ref float src = ref tail ? ref buf[0] : ref Unsafe.Add(ref px, i);
            ref float dst = ref tail ? ref buf[0] : ref Unsafe.Add(ref py, i);
            Quad128.Store(op.Invoke(Quad128.Load(ref src, 0)), ref dst, 0);
            if (tail) buf.Slice(0, n - i).CopyTo(y.Slice(i));
        }
    }

    /// <summary>d[i] = op(y[i], d[i]).</summary>
    public static void Binary<TOp>(TOp op, ReadOnlySpan<float> y, Span<float> d) where TOp : struct, IBinaryOp
    {
        int n = d.Length, q = Quad128.Count, full = n - n % q;
        Span<float> buf = stackalloc float[2 * q];
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pd = ref MemoryMarshal.GetReference(d);
        for (int i = 0; i < n; i += q)
        {
            bool tail = i == full;
            if (tail)
            {
                buf.Clear();
                y.Slice(i, n - i).CopyTo(buf);
                d.Slice(i).CopyTo(buf.Slice(q));
            }
            ref float srcY = ref tail ? ref buf[0] : ref Unsafe.Add(ref py, i);
            ref float dstD = ref tail ? ref buf[q] : ref Unsafe.Add(ref pd, i);
            Quad128.Store(op.Invoke(Quad128.Load(ref srcY, 0), Quad128.Load(ref dstD, 0)), ref dstD, 0);
            if (tail) buf.Slice(q, n - i).CopyTo(d.Slice(i));
        }
    }

    /// <summary>Row-wise softmax of x into y (x and y may be the same span); a NaN in a row makes the row NaN, +Inf logits share the mass.</summary>
    public static void Softmax(ReadOnlySpan<float> x, Span<float> y, int width)
    {
        int r = width <= W ? SoftmaxRowBlocks(x, y, width) : 0;
        for (; r < x.Length; r += width)
            SoftmaxRow(x.Slice(r, width), y.Slice(r, width));
    }

    private static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length <= W)
        {
            SoftmaxVectorRow(x, y);
            return;
        }
        if (x.Length < Quad128.Count)
        {
            SoftmaxShortRow(x, y);
            return;
        }
        int n = x.Length, i = 0, q = Quad128.Count;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        // 1. maximum. Native max: with a NaN in the row it may return anything, but then step 2 turns the NaN into a
        // NaN sum and the whole row becomes NaN anyway; only the +Inf branch has to look for NaN itself.
        Vector128<float> m0 = Vector128.Create(float.NegativeInfinity), m1 = m0, m2 = m0, m3 = m0;
        for (; i <= n - q; i += q)
        {
            Quad128 v = Quad128.Load(ref px, (nuint)i);
            m0 = Vector128.MaxNative(m0, v.A);
            m1 = Vector128.MaxNative(m1, v.B);
            m2 = Vector128.MaxNative(m2, v.C);
            m3 = Vector128.MaxNative(m3, v.D);
        }
        Vector128<float> vmax = Vector128.MaxNative(Vector128.MaxNative(m0, m1), Vector128.MaxNative(m2, m3));
        float max = MaxAcross(vmax);
        for (; i < n; i++) { float e = Unsafe.Add(ref px, i); if (e > max) max = e; }
        if (float.IsPositiveInfinity(max))
        {
            SoftmaxInfiniteMaxRow(x, y);
            return;
        }
        // 2. e^(z - max) and their sum; z - max <= 0 (or NaN), so only the lower clamp is needed. The tail is padded
        // with -Inf, whose exponential is 0.
        float negMax = -max;
        Quad128 sum = default;
        for (i = 0; i <= n - q; i += q)
        {
            Quad128 e = ExpClamped(Quad128.AtLeast(Quad128.Load(ref px, (nuint)i) + negMax, ExpClampLow));
            Quad128.Store(e, ref py, (nuint)i);
            sum += e;
        }
        if (i < n)
        {
            Span<float> buf = stackalloc float[q];
            buf.Fill(float.NegativeInfinity);
            x.Slice(i).CopyTo(buf);
            Quad128 e = ExpClamped(Quad128.AtLeast(Quad128.Load(ref buf[0], 0) + negMax, ExpClampLow));
            sum += e;
            Quad128.Store(e, ref buf[0], 0);
            buf.Slice(0, n - i).CopyTo(y.Slice(i));
        }
        // 3. scale by 1 / sum (a plain multiply: the same result in the quad loop, the vector loop and the scalar tail).
        float invSum = 1f / Vector128.Sum(Quad128.Sum(sum));
        Vector128<float> inv = Vector128.Create(invSum);
        for (i = 0; i <= n - q; i += q)
            Quad128.Store(Quad128.Load(ref py, (nuint)i) * invSum, ref py, (nuint)i);
        for (; i <= n - W; i += W)
            (Vector128.LoadUnsafe(ref py, (nuint)i) * inv).StoreUnsafe(ref py, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref py, i) *= invSum;
    }

    /// <summary>
    /// A row of at most one vector (a classifier's output layer, one sample at a time): <see cref="TrySoftmaxVector"/> on one
    /// -Inf padded vector, without the loops, the scalar maximum and their set-up.
    /// </summary>
    private static void SoftmaxVectorRow(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length;
        y = y.Slice(0, n);
        if (!TrySoftmaxVector(LoadRow128(ref MemoryMarshal.GetReference(x), n, float.NegativeInfinity), out Vector128<float> e))
        {
            SoftmaxInfiniteMaxRow(x, y);
            return;
        }
        StoreRow128(e, ref MemoryMarshal.GetReference(y), n);
    }

    /// <summary>
    /// Softmax of a row held in one register, its lanes past the row padded with -Inf (whose exponential is 0): SoftmaxRow's
    /// operations on that one vector, so bitwise the general path's result (its padded quad only adds exact zeros to this
    /// vector's sum). False, and <paramref name="y"/> unspecified, when the row's maximum is +Inf: the caller then takes
    /// <see cref="SoftmaxInfiniteMaxRow"/>. The one-sample forward calls it on the output layer still in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TrySoftmaxVector(Vector128<float> v, out Vector128<float> y)
    {
        float max = MaxAcross(v);
        // The element-wise math works on quads; the four copies of one vector are the same instructions on equal inputs,
        // which the JIT's value numbering merges.
        Vector128<float> z = AtLeast(v + Vector128.Create(-max), ExpClampLow);
        Vector128<float> e = ExpClamped(new Quad128(z, z, z, z)).A;
        y = e * (1f / Vector128.Sum(e));
        return !float.IsPositiveInfinity(max);
    }

    /// <summary>
    /// Rows of at most one vector, W rows at a time: the block is turned into columns (lane i of column j is row i's
    /// element j), so that every step of <see cref="TrySoftmaxVector"/> — maximum, exponential, sum, scale — is one vector
    /// operation for W rows instead of a horizontal chain per row (a batch of a classifier's outputs: 256 rows of 2 took
    /// 35 ns per row one by one). Bitwise the one-row result (<see cref="SoftmaxColumns"/>). Returns the elements done;
    /// the rows past the last whole block are the caller's.
    /// </summary>
    [SkipLocalsInit]
    private static int SoftmaxRowBlocks(ReadOnlySpan<float> x, Span<float> y, int width)
    {
        Unsafe.SkipInit(out BlockBuffer columns);
        Unsafe.SkipInit(out BlockBuffer sums);
        ref float t = ref Unsafe.As<BlockBuffer, float>(ref columns);
        ref float u = ref Unsafe.As<BlockBuffer, float>(ref sums);
        int block = W * width, done = 0;
        for (; done <= x.Length - block; done += block)
        {
            ref float bx = ref Unsafe.Add(ref MemoryMarshal.GetReference(x), done);
            for (int i = 0; i < W; i++)
                for (int j = 0; j < width; j++)
                    Unsafe.Add(ref t, j * W + i) = Unsafe.Add(ref bx, i * width + j);
            if (!SoftmaxColumns(ref t, ref u, width))
            {
                // A row of the block has a +Inf maximum (rare): the row kernel's case analysis, row by row.
                for (int r = done; r < done + block; r += width)
                    SoftmaxRow(x.Slice(r, width), y.Slice(r, width));
                continue;
            }
            ref float by = ref Unsafe.Add(ref MemoryMarshal.GetReference(y), done);
            for (int i = 0; i < W; i++)
                for (int j = 0; j < width; j++)
                    Unsafe.Add(ref by, i * width + j) = Unsafe.Add(ref t, j * W + i);
        }
        return done;
    }

    /// <summary>
    /// Softmax of W rows held as <paramref name="width"/> columns at t[j W..], in place; <paramref name="u"/> is scratch of the
    /// same size. Lane by lane the operations of <see cref="TrySoftmaxVector"/> on the row padded with -Inf: the same
    /// maximum (order-free), the same exponentials, the sum over the row in the complete binary tree of Vector128.Sum
    /// (pairs of neighbouring elements, then pairs of pairs; the padding's exponentials are +0, and adding +0 to a
    /// non-negative sum changes nothing, so those additions are skipped), then times 1 / sum. False, the columns unspecified,
    /// when some row's maximum is +Inf.
    /// </summary>
    private static bool SoftmaxColumns(ref float t, ref float u, int width)
    {
        Vector128<float> m = Vector128.Create(float.NegativeInfinity);
        for (int j = 0; j < width; j++)
            m = Vector128.MaxNative(m, Vector128.LoadUnsafe(ref t, (nuint)(j * W)));
        if (Vector128.EqualsAny(m, Vector128.Create(float.PositiveInfinity)))
            return false;
        Vector128<float> negMax = -m;
        // Whole quads of columns; the columns past width in the last quad are scratch and never summed or stored.
        for (int j = 0; j < width; j += 4)
        {
            Quad128 c = Quad128.Load(ref t, (nuint)(j * W));
            Quad128 z = Quad128.AtLeast(new Quad128(c.A + negMax, c.B + negMax, c.C + negMax, c.D + negMax), ExpClampLow);
            Quad128 e = ExpClamped(z);
            Quad128.Store(e, ref t, (nuint)(j * W));
            Quad128.Store(e, ref u, (nuint)(j * W));
        }
        for (int step = 1; step < width; step *= 2)
            for (int j = 0; j + step < width; j += 2 * step)
            {
                ref float sj = ref Unsafe.Add(ref u, j * W);
                (Vector128.LoadUnsafe(ref sj) + Vector128.LoadUnsafe(ref sj, (nuint)(step * W))).StoreUnsafe(ref sj);
            }
        Vector128<float> inv = Vector128<float>.One / Vector128.LoadUnsafe(ref u);
        for (int j = 0; j < width; j++)
            (Vector128.LoadUnsafe(ref t, (nuint)(j * W)) * inv).StoreUnsafe(ref t, (nuint)(j * W));
        return true;
    }

    /// <summary>
    /// A row of more than one vector but less than one quad: SoftmaxRow's operations on its -Inf padded tail quad alone
    /// (bitwise its result: the general path adds this quad's exponentials to a zero sum).
    /// </summary>
    /// <remarks>Not inlined into SoftmaxRow: the quad temporaries' stack frame would then be set up for every row.</remarks>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.NoInlining)]
    private static void SoftmaxShortRow(ReadOnlySpan<float> x, Span<float> y)
    {
        Unsafe.SkipInit(out QuadBuffer scratch);
        Span<float> buf = ((Span<float>)scratch).Slice(0, Quad128.Count);
        buf.Fill(float.NegativeInfinity);
        x.CopyTo(buf);
        ref float pb = ref MemoryMarshal.GetReference(buf);
        Quad128 v = Quad128.Load(ref pb, 0);
        float max = MaxAcross(Vector128.MaxNative(Vector128.MaxNative(v.A, v.B), Vector128.MaxNative(v.C, v.D)));
        if (float.IsPositiveInfinity(max))
        {
            SoftmaxInfiniteMaxRow(x, y);
            return;
        }
        Quad128 e = ExpClamped(Quad128.AtLeast(v + -max, ExpClampLow));
        Quad128.Store(e * (1f / Vector128.Sum(Quad128.Sum(e))), ref pb, 0);
        buf.Slice(0, x.Length).CopyTo(y);
    }

    /// <summary>A row whose maximum is +Inf: NaN if it holds a NaN, else the +Inf logits share the mass.</summary>
    /// <remarks>Not inlined: the rare case's frame would otherwise be set up (a stack probe) on every row.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SoftmaxInfiniteMaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        if (HasNaN(x))
        {
            y.Fill(float.NaN);
            return;
        }
        x.CopyTo(y);
        ActivationKernels.SoftmaxInfiniteRow(y);
    }

    private static bool HasNaN(ReadOnlySpan<float> row)
    {
        foreach (float v in row) if (float.IsNaN(v)) return true;
        return false;
    }

    // ---------------------------------------------------------------- level 1

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Tail(ReadOnlySpan<float> x, int i, Span<float> buf)
    {
        buf.Clear();
        x.Slice(i).CopyTo(buf);
        return Vector128.Create<float>(buf);
    }

    /// <summary>Sum of x[i] y[i]: two accumulators, zero-padded tail, fixed horizontal order.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        Vector128<float> a0 = Vector128<float>.Zero, a1 = Vector128<float>.Zero;
        for (; i <= n - 2 * W; i += 2 * W)
        {
            a0 = MulAdd(Vector128.LoadUnsafe(ref px, (nuint)i), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
            a1 = MulAdd(Vector128.LoadUnsafe(ref px, (nuint)(i + W)), Vector128.LoadUnsafe(ref py, (nuint)(i + W)), a1);
        }
        if (i <= n - W)
        {
            a0 = MulAdd(Vector128.LoadUnsafe(ref px, (nuint)i), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
            i += W;
        }
        if (i < n)
        {
            Span<float> b = stackalloc float[2 * W];
            a1 = MulAdd(Tail(x, i, b.Slice(0, W)), Tail(y.Slice(0, n), i, b.Slice(W)), a1);
        }
        return Vector128.Sum(a0 + a1);
    }

    /// <summary>Sum of x[i] (NaN/Inf propagate).</summary>
    public static float Sum(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        Vector128<float> a = Vector128<float>.Zero;
        for (; i <= n - W; i += W)
            a += Vector128.LoadUnsafe(ref px, (nuint)i);
        if (i < n)
        {
            Span<float> b = stackalloc float[W];
            a += Tail(x, i, b);
        }
        return Vector128.Sum(a);
    }

    /// <summary>True when no element is NaN or infinite (x * 0 is 0 exactly for finite x).</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        Vector128<float> a = Vector128<float>.Zero;
        for (; i <= n - W; i += W)
            a += Vector128.LoadUnsafe(ref px, (nuint)i) * Vector128<float>.Zero;
        if (i < n)
        {
            Span<float> b = stackalloc float[W];
            a += Tail(x, i, b) * Vector128<float>.Zero;
        }
        return a == Vector128<float>.Zero;
    }

    /// <summary>y[i] = alpha x[i] + (accumulate ? y[i] : 0).</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        Vector128<float> va = Vector128.Create(alpha);
        for (; i <= n - W; i += W)
        {
            Vector128<float> v = Vector128.LoadUnsafe(ref px, (nuint)i);
            (accumulate ? MulAdd(va, v, Vector128.LoadUnsafe(ref py, (nuint)i)) : va * v).StoreUnsafe(ref py, (nuint)i);
        }
        if (i < n)
        {
            Span<float> b = stackalloc float[2 * W];
            Vector128<float> v = Tail(x, i, b.Slice(0, W));
            Vector128<float> r = accumulate ? MulAdd(va, v, Tail(y.Slice(0, n), i, b.Slice(W))) : va * v;
            r.CopyTo(b);
            b.Slice(0, n - i).CopyTo(y.Slice(i));
        }
    }

    /// <summary>y[i] += x[i].</summary>
    public static void Add(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        for (; i <= n - W; i += W)
            (Vector128.LoadUnsafe(ref py, (nuint)i) + Vector128.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref py, i) += Unsafe.Add(ref px, i); // a plain add is the same instruction in every lane
    }

    // ---------------------------------------------------------------- optimizers

    // Each update is one vector block function called for the full blocks and once for a padded tail block.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MomentumBlock(ref float p, ref float g, ref float m, nuint i, Vector128<float> beta, Vector128<float> negLr)
    {
        Vector128<float> mv = MulAdd(beta, Vector128.LoadUnsafe(ref m, i), negLr * Vector128.LoadUnsafe(ref g, i));
        mv.StoreUnsafe(ref m, i);
        (Vector128.LoadUnsafe(ref p, i) + mv).StoreUnsafe(ref p, i);
    }

    public static void Momentum(Span<float> p, ReadOnlySpan<float> g, Span<float> m, float lr, float beta)
    {
        int n = p.Length, i = 0;
        Vector128<float> vb = Vector128.Create(beta), vl = Vector128.Create(-lr);
        for (; i <= n - W; i += W)
            MomentumBlock(ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g), ref MemoryMarshal.GetReference(m), (nuint)i, vb, vl);
        if (i < n)
        {
            int t = n - i;
            Span<float> b = stackalloc float[3 * W];
            p.Slice(i).CopyTo(b); g.Slice(i, t).CopyTo(b.Slice(W)); m.Slice(i, t).CopyTo(b.Slice(2 * W));
            MomentumBlock(ref b[0], ref b[W], ref b[2 * W], 0, vb, vl);
            b.Slice(0, t).CopyTo(p.Slice(i)); b.Slice(2 * W, t).CopyTo(m.Slice(i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaledStepBlock(ref float p, ref float g, ref float h, nuint i, Vector128<float> decay, Vector128<float> gain,
        Vector128<float> lr, Vector128<float> eps)
    {
        // h = decay h + gain g^2; p -= lr g / (sqrt(h) + eps)   (AdaGrad: decay = gain = 1; RMSProp: rho, 1 - rho)
        Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
        Vector128<float> hv = MulAdd(decay, Vector128.LoadUnsafe(ref h, i), gain * (gv * gv));
        hv.StoreUnsafe(ref h, i);
        (Vector128.LoadUnsafe(ref p, i) - lr * gv / (Vector128.Sqrt(hv) + eps)).StoreUnsafe(ref p, i);
    }

    public static void ScaledStep(Span<float> p, ReadOnlySpan<float> g, Span<float> h, float lr, float decay, float gain, float eps)
    {
        int n = p.Length, i = 0;
        Vector128<float> vd = Vector128.Create(decay), vg = Vector128.Create(gain), vl = Vector128.Create(lr), ve = Vector128.Create(eps);
        for (; i <= n - W; i += W)
            ScaledStepBlock(ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g), ref MemoryMarshal.GetReference(h), (nuint)i, vd, vg, vl, ve);
        if (i < n)
        {
            int t = n - i;
            Span<float> b = stackalloc float[3 * W];
            p.Slice(i).CopyTo(b); g.Slice(i, t).CopyTo(b.Slice(W)); h.Slice(i, t).CopyTo(b.Slice(2 * W));
            ScaledStepBlock(ref b[0], ref b[W], ref b[2 * W], 0, vd, vg, vl, ve);
            b.Slice(0, t).CopyTo(p.Slice(i)); b.Slice(2 * W, t).CopyTo(h.Slice(i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AdamBlock(ref float p, ref float g, ref float m, ref float v, nuint i, in AdamConstants c)
    {
        Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
        Vector128<float> mv = MulAdd(Vector128.Create(c.Beta1), Vector128.LoadUnsafe(ref m, i), Vector128.Create(c.OneMinusBeta1) * gv);
        Vector128<float> vv = MulAdd(Vector128.Create(c.Beta2), Vector128.LoadUnsafe(ref v, i), Vector128.Create(c.OneMinusBeta2) * (gv * gv));
        mv.StoreUnsafe(ref m, i);
        vv.StoreUnsafe(ref v, i);
        Vector128<float> step = Vector128.Create(c.LearningRate) * (mv * Vector128.Create(c.InverseCorrection1))
            / (Vector128.Sqrt(vv * Vector128.Create(c.InverseCorrection2)) + Vector128.Create(c.Epsilon));
        (Vector128.LoadUnsafe(ref p, i) - step).StoreUnsafe(ref p, i);
    }

    public static void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in AdamConstants c)
    {
        int n = p.Length, i = 0;
        for (; i <= n - W; i += W)
            AdamBlock(ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g), ref MemoryMarshal.GetReference(m),
                ref MemoryMarshal.GetReference(v), (nuint)i, c);
        if (i < n)
        {
            int t = n - i;
            Span<float> b = stackalloc float[4 * W];
            p.Slice(i).CopyTo(b); g.Slice(i, t).CopyTo(b.Slice(W)); m.Slice(i, t).CopyTo(b.Slice(2 * W)); v.Slice(i, t).CopyTo(b.Slice(3 * W));
            AdamBlock(ref b[0], ref b[W], ref b[2 * W], ref b[3 * W], 0, c);
            b.Slice(0, t).CopyTo(p.Slice(i)); b.Slice(2 * W, t).CopyTo(m.Slice(i)); b.Slice(3 * W, t).CopyTo(v.Slice(i));
        }
    }
}
