using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using FastMlp.Kernels;

namespace FastMlp;

/// <summary>
/// A read-only copy of a <see cref="Network"/>'s parameters laid out for one-sample latency: each layer's weights
/// transposed (input k's weights to every output contiguous), so that a sample goes through each layer as broadcast
/// multiply-adds into whole vectors of outputs, with no horizontal sums (<see cref="BroadcastGemv"/>). Made by
/// <see cref="Network.Freeze"/>.
/// </summary>
/// <remarks>
/// <para>The copy is taken when the network is frozen: later training or edits of the network do not reach it; freeze
/// again to pick them up. It is immutable, so any number of threads may predict with it at once.</para>
/// <para>Its outputs differ from the network's <see cref="Network.Predict"/> only in the last bits (another summation
/// order: each output's inputs in 4 interleaved chains), and are the same on every call and every thread. Paths that fuse
/// multiply-adds (AVX-512, AVX2, NEON) give the same bits as each other, as do the ones that do not (Vector128, scalar),
/// whenever the activations' element-wise operators agree across widths (ReLU, identity, step).</para>
/// <para>Measured on Zen 5 with AVX-512 it is faster than <see cref="Network.Predict"/> on every network benchmarked
/// (64-32-32-10 107 against 126 ns, 784-256-128-10 6.7 against 8.4 us); with AVX2 only on small networks (its large
/// layers there read one panel per pass and ran 1.4x slower: see perf-reports).</para>
/// </remarks>
public sealed class FrozenNetwork
{
    private readonly FrozenLayer[] _layers;
    private readonly AlignedBuffer _parameters;
    private readonly int _hiddenWidth; // widest hidden layer, padded to whole panels
    private readonly ThreadLocal<AlignedBuffer> _wideWorkspaces; // 64-byte aligned, as the stack buffers: whole-line vector stores

    internal FrozenNetwork(Network source)
    {
        DenseLayer[] layers = source.LayerArray;
        _layers = new FrozenLayer[layers.Length];
        long offset = 0;
        for (int i = 0; i < layers.Length; i++)
        {
            DenseLayer l = layers[i];
            int padded = BroadcastGemv.PaddedOutputs(l.Outputs);
            long biasOffset = offset + (long)l.Inputs * padded;
            if (biasOffset + padded > Array.MaxLength - AlignedBuffer.AlignmentFloats)
                throw new ArgumentException($"Layer {i} ({l.Inputs} x {l.Outputs}) does not fit a frozen copy: its transposed weights, padded to {padded} outputs, pass the largest array.", nameof(source));
            _layers[i] = new FrozenLayer(l.Inputs, l.Outputs, padded, (int)offset, (int)biasOffset, l.Activation);
            offset = biasOffset + padded;
        }
        _parameters = new AlignedBuffer((int)offset);
        Span<float> target = _parameters.Span;
        ReadOnlySpan<float> parameters = source.Parameters;
        for (int i = 0; i < layers.Length; i++)
        {
            DenseLayer l = layers[i];
            FrozenLayer f = _layers[i];
            for (int o = 0; o < l.Outputs; o++)
            {
                ReadOnlySpan<float> row = parameters.Slice(l.WeightOffset + o * l.Inputs, l.Inputs);
                Span<float> column = target.Slice(f.WeightOffset + (int)BroadcastGemv.PanelOffset(o, l.Inputs));
                for (int k = 0; k < l.Inputs; k++)
                    column[k * BroadcastGemv.PanelWidth] = row[k];
            }
            parameters.Slice(l.BiasOffset, l.Outputs).CopyTo(target.Slice(f.BiasOffset));
        }
        InputSize = source.InputSize;
        OutputSize = source.OutputSize;
        _hiddenWidth = BroadcastGemv.PaddedOutputs(source.HiddenWidth);
        _wideWorkspaces = new ThreadLocal<AlignedBuffer>(() => new AlignedBuffer(2 * _hiddenWidth + OutputSize));
    }

    /// <summary>Width of an input sample.</summary>
    public int InputSize { get; }

