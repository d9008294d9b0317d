using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastMlp.Kernels;

/// <summary>
/// What the one-sample kernels need beyond <see cref="IGemmSimd{TVec}"/>: reducing a block of T.Width accumulators to one
/// vector of their horizontal sums in the exact lane order of <see cref="IGemmSimd{TVec}.Sum"/>, and an activation applied
/// in registers.
/// </summary>
internal interface IGemvSimd<TVec> : IGemmSimd<TVec> where TVec : struct
{
    /// <summary>Within each 128-bit lane: [a0+a1, a2+a3, b0+b1, b2+b3] (the first level of every Sum).</summary>
    static abstract TVec PairSums(TVec a, TVec b);
    /// <summary>Adds neighbouring 128-bit lanes: lane l of the result is a's (or b's) lanes 2l + 2l+1 (256 and 512 bits only).</summary>
    static abstract TVec FoldLanes(TVec a, TVec b);
    /// <summary>op on every lane of one vector: the element-wise operations work on quads, so v fills one (same bits in every
    /// position; the three copies cost a few cycles per block of outputs, next to the block's dot products).</summary>
    static abstract TVec Apply<TOp>(TOp op, TVec v) where TOp : struct, IUnaryOp;
    /// <summary>v with lane <paramref name="lane"/> set to <paramref name="value"/>, in registers (a vector load of lanes just
    /// stored one by one would wait for the stores: no store-to-load forwarding from several narrow stores).</summary>
    static abstract TVec WithLane(TVec v, int lane, float value);
    /// <summary>Lanes 0..count-1 loaded from p, the others zero; nothing past p[count - 1] is read (0 &lt; count &lt; Width).</summary>
    static abstract TVec LoadFirst(ref float p, int count);
    /// <summary>Lanes 0..count-1 of v stored at p; nothing past p[count - 1] is written (0 &lt; count &lt; Width).</summary>
    static abstract void StoreFirst(TVec v, ref float p, int count);
}


/// <summary>Identity (and softmax, which is applied to the whole row afterwards): nothing in registers.</summary>
internal readonly struct NoActivationOp : IUnaryOp
{
    public float Invoke(float x) => x;
    public Quad128 Invoke(Quad128 x) => x;
    public Quad256 Invoke(Quad256 x) => x;
    public Quad512 Invoke(Quad512 x) => x;
}

/// <summary>Whether a GEMV block may be partial (its row offsets clamped); a struct type argument, so the JIT folds it.</summary>
internal interface IBlockKind
{
    static abstract bool Partial { get; }
}

internal readonly struct WholeBlock : IBlockKind
{
    public static bool Partial => false;
}

internal readonly struct PartialBlock : IBlockKind
{
    public static bool Partial => true;
}

// The one-sample (rows == 1) products: the latency path of inference and of a batch-1 backward pass.
internal static partial class Gemm
{
    /// <summary>
    /// Forward for one sample (no packing, no set-up), reached from <see cref="Forward"/> with rows == 1: maps the
    /// batched kernel's path struct to its GEMV struct and runs <see cref="GemvBlocks"/> with no activation.
    /// </summary>
    private static void Gemv<T, TVec>(ref float x, ref float w, ref float b, ref float y, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        // typeof comparisons of struct type arguments are JIT-time constants: one branch survives per path.
        if (typeof(T) == typeof(Avx512GemmSimd))
            GemvBlocks<Avx512GemmSimd, Vector512<float>, NoActivationOp>(ref x, ref w, ref b, ref y, inputs, outputs, default);
        else if (typeof(T) == typeof(Avx2GemmSimd))
            GemvBlocks<Avx2GemmSimd, Vector256<float>, NoActivationOp>(ref x, ref w, ref b, ref y, inputs, outputs, default);
        else if (typeof(T) == typeof(Vector128GemmSimd))
            GemvBlocks<Vector128GemmSimd, Vector128<float>, NoActivationOp>(ref x, ref w, ref b, ref y, inputs, outputs, default);
        else if (typeof(T) == typeof(NeonGemmSimd))
            GemvBlocks<NeonGemmSimd, Vector128<float>, NoActivationOp>(ref x, ref w, ref b, ref y, inputs, outputs, default);
        else
            throw new NotSupportedException($"No GEMV for {typeof(T).Name}.");
    }

