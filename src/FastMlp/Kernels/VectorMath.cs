using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastMlp.Kernels;

/// <summary>
/// Single-precision transcendental kernels shared by every vector width (the width-specific bodies are in
/// Simd128.cs, and Simd256.cs / Simd512.cs generated from it by generate-widths.sh).
/// </summary>
/// <remarks>
/// <para><b>exp(x)</b> (Cephes expf scheme, S. L. Moshier, with an exact two-step scaling):</para>
/// <para>1. Clamp x to [-104, 89]: below -103.97 e^x rounds to 0 in float, above 88.73 it overflows to +Inf;
/// the clamp keeps n small enough for step 4 and the result still rounds to 0 / +Inf. NaN is restored at the end.</para>
/// <para>2. n = round(x log2 e), r = x - n ln2, with ln2 split Cody-Waite style as C1 = 0.693359375 (9 bits, so
/// n C1 is exact for |n| &lt;= 150) and C2 = -2.12194440e-4; |r| &lt;= ln2/2 = 0.347.</para>
/// <para>3. e^r = 1 + r + r^2 P(r), P the degree-5 Cephes minimax polynomial (relative error about 1 ulp).
/// The same form without the 1 gives expm1(r) = r + r^2 P(r) with no cancellation.</para>
/// <para>4. 2^n is applied as 2^n1 * 2^n2 with n1 = n &gt;&gt; 1, n2 = n - n1 (both in [-75, 64], so both are normal floats
/// built from exponent bits): the first product is exact, the second rounds once, so subnormal results are
/// correctly rounded from e^r and overflow gives +Inf without special cases.</para>
/// <para><b>expm1(x)</b> = 2^n (1 + q) - 1 = fma(2^n, q, 2^n - 1), q = expm1(r) from step 3; 2^n - 1 is exact for
/// n in [-24, 0], so small |x| keeps full relative accuracy (x clamped to [-87.5, 88], n in [-126, 127]).</para>
/// <para><b>log1p(t)</b> for t in [0, 1] (softplus): u = 1 + t rounded; if u &gt; sqrt 2 then f = u/2 - 1, k = 1, else
/// f = u - 1, k = 0 (both exact); log u = k ln2 + f - f^2/2 + f^3 Q(f) (Cephes logf, degree-8 Q); the rounding
/// error of 1 + t is added back as c/u with c = t - (u - 1), so log1p(t) keeps relative accuracy for tiny t.</para>
/// <para><b>sigmoid</b> = 1/(1+t) for x &gt;= 0 and t/(1+t) for x &lt; 0 with t = e^-|x| (never overflows; subnormal
/// results for x &lt; -87.3 come out correctly rounded). <b>tanh</b>: |x| &lt; 0.625: x + x^3 R(x^2) (Cephes tanhf,
/// degree-4 R), else (1 - t)/(1 + t) with t = e^-2|x|; the sign bit of x is copied onto the result (tanh(-0) = -0).
/// <b>softplus</b> = max(x, 0) + log1p(e^-|x|). <b>ELU</b> = x &gt; 0 ? x : a expm1(x).</para>
/// <para>FMA: every polynomial step and the reduction use fused multiply-add where the path has it
/// (AVX-512 and AVX2 always; the 128-bit path uses FMA3 on x86 and FMLA on ARM when present, else mul + add).</para>
/// <para>Measured maximum relative error against float64 Math over every 2^12-th float bit pattern (see
/// MathAccuracyTests): listed in the test and the perf report; all within 3e-7 for normal results.</para>
/// </remarks>
internal static class VectorMath
{
    internal const float ExpClampHigh = 89f, ExpClampLow = -104f;
    internal const float ExpM1ClampHigh = 88f, ExpM1ClampLow = -87.5f;
    internal const float Log2E = 1.44269504088896341f;
    internal const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    internal const float Sqrt2 = 1.41421356f;
    internal const float TanhSmall = 0.625f;

    // Cephes expf: e^r = 1 + r + r^2 (((((E0 r + E1) r + E2) r + E3) r + E4) r + E5).
    internal const float E0 = 1.9875691500E-4f, E1 = 1.3981999507E-3f, E2 = 8.3334519073E-3f,
        E3 = 4.1665795894E-2f, E4 = 1.6666665459E-1f, E5 = 5.0000001201E-1f;

    // Cephes logf: log(1+f) = f - f^2/2 + f^3 (L0 f^8 + ... + L8).
    internal const float L0 = 7.0376836292E-2f, L1 = -1.1514610310E-1f, L2 = 1.1676998740E-1f, L3 = -1.2420140846E-1f,
        L4 = 1.4249322787E-1f, L5 = -1.6668057665E-1f, L6 = 2.0000714765E-1f, L7 = -2.4999993993E-1f, L8 = 3.3333331174E-1f;

