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
    /// <summary>Softmax of lanes 0..count-1 of v (the others ignored) in registers, bitwise the row kernel's result for that
    /// row; false, <paramref name="y"/> unspecified, when their maximum is +Inf (the row kernel handles that case).</summary>
    static abstract bool TrySoftmax(TVec v, int count, out TVec y);
    /// <summary>A vector whose 128-bit lane c is qc (c &lt; Width / 4; the other arguments are ignored).</summary>
    static abstract TVec FromQuads(Vector128<float> q0, Vector128<float> q1, Vector128<float> q2, Vector128<float> q3);
    /// <summary>Within each 128-bit lane, the 4 x 4 matrix whose rows are a, b, c, d transposed in place (lane k of the
    /// m-th vector moves to lane m of the k-th): shuffles only, no lane computed.</summary>
    static abstract void TransposeQuads(ref TVec a, ref TVec b, ref TVec c, ref TVec d);
    /// <summary>Lane-wise maximum as <see cref="MathF.Max(float, float)"/> takes it: NaN when either lane is NaN, +0 above -0.</summary>
    static abstract TVec Max(TVec a, TVec b);
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
    /// <see cref="Forward"/> with rows == 1: T.Width outputs per block (<see cref="PreActivation"/>), the activation applied
    /// while the block is in a register, with the element-wise kernels' vector operator.
    /// </summary>
    /// <remarks>A switch to one of two compiled copies, for rows of whole vectors (<see cref="WholeInputs"/>) and rows with
    /// a tail (<see cref="TailInputs"/>): the tail may be a call (<see cref="AddTail"/>), and a call anywhere in a loop makes
    /// the JIT keep the loop's vector values in memory around it (all vector registers are caller-saved); one copy for both
    /// measured about 5 % slower on 64-32-32-10's Predict, which has no tail in any layer (141-146 against 134-135 ns).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void GemvBlocks<T, TVec, TOp>(ref float x, ref float w, ref float b, ref float y, int inputs, int outputs, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        if (inputs % T.Width == 0)
            GemvBlockLoop<T, TVec, TOp, WholeInputs>(ref x, ref w, ref b, ref y, inputs, outputs, op);
        else
            GemvBlockLoop<T, TVec, TOp, TailInputs>(ref x, ref w, ref b, ref y, inputs, outputs, op);
    }

    /// <summary><see cref="GemvBlocks{T, TVec, TOp}"/> for rows of whole vectors or with a tail (TTail).</summary>
    /// <remarks>Never inlined, nor <see cref="GemvSoftmaxBlock{T, TVec, TTail}"/>: compiled as call roots they get the JIT's whole
    /// inlining budget for their many small inlinees (inlined into a caller's switch over activations, the budget ran out
    /// and left the row sums and vector constructors as calls).</remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void GemvBlockLoop<T, TVec, TOp, TTail>(ref float x, ref float w, ref float b, ref float y, int inputs, int outputs, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp where TTail : struct, IConstant
    {
        for (int o = 0; o < outputs; o += T.Width)
        {
            int count = Math.Min(T.Width, outputs - o);
            TVec s = PreActivation<T, TVec, TTail>(ref x, ref Unsafe.Add(ref w, (nint)o * inputs), ref Unsafe.Add(ref b, o), inputs, count);
            StoreBlock<T, TVec>(T.Apply(op, s), ref Unsafe.Add(ref y, o), count);
        }
    }

    /// <summary>
    /// y = softmax(W x + b) for one sample of an output layer of at most T.Width outputs: <see cref="PreActivation"/>, then
    /// the softmax in registers (<see cref="IGemvSimd{TVec}.TrySoftmax"/>), so the row is stored once and never reloaded.
    /// False when the row's maximum is +Inf: W x + b is then stored for the caller to run the row kernel on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool GemvSoftmax<T, TVec>(ref float x, ref float w, ref float b, ref float y, int inputs, int outputs)
        where T : struct, IGemvSimd<TVec> where TVec : struct =>
        inputs % T.Width == 0
            ? GemvSoftmaxBlock<T, TVec, WholeInputs>(ref x, ref w, ref b, ref y, inputs, outputs)
            : GemvSoftmaxBlock<T, TVec, TailInputs>(ref x, ref w, ref b, ref y, inputs, outputs);

    /// <summary><see cref="GemvSoftmax{T, TVec}"/> for rows of whole vectors or with a tail (TTail).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool GemvSoftmaxBlock<T, TVec, TTail>(ref float x, ref float w, ref float b, ref float y, int inputs, int outputs)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TTail : struct, IConstant
    {
        TVec s = PreActivation<T, TVec, TTail>(ref x, ref w, ref b, inputs, outputs);
        return SoftmaxBlock<T, TVec>(s, ref y, outputs);
    }

    /// <summary>
    /// The softmax of <see cref="GemvSoftmax{T, TVec}"/>'s row in registers, stored. A call root of its own: after both
    /// block kinds of <see cref="PreActivation"/> the JIT's inlining budget had run out and left the exponential's quad
    /// constructors as calls (12 of them before the one-sample tails, 29 with a tail).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool SoftmaxBlock<T, TVec>(TVec s, ref float y, int outputs) where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        bool finite = T.TrySoftmax(s, outputs, out TVec e);
        StoreBlock<T, TVec>(finite ? e : s, ref y, outputs);
        return finite;
    }

    /// <summary>
    /// Lanes 0..count-1: W x + b for one block of outputs (rows of <paramref name="w"/>, stride <paramref name="inputs"/>);
    /// the other lanes are never stored. One vector accumulator per output; the block's horizontal sums are one
    /// transposing reduction (<see cref="VectorSums"/>) whose additions are exactly those of T.Sum; the inputs past the
    /// last whole vector are then added one by one (multiply then add, <see cref="AddTail"/>) and the bias added, the order
    /// <see cref="DotForward"/> sums each output in, so a one-row call and row r of a batch agree bitwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec PreActivation<T, TVec, TTail>(ref float x, ref float w, ref float b, int inputs, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TTail : struct, IConstant
    {
        int width = T.Width;
        int vectorEnd = inputs / width * width;
        // Below one vector of inputs every accumulator is zero and every lane sum +0: skip both.
        TVec s = vectorEnd == 0 ? T.Zero
            : count == width ? VectorSums<T, TVec, WholeBlock>(ref x, ref w, inputs, count)
            : VectorSums<T, TVec, PartialBlock>(ref x, ref w, inputs, count);
        if (TTail.Value == TailInputs.Value)
        {
            s = count * (inputs - vectorEnd) <= ScalarTailProducts
                ? AddTailScalar<T, TVec>(s, ref x, ref w, inputs, vectorEnd, count)
                : AddTail<T, TVec>(s, ref x, ref w, inputs, vectorEnd, count);
        }
        return T.Add(count == width ? T.Load(ref b) : T.LoadFirst(ref b, count), s);
    }

    /// <summary>
    /// The scalar tail of <see cref="PreActivation"/>, 4 inputs at a time (<see cref="AddTailQuad"/>). Never inlined: a call
    /// root of its own gets the JIT's whole inlining budget for its many small inlinees (inlined, the budget ran out and
    /// left the vector operations of every block as calls).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static TVec AddTail<T, TVec>(TVec s, ref float x, ref float w, int inputs, int vectorEnd, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        for (int k = vectorEnd; k < inputs; k += 4)
            s = AddTailQuad<T, TVec>(s, ref x, ref w, inputs, k, count);
        return s;
    }

    /// <summary>
    /// The most tail products (outputs x tail inputs) of a block that <see cref="PreActivation"/> sums output by output, in
    /// line, instead of calling <see cref="AddTail"/>: a call and a quad step cost more than a few scalar chains.
    /// </summary>
    private const int ScalarTailProducts = 16;

    /// <summary><see cref="AddTail"/> output by output (<see cref="ScalarTailProducts"/>): each lane's chain in scalar, put back
    /// with <see cref="IGemvSimd{TVec}.WithLane"/> (a vector load of lanes just stored one by one would wait for the stores).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec AddTailScalar<T, TVec>(TVec s, ref float x, ref float w, int inputs, int vectorEnd, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        TVec sums = s;
        ref float lanes = ref Unsafe.As<TVec, float>(ref sums);
        nint ld = inputs;
        for (int j = 0; j < count; j++)
        {
            float t = Unsafe.Add(ref lanes, j);
            ref float wj = ref Unsafe.Add(ref w, j * ld);
            for (int k = vectorEnd; k < inputs; k++)
                t += Unsafe.Add(ref x, k) * Unsafe.Add(ref wj, k);
            s = T.WithLane(s, j, t);
        }
        return s;
    }

    /// <summary>
    /// Lane j of <paramref name="s"/> plus x[i] w[j, i] for i = k..k+3 (those below <paramref name="inputs"/>) in order, each
    /// product rounded and then added: the dot tiles' scalar tail, 4 inputs of it, for the block's rows j &lt; count (the
    /// other lanes are never stored). Lane c of the m-th of four vectors is loaded with the 4 weights of row 4c + m,
    /// multiplied by x's 4 in every lane, and the four are transposed within their lanes
    /// (<see cref="IGemvSimd{TVec}.TransposeQuads"/>): the i-th then holds input k + i's products for every output in its
    /// lane, one vector add per input (a scalar chain per output made Avx512's 1 x 13 x 64 forward 0.51x OpenBLAS).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec AddTailQuad<T, TVec>(TVec s, ref float x, ref float w, int inputs, int k, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        int n = inputs - k;
        // Weights past the block's last row, or x's past its end, are never read: a quad that would reach them is masked.
        nint end = (nint)count * inputs;
        Vector128<float> xq = TailQuad(ref x, k, inputs);
        TVec xv = T.FromQuads(xq, xq, xq, xq);
        TVec p0 = T.Multiply(xv, TailRows<T, TVec>(ref w, inputs, k, count, end, 0));
        TVec p1 = T.Multiply(xv, TailRows<T, TVec>(ref w, inputs, k, count, end, 1));
        TVec p2 = T.Multiply(xv, TailRows<T, TVec>(ref w, inputs, k, count, end, 2));
        TVec p3 = T.Multiply(xv, TailRows<T, TVec>(ref w, inputs, k, count, end, 3));
        T.TransposeQuads(ref p0, ref p1, ref p2, ref p3);
        s = T.Add(s, p0);
        if (n > 1) s = T.Add(s, p1);
        if (n > 2) s = T.Add(s, p2);
        if (n > 3) s = T.Add(s, p3);
        return s;
    }

    /// <summary>The vector of <see cref="AddTailQuad"/> whose lane c holds 4 weights of row 4c + m, zeros for a row past count
    /// - 1 (its lane is never stored: no load for it, which a one-sample forward of 2 inputs to 3 outputs paid 13 masked loads for).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec TailRows<T, TVec>(ref float w, int inputs, int k, int count, nint end, int m)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        Vector128<float> q0 = RowQuad(ref w, m, count, inputs, k, end);
        if (T.Width == 4)
            return T.FromQuads(q0, q0, q0, q0);
        Vector128<float> q1 = RowQuad(ref w, 4 + m, count, inputs, k, end);
        if (T.Width == 8)
            return T.FromQuads(q0, q1, q1, q1);
        return T.FromQuads(q0, q1, RowQuad(ref w, 8 + m, count, inputs, k, end), RowQuad(ref w, 12 + m, count, inputs, k, end));
    }

    /// <summary>w's row <paramref name="o"/>, inputs k..k+3 (zero for a row past count; past the row's end the next row's).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> RowQuad(ref float w, int o, int count, int inputs, int k, nint end) =>
        o < count ? TailQuad(ref w, (nint)o * inputs + k, end) : Vector128<float>.Zero;

    /// <summary>p[at..at+3], the lanes at or past <paramref name="end"/> zero and not read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> TailQuad(ref float p, nint at, nint end) =>
        at + 4 <= end ? Vector128.LoadUnsafe(ref Unsafe.Add(ref p, at)) : VectorMath.LoadRow128(ref Unsafe.Add(ref p, at), (int)(end - at), 0f);

    /// <summary>Lanes 0..count-1 of v to y; nothing past y[count - 1] is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreBlock<T, TVec>(TVec v, ref float y, int count) where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        if (count == T.Width) T.Store(v, ref y);
        else T.StoreFirst(v, ref y, count);
    }

    /// <summary>
    /// Lane j = T.Sum of the vector accumulation of x[k] w[j, k] over the whole vectors of x, for the first
    /// <paramref name="count"/> rows of w (row stride <paramref name="inputs"/>). Reduction tree of T.Sum: pairs within
    /// 128-bit lanes, pairs of those (<see cref="IGemvSimd{TVec}.PairSums"/> twice), then neighbouring 128-bit lanes and
    /// neighbouring halves (<see cref="IGemvSimd{TVec}.FoldLanes"/> once or twice); on 16-wide vectors the rows are swept
    /// in two groups of 8 (<see cref="RowGroupSums"/>), folded together last.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec VectorSums<T, TVec, TBlock>(ref float x, ref float w, int inputs, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TBlock : struct, IBlockKind
    {
        TVec s = RowGroupSums<T, TVec, TBlock>(ref x, ref w, inputs, 0, count);
        if (T.Width <= 8)
            return s;
        // A block of at most 8 rows leaves the second group's lanes unstored: fold s with itself instead of sweeping it.
        return T.FoldLanes(s, TBlock.Partial && count <= 8 ? s : RowGroupSums<T, TVec, TBlock>(ref x, ref w, inputs, 8, count));
    }

    /// <summary>
    /// Rows first..first+7 of <see cref="VectorSums"/> (first..first+3 on 4-wide vectors), each row past count - 1 re-reading
    /// row count - 1, reduced up to the fold of their two quads (<see cref="RowSweep"/>). A partial group of at most 4 rows
    /// sweeps only its first quad and folds it with itself: it stores only that quad's lanes, and those get exactly the
    /// operations the full group gives them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec RowGroupSums<T, TVec, TBlock>(ref float x, ref float w, int inputs, int first, int count)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TBlock : struct, IBlockKind
    {
        // A whole block's clamps fold away (TBlock is a JIT-time constant): row first + j is simply (first + j) * ld.
        int last = TBlock.Partial ? count - 1 : first + 7;
        if (T.Width == 4)
            return RowSweep<T, TVec, Rows4>(ref x, ref w, inputs, first, last);
        if (TBlock.Partial && last < first + 4)
        {
            TVec q = RowSweep<T, TVec, Rows4>(ref x, ref w, inputs, first, last);
            return T.FoldLanes(q, q);
        }
        return RowSweep<T, TVec, Rows8>(ref x, ref w, inputs, first, last);
    }

    /// <summary>
    /// TRows.Value (4 or 8) weight rows from <paramref name="first"/>, each past <paramref name="last"/> re-reading it, swept
    /// against x with one accumulator each, reduced pairwise within quads (and for 8 rows the two quads folded together).
    /// A method of its own so that each has few locals: the JIT does not inline a method with many (one 16-row body stayed
    /// a call, its result returned through memory, on every block).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec RowSweep<T, TVec, TRows>(ref float x, ref float w, int inputs, int first, int last)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TRows : struct, IConstant
    {
        int width = T.Width;
        bool eight = TRows.Value == 8;
        nint ld = inputs;
        ref float w0 = ref Unsafe.Add(ref w, first * ld);
        nint r0 = first * ld;
        nint r1 = Math.Min(first + 1, last) * ld - r0, r2 = Math.Min(first + 2, last) * ld - r0, r3 = Math.Min(first + 3, last) * ld - r0;
        nint r4 = eight ? Math.Min(first + 4, last) * ld - r0 : 0, r5 = eight ? Math.Min(first + 5, last) * ld - r0 : 0;
        nint r6 = eight ? Math.Min(first + 6, last) * ld - r0 : 0, r7 = eight ? Math.Min(first + 7, last) * ld - r0 : 0;
        TVec a0 = T.Zero, a1 = T.Zero, a2 = T.Zero, a3 = T.Zero, a4 = T.Zero, a5 = T.Zero, a6 = T.Zero, a7 = T.Zero;
        for (int k = 0; k <= inputs - width; k += width)
        {
            TVec xv = T.Load(ref Unsafe.Add(ref x, k));
            ref float wk = ref Unsafe.Add(ref w0, k);
            a0 = T.MulAdd(xv, T.Load(ref wk), a0);
            a1 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r1)), a1);
            a2 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r2)), a2);
            a3 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r3)), a3);
            if (eight)
            {
                a4 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r4)), a4);
                a5 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r5)), a5);
                a6 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r6)), a6);
                a7 = T.MulAdd(xv, T.Load(ref Unsafe.Add(ref wk, r7)), a7);
            }
        }
        TVec s = T.PairSums(T.PairSums(a0, a1), T.PairSums(a2, a3));
        return eight ? T.FoldLanes(s, T.PairSums(T.PairSums(a4, a5), T.PairSums(a6, a7))) : s;
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
    /// per reduction chunk, strips of up to 8 vectors of dx in registers walk down W's rows (<see cref="InputGemvBlock"/>), or,
    /// for wide W with many rows, W is streamed row after row onto partial sums in L1 (<see cref="InputGemvStream"/>; from
    /// <see cref="StreamMinInputs"/> inputs and <see cref="StreamMinOutputs"/> outputs). Each dx element is summed over the outputs in
    /// order within the same reduction chunks as <see cref="OuterProduct"/> (chunk sums added to the stored value), with
    /// the columns past the last whole vector multiplied then added, so it equals row 0 of a batched call bitwise.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        bool stream = inputs >= (width >= 8 ? StreamMinInputs : 2 * StreamMinInputs) && outputs >= StreamMinOutputs;
        for (int p0 = 0; p0 < outputs; p0 += chunk)
        {
            int pn = Math.Min(chunk, outputs - p0);
            bool add = p0 > 0;
            ref float g = ref Unsafe.Add(ref dy, p0);
            ref float wp = ref Unsafe.Add(ref w, p0 * ld);
            if (stream)
            {
                InputGemvStream<T, TVec>(ref g, ref wp, ld, pn, ref dx, vectorEnd, add);
                InputGemvTail<T, TVec>(ref g, ref wp, ld, pn, ref dx, vectorEnd, inputs, add);
                continue;
            }
            // Blocks of 8 vectors, then of 4, 2 and 1: the chains of a block run side by side, and one vector's chain of pn
            // dependent multiply-adds alone would wait on their latency.
            int n = 0;
            for (; n <= vectorEnd - 8 * width; n += 8 * width)
                InputGemvBlock<T, TVec, Vectors8>(ref g, ref Unsafe.Add(ref wp, n), ld, pn, ref Unsafe.Add(ref dx, n), add);
            if (n <= vectorEnd - 4 * width)
            {
                InputGemvBlock<T, TVec, Vectors4>(ref g, ref Unsafe.Add(ref wp, n), ld, pn, ref Unsafe.Add(ref dx, n), add);
                n += 4 * width;
            }
            if (n <= vectorEnd - 2 * width)
            {
                InputGemvBlock<T, TVec, Vectors2>(ref g, ref Unsafe.Add(ref wp, n), ld, pn, ref Unsafe.Add(ref dx, n), add);
                n += 2 * width;
            }
            if (n < vectorEnd)
            {
                InputGemvBlock<T, TVec, Vectors1>(ref g, ref Unsafe.Add(ref wp, n), ld, pn, ref Unsafe.Add(ref dx, n), add);
                n += width;
            }
            InputGemvTail<T, TVec>(ref g, ref wp, ld, pn, ref dx, n, inputs, add);
        }
    }

    /// <summary>
    /// <see cref="InputGemv"/> streams W row by row (<see cref="InputGemvStream"/>) from rows of this many inputs (2 KiB; twice
    /// as many on the 4-float paths) and <see cref="StreamMinOutputs"/> outputs. Measured on Zen 5 (aligned operands,
    /// alternating in one process, against the register strips): 1 x 1024 x 1024 36-38 -> 47-50 GFLOP/s on Avx512, 28-30 ->
    /// 40-49 on Avx2, 15 -> 24-35 on Vector128 (OpenBLAS 34-50); 1 x 1024 x 32 50 -> 63-70, 41 -> 65-70, 29 -> 37-42;
    /// 1 x 512 x 32 and 1 x 784 x 256 level to +20 % on Avx512 and Avx2, but 15-25 % slower on Vector128 (its 16-byte passes
    /// are bound by L1 loads and stores, not by W's stream); rows of 128-256 inputs measured level on Avx512 and Avx2. With 10
    /// outputs the register strips were faster (1 x 1024 x 10: 73-88 against 55-59). Neon: not measured (qemu only).
    /// </summary>
    private const int StreamMinInputs = 512;

    /// <summary>The fewest outputs (rows of W) for which <see cref="InputGemv"/> streams: see <see cref="StreamMinInputs"/>.</summary>
    private const int StreamMinOutputs = 32;

    /// <summary>
    /// Columns n..inputs-1 (fewer than a vector) of one chunk: per column a T.MulAdd per step, from zero (the
    /// column tail of every kernel), the columns side by side in one masked vector (<see cref="MaskedTail"/>; one by one, each
    /// a chain of dependent adds, they made 1 x 100 x 256 a quarter slower than OpenBLAS on Avx512 and Avx2, level after).
    /// One column stays scalar: its chain is as long either way, and the masked load measured slower (Avx2 1 x 1001 x 1024).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void InputGemvTail<T, TVec>(ref float g, ref float wp, nint ld, int pn, ref float dx, int n, int inputs, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        if (inputs - n > 1)
        {
            MaskedTail<T, TVec, Rows1>(ref g, 0, 1, ref Unsafe.Add(ref wp, n), ld, ref Unsafe.Add(ref dx, n), 0, 1, pn, add, inputs - n);
            return;
        }
        if (n == inputs)
            return;
        float sum = 0f;
        for (int p = 0; p < pn; p++)
            sum = T.MulAdd(Unsafe.Add(ref g, p), Unsafe.Add(ref wp, p * ld + n), sum);
        ref float d = ref Unsafe.Add(ref dx, n);
        d = add ? d + sum : sum;
    }

    /// <summary>
    /// One reduction chunk of <see cref="InputGemv"/> for the vector columns, W read row after row: passes of 4 rows (then
    /// single rows) each sweep the whole row once, adding their 4 products in order to a vector of partial sums in L1, so W
    /// is read as 4 sequential streams. The register strips of <see cref="InputGemvBlock"/> read each W row in pieces of 8
    /// vectors, a row stride apart, which the prefetchers follow poorly once W leaves L2 (1024 x 1024: 36 against 47
    /// GFLOP/s). The partial sums are kept in dx for the first chunk and in the workspace for later ones, then added to dx:
    /// each element gets the fused chain from zero over the chunk in order and the add of <see cref="StoreC1"/>, the bits
    /// of the register strips.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGemvStream<T, TVec>(ref float g, ref float wp, nint ld, int pn, ref float dx, int vectorEnd, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        ref float t = ref add ? ref Workspace(vectorEnd) : ref dx;
        int p = 0;
        for (; p <= pn - 4; p += 4)
            InputGemvPass<T, TVec, Rows4>(ref Unsafe.Add(ref g, p), ref Unsafe.Add(ref wp, p * ld), ld, ref t, vectorEnd, p == 0);
        for (; p < pn; p++)
            InputGemvPass<T, TVec, Rows1>(ref Unsafe.Add(ref g, p), ref Unsafe.Add(ref wp, p * ld), ld, ref t, vectorEnd, p == 0);
        if (add)
            for (int i = 0; i < vectorEnd; i += T.Width)
                T.Store(T.Add(T.Load(ref Unsafe.Add(ref dx, i)), T.Load(ref Unsafe.Add(ref t, i))), ref Unsafe.Add(ref dx, i));
    }

    /// <summary>
    /// TRows.Value (4 or 1) rows of W from <paramref name="w"/> times their dy values <paramref name="g"/>, multiply-added in
    /// row order onto the partial sums t (onto zero when <paramref name="first"/>), one vector column at a time.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGemvPass<T, TVec, TRows>(ref float g, ref float w, nint ld, ref float t, int vectorEnd, bool first)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TRows : struct, IConstant
    {
        bool four = TRows.Value == 4;
        TVec g0 = T.Splat(g);
        TVec g1 = four ? T.Splat(Unsafe.Add(ref g, 1)) : T.Zero, g2 = four ? T.Splat(Unsafe.Add(ref g, 2)) : T.Zero;
        TVec g3 = four ? T.Splat(Unsafe.Add(ref g, 3)) : T.Zero;
        // One row: the other three references stay on it (never past the end of W).
        ref float w1 = ref Unsafe.Add(ref w, four ? ld : 0), w2 = ref Unsafe.Add(ref w, four ? 2 * ld : 0);
        ref float w3 = ref Unsafe.Add(ref w, four ? 3 * ld : 0);
        for (int i = 0; i < vectorEnd; i += T.Width)
        {
            TVec c = first ? T.Zero : T.Load(ref Unsafe.Add(ref t, i));
            c = T.MulAdd(g0, T.Load(ref Unsafe.Add(ref w, i)), c);
            if (four)
            {
                c = T.MulAdd(g1, T.Load(ref Unsafe.Add(ref w1, i)), c);
                c = T.MulAdd(g2, T.Load(ref Unsafe.Add(ref w2, i)), c);
                c = T.MulAdd(g3, T.Load(ref Unsafe.Add(ref w3, i)), c);
            }
            T.Store(c, ref Unsafe.Add(ref t, i));
        }
    }

    /// <summary>
    /// TVectors.Value (1, 2, 4 or 8) vectors of one sample's input gradient over one reduction chunk: each a chain of pn fused
    /// multiply-adds from zero in order (dy[p] broadcast times W's row p), stored or added to dx.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGemvBlock<T, TVec, TVectors>(ref float g, ref float row, nint ld, int pn, ref float d, bool add)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TVectors : struct, IConstant
    {
        int width = T.Width;
        int V = TVectors.Value;
        TVec c0 = T.Zero, c1 = T.Zero, c2 = T.Zero, c3 = T.Zero, c4 = T.Zero, c5 = T.Zero, c6 = T.Zero, c7 = T.Zero;
        for (int p = 0; p < pn; p++)
        {
            TVec gv = T.Splat(Unsafe.Add(ref g, p));
            c0 = T.MulAdd(gv, T.Load(ref row), c0);
            if (V > 1) c1 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, width)), c1);
            if (V > 2)
            {
                c2 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 2 * width)), c2);
                c3 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 3 * width)), c3);
            }
            if (V > 4)
            {
                c4 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 4 * width)), c4);
                c5 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 5 * width)), c5);
                c6 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 6 * width)), c6);
                c7 = T.MulAdd(gv, T.Load(ref Unsafe.Add(ref row, 7 * width)), c7);
            }
            row = ref Unsafe.Add(ref row, ld);
        }
        StoreC1<T, TVec>(ref d, c0, add);
        if (V > 1) StoreC1<T, TVec>(ref Unsafe.Add(ref d, width), c1, add);
        if (V > 2)
        {
            StoreC1<T, TVec>(ref Unsafe.Add(ref d, 2 * width), c2, add);
            StoreC1<T, TVec>(ref Unsafe.Add(ref d, 3 * width), c3, add);
        }
        if (V > 4)
        {
            StoreC1<T, TVec>(ref Unsafe.Add(ref d, 4 * width), c4, add);
            StoreC1<T, TVec>(ref Unsafe.Add(ref d, 5 * width), c5, add);
            StoreC1<T, TVec>(ref Unsafe.Add(ref d, 6 * width), c6, add);
            StoreC1<T, TVec>(ref Unsafe.Add(ref d, 7 * width), c7, add);
        }
    }
}
