using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastMlp.Kernels;

// The packing of the outer-product kernel's operands (Gemm.Outer.cs): B panels copied contiguous, A tiles laid out
// p-major so that one step's broadcasts are adjacent.
internal static partial class Gemm
{
    /// <summary>Copies pn rows of 2 vectors from B (row stride ldb) to dst, contiguous.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackB<T, TVec>(ref float b, nint ldb, ref float dst, int pn)
        where T : struct, IGemmSimd<TVec> where TVec : struct
    {
        int width = T.Width;
        for (int p = 0; p < pn; p++)
        {
            ref float src = ref Unsafe.Add(ref b, p * ldb);
            ref float d = ref Unsafe.Add(ref dst, (nint)p * 2 * width);
            T.Store(T.Load(ref src), ref d);
            T.Store(T.Load(ref Unsafe.Add(ref src, width)), ref Unsafe.Add(ref d, width));
        }
    }

    /// <summary>Packs rows m0.. of A(m, p0..p0+pn) into tiles of mr rows, p-major; rows past M repeat row M-1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(ref float a, nint sm, nint sp, ref float dst, int m0, int M, int tiles, int mr, int pn)
    {
        for (int t = 0; t < tiles; t++)
        {
            ref float d = ref Unsafe.Add(ref dst, (nint)t * mr * pn);
            int first = m0 + t * mr;
            bool whole = first + mr <= M;
            if (sm == 1 && whole)
            {
                // WeightGradient (A = dy^T): a tile's mr values of one p are adjacent in dy; copy them row by row.
                ref float src = ref Unsafe.Add(ref a, first);
                for (int p = 0; p < pn; p++)
                {
                    ref float sp0 = ref Unsafe.Add(ref src, p * sp);
                    ref float dp = ref Unsafe.Add(ref d, (nint)p * mr);
                    int i = 0;
                    for (; i <= mr - 4; i += 4)
                        Vector128.LoadUnsafe(ref sp0, (nuint)i).StoreUnsafe(ref dp, (nuint)i);
                    for (; i < mr; i++)
                        Unsafe.Add(ref dp, i) = Unsafe.Add(ref sp0, i);
                }
                continue;
            }
            int rows = 0;
            if (sp == 1 && whole && CanTranspose4)
                // InputGradient (A = dy): each row's values are adjacent; transpose them four rows by four steps at a time.
                for (; rows <= mr - 4; rows += 4)
                    PackTransposed4(ref Unsafe.Add(ref a, (first + rows) * sm), sm, ref Unsafe.Add(ref d, rows), mr, pn);
            for (int i = rows; i < mr; i++)
            {
                ref float src = ref Unsafe.Add(ref a, Math.Min(first + i, M - 1) * sm);
                ref float di = ref Unsafe.Add(ref d, i);
                if (sp == 1)
                    for (int p = 0; p < pn; p++)
                        Unsafe.Add(ref di, (nint)p * mr) = Unsafe.Add(ref src, p);
                else
                    for (int p = 0; p < pn; p++)
                        Unsafe.Add(ref di, (nint)p * mr) = Unsafe.Add(ref src, p * sp);
            }
        }
    }

    /// <summary>Whether <see cref="Transpose4"/> has an instruction sequence on this CPU.</summary>
    private static bool CanTranspose4 => Sse.IsSupported || AdvSimd.Arm64.IsSupported;

    /// <summary>
    /// Four rows of A (row stride <paramref name="sm"/>, values adjacent) to four adjacent columns of a p-major tile
    /// (<paramref name="mr"/> floats per step): 4 x 4 blocks transposed in registers, the steps past the last block copied
    /// one by one. A copy, so the packed values are those the scalar loop would write.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PackTransposed4(ref float src, nint sm, ref float dst, int mr, int pn)
    {
        nint step = mr;
        int p = 0;
        for (; p <= pn - 4; p += 4)
        {
            ref float s = ref Unsafe.Add(ref src, p);
            Transpose4(Vector128.LoadUnsafe(ref s), Vector128.LoadUnsafe(ref Unsafe.Add(ref s, sm)),
                Vector128.LoadUnsafe(ref Unsafe.Add(ref s, 2 * sm)), Vector128.LoadUnsafe(ref Unsafe.Add(ref s, 3 * sm)),
                out Vector128<float> c0, out Vector128<float> c1, out Vector128<float> c2, out Vector128<float> c3);
            ref float d = ref Unsafe.Add(ref dst, p * step);
            c0.StoreUnsafe(ref d);
            c1.StoreUnsafe(ref Unsafe.Add(ref d, step));
            c2.StoreUnsafe(ref Unsafe.Add(ref d, 2 * step));
            c3.StoreUnsafe(ref Unsafe.Add(ref d, 3 * step));
        }
        for (; p < pn; p++)
            for (int r = 0; r < 4; r++)
                Unsafe.Add(ref dst, p * step + r) = Unsafe.Add(ref src, r * sm + p);
    }

    /// <summary>Column j of the 4 x 4 matrix with rows <paramref name="r0"/>..<paramref name="r3"/> as cj (needs <see cref="CanTranspose4"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4(Vector128<float> r0, Vector128<float> r1, Vector128<float> r2, Vector128<float> r3,
        out Vector128<float> c0, out Vector128<float> c1, out Vector128<float> c2, out Vector128<float> c3)
    {
        if (Sse.IsSupported)
        {
            // Interleave pairs of rows (r0[0] r1[0] r0[1] r1[1], ...), then take 64-bit halves of two interleaves.
            Vector128<float> t0 = Sse.UnpackLow(r0, r1), t1 = Sse.UnpackLow(r2, r3);
            Vector128<float> t2 = Sse.UnpackHigh(r0, r1), t3 = Sse.UnpackHigh(r2, r3);
            c0 = Sse.MoveLowToHigh(t0, t1);
            c1 = Sse.MoveHighToLow(t1, t0);
            c2 = Sse.MoveLowToHigh(t2, t3);
            c3 = Sse.MoveHighToLow(t3, t2);
        }
        else
        {
            // The same on Arm: zip1/zip2 of floats, then of 64-bit pairs.
            Vector128<float> t0 = AdvSimd.Arm64.ZipLow(r0, r1), t1 = AdvSimd.Arm64.ZipLow(r2, r3);
            Vector128<float> t2 = AdvSimd.Arm64.ZipHigh(r0, r1), t3 = AdvSimd.Arm64.ZipHigh(r2, r3);
            c0 = AdvSimd.Arm64.ZipLow(t0.AsDouble(), t1.AsDouble()).AsSingle();
            c1 = AdvSimd.Arm64.ZipHigh(t0.AsDouble(), t1.AsDouble()).AsSingle();
            c2 = AdvSimd.Arm64.ZipLow(t2.AsDouble(), t3.AsDouble()).AsSingle();
            c3 = AdvSimd.Arm64.ZipHigh(t2.AsDouble(), t3.AsDouble()).AsSingle();
        }
    }
}