    // Cephes tanhf, |x| < 0.625: tanh x = x + x^3 (((( T0 z + T1) z + T2) z + T3) z + T4), z = x^2.
    internal const float T0 = -5.70498872745E-3f, T1 = 2.06390887954E-2f, T2 = -5.37397155531E-2f,
        T3 = 1.33314422036E-1f, T4 = -3.33332819422E-1f;

    /// <summary>a * b + c, fused where the 128-bit hardware has it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c)
    {
        if (Fma.IsSupported) return Fma.MultiplyAdd(a, b, c);
        if (AdvSimd.IsSupported) return AdvSimd.FusedMultiplyAdd(c, a, b);
        return a * b + c;
    }

    /// <summary>a * b + c, fused (the AVX2 path requires FMA3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, c) : a * b + c;

    /// <summary>a * b + c, fused (AVX-512F).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) =>
        Avx512F.IsSupported ? Avx512F.FusedMultiplyAdd(a, b, c) : a * b + c;
}

/// <summary>An element-wise y = f(x); the scalar overload is the float64 reference used by the scalar path.</summary>
internal interface IUnaryOp
{
    float Invoke(float x);
    Vector128<float> Invoke(Vector128<float> x);
    Vector256<float> Invoke(Vector256<float> x);
    Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>An element-wise d = f(y, d) (backward: delta times a derivative recovered from y).</summary>
internal interface IBinaryOp
{
    float Invoke(float y, float d);
    Vector128<float> Invoke(Vector128<float> y, Vector128<float> d);
    Vector256<float> Invoke(Vector256<float> y, Vector256<float> d);
    Vector512<float> Invoke(Vector512<float> y, Vector512<float> d);
}

internal readonly struct ExpOp : IUnaryOp
{
    public float Invoke(float x) => (float)Math.Exp(x);
    public Vector128<float> Invoke(Vector128<float> x) => Simd128.Exp(x);
    public Vector256<float> Invoke(Vector256<float> x) => Simd256.Exp(x);
    public Vector512<float> Invoke(Vector512<float> x) => Simd512.Exp(x);
}

internal readonly struct SigmoidOp : IUnaryOp
{
    public float Invoke(float x) => ActivationKernels.Sigmoid(x);
    public Vector128<float> Invoke(Vector128<float> x) => Simd128.Sigmoid(x);
    public Vector256<float> Invoke(Vector256<float> x) => Simd256.Sigmoid(x);
    public Vector512<float> Invoke(Vector512<float> x) => Simd512.Sigmoid(x);
}

internal readonly struct TanhOp : IUnaryOp
{
    public float Invoke(float x) => (float)Math.Tanh(x);
    public Vector128<float> Invoke(Vector128<float> x) => Simd128.Tanh(x);
    public Vector256<float> Invoke(Vector256<float> x) => Simd256.Tanh(x);
    public Vector512<float> Invoke(Vector512<float> x) => Simd512.Tanh(x);
}

internal readonly struct SoftplusOp : IUnaryOp
{
    public float Invoke(float x) => ActivationKernels.Softplus(x);
    public Vector128<float> Invoke(Vector128<float> x) => Simd128.Softplus(x);
    public Vector256<float> Invoke(Vector256<float> x) => Simd256.Softplus(x);
    public Vector512<float> Invoke(Vector512<float> x) => Simd512.Softplus(x);
}

internal readonly struct EluOp(float alpha) : IUnaryOp
{
    // e^x - 1 cancels to 0 in double for |x| < 1e-16: below 1e-5 the series x + x^2/2 is exact to float precision.
    public float Invoke(float x) => x > 0f ? x : (float)(alpha * (x > -1e-5f ? x * (1.0 + 0.5 * x) : Math.Exp(x) - 1.0));
    public Vector128<float> Invoke(Vector128<float> x) => Simd128.Elu(x, alpha);
    public Vector256<float> Invoke(Vector256<float> x) => Simd256.Elu(x, alpha);
    public Vector512<float> Invoke(Vector512<float> x) => Simd512.Elu(x, alpha);
}

/// <summary>Leaky ReLU by compare and select (no Max: NEON FMAX would turn NaN handling around). NaN passes through; slope 0 gives a true 0 for -Inf.</summary>
internal readonly struct LeakyReluOp(float slope) : IUnaryOp
{
    public float Invoke(float x) => x <= 0f ? (slope == 0f ? 0f : x * slope) : x;
    public Vector128<float> Invoke(Vector128<float> x) =>
        Vector128.ConditionalSelect(Vector128.LessThanOrEqual(x, Vector128<float>.Zero), slope == 0f ? Vector128<float>.Zero : x * slope, x);
    public Vector256<float> Invoke(Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256<float>.Zero), slope == 0f ? Vector256<float>.Zero : x * slope, x);
    public Vector512<float> Invoke(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x, Vector512<float>.Zero), slope == 0f ? Vector512<float>.Zero : x * slope, x);
}

