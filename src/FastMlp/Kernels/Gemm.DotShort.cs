using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

// The batched Forward of layers with short rows: fewer inputs than a vector holds (tabular data, the first layer of a small
// network), or a few vectors of them.
internal static partial class Gemm
{
    /// <summary>
    /// Forward of short rows (<see cref="UseShortRows"/>). When a row of X is shorter than one vector (0 &lt; inputs
    /// &lt; T.Width), every output of the dot kernels is all scalar tail, +0 (the empty vector part) plus x[k] w[o, k] for k
    /// in order, each product rounded and then added, then the bias added, which the 4-output tiles computed four outputs
    /// at a time in scalar registers after reducing accumulators that were all zero (a 32 x 10 x 100 forward on Avx512 ran
    /// at 25 GFLOP/s, 0.37x OpenBLAS). Here W is copied transposed into the workspace (inputs rows of the outputs,
    /// zero-padded to whole vectors) and each row of X multiplies it as broadcasts, one vector of outputs per lane group,
    /// with the same operations lane by lane: the same bits as <see cref="Gemv"/> and the dot tiles. Each W^T vector meets
    /// 4 rows (2 on Avx2 and the 4-float paths) and each broadcast 4 vectors; the activation, if any, is applied in
    /// registers with the path's element-wise operator. Longer rows go 2 rows by 2 vectors of outputs at a time through
    /// <see cref="ShortTreeTile"/>, rows of exactly one vector on the 8- and 4-float paths one row and one vector at a time
    /// through <see cref="ShortVectorRow"/>; both add the lanes' products in T.Sum's tree.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ShortRowsForward<T, TVec, TOp>(ref float x, ref float w, ref float b, ref float y, int rows, int inputs,
        int outputs, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        int width = T.Width;
        // Blocks of outputs whose transposed W fits the workspace's first size (1 MiB): a layer of 100,000 outputs must not
        // make every thread's workspace grow to its whole W.
        int block = Math.Max(width, WorkspaceInitialFloats / (inputs + 1) / width * width);
        for (int o0 = 0; o0 < outputs; o0 += block)
        {
            int count = Math.Min(block, outputs - o0);
            int stride = (count + width - 1) / width * width;
            // The transposed W, then the bias, each row zero-padded to whole vectors (64-byte aligned: stride is whole vectors).
            ref float wt = ref Workspace((inputs + 1) * stride);
            TransposeRows(ref Unsafe.Add(ref w, (nint)o0 * inputs), inputs, count, ref wt, stride);
            ref float bias = ref Unsafe.Add(ref wt, inputs * stride);
            for (int o = 0; o < stride; o++)
                Unsafe.Add(ref bias, o) = o < count ? Unsafe.Add(ref b, o0 + o) : 0f;
            int groups = stride / width;
            ref float yb = ref Unsafe.Add(ref y, o0);
            if (inputs == width && width < 16)
            {
                // One vector of inputs: its products summed in the tree of T.Sum, one row and one vector at a time.
                for (int row = 0; row < rows; row++)
                    for (int v = 0; v < groups; v++)
                        ShortVectorRow<T, TVec, TOp>(ref Unsafe.Add(ref x, (nint)row * inputs), ref wt, stride, v * width,
                            ref Unsafe.Add(ref yb, (nint)row * outputs), count, op);
                continue;
            }
            if (inputs >= width)
            {
                // Whole vectors and maybe a tail: 2 rows by 2 vectors of outputs at a time (ShortTreeTile).
                int r2 = 0;
                for (; r2 + 2 <= rows; r2 += 2)
                    ShortTreeRows<T, TVec, TOp, Rows2>(ref Unsafe.Add(ref x, (nint)r2 * inputs), inputs, ref wt, stride, groups,
                        ref Unsafe.Add(ref yb, (nint)r2 * outputs), outputs, count, op);
                if (r2 < rows)
                    ShortTreeRows<T, TVec, TOp, Rows1>(ref Unsafe.Add(ref x, (nint)r2 * inputs), inputs, ref wt, stride, groups,
                        ref Unsafe.Add(ref yb, (nint)r2 * outputs), outputs, count, op);
                continue;
            }
            // Tiles of 4 rows (2 on Avx2 and the 4-float paths) by 4 vectors of outputs: each product's add waits on the
            // one before it in its chain, so a tile needs many chains side by side (one row by 4 vectors ran at the adds'
            // latency).
            int tr = width == 16 ? 4 : 2;
            int r = 0;
            for (; r + tr <= rows; r += tr)
            {
                if (tr == 4) ShortRowTiles<T, TVec, TOp, Rows4>(ref x, ref wt, stride, inputs, r, groups, ref yb, outputs, count, op);
                else ShortRowTiles<T, TVec, TOp, Rows2>(ref x, ref wt, stride, inputs, r, groups, ref yb, outputs, count, op);
            }
            for (; r < rows; r++)
                ShortRowTiles<T, TVec, TOp, Rows1>(ref x, ref wt, stride, inputs, r, groups, ref yb, outputs, count, op);
        }
    }

    /// <summary>
    /// wt[k * stride + o] = w[o * inputs + k] for the <paramref name="count"/> rows of w, zero for o = count..stride-1
    /// (stride a multiple of 4, at least count): blocks of 4 rows by 4 inputs, each 4 quad loads, a 4 x 4 transpose
    /// (<see cref="VectorMath.Transpose4"/>) and 4 quad stores. Element by element it was a third of an Avx2 forward of 32 x
    /// 13 x 64. Nothing past w's last row is read (its last quad through a mask).
    /// </summary>
    private static void TransposeRows(ref float w, int inputs, int count, ref float wt, int stride)
    {
        nint end = (nint)count * inputs;
        for (int o = 0; o < stride; o += 4)
        {
            ref float col = ref Unsafe.Add(ref wt, o);
            for (int k = 0; k < inputs; k += 4)
            {
                Vector128<float> q0 = RowQuad(ref w, o, count, inputs, k, end), q1 = RowQuad(ref w, o + 1, count, inputs, k, end);
                Vector128<float> q2 = RowQuad(ref w, o + 2, count, inputs, k, end), q3 = RowQuad(ref w, o + 3, count, inputs, k, end);
                VectorMath.Transpose4(ref q0, ref q1, ref q2, ref q3);
                ref float dst = ref Unsafe.Add(ref col, (nint)k * stride);
                q0.StoreUnsafe(ref dst);
                if (k + 1 < inputs) q1.StoreUnsafe(ref Unsafe.Add(ref dst, stride));
                if (k + 2 < inputs) q2.StoreUnsafe(ref Unsafe.Add(ref dst, 2 * stride));
                if (k + 3 < inputs) q3.StoreUnsafe(ref Unsafe.Add(ref dst, 3 * stride));
            }
        }
    }

    /// <summary>Rows r..r+TRows.Value-1 of <see cref="ShortRowsForward"/>: every vector of outputs, 4 at a time, then one at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortRowTiles<T, TVec, TOp, TRows>(ref float x, ref float wt, int stride, int inputs, int r, int groups, ref float y,
        int ldy, int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp where TRows : struct, IConstant
    {
        ref float xr = ref Unsafe.Add(ref x, (nint)r * inputs);
        ref float yr = ref Unsafe.Add(ref y, (nint)r * ldy);
        int v = 0;
        for (; v + 4 <= groups; v += 4)
            ShortTile<T, TVec, TOp, TRows, Vectors4>(ref xr, inputs, ref wt, stride, v * T.Width, ref yr, ldy, count, op);
        for (; v < groups; v++)
            ShortTile<T, TVec, TOp, TRows, Vectors1>(ref xr, inputs, ref wt, stride, v * T.Width, ref yr, ldy, count, op);
    }

    /// <summary>
    /// TRows.Value (1, 2 or 4) rows by TVectors.Value (1 or 4) vectors of outputs from column <paramref name="o"/> of the
    /// transposed W (<see cref="ShortRowsForward"/>): from zero, each input's broadcast times its row of W^T, multiplied then
    /// added, then the bias (the row after the last input), the activation, and a store of the outputs that exist.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ShortTile<T, TVec, TOp, TRows, TVectors>(ref float xr, int inputs, ref float wt, int stride, int o, ref float yr,
        int ldy, int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp where TRows : struct, IConstant
        where TVectors : struct, IConstant
    {
        int width = T.Width;
        int R = TRows.Value;
        bool four = TVectors.Value == 4;
        TVec c00 = T.Zero, c01 = T.Zero, c02 = T.Zero, c03 = T.Zero, c10 = T.Zero, c11 = T.Zero, c12 = T.Zero, c13 = T.Zero;
        TVec c20 = T.Zero, c21 = T.Zero, c22 = T.Zero, c23 = T.Zero, c30 = T.Zero, c31 = T.Zero, c32 = T.Zero, c33 = T.Zero;
        ref float wk = ref Unsafe.Add(ref wt, o);
        for (int k = 0; k < inputs; k++)
        {
            TVec w0 = T.Load(ref wk);
            TVec w1 = four ? T.Load(ref Unsafe.Add(ref wk, width)) : T.Zero;
            TVec w2 = four ? T.Load(ref Unsafe.Add(ref wk, 2 * width)) : T.Zero;
            TVec w3 = four ? T.Load(ref Unsafe.Add(ref wk, 3 * width)) : T.Zero;
            ShortStep<T, TVec>(T.Splat(Unsafe.Add(ref xr, k)), w0, w1, w2, w3, four, ref c00, ref c01, ref c02, ref c03);
            if (R > 1)
                ShortStep<T, TVec>(T.Splat(Unsafe.Add(ref xr, inputs + k)), w0, w1, w2, w3, four, ref c10, ref c11, ref c12, ref c13);
            if (R > 2)
            {
                ShortStep<T, TVec>(T.Splat(Unsafe.Add(ref xr, 2 * inputs + k)), w0, w1, w2, w3, four, ref c20, ref c21, ref c22, ref c23);
                ShortStep<T, TVec>(T.Splat(Unsafe.Add(ref xr, 3 * inputs + k)), w0, w1, w2, w3, four, ref c30, ref c31, ref c32, ref c33);
            }
            wk = ref Unsafe.Add(ref wk, stride);
        }
        // wk now points at the bias row.
        ShortRowStore<T, TVec, TOp>(ref wk, four, c00, c01, c02, c03, ref yr, o, count, op);
        if (R > 1) ShortRowStore<T, TVec, TOp>(ref wk, four, c10, c11, c12, c13, ref Unsafe.Add(ref yr, ldy), o, count, op);
        if (R > 2)
        {
            ShortRowStore<T, TVec, TOp>(ref wk, four, c20, c21, c22, c23, ref Unsafe.Add(ref yr, 2 * ldy), o, count, op);
            ShortRowStore<T, TVec, TOp>(ref wk, four, c30, c31, c32, c33, ref Unsafe.Add(ref yr, 3 * ldy), o, count, op);
        }
    }

    /// <summary>One input of one row: c_j = c_j + x w_j, multiplied then added (c1..c3 only when <paramref name="four"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortStep<T, TVec>(TVec xk, TVec w0, TVec w1, TVec w2, TVec w3, bool four, ref TVec c0, ref TVec c1, ref TVec c2, ref TVec c3)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        c0 = T.Add(c0, T.Multiply(xk, w0));
        if (!four)
            return;
        c1 = T.Add(c1, T.Multiply(xk, w1));
        c2 = T.Add(c2, T.Multiply(xk, w2));
        c3 = T.Add(c3, T.Multiply(xk, w3));
    }

    /// <summary>
    /// Whether <see cref="DotForward"/> hands a product to <see cref="ShortRowsForward"/>: rows of fewer inputs than a vector
    /// on every path, rows of one vector and a tail on the 8- and 4-float paths, and on Avx512 rows of 16-47 inputs when
    /// enough rows share the transposed W (at least <see cref="ShortTreeMinRows"/>) and it has 2 vectors of outputs or more.
    /// Measured on Zen 5 (alternating processes or one process, ratios to OpenBLAS or to the dot tiles): Avx2 forwards of
    /// 10-13 inputs 0.16-0.21 -> 0.56-0.61x OpenBLAS, Vector128 of 5-7 inputs 0.10-0.16 -> 0.26-0.34x; Avx512 at 256 rows
    /// and 32-256 outputs 1.0-1.47x the wide dot tile (256 x 32 x 32 121 -> 140 GFLOP/s, 256 x 24 x 256 75 -> 109), at
    /// 128 rows 0.91-1.39x, at 64 rows 0.76-1.22x, with 8-16 outputs 0.40-0.77x (one vector of outputs per tile).
    /// </summary>
    private static bool UseShortRows<T, TVec>(int rows, int inputs, int outputs) where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        if (width == 16)
            return inputs > 0 && (inputs < width || inputs < 3 * width && rows >= ShortTreeMinRows && outputs >= 2 * width);
        return inputs > 0 && inputs < 2 * width;
    }

    /// <summary>Rows from which Avx512 forwards of 16-47 inputs go to <see cref="ShortRowsForward"/> (<see cref="UseShortRows"/>).</summary>
    private const int ShortTreeMinRows = 128;

    /// <summary>
    /// One row's vector of outputs from column <paramref name="o"/> when the row holds exactly one vector of inputs (the 8-
    /// and 4-float paths; 2 x 2 tree tiles measured 7-32 % slower there): the dot kernels' accumulator lane j holds the fused
    /// product of input j (a multiply-add onto zero), T.Sum adds the lanes in its tree (<see cref="ShortTreeTile"/>), then
    /// the bias is added. Here lane o of each product vector is that product for output o, and the same additions in the
    /// same order give the same bits for every output at once, without horizontal shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortVectorRow<T, TVec, TOp>(ref float xr, ref float wt, int stride, int o, ref float yr, int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        int width = T.Width;
        ref float w0 = ref Unsafe.Add(ref wt, o);
        TVec s = ShortQuad<T, TVec>(ref xr, ref w0, stride, 0);
        if (width >= 8)
            s = T.Add(s, ShortQuad<T, TVec>(ref xr, ref w0, stride, 4));
        if (width == 16)
            s = T.Add(s, T.Add(ShortQuad<T, TVec>(ref xr, ref w0, stride, 8), ShortQuad<T, TVec>(ref xr, ref w0, stride, 12)));
        ShortStore<T, TVec, TOp>(T.Add(T.Load(ref Unsafe.Add(ref w0, width * stride)), s), ref yr, o, count, op);
    }

    /// <summary>
    /// Inputs j..j+3 of <see cref="ShortVectorRow"/>: (p_j + p_j+1) + (p_j+2 + p_j+3), each p a multiply-add onto zero (as the
    /// accumulator's first step; a product of -0 becomes +0 as there).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec ShortQuad<T, TVec>(ref float xr, ref float w0, int stride, int j) where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        TVec p0 = T.MulAdd(T.Splat(Unsafe.Add(ref xr, j)), T.Load(ref Unsafe.Add(ref w0, j * stride)), T.Zero);
        TVec p1 = T.MulAdd(T.Splat(Unsafe.Add(ref xr, j + 1)), T.Load(ref Unsafe.Add(ref w0, (j + 1) * stride)), T.Zero);
        TVec p2 = T.MulAdd(T.Splat(Unsafe.Add(ref xr, j + 2)), T.Load(ref Unsafe.Add(ref w0, (j + 2) * stride)), T.Zero);
        TVec p3 = T.MulAdd(T.Splat(Unsafe.Add(ref xr, j + 3)), T.Load(ref Unsafe.Add(ref w0, (j + 3) * stride)), T.Zero);
        return T.Add(T.Add(p0, p1), T.Add(p2, p3));
    }

    /// <summary>TRows.Value rows of <see cref="ShortRowsForward"/> with 1 or 2 whole vectors of inputs and maybe a tail
    /// (<see cref="UseShortRows"/>): every vector of outputs, 2 at a time, then one.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortTreeRows<T, TVec, TOp, TRows>(ref float xr, int inputs, ref float wt, int stride, int groups, ref float yr,
        int ldy, int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp where TRows : struct, IConstant
    {
        if (inputs < 2 * T.Width)
            ShortTreeRows<T, TVec, TOp, TRows, Rows1>(ref xr, inputs, ref wt, stride, groups, ref yr, ldy, count, op);
        else
            ShortTreeRows<T, TVec, TOp, TRows, Rows2>(ref xr, inputs, ref wt, stride, groups, ref yr, ldy, count, op);
    }

    /// <summary><see cref="ShortTreeRows{T, TVec, TOp, TRows}"/> for TWhole.Value whole vectors of inputs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortTreeRows<T, TVec, TOp, TRows, TWhole>(ref float xr, int inputs, ref float wt, int stride, int groups, ref float yr,
        int ldy, int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp where TRows : struct, IConstant
        where TWhole : struct, IConstant
    {
        int v = 0;
        for (; v + 2 <= groups; v += 2)
            ShortTreeTile<T, TVec, TOp, TRows, Vectors2, TWhole>(ref xr, inputs, ref wt, stride, v * T.Width, ref yr, ldy, count, op);
        if (v < groups)
            ShortTreeTile<T, TVec, TOp, TRows, Vectors1, TWhole>(ref xr, inputs, ref wt, stride, v * T.Width, ref yr, ldy, count, op);
    }

    /// <summary>
    /// TRows.Value (1 or 2) rows by TVectors.Value (1 or 2) vectors of outputs from column <paramref name="o"/> of the
    /// transposed W, for rows of TWhole.Value whole vectors of inputs and a tail: the dot kernels' accumulator lane j holds
    /// the chain of fused products of inputs j, j + Width, ... (from zero, in order), T.Sum adds the lanes in a balanced
    /// tree (pairs, pairs of pairs within each 128-bit lane, then the lanes: (0 + 1) on 8-float vectors, (0 + 1) + (2 + 3)
    /// on 16-float ones), then the tail inputs are multiplied and added one by one and the bias added. Here lane o of a
    /// chain is that chain for output o, two lanes' chains at a time (<see cref="ShortTreePair"/>), pairs into quads
    /// (<see cref="ShortTreeQuad"/>), then the quads as T.Sum adds the lanes: the same additions in the same order, so the
    /// same bits, for every output at once and without the horizontal shuffles of the dot tiles (as many as their
    /// multiply-adds on rows of 1-2 vectors).
    /// </summary>
    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ShortTreeTile<T, TVec, TOp, TRows, TVectors, TWhole>(ref float xr, int inputs, ref float wt, int stride, int o,
        ref float yr, int ldy, int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp where TRows : struct, IConstant
        where TVectors : struct, IConstant where TWhole : struct, IConstant
    {
        int width = T.Width;
        bool two = TVectors.Value == 2, tall = TRows.Value > 1;
        ref float w0 = ref Unsafe.Add(ref wt, o);
        nint ws = stride;
        // T.Sum's tree spelled out: the quads of lanes (pairs of pairs), then (0 + 1) of 8 lanes, (0 + 1) + (2 + 3) of 16.
        // Straight-line, so that the JIT keeps every partial sum in a register (a loop over the lanes with a binary counter
        // of partial sums left Avx2's 16 registers short: spills and copies at every pair).
        ShortTreeQuad<T, TVec, TRows, TVectors, TWhole>(ref xr, inputs, ref w0, ws, 0, out TVec a0, out TVec a1, out TVec b0, out TVec b1);
        if (width >= 8)
        {
            ShortTreeQuad<T, TVec, TRows, TVectors, TWhole>(ref xr, inputs, ref w0, ws, 4, out TVec c0, out TVec c1, out TVec d0, out TVec d1);
            a0 = T.Add(a0, c0); a1 = T.Add(a1, c1); b0 = T.Add(b0, d0); b1 = T.Add(b1, d1);
        }
        if (width == 16)
        {
            ShortTreeQuad<T, TVec, TRows, TVectors, TWhole>(ref xr, inputs, ref w0, ws, 8, out TVec c0, out TVec c1, out TVec d0, out TVec d1);
            ShortTreeQuad<T, TVec, TRows, TVectors, TWhole>(ref xr, inputs, ref w0, ws, 12, out TVec e0, out TVec e1, out TVec f0, out TVec f1);
            a0 = T.Add(a0, T.Add(c0, e0)); a1 = T.Add(a1, T.Add(c1, e1)); b0 = T.Add(b0, T.Add(d0, f0)); b1 = T.Add(b1, T.Add(d1, f1));
        }
        for (int k = TWhole.Value * width; k < inputs; k++)
        {
            ref float wk = ref Unsafe.Add(ref w0, k * ws);
            TVec wv0 = T.Load(ref wk), wv1 = two ? T.Load(ref Unsafe.Add(ref wk, width)) : T.Zero;
            TVec x0 = T.Splat(Unsafe.Add(ref xr, k));
            a0 = T.Add(a0, T.Multiply(x0, wv0));
            if (two) a1 = T.Add(a1, T.Multiply(x0, wv1));
            if (tall)
            {
                TVec x1 = T.Splat(Unsafe.Add(ref xr, inputs + k));
                b0 = T.Add(b0, T.Multiply(x1, wv0));
                if (two) b1 = T.Add(b1, T.Multiply(x1, wv1));
            }
        }
        ref float bias = ref Unsafe.Add(ref w0, inputs * ws);
        ShortStore<T, TVec, TOp>(T.Add(T.Load(ref bias), a0), ref yr, o, count, op);
        if (two) ShortStore<T, TVec, TOp>(T.Add(T.Load(ref Unsafe.Add(ref bias, width)), a1), ref yr, o + width, count, op);
        if (tall)
        {
            ShortStore<T, TVec, TOp>(T.Add(T.Load(ref bias), b0), ref Unsafe.Add(ref yr, ldy), o, count, op);
            if (two) ShortStore<T, TVec, TOp>(T.Add(T.Load(ref Unsafe.Add(ref bias, width)), b1), ref Unsafe.Add(ref yr, ldy), o + width, count, op);
        }
    }

    /// <summary>
    /// Lanes j..j+3 of <see cref="ShortTreeTile"/>'s chains, for its rows a and b and vectors 0 and 1: (c_j + c_j+1) + (c_j+2
    /// + c_j+3), each c the chain of fused products of inputs j, j + Width, ... from zero (TWhole.Value of them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortTreeQuad<T, TVec, TRows, TVectors, TWhole>(ref float xr, int inputs, ref float w0, nint ws, int j,
        out TVec a0, out TVec a1, out TVec b0, out TVec b1)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TRows : struct, IConstant where TVectors : struct, IConstant
        where TWhole : struct, IConstant
    {
        ShortTreePair<T, TVec, TRows, TVectors, TWhole>(ref xr, inputs, ref w0, ws, j, out a0, out a1, out b0, out b1);
        ShortTreePair<T, TVec, TRows, TVectors, TWhole>(ref xr, inputs, ref w0, ws, j + 2, out TVec c0, out TVec c1, out TVec d0, out TVec d1);
        a0 = T.Add(a0, c0); a1 = T.Add(a1, c1); b0 = T.Add(b0, d0); b1 = T.Add(b1, d1);
    }

    /// <summary>Lanes j and j + 1 of <see cref="ShortTreeQuad"/>: c_j + c_j+1 (b0, b1 only for 2 rows, a1, b1 only for 2 vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortTreePair<T, TVec, TRows, TVectors, TWhole>(ref float xr, int inputs, ref float w0, nint ws, int j,
        out TVec a0, out TVec a1, out TVec b0, out TVec b1)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TRows : struct, IConstant where TVectors : struct, IConstant
        where TWhole : struct, IConstant
    {
        int width = T.Width;
        bool two = TVectors.Value == 2, tall = TRows.Value > 1;
        nint vs = width * ws;
        ref float wu = ref Unsafe.Add(ref w0, j * ws);
        ref float xa = ref Unsafe.Add(ref xr, j);
        ref float xb = ref Unsafe.Add(ref xr, inputs + j);
        TVec pa0 = T.Zero, pa1 = T.Zero, pb0 = T.Zero, pb1 = T.Zero, ca0 = T.Zero, ca1 = T.Zero, cb0 = T.Zero, cb1 = T.Zero;
        for (int u = 0; u < TWhole.Value; u++)
        {
            ref float wn = ref Unsafe.Add(ref wu, ws);
            TVec w00 = T.Load(ref wu), w10 = T.Load(ref wn);
            TVec x0 = T.Splat(Unsafe.Add(ref xa, u * width)), x1 = T.Splat(Unsafe.Add(ref xa, u * width + 1));
            pa0 = T.MulAdd(x0, w00, pa0);
            ca0 = T.MulAdd(x1, w10, ca0);
            TVec y0 = tall ? T.Splat(Unsafe.Add(ref xb, u * width)) : T.Zero, y1 = tall ? T.Splat(Unsafe.Add(ref xb, u * width + 1)) : T.Zero;
            if (tall)
            {
                pb0 = T.MulAdd(y0, w00, pb0);
                cb0 = T.MulAdd(y1, w10, cb0);
            }
            if (two)
            {
                // The second vector's weights loaded last: on Avx2's 16 registers every value live at once counts.
                TVec w01 = T.Load(ref Unsafe.Add(ref wu, width)), w11 = T.Load(ref Unsafe.Add(ref wn, width));
                pa1 = T.MulAdd(x0, w01, pa1);
                ca1 = T.MulAdd(x1, w11, ca1);
                if (tall)
                {
                    pb1 = T.MulAdd(y0, w01, pb1);
                    cb1 = T.MulAdd(y1, w11, cb1);
                }
            }
            wu = ref Unsafe.Add(ref wu, vs);
        }
        a0 = T.Add(pa0, ca0); a1 = T.Add(pa1, ca1); b0 = T.Add(pb0, cb0); b1 = T.Add(pb1, cb1);
    }

    /// <summary>A row's 1 or 4 vectors of outputs from column <paramref name="o"/> of a block of <paramref name="count"/>: bias + sum,
    /// the activation, the lanes that exist stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortRowStore<T, TVec, TOp>(ref float bias, bool four, TVec c0, TVec c1, TVec c2, TVec c3, ref float yr, int o,
        int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        int width = T.Width;
        ShortStore<T, TVec, TOp>(T.Add(T.Load(ref bias), c0), ref yr, o, count, op);
        if (!four)
            return;
        ShortStore<T, TVec, TOp>(T.Add(T.Load(ref Unsafe.Add(ref bias, width)), c1), ref yr, o + width, count, op);
        ShortStore<T, TVec, TOp>(T.Add(T.Load(ref Unsafe.Add(ref bias, 2 * width)), c2), ref yr, o + 2 * width, count, op);
        ShortStore<T, TVec, TOp>(T.Add(T.Load(ref Unsafe.Add(ref bias, 3 * width)), c3), ref yr, o + 3 * width, count, op);
    }

    /// <summary>One vector of outputs from column <paramref name="o"/> of a block of <paramref name="count"/>: the activation
    /// applied, then the lanes that exist stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ShortStore<T, TVec, TOp>(TVec v, ref float yr, int o, int count, TOp op)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        if (typeof(TOp) != typeof(NoActivationOp))
            v = T.Apply(op, v);
        StoreBlock<T, TVec>(v, ref Unsafe.Add(ref yr, o), Math.Min(T.Width, count - o));
    }
}
