using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

// Forward with the activation as the GEMM's epilogue: one pass over y instead of a product and then an element-wise pass.
internal static partial class Gemm
{
    /// <summary>
    /// y = f(x W^T + b) on the current kernel path: bitwise what <see cref="Forward"/> followed by
    /// <see cref="ActivationKernels.Apply(Activation, Span{float}, int)"/> stores, in one sweep: the compare-and-select
    /// activations are applied to each output tile in registers before it is stored, the transcendental ones to each block
    /// of rows as soon as it is finished (see ForwardWithSimd). Softmax, a row operation, runs over the finished rows afterwards.
    /// </summary>
    /// <remarks>
    /// Not what <see cref="Network"/> runs: on Zen 4 (Avx512, one thread, 784-256-128-10 at batch 256) the fused ReLU forward
    /// measured 3-7 % slower than the product followed by the activation pass (1184-1212 us against 1134-1156 us; the
    /// activation pass touches at most 256 KB, all in L2), so the layers keep the two passes until a quieter machine
    /// or another CPU says otherwise. Tested bitwise against the two passes on every path, ready to be switched on.
    /// </remarks>
    public static void ForwardActivated(Activation activation, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs) =>
        ForwardActivated(KernelDispatch.Current, activation, x, w, b, y, rows, inputs, outputs);

    /// <summary><see cref="ForwardActivated(Activation, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int)"/> on the given path.</summary>
    internal static void ForwardActivated(KernelPath path, Activation activation, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> b, Span<float> y, int rows, int inputs, int outputs)
    {
        // The same operator for each kind as ActivationKernels.Apply: that is what makes the results identical.
        float a = activation.Parameter;
        switch (activation.Kind)
        {
            case ActivationKind.Identity: ForwardWith(path, new NoActivationOp(), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.Relu: ForwardWith(path, new LeakyReluOp(0f), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.LeakyRelu: ForwardWith(path, new LeakyReluOp(a), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.Step: ForwardWith(path, new StepOp(0f), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.BipolarStep: ForwardWith(path, new StepOp(-1f), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.Sigmoid: ForwardWith(path, new SigmoidOp(), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.Tanh: ForwardWith(path, new TanhOp(), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.Elu: ForwardWith(path, new EluOp(a), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.Softplus: ForwardWith(path, new SoftplusOp(), x, w, b, y, rows, inputs, outputs); return;
            case ActivationKind.Softmax:
                ForwardWith(path, new NoActivationOp(), x, w, b, y, rows, inputs, outputs);
                if (rows > 0) ActivationKernels.Softmax(path, y.Slice(0, rows * outputs), outputs);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation.");
        }
    }

    /// <summary>y = op(x W^T + b) on one path; op is a type argument, so each activation is its own compiled kernel.</summary>
    internal static void ForwardWith<TOp>(KernelPath path, TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs) where TOp : struct, IUnaryOp
    {
        switch (path)
        {
            case KernelPath.Avx512: ForwardWithSimd<Avx512GemmSimd, Vector512<float>, TOp>(path, op, x, w, b, y, rows, inputs, outputs); break;
            case KernelPath.Avx2: ForwardWithSimd<Avx2GemmSimd, Vector256<float>, TOp>(path, op, x, w, b, y, rows, inputs, outputs); break;
            case KernelPath.Vector128: ForwardWithSimd<Vector128GemmSimd, Vector128<float>, TOp>(path, op, x, w, b, y, rows, inputs, outputs); break;
            case KernelPath.Neon: ForwardWithSimd<NeonGemmSimd, Vector128<float>, TOp>(path, op, x, w, b, y, rows, inputs, outputs); break;
            default: ForwardWithScalar(op, x, w, b, y, rows, inputs, outputs); break;
        }
    }

    /// <summary>
    /// The compare-and-select activations (ReLU, leaky ReLU, steps) are applied to each dot tile in registers. The
    /// transcendental ones (sigmoid, tanh, ELU, softplus) are a chain of 20-40 dependent instructions: on one vector per
    /// tile their latency showed (a 256 x 784 x 256 forward with sigmoid took 10-20 % longer than two passes), so they run
    /// over each block of rows right after the block's products, while it is still in L2, four vectors at a time as the
    /// element-wise kernels do. Either way every element gets the same operator, so the results are the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardWithSimd<T, TVec, TOp>(KernelPath path, TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> w,
        ReadOnlySpan<float> b, Span<float> y, int rows, int inputs, int outputs)
        where T : struct, IGemvSimd<TVec> where TVec : struct where TOp : struct, IUnaryOp
    {
        CheckForward(x, w, b, y, rows, inputs, outputs);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float pw = ref MemoryMarshal.GetReference(w);
        ref float pb = ref MemoryMarshal.GetReference(b);
        ref float py = ref MemoryMarshal.GetReference(y);
        // One row is the GEMV, which already applies an operator in registers (the one-sample network path uses it so).
        if (rows == 1)
        {
            GemvBlocks<T, TVec, TOp>(ref px, ref pw, ref pb, ref py, inputs, outputs, op);
            return;
        }
        bool inRegisters = typeof(TOp) == typeof(NoActivationOp) || typeof(TOp) == typeof(LeakyReluOp) || typeof(TOp) == typeof(StepOp);
        if (inRegisters)
        {
            DotForward<T, TVec, TOp>(ref px, ref pw, ref pb, ref py, rows, inputs, outputs, op);
            return;
        }
        // Blocks of about 256 KiB of X (the 4-output tiles' own row block), so that the finished rows are still in L2 for the
        // activation; on Avx512 each block re-packs the W panels (the wide tile's own blocks are larger). A row's results do
        // not depend on the blocking.
        int block = ForwardRowBlock(T.DotRows, rows, PackedStride(inputs));
        for (int r0 = 0; r0 < rows; r0 += block)
        {
            int n = Math.Min(block, rows - r0);
            DotForward<T, TVec, NoActivationOp>(ref Unsafe.Add(ref px, (nint)r0 * inputs), ref pw, ref pb, ref Unsafe.Add(ref py, (nint)r0 * outputs),
                n, inputs, outputs, default);
            Span<float> done = y.Slice(r0 * outputs, n * outputs);
            ActivationKernels.Unary(path, op, done, done);
        }
    }

    /// <summary>Scalar reference: <see cref="ForwardScalar"/>'s sums, then op.Invoke per output (the scalar Apply's operator).</summary>
    private static void ForwardWithScalar<TOp>(TOp op, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs) where TOp : struct, IUnaryOp
    {
        CheckForward(x, w, b, y, rows, inputs, outputs);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * inputs, inputs);
            for (int o = 0; o < outputs; o++)
            {
                ReadOnlySpan<float> wo = w.Slice(o * inputs, inputs);
                float sum = 0f;
                for (int i = 0; i < inputs; i++)
                    sum += xr[i] * wo[i];
                y[r * outputs + o] = op.Invoke(b[o] + sum);
            }
        }
    }
}
