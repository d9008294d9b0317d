using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

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
    /// <summary>One lane of <see cref="MulAdd(TVec, TVec, TVec)"/>, bitwise: fused where it fuses (a column tail summed one element at a time).</summary>
    static abstract float MulAdd(float a, float b, float c);
    /// <summary>a + b.</summary>
    static abstract TVec Add(TVec a, TVec b);
    /// <summary>a - b.</summary>
    static abstract TVec Subtract(TVec a, TVec b);
    /// <summary>a * b (one rounding, never fused with a neighbouring add).</summary>
    static abstract TVec Multiply(TVec a, TVec b);
    /// <summary>Horizontal sum, in a fixed lane order.</summary>
    static abstract float Sum(TVec v);
    /// <summary>
    /// The horizontal sums of four vectors, lane j = <see cref="Sum"/> of the j-th argument bitwise (the same
    /// additions in the same tree), at a fraction of the cost of four separate sums.
    /// </summary>
    static abstract Vector128<float> Sum4(TVec a, TVec b, TVec c, TVec d);
    /// <summary>Rows of the outer-product tile (4, 6 or 8): the tile is rows x 2 vectors, 2 rows accumulators.</summary>
    static abstract int TileRows { get; }
    /// <summary>Rows of X in the batched Forward dot tile (by 4 rows of W): 4 x DotRows vector accumulators.</summary>
    static abstract int DotRows { get; }
    /// <summary>
    /// op on four groups of 4 results (one forward dot tile, a row each), through the element-wise kernels' operator of
    /// this path's width (Quad512 on Avx512, Quad256 on Avx2, Quad128 on the 4-float paths), packed into as few vectors
    /// as hold them. The operators are lane-wise and each lane runs the same instructions wherever it sits, so every
    /// result equals what <see cref="ActivationKernels.Apply(Activation, Span{float}, int)"/> on this path gives it.
    /// </summary>
    static abstract Quad128 ApplyRows<TOp>(TOp op, Quad128 rows) where TOp : struct, IUnaryOp;
    /// <summary>
    /// op(y, d) on one vector with this path's element-wise operator (the derivative epilogue of the input gradient),
    /// lane for lane what <see cref="ActivationKernels.MultiplyDerivative(Activation, ReadOnlySpan{float}, Span{float})"/>
    /// on this path computes.
    /// </summary>
    static abstract TVec ApplyBinary<TOp>(TOp op, TVec y, TVec d) where TOp : struct, IBinaryOp;
}

internal static partial class Gemm
{
    private static void ForwardSimd<T, TVec>(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        CheckForward(x, w, b, y, rows, inputs, outputs);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pb = ref MemoryMarshal.GetReference(b);
        ref float py = ref MemoryMarshal.GetReference(y);
        if (rows == 1)
            Gemv<T, TVec>(ref px, ref pw, ref pb, ref py, inputs, outputs);
        else
            DotForward<T, TVec, NoActivationOp>(ref px, ref pw, ref pb, ref py, rows, inputs, outputs, default);
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
        ref float pdx = ref MemoryMarshal.GetReference(dx);
        OuterProduct<T, TVec, NoDerivativeOp>(ref MemoryMarshal.GetReference(dy), outputs, 1, ref MemoryMarshal.GetReference(w),
            ref pdx, rows, inputs, outputs, accumulate: false, ref pdx, default);
    }

    private static void WeightGradientSimd<T, TVec>(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate, int dyStride)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        dyStride = CheckWeightGradient(dy, x, dw, db, rows, inputs, outputs, dyStride);
        // dw[o, i] = sum_r dy[r, o] x[r, i]: M = outputs, N = inputs, reduction P = rows; A(m, p) = dy[p * dyStride + m].
        ref float pdy = ref MemoryMarshal.GetReference(dy);
        ref float pdw = ref MemoryMarshal.GetReference(dw);
        OuterProduct<T, TVec, NoDerivativeOp>(ref pdy, 1, dyStride, ref MemoryMarshal.GetReference(x),
            ref pdw, outputs, inputs, rows, accumulate, ref pdw, default);
        ColumnSums<T, TVec>(ref pdy, ref MemoryMarshal.GetReference(db), rows, outputs, dyStride, accumulate);
    }
}