    /// <summary>
    /// y = op(W x + b) for one sample, for whole layers of a network (<see cref="OneSampleForward"/>) and for
    /// <see cref="Forward"/> with rows == 1. T.Width outputs per block, one vector accumulator each; the block's horizontal
    /// sums are one transposing reduction (<see cref="VectorSums"/>) whose additions are exactly those of T.Sum; the inputs
    /// past the last whole vector are then added one by one (multiply then add) and the bias added, the order
    /// <see cref="DotForward"/> sums each output in, so a one-row call and row r of a batch agree bitwise. The activation
    /// is applied while the block is in a register, with the element-wise kernels' vector operator.
    /// A block past the last output re-reads the last row (clamped) and stores only the valid outputs.
    /// </summary>
    [SkipLocalsInit]
    internal static void GemvBlocks<T, TVec, TOp>(ref float x, ref float w, ref float b, ref float y, int inputs, int outputs, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        int width = T.Width;
        int vectorEnd = inputs / width * width;
        nint ld = inputs;
        Unsafe.SkipInit(out LaneBuffer spill);
        ref float sp = ref Unsafe.As<LaneBuffer, float>(ref spill);
        for (int o = 0; o < outputs; o += width)
        {
            int count = Math.Min(width, outputs - o);
            ref float wo = ref Unsafe.Add(ref w, o * ld);
            ref float bo = ref Unsafe.Add(ref b, o);
            ref float yo = ref Unsafe.Add(ref y, o);
            // Below one vector of inputs every accumulator is zero and every lane sum +0: skip both.
            TVec s = vectorEnd == 0 ? T.Zero
                : count == width ? VectorSums<T, TVec, WholeBlock>(ref x, ref wo, inputs, count)
                : VectorSums<T, TVec, PartialBlock>(ref x, ref wo, inputs, count);
            if (vectorEnd == inputs)
            {
                // No input tail: each lane is bias + sum, as in the scalar finish below, so a partial block (the output
                // layer of a classifier) needs only a partial load and store.
                if (count == width)
                    T.Store(T.Apply(op, T.Add(T.Load(ref bo), s)), ref yo);
                else
                    T.StoreFirst(T.Apply(op, T.Add(T.LoadFirst(ref bo, count), s)), ref yo, count);
                continue;
            }
            // Short tail or partial block: finish each output in scalar, in DotFinish's order (tail, then bias), and put
            // it back into its lane; lanes past count keep the clamped rows' sums and are never stored.
            T.Store(s, ref sp);
            for (int j = 0; j < count; j++)
            {
                float t = Unsafe.Add(ref sp, j);
                ref float wj = ref Unsafe.Add(ref wo, j * ld);
                for (int k = vectorEnd; k < inputs; k++)
                    t += Unsafe.Add(ref x, k) * Unsafe.Add(ref wj, k);
                s = T.WithLane(s, j, Unsafe.Add(ref bo, j) + t);
            }
            s = T.Apply(op, s);
            if (count == width)
            {
                T.Store(s, ref yo);
                continue;
            }
            T.Store(s, ref sp);
            for (int j = 0; j < count; j++)
                Unsafe.Add(ref yo, j) = Unsafe.Add(ref sp, j);
        }
    }

