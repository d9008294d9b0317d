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
            if (l.Activation.Kind == ActivationKind.Softmax && l.Outputs <= T.Width)
            {
                // A classifier's output row of at most one vector: softmax in registers, stored once.
                if (!Gemm.GemvSoftmax<T, TVec>(ref current, ref w, ref bias, ref target, l.Inputs, l.Outputs))
                    ActivationKernels.Softmax(path, MemoryMarshal.CreateSpan(ref target, l.Outputs), l.Outputs);
            }
            else
            {
                var layer = new VectorLayer<T, TVec>(ref current, ref w, ref bias, ref target, l);
                ActivationVisitor.Visit(l.Activation, ref layer);
                if (l.Activation.Kind == ActivationKind.Softmax)
                    ActivationKernels.Softmax(path, MemoryMarshal.CreateSpan(ref target, l.Outputs), l.Outputs);
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
            var layer = new ScalarLayer(current, w, bias, target, l);
            ActivationVisitor.Visit(l.Activation, ref layer);
            if (l.Activation.Kind == ActivationKind.Softmax)
                ActivationKernels.Softmax(KernelPath.Scalar, target, l.Outputs);
            current = target;
        }
    }

    /// <summary>Runs one layer on a vector path with the activation's operator as a type argument.</summary>
    private readonly ref struct VectorLayer<T, TVec>(ref float x, ref float w, ref float b, ref float y, DenseLayer l) : IActivationVisitor
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        private readonly ref float _x = ref x, _w = ref w, _b = ref b, _y = ref y;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Visit<TOp>(TOp op) where TOp : struct, IUnaryOp =>
            Gemm.GemvBlocks<T, TVec, TOp>(ref _x, ref _w, ref _b, ref _y, l.Inputs, l.Outputs, op);
    }

    /// <summary>Runs one layer on the scalar path with the activation's operator as a type argument.</summary>
    private readonly ref struct ScalarLayer(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, DenseLayer l) : IActivationVisitor
    {
        private readonly ReadOnlySpan<float> _x = x, _w = w, _b = b;
        private readonly Span<float> _y = y;

        public void Visit<TOp>(TOp op) where TOp : struct, IUnaryOp => Gemm.GemvScalar(_x, _w, _b, _y, l.Inputs, l.Outputs, op);
    }
}
