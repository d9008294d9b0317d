using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

/// <summary>
/// Activation values (in place) and the backward step delta *= f'(u), where f' is recovered from
/// the activated value y = f(u) so the forward pass never has to keep u:
/// sigmoid y(1-y); tanh 1-y^2; ReLU [y&gt;0]; leaky ReLU y&gt;0 ? 1 : a; ELU y&gt;0 ? 1 : y+a;
/// softplus 1-e^-y (= sigmoid(u)); identity 1.
/// Transcendentals are computed in double in this portable path, which makes it the accuracy
/// reference for the vectorised polynomial versions.
/// </summary>
internal static class ActivationKernels
{
    /// <summary>Applies the activation in place to a [rows x width] block.</summary>
    public static void Apply(Activation activation, Span<float> data, int width)
    {
        switch (activation.Kind)
        {
            case ActivationKind.Identity: return;
            case ActivationKind.Relu: LeakyRelu(data, 0f); return;
            case ActivationKind.LeakyRelu: LeakyRelu(data, activation.Parameter); return;
            case ActivationKind.Softmax: Softmax(data, width); return;
        }
        float a = activation.Parameter;
        switch (activation.Kind)
        {
            case ActivationKind.Step:
                foreach (ref float z in data) z = z >= 0f ? 1f : float.IsNaN(z) ? z : 0f;
                break;
            case ActivationKind.BipolarStep:
                foreach (ref float z in data) z = z >= 0f ? 1f : float.IsNaN(z) ? z : -1f;
                break;
            case ActivationKind.Sigmoid:
                foreach (ref float z in data) z = Sigmoid(z);
                break;
            case ActivationKind.Tanh:
                foreach (ref float z in data) z = MathF.Tanh(z);
                break;
            case ActivationKind.Elu:
                foreach (ref float z in data) z = z > 0f ? z : (float)(a * (Math.Exp(z) - 1.0));
                break;
            case ActivationKind.Softplus:
                foreach (ref float z in data) z = Softplus(z);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>delta[i] *= f'(u[i]), with f' computed from y[i] = f(u[i]). Softmax and steps are not handled here.</summary>
    public static void MultiplyDerivative(Activation activation, ReadOnlySpan<float> y, Span<float> delta)
    {
        int n = delta.Length;
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pd = ref MemoryMarshal.GetReference(delta);
        float a = activation.Parameter;
        switch (activation.Kind)
        {
            case ActivationKind.Identity:
                return;
            case ActivationKind.Relu:
            case ActivationKind.LeakyRelu:
                LeakyReluDerivative(y, delta, activation.Kind == ActivationKind.Relu ? 0f : a);
                return;
            case ActivationKind.Sigmoid:
                for (int i = 0; i < n; i++) { float v = Unsafe.Add(ref py, i); Unsafe.Add(ref pd, i) *= v * (1f - v); }
                return;
            case ActivationKind.Tanh:
                for (int i = 0; i < n; i++) { float v = Unsafe.Add(ref py, i); Unsafe.Add(ref pd, i) *= 1f - v * v; }
                return;
            case ActivationKind.Elu:
                for (int i = 0; i < n; i++) { float v = Unsafe.Add(ref py, i); Unsafe.Add(ref pd, i) *= v > 0f ? 1f : v + a; }
                return;
            case ActivationKind.Softplus:
                for (int i = 0; i < n; i++) Unsafe.Add(ref pd, i) *= SoftplusDerivativeFromValue(Unsafe.Add(ref py, i));
                return;
            default:
                throw new InvalidOperationException($"Activation {activation} has no element-wise derivative.");
        }
    }

    /// <summary>Row-wise softmax of a [rows x width] block, stable against overflow by subtracting the row maximum.</summary>
    public static void Softmax(Span<float> data, int width)
    {
        for (int r = 0; r < data.Length; r += width)
        {
            Span<float> row = data.Slice(r, width);
            float max = float.NegativeInfinity;
            foreach (float z in row) max = MathF.Max(max, z);
            if (float.IsPositiveInfinity(max))
            {
                // e^(Inf - Inf) would be NaN: the limit gives the infinite logits all the mass, shared equally.
                int count = 0;
                foreach (float z in row) if (float.IsPositiveInfinity(z)) count++;
                foreach (ref float z in row) z = float.IsPositiveInfinity(z) ? 1f / count : float.IsNaN(z) ? z : 0f;
                continue;
            }
            double sum = 0;
            foreach (ref float z in row) { z = MathF.Exp(z - max); sum += z; }
            float inv = (float)(1.0 / sum);
            foreach (ref float z in row) z *= inv;
        }
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
    public static float Softplus(float z) =>
        float.IsNaN(z) ? z : (float)(Math.Max(z, 0.0) + Math.Log(1.0 + Math.Exp(-Math.Abs((double)z))));

    /// <summary>sigmoid(u) from y = softplus(u): 1 - e^-y, with a series near 0 where the subtraction cancels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float SoftplusDerivativeFromValue(float y)
    {
        double v = y;
        return (float)(v < 1e-4 ? v * (1.0 - 0.5 * v) : 1.0 - Math.Exp(-v));
    }

    private static void LeakyRelu(Span<float> data, float slope)
    {
        int n = data.Length;
        ref float p = ref MemoryMarshal.GetReference(data);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vs = new Vector<float>(slope);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> v = VectorOps.Load(ref p, i);
                // NaN compares false, so it passes through unchanged (same as the scalar tail).
                // slope 0 selects a true zero so that ReLU(-Inf) is 0, not -Inf * 0 = NaN.
                Vector<float> negative = slope == 0f ? Vector<float>.Zero : v * vs;
                VectorOps.Store(Vector.ConditionalSelect(Vector.LessThanOrEqual(v, Vector<float>.Zero), negative, v), ref p, i);
            }
        }
        for (; i < n; i++)
        {
            float v = Unsafe.Add(ref p, i);
            if (v <= 0f) Unsafe.Add(ref p, i) = slope == 0f ? 0f : v * slope;
        }
    }

    private static void LeakyReluDerivative(ReadOnlySpan<float> y, Span<float> delta, float slope)
    {
        int n = delta.Length;
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pd = ref MemoryMarshal.GetReference(delta);
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vs = new Vector<float>(slope);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> d = VectorOps.Load(ref pd, i);
                Vector<float> v = VectorOps.Load(ref py, i);
                VectorOps.Store(Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<float>.Zero), d, d * vs), ref pd, i);
            }
        }
        for (; i < n; i++)
        {
            if (!(Unsafe.Add(ref py, i) > 0f)) Unsafe.Add(ref pd, i) *= slope;
        }
    }
}