    /// <summary>
    /// Lane j = T.Sum of the vector accumulation of x[k] w[j, k] over the whole vectors of x, for the first
    /// <paramref name="count"/> rows of w (row stride <paramref name="inputs"/>). On 16-wide vectors the rows are swept in
    /// two passes of 8: 8 weight streams at a time, as in the previous 8-row kernel, and 7 row offsets in registers, not 15.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec VectorSums<T, TVec, TBlock>(ref float x, ref float w, int inputs, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TBlock : struct, IBlockKind
    {
        int width = T.Width;
        nint ld = inputs;
        // A whole block's clamps fold away (TBlock is a JIT-time constant): row j is simply j * ld.
        int last = TBlock.Partial ? count - 1 : 15;
        // Row offsets, clamped so that a partial block never reads past its last row.
        nint r1 = Math.Min(1, last) * ld, r2 = Math.Min(2, last) * ld, r3 = Math.Min(3, last) * ld;
        nint r4 = Math.Min(4, last) * ld, r5 = Math.Min(5, last) * ld, r6 = Math.Min(6, last) * ld, r7 = Math.Min(7, last) * ld;
        TVec a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero, a4 = T.Zero, a5 = T.Zero, a6 = T.Zero, a7 = T.Zero;
        TVec a8 = T.Zero, a9 = T.Zero, a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero, a14 = T.Zero, a15 = T.Zero;
        for (int k = 0; k <= inputs - width; k += width)
        {
            TVec xv = T.Load(ref Unsafe.Add(ref x, k));
            ref float wk = ref Unsafe.Add(ref w, k);
            a0 = T.MulAdd(xv, T.Load(ref wk), a0);
            a1 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r1)), a1);
            a2 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r2)), a2);
            a3 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r3)), a3);
            if (width > 4)
            {
                a4 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r4)), a4);
                a5 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r5)), a5);
                a6 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r6)), a6);
                a7 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r7)), a7);
            }
        }
        if (width > 8)
        {
            ref float w8 = ref Unsafe.Add(ref w, Math.Min(8, last) * ld);
            nint q1 = Math.Min(9, last) * ld - Math.Min(8, last) * ld, q2 = Math.Min(10, last) * ld - Math.Min(8, last) * ld;
            nint q3 = Math.Min(11, last) * ld - Math.Min(8, last) * ld, q4 = Math.Min(12, last) * ld - Math.Min(8, last) * ld;
            nint q5 = Math.Min(13, last) * ld - Math.Min(8, last) * ld, q6 = Math.Min(14, last) * ld - Math.Min(8, last) * ld;
            nint q7 = Math.Min(15, last) * ld - Math.Min(8, last) * ld;
            for (int k = 0; k <= inputs - width; k += width)
            {
                TVec xv = T.Load(ref Unsafe.Add(ref x, k));
                ref float wk = ref Unsafe.Add(ref w8, k);
                a8 = T.MulAdd(xv, T.Load(ref wk), a8);
                a9 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, q1)), a9);
                a10 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, q2)), a10);
                a11 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, q3)), a11);
                a12 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, q4)), a12);
                a13 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, q5)), a13);
                a14 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, q6)), a14);
                a15 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, q7)), a15);
            }
        }
        // Lane j of s = T.Sum(a_j): the reduction tree of Sum is pairs within 128-bit lanes, then pairs of those,
        // then neighbouring 128-bit lanes (and neighbouring halves): PairSums twice, FoldLanes once or twice.
        TVec s = T.PairSums(T.PairSums(a0, a1), T.PairSums(a2, a3));
        if (width > 4)
        {
            TVec s1 = T.PairSums(T.PairSums(a4, a5), T.PairSums(a6, a7));
            if (width > 8)
            {
                TVec s2 = T.PairSums(T.PairSums(a8, a9), T.PairSums(a10, a11));
                TVec s3 = T.PairSums(T.PairSums(a12, a13), T.PairSums(a14, a15));
                s = T.FoldLanes(T.FoldLanes(s, s1), T.FoldLanes(s2, s3));
            }
            else
            {
                s = T.FoldLanes(s, s1);
            }
        }
        return s;
    }

    /// <summary>Scalar reference of <see cref="GemvBlocks"/>: <see cref="ForwardScalar"/>'s order, then op per output.</summary>
    internal static void GemvScalar<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y,
        int inputs, int outputs, TOp op) where TOp : struct, IUnaryOp
    {
        for (int o = 0; o < outputs; o++)
        {
            ReadOnlySpan<float> wo = w.Slice(o * inputs, inputs);
            float sum = 0f;
            for (int i = 0; i < inputs; i++)
                sum += x[i] * wo[i];
            y[o] = op.Invoke(b[o] + sum);
        }
    }

    /// <summary>
    /// Input gradient of one sample, dx[i] = sum_o dy[o] w[o, i] (reached from <see cref="InputGradient"/> with rows == 1):
    /// W streamed row by row, a block of 8 vectors of dx in registers. Each dx element is summed over the outputs in
    /// order within the same reduction chunks as <see cref="OuterProduct"/> (chunk sums added to the stored value), with
    /// the columns past the last whole vector multiplied then added, so it equals row 0 of a batched call bitwise.
    /// </summary>
    private static void InputGemv<T, TVec>(ref float dy, ref float w, ref float dx, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        if (inputs == 0) return;
        if (outputs == 0)
        {
            MemoryMarshal.CreateSpan(ref dx, inputs).Clear();
            return;
        }
        int width = T.Width;
        int chunk = PanelBytes / (2 * width * sizeof(float));
        int vectorEnd = inputs / width * width;
        nint ld = inputs;
        for (int p0 = 0; p0 < outputs; p0 += chunk)
        {
            int pn = Math.Min(chunk, outputs - p0);
            bool add = p0 > 0;
            ref float g = ref Unsafe.Add(ref dy, p0);
            ref float wp = ref Unsafe.Add(ref w, p0 * ld);
            int n = 0;
            for (; n <= vectorEnd - 8 * width; n += 8 * width)
            {
                TVec c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero, c4 = T.Zero, c5 = T.Zero, c6 = T.Zero, c7 = T.Zero;
                ref float row = ref Unsafe.Add(ref wp, n);
                for (int p = 0; p < pn; p++)
                {
                    TVec gv = T.Splat(Unsafe.Add(ref g, p));
                    c0 = T.MulAdd(gv, T.Load(ref row), c0);
                    c1 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, width)), c1);
                    c2 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 2 * width)), c2);
                    c3 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 3 * width)), c3);
                    c4 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 4 * width)), c4);
                    c5 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 5 * width)), c5);
                    c6 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 6 * width)), c6);
                    c7 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 7 * width)), c7);
                    row = ref Unsafe.Add(ref row, ld);
                }
                ref float d = ref Unsafe.Add(ref dx, n);
                StoreC1<T, TVec>(ref d, c0, add);
                StoreC1<T, TVec>(ref Unsafe.Add(ref d, width), c1, add);
                StoreC1<T, TVec>(ref Unsafe.Add(ref d, 2 * width), c2, add);
                StoreC1<T, TVec>(ref Unsafe.Add(ref d, 3 * width), c3, add);
                StoreC1<T, TVec>(ref Unsafe.Add(ref d, 4 * width), c4, add);
                StoreC1<T, TVec>(ref Unsafe.Add(ref d, 5 * width), c5, add);
                StoreC1<T, TVec>(ref Unsafe.Add(ref d, 6 * width), c6, add);
                StoreC1<T, TVec>(ref Unsafe.Add(ref d, 7 * width), c7, add);
            }
            for (; n < vectorEnd; n += width)
            {
                TVec c = T.Zero;
                ref float row = ref Unsafe.Add(ref wp, n);
                for (int p = 0; p < pn; p++)
                {
                    c = T.MulAdd(T.Splat(Unsafe.Add(ref g, p)), T.Load(ref row), c);
                    row = ref Unsafe.Add(ref row, ld);
                }
                StoreC1<T, TVec>(ref Unsafe.Add(ref dx, n), c, add);
            }
            for (; n < inputs; n++)
            {
                float sum = 0f;
                for (int p = 0; p < pn; p++)
                    sum += Unsafe.Add(ref g, p) * Unsafe.Add(ref wp, p * ld + n);
                ref float d = ref Unsafe.Add(ref dx, n);
                d = add ? d + sum : sum;
            }
        }
    }
}
