using FastMlp.Kernels;
using FastMlp.Threading;

namespace FastMlp.Training;

/// <summary>
/// Applies gradient steps to a flat parameter buffer. State (momentum, moments) has the same layout as the
/// parameters and is allocated once; a step is one vectorised pass and allocates nothing. Training steps on several
/// threads split the pass into chunks (element-wise updates, so the result does not depend on the split).
/// </summary>
public sealed unsafe class Optimizer : IParallelJob
{
    /// <summary>Floats per chunk of a parallel update (64 KiB of each buffer).</summary>
    private const int ChunkFloats = 16 * 1024;

    private readonly float[] _state1;
    private readonly float[] _state2;
    private long _steps;
    private float _c1, _c2;
    private float* _chunkParameters;
    private float* _chunkGradient;

    /// <summary>Creates an optimizer for buffers of <paramref name="length"/> floats.</summary>
    public Optimizer(OptimizerOptions options, int length)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        Options = options;
        _state1 = options.Kind == OptimizerKind.Sgd ? [] : new float[length];
        _state2 = options.Kind == OptimizerKind.Adam ? new float[length] : [];
        Length = length;
    }

    /// <summary>The hyper-parameters.</summary>
    public OptimizerOptions Options { get; }
    /// <summary>Length of the buffers this optimizer updates.</summary>
    public int Length { get; }
    /// <summary>Steps taken since creation or <see cref="Reset"/>.</summary>
    public long Steps => _steps;

    /// <summary>One update of <paramref name="parameters"/> against <paramref name="gradient"/>.</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradient)
    {
        BeginStep(parameters.Length, gradient.Length);
        Update(parameters, gradient, 0, Length);
    }

    /// <summary>One update split into chunks run on up to <paramref name="maxThreads"/> threads of <paramref name="pool"/>.</summary>
    internal void Step(Span<float> parameters, ReadOnlySpan<float> gradient, WorkerPool pool, int maxThreads)
    {
        BeginStep(parameters.Length, gradient.Length);
        fixed (float* p = parameters)
        fixed (float* g = gradient)
        {
            _chunkParameters = p;
            _chunkGradient = g;
            pool.Run(this, (Length + ChunkFloats - 1) / ChunkFloats, maxThreads);
            _chunkParameters = null;
            _chunkGradient = null;
        }
    }

    void IParallelJob.Execute(int item, int worker)
    {
        int start = item * ChunkFloats, length = Math.Min(ChunkFloats, Length - start);
        Update(new Span<float>(_chunkParameters, Length), new ReadOnlySpan<float>(_chunkGradient, Length), start, length);
    }

    private void BeginStep(int parameters, int gradient)
    {
        if (parameters != Length || gradient != Length)
            throw new ArgumentException($"The optimizer was created for {Length} floats; got parameters of {parameters} and a gradient of {gradient}.");
        _steps++;
        // Adam's bias corrections, once per step for every chunk.
        _c1 = (float)(1 - Math.Pow(Options.Beta1, _steps));
        _c2 = (float)(1 - Math.Pow(Options.Beta2, _steps));
    }

    /// <summary>The update of elements start..start+length-1 (every rule is element-wise).</summary>
    private void Update(Span<float> parameters, ReadOnlySpan<float> gradient, int start, int length)
    {
        OptimizerOptions o = Options;
        Span<float> p = parameters.Slice(start, length);
        ReadOnlySpan<float> g = gradient.Slice(start, length);
        switch (o.Kind)
        {
            case OptimizerKind.Sgd: OptimizerKernels.Sgd(p, g, o.LearningRate); break;
            case OptimizerKind.Momentum: OptimizerKernels.Momentum(p, g, _state1.AsSpan(start, length), o.LearningRate, o.Momentum); break;
            case OptimizerKind.AdaGrad: OptimizerKernels.AdaGrad(p, g, _state1.AsSpan(start, length), o.LearningRate, o.Epsilon); break;
            case OptimizerKind.RmsProp: OptimizerKernels.RmsProp(p, g, _state1.AsSpan(start, length), o.LearningRate, o.Rho, o.Epsilon); break;
            case OptimizerKind.Adam:
                OptimizerKernels.Adam(p, g, _state1.AsSpan(start, length), _state2.AsSpan(start, length), o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, _c1, _c2);
                break;
        }
    }

    /// <summary>Clears the state, as if freshly created.</summary>
    public void Reset()
    {
        _state1.AsSpan().Clear();
        _state2.AsSpan().Clear();
        _steps = 0;
    }

    /// <summary>The first state buffer (momentum m, AdaGrad h, RMSProp v, Adam m); empty for SGD.</summary>
    public ReadOnlySpan<float> FirstState => _state1;
}
