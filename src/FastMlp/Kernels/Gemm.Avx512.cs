using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
namespace FastMlp.Kernels;

/// <summary>AVX-512F: 16 floats per vector, fused multiply-add (vfmadd231ps zmm); GEMV lane shuffles vshufps and vshuff32x4 (there is no 512-bit horizontal add).</summary>
internal readonly struct Avx512GemmSimd : IGemvSimd<Vector512<float>>
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
    public static float MulAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        // Vector512.Sum's tree on four vectors at once (the one-sample GEMV's transposing reduction uses it too): pairs
        // within each 128-bit lane, pairs of pairs, then the lanes as (0 + 1) + (2 + 3).
        Vector512<float> ab = Avx512F.Shuffle(a, b, 0x88) + Avx512F.Shuffle(a, b, 0xDD);
        Vector512<float> cd = Avx512F.Shuffle(c, d, 0x88) + Avx512F.Shuffle(c, d, 0xDD);
        Vector512<float> q = Avx512F.Shuffle(ab, cd, 0x88) + Avx512F.Shuffle(ab, cd, 0xDD);
        Vector256<float> h = Avx512F.Shuffle4x128(q, q, 0x88).GetLower() + Avx512F.Shuffle4x128(q, q, 0xDD).GetLower();
        return h.GetLower() + h.GetUpper();
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> PairSums(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle(a, b, 0x88) + Avx512F.Shuffle(a, b, 0xDD);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FoldLanes(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle4x128(a, b, 0x88) + Avx512F.Shuffle4x128(a, b, 0xDD);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Apply<TOp>(TOp op, Vector512<float> v) where TOp : struct, IUnaryOp => op.Invoke(new Quad512(v, v, v, v)).A;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 ApplyRows<TOp>(TOp op, Quad128 rows) where TOp : struct, IUnaryOp
    {
        // 4 rows x 4 outputs fill one 512-bit vector exactly.
        Vector512<float> v = Vector512.Create(Vector256.Create(rows.A, rows.B), Vector256.Create(rows.C, rows.D));
        Vector512<float> f = op.Invoke(new Quad512(v, v, v, v)).A;
        Vector256<float> lo = f.GetLower(), hi = f.GetUpper();
        return new Quad128(lo.GetLower(), lo.GetUpper(), hi.GetLower(), hi.GetUpper());
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ApplyBinary<TOp>(TOp op, Vector512<float> y, Vector512<float> d) where TOp : struct, IBinaryOp =>
        op.Invoke(new Quad512(y, y, y, y), new Quad512(d, d, d, d)).A;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> WithLane(Vector512<float> v, int lane, float value) =>
        Vector512.ConditionalSelect(Vector512.Equals(Vector512<int>.Indices, Vector512.Create(lane)).AsSingle(), Vector512.Create(value), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadFirst(ref float p, int count) => VectorMath.LoadRow512(ref p, count, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFirst(Vector512<float> v, ref float p, int count) => VectorMath.StoreRow512(v, ref p, count);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TrySoftmax(Vector512<float> v, int count, out Vector512<float> y) =>
        Simd512.TrySoftmaxVector(VectorMath.KeepFirst(v, count, float.NegativeInfinity), out y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> FromQuads(Vector128<float> q0, Vector128<float> q1, Vector128<float> q2, Vector128<float> q3) =>
        Vector512.Create(Vector256.Create(q0, q1), Vector256.Create(q2, q3));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransposeQuads(ref Vector512<float> a, ref Vector512<float> b, ref Vector512<float> c, ref Vector512<float> d)
    {
        // Pairs of rows interleaved by floats (vunpcklps/hps), then by pairs of floats (vunpcklpd/hpd).
        Vector512<double> t0 = Avx512F.UnpackLow(a, b).AsDouble(), t1 = Avx512F.UnpackHigh(a, b).AsDouble();
        Vector512<double> t2 = Avx512F.UnpackLow(c, d).AsDouble(), t3 = Avx512F.UnpackHigh(c, d).AsDouble();
        a = Avx512F.UnpackLow(t0, t2).AsSingle();
        b = Avx512F.UnpackHigh(t0, t2).AsSingle();
        c = Avx512F.UnpackLow(t1, t3).AsSingle();
        d = Avx512F.UnpackHigh(t1, t3).AsSingle();
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
