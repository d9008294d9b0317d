using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

/// <summary>
/// Level-1 building blocks (dot, axpy, scale, add, sum, finiteness) on contiguous spans, on the path
/// <see cref="KernelDispatch.Current"/>: Simd512 / Simd256 / Simd128 (Vector128 and Neon) with zero-padded tail
/// blocks, or plain scalar loops (the reference). Summation order is fixed by the length alone, never by
/// alignment, so results are reproducible within a path; the vector paths use FMA in Dot and Axpy.
/// </summary>
internal static class VectorOps
{
    /// <summary>Sum of x[i] * y[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y) => Dot(KernelDispatch.Current, x, y);

    internal static float Dot(KernelPath path, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (y.Length < x.Length) ThrowLength();
        switch (path)
        {
            case KernelPath.Avx512: return Simd512.Dot(x, y);
            case KernelPath.Avx2: return Simd256.Dot(x, y);
            case KernelPath.Vector128: case KernelPath.Neon: return Simd128.Dot(x, y);
        }
        float sum = 0f;
        for (int i = 0; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>y[i] += alpha * x[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y) => Axpy(KernelDispatch.Current, alpha, x, y);

    internal static void Axpy(KernelPath path, float alpha, ReadOnlySpan<float> x, Span<float> y) => AxpyCore(path, alpha, x, y, true);

    /// <summary>y[i] = alpha * x[i].</summary>
    public static void Scale(float alpha, ReadOnlySpan<float> x, Span<float> y) => Scale(KernelDispatch.Current, alpha, x, y);

    internal static void Scale(KernelPath path, float alpha, ReadOnlySpan<float> x, Span<float> y) => AxpyCore(path, alpha, x, y, false);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void AxpyCore(KernelPath path, float alpha, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        if (y.Length < x.Length) ThrowLength();
        switch (path)
        {
            case KernelPath.Avx512: Simd512.Axpy(alpha, x, y, accumulate); return;
            case KernelPath.Avx2: Simd256.Axpy(alpha, x, y, accumulate); return;
            case KernelPath.Vector128: case KernelPath.Neon: Simd128.Axpy(alpha, x, y, accumulate); return;
        }
        if (accumulate)
            for (int i = 0; i < x.Length; i++) y[i] += alpha * x[i];
        else
            for (int i = 0; i < x.Length; i++) y[i] = alpha * x[i];
    }

    /// <summary>y[i] += x[i].</summary>
    public static void Add(ReadOnlySpan<float> x, Span<float> y) => Add(KernelDispatch.Current, x, y);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Add(KernelPath path, ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length) ThrowLength();
        switch (path)
        {
            case KernelPath.Avx512: Simd512.Add(x, y); return;
            case KernelPath.Avx2: Simd256.Add(x, y); return;
            case KernelPath.Vector128: case KernelPath.Neon: Simd128.Add(x, y); return;
        }
        for (int i = 0; i < x.Length; i++) y[i] += x[i];
    }

    /// <summary>Sum of x[i] * x[i].</summary>
    public static float SumOfSquares(ReadOnlySpan<float> x) => Dot(x, x);

    /// <summary>
    /// Sum of all elements; NaN if any element is NaN and +-Inf/NaN if any is infinite, which is
    /// what the trainer uses as its one-pass "is this gradient finite" check.
    /// </summary>
    public static float Sum(ReadOnlySpan<float> x) => Sum(KernelDispatch.Current, x);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float Sum(KernelPath path, ReadOnlySpan<float> x)
    {
        switch (path)
        {
            case KernelPath.Avx512: return Simd512.Sum(x);
            case KernelPath.Avx2: return Simd256.Sum(x);
            case KernelPath.Vector128: case KernelPath.Neon: return Simd128.Sum(x);
        }
        float sum = 0f;
        foreach (float v in x) sum += v;
        return sum;
    }

    /// <summary>True when every element is finite (no NaN, no +-Inf).</summary>
    public static bool AllFinite(ReadOnlySpan<float> x) => AllFinite(KernelDispatch.Current, x);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static bool AllFinite(KernelPath path, ReadOnlySpan<float> x)
    {
        switch (path)
        {
            case KernelPath.Avx512: return Simd512.AllFinite(x);
            case KernelPath.Avx2: return Simd256.AllFinite(x);
            case KernelPath.Vector128: case KernelPath.Neon: return Simd128.AllFinite(x);
        }
        // x * 0 is 0 for finite x and NaN for NaN or +-Inf, so one sum answers for the whole span.
        float probe = 0f;
        foreach (float v in x) probe += v * 0f;
        return probe == 0f;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static System.Numerics.Vector<float> Load(ref float p, int i) =>
        Unsafe.ReadUnaligned<System.Numerics.Vector<float>>(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref p, i)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store(System.Numerics.Vector<float> v, ref float p, int i) =>
        Unsafe.WriteUnaligned(ref Unsafe.As<float, byte>(ref Unsafe.Add(ref p, i)), v);

    private static void ThrowLength() => throw new ArgumentException("The second span is shorter than the first.");
}