    /// <summary>Width of an output sample.</summary>
    public int OutputSize { get; }

    /// <summary>Runs one sample. Thread-safe; allocates nothing (networks with a hidden layer wider than 2048: after each thread's first call).</summary>
    /// <exception cref="ArgumentException"><paramref name="input"/> is not <see cref="InputSize"/> long or <paramref name="output"/> not <see cref="OutputSize"/>.</exception>
    [SkipLocalsInit]
    public void Predict(ReadOnlySpan<float> input, Span<float> output)
    {
        Shapes.RequireLength(input, InputSize, nameof(input));
        Shapes.RequireLength(output, OutputSize, nameof(output));
        Run(KernelDispatch.Current, input, output);
    }

    /// <summary>Runs one sample and returns the index of the largest output (for one output: 1 if it is &gt;= 0.5, else 0).</summary>
    [SkipLocalsInit]
    public int PredictClass(ReadOnlySpan<float> input)
    {
        if (OutputSize > OneSampleForward.StackWidth)
        {
            Span<float> wide = _wideWorkspaces.Value!.Span.Slice(2 * _hiddenWidth, OutputSize);
            Predict(input, wide);
            return Network.ArgMax(wide);
        }
        Span<float> output = stackalloc float[OutputSize];
        Predict(input, output);
        return Network.ArgMax(output);
    }

