using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

/// <summary>
/// Level-1 building blocks (dot, axpy, scale, add) on contiguous spans. Portable
/// <see cref="Vector{T}"/> body with a scalar tail; the scalar path uses only the tail loop.
/// Summation order is fixed by the lengths alone, never by alignment, so results are reproducible.
/// </summary>
internal static class VectorOps
{
    /// <summary>Sum of x[i] * y[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        float sum = 0f;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            int w = Vector<float>.Count;
            Vector<float> a0 = Vector<float>.Zero, a1 = Vector<float>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                a0 += Load(ref px, i) * Load(ref py, i);
                a1 += Load(ref px, i + w) * Load(ref py, i + w);
            }
            for (; i <= n - w; i += w)
                a0 += Load(ref px, i) * Load(ref py, i);
            sum = Vector.Sum(a0 + a1);
        }
        for (; i < n; i++)
            sum += Unsafe.Add(ref px, i) * Unsafe.Add(ref py, i);
        return sum;
    }

    /// <summary>y[i] += alpha * x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(alpha);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                Store(Load(ref py, i) + va * Load(ref px, i), ref py, i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref py, i) += alpha * Unsafe.Add(ref px, i);
    }

    /// <summary>y[i] = alpha * x[i].</summary>
    public static void Scale(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<float>(alpha);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                Store(va * Load(ref px, i), ref py, i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref py, i) = alpha * Unsafe.Add(ref px, i);
    }

    /// <summary>y[i] += x[i].</summary>
    public static void Add(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                Store(Load(ref py, i) + Load(ref px, i), ref py, i);
        }
        for (; i < n; i++)
            Unsafe.Add(ref py, i) += Unsafe.Add(ref px, i);
    }

    /// <summary>Sum of x[i] * x[i].</summary>
    public static float SumOfSquares(ReadOnlySpan<float> x) => Dot(x, x);

    /// <summary>
    /// Sum of all elements; NaN if any element is NaN and +-Inf/NaN if any is infinite, which is
    /// what the trainer uses as its one-pass "is this gradient finite" check.
    /// </summary>
    public static float Sum(ReadOnlySpan<float> x)
    {
        int n = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x);
        int i = 0;
        float sum = 0f;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                acc += Load(ref px, i);
            sum = Vector.Sum(acc);
        }
        for (; i < n; i++)
            sum += Unsafe.Add(ref px, i);
        return sum;
    }

    /// <summary>True when every element is finite (no NaN, no +-Inf).</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        // x * 0 is 0 for finite x and NaN for NaN or +-Inf, so one sum answers for the whole span.
        int n = x.Length;
        ref float px = ref MemoryMarshal.GetReference(x);
        int i = 0;
        float probe = 0f;
        if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                acc += Load(ref px, i) * Vector<float>.Zero;
            probe = Vector.Sum(acc);
        }
        for (; i < n; i++)
            probe += Unsafe.Add(ref px, i) * 0f;
        return probe == 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector<float> Load(ref float p, int i) =>
        Unsafe.ReadUnaligned<Vector<float>>(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref p, i)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(Vector<float> v, ref float p, int i) =>
        Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref p, i)), v);
}
