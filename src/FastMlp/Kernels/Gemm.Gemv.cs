using System.Runtime.CompilerServices;

namespace FastMlp.Kernels;

// The one-sample (rows == 1) products: the latency path of inference and of a batch-1 backward pass.
internal static partial class Gemm
{
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
}
