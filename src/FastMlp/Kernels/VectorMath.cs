using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;

namespace FastMlp.Kernels;

/// <summary>
/// Single-precision transcendental kernels shared by every vector width (the width-specific bodies are in
/// Simd128.cs / Quad128.cs, and the 256- and 512-bit files generated from them by generate-widths.sh).
/// </summary>
/// <remarks>
/// <para>Every kernel works on a quad (four independent vectors, see <see cref="Quad128"/>) so that its long
/// dependency chain is interleaved four ways; the per-lane arithmetic is described here.</para>
/// <para><b>exp(x)</b>:</para>
/// <para>1. Clamp x to [-104, 89]: below -103.97 e^x rounds to 0 in float, above 88.73 it overflows to +Inf;
/// the clamp keeps n in range for step 4 and the result still rounds to 0 / +Inf. The clamp keeps NaN
/// (<see cref="AtLeast(Vector128{float}, float)"/>), which then propagates through every later step.</para>
/// <para>2. n = round(x log2 e), r = x - n ln2, with ln2 split Cody-Waite style as C1 = 0.693359375 (9 bits, so
/// n C1 is exact for |n| &lt;= 150) and C2 = -2.12194440e-4; |r| &lt;= ln2/2 = 0.347.</para>
/// <para>3. S(r) ~ (e^r - 1)/r, a degree-5 minimax polynomial on [-0.3466, 0.3466] fitted for relative error
/// (Remez, 2.3e-8 with the coefficients rounded to float), so e^r = 1 + r S(r) (one FMA) and
/// expm1(r) = r S(r) (one multiply, no cancellation). Degree 4 would be 4.3e-7 before rounding: too coarse.</para>
/// <para>4. 2^n: AVX-512 applies it with VSCALEFPS, which scales with one rounding, overflows to +Inf and
/// produces correctly rounded subnormals. The 256/128-bit paths multiply by 2^n1 and 2^n2 with n1 = n &gt;&gt; 1,
/// n2 = n - n1 (both normal floats built from exponent bits): the first product is exact, the second rounds
/// once, so subnormal and overflowing results come out the same way.</para>
/// <para><b>expm1(x)</b> = 2^n (1 + q) - 1 = fma(2^n, q, 2^n - 1), q = r S(r); 2^n - 1 is exact for
/// n in [-24, 0], so small |x| keeps full relative accuracy (x clamped to [-87.5, 88], n in [-126, 127]).</para>
/// <para><b>log1p(t)</b> for t in [0, 1] (softplus): u = 1 + t rounded; if u &gt; sqrt 2 then f = u/2 - 1, k = 1, else
/// f = u - 1, k = 0 (both exact); log u = k ln2 + f - f^2/2 + f^3 Q(f) (Cephes logf, degree-8 Q); the rounding
/// error of 1 + t is added back as c/u with c = t - (u - 1), so log1p(t) keeps relative accuracy for tiny t.</para>
/// <para><b>sigmoid</b> = 1/(1+t) for x &gt;= 0 and t/(1+t) for x &lt; 0 with t = e^-|x| (never overflows; subnormal
/// results for x &lt; -87.3 come out correctly rounded). <b>tanh</b> = -m/(2 + m) with m = expm1(-2|x|) in [-1, 0]:
/// no overflow for any x, and no cancellation near 0 because expm1 keeps relative accuracy there, so one
/// formula covers the whole range; the sign bit of x is put back at the end (tanh(-0) = -0).
/// <b>softplus</b> = max(x, 0) + log1p(e^-|x|). <b>ELU</b> = x &gt; 0 ? x : a expm1(x).</para>
/// <para>FMA: every polynomial step and the reduction use fused multiply-add where the path has it
/// (AVX-512 and AVX2 always; the 128-bit path uses FMA3 on x86 and FMLA on ARM when present, else mul + add).</para>
/// <para>Measured maximum relative error against float64 Math over every 2^12-th float bit pattern plus dense
/// sweeps of the critical ranges (see MathAccuracyTests): listed in the perf report; all within 3e-7.</para>
/// </remarks>
internal static class VectorMath
{
    internal const float ExpClampHigh = 89f, ExpClampLow = -104f;
    internal const float ExpM1ClampHigh = 88f, ExpM1ClampLow = -87.5f;
    internal const float Log2E = 1.44269504088896341f;
    internal const float Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;
    internal const float Sqrt2 = 1.41421356f;

