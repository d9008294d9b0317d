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

    /// <summary>Elements per chunk of a long softmax row: x and y of one chunk (16 KiB) fit in L1 together.</summary>
    private const int SoftmaxChunk = 2048;

    /// <summary>Softmax rows at least this long go chunk by chunk (<see cref="SoftmaxChunkedRow"/>).</summary>
    internal const int SoftmaxChunkedMinWidth = 2 * SoftmaxChunk;

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

    /// <summary>Element-wise spans at least this long get aligned stores (<see cref="Unary{TOp}"/>).</summary>
    private const int AlignStoresMinLength = 4096;

    /// <summary>y[i] = op(x[i]); x and y may be the same span.</summary>
    /// <remarks>
    /// Spans of <see cref="AlignStoresMinLength"/> or more are written with vector-aligned stores: the elements before y's
    /// first vector boundary go through the padded block like the tail (same instructions per element, so the same bits
    /// wherever an element sits). Measured on Zen 4 (AVX-512, 64-byte stores that are otherwise split across two cache
    /// lines): exp and softmax of 65536 elements 7-10 % faster, sigmoid about 5 %; at 2048 the extra padded block costs
    /// about what the alignment saves, hence the threshold.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Unary<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryOp
    {
        int n = x.Length, q = Quad128.Count;
        Span<float> buf = stackalloc float[q];
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int head = n >= AlignStoresMinLength ? ToAligned(ref py) : 0, full = n - (n - head) % q;
        for (int i = 0; i < n;)
        {
            bool padded = i < head || i == full;
            int len = i < head ? head : i == full ? n - i : q;
            if (padded)
            {
                buf.Clear();
                x.Slice(i, len).CopyTo(buf);
            }
            ref float src = ref padded ? ref buf[0] : ref Unsafe.Add(ref px, i);
            ref float dst = ref padded ? ref buf[0] : ref Unsafe.Add(ref py, i);
            Quad128.Store(op.Invoke(Quad128.Load(ref src, 0)), ref dst, 0);
            if (padded) buf.Slice(0, len).CopyTo(y.Slice(i));
            i += len;
        }
    }

    /// <summary>d[i] = op(y[i], d[i]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        // Blocks of rows in columns for every row shorter than a quad of vectors (Zen 5, Vector128, 256 rows: 10 wide 63 -> 23 ns a row, 12 wide 58 -> 25).
        int r = width < Quad128.Count ? SoftmaxRowBlocks(x, y, width) : 0;
        for (; r < x.Length; r += width)
            SoftmaxRow(x.Slice(r, width), y.Slice(r, width));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        if (x.Length >= SoftmaxChunkedMinWidth)
        {
            SoftmaxChunkedRow(x, y);
            return;
        }
        int n = x.Length, i = 0, q = Quad128.Count;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        // 1. maximum. Native max: with a NaN in the row it may return anything, but then step 2 turns the NaN into a
        // NaN sum and the whole row becomes NaN anyway; only the +Inf branch has to look for NaN itself.
        float max = RowMax(ref px, n);
        if (float.IsPositiveInfinity(max))
        {
            SoftmaxInfiniteMaxRow(x, y);
            return;
        }
        // 2. e^(z - max) and their sum; z - max <= 0 (or NaN), so only the lower clamp is needed. The tail is padded
        // with -Inf, whose exponential is 0.
        float negMax = -max;
        i = n - n % q;
        Quad128 sum = SoftmaxExpQuads(ref px, ref py, i, negMax);
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
        // 3. scale by 1 / sum.
        ScaleRow(ref py, n, 1f / Vector128.Sum(Quad128.Sum(sum)));
    }

    /// <summary>Vector-aligned element offset: how many elements from p to the first one on a vector boundary (0..W-1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe int ToAligned(ref float p) => (int)((0u - (uint)(nuint)Unsafe.AsPointer(ref p)) % (uint)(4 * W) / 4);

    /// <summary>
    /// The largest of x[0..n) (native max: with a NaN the result is unspecified, see the callers), with the vector loads
    /// aligned: the maximum is exact whatever the order, so the result does not depend on the alignment. (A moved array
    /// only costs speed: the loads are unaligned instructions.)
    /// </summary>
    /// <remarks>Why aligned: a 64-byte load at an address that is not a multiple of 64 reads two cache lines; on Zen 4
    /// the max and scale passes of a 2048 row took 70 and 155 ns unaligned against 40 and 80 aligned.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float RowMax(ref float px, int n)
    {
        int i = 0, q = Quad128.Count, head = Math.Min(ToAligned(ref px), n);
        float max = float.NegativeInfinity;
        for (; i < head; i++) { float e = Unsafe.Add(ref px, i); if (e > max) max = e; }
        Vector128<float> m0 = Vector128.Create(float.NegativeInfinity), m1 = m0, m2 = m0, m3 = m0;
        for (; i <= n - q; i += q)
        {
            Quad128 v = Quad128.Load(ref px, (nuint)i);
            m0 = Vector128.MaxNative(m0, v.A);
            m1 = Vector128.MaxNative(m1, v.B);
            m2 = Vector128.MaxNative(m2, v.C);
            m3 = Vector128.MaxNative(m3, v.D);
        }
        float vmax = MaxAcross(Vector128.MaxNative(Vector128.MaxNative(m0, m1), Vector128.MaxNative(m2, m3)));
        if (vmax > max) max = vmax;
        for (; i < n; i++) { float e = Unsafe.Add(ref px, i); if (e > max) max = e; }
        return max;
    }

    /// <summary>
    /// y[0..n) *= s, with the vector loads and stores aligned (a plain multiply: the same result in every loop, so it does
    /// not depend on the alignment; see <see cref="RowMax"/> for why).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaleRow(ref float py, int n, float s)
    {
        int i = 0, q = Quad128.Count, head = Math.Min(ToAligned(ref py), n);
        for (; i < head; i++) Unsafe.Add(ref py, i) *= s;
        Vector128<float> vs = Vector128.Create(s);
        for (; i <= n - q; i += q)
            Quad128.Store(Quad128.Load(ref py, (nuint)i) * s, ref py, (nuint)i);
        for (; i <= n - W; i += W)
            (Vector128.LoadUnsafe(ref py, (nuint)i) * vs).StoreUnsafe(ref py, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref py, i) *= s;
    }

    /// <summary>
    /// A row of at least <see cref="SoftmaxChunkedMinWidth"/> elements, chunk by chunk (chunks of
    /// <see cref="SoftmaxChunk"/> elements: x and y of one chunk fit in L1 together):
    /// <list type="number">
    /// <item>m_0 = max of chunk 0.</item>
    /// <item>For each chunk c: e_i = e^(x_i - m_c) stored into y, s_c = sum of the e_i (on quads, the last chunk's tail
    /// padded with -Inf), and in the same loop the maximum m_(c+1) of the next chunk, whose loads and compares ride along
    /// with the exponential's arithmetic instead of making a separate pass over the row.</item>
    /// <item>M = max m_c, total = sum_c s_c e^(m_c - M) (in float64), then y_i *= e^(m_c - M) / total per chunk (float64,
    /// rounded once to float), last chunk first (it is still in L1).</item>
    /// </list>
    /// Error: each element gets the same number of roundings as on the one-chunk path (argument x_i - m_c, exponential,
    /// one rounded scale, one product), and |x_i - m_c| &lt;= |x_i - M| so the argument rounding is no larger; the sum is
    /// better (float over one chunk, float64 across chunks). Bound (tested against float64 in ElementwiseKernelTests, rows
    /// of 4095 to 131073 with chunk maxima up to 150 apart): relative error per element &lt;= 1e-6 + 6e-8 (M - x_i), the
    /// second term being the rounding of the float argument, which the one-chunk path has too. Measured: at most
    /// 1.3 (1e-7 + 6e-8 (M - x_i)) on AVX-512 and 2.4 on Vector128 (its chunk sums run over fewer lanes), where the
    /// one-chunk path on a 4095 row reaches 2.0 and 2.8.
    /// Semantics as the one-chunk path: a NaN anywhere makes the row NaN (its exponential makes its chunk's sum NaN), a
    /// chunk that is all -Inf gets zeros (its exponentials are taken with a shift of 0 and its scale is e^-Inf = 0), a
    /// row that is all -Inf is NaN, and a +Inf maximum goes to <see cref="SoftmaxInfiniteChunkedRow"/>.
    /// </summary>
    /// <remarks>Rows longer than <see cref="SoftmaxChunk"/> x <see cref="SoftmaxChunkStats.Chunks"/> use longer chunks,
    /// so that the per-chunk state stays in a fixed stack buffer.</remarks>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxChunkedRow(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, q = Quad128.Count, maxChunks = SoftmaxChunkStats.Chunks;
        int chunk = n <= SoftmaxChunk * maxChunks ? SoftmaxChunk : ((n - 1) / maxChunks / q + 1) * q;
        Unsafe.SkipInit(out SoftmaxChunkStats stats);
        Span<double> shift = stats, sums = ((Span<double>)stats).Slice(maxChunks);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        // 1. the first chunk's maximum (native max: a NaN may be lost here, but its exponential makes the sum NaN).
        float next = RowMax(ref px, chunk);
        // 2. per chunk: exponentials and their sum, and the next chunk's maximum.
        int c = 0;
        for (int start = 0; start < n; start += chunk, c++)
        {
            float max = next;
            if (float.IsPositiveInfinity(max))
            {
                SoftmaxInfiniteChunkedRow(x, y, start, sums.Slice(0, c));
                return;
            }
            int len = Math.Min(chunk, n - start), nextStart = start + len, nextLen = Math.Min(chunk, n - nextStart);
            int nextFull = nextLen - nextLen % q, full = len - len % q;
            // A chunk of -Inf only: shift by 0, so that its exponentials are 0 rather than e^(-Inf + Inf) = NaN.
            float negMax = max == float.NegativeInfinity ? 0f : -max;
            next = SoftmaxChunkQuads(ref px, ref py, start, full, negMax, nextFull > 0 ? nextStart : start, Math.Max(nextFull - q, 0), out float chunkSum);
            if (nextFull == 0) next = float.NegativeInfinity;
            for (int j = nextFull; j < nextLen; j++) { float e = Unsafe.Add(ref px, nextStart + j); if (e > next) next = e; }
            if (full < len)
            {
                // Only the last chunk has a tail (chunk is a multiple of q): padded with -Inf, whose exponential is 0.
                Unsafe.SkipInit(out QuadBuffer scratch);
                Span<float> buf = ((Span<float>)scratch).Slice(0, q);
                buf.Fill(float.NegativeInfinity);
                x.Slice(start + full, len - full).CopyTo(buf);
                Quad128 e = ExpClamped(Quad128.AtLeast(Quad128.Load(ref MemoryMarshal.GetReference(buf), 0) + negMax, ExpClampLow));
                chunkSum += Vector128.Sum(Quad128.Sum(e));
                Quad128.Store(e, ref MemoryMarshal.GetReference(buf), 0);
                buf.Slice(0, len - full).CopyTo(y.Slice(start + full));
            }
            shift[c] = max;
            sums[c] = chunkSum;
        }
        // 3. combine: M = max m_c (NaN if an m_c is NaN; that chunk's sum is NaN anyway), then scale each chunk.
        double rowMax = double.NegativeInfinity, total = 0;
        for (int k = 0; k < c; k++) rowMax = Math.Max(rowMax, shift[k]);
        for (int k = 0; k < c; k++)
        {
            shift[k] = Math.Exp(shift[k] - rowMax);     // e^(m_c - M); NaN for a row of -Inf only
            total += sums[k] * shift[k];
        }
        for (int k = c - 1; k >= 0; k--)
            ScaleRow(ref Unsafe.Add(ref py, k * chunk), Math.Min(chunk, n - k * chunk), (float)(shift[k] / total));
    }

    /// <summary>y[0..full) = e^(x + negMax) (full a multiple of a quad) and their sum, summed in element order per lane.</summary>
    /// <remarks>
    /// A method of its own, without calls: inlined in SoftmaxRow, the JIT kept the sum in stack slots (it is live across
    /// the tail's copies there) and stored and reloaded it on every iteration.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Quad128 SoftmaxExpQuads(ref float px, ref float py, int full, float negMax)
    {
        Quad128 sum = default;
        for (int i = 0; i < full; i += Quad128.Count)
        {
            Quad128 e = ExpClamped(Quad128.AtLeast(Quad128.Load(ref px, (nuint)i) + negMax, ExpClampLow));
            Quad128.Store(e, ref py, (nuint)i);
            sum += e;
        }
        return sum;
    }

    /// <summary>
    /// One chunk's whole quads: y = e^(x + negMax) and their sum, and the maximum of the quads at
    /// lookBase + min(i, lookLast) (the next chunk's, read while the exponentials keep the FMA pipes busy).
    /// </summary>
    /// <remarks>
    /// A method of its own, without calls: in the caller the JIT kept the sums and maxima in stack slots across the loop
    /// (they are live across the tail's calls there). The look-ahead load has no branch (a branch in the loop did the same),
    /// so past the next chunk's last whole quad it loads that quad again. It comes before the quad's store: after it, the
    /// load would be two chunks (a multiple of 4 KiB) from the store just issued and wait on it (4K aliasing).
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float SoftmaxChunkQuads(ref float px, ref float py, int start, int full, float negMax, int lookBase, int lookLast, out float sum)
    {
        int q = Quad128.Count;
        Vector128<float> m0 = Vector128.Create(float.NegativeInfinity), m1 = m0, m2 = m0, m3 = m0;
        Quad128 s = default;
        for (int i = 0; i < full; i += q)
        {
            Quad128 v = Quad128.Load(ref px, (nuint)(lookBase + Math.Min(i, lookLast)));
            m0 = Vector128.MaxNative(m0, v.A);
            m1 = Vector128.MaxNative(m1, v.B);
            m2 = Vector128.MaxNative(m2, v.C);
            m3 = Vector128.MaxNative(m3, v.D);
            Quad128 e = ExpClamped(Quad128.AtLeast(Quad128.Load(ref px, (nuint)(start + i)) + negMax, ExpClampLow));
            Quad128.Store(e, ref py, (nuint)(start + i));
            s += e;
        }
        sum = Vector128.Sum(Quad128.Sum(s));
        return MaxAcross(Vector128.MaxNative(Vector128.MaxNative(m0, m1), Vector128.MaxNative(m2, m3)));
    }

    /// <summary>
    /// A chunked row whose maximum turned out to be +Inf in the chunk at <paramref name="start"/>: the chunks before it
    /// already hold their exponentials in y (x may be y), but they had no +Inf, and a NaN among them made their sum NaN.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxInfiniteChunkedRow(ReadOnlySpan<float> x, Span<float> y, int start, ReadOnlySpan<double> sums)
    {
        bool nan = HasNaN(x.Slice(start));
        foreach (double s in sums) nan |= double.IsNaN(s);
        if (nan)
        {
            y.Fill(float.NaN);
            return;
        }
        y.Slice(0, start).Clear();
        x.Slice(start).CopyTo(y.Slice(start));
        ActivationKernels.SoftmaxInfiniteRow(y.Slice(start));
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
        // The maximum and the sum come out in every lane (BroadcastMax, BroadcastSum: the same values as MaxAcross and
        // Vector128.Sum, without extracts and broadcasts on the way); v - max is v + (-max) bitwise, and so is
        // e * (1 / sum) with the reciprocal in every lane.
        Vector128<float> max = BroadcastMax(v);
        // The element-wise math works on quads; the four copies of one vector are the same instructions on equal inputs,
        // which the JIT's value numbering merges.
        Vector128<float> z = AtLeast(v - max, ExpClampLow);
        Vector128<float> e = ExpClamped(new Quad128(z, z, z, z)).A;
        y = e * (Vector128<float>.One / BroadcastSum(e));
        return !float.IsPositiveInfinity(max.ToScalar());
    }

    /// <summary>
    /// Short rows (<see cref="Softmax(ReadOnlySpan{float}, Span{float}, int)"/> says how short), W rows at a time: the block
    /// is turned into columns (lane i of column j is row i's element j), so that every step of the one-row kernel
    /// (<see cref="TrySoftmaxVector"/>, or <see cref="SoftmaxShortRow"/> past one vector) — maximum, exponential, sum,
    /// scale — is one vector operation for W rows instead of a horizontal chain per row (a batch of a classifier's outputs: 256 rows of 2 took
    /// 35 ns per row one by one). Bitwise the one-row result (<see cref="SoftmaxColumns"/>). Returns the elements done;
    /// the rows past the last whole block are the caller's.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    /// same size. Lane by lane the operations of <see cref="TrySoftmaxVector"/> (rows of up to a vector) or
    /// <see cref="SoftmaxShortRow"/> (up to a quad) on the row padded with -Inf: the same maximum (order-free), the same
    /// exponentials, the sum over the row in their order (the quad's four vectors added lane by lane, then the complete
    /// binary tree of Vector128.Sum: pairs of neighbouring elements, then pairs of pairs; the padding's exponentials are +0,
    /// and adding +0 to a non-negative sum changes nothing, so those additions are skipped), then times 1 / sum. False, the columns unspecified,
    /// when some row's maximum is +Inf.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        // A row longer than a vector sums as SoftmaxShortRow's Vector128.Sum(Quad128.Sum(e)): lane l of the padded quad first
        // gathers (e_l + e_W+l) + (e_2W+l + e_3W+l), then the tree runs over the W lanes.
        int lanes = width;
        if (width > W)
        {
            for (int l = 0; l < W; l++)
            {
                ref float sl = ref Unsafe.Add(ref u, l * W);
                Vector128<float> s = Vector128.LoadUnsafe(ref sl);
                if (l + W < width) s += Vector128.LoadUnsafe(ref sl, (nuint)(W * W));
                if (l + 2 * W < width)
                {
                    Vector128<float> q = Vector128.LoadUnsafe(ref sl, (nuint)(2 * W * W));
                    if (l + 3 * W < width) q += Vector128.LoadUnsafe(ref sl, (nuint)(3 * W * W));
                    s += q;
                }
                s.StoreUnsafe(ref sl);
            }
            lanes = W;
        }
        for (int step = 1; step < lanes; step *= 2)
            for (int j = 0; j + step < lanes; j += 2 * step)
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool HasNaN(ReadOnlySpan<float> row)
    {
        foreach (float v in row) if (float.IsNaN(v)) return true;
        return false;
    }

    // ---------------------------------------------------------------- level 1

    /// <summary>
    /// x[i..n) in the first lanes, zeros in the others, through a masked load: no call (a copy through a stack buffer was
    /// one, and the JIT then kept a loop's accumulators on the stack, reloading them every step: AllFinite ran at 3.7
    /// floats/ns on Zen 5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Tail(ref float x, int i, int n) => VectorMath.LoadRow128(ref Unsafe.Add(ref x, i), n - i, 0f);

    /// <summary>Sum of x[i] y[i]: two accumulators, zero-padded tail, fixed horizontal order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            a1 = MulAdd(Tail(ref px, i, n), Tail(ref py, i, n), a1);
        return Vector128.Sum(a0 + a1);
    }

    /// <summary>Sum of x[i] (NaN/Inf propagate).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static float Sum(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        Vector128<float> a = Vector128<float>.Zero;
        for (; i <= n - W; i += W)
            a += Vector128.LoadUnsafe(ref px, (nuint)i);
        if (i < n)
            a += Tail(ref px, i, n);
        return Vector128.Sum(a);
    }

    /// <summary>True when no element is NaN or infinite (x * 0 is 0 exactly for finite x).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        // Two chains: the order of the additions does not matter here (any NaN stays NaN).
        Vector128<float> a0 = Vector128<float>.Zero, a1 = Vector128<float>.Zero;
        for (; i <= n - 2 * W; i += 2 * W)
        {
            a0 += Vector128.LoadUnsafe(ref px, (nuint)i) * Vector128<float>.Zero;
            a1 += Vector128.LoadUnsafe(ref px, (nuint)(i + W)) * Vector128<float>.Zero;
        }
        if (i <= n - W)
        {
            a0 += Vector128.LoadUnsafe(ref px, (nuint)i) * Vector128<float>.Zero;
            i += W;
        }
        if (i < n)
            a1 += Tail(ref px, i, n) * Vector128<float>.Zero;
        return a0 + a1 == Vector128<float>.Zero;
    }

    /// <summary>y[i] = alpha x[i] + (accumulate ? y[i] : 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
            Vector128<float> v = Tail(ref px, i, n);
            VectorMath.StoreRow128(accumulate ? MulAdd(va, v, Tail(ref py, i, n)) : va * v, ref Unsafe.Add(ref py, i), n - i);
        }
    }

    /// <summary>y[i] += x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
