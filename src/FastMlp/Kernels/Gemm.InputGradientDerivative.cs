using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

/// <summary>No epilogue on the outer-product kernel (weight gradients, the plain input gradient): d stays d.</summary>
internal readonly struct NoDerivativeOp : IBinaryOp
{
    public float Invoke(float y, float d) => d;
    public Quad128 Invoke(Quad128 y, Quad128 d) => d;
    public Quad256 Invoke(Quad256 y, Quad256 d) => d;
    public Quad512 Invoke(Quad512 y, Quad512 d) => d;
}

// The backward step of a hidden layer in one pass: the input gradient with the activation derivative of the layer below as
// the outer-product kernel's epilogue, instead of a product and then ActivationKernels.MultiplyDerivative over dx.
internal static partial class Gemm
{
    /// <summary>
    /// dx[r, i] = (sum_o dy[r, o] w[o, i]) * f'(u[r, i]), with f' recovered from y[r, i] = f(u[r, i]) (the activations of
    /// the layer below), on the current kernel path: bitwise what <see cref="InputGradient"/> followed by
    /// <see cref="ActivationKernels.MultiplyDerivative(Activation, ReadOnlySpan{float}, Span{float})"/> stores. The derivative
    /// is applied to each tile of dx in registers on its final store (after the last reduction chunk).
    /// </summary>
    /// <exception cref="InvalidOperationException">f is softmax or a step (no element-wise derivative).</exception>
    public static void InputGradientTimesDerivative(Activation f, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, ReadOnlySpan<float> y,
        Span<float> dx, int rows, int inputs, int outputs) =>
        InputGradientTimesDerivative(KernelDispatch.Current, f, dy, w, y, dx, rows, inputs, outputs);

    /// <summary><see cref="InputGradientTimesDerivative(Activation, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int)"/> on the given path.</summary>
    internal static void InputGradientTimesDerivative(KernelPath path, Activation f, ReadOnlySpan<float> dy, ReadOnlySpan<float> w,
        ReadOnlySpan<float> y, Span<float> dx, int rows, int inputs, int outputs)
    {
        // The same operator for each kind as ActivationKernels.MultiplyDerivative: that is what makes the results identical.
        float a = f.Parameter;
        switch (f.Kind)
        {
            case ActivationKind.Identity: InputGradientWith(path, new NoDerivativeOp(), dy, w, y, dx, rows, inputs, outputs); return;
            case ActivationKind.Relu: InputGradientWith(path, new LeakyReluDerivativeOp(0f), dy, w, y, dx, rows, inputs, outputs); return;
            case ActivationKind.LeakyRelu: InputGradientWith(path, new LeakyReluDerivativeOp(a), dy, w, y, dx, rows, inputs, outputs); return;
            case ActivationKind.Sigmoid: InputGradientWith(path, new SigmoidDerivativeOp(), dy, w, y, dx, rows, inputs, outputs); return;
            case ActivationKind.Tanh: InputGradientWith(path, new TanhDerivativeOp(), dy, w, y, dx, rows, inputs, outputs); return;
            case ActivationKind.Elu: InputGradientWith(path, new EluDerivativeOp(a), dy, w, y, dx, rows, inputs, outputs); return;
            case ActivationKind.Softplus: InputGradientWith(path, new SoftplusDerivativeOp(), dy, w, y, dx, rows, inputs, outputs); return;
            default:
                throw new InvalidOperationException($"Activation {f} has no element-wise derivative.");
        }
    }

    /// <summary>dx = epi(y, dy W) on one path; epi is a type argument, so each derivative is its own compiled kernel.</summary>
    internal static void InputGradientWith<TEpi>(KernelPath path, TEpi epi, ReadOnlySpan<float> dy, ReadOnlySpan<float> w,
        ReadOnlySpan<float> y, Span<float> dx, int rows, int inputs, int outputs) where TEpi : struct, IBinaryOp
    {
        switch (path)
        {
            case KernelPath.Avx512: InputGradientWithSimd<Avx512GemmSimd, Vector512<float>, TEpi>(path, epi, dy, w, y, dx, rows, inputs, outputs); break;
            case KernelPath.Avx2: InputGradientWithSimd<Avx2GemmSimd, Vector256<float>, TEpi>(path, epi, dy, w, y, dx, rows, inputs, outputs); break;
            case KernelPath.Vector128: InputGradientWithSimd<Vector128GemmSimd, Vector128<float>, TEpi>(path, epi, dy, w, y, dx, rows, inputs, outputs); break;
            case KernelPath.Neon: InputGradientWithSimd<NeonGemmSimd, Vector128<float>, TEpi>(path, epi, dy, w, y, dx, rows, inputs, outputs); break;
            default: InputGradientWithScalar(epi, dy, w, y, dx, rows, inputs, outputs); break;
        }
    }

    private static void InputGradientWithSimd<T, TVec, TEpi>(KernelPath path, TEpi epi, ReadOnlySpan<float> dy, ReadOnlySpan<float> w,
        ReadOnlySpan<float> y, Span<float> dx, int rows, int inputs, int outputs)
        where T : struct, IGemmSimd<TVec> where TVec : struct where TEpi : struct, IBinaryOp
    {
        CheckInputGradient(dy, w, dx, rows, inputs, outputs);
        CheckLength(y.Length, (long)rows * inputs, nameof(y));
        if (rows <= 1 || outputs == 0 || typeof(TEpi) == typeof(NoDerivativeOp))
        {
            // One row is the input GEMV (no epilogue of its own); an empty reduction has no final chunk to carry one.
            InputGradientSimd<T, TVec>(dy, w, dx, rows, inputs, outputs);
            if (typeof(TEpi) != typeof(NoDerivativeOp))
                ActivationKernels.Binary(path, epi, y.Slice(0, rows * inputs), dx.Slice(0, rows * inputs));
            return;
        }
        ref float pdx = ref MemoryMarshal.GetReference(dx);
        OuterProduct<T, TVec, TEpi>(ref MemoryMarshal.GetReference(dy), outputs, 1, ref MemoryMarshal.GetReference(w),
            ref pdx, rows, inputs, outputs, accumulate: false, ref MemoryMarshal.GetReference(y), epi);
    }

    /// <summary>Scalar reference: <see cref="InputGradientScalar"/>'s sums, then epi.Invoke per element of the row (the scalar operator).</summary>
    private static void InputGradientWithScalar<TEpi>(TEpi epi, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, ReadOnlySpan<float> y,
        Span<float> dx, int rows, int inputs, int outputs) where TEpi : struct, IBinaryOp
    {
        CheckInputGradient(dy, w, dx, rows, inputs, outputs);
        CheckLength(y.Length, (long)rows * inputs, nameof(y));
        for (int r = 0; r < rows; r++)
        {
            Span<float> dxr = dx.Slice(r * inputs, inputs);
            dxr.Clear();
            for (int o = 0; o < outputs; o++)
            {
                float g = dy[r * outputs + o];
                ReadOnlySpan<float> wo = w.Slice(o * inputs, inputs);
                for (int i = 0; i < inputs; i++)
                    dxr[i] += g * wo[i];
            }
            // The row is still in L1: its derivative now, not in a second sweep over the whole batch.
            ReadOnlySpan<float> yr = y.Slice(r * inputs, inputs);
            for (int i = 0; i < inputs; i++)
                dxr[i] = epi.Invoke(yr[i], dxr[i]);
        }
    }
}
