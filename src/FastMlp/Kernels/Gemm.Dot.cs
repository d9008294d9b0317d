using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

internal static partial class Gemm
{
    /// <summary>Bytes of X a batched Forward keeps in L2 while it sweeps W.</summary>
    private const int XBlockBytes = 256 * 1024;

    /// <summary>
    /// Forward on a batch: for each block of rows of X (kept in L2), for each block of 4 W rows (kept hot in L1),
    /// every group of T.DotRows rows of X: DotRows x 4 dot products in vector accumulators, reduced along the inputs,
    /// then four horizontal sums at once (<see cref="IGemmSimd{TVec}.Sum4"/>, the tree of T.Sum). The rows left over
    /// by a block go through 2-row tiles. Every output is summed in the same order whatever the tile and the
    /// blocking, the order <see cref="Gemv"/> uses.
    /// </summary>
    [SkipLocalsInit]
    private static void DotForward<T, TVec>(ref float x, ref float w, ref float b, ref float y, int rows, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int fr = T.DotRows;
        int rowBlock = Math.Max(fr, XBlockBytes / sizeof(float) / Math.Max(inputs, 1) / fr * fr);
        for (int r0 = 0; r0 < rows; r0 += rowBlock)
        {
            int rEnd = Math.Min(rows, r0 + rowBlock);
            for (int o = 0; o < outputs; o += 4)
            {
                int no = Math.Min(4, outputs - o);
                ref float w0 = ref Unsafe.Add(ref w, (nint)o * inputs);
                ref float w1 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 1, outputs - 1) * inputs);
                ref float w2 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 2, outputs - 1) * inputs);
                ref float w3 = ref Unsafe.Add(ref w, (nint)Math.Min(o + 3, outputs - 1) * inputs);
                ref float bo = ref Unsafe.Add(ref b, o);
                ref float yo = ref Unsafe.Add(ref y, o);
                int r = r0;
                for (; r <= rEnd - fr; r += fr)
                {
                    // T.DotRows is a JIT-time constant: one of these calls survives, a tile method compiled for that height.
                    if (fr == 4) DotTile<T, TVec, Rows4>(ref x, ref w0, ref w1, ref w2, ref w3, ref bo, ref yo, r, rEnd, inputs, outputs, no);
                    else if (fr == 3) DotTile<T, TVec, Rows3>(ref x, ref w0, ref w1, ref w2, ref w3, ref bo, ref yo, r, rEnd, inputs, outputs, no);
                    else DotTile<T, TVec, Rows2>(ref x, ref w0, ref w1, ref w2, ref w3, ref bo, ref yo, r, rEnd, inputs, outputs, no);
                }
                for (; r < rEnd; r += 2)
                    DotTile<T, TVec, Rows2>(ref x, ref w0, ref w1, ref w2, ref w3, ref bo, ref yo, r, rEnd, inputs, outputs, no);
            }
        }
    }

    /// <summary>
    /// TRows.Value (2..4) rows of X from row r by 4 rows of W; a row at or past rEnd re-reads row rEnd - 1 and is not
    /// stored. The height is a type argument so that each height is its own method with the unused rows folded away
    /// (a runtime height would keep every branch).
    /// </summary>
    private static void DotTile<T, TVec, TRows>(ref float x, ref float w0, ref float w1, ref float w2, ref float w3, ref float bo, ref float yo,
        int r, int rEnd, int inputs, int outputs, int no)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TRows : struct, IConstant
    {
        int width = T.Width;
        int fr = TRows.Value;
        int last = rEnd - 1;
        ref float x0 = ref Unsafe.Add(ref x, (nint)r * inputs);
        ref float x1 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 1, last) * inputs);
        ref float x2 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 2, last) * inputs);
        ref float x3 = ref Unsafe.Add(ref x, (nint)Math.Min(r + 3, last) * inputs);
        TVec a00 = T.Zero, a01 = T.Zero, a02 = T.Zero, a03 = T.Zero;
        TVec a10 = T.Zero, a11 = T.Zero, a12 = T.Zero, a13 = T.Zero;
        TVec a20 = T.Zero, a21 = T.Zero, a22 = T.Zero, a23 = T.Zero;
        TVec a30 = T.Zero, a31 = T.Zero, a32 = T.Zero, a33 = T.Zero;
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
        }
        // Every horizontal sum before any call: an accumulator live across a call would be spilled inside the loop.
        Vector128<float> s0 = T.Sum4(a00, a01, a02, a03), s1 = T.Sum4(a10, a11, a12, a13);
        Vector128<float> s2 = fr > 2 ? T.Sum4(a20, a21, a22, a23) : default, s3 = fr > 3 ? T.Sum4(a30, a31, a32, a33) : default;
        int nr = Math.Min(fr, rEnd - r);
        ref float y0 = ref Unsafe.Add(ref yo, (nint)r * outputs);
        DotFinish(ref x0, ref w0, ref w1, ref w2, ref w3, ref bo, ref y0, s0, k, inputs, no);
        if (nr > 1) DotFinish(ref x1, ref w0, ref w1, ref w2, ref w3, ref bo, ref Unsafe.Add(ref y0, outputs), s1, k, inputs, no);
        if (fr > 2 && nr > 2) DotFinish(ref x2, ref w0, ref w1, ref w2, ref w3, ref bo, ref Unsafe.Add(ref y0, 2 * outputs), s2, k, inputs, no);
        if (fr > 3 && nr > 3) DotFinish(ref x3, ref w0, ref w1, ref w2, ref w3, ref bo, ref Unsafe.Add(ref y0, 3 * outputs), s3, k, inputs, no);
    }

    /// <summary>One row's four vector sums s, the scalar tail from k (as Gemv adds it), plus bias, stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotFinish(ref float xr, ref float w0, ref float w1, ref float w2, ref float w3, ref float bo, ref float y,
        Vector128<float> s, int k, int inputs, int no)
    {
        if (k < inputs)
            s = DotTail(ref xr, ref w0, ref w1, ref w2, ref w3, s, k, inputs);
        if (no == 4)
            (Vector128.LoadUnsafe(ref bo) + s).StoreUnsafe(ref y);
        else
            StoreRow4(ref y, ref bo, s.GetElement(0), s.GetElement(1), s.GetElement(2), s.GetElement(3), no);
    }

    /// <summary>Adds x[k..inputs) . w_j[k..inputs) to lane j of s, one scalar multiply and add at a time, in order.</summary>
    private static Vector128<float> DotTail(ref float xr, ref float w0, ref float w1, ref float w2, ref float w3,
        Vector128<float> s, int k, int inputs)
    {
        float s0 = s.GetElement(0), s1 = s.GetElement(1), s2 = s.GetElement(2), s3 = s.GetElement(3);
        for (; k < inputs; k++)
        {
            float xa = Unsafe.Add(ref xr, k);
            s0 += xa * Unsafe.Add(ref w0, k); s1 += xa * Unsafe.Add(ref w1, k);
            s2 += xa * Unsafe.Add(ref w2, k); s3 += xa * Unsafe.Add(ref w3, k);
        }
        return Vector128.Create(s0, s1, s2, s3);
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
