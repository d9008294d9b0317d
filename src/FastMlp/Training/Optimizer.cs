using FastMlp.Kernels;

namespace FastMlp.Training;

/// <summary>
/// Applies gradient steps to a flat parameter buffer. State (momentum, moments) has the same layout as the
/// parameters and is allocated once; a step is one vectorised pass and allocates nothing.
/// </summary>
public sealed class Optimizer
{
    private readonly float[] _state1;
    private readonly float[] _state2;
    private long _steps;

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
        if (parameters.Length != Length || gradient.Length != Length)
            throw new ArgumentException($"The optimizer was created for {Length} floats; got parameters of {parameters.Length} and a gradient of {gradient.Length}.");
        _steps++;
        OptimizerOptions o = Options;
        switch (o.Kind)
        {
            case OptimizerKind.Sgd: OptimizerKernels.Sgd(parameters, gradient, o.LearningRate); break;
            case OptimizerKind.Momentum: OptimizerKernels.Momentum(parameters, gradient, _state1, o.LearningRate, o.Momentum); break;
            case OptimizerKind.AdaGrad: OptimizerKernels.AdaGrad(parameters, gradient, _state1, o.LearningRate, o.Epsilon); break;
            case OptimizerKind.RmsProp: OptimizerKernels.RmsProp(parameters, gradient, _state1, o.LearningRate, o.Rho, o.Epsilon); break;
            case OptimizerKind.Adam:
                float c1 = (float)(1 - Math.Pow(o.Beta1, _steps));
                float c2 = (float)(1 - Math.Pow(o.Beta2, _steps));
                OptimizerKernels.Adam(parameters, gradient, _state1, _state2, o.LearningRate, o.Beta1, o.Beta2, o.Epsilon, c1, c2);
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
