using System.Runtime.CompilerServices;

namespace FastMlp.Kernels;

/// <summary>
/// One sample through one layer whose weights are stored transposed in panels (<see cref="FrozenNetwork"/>'s layout):
/// y = op(b + x W^T). Panel p holds outputs 16p..16p+15 of every input, input after input: W[o, k] is at
/// (o / 16) * inputs * 16 + k * 16 + o % 16, the columns past the last output zero; b is padded to whole panels the same way.
/// </summary>
/// <remarks>
/// <para>Why transposed: each input is broadcast once and multiplied into whole vectors of outputs, so the outputs come out
/// of the accumulators lane by lane, with no horizontal sums. The row-major one-sample GEMV (<see cref="Gemm.GemvBlocks"/>)
/// needs a transposing reduction per block of outputs, which on a small network costs as much as its multiply-adds; it
/// keeps that order because a network's <c>Predict</c> must equal its batched <c>Forward</c> bitwise. Why panels: a pass
/// over a few vectors of outputs then reads each panel front to back (one stream per 16 outputs), where a plain transposed
/// matrix would be read in short pieces a whole row apart (measured on 1024 x 1024: 2.3x slower than row-major).</para>
/// <para>Summation order, the same on every path and vector width: input k goes to chain k mod <see cref="Chains"/> (each
/// chain a running multiply-add, fused on the FMA paths; chain 0 starts from the bias), then y = (c0 + c1) + (c2 + c3).
/// The four chains give the FMA pipes independent work; a whole output vector's chains are summed lane-wise, so paths
/// that all fuse (AVX-512, AVX2, NEON) agree bitwise, and so do the unfused ones (Vector128, scalar). Starting from the
/// bias takes one addition off each layer's critical path (64-32-32-10 on Zen 5: about 2 ns).</para>
/// </remarks>
internal static class BroadcastGemv
{
    /// <summary>Independent multiply-add chains per output (input k feeds chain k mod 4).</summary>
    public const int Chains = 4;

    /// <summary>Outputs per panel: a whole 512-bit vector (narrower paths read half or a quarter of a panel row).</summary>
    public const int PanelWidth = 16;

    /// <summary>Outputs rounded up to whole panels: the padded length of a layer's bias.</summary>
    public static int PaddedOutputs(int outputs) => (outputs + PanelWidth - 1) / PanelWidth * PanelWidth;

    /// <summary>Offset of W[o, 0] in the panel layout of a layer with <paramref name="inputs"/> inputs.</summary>
    public static nint PanelOffset(int o, int inputs) => (nint)((uint)o / PanelWidth) * inputs * PanelWidth + (nint)((uint)o % PanelWidth);