    /// <summary>One sample on the given path (tests compare paths without switching the process's); lengths checked by the caller.</summary>
    [SkipLocalsInit]
    internal void Run(KernelPath path, ReadOnlySpan<float> x, Span<float> y)
    {
        if (_hiddenWidth <= SmallBuffers.Width)
        {
            Unsafe.SkipInit(out SmallBuffers small);
            Span<float> all = AlignedBuffer.AlignStack(small, 2 * SmallBuffers.Width);
            Run(path, x, y, all.Slice(0, SmallBuffers.Width), all.Slice(SmallBuffers.Width));
        }
        else if (_hiddenWidth <= OneSampleForward.StackWidth)
        {
            Span<float> a = AlignedBuffer.AlignStack(stackalloc float[_hiddenWidth + AlignedBuffer.AlignmentFloats], _hiddenWidth);
            Span<float> b = AlignedBuffer.AlignStack(stackalloc float[_hiddenWidth + AlignedBuffer.AlignmentFloats], _hiddenWidth);
            Run(path, x, y, a, b);
        }
        else
        {
            Span<float> ws = _wideWorkspaces.Value!.Span;
            Run(path, x, y, ws.Slice(0, _hiddenWidth), ws.Slice(_hiddenWidth, _hiddenWidth));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Run(KernelPath path, ReadOnlySpan<float> x, Span<float> y, Span<float> a, Span<float> b)
    {
        ref float p = ref MemoryMarshal.GetReference(_parameters.Span);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pb = ref MemoryMarshal.GetReference(b);
        switch (path)
        {
            case KernelPath.Avx512: Run<Avx512GemmSimd, Vector512<float>>(path, ref p, ref px, ref py, ref pa, ref pb); break;
            case KernelPath.Avx2: Run<Avx2GemmSimd, Vector256<float>>(path, ref p, ref px, ref py, ref pa, ref pb); break;
            case KernelPath.Vector128: Run<Vector128GemmSimd, Vector128<float>>(path, ref p, ref px, ref py, ref pa, ref pb); break;
            case KernelPath.Neon: Run<NeonGemmSimd, Vector128<float>>(path, ref p, ref px, ref py, ref pa, ref pb); break;
            default: RunScalar(x, y, a, b); break;
        }
    }

    private void Run<T, TVec>(KernelPath path, ref float p, ref float x, ref float y, ref float a, ref float b)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        ref float current = ref x;
        for (int i = 0; i < _layers.Length; i++)
        {
            FrozenLayer l = _layers[i];
            bool last = i == _layers.Length - 1;
            ref float target = ref last ? ref y : ref (i % 2 == 0 ? ref a : ref b);
            ref float wt = ref Unsafe.Add(ref p, l.WeightOffset);
            ref float bias = ref Unsafe.Add(ref p, l.BiasOffset);
            if (l.Activation.Kind == ActivationKind.Softmax && l.Outputs <= T.Width)
            {
                // A classifier's output row of at most one vector: softmax in registers, stored once.
                if (!BroadcastGemv.Layer<T, TVec, SoftmaxMarker>(ref current, ref wt, ref bias, ref target, l.Inputs, l.Outputs, l.Outputs, default))
                    ActivationKernels.Softmax(path, MemoryMarshal.CreateSpan(ref target, l.Outputs), l.Outputs);
            }
            else
            {
                var layer = new VectorLayer<T, TVec>(ref current, ref wt, ref bias, ref target, l, last ? l.Outputs : l.PaddedOutputs);
                ActivationVisitor.Visit(l.Activation, ref layer);
                if (l.Activation.Kind == ActivationKind.Softmax)
                    ActivationKernels.Softmax(path, MemoryMarshal.CreateSpan(ref target, l.Outputs), l.Outputs);
            }
            current = ref target;
        }
    }

    private void RunScalar(ReadOnlySpan<float> x, Span<float> y, Span<float> a, Span<float> b)
    {
        ReadOnlySpan<float> p = _parameters.Span;
        ReadOnlySpan<float> current = x;
        for (int i = 0; i < _layers.Length; i++)
        {
            FrozenLayer l = _layers[i];
            Span<float> target = (i == _layers.Length - 1 ? y : i % 2 == 0 ? a : b).Slice(0, l.Outputs);
            var layer = new ScalarLayer(current, p.Slice(l.WeightOffset, l.Inputs * l.PaddedOutputs), p.Slice(l.BiasOffset, l.PaddedOutputs), target, l);
            ActivationVisitor.Visit(l.Activation, ref layer);
            if (l.Activation.Kind == ActivationKind.Softmax)
                ActivationKernels.Softmax(KernelPath.Scalar, target, l.Outputs);
            current = target;
        }
    }

    /// <summary>A layer of the frozen copy: W^T in <see cref="BroadcastGemv"/>'s panels at WeightOffset, b (PaddedOutputs floats) at BiasOffset.</summary>
    private readonly record struct FrozenLayer(int Inputs, int Outputs, int PaddedOutputs, int WeightOffset, int BiasOffset, Activation Activation);

    /// <summary>Runs one layer on a vector path with the activation's operator as a type argument.</summary>
    private readonly ref struct VectorLayer<T, TVec>(ref float x, ref float wt, ref float b, ref float y, FrozenLayer l, int stored) : IActivationVisitor
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        private readonly ref float _x = ref x, _wt = ref wt, _b = ref b, _y = ref y;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Visit<TOp>(TOp op) where TOp : struct, IUnaryOp =>
            BroadcastGemv.Layer<T, TVec, TOp>(ref _x, ref _wt, ref _b, ref _y, l.Inputs, l.Outputs, stored, op);
    }

    /// <summary>Runs one layer on the scalar path with the activation's operator as a type argument.</summary>
    private readonly ref struct ScalarLayer(ReadOnlySpan<float> x, ReadOnlySpan<float> wt, ReadOnlySpan<float> b, Span<float> y, FrozenLayer l) : IActivationVisitor
    {
        private readonly ReadOnlySpan<float> _x = x, _wt = wt, _b = b;
        private readonly Span<float> _y = y;

        public void Visit<TOp>(TOp op) where TOp : struct, IUnaryOp =>
            BroadcastGemv.LayerScalar(_x, _wt, _b, _y, l.Inputs, l.Outputs, op);
    }

    /// <summary>
    /// The two hidden buffers of a network whose hidden layers are at most <see cref="Width"/> wide, as a fixed-size local:
    /// a stackalloc of a run-time length costs a stack probe loop and two alignments per call (4-4 network, Zen 5:
    /// 16.5 against 15.0 ns).
    /// </summary>
    [InlineArray(2 * Width + AlignedBuffer.AlignmentFloats)]
    private struct SmallBuffers
    {
        public const int Width = 128;
        private float _first;
    }
}
