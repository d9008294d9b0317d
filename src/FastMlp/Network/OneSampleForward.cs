using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FastMlp.Kernels;

namespace FastMlp;

/// <summary>
/// The latency path: one sample through every layer in one call, with no per-layer dispatch, shape checks or
/// workspace lookup. The kernel path is read once; each layer is one <see cref="Gemm.GemvBlocks"/> call with the
/// activation applied while the outputs are in registers (softmax, a row operation, too when the row fits one vector:
/// <see cref="Gemm.GemvSoftmax"/>; a longer row runs on the stored row through
/// <see cref="ActivationKernels.Softmax(KernelPath, Span{float}, int)"/>). The hidden activations live in two caller
/// buffers (the stack, for the networks <see cref="Network.Predict"/> serves). Every output is summed in the batched
/// kernel's order and activated by the same element-wise operators, so the result equals row r of a batched
/// <see cref="Network.Forward(CommunityToolkit.HighPerformance.ReadOnlySpan2D{float}, CommunityToolkit.HighPerformance.Span2D{float})"/> bitwise.
/// </summary>
internal static class OneSampleForward
{
    /// <summary>Widest hidden layer whose activations <see cref="Network.Predict"/> keeps on the stack (2 x 8 KiB).</summary>
    public const int StackWidth = 2048;

    /// <summary>
    /// y = network(x) for one sample. <paramref name="a"/> and <paramref name="b"/> hold the widest hidden layer each;
    /// lengths are the caller's to check (all entry points have).
    /// </summary>
    public static void Run(DenseLayer[] layers, ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, Span<float> a, Span<float> b) =>
        Run(KernelDispatch.Current, layers, parameters, x, y, a, b);

    /// <summary><see cref="Run(DenseLayer[], ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, Span{float})"/> on the given path (tests compare paths without switching the process's).</summary>
    internal static void Run(KernelPath path, DenseLayer[] layers, ReadOnlySpan<float> parameters, ReadOnlySpan<float> x, Span<float> y, Span<float> a, Span<float> b)
    {
        ref float p = ref MemoryMarshal.GetReference(parameters);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pb = ref MemoryMarshal.GetReference(b);
        switch (path)
        {
            case KernelPath.Avx512: Run<Avx512GemmSimd, Vector512<float>>(KernelPath.Avx512, layers, ref p, ref px, ref py, ref pa, ref pb); break;
            case KernelPath.Avx2: Run<Avx2GemmSimd, Vector256<float>>(KernelPath.Avx2, layers, ref p, ref px, ref py, ref pa, ref pb); break;
            case KernelPath.Vector128: Run<Vector128GemmSimd, Vector128<float>>(KernelPath.Vector128, layers, ref p, ref px, ref py, ref pa, ref pb); break;
            case KernelPath.Neon: Run<NeonGemmSimd, Vector128<float>>(KernelPath.Neon, layers, ref p, ref px, ref py, ref pa, ref pb); break;
            default: RunScalar(layers, parameters, x, y, a, b); break;
        }
    }

    private static void Run<T, TVec>(KernelPath path, DenseLayer[] layers, ref float p, ref float x, ref float y, ref float a, ref float b)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        ref float current = ref x;
        for (int i = 0; i < layers.Length; i++)
        {
            DenseLayer l = layers[i];
            ref float target = ref i == layers.Length - 1 ? ref y : ref (i % 2 == 0 ? ref a : ref b);
            ref float w = ref Unsafe.Add(ref p, l.WeightOffset);
            ref float bias = ref Unsafe.Add(ref p, l.BiasOffset);
            Activation f = l.Activation;
            switch (f.Kind)
            {
                case ActivationKind.Relu: Gemm.GemvBlocks<T, TVec, LeakyReluOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, new LeakyReluOp(0f)); break;
                case ActivationKind.LeakyRelu: Gemm.GemvBlocks<T, TVec, LeakyReluOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, new LeakyReluOp(f.Parameter)); break;
                case ActivationKind.Sigmoid: Gemm.GemvBlocks<T, TVec, SigmoidOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, default); break;
                case ActivationKind.Tanh: Gemm.GemvBlocks<T, TVec, TanhOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, default); break;
                case ActivationKind.Step: Gemm.GemvBlocks<T, TVec, StepOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, new StepOp(0f)); break;
                case ActivationKind.BipolarStep: Gemm.GemvBlocks<T, TVec, StepOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, new StepOp(-1f)); break;
                case ActivationKind.Elu: Gemm.GemvBlocks<T, TVec, EluOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, new EluOp(f.Parameter)); break;
                case ActivationKind.Softplus: Gemm.GemvBlocks<T, TVec, SoftplusOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, default); break;
                // A classifier's output row of at most one vector: softmax in registers, stored once.
                case ActivationKind.Softmax when l.Outputs <= T.Width:
                    if (!Gemm.GemvSoftmax<T, TVec>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs))
                        ActivationKernels.Softmax(path, MemoryMarshal.CreateSpan(ref target, l.Outputs), l.Outputs);
                    break;
                case ActivationKind.Identity:
                case ActivationKind.Softmax:
                    Gemm.GemvBlocks<T, TVec, NoActivationOp>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs, default);
                    if (f.Kind == ActivationKind.Softmax)
                        ActivationKernels.Softmax(path, MemoryMarshal.CreateSpan(ref target, l.Outputs), l.Outputs);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(layers), f, "Unknown activation.");
            }
            current = ref target;
        }
    }

    private static void RunScalar(DenseLayer[] layers, ReadOnlySpan<float> p, ReadOnlySpan<float> x, Span<float> y, Span<float> a, Span<float> b)
    {
        ReadOnlySpan<float> current = x;
        for (int i = 0; i < layers.Length; i++)
        {
            DenseLayer l = layers[i];
            Span<float> target = (i == layers.Length - 1 ? y : i % 2 == 0 ? a : b).Slice(0, l.Outputs);
            ReadOnlySpan<float> w = p.Slice(l.WeightOffset, l.WeightCount), bias = p.Slice(l.BiasOffset, l.Outputs);
            Activation f = l.Activation;
            switch (f.Kind)
            {
                case ActivationKind.Relu: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new LeakyReluOp(0f)); break;
                case ActivationKind.LeakyRelu: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new LeakyReluOp(f.Parameter)); break;
                case ActivationKind.Sigmoid: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new SigmoidOp()); break;
                case ActivationKind.Tanh: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new TanhOp()); break;
                case ActivationKind.Step: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new StepOp(0f)); break;
                case ActivationKind.BipolarStep: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new StepOp(-1f)); break;
                case ActivationKind.Elu: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new EluOp(f.Parameter)); break;
                case ActivationKind.Softplus: Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new SoftplusOp()); break;
                case ActivationKind.Identity:
                case ActivationKind.Softmax:
                    Gemm.GemvScalar(current, w, bias, target, l.Inputs, l.Outputs, new NoActivationOp());
                    if (f.Kind == ActivationKind.Softmax)
                        ActivationKernels.Softmax(KernelPath.Scalar, target, l.Outputs);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(layers), f, "Unknown activation.");
            }
            current = target;
        }
    }
}
