using System.Runtime.CompilerServices;

namespace FastMlp.Kernels;

/// <summary>
/// Activation values (in place) and the backward step delta *= f'(u), where f' is recovered from
/// the activated value y = f(u) so the forward pass never has to keep u:
/// sigmoid y(1-y); tanh 1-y^2; ReLU [y&gt;0]; leaky ReLU y&gt;0 ? 1 : a; ELU y&gt;0 ? 1 : y+a;
/// softplus 1-e^-y (= sigmoid(u)); identity 1.
/// </summary>
/// <remarks>
/// The path is <see cref="KernelDispatch.Current"/>: Avx512 / Avx2 / Vector128 and Neon run the operator structs of
/// <see cref="VectorMath"/> through the width drivers in Simd512 / Simd256 / Simd128; Scalar runs plain loops
/// with the transcendentals in double (the accuracy reference).
/// NaN semantics, identical on every path: NaN in gives NaN out for every activation except the derivative of
/// (leaky) ReLU, where a NaN y takes the negative-side slope (so a NaN delta stays NaN, a finite delta is scaled);
/// a NaN anywhere in a softmax row makes the whole row NaN. No path uses Max/Min (AdvSimd FMAX propagates NaN,
/// x86 MAXPS does not): every choice is a compare and select.
/// </remarks>
internal static class ActivationKernels
{
    /// <summary>Applies the activation in place to a [rows x width] block on the current kernel path.</summary>
    public static void Apply(Activation activation, Span<float> data, int width) => Apply(KernelDispatch.Current, activation, data, width);

    /// <summary>Applies the activation in place on the given path.</summary>
    internal static void Apply(KernelPath path, Activation activation, Span<float> data, int width) => Apply(path, activation, data, data, width);

    /// <summary>
    /// y = f(x) for a [rows x width] block (x and y the same span, or not overlapping) on the current path: one pass
    /// where a copy and then an in-place Apply would make two, with the same results.
    /// </summary>
    public static void Apply(Activation activation, ReadOnlySpan<float> x, Span<float> y, int width) =>
        Apply(KernelDispatch.Current, activation, x, y, width);