/// <summary>Step: x &gt;= 0 ? 1 : low (0 or -1); NaN passes through.</summary>
internal readonly struct StepOp(float low) : IUnaryOp
{
    public float Invoke(float x) => x >= 0f ? 1f : float.IsNaN(x) ? x : low;
    public Vector128<float> Invoke(Vector128<float> x) => Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x, Vector128<float>.Zero), Vector128<float>.One,
        Vector128.ConditionalSelect(Vector128.Equals(x, x), Vector128.Create(low), x));
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.One,
        Vector256.ConditionalSelect(Vector256.Equals(x, x), Vector256.Create(low), x));
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One,
        Vector512.ConditionalSelect(Vector512.Equals(x, x), Vector512.Create(low), x));
}

/// <summary>d *= y (1 - y).</summary>
internal readonly struct SigmoidDerivativeOp : IBinaryOp
{
    public float Invoke(float y, float d) => d * (y * (1f - y));
    public Vector128<float> Invoke(Vector128<float> y, Vector128<float> d) => d * (y * (Vector128<float>.One - y));
    public Vector256<float> Invoke(Vector256<float> y, Vector256<float> d) => d * (y * (Vector256<float>.One - y));
    public Vector512<float> Invoke(Vector512<float> y, Vector512<float> d) => d * (y * (Vector512<float>.One - y));
}

/// <summary>d *= 1 - y^2, as (1 - y)(1 + y): 1 - y is exact for y in [0.5, 1], so no cancellation near saturation.</summary>
internal readonly struct TanhDerivativeOp : IBinaryOp
{
    public float Invoke(float y, float d) => d * ((1f - y) * (1f + y));
    public Vector128<float> Invoke(Vector128<float> y, Vector128<float> d) => d * ((Vector128<float>.One - y) * (Vector128<float>.One + y));
    public Vector256<float> Invoke(Vector256<float> y, Vector256<float> d) => d * ((Vector256<float>.One - y) * (Vector256<float>.One + y));
    public Vector512<float> Invoke(Vector512<float> y, Vector512<float> d) => d * ((Vector512<float>.One - y) * (Vector512<float>.One + y));
}

/// <summary>d *= y &gt; 0 ? 1 : slope (NaN y takes the slope, as the scalar reference does).</summary>
internal readonly struct LeakyReluDerivativeOp(float slope) : IBinaryOp
{
    public float Invoke(float y, float d) => y > 0f ? d : d * slope;
    public Vector128<float> Invoke(Vector128<float> y, Vector128<float> d) => Vector128.ConditionalSelect(Vector128.GreaterThan(y, Vector128<float>.Zero), d, d * slope);
    public Vector256<float> Invoke(Vector256<float> y, Vector256<float> d) => Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), d, d * slope);
    public Vector512<float> Invoke(Vector512<float> y, Vector512<float> d) => Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), d, d * slope);
}

/// <summary>d *= y &gt; 0 ? 1 : y + a.</summary>
internal readonly struct EluDerivativeOp(float alpha) : IBinaryOp
{
    public float Invoke(float y, float d) => d * (y > 0f ? 1f : y + alpha);
    public Vector128<float> Invoke(Vector128<float> y, Vector128<float> d) => d * Vector128.ConditionalSelect(Vector128.GreaterThan(y, Vector128<float>.Zero), Vector128<float>.One, y + Vector128.Create(alpha));
    public Vector256<float> Invoke(Vector256<float> y, Vector256<float> d) => d * Vector256.ConditionalSelect(Vector256.GreaterThan(y, Vector256<float>.Zero), Vector256<float>.One, y + Vector256.Create(alpha));
    public Vector512<float> Invoke(Vector512<float> y, Vector512<float> d) => d * Vector512.ConditionalSelect(Vector512.GreaterThan(y, Vector512<float>.Zero), Vector512<float>.One, y + Vector512.Create(alpha));
}

/// <summary>d *= sigmoid(u) recovered from y = softplus(u): 1 - e^-y = -expm1(-y).</summary>
internal readonly struct SoftplusDerivativeOp : IBinaryOp
{
    public float Invoke(float y, float d)
    {
        double v = y;
        return d * (float)(v < 1e-4 ? v * (1.0 - 0.5 * v) : 1.0 - Math.Exp(-v));
    }
    public Vector128<float> Invoke(Vector128<float> y, Vector128<float> d) => d * -Simd128.ExpM1(-y);
    public Vector256<float> Invoke(Vector256<float> y, Vector256<float> d) => d * -Simd256.ExpM1(-y);
    public Vector512<float> Invoke(Vector512<float> y, Vector512<float> d) => d * -Simd512.ExpM1(-y);
}
