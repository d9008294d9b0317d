using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
namespace FastMlp.Kernels;

/// <summary>AVX2 + FMA: 8 floats per vector, fused multiply-add (vfmadd231ps ymm); GEMV sums pairs within 128-bit lanes by vshufps and vaddps, then across them by vperm2f128.</summary>
internal readonly struct Avx2GemmSimd : IGemvSimd<Vector256<float>>
{
    public static int Width => Vector256<float>.Count;
    public static int TileRows => 6;
    public static int DotRows => 3;
    public static Vector256<float> Zero => Vector256<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float p) => Vector256.LoadUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, ref float p) => v.StoreUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Splat(float s) => Vector256.Create(s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Fma.MultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MulAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        // Vector256.Sum's tree on four vectors at once (as the one-sample GEMV reduces): pairs within each 128-bit lane,
        // pairs of pairs, then the two lanes.
        Vector256<float> q = PairSums(PairSums(a, b), PairSums(c, d));
        return q.GetLower() + q.GetUpper();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> PairSums(Vector256<float> a, Vector256<float> b) =>
        // vhaddps's sums (even lane + odd lane of a, then of b, per 128-bit lane) from single-cycle shuffles: on Zen 5 the
        // Avx2 forward of 256 x 32 x 32 ran 15 % faster so (the horizontal sums are a third of its short tiles' work).
        Avx.Shuffle(a, b, 0x88) + Avx.Shuffle(a, b, 0xDD);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FoldLanes(Vector256<float> a, Vector256<float> b) =>
        Avx.Permute2x128(a, b, 0x20) + Avx.Permute2x128(a, b, 0x31);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Apply<TOp>(TOp op, Vector256<float> v) where TOp : struct, IUnaryOp => op.Invoke(new Quad256(v, v, v, v)).A;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 ApplyRows<TOp>(TOp op, Quad128 rows) where TOp : struct, IUnaryOp
    {
        // Two rows per 256-bit vector (the Avx2 tile has 3 rows; the fourth is never stored).
        Vector256<float> ab = Vector256.Create(rows.A, rows.B), cd = Vector256.Create(rows.C, rows.D);
        Quad256 f = op.Invoke(new Quad256(ab, cd, ab, cd));
        return new Quad128(f.A.GetLower(), f.A.GetUpper(), f.B.GetLower(), f.B.GetUpper());
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ApplyBinary<TOp>(TOp op, Vector256<float> y, Vector256<float> d) where TOp : struct, IBinaryOp =>
        op.Invoke(new Quad256(y, y, y, y), new Quad256(d, d, d, d)).A;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> WithLane(Vector256<float> v, int lane, float value) =>
        Vector256.ConditionalSelect(Vector256.Equals(Vector256<int>.Indices, Vector256.Create(lane)).AsSingle(), Vector256.Create(value), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadFirst(ref float p, int count) => VectorMath.LoadRow256(ref p, count, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFirst(Vector256<float> v, ref float p, int count) => VectorMath.StoreRow256(v, ref p, count);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TrySoftmax(Vector256<float> v, int count, out Vector256<float> y) =>
        Simd256.TrySoftmaxVector(VectorMath.KeepFirst(v, count, float.NegativeInfinity), out y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> FromQuads(Vector128<float> q0, Vector128<float> q1, Vector128<float> q2, Vector128<float> q3) =>
        Vector256.Create(q0, q1);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransposeQuads(ref Vector256<float> a, ref Vector256<float> b, ref Vector256<float> c, ref Vector256<float> d)
    {
        // Pairs of rows interleaved by floats (vunpcklps/hps), then by pairs of floats (vunpcklpd/hpd).
        Vector256<double> t0 = Avx.UnpackLow(a, b).AsDouble(), t1 = Avx.UnpackHigh(a, b).AsDouble();
        Vector256<double> t2 = Avx.UnpackLow(c, d).AsDouble(), t3 = Avx.UnpackHigh(c, d).AsDouble();
        a = Avx.UnpackLow(t0, t2).AsSingle();
        b = Avx.UnpackHigh(t0, t2).AsSingle();
        c = Avx.UnpackLow(t1, t3).AsSingle();
        d = Avx.UnpackHigh(t1, t3).AsSingle();
    }
}

internal static partial class Gemm
{
    /// <summary><see cref="Forward"/> on the Avx2 path (callable directly, for tests and benchmarks).</summary>
    internal static void ForwardAvx2(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs) =>
        ForwardSimd<Avx2GemmSimd, Vector256<float>>(x, w, b, y, rows, inputs, outputs);

    /// <summary><see cref="InputGradient"/> on the Avx2 path.</summary>
    internal static void InputGradientAvx2(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int rows, int inputs, int outputs) =>
        InputGradientSimd<Avx2GemmSimd, Vector256<float>>(dy, w, dx, rows, inputs, outputs);

    /// <summary><see cref="WeightGradient"/> on the Avx2 path.</summary>
    internal static void WeightGradientAvx2(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate, int dyStride = 0) =>
        WeightGradientSimd<Avx2GemmSimd, Vector256<float>>(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride);
}