    /// <summary>y = f(x) on the given path.</summary>
    internal static void Apply(KernelPath path, Activation activation, ReadOnlySpan<float> x, Span<float> y, int width)
    {
        float a = activation.Parameter;
        switch (activation.Kind)
        {
            case ActivationKind.Identity: if (!x.Overlaps(y)) x.CopyTo(y); return;
            case ActivationKind.Relu: Unary(path, new LeakyReluOp(0f), x, y); return;
            case ActivationKind.LeakyRelu: Unary(path, new LeakyReluOp(a), x, y); return;
            case ActivationKind.Softmax: Softmax(path, x, y, width); return;
            case ActivationKind.Step: Unary(path, new StepOp(0f), x, y); return;
            case ActivationKind.BipolarStep: Unary(path, new StepOp(-1f), x, y); return;
            case ActivationKind.Sigmoid: Unary(path, new SigmoidOp(), x, y); return;
            case ActivationKind.Tanh: Unary(path, new TanhOp(), x, y); return;
            case ActivationKind.Elu: Unary(path, new EluOp(a), x, y); return;
            case ActivationKind.Softplus: Unary(path, new SoftplusOp(), x, y); return;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>delta[i] *= f'(u[i]), with f' computed from y[i] = f(u[i]). Softmax and steps are not handled here.</summary>
    public static void MultiplyDerivative(Activation activation, ReadOnlySpan<float> y, Span<float> delta) =>
        MultiplyDerivative(KernelDispatch.Current, activation, y, delta);

    /// <summary>delta[i] *= f'(u[i]) on the given path.</summary>
    internal static void MultiplyDerivative(KernelPath path, Activation activation, ReadOnlySpan<float> y, Span<float> delta)
    {
        float a = activation.Parameter;
        switch (activation.Kind)
        {
            case ActivationKind.Identity: return;
            case ActivationKind.Relu: Binary(path, new LeakyReluDerivativeOp(0f), y, delta); return;
            case ActivationKind.LeakyRelu: Binary(path, new LeakyReluDerivativeOp(a), y, delta); return;
            case ActivationKind.Sigmoid: Binary(path, new SigmoidDerivativeOp(), y, delta); return;
            case ActivationKind.Tanh: Binary(path, new TanhDerivativeOp(), y, delta); return;
            case ActivationKind.Elu: Binary(path, new EluDerivativeOp(a), y, delta); return;
            case ActivationKind.Softplus: Binary(path, new SoftplusDerivativeOp(), y, delta); return;
            default:
                throw new InvalidOperationException($"Activation {activation} has no element-wise derivative.");
        }
    }

    /// <summary>y = op(x) element-wise (x and y may be the same span) on the given path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Unary<TOp>(KernelPath path, TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryOp
    {
        if (y.Length < x.Length) ThrowShort();
        switch (path)
        {
            case KernelPath.Avx512: Simd512.Unary(op, x, y); return;
            case KernelPath.Avx2: Simd256.Unary(op, x, y); return;
            case KernelPath.Vector128:
            case KernelPath.Neon: Simd128.Unary(op, x, y); return;
            default:
                for (int i = 0; i < x.Length; i++) y[i] = op.Invoke(x[i]);
                return;
        }
    }

    /// <summary>d = op(y, d) element-wise on the given path.</summary>
    internal static void Binary<TOp>(KernelPath path, TOp op, ReadOnlySpan<float> y, Span<float> d) where TOp : struct, IBinaryOp
    {
        if (y.Length < d.Length) ThrowShort();
        switch (path)
        {
            case KernelPath.Avx512: Simd512.Binary(op, y, d); return;
            case KernelPath.Avx2: Simd256.Binary(op, y, d); return;
            case KernelPath.Vector128:
            case KernelPath.Neon: Simd128.Binary(op, y, d); return;
            default:
                for (int i = 0; i < d.Length; i++) d[i] = op.Invoke(y[i], d[i]);
                return;
        }
    }

    /// <summary>Row-wise softmax of a [rows x width] block, stable against overflow by subtracting the row maximum.</summary>
    public static void Softmax(Span<float> data, int width) => Softmax(KernelDispatch.Current, data, width);

    internal static void Softmax(KernelPath path, Span<float> data, int width) => Softmax(path, data, data, width);

    /// <summary>Row-wise softmax of x into y (x and y may be the same span; otherwise they must not overlap).</summary>
    internal static void Softmax(KernelPath path, ReadOnlySpan<float> x, Span<float> y, int width)
    {
        if (width <= 0 || x.Length % width != 0 || y.Length != x.Length) ThrowShort();
        switch (path)
        {
            case KernelPath.Avx512: Simd512.Softmax(x, y, width); return;
            case KernelPath.Avx2: Simd256.Softmax(x, y, width); return;
            case KernelPath.Vector128:
            case KernelPath.Neon: Simd128.Softmax(x, y, width); return;
        }
        x.CopyTo(y);
        Span<float> data = y;
        for (int r = 0; r < data.Length; r += width)
        {
            Span<float> row = data.Slice(r, width);
            float max = float.NegativeInfinity;
            foreach (float z in row) max = MathF.Max(max, z);
            if (float.IsPositiveInfinity(max))
            {
                SoftmaxInfiniteRow(row);
                continue;
            }
            double sum = 0;
            foreach (ref float z in row) { z = MathF.Exp(z - max); sum += z; }
            float inv = (float)(1.0 / sum);
            foreach (ref float z in row) z *= inv;
        }
    }

    /// <summary>A row whose maximum is +Inf: e^(Inf - Inf) would be NaN; the limit gives the infinite logits all the mass, shared equally.</summary>
    internal static void SoftmaxInfiniteRow(Span<float> row)
    {
        int count = 0;
        foreach (float z in row) if (float.IsPositiveInfinity(z)) count++;
        foreach (ref float z in row) z = float.IsPositiveInfinity(z) ? 1f / count : float.IsNaN(z) ? z : 0f;
    }

    /// <summary>Numerically stable logistic function: never evaluates e^z for large positive z.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float z)
    {
        if (z >= 0f) return (float)(1.0 / (1.0 + Math.Exp(-z)));
        double e = Math.Exp(z);
        return (float)(e / (1.0 + e));
    }

    /// <summary>ln(1 + e^z) as max(z, 0) + ln(1 + e^-|z|), which cannot overflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Softplus(float z)
    {
        if (float.IsNaN(z)) return z;
        // ln(1 + t) as ln(u) t / (u - 1), u = 1 + t rounded: exact to double precision even where 1 + t rounds to 1
        // (z below -37), so softplus(-90) = e^-90 instead of 0.
        double t = Math.Exp(-Math.Abs((double)z)), u = 1.0 + t;
        return (float)(Math.Max(z, 0.0) + (u == 1.0 ? t : Math.Log(u) * t / (u - 1.0)));
    }

    private static void ThrowShort() => throw new ArgumentException("Span lengths do not match the operation.");
}