    /// <summary>
    /// y[0..outputs) = op(b + x W^T); with <see cref="SoftmaxMarker"/> as op (only for outputs &lt;= T.Width) the softmax of
    /// the row, in registers. Returns false only for softmax when the row's maximum is +Inf: b + x W^T is then stored for
    /// the caller to run the row kernel on. Nothing past y[stored - 1] is written (stored &gt;= outputs): a hidden layer's
    /// buffer padded to whole panels takes whole vector stores, which the next layer's scalar broadcast loads can be
    /// forwarded from (measured on Zen 5: after a masked or line-splitting store the loads wait for it to reach L1).
    /// </summary>
    /// <remarks>Inlined into the caller's switch over activations, so that a layer costs one call (its tile's).</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Layer<T, TVec, TOp>(ref float x, ref float wt, ref float b, ref float y, int inputs, int outputs, int stored, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        int width = T.Width;
        // Accumulators in flight: blocks x 4 chains. 4 x 4 zmm leave 16 registers of 32; on 16-register AVX2 2 x 4 plus
        // the four broadcasts fit, and 8 chains are what two 256-bit FMA pipes need at 4 cycles' latency. Narrower
        // vectors take a whole panel per pass (4 x 4 of 32 NEON registers), so that no panel is read twice.
        int group = width >= 16 ? 4 : PanelWidth / width;
        int blocks = (outputs + width - 1) / width;
        bool finite = true;
        for (int j = 0; j < blocks; j += group)
        {
            int o = j * width;
            finite &= Math.Min(group, blocks - j) switch
            {
                1 => Tile<T, TVec, Rows1, TOp>(ref x, ref wt, ref b, ref y, o, inputs, outputs, stored, op),
                2 => Tile<T, TVec, Rows2, TOp>(ref x, ref wt, ref b, ref y, o, inputs, outputs, stored, op),
                3 => Tile<T, TVec, Rows3, TOp>(ref x, ref wt, ref b, ref y, o, inputs, outputs, stored, op),
                _ => Tile<T, TVec, Rows4, TOp>(ref x, ref wt, ref b, ref y, o, inputs, outputs, stored, op),
            };
        }
        return finite;
    }

    /// <summary>
    /// TBlocks.Value (1..4) vectors of outputs from output o: 4 chains each, then bias, activation and store of the lanes
    /// below <c>stored</c>; with <see cref="SoftmaxMarker"/> (one vector: the caller's rule) the softmax of
    /// the finished vector in registers.
    /// </summary>
    /// <remarks>A call root per block count: with its 16 accumulators it has more locals than the JIT inlines.</remarks>
    [SkipLocalsInit, MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static bool Tile<T, TVec, TBlocks, TOp>(ref float x, ref float wt, ref float b, ref float y, int o, int inputs, int outputs, int stored, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TBlocks : struct, IConstant where TOp : struct, IUnaryOp
    {
        int width = T.Width;
        int nb = TBlocks.Value;
        const int ld = PanelWidth;
        int left = stored - o;
        nint start = PanelOffset(o, inputs);
        // Each vector's distance from the first in the panel layout (a panel further on, or further along the same panel).
        nint w1 = PanelOffset(o + width, inputs) - start, w2 = PanelOffset(o + 2 * width, inputs) - start, w3 = PanelOffset(o + 3 * width, inputs) - start;
        b = ref Unsafe.Add(ref b, o);
        y = ref Unsafe.Add(ref y, o);
        // Chain 0 starts from the bias: one addition fewer after the chains, on the layer's critical path.
        TVec a00 = T.Load(ref b), a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
        TVec a10 = nb > 1 ? T.Load(ref Unsafe.Add(ref b, width)) : T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
        TVec a20 = nb > 2 ? T.Load(ref Unsafe.Add(ref b, 2 * width)) : T.Zero, a21 = T.Zero, a22 = T.Zero, a23 = T.Zero;
        TVec a30 = nb > 3 ? T.Load(ref Unsafe.Add(ref b, 3 * width)) : T.Zero, a31 = T.Zero, a32 = T.Zero, a33 = T.Zero;
        ref float r0 = ref Unsafe.Add(ref wt, start);
        // The input and the panel rows advance by pointer and the loop counts down: broadcasts and loads at constant
        // displacements, a body of 101 bytes instead of 133 for two blocks (64-32-32-10 on Zen 5: 93 -> 87 ns).
        ref float xk = ref x;
        for (int steps = inputs / Chains; steps != 0; steps--)
        {
            TVec x0 = T.Splat(xk), x1 = T.Splat(Unsafe.Add(ref xk, 1));
            TVec x2 = T.Splat(Unsafe.Add(ref xk, 2)), x3 = T.Splat(Unsafe.Add(ref xk, 3));
            a00 = T.MulAdd(x0, T.Load(ref r0), a00);
            a01 = T.MulAdd(x1, T.Load(ref Unsafe.Add(ref r0, ld)), a01);
            a02 = T.MulAdd(x2, T.Load(ref Unsafe.Add(ref r0, 2 * ld)), a02);
            a03 = T.MulAdd(x3, T.Load(ref Unsafe.Add(ref r0, 3 * ld)), a03);
            if (nb > 1)
            {
                ref float q = ref Unsafe.Add(ref r0, w1);
                a10 = T.MulAdd(x0, T.Load(ref q), a10);
                a11 = T.MulAdd(x1, T.Load(ref Unsafe.Add(ref q, ld)), a11);
                a12 = T.MulAdd(x2, T.Load(ref Unsafe.Add(ref q, 2 * ld)), a12);
                a13 = T.MulAdd(x3, T.Load(ref Unsafe.Add(ref q, 3 * ld)), a13);
            }
            if (nb > 2)
            {
                ref float q = ref Unsafe.Add(ref r0, w2);
                a20 = T.MulAdd(x0, T.Load(ref q), a20);
                a21 = T.MulAdd(x1, T.Load(ref Unsafe.Add(ref q, ld)), a21);
                a22 = T.MulAdd(x2, T.Load(ref Unsafe.Add(ref q, 2 * ld)), a22);
                a23 = T.MulAdd(x3, T.Load(ref Unsafe.Add(ref q, 3 * ld)), a23);
            }
            if (nb > 3)
            {
                ref float q = ref Unsafe.Add(ref r0, w3);
                a30 = T.MulAdd(x0, T.Load(ref q), a30);
                a31 = T.MulAdd(x1, T.Load(ref Unsafe.Add(ref q, ld)), a31);
                a32 = T.MulAdd(x2, T.Load(ref Unsafe.Add(ref q, 2 * ld)), a32);
                a33 = T.MulAdd(x3, T.Load(ref Unsafe.Add(ref q, 3 * ld)), a33);
            }
            xk = ref Unsafe.Add(ref xk, Chains);
            r0 = ref Unsafe.Add(ref r0, Chains * ld);
        }
        int k = inputs / Chains * Chains;
        // The last inputs % 4 go to chains 0, 1, 2 in turn, as the scalar reference does (xk and r0 are at input k).
        if (k < inputs)
        {
            TVec xt = T.Splat(xk);
            a00 = T.MulAdd(xt, T.Load(ref r0), a00);
            if (nb > 1) a10 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r0, w1)), a10);
            if (nb > 2) a20 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r0, w2)), a20);
            if (nb > 3) a30 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r0, w3)), a30);
        }
        if (k + 1 < inputs)
        {
            TVec xt = T.Splat(Unsafe.Add(ref xk, 1));
            ref float r = ref Unsafe.Add(ref r0, ld);
            a01 = T.MulAdd(xt, T.Load(ref r), a01);
            if (nb > 1) a11 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r, w1)), a11);
            if (nb > 2) a21 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r, w2)), a21);
            if (nb > 3) a31 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r, w3)), a31);
        }
        if (k + 2 < inputs)
        {
            TVec xt = T.Splat(Unsafe.Add(ref xk, 2));
            ref float r = ref Unsafe.Add(ref r0, 2 * ld);
            a02 = T.MulAdd(xt, T.Load(ref r), a02);
            if (nb > 1) a12 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r, w1)), a12);
            if (nb > 2) a22 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r, w2)), a22);
            if (nb > 3) a32 = T.MulAdd(xt, T.Load(ref Unsafe.Add(ref r, w3)), a32);
        }
        if (typeof(TOp) == typeof(SoftmaxMarker))
        {
            TVec u = Finish<T, TVec>(a00, a01, a02, a03);
            bool finite = T.TrySoftmax(u, outputs - o, out TVec e);
            StoreLanes<T, TVec>(finite ? e : u, ref y, left);
            return finite;
        }
        StoreLanes<T, TVec>(T.Apply(op, Finish<T, TVec>(a00, a01, a02, a03)), ref y, left);
        if (nb > 1) StoreLanes<T, TVec>(T.Apply(op, Finish<T, TVec>(a10, a11, a12, a13)), ref Unsafe.Add(ref y, width), left - width);
        if (nb > 2) StoreLanes<T, TVec>(T.Apply(op, Finish<T, TVec>(a20, a21, a22, a23)), ref Unsafe.Add(ref y, 2 * width), left - 2 * width);
        if (nb > 3) StoreLanes<T, TVec>(T.Apply(op, Finish<T, TVec>(a30, a31, a32, a33)), ref Unsafe.Add(ref y, 3 * width), left - 3 * width);
        return true;
    }

    /// <summary>(c0 + c1) + (c2 + c3): the chains' fixed combination order (the bias is already in c0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Finish<T, TVec>(TVec c0, TVec c1, TVec c2, TVec c3) where T : struct, IGemvSimd<TVec> where TVec : struct =>
        T.Add(T.Add(c0, c1), T.Add(c2, c3));

    /// <summary>The first min(width, count) lanes of v to y (count &gt; 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLanes<T, TVec>(TVec v, ref float y, int count) where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        if (count >= T.Width) T.Store(v, ref y);
        else T.StoreFirst(v, ref y, count);
    }

    /// <summary>
    /// Scalar reference and scalar path: the same chains and combination order as the vector paths, unfused (so it equals the
    /// Vector128 path bitwise for the element-wise activations whose scalar and vector forms agree, such as ReLU).
    /// Softmax is not applied here: the caller runs the row kernel on y.
    /// </summary>
    public static void LayerScalar<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> wt, ReadOnlySpan<float> b, Span<float> y,
        int inputs, int outputs, TOp op) where TOp : struct, IUnaryOp
    {
        Span<float> c = stackalloc float[Chains];
        for (int o = 0; o < outputs; o++)
        {
            c.Clear();
            c[0] = b[o];
            ReadOnlySpan<float> column = wt.Slice((int)PanelOffset(o, inputs));
            for (int k = 0; k < inputs; k++)
                c[k % Chains] += x[k] * column[k * PanelWidth];
            y[o] = op.Invoke((c[0] + c[1]) + (c[2] + c[3]));
        }
    }
}

/// <summary>The block count 1 of <see cref="BroadcastGemv"/>'s tiles (2 to 4 are <see cref="Rows2"/> to <see cref="Rows4"/>).</summary>
internal readonly struct Rows1 : IConstant { public static int Value => 1; }

/// <summary>Marks a softmax output layer for <see cref="BroadcastGemv.Layer{T, TVec, TOp}"/>; as an element-wise op, the identity.</summary>
internal readonly struct SoftmaxMarker : IUnaryOp
{
    public float Invoke(float x) => x;
    public Quad128 Invoke(Quad128 x) => x;
    public Quad256 Invoke(Quad256 x) => x;
    public Quad512 Invoke(Quad512 x) => x;
}
