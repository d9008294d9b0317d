using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
namespace FastMlp.Kernels;

/// <summary>AVX-512F: 16 floats per vector, fused multiply-add (vfmadd231ps zmm).</summary>
internal readonly struct Avx512GemmSimd : IGemmSimd<Vector512<float>>
{
    public static int Width => Vector512<float>.Count;
    public static int TileRows => 8;
    public static int DotRows => 4;
    public static Vector512<float> Zero => Vector512<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float p) => Vector512.LoadUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, ref float p) => v.StoreUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Splat(float s) => Vector512.Create(s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Avx512F.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v)
    {
        // Fold 512 -> 256 -> 128 bits, then two horizontal adds: the tree Sum4 applies to four vectors at once.
        Vector256<float> x = v.GetLower() + v.GetUpper();
        Vector128<float> y = x.GetLower() + x.GetUpper();
        Vector128<float> h = Sse3.HorizontalAdd(y, y);
        return Sse3.HorizontalAdd(h, h).ToScalar();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        // Lanes of ac: a folded to 256 bits | c folded; then the 256 -> 128 fold of all four in one add, [a, c, b, d].
        Vector512<float> ac = Avx512F.Shuffle4x128(a, c, 0x44) + Avx512F.Shuffle4x128(a, c, 0xEE);
        Vector512<float> bd = Avx512F.Shuffle4x128(b, d, 0x44) + Avx512F.Shuffle4x128(b, d, 0xEE);
        Vector512<float> y = Avx512F.Shuffle4x128(ac, bd, 0x88) + Avx512F.Shuffle4x128(ac, bd, 0xDD);
        Vector256<float> h = Avx.HorizontalAdd(y.GetLower(), y.GetUpper());
        return Sse3.HorizontalAdd(h.GetLower(), h.GetUpper());
    }
}

internal static partial class Gemm
{
    /// <summary><see cref="Forward"/> on the Avx512 path (callable directly, for tests and benchmarks).</summary>
    internal static void ForwardAvx512(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs) =>
        ForwardSimd<Avx512GemmSimd, Vector512<float>>(x, w, b, y, rows, inputs, outputs);

    /// <summary><see cref="InputGradient"/> on the Avx512 path.</summary>
    internal static void InputGradientAvx512(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int rows, int inputs, int outputs) =>
        InputGradientSimd<Avx512GemmSimd, Vector512<float>>(dy, w, dx, rows, inputs, outputs);

    /// <summary><see cref="WeightGradient"/> on the Avx512 path.</summary>
    internal static void WeightGradientAvx512(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate, int dyStride = 0) =>
        WeightGradientSimd<Avx512GemmSimd, Vector512<float>>(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride);
}