    // S(r) = S0 + S1 r + ... + S5 r^5 ~ (e^r - 1)/r on |r| <= 0.3466 (minimax, relative error 2.3e-8).
    internal const float S1 = 0.49999997f, S2 = 0.16666506f, S3 = 0.041667137f, S4 = 0.008369074f, S5 = 0.0013888873f;

    // Cephes logf: log(1+f) = f - f^2/2 + f^3 (L0 f^8 + ... + L8).
    internal const float L0 = 7.0376836292E-2f, L1 = -1.1514610310E-1f, L2 = 1.1676998740E-1f, L3 = -1.2420140846E-1f,
        L4 = 1.4249322787E-1f, L5 = -1.6668057665E-1f, L6 = 2.0000714765E-1f, L7 = -2.4999993993E-1f, L8 = 3.3333331174E-1f;

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

    // max(low, x) / min(high, x) in one instruction that keeps NaN: x86 MAXPS/MINPS return their second operand
    // when either is NaN, and x is the second operand; ARM FMAX/FMIN return NaN. (Vector128.Max would add a fix-up.)

    /// <summary>max(x, low) with NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> AtLeast(Vector128<float> x, float low) => Vector128.MaxNative(Vector128.Create(low), x);

    /// <summary>max(x, low) with NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> AtLeast(Vector256<float> x, float low) => Vector256.MaxNative(Vector256.Create(low), x);

    /// <summary>max(x, low) with NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AtLeast(Vector512<float> x, float low) => Vector512.MaxNative(Vector512.Create(low), x);

    // Partial rows (the softmax of a row of at most one vector, the last block of a one-sample GEMV layer): masked loads
    // and stores where the ISA has them, so a short row needs no copy through a stack buffer (two calls and a
    // store-forwarding stall per row).

