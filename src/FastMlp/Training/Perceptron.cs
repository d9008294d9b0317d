namespace FastMlp.Training;

/// <summary>
/// Rosenblatt's perceptron: one neuron with a step activation, v = w . x + b, y = step(v), trained by the
/// perceptron rule w += eta (d - y) x, b += eta (d - y). Converges in finitely many updates when the
/// classes are linearly separable. Targets are 0/1 for <see cref="ActivationKind.Step"/> and -1/+1 for
/// <see cref="ActivationKind.BipolarStep"/>.
/// </summary>
public sealed class Perceptron
{
    private readonly float[] _weights;

    /// <summary>A perceptron with <paramref name="inputs"/> inputs and zero weights.</summary>
    public Perceptron(int inputs, bool bipolar = false)
    {
        if (inputs <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "The number of inputs must be positive.");
        _weights = new float[inputs];
        Bipolar = bipolar;
    }

    /// <summary>True for -1/+1 outputs, false for 0/1.</summary>
    public bool Bipolar { get; }
    /// <summary>The weights (writable).</summary>
    public Span<float> Weights => _weights;
    /// <summary>The bias, a weight on a constant input 1.</summary>
    public float Bias { get; set; }

    /// <summary>The neuron's output for one sample.</summary>
    public float Predict(ReadOnlySpan<float> x)
    {
        Shapes.RequireLength(x, _weights.Length, nameof(x));
        float v = Kernels.VectorOps.Dot(x, _weights) + Bias;
        return v >= 0f ? 1f : (Bipolar ? -1f : 0f);
    }

    /// <summary>
    /// Applies the perceptron rule sample by sample, epoch after epoch, until an epoch makes no mistake or
    /// <paramref name="maxEpochs"/> is reached. Returns the number of epochs run and whether it converged.
    /// </summary>
    public (int Epochs, bool Converged) Train(float[] inputs, float[] targets, float learningRate = 1f, int maxEpochs = 1000)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        Validation.RequirePositive(learningRate, nameof(learningRate));
        if (maxEpochs <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxEpochs), maxEpochs, "The epoch limit must be positive.");
        int n = _weights.Length;
        if (targets.Length == 0 || inputs.Length != targets.Length * n)
            throw new ArgumentException($"{inputs.Length} input values do not match {targets.Length} targets of {n} inputs each.", nameof(inputs));
        Validation.RequireFinite(inputs, nameof(inputs), n);
        float low = Bipolar ? -1f : 0f;
        for (int i = 0; i < targets.Length; i++)
            if (targets[i] != 1f && targets[i] != low)
                throw new ArgumentOutOfRangeException(nameof(targets), targets[i], $"Target {targets[i]} at row {i} must be {low} or 1.");

        for (int epoch = 1; epoch <= maxEpochs; epoch++)
        {
            int mistakes = 0;
            for (int s = 0; s < targets.Length; s++)
            {
                ReadOnlySpan<float> x = inputs.AsSpan(s * n, n);
                float error = targets[s] - Predict(x);
                if (error == 0f) continue;
                mistakes++;
                Kernels.VectorOps.Axpy(learningRate * error, x, _weights);
                Bias += learningRate * error;
            }
            if (mistakes == 0) return (epoch, true);
        }
        return (maxEpochs, false);
    }
}

/// <summary>
/// Widrow's delta rule for one neuron with a differentiable activation: v = w . x + b, y = f(v),
/// err = d - y, and the correction of each weight follows the notes' dJ/dw_i = -2 err f'(v) x_i
/// (the bias is a weight on a constant input 1): w_i -= eta dJ/dw_i, sample by sample.
/// </summary>
public sealed class DeltaRuleNeuron
{
    private readonly float[] _weights;

    /// <summary>A neuron with <paramref name="inputs"/> inputs, zero weights and the given differentiable activation.</summary>
    public DeltaRuleNeuron(int inputs, Activation activation)
    {
        if (inputs <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputs), inputs, "The number of inputs must be positive.");
        if (!activation.IsDifferentiable || activation.Kind == ActivationKind.Softmax)
            throw new ArgumentException($"The delta rule needs a differentiable element-wise activation, not {activation}.", nameof(activation));
        _weights = new float[inputs];
        Activation = activation;
    }

    /// <summary>The activation f.</summary>
    public Activation Activation { get; }
    /// <summary>The weights (writable).</summary>
    public Span<float> Weights => _weights;
    /// <summary>The bias w0, on a constant input 1.</summary>
    public float Bias { get; set; }

    /// <summary>y = f(w . x + b).</summary>
    public float Predict(ReadOnlySpan<float> x)
    {
        Shapes.RequireLength(x, _weights.Length, nameof(x));
        Span<float> v = [Kernels.VectorOps.Dot(x, _weights) + Bias];
        Kernels.ActivationKernels.Apply(Activation, v, 1);
        return v[0];
    }

    /// <summary>
    /// Runs <paramref name="epochs"/> passes of per-sample delta-rule updates and returns the mean squared error
    /// (d - y)^2 over the set after each epoch.
    /// </summary>
    public double[] Train(float[] inputs, float[] targets, float learningRate, int epochs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(targets);
        Validation.RequirePositive(learningRate, nameof(learningRate));
        if (epochs <= 0)
            throw new ArgumentOutOfRangeException(nameof(epochs), epochs, "The number of epochs must be positive.");
        int n = _weights.Length;
        if (targets.Length == 0 || inputs.Length != targets.Length * n)
            throw new ArgumentException($"{inputs.Length} input values do not match {targets.Length} targets of {n} inputs each.", nameof(inputs));
        Validation.RequireFinite(inputs, nameof(inputs), n);
        Validation.RequireFinite(targets, nameof(targets));

        var history = new double[epochs];
        Span<float> y = stackalloc float[1];
        Span<float> slope = stackalloc float[1];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            for (int s = 0; s < targets.Length; s++)
            {
                ReadOnlySpan<float> x = inputs.AsSpan(s * n, n);
                y[0] = Predict(x);
                slope[0] = 1f;
                Kernels.ActivationKernels.MultiplyDerivative(Activation, y, slope);
                float error = targets[s] - y[0];
                float gradientFactor = -2f * error * slope[0]; // dJ/dw_i = gradientFactor * x_i
                Kernels.VectorOps.Axpy(-learningRate * gradientFactor, x, _weights);
                Bias -= learningRate * gradientFactor;
            }
            double sse = 0;
            for (int s = 0; s < targets.Length; s++)
            {
                double e = targets[s] - Predict(inputs.AsSpan(s * n, n));
                sse += e * e;
            }
            history[epoch] = sse / targets.Length;
        }
        return history;
    }
}
