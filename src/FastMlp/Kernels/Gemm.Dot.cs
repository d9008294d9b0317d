using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

internal static partial class Gemm
{
    /// <summary>Bytes of X a batched Forward keeps in L2 while it sweeps W.</summary>
    private const int XBlockBytes = 256 * 1024;

    /// <summary>Outputs above which the 4-output tiles read X from an aligned copy (see <see cref="DotForward"/>).</summary>
    private const int PackMinOutputs = 16;

    /// <summary>Inputs above which the 4-output tiles read X from an aligned copy (see <see cref="DotForward"/>).</summary>
    private const int PackMinInputs = 128;

    /// <summary>
    /// Forward on a batch: for each block of rows of X (copied into the per-thread <see cref="Workspace"/> at a
    /// 64-byte-aligned <see cref="PackedStride"/> when enough groups of W rows read it, so that a 1024-float row stride
    /// does not alias in L1), for each group of W rows (kept hot in L1), every group of rows of X. On the 32-register path
    /// (<see cref="UseWideTile"/>) the groups of 8 W rows are packed into a panel and met by 3-row tiles
    /// (<see cref="DotWideOutputs"/>, in reduction chunks past 1024 inputs; X blocks and packing by <see cref="WideBlocking"/>); the remaining outputs, and every output
    /// on the other paths, go through 4-output tiles: T.DotRows x 4 dot products in vector accumulators, reduced along
    /// the inputs, then four horizontal sums at once (<see cref="IGemmSimd{TVec}.Sum4"/>, the tree of T.Sum), the rows
    /// left over by a block through 2-row tiles; on Avx512 a layer's last 5 or 10 outputs as groups of 5. Every output is
    /// summed in the same order whatever the tile and the blocking, the order <see cref="Gemv"/> uses. The epilogue <paramref name="op"/> (an element-wise activation,
    /// <see cref="NoActivationOp"/> for none) is applied to each finished tile in registers, with the element-wise
    /// kernels' vector operator of the path's width (<see cref="IGemmSimd{TVec}.ApplyRows"/>, <see cref="IGemvSimd{TVec}.Apply"/>),
    /// so the stored values equal a plain Forward followed by <see cref="ActivationKernels.Apply(Activation, Span{float}, int)"/> bitwise.
    /// Short rows (<see cref="UseShortRows"/>) go to <see cref="ShortRowsForward"/>.
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotForward<T, TVec, TOp>(ref float x, ref float w, ref float b, ref float y, int rows, int inputs, int outputs, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        if (UseShortRows<T, TVec>(rows, inputs, outputs))
        {
            ShortRowsForward<T, TVec, TOp>(ref x, ref w, ref b, ref y, rows, inputs, outputs, op);
            return;
        }
        int fr = T.DotRows;
        bool wide = UseWideTile<T, TVec>(rows, inputs, outputs);
        bool pack;
        int stride, rowBlock;
        WidePlan plan = default;
        if (wide)
        {
            plan = WideBlocking(rows, inputs, outputs, T.Width);
            (pack, stride, rowBlock) = (plan.Pack, plan.Stride, plan.RowBlock);
        }
        else
        {
            // The copy pays only when many groups of W rows read the block, and when its rows are long: on Zen 5 (Avx2) the
            // forwards of 32-128 inputs, and of 10 outputs (3 groups) up to 1024 inputs, ran 5-20 % faster reading X in
            // place, with plain arrays and with 64-byte aligned ones alike.
            pack = outputs > PackMinOutputs && inputs > PackMinInputs;
            stride = pack ? PackedStride(inputs) : inputs;
            rowBlock = ForwardRowBlock(fr, rows, stride);
        }
        // The workspace holds the packed X block, then (wide tile) the packed panel of 8 W rows and the tiles' partial sums,
        // each 64-byte aligned.
        int xFloats = pack ? rowBlock * stride : 0;
        ref float ws = ref pack || wide ? ref Workspace(xFloats + plan.PanelFloats + plan.PartialFloats) : ref x;
        ref float xp = ref ws;
        ref float panel = ref Unsafe.Add(ref ws, xFloats);
        for (int r0 = 0; r0 < rows; r0 += rowBlock)
        {
            int nb = Math.Min(rowBlock, rows - r0);
            ref float xb = ref Unsafe.Add(ref x, (nint)r0 * inputs);
            if (pack)
                PackRows<T, TVec>(ref xb, inputs, inputs, ref xp, stride, nb);
            else
                xp = ref xb;
            ref float yb = ref Unsafe.Add(ref y, (nint)r0 * outputs);
            int o = wide ? DotWideOutputs<T, TVec, TOp>(ref xp, stride, ref w, ref b, ref yb, nb, inputs, outputs, plan, ref panel, op) : 0;
            for (int no; o < outputs; o += no)
            {
                int left = outputs - o;
                no = Math.Min(4, left);
                // On 32 registers the last 5 or 10 outputs go as groups of 5 (10 outputs: 5 + 5, not 4 + 4 + 2): a group reads
                // all of X's block once, and the 2-output form's 8 products per 4 rows of X, read from L2 past 48 KiB, ran at
                // half the 4-output tile's speed (32 x 1024 x 2: 94 against 170 GFLOP/s).
                if (fr == 4 && (left == 5 || left == 10))
                    no = 5;
                ref float w0 = ref Unsafe.Add(ref w, (nint)o * inputs);
                ref float w1 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 1, outputs - 1) * inputs);
                ref float w2 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 2, outputs - 1) * inputs);
                ref float w3 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 3, outputs - 1) * inputs);
                ref float w4 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 4, outputs - 1) * inputs);
                ref float bo = ref Unsafe.Add(ref b, o);
                ref float yo = ref Unsafe.Add(ref yb, o);
                // The last group of a layer with 1 or 2 outputs left (6 outputs: 4 + 2) runs the tiles' 2-output form.
                if (no == 5)
                    DotGroup<T, TVec, Cols5, TOp>(ref xp, stride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, nb, inputs, outputs, no, op);
                else if (no > 2)
                    DotGroup<T, TVec, Rows4, TOp>(ref xp, stride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, nb, inputs, outputs, no, op);
                else
                    DotGroup<T, TVec, Rows2, TOp>(ref xp, stride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, nb, inputs, outputs, no, op);
            }
        }
    }

    /// <summary>Copies <paramref name="count"/> rows of <paramref name="length"/> floats, at row stride srcStride, to dst at row stride dstStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackRows<T, TVec>(ref float src, int srcStride, int length, ref float dst, int dstStride, int count)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        for (int r = 0; r < count; r++)
        {
            ref float s = ref Unsafe.Add(ref src, (nint)r * srcStride);
            ref float d = ref Unsafe.Add(ref dst, (nint)r * dstStride);
            int k = 0;
            for (; k <= length - width; k += width)
                T.Store(T.Load(ref Unsafe.Add(ref s, k)), ref Unsafe.Add(ref d, k));
            for (; k < length; k++)
                Unsafe.Add(ref d, k) = Unsafe.Add(ref s, k);
        }
    }

    /// <summary>
    /// Every row of a block by one group of W rows (TCols.Value of them computed: 4, 5 on Avx512, or 2 for a last
    /// group of 1 or 2 outputs): tiles of T.DotRows rows, then one 2-row tile for the rows left over.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotGroup<T, TVec, TCols, TOp>(ref float x, int xStride, ref float w0, ref float w1, ref float w2, ref float w3,
        ref float w4, ref float bo, ref float yo, int nb, int inputs, int outputs, int no, TOp op)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TCols : struct, IConstant where TOp : struct, IUnaryOp
    {
        if (inputs % T.Width == 0)
            DotGroup<T, TVec, TCols, TOp, WholeInputs>(ref x, xStride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, nb, inputs, outputs, no, op);
        else
            DotGroup<T, TVec, TCols, TOp, TailInputs>(ref x, xStride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, nb, inputs, outputs, no, op);
    }

    /// <summary><see cref="DotGroup{T, TVec, TCols, TOp}"/> with rows of whole vectors (TTail <see cref="WholeInputs"/>) or with a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotGroup<T, TVec, TCols, TOp, TTail>(ref float x, int xStride, ref float w0, ref float w1, ref float w2, ref float w3,
        ref float w4, ref float bo, ref float yo, int nb, int inputs, int outputs, int no, TOp op)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TCols : struct, IConstant where TOp : struct, IUnaryOp
        where TTail : struct, IConstant
    {
        // T.DotRows is a JIT-time constant: one of these calls survives, a tile method compiled for that height.
        int fr = T.DotRows;
        int r = nb / fr * fr;
        if (fr == 4) DotTiles<T, TVec, Rows4, TCols, TOp, TTail>(ref x, xStride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, 0, r, nb, inputs, outputs, no, op);
        else if (fr == 3) DotTiles<T, TVec, Rows3, TCols, TOp, TTail>(ref x, xStride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, 0, r, nb, inputs, outputs, no, op);
        else DotTiles<T, TVec, Rows2, TCols, TOp, TTail>(ref x, xStride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, 0, r, nb, inputs, outputs, no, op);
        if (r < nb)
            DotTiles<T, TVec, Rows2, TCols, TOp, TTail>(ref x, xStride, ref w0, ref w1, ref w2, ref w3, ref w4, ref bo, ref yo, r, nb, nb, inputs, outputs, no, op);
    }

    /// <summary>
    /// Tiles of TRows.Value (2..4) rows of X, from row <paramref name="rStart"/> until <paramref name="rStop"/>, by 4 rows
    /// of W; a row at or past rEnd re-reads row rEnd - 1 and is not stored. One call walks every tile of a group of W rows:
    /// with 32 inputs (4 steps of 12 multiply-adds on Avx2) a call per tile, with its prologue and stack arguments, cost as
    /// much as the tile's arithmetic. The height is a type argument so that each height is its own method with the unused
    /// rows folded away (a runtime height would keep every branch). The tile's results (bias added) are put through op
    /// together before they are stored. With TCols.Value == 2 only w0 and w1 are multiplied (the last group of a layer with
    /// 1 or 2 outputs left: 6-output layers computed 8 outputs' products); the other two accumulators stay zero, and
    /// their lanes are never stored. With TCols.Value == 5 (<see cref="Cols5"/>, 32 registers: 20 accumulators) w4 is the
    /// fifth, its sums a vector of the tile's rows. Each output's chain and sum are its own, so every form gives the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotTiles<T, TVec, TRows, TCols, TOp, TTail>(ref float x, int xStride, ref float w0, ref float w1, ref float w2, ref float w3,
        ref float w4, ref float bo, ref float yo, int rStart, int rStop, int rEnd, int inputs, int outputs, int no, TOp op)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TRows : struct, IConstant where TCols : struct, IConstant where TOp : struct, IUnaryOp
        where TTail : struct, IConstant
    {
        int width = T.Width;
        int fr = TRows.Value;
        bool four = TCols.Value >= 4, five = TCols.Value == 5;
        int last = rEnd - 1;
        Vector128<float> bias = LoadBias4(ref bo, Math.Min(no, 4));
        // The fifth output's bias in every lane: its sums are a vector of the tile's rows.
        Vector128<float> bias4 = five ? Vector128.Create(Unsafe.Add(ref bo, 4)) : default;
        for (int r = rStart; r < rStop; r += fr)
        {
            ref float x0 = ref Unsafe.Add(ref x, (nint)r * xStride);
            ref float x1 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 1, last) * xStride);
            ref float x2 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 2, last) * xStride);
            ref float x3 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 3, last) * xStride);
            TVec a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
            TVec a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
            TVec a20 = T.Zero, a21 = T.Zero, a22 = T.Zero, a23 = T.Zero;
            TVec a30 = T.Zero, a31 = T.Zero, a32 = T.Zero, a33 = T.Zero;
            TVec a04 = T.Zero, a14 = T.Zero, a24 = T.Zero, a34 = T.Zero;
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
                if (!four)
                    continue;
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
                if (!five)
                    continue;
                wv = T.Load(ref Unsafe.Add(ref w4, k));
                a04 = T.MulAdd(xv0, wv, a04);
                a14 = T.MulAdd(xv1, wv, a14);
                if (fr > 2) a24 = T.MulAdd(xv2, wv, a24);
                if (fr > 3) a34 = T.MulAdd(xv3, wv, a34);
            }
            // Every horizontal sum before any call: an accumulator live across a call would be spilled inside the loop.
            Vector128<float> s0 = T.Sum4(a00, a01, a02, a03), s1 = T.Sum4(a10, a11, a12, a13);
            Vector128<float> s2 = fr > 2 ? T.Sum4(a20, a21, a22, a23) : default, s3 = fr > 3 ? T.Sum4(a30, a31, a32, a33) : default;
            // The fifth output of the tile's rows, lane j for row j (the same tree as the others').
            Vector128<float> s4 = five ? T.Sum4(a04, a14, a24, a34) : default;
            int nr = Math.Min(fr, rEnd - r);
            // The scalar tail, then the bias: a row past rEnd (clamped) is finished too, and never stored.
            if (TTail.Value == TailInputs.Value)
            {
                DotTail<TRows>(ref x0, ref x1, ref x2, ref x3, ref w0, ref w1, ref w2, ref w3, ref s0, ref s1, ref s2, ref s3, k, inputs);
                if (five)
                    DotTailColumn(ref x0, ref x1, ref x2, ref x3, ref w4, ref s4, k, inputs);
            }
            // Lane by lane this is the scalar b + s of a partial group: one IEEE addition either way.
            Vector128<float> v0 = bias + s0, v1 = bias + s1, v2 = bias + s2, v3 = bias + s3, v4 = bias4 + s4;
            if (typeof(TOp) != typeof(NoActivationOp))
            {
                // The epilogue: every result of the tile through the activation at once, one full vector of the path's width
                // where it fits (4 rows x 4 outputs is one Vector512), while the tile is still in registers.
                Quad128 f = T.ApplyRows(op, new Quad128(v0, v1, v2, v3));
                v0 = f.A; v1 = f.B; v2 = f.C; v3 = f.D;
                if (five)
                    v4 = T.ApplyRows(op, new Quad128(v4, v4, v4, v4)).A;
            }
            ref float y0 = ref Unsafe.Add(ref yo, (nint)r * outputs);
            int n4 = Math.Min(no, 4);
            StoreOutputs4(ref y0, v0, n4);
            if (nr > 1) StoreOutputs4(ref Unsafe.Add(ref y0, outputs), v1, n4);
            if (fr > 2 && nr > 2) StoreOutputs4(ref Unsafe.Add(ref y0, 2 * outputs), v2, n4);
            if (fr > 3 && nr > 3) StoreOutputs4(ref Unsafe.Add(ref y0, 3 * outputs), v3, n4);
            if (five)
                StoreColumn4(ref Unsafe.Add(ref y0, 4), outputs, v4, nr);
        }
    }

    /// <summary>Stores lane j of v to y[j * stride] for j &lt; <paramref name="count"/> (a column of up to 4 rows).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreColumn4(ref float y, int stride, Vector128<float> v, int count)
    {
        y = v.GetElement(0);
        if (count > 1) Unsafe.Add(ref y, stride) = v.GetElement(1);
        if (count > 2) Unsafe.Add(ref y, 2 * stride) = v.GetElement(2);
        if (count > 3) Unsafe.Add(ref y, 3 * stride) = v.GetElement(3);
    }

    /// <summary>The biases of a group of <paramref name="count"/> (1..4) outputs; lanes past count are 0 (never stored).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> LoadBias4(ref float b, int count) => count == 4 ? Vector128.LoadUnsafe(ref b)
        : Vector128.Create(b, count > 1 ? Unsafe.Add(ref b, 1) : 0f, count > 2 ? Unsafe.Add(ref b, 2) : 0f, 0f);

    /// <summary>Stores the first <paramref name="count"/> (1..4) lanes of v (a partial group must not write past its row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreOutputs4(ref float y, Vector128<float> v, int count)
    {
        if (count == 4)
        {
            v.StoreUnsafe(ref y);
            return;
        }
        y = v.GetElement(0);
        if (count > 1) Unsafe.Add(ref y, 1) = v.GetElement(1);
        if (count > 2) Unsafe.Add(ref y, 2) = v.GetElement(2);
    }

    /// <summary>
    /// The scalar tail of a tile's TRows.Value rows: for k = k..inputs-1 in order, lane j of row r's sums gets
    /// x_r[k] w_j[k], multiplied and then added (never fused), as Gemv's scalar loop adds it to output j. The 4 weights
    /// of a step are gathered into one vector that every row multiplies, so a step is a vector multiply and add per row
    /// (Avx2, 50 inputs to 100 outputs: the scalar chains, 4 outputs by 3 rows of them, took a third of the forward).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotTail<TRows>(ref float x0, ref float x1, ref float x2, ref float x3, ref float w0, ref float w1, ref float w2,
        ref float w3, ref Vector128<float> s0, ref Vector128<float> s1, ref Vector128<float> s2, ref Vector128<float> s3, int k, int inputs)
        where TRows : struct, IConstant
    {
        int fr = TRows.Value;
        for (; k < inputs; k++)
        {
            var wk = Vector128.Create(Unsafe.Add(ref w0, k), Unsafe.Add(ref w1, k), Unsafe.Add(ref w2, k), Unsafe.Add(ref w3, k));
            s0 += Vector128.Create(Unsafe.Add(ref x0, k)) * wk;
            s1 += Vector128.Create(Unsafe.Add(ref x1, k)) * wk;
            if (fr > 2) s2 += Vector128.Create(Unsafe.Add(ref x2, k)) * wk;
            if (fr > 3) s3 += Vector128.Create(Unsafe.Add(ref x3, k)) * wk;
        }
    }

    /// <summary>
    /// <see cref="DotTail{TRows}"/> for one more output, whose sums hold the rows in their lanes: lane j gets x_j[k] w[k],
    /// multiplied and then added, for k in order. Rows a tile lacks re-read its last row (clamped) and are never stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotTailColumn(ref float x0, ref float x1, ref float x2, ref float x3, ref float w, ref Vector128<float> s, int k, int inputs)
    {
        for (; k < inputs; k++)
            s += Vector128.Create(Unsafe.Add(ref x0, k), Unsafe.Add(ref x1, k), Unsafe.Add(ref x2, k), Unsafe.Add(ref x3, k)) * Vector128.Create(Unsafe.Add(ref w, k));
    }
}

/// <summary>A compile-time integer for the JIT: a struct type argument whose <see cref="Value"/> folds to a constant.</summary>
internal interface IConstant
{
    /// <summary>The value.</summary>
    static abstract int Value { get; }
}

internal readonly struct Rows2 : IConstant { public static int Value => 2; }
internal readonly struct Rows3 : IConstant { public static int Value => 3; }
internal readonly struct Rows4 : IConstant { public static int Value => 4; }
/// <summary>The 5-output dot group of the 32-register path (<see cref="Gemm"/>'s DotForward).</summary>
internal readonly struct Cols5 : IConstant { public static int Value => 5; }
/// <summary>Rows of whole vectors of inputs: a dot tile without the scalar tail (and without the call to it, which made the
/// tile keep its sums on the stack).</summary>
internal readonly struct WholeInputs : IConstant { public static int Value => 0; }
/// <summary>Rows with a scalar tail of inputs after their whole vectors.</summary>
internal readonly struct TailInputs : IConstant { public static int Value => 1; }
