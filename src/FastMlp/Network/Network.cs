using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using FastMlp.Kernels;
using FastMlp.Threading;

namespace FastMlp;

/// <summary>
/// A multilayer perceptron: dense layers u = W y + b, y = f(u), with every weight and bias in one
/// contiguous, 64-byte aligned float buffer (layout documented on <see cref="DenseLayer"/>).
/// </summary>
/// <remarks>
/// Inference (<see cref="Forward(ReadOnlySpan2D{float}, Span2D{float})"/>, <see cref="Predict"/>) is thread-safe and allocates nothing after a
/// thread's first call: each calling thread gets its own small workspace. Changing the parameters
/// while other threads predict is the caller's race to avoid.
/// </remarks>
public sealed class Network
{
    /// <summary>Rows processed per block by batched inference; bounds the workspace.</summary>
    internal const int InferenceBlockRows = 64;

    /// <summary>Largest parameter buffer a network may have (floats); guards absurd architectures.</summary>
    public const int MaxParameterCount = 1 << 28;

    private readonly DenseLayer[] _layers;
    private readonly AlignedBuffer _parameters;
    private readonly ThreadLocal<InferenceWorkspace> _workspaces;
    private readonly ParallelForwardJob _parallelForward;

    /// <summary>Builds a network with the given input width and layers (the last is the output layer). Parameters start at zero.</summary>
    /// <exception cref="ArgumentException">Non-positive sizes, no layers, softmax before the output layer, or a buffer over <see cref="MaxParameterCount"/>.</exception>
    public Network(int inputSize, params ReadOnlySpan<LayerSpec> layers)
    {
        if (inputSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputSize), inputSize, "The input size must be positive.");
        if (layers.Length == 0)
            throw new ArgumentException("A network needs at least one layer.", nameof(layers));

        _layers = new DenseLayer[layers.Length];
        long offset = 0;
        int inputs = inputSize;
        for (int i = 0; i < layers.Length; i++)
        {
            LayerSpec spec = layers[i];
            if (spec.Units <= 0)
                throw new ArgumentOutOfRangeException(nameof(layers), spec.Units, $"Layer {i} has {spec.Units} units; every layer needs at least one.");
            if (spec.Activation.Kind == ActivationKind.Softmax && i != layers.Length - 1)
                throw new ArgumentException($"Layer {i} uses softmax, which is only allowed on the output layer.", nameof(layers));
            if (spec.Activation.Kind == ActivationKind.Softmax && spec.Units < 2)
                throw new ArgumentException($"Layer {i} uses softmax with {spec.Units} unit; softmax needs at least 2 outputs (use sigmoid for one).", nameof(layers));
            long weightOffset = offset;
            long biasOffset = weightOffset + RoundUp((long)spec.Units * inputs);
            offset = biasOffset + RoundUp(spec.Units);
            if (offset > MaxParameterCount)
                throw new ArgumentException($"The network needs more than {MaxParameterCount} parameters (layer {i}: {inputs} x {spec.Units}).", nameof(layers));
            _layers[i] = new DenseLayer(i, inputs, spec.Units, spec.Activation, (int)weightOffset, (int)biasOffset);
            inputs = spec.Units;
        }

