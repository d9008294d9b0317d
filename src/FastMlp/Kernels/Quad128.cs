// Template for every vector width: Quad256.cs and Quad512.cs are generated from this file by
// generate-widths.sh (a textual 128 -> 256 / 512 substitution). Edit this file, then regenerate.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using static FastMlp.Kernels.VectorMath;

namespace FastMlp.Kernels;

/// <summary>
/// Four independent Vector128 values that every operation advances together, one step at a time.
/// </summary>
/// <remarks>
/// Every operation is a static method taking quads by value: an instance method would take <c>this</c> by
/// reference, which makes the JIT keep the quad in memory (zeroed, stored and reloaded each iteration) instead of
/// in four registers.
/// </remarks>
/// <remarks>
/// Why: a transcendental kernel is a chain of 15-25 dependent instructions (about 60 cycles of latency) but
/// only 10-15 cycles of execution-port work per vector. The JIT emits code in source order and does not
/// interleave independent loop iterations, so a one-vector loop leaves the out-of-order window full of
/// instructions that wait on their predecessor. Written on a quad, each step is issued for four independent
/// chains back to back, which keeps the FMA pipes busy. Every lane goes through the same instruction sequence
/// whichever of the four vectors it sits in, so results do not depend on the position of an element.
/// </remarks>
internal readonly struct Quad128(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d)
{
    /// <summary>Elements in one quad.</summary>
    public static int Count => 4 * Vector128<float>.Count;

    public readonly Vector128<float> A = a, B = b, C = c, D = d;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Load(ref float p, nuint i)
    {
        nuint w = (nuint)Vector128<float>.Count;
        return new(Vector128.LoadUnsafe(ref p, i), Vector128.LoadUnsafe(ref p, i + w),
            Vector128.LoadUnsafe(ref p, i + 2 * w), Vector128.LoadUnsafe(ref p, i + 3 * w));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Quad128 x, ref float p, nuint i)
    {
        nuint w = (nuint)Vector128<float>.Count;
        x.A.StoreUnsafe(ref p, i);
        x.B.StoreUnsafe(ref p, i + w);
        x.C.StoreUnsafe(ref p, i + 2 * w);
        x.D.StoreUnsafe(ref p, i + 3 * w);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Splat(float v)
    {
        Vector128<float> x = Vector128.Create(v);
        return new(x, x, x, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator +(Quad128 x, Quad128 y) => new(x.A + y.A, x.B + y.B, x.C + y.C, x.D + y.D);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator -(Quad128 x, Quad128 y) => new(x.A - y.A, x.B - y.B, x.C - y.C, x.D - y.D);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator *(Quad128 x, Quad128 y) => new(x.A * y.A, x.B * y.B, x.C * y.C, x.D * y.D);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator /(Quad128 x, Quad128 y) => new(x.A / y.A, x.B / y.B, x.C / y.C, x.D / y.D);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator &(Quad128 x, Quad128 y) => new(x.A & y.A, x.B & y.B, x.C & y.C, x.D & y.D);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator |(Quad128 x, Quad128 y) => new(x.A | y.A, x.B | y.B, x.C | y.C, x.D | y.D);
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator -(Quad128 x) => new(-x.A, -x.B, -x.C, -x.D);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator +(Quad128 x, float s) { Vector128<float> v = Vector128.Create(s); return new(x.A + v, x.B + v, x.C + v, x.D + v); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator -(float s, Quad128 x) { Vector128<float> v = Vector128.Create(s); return new(v - x.A, v - x.B, v - x.C, v - x.D); }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 operator *(Quad128 x, float s) { Vector128<float> v = Vector128.Create(s); return new(x.A * v, x.B * v, x.C * v, x.D * v); }

    /// <summary>x * y + z, fused where the path has FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 MulAdd(Quad128 x, Quad128 y, Quad128 z) =>
        new(VectorMath.MulAdd(x.A, y.A, z.A), VectorMath.MulAdd(x.B, y.B, z.B), VectorMath.MulAdd(x.C, y.C, z.C), VectorMath.MulAdd(x.D, y.D, z.D));

    /// <summary>x * y + c, fused where the path has FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 MulAdd(Quad128 x, Quad128 y, float c)
    {
        Vector128<float> v = Vector128.Create(c);
        return new(VectorMath.MulAdd(x.A, y.A, v), VectorMath.MulAdd(x.B, y.B, v), VectorMath.MulAdd(x.C, y.C, v), VectorMath.MulAdd(x.D, y.D, v));
    }

    /// <summary>x * c + y, fused where the path has FMA.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 MulAdd(Quad128 x, float c, Quad128 y)
    {
        Vector128<float> v = Vector128.Create(c);
        return new(VectorMath.MulAdd(x.A, v, y.A), VectorMath.MulAdd(x.B, v, y.B), VectorMath.MulAdd(x.C, v, y.C), VectorMath.MulAdd(x.D, v, y.D));
    }

    /// <summary>Horner step p * x + c with a constant c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Horner(Quad128 p, Quad128 x, float c) => MulAdd(p, x, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Abs(Quad128 x) => new(Vector128.Abs(x.A), Vector128.Abs(x.B), Vector128.Abs(x.C), Vector128.Abs(x.D));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Round(Quad128 x) => new(Vector128.Round(x.A), Vector128.Round(x.B), Vector128.Round(x.C), Vector128.Round(x.D));

    /// <summary>-|x| by setting the sign bit (one instruction; NaN stays NaN).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 NegAbs(Quad128 x) => x | Splat(-0f);

    /// <summary>max(x, low), NaN kept (see <see cref="VectorMath.AtLeast(Vector128{float}, float)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 AtLeast(Quad128 x, float low) =>
        new(VectorMath.AtLeast(x.A, low), VectorMath.AtLeast(x.B, low), VectorMath.AtLeast(x.C, low), VectorMath.AtLeast(x.D, low));

    /// <summary>min(x, high), NaN kept.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 AtMost(Quad128 x, float high) =>
        new(VectorMath.AtMost(x.A, high), VectorMath.AtMost(x.B, high), VectorMath.AtMost(x.C, high), VectorMath.AtMost(x.D, high));

    /// <summary>p * 2^nf for integral nf in [-150, 129] (exact scaling with one rounding, overflow to +Inf, subnormals).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 ScaleByPow2(Quad128 p, Quad128 nf) =>
        new(VectorMath.ScaleByPow2(p.A, nf.A), VectorMath.ScaleByPow2(p.B, nf.B), VectorMath.ScaleByPow2(p.C, nf.C), VectorMath.ScaleByPow2(p.D, nf.D));

    /// <summary>2^nf for integral nf in [-126, 127].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Pow2(Quad128 nf) => new(VectorMath.Pow2(nf.A), VectorMath.Pow2(nf.B), VectorMath.Pow2(nf.C), VectorMath.Pow2(nf.D));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 GreaterThan(Quad128 x, float s)
    {
        Vector128<float> v = Vector128.Create(s);
        return new(Vector128.GreaterThan(x.A, v), Vector128.GreaterThan(x.B, v), Vector128.GreaterThan(x.C, v), Vector128.GreaterThan(x.D, v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 GreaterThanOrEqual(Quad128 x, float s)
    {
        Vector128<float> v = Vector128.Create(s);
        return new(Vector128.GreaterThanOrEqual(x.A, v), Vector128.GreaterThanOrEqual(x.B, v), Vector128.GreaterThanOrEqual(x.C, v), Vector128.GreaterThanOrEqual(x.D, v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 LessThanOrEqual(Quad128 x, float s)
    {
        Vector128<float> v = Vector128.Create(s);
        return new(Vector128.LessThanOrEqual(x.A, v), Vector128.LessThanOrEqual(x.B, v), Vector128.LessThanOrEqual(x.C, v), Vector128.LessThanOrEqual(x.D, v));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 IsNotNaN(Quad128 x) => new(Vector128.Equals(x.A, x.A), Vector128.Equals(x.B, x.B), Vector128.Equals(x.C, x.C), Vector128.Equals(x.D, x.D));

    /// <summary>Bitwise select: bits of <paramref name="x"/> where <paramref name="mask"/> is set, else of <paramref name="y"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Select(Quad128 mask, Quad128 x, Quad128 y) =>
        new(Vector128.ConditionalSelect(mask.A, x.A, y.A), Vector128.ConditionalSelect(mask.B, x.B, y.B),
            Vector128.ConditionalSelect(mask.C, x.C, y.C), Vector128.ConditionalSelect(mask.D, x.D, y.D));

    /// <summary>n / d for d &gt;= 1 (see <see cref="VectorMath.Divide(Vector128{float}, Vector128{float})"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 Divide(Quad128 n, Quad128 d) =>
        new(VectorMath.Divide(n.A, d.A), VectorMath.Divide(n.B, d.B), VectorMath.Divide(n.C, d.C), VectorMath.Divide(n.D, d.D));

    /// <summary>x &gt;= s ? a : b per lane (compare and blend written together, so AVX-512 can blend under a mask register).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 SelectWhereAtLeast(Quad128 x, float s, Quad128 a, Quad128 b)
    {
        Vector128<float> v = Vector128.Create(s);
        return new(Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x.A, v), a.A, b.A), Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x.B, v), a.B, b.B),
            Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x.C, v), a.C, b.C), Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x.D, v), a.D, b.D));
    }

    /// <summary>x &gt; s ? a : b per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Quad128 SelectWhereGreater(Quad128 x, float s, Quad128 a, Quad128 b)
    {
        Vector128<float> v = Vector128.Create(s);
        return new(Vector128.ConditionalSelect(Vector128.GreaterThan(x.A, v), a.A, b.A), Vector128.ConditionalSelect(Vector128.GreaterThan(x.B, v), a.B, b.B),
            Vector128.ConditionalSelect(Vector128.GreaterThan(x.C, v), a.C, b.C), Vector128.ConditionalSelect(Vector128.GreaterThan(x.D, v), a.D, b.D));
    }

    /// <summary>Sum of the four vectors in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sum(Quad128 x) => (x.A + x.B) + (x.C + x.D);
}