    /// <summary>x[0..n) in lanes 0..n-1, <paramref name="pad"/> in the others (0 &lt; n &lt;= 4); nothing past x[n - 1] is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector128<float> LoadRow128(ref float x, int n, float pad)
    {
        Vector128<float> mask = Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(n)).AsSingle();
        if (Avx.IsSupported)
        {
            fixed (float* p = &x) return Vector128.ConditionalSelect(mask, Avx.MaskLoad(p, mask), Vector128.Create(pad));
        }
        Vector128<float> v = Vector128.Create(pad);
        for (int j = 0; j < n; j++) v = v.WithElement(j, Unsafe.Add(ref x, j));
        return v;
    }

    /// <summary>x[0..n) in lanes 0..n-1, <paramref name="pad"/> in the others (0 &lt; n &lt;= 8); nothing past x[n - 1] is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> LoadRow256(ref float x, int n, float pad)
    {
        Vector256<float> mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(n)).AsSingle();
        fixed (float* p = &x) return Vector256.ConditionalSelect(mask, Avx.MaskLoad(p, mask), Vector256.Create(pad));
    }

    /// <summary>x[0..n) in lanes 0..n-1, <paramref name="pad"/> in the others (0 &lt; n &lt;= 16); nothing past x[n - 1] is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> LoadRow512(ref float x, int n, float pad)
    {
        Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle();
        fixed (float* p = &x) return Avx512F.MaskLoad(p, mask, Vector512.Create(pad));
    }

    /// <summary>x's lanes where <paramref name="mask"/> is set (all bits), zero in the others; nothing is read where it is clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector256<float> LoadMasked(ref float x, Vector256<float> mask)
    {
        fixed (float* p = &x) return Avx.MaskLoad(p, mask);
    }

    /// <summary>x's lanes where <paramref name="mask"/> is set (all bits), zero in the others; nothing is read where it is clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe Vector512<float> LoadMasked(ref float x, Vector512<float> mask)
    {
        fixed (float* p = &x) return Avx512F.MaskLoad(p, mask, Vector512<float>.Zero);
    }

    /// <summary>Lanes 0..n-1 of v to y[0..n) (0 &lt; n &lt;= 4); nothing past y[n - 1] is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreRow128(Vector128<float> v, ref float y, int n)
    {
        if (Avx.IsSupported)
        {
            fixed (float* p = &y) Avx.MaskStore(p, Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(n)).AsSingle(), v);
            return;
        }
        for (int j = 0; j < n; j++) Unsafe.Add(ref y, j) = v.GetElement(j);
    }

    /// <summary>Lanes 0..n-1 of v to y[0..n) (0 &lt; n &lt;= 8); nothing past y[n - 1] is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreRow256(Vector256<float> v, ref float y, int n)
    {
        fixed (float* p = &y) Avx.MaskStore(p, Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(n)).AsSingle(), v);
    }

    /// <summary>Lanes 0..n-1 of v to y[0..n) (0 &lt; n &lt;= 16); nothing past y[n - 1] is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreRow512(Vector512<float> v, ref float y, int n)
    {
        fixed (float* p = &y) Avx512F.MaskStore(p, Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle(), v);
    }

    /// <summary>
    /// The 4 x 4 matrix whose rows are a, b, c, d transposed in place (lane k of the m-th vector to lane m of the k-th):
    /// pairs of rows interleaved by floats, then by pairs of floats (unpcklps/unpcklpd on x86, zip1/zip2 on ARM64).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose4(ref Vector128<float> a, ref Vector128<float> b, ref Vector128<float> c, ref Vector128<float> d)
    {
        if (Sse2.IsSupported)
        {
            Vector128<double> t0 = Sse.UnpackLow(a, b).AsDouble(), t1 = Sse.UnpackHigh(a, b).AsDouble();
            Vector128<double> t2 = Sse.UnpackLow(c, d).AsDouble(), t3 = Sse.UnpackHigh(c, d).AsDouble();
            a = Sse2.UnpackLow(t0, t2).AsSingle();
            b = Sse2.UnpackHigh(t0, t2).AsSingle();
            c = Sse2.UnpackLow(t1, t3).AsSingle();
            d = Sse2.UnpackHigh(t1, t3).AsSingle();
        }
        else if (AdvSimd.Arm64.IsSupported)
        {
            Vector128<double> t0 = AdvSimd.Arm64.ZipLow(a, b).AsDouble(), t1 = AdvSimd.Arm64.ZipHigh(a, b).AsDouble();
            Vector128<double> t2 = AdvSimd.Arm64.ZipLow(c, d).AsDouble(), t3 = AdvSimd.Arm64.ZipHigh(c, d).AsDouble();
            a = AdvSimd.Arm64.ZipLow(t0, t2).AsSingle();
            b = AdvSimd.Arm64.ZipHigh(t0, t2).AsSingle();
            c = AdvSimd.Arm64.ZipLow(t1, t3).AsSingle();
            d = AdvSimd.Arm64.ZipHigh(t1, t3).AsSingle();
        }
        else
        {
            Vector128<float> r0 = a, r1 = b, r2 = c, r3 = d;
            a = Vector128.Create(r0.GetElement(0), r1.GetElement(0), r2.GetElement(0), r3.GetElement(0));
            b = Vector128.Create(r0.GetElement(1), r1.GetElement(1), r2.GetElement(1), r3.GetElement(1));
            c = Vector128.Create(r0.GetElement(2), r1.GetElement(2), r2.GetElement(2), r3.GetElement(2));
            d = Vector128.Create(r0.GetElement(3), r1.GetElement(3), r2.GetElement(3), r3.GetElement(3));
        }
    }

    /// <summary>Lanes 0..n-1 of v, <paramref name="pad"/> in the others (a row already in a register, as LoadRow128 pads one from memory).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> KeepFirst(Vector128<float> v, int n, float pad) =>
        Vector128.ConditionalSelect(Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(n)).AsSingle(), v, Vector128.Create(pad));

    /// <summary>Lanes 0..n-1 of v, <paramref name="pad"/> in the others.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> KeepFirst(Vector256<float> v, int n, float pad) =>
        Vector256.ConditionalSelect(Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(n)).AsSingle(), v, Vector256.Create(pad));

    /// <summary>Lanes 0..n-1 of v, <paramref name="pad"/> in the others.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> KeepFirst(Vector512<float> v, int n, float pad) =>
        Vector512.ConditionalSelect(Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle(), v, Vector512.Create(pad));

    /// <summary>The largest lane (native max: with a NaN lane the result is unspecified, as for the callers' loops).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> x)
    {
        // Two shuffle-max steps instead of a chain of four extracts and compares.
        Vector128<float> m = Vector128.MaxNative(x, Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1)));
        return Vector128.MaxNative(m, Vector128.Shuffle(m, Vector128.Create(1, 0, 3, 2))).ToScalar();
    }

    /// <summary>The largest lane (see <see cref="MaxAcross(Vector128{float})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> x) => MaxAcross(Vector128.MaxNative(x.GetLower(), x.GetUpper()));

    /// <summary>The largest lane (see <see cref="MaxAcross(Vector128{float})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> x) => MaxAcross(Vector256.MaxNative(x.GetLower(), x.GetUpper()));

    /// <summary>
    /// The largest lane in every lane (native max, as <see cref="MaxAcross(Vector128{float})"/>): swaps of neighbours and
    /// pairs in the register, so that no step extracts a lane or broadcasts one back.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> BroadcastMax(Vector128<float> x)
    {
        x = Vector128.MaxNative(x, Vector128.Shuffle(x, Vector128.Create(1, 0, 3, 2)));
        return Vector128.MaxNative(x, Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1)));
    }

    /// <summary>The largest lane in every lane (see <see cref="BroadcastMax(Vector128{float})"/>), then across the 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BroadcastMax(Vector256<float> x)
    {
        x = Vector256.MaxNative(x, Avx.Permute(x, 0b10_11_00_01));
        x = Vector256.MaxNative(x, Avx.Permute(x, 0b01_00_11_10));
        return Vector256.MaxNative(x, Avx.Permute2x128(x, x, 0b0000_0001));
    }

    /// <summary>The largest lane in every lane (see <see cref="BroadcastMax(Vector128{float})"/>), then across the quarters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BroadcastMax(Vector512<float> x)
    {
        x = Vector512.MaxNative(x, Avx512F.Permute4x32(x, 0b10_11_00_01));
        x = Vector512.MaxNative(x, Avx512F.Permute4x32(x, 0b01_00_11_10));
        x = Vector512.MaxNative(x, Avx512F.Shuffle4x128(x, x, 0b10_11_00_01));
        return Vector512.MaxNative(x, Avx512F.Shuffle4x128(x, x, 0b01_00_11_10));
    }

    /// <summary>
    /// Vector128.Sum(x) in every lane, bitwise: the same tree, (x0 + x1) + (x2 + x3) (each addition commutes exactly), with
    /// swaps in the register instead of extracts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> BroadcastSum(Vector128<float> x)
    {
        x += Vector128.Shuffle(x, Vector128.Create(1, 0, 3, 2));
        return x + Vector128.Shuffle(x, Vector128.Create(2, 3, 0, 1));
    }

    /// <summary>Vector256.Sum(x) in every lane, bitwise: each half as <see cref="BroadcastSum(Vector128{float})"/>, then the halves added.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> BroadcastSum(Vector256<float> x)
    {
        x += Avx.Permute(x, 0b10_11_00_01);
        x += Avx.Permute(x, 0b01_00_11_10);
        return x + Avx.Permute2x128(x, x, 0b0000_0001);
    }

    /// <summary>
    /// Vector512.Sum(x) in every lane, bitwise: the same complete binary tree (neighbours, pairs, 128-bit quarters, 256-bit
    /// halves; each addition commutes exactly), with swaps in the register instead of extracts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> BroadcastSum(Vector512<float> x)
    {
        x += Avx512F.Permute4x32(x, 0b10_11_00_01);
        x += Avx512F.Permute4x32(x, 0b01_00_11_10);
        x += Avx512F.Shuffle4x128(x, x, 0b10_11_00_01);
        return x + Avx512F.Shuffle4x128(x, x, 0b01_00_11_10);
    }

    /// <summary>min(x, high) with NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> AtMost(Vector128<float> x, float high) => Vector128.MinNative(Vector128.Create(high), x);

    /// <summary>min(x, high) with NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> AtMost(Vector256<float> x, float high) => Vector256.MinNative(Vector256.Create(high), x);

    /// <summary>min(x, high) with NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AtMost(Vector512<float> x, float high) => Vector512.MinNative(Vector512.Create(high), x);

    /// <summary>p 2^nf, nf integral in [-150, 129]: two exact-exponent factors, so only the last product rounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ScaleByPow2(Vector128<float> p, Vector128<float> nf)
    {
        // Native conversion: NaN lanes give garbage exponents, but p is NaN there too and the product stays NaN.
        Vector128<int> n = Vector128.ConvertToInt32Native(nf);
        Vector128<int> n1 = Vector128.ShiftRightArithmetic(n, 1);
        return p * Pow2Bits(n1) * Pow2Bits(n - n1);
    }

    /// <summary>p 2^nf, nf integral in [-150, 129]: two exact-exponent factors, so only the last product rounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPow2(Vector256<float> p, Vector256<float> nf)
    {
        Vector256<int> n = Vector256.ConvertToInt32Native(nf);
        Vector256<int> n1 = Vector256.ShiftRightArithmetic(n, 1);
        return p * Pow2Bits(n1) * Pow2Bits(n - n1);
    }

    /// <summary>p 2^nf with VSCALEFPS: one rounding, +Inf on overflow, subnormals (NaN propagates).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPow2(Vector512<float> p, Vector512<float> nf) => Avx512F.Scale(p, nf);

    /// <summary>2^nf for integral nf in [-126, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2(Vector128<float> nf) => Pow2Bits(Vector128.ConvertToInt32Native(nf));

    /// <summary>2^nf for integral nf in [-126, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2(Vector256<float> nf) => Pow2Bits(Vector256.ConvertToInt32Native(nf));

    /// <summary>2^nf for integral nf in [-126, 127] (VSCALEFPS of 1: one instruction instead of convert, add, shift).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2(Vector512<float> nf) => Avx512F.Scale(Vector512<float>.One, nf);

    /// <summary>n / d (IEEE division).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Divide(Vector128<float> n, Vector128<float> d) => n / d;

    /// <summary>n / d (IEEE division: VRCPPS has only 12 bits, so a reciprocal route needs more steps than it saves).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Divide(Vector256<float> n, Vector256<float> d) => n / d;

    /// <summary>
    /// n / d for finite d &gt;= 1 by VRCP14PS and one correction: q0 = n r, q = q0 + r (n - d q0); relative error
    /// (2^-14)^2 plus the final rounding, i.e. within a hair of the correctly rounded quotient, in four pipelined
    /// instructions instead of one VDIVPS (a 512-bit division occupies the divider for several cycles).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Divide(Vector512<float> n, Vector512<float> d)
    {
        Vector512<float> r = Avx512F.Reciprocal14(d);
        Vector512<float> q = n * r;
        return Avx512F.FusedMultiplyAdd(Avx512F.FusedMultiplyAddNegated(d, q, n), r, q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Pow2Bits(Vector128<int> n) => Vector128.ShiftLeft(n + Vector128.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Pow2Bits(Vector256<int> n) => Vector256.ShiftLeft(n + Vector256.Create(127), 23).AsSingle();
}

/// <summary>An element-wise y = f(x) on four vectors at a time; the scalar overload is the float64 reference used by the scalar path.</summary>
internal interface IUnaryOp
{
    float Invoke(float x);
    Quad128 Invoke(Quad128 x);
    Quad256 Invoke(Quad256 x);
    Quad512 Invoke(Quad512 x);
}

/// <summary>An element-wise d = f(y, d) (backward: delta times a derivative recovered from y).</summary>
internal interface IBinaryOp
{
    float Invoke(float y, float d);
    Quad128 Invoke(Quad128 y, Quad128 d);
    Quad256 Invoke(Quad256 y, Quad256 d);
    Quad512 Invoke(Quad512 y, Quad512 d);
}

internal readonly struct ExpOp : IUnaryOp
{
    public float Invoke(float x) => (float)Math.Exp(x);
    public Quad128 Invoke(Quad128 x) => Simd128.Exp(x);
    public Quad256 Invoke(Quad256 x) => Simd256.Exp(x);
    public Quad512 Invoke(Quad512 x) => Simd512.Exp(x);
}

internal readonly struct SigmoidOp : IUnaryOp
{
    public float Invoke(float x) => ActivationKernels.Sigmoid(x);
    public Quad128 Invoke(Quad128 x) => Simd128.Sigmoid(x);
    public Quad256 Invoke(Quad256 x) => Simd256.Sigmoid(x);
    public Quad512 Invoke(Quad512 x) => Simd512.Sigmoid(x);
}

internal readonly struct TanhOp : IUnaryOp
{
    public float Invoke(float x) => (float)Math.Tanh(x);
    public Quad128 Invoke(Quad128 x) => Simd128.Tanh(x);
    public Quad256 Invoke(Quad256 x) => Simd256.Tanh(x);
    public Quad512 Invoke(Quad512 x) => Simd512.Tanh(x);
}

internal readonly struct SoftplusOp : IUnaryOp
{
    public float Invoke(float x) => ActivationKernels.Softplus(x);
    public Quad128 Invoke(Quad128 x) => Simd128.Softplus(x);
    public Quad256 Invoke(Quad256 x) => Simd256.Softplus(x);
    public Quad512 Invoke(Quad512 x) => Simd512.Softplus(x);
}

internal readonly struct EluOp(float alpha) : IUnaryOp
{
    // e^x - 1 cancels to 0 in double for |x| < 1e-16: below 1e-5 the series x + x^2/2 is exact to float precision.
    public float Invoke(float x) => x > 0f ? x : (float)(alpha * (x > -1e-5f ? x * (1.0 + 0.5 * x) : Math.Exp(x) - 1.0));
    public Quad128 Invoke(Quad128 x) => Simd128.Elu(x, alpha);
    public Quad256 Invoke(Quad256 x) => Simd256.Elu(x, alpha);
    public Quad512 Invoke(Quad512 x) => Simd512.Elu(x, alpha);
}

/// <summary>
/// ReLU: x &lt;= 0 ? +0 : x (NaN passes through), the same values as <see cref="LeakyReluOp"/> with slope 0, without the
/// run-time test of the slope (which left a branch and spills in the one-sample kernels).
/// </summary>
internal readonly struct ReluOp : IUnaryOp
{
    public float Invoke(float x) => x <= 0f ? 0f : x;
    public Quad128 Invoke(Quad128 x) => Quad128.Select(Quad128.LessThanOrEqual(x, 0f), default, x);
    public Quad256 Invoke(Quad256 x) => Quad256.Select(Quad256.LessThanOrEqual(x, 0f), default, x);
    public Quad512 Invoke(Quad512 x) => Quad512.Select(Quad512.LessThanOrEqual(x, 0f), default, x);
}

/// <summary>Leaky ReLU by compare and select (no Max: NEON FMAX would turn NaN handling around). NaN passes through; slope 0 gives a true 0 for -Inf.</summary>
internal readonly struct LeakyReluOp(float slope) : IUnaryOp
{
    public float Invoke(float x) => x <= 0f ? (slope == 0f ? 0f : x * slope) : x;
    public Quad128 Invoke(Quad128 x) => Quad128.Select(Quad128.LessThanOrEqual(x, 0f), slope == 0f ? default : x * slope, x);
    public Quad256 Invoke(Quad256 x) => Quad256.Select(Quad256.LessThanOrEqual(x, 0f), slope == 0f ? default : x * slope, x);
    public Quad512 Invoke(Quad512 x) => Quad512.Select(Quad512.LessThanOrEqual(x, 0f), slope == 0f ? default : x * slope, x);
}

/// <summary>Step: x &gt;= 0 ? 1 : low (0 or -1); NaN passes through.</summary>
internal readonly struct StepOp(float low) : IUnaryOp
{
    public float Invoke(float x) => x >= 0f ? 1f : float.IsNaN(x) ? x : low;
    public Quad128 Invoke(Quad128 x) => Quad128.Select(Quad128.GreaterThanOrEqual(x, 0f), Quad128.Splat(1f), Quad128.Select(Quad128.IsNotNaN(x), Quad128.Splat(low), x));
    public Quad256 Invoke(Quad256 x) => Quad256.Select(Quad256.GreaterThanOrEqual(x, 0f), Quad256.Splat(1f), Quad256.Select(Quad256.IsNotNaN(x), Quad256.Splat(low), x));
    public Quad512 Invoke(Quad512 x) => Quad512.Select(Quad512.GreaterThanOrEqual(x, 0f), Quad512.Splat(1f), Quad512.Select(Quad512.IsNotNaN(x), Quad512.Splat(low), x));
}

/// <summary>d *= y (1 - y).</summary>
internal readonly struct SigmoidDerivativeOp : IBinaryOp
{
    public float Invoke(float y, float d) => d * (y * (1f - y));
    public Quad128 Invoke(Quad128 y, Quad128 d) => d * (y * (1f - y));
    public Quad256 Invoke(Quad256 y, Quad256 d) => d * (y * (1f - y));
    public Quad512 Invoke(Quad512 y, Quad512 d) => d * (y * (1f - y));
}

/// <summary>d *= 1 - y^2, as (1 - y)(1 + y): 1 - y is exact for y in [0.5, 1], so no cancellation near saturation.</summary>
internal readonly struct TanhDerivativeOp : IBinaryOp
{
    public float Invoke(float y, float d) => d * ((1f - y) * (1f + y));
    public Quad128 Invoke(Quad128 y, Quad128 d) => d * ((1f - y) * (y + 1f));
    public Quad256 Invoke(Quad256 y, Quad256 d) => d * ((1f - y) * (y + 1f));
    public Quad512 Invoke(Quad512 y, Quad512 d) => d * ((1f - y) * (y + 1f));
}

/// <summary>d *= y &gt; 0 ? 1 : slope (NaN y takes the slope, as the scalar reference does).</summary>
internal readonly struct LeakyReluDerivativeOp(float slope) : IBinaryOp
{
    public float Invoke(float y, float d) => y > 0f ? d : d * slope;
    public Quad128 Invoke(Quad128 y, Quad128 d) => Quad128.Select(Quad128.GreaterThan(y, 0f), d, d * slope);
    public Quad256 Invoke(Quad256 y, Quad256 d) => Quad256.Select(Quad256.GreaterThan(y, 0f), d, d * slope);
    public Quad512 Invoke(Quad512 y, Quad512 d) => Quad512.Select(Quad512.GreaterThan(y, 0f), d, d * slope);
}

/// <summary>d *= y &gt; 0 ? 1 : y + a.</summary>
internal readonly struct EluDerivativeOp(float alpha) : IBinaryOp
{
    public float Invoke(float y, float d) => d * (y > 0f ? 1f : y + alpha);
    public Quad128 Invoke(Quad128 y, Quad128 d) => d * Quad128.Select(Quad128.GreaterThan(y, 0f), Quad128.Splat(1f), y + alpha);
    public Quad256 Invoke(Quad256 y, Quad256 d) => d * Quad256.Select(Quad256.GreaterThan(y, 0f), Quad256.Splat(1f), y + alpha);
    public Quad512 Invoke(Quad512 y, Quad512 d) => d * Quad512.Select(Quad512.GreaterThan(y, 0f), Quad512.Splat(1f), y + alpha);
}

/// <summary>d *= sigmoid(u) recovered from y = softplus(u): 1 - e^-y = -expm1(-y).</summary>
internal readonly struct SoftplusDerivativeOp : IBinaryOp
{
    public float Invoke(float y, float d)
    {
        double v = y;
        return d * (float)(v < 1e-4 ? v * (1.0 - 0.5 * v) : 1.0 - Math.Exp(-v));
    }
    public Quad128 Invoke(Quad128 y, Quad128 d) => d * -Simd128.ExpM1(-y);
    public Quad256 Invoke(Quad256 y, Quad256 d) => d * -Simd256.ExpM1(-y);
    public Quad512 Invoke(Quad512 y, Quad512 d) => d * -Simd512.ExpM1(-y);
}
