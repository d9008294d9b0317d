using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
namespace FastMlp.Kernels;

/// <summary>ARM NEON: 4 floats per vector, fused multiply-add (FMLA), horizontal sum by two FADDP.</summary>
internal readonly struct NeonGemmSimd : IGemvSimd<Vector128<float>>
{
    public static int Width => Vector128<float>.Count;
    public static int TileRows => 4;
    public static int DotRows => 2;
    public static Vector128<float> Zero => Vector128<float>.Zero;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float p) => Vector128.LoadUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> v, ref float p) => v.StoreUnsafe(ref p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Splat(float s) => Vector128.Create(s);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => AdvSimd.FusedMultiplyAdd(c, a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MulAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> v) => AdvSimd.Arm64.AddPairwiseScalar(AdvSimd.Arm64.AddPairwise(v, v).GetLower()).ToScalar();
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d) =>
        AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a, b), AdvSimd.Arm64.AddPairwise(c, d));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> PairSums(Vector128<float> a, Vector128<float> b) => AdvSimd.Arm64.AddPairwise(a, b);
    public static Vector128<float> FoldLanes(Vector128<float> a, Vector128<float> b) => throw new NotSupportedException("One 128-bit lane: nothing to fold.");
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Apply<TOp>(TOp op, Vector128<float> v) where TOp : struct, IUnaryOp => op.Invoke(new Quad128(v, v, v, v)).A;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 ApplyRows<TOp>(TOp op, Quad128 rows) where TOp : struct, IUnaryOp => op.Invoke(rows);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ApplyBinary<TOp>(TOp op, Vector128<float> y, Vector128<float> d) where TOp : struct, IBinaryOp =>
        op.Invoke(new Quad128(y, y, y, y), new Quad128(d, d, d, d)).A;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> WithLane(Vector128<float> v, int lane, float value) =>
        Vector128.ConditionalSelect(Vector128.Equals(Vector128<int>.Indices, Vector128.Create(lane)).AsSingle(), Vector128.Create(value), v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LoadFirst(ref float p, int count) => VectorMath.LoadRow128(ref p, count, 0f);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreFirst(Vector128<float> v, ref float p, int count) => VectorMath.StoreRow128(v, ref p, count);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TrySoftmax(Vector128<float> v, int count, out Vector128<float> y) =>
        Simd128.TrySoftmaxVector(VectorMath.KeepFirst(v, count, float.NegativeInfinity), out y);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> FromQuads(Vector128<float> q0, Vector128<float> q1, Vector128<float> q2, Vector128<float> q3) => q0;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void TransposeQuads(ref Vector128<float> a, ref Vector128<float> b, ref Vector128<float> c, ref Vector128<float> d) =>
        VectorMath.Transpose4(ref a, ref b, ref c, ref d);
}

internal static partial class Gemm
{
    /// <summary><see cref="Forward"/> on the Neon path (callable directly, for tests and benchmarks).</summary>
    internal static void ForwardNeon(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs) =>
        ForwardSimd<NeonGemmSimd, Vector128<float>>(x, w, b, y, rows, inputs, outputs);

    /// <summary><see cref="InputGradient"/> on the Neon path.</summary>
    internal static void InputGradientNeon(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int rows, int inputs, int outputs) =>
        InputGradientSimd<NeonGemmSimd, Vector128<float>>(dy, w, dx, rows, inputs, outputs);

    /// <summary><see cref="WeightGradient"/> on the Neon path.</summary>
    internal static void WeightGradientNeon(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate, int dyStride = 0) =>
        WeightGradientSimd<NeonGemmSimd, Vector128<float>>(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride);
}