        InputSize = inputSize;
        OutputSize = inputs;
        MaxWidth = Math.Max(inputSize, _layers.Max(l => l.Outputs));
        HiddenWidth = _layers.Length == 1 ? 0 : _layers.Take(_layers.Length - 1).Max(l => l.Outputs);
        _rowByRow = _layers.All(l => l.Inputs >= RowByRowMinInputs && l.Inputs <= RowByRowMaxWidth && l.Outputs <= RowByRowMaxWidth);
        ParameterCount = _layers.Sum(l => l.WeightCount + l.Outputs);
        _parameters = new AlignedBuffer((int)offset);
        _workspaces = new ThreadLocal<InferenceWorkspace>(() => new InferenceWorkspace(MaxWidth));
        _parallelForward = new ParallelForwardJob(this);
    }

    /// <summary>Width of an input sample.</summary>
    public int InputSize { get; }
    /// <summary>Width of an output sample.</summary>
    public int OutputSize { get; }
    /// <summary>The layers, first hidden layer first.</summary>
    public IReadOnlyList<DenseLayer> Layers => _layers;
    /// <summary>The layers as an array, for hot loops (interface enumeration would allocate).</summary>
    internal DenseLayer[] LayerArray => _layers;
    /// <summary>Number of weights and biases (excluding alignment padding).</summary>
    public int ParameterCount { get; }
    /// <summary>Length of <see cref="Parameters"/>: the parameters plus alignment padding (which stays zero).</summary>
    public int BufferLength => _parameters.Length;
    /// <summary>Widest layer or input, in floats.</summary>
    internal int MaxWidth { get; }
    /// <summary>Widest hidden layer (0 for a single-layer network): the activations one sample needs in flight.</summary>
    internal int HiddenWidth { get; }

    /// <summary>
    /// Batched inference of networks whose layers are all at most this wide, with at least <see cref="RowByRowMinInputs"/>
    /// inputs each, runs one sample at a time through <see cref="OneSampleForward"/>: on such layers the batched kernel's
    /// 4 x 4 tiles and per-output horizontal sums cost more than the one-sample block reduction (64-32-32-10: 99 us
    /// instead of 110 us per 256 rows), while on layers narrower than a vector (2-3-2) the per-row calls cost more than
    /// they save (35 us instead of 30 us). Measured in perf-reports; either way every row is bitwise the same.
    /// </summary>
    internal const int RowByRowMaxWidth = 64;

    /// <summary>Fewest inputs per layer for the row-by-row batched path (one AVX-512 vector).</summary>
    internal const int RowByRowMinInputs = 16;

    private readonly bool _rowByRow;
    /// <summary>The output layer.</summary>
    public DenseLayer OutputLayer => _layers[^1];

    /// <summary>
    /// The flat parameter buffer (every layer's W then b at the offsets in <see cref="Layers"/>).
    /// Writable: setting weights trained elsewhere is writing into these slices.
    /// </summary>
    public Span<float> Parameters => _parameters.Span;

    /// <summary>The weights of a layer as an [Outputs x Inputs] view into <see cref="Parameters"/>.</summary>
    public Span2D<float> Weights(int layer)
    {
        DenseLayer l = Layer(layer);
        return Span2D<float>.DangerousCreate(ref Parameters[l.WeightOffset], l.Outputs, l.Inputs, 0);
    }

    /// <summary>The biases of a layer as a view into <see cref="Parameters"/>.</summary>
    public Span<float> Biases(int layer)
    {
        DenseLayer l = Layer(layer);
        return Parameters.Slice(l.BiasOffset, l.Outputs);
    }

    /// <summary>
    /// Draws all weights from <paramref name="init"/> (per layer: <see cref="WeightInit.DefaultFor"/> when null)
    /// and zeroes the biases. The same seed always gives bitwise the same parameters.
    /// </summary>
    public void Initialize(int seed, WeightInit? init = null)
    {
        var random = new Random(seed);
        Parameters.Clear();
        foreach (DenseLayer l in _layers)
        {
            WeightInit scheme = init ?? WeightInit.DefaultFor(l.Activation);
            scheme.Fill(Parameters.Slice(l.WeightOffset, l.WeightCount), l.Inputs, l.Outputs, random);
        }
    }

    /// <summary>Runs a batch: <paramref name="inputs"/> is [rows x InputSize], <paramref name="outputs"/> [rows x OutputSize]. Thread-safe, no allocation.</summary>
    public void Forward(ReadOnlySpan2D<float> inputs, Span2D<float> outputs)
    {
        ReadOnlySpan<float> x = Shapes.Contiguous(inputs, InputSize, nameof(inputs));
        Span<float> y = Shapes.Contiguous(outputs, OutputSize, nameof(outputs));
        if (inputs.Height != outputs.Height)
            throw new ArgumentException($"The batch has {inputs.Height} input rows but {outputs.Height} output rows.", nameof(outputs));
        InferenceWorkspace ws = _workspaces.Value!;
        for (int start = 0; start < inputs.Height; start += InferenceBlockRows)
        {
            int rows = Math.Min(InferenceBlockRows, inputs.Height - start);
            ForwardBlock(x.Slice(start * InputSize, rows * InputSize), y.Slice(start * OutputSize, rows * OutputSize), rows, ws);
        }
    }

    /// <summary>
    /// Runs a batch on the threads of <paramref name="pool"/>, 64-row blocks per item. The output is bitwise
    /// the same as <see cref="Forward(ReadOnlySpan2D{float}, Span2D{float})"/>: blocks are independent.
    /// Batches of one block run on the calling thread.
    /// </summary>
    public unsafe void Forward(ReadOnlySpan2D<float> inputs, Span2D<float> outputs, WorkerPool pool)
    {
        ArgumentNullException.ThrowIfNull(pool);
        ReadOnlySpan<float> x = Shapes.Contiguous(inputs, InputSize, nameof(inputs));
        Span<float> y = Shapes.Contiguous(outputs, OutputSize, nameof(outputs));
        if (inputs.Height != outputs.Height)
            throw new ArgumentException($"The batch has {inputs.Height} input rows but {outputs.Height} output rows.", nameof(outputs));
        int blocks = (inputs.Height + InferenceBlockRows - 1) / InferenceBlockRows;
        if (blocks <= 1)
        {
            Forward(inputs, outputs);
            return;
        }
        lock (_parallelForward)
        {
            _parallelForward.EnsureWorkspaces(pool.Threads);
            fixed (float* px = x)
            fixed (float* py = y)
            {
                _parallelForward.Set(px, py, inputs.Height);
                pool.Run(_parallelForward, blocks);
                _parallelForward.Set(null, null, 0);
            }
        }
    }

    /// <summary>Runs one sample. Thread-safe, no allocation.</summary>
    /// <remarks>
    /// The output equals the same row of a batched <see cref="Forward(ReadOnlySpan2D{float}, Span2D{float})"/> bitwise.
    /// Networks whose hidden layers are at most 2048 wide keep the sample's activations on the stack.
    /// </remarks>
    [SkipLocalsInit]
    public void Predict(ReadOnlySpan<float> input, Span<float> output)
    {
        Shapes.RequireLength(input, InputSize, nameof(input));
        Shapes.RequireLength(output, OutputSize, nameof(output));
        if (HiddenWidth <= OneSampleForward.StackWidth)
        {
            Span<float> a = stackalloc float[HiddenWidth];
            Span<float> b = stackalloc float[HiddenWidth];
            OneSampleForward.Run(_layers, Parameters, input, output, a, b);
        }
        else
        {
            InferenceWorkspace ws = _workspaces.Value!;
            OneSampleForward.Run(_layers, Parameters, input, output, ws.A.Span, ws.B.Span);
        }
    }

    /// <summary>Runs one sample and returns the index of the largest output (for one output: 1 if it is &gt;= 0.5, else 0).</summary>
    [SkipLocalsInit]
    public int PredictClass(ReadOnlySpan<float> input)
    {
        if (OutputSize > OneSampleForward.StackWidth)
        {
            Span<float> wide = _workspaces.Value!.Output.Span.Slice(0, OutputSize);
            Predict(input, wide);
            return ArgMax(wide);
        }
        Span<float> output = stackalloc float[OutputSize];
        Predict(input, output);
        return ArgMax(output);
    }

    /// <summary>A deep copy: same architecture, same parameters.</summary>
    public Network Clone()
    {
        var copy = new Network(InputSize, _layers.Select(l => new LayerSpec(l.Outputs, l.Activation)).ToArray());
        Parameters.CopyTo(copy.Parameters);
        return copy;
    }

    /// <summary>
    /// A read-only copy of the current parameters laid out for the lowest one-sample latency (<see cref="FrozenNetwork"/>):
    /// later changes to this network do not reach it.
    /// </summary>
    public FrozenNetwork Freeze() => new(this);

    /// <summary>True when both networks have the same input size and layers (sizes and activations).</summary>
    public bool HasSameArchitecture(Network other) =>
        other.InputSize == InputSize && other._layers.Length == _layers.Length &&
        _layers.Zip(other._layers).All(p => p.First.Outputs == p.Second.Outputs && p.First.Activation == p.Second.Activation);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{InputSize}-" + string.Join("-", _layers.Select(l => $"{l.Outputs}({l.Activation})"));

    internal DenseLayer Layer(int index) =>
        (uint)index < (uint)_layers.Length ? _layers[index]
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"The network has {_layers.Length} layers.");

    /// <summary>Index of the winning class for one output row (binary threshold 0.5 for one output).</summary>
    internal static int ArgMax(ReadOnlySpan<float> output)
    {
        if (output.Length == 1) return output[0] >= 0.5f ? 1 : 0;
        int best = 0;
        for (int j = 1; j < output.Length; j++)
            if (output[j] > output[best]) best = j;
        return best;
    }

    /// <summary>One layer on a block of rows: y = f(x W^T + b).</summary>
    internal void RunLayer(DenseLayer l, ReadOnlySpan<float> x, Span<float> y, int rows)
    {
        ReadOnlySpan<float> p = Parameters;
        // Two passes, not Gemm.ForwardActivated: the fused epilogue measured slower here (see its remarks).
        Gemm.Forward(x, p.Slice(l.WeightOffset, l.WeightCount), p.Slice(l.BiasOffset, l.Outputs), y, rows, l.Inputs, l.Outputs);
        ActivationKernels.Apply(l.Activation, y.Slice(0, rows * l.Outputs), l.Outputs);
    }

    private void ForwardBlock(ReadOnlySpan<float> x, Span<float> y, int rows, InferenceWorkspace ws)
    {
        if (_rowByRow)
        {
            Span<float> a = ws.A.Span, b = ws.B.Span;
            for (int r = 0; r < rows; r++)
                OneSampleForward.Run(_layers, Parameters, x.Slice(r * InputSize, InputSize), y.Slice(r * OutputSize, OutputSize), a, b);
            return;
        }
        ReadOnlySpan<float> current = x;
        for (int i = 0; i < _layers.Length; i++)
        {
            DenseLayer l = _layers[i];
            Span<float> target = i == _layers.Length - 1 ? y : (i % 2 == 0 ? ws.A.Span : ws.B.Span);
            RunLayer(l, current, target, rows);
            current = target;
        }
    }

    private static long RoundUp(long floats) => (floats + AlignedBuffer.AlignmentFloats - 1) / AlignedBuffer.AlignmentFloats * AlignedBuffer.AlignmentFloats;

    /// <summary>
    /// One 64-row block of a batched forward pass per item. Each pool thread has its own workspace, all
    /// allocated by the first call on the caller's thread, so no later call allocates on any thread.
    /// </summary>
    private sealed unsafe class ParallelForwardJob(Network net) : IParallelJob
    {
        private InferenceWorkspace[] _workspaces = [];
        private float* _x;
        private float* _y;
        private int _rows;

        public void EnsureWorkspaces(int threads)
        {
            if (_workspaces.Length >= threads) return;
            var grown = new InferenceWorkspace[threads];
            _workspaces.CopyTo(grown, 0);
            for (int i = _workspaces.Length; i < threads; i++) grown[i] = new InferenceWorkspace(net.MaxWidth);
            _workspaces = grown;
        }

        public void Set(float* x, float* y, int rows) { _x = x; _y = y; _rows = rows; }

        public void Execute(int item, int worker)
        {
            int start = item * InferenceBlockRows;
            int rows = Math.Min(InferenceBlockRows, _rows - start);
            var x = new ReadOnlySpan<float>(_x + (long)start * net.InputSize, rows * net.InputSize);
            var y = new Span<float>(_y + (long)start * net.OutputSize, rows * net.OutputSize);
            net.ForwardBlock(x, y, rows, _workspaces[worker]);
        }
    }

    private sealed class InferenceWorkspace(int maxWidth)
    {
        public readonly AlignedBuffer A = new(maxWidth * InferenceBlockRows);
        public readonly AlignedBuffer B = new(maxWidth * InferenceBlockRows);
        public readonly AlignedBuffer Output = new(maxWidth);
    }
}
