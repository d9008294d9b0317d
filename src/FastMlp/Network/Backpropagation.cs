using CommunityToolkit.HighPerformance;
using FastMlp.Kernels;

namespace FastMlp;

/// <summary>
/// Loss and gradient of a network on a mini-batch by back-propagation of sensitivities, in matrix form:
/// delta^M from the loss, then delta^(m-1) = F'(u^(m-1)) (W^m)^T delta^m, dJ/dW^m = delta^m (y^(m-1))^T and
/// dJ/db^m = delta^m, averaged over the batch. Each delta is computed once per node and shared by all of
/// the node's weights and by the layer below (the efficiency argument of the notes): three GEMMs per layer.
/// </summary>
/// <remarks>
/// All scratch memory (every layer's activations, two sensitivity buffers) is allocated once for
/// <see cref="MaxBatch"/> rows, so computing a gradient allocates nothing. One instance is not thread-safe;
/// parallel training gives each worker its own instance over the same network.
/// </remarks>
public sealed class Backpropagation
{
    private readonly Network _net;
    private readonly AlignedBuffer[] _activations;
    private readonly AlignedBuffer _logits;
    private readonly AlignedBuffer _deltaA;
    private readonly AlignedBuffer _deltaB;
    private float _weightDecay;

    /// <summary>Prepares buffers for batches of up to <paramref name="maxBatch"/> rows.</summary>
    /// <exception cref="ArgumentException">The loss does not fit the output activation, a layer is not differentiable, or maxBatch is not positive.</exception>
    public Backpropagation(Network network, LossKind loss, int maxBatch)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (maxBatch <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, "The batch size must be positive.");
        Losses.ValidatePairing(loss, network.OutputLayer.Activation);
        foreach (DenseLayer l in network.Layers)
            if (!l.Activation.IsDifferentiable)
                throw new ArgumentException($"Layer {l.Index} uses {l.Activation}, which has no derivative; a step layer can only be trained by the perceptron rule.", nameof(network));
        if ((long)maxBatch * network.MaxWidth > Network.MaxParameterCount)
            throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, $"A batch of {maxBatch} rows of width {network.MaxWidth} is too large for one workspace.");

        _net = network;
        Loss = loss;
        MaxBatch = maxBatch;
        _activations = network.Layers.Select(l => new AlignedBuffer(maxBatch * l.Outputs)).ToArray();
        _logits = new AlignedBuffer(maxBatch * network.OutputSize);
        _deltaA = new AlignedBuffer(maxBatch * network.MaxWidth);
        _deltaB = new AlignedBuffer(maxBatch * network.MaxWidth);
    }

    /// <summary>The network whose gradient is computed.</summary>
    public Network Network => _net;
    /// <summary>The loss.</summary>
    public LossKind Loss { get; }
    /// <summary>Largest batch the buffers hold.</summary>
    public int MaxBatch { get; }

    /// <summary>
    /// L2 penalty lambda: adds (lambda/2) sum W^2 over all weights (not biases) to the loss and lambda W to their
    /// gradient. Zero by default.
    /// </summary>
    public float WeightDecay
    {
        get => _weightDecay;
        set => _weightDecay = value >= 0f && float.IsFinite(value) ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The weight decay must be a finite number >= 0.");
    }

    /// <summary>
    /// Loss J of the batch and its gradient dJ/dparameters, written over <paramref name="gradient"/>
    /// (length <see cref="Network.BufferLength"/>, same layout as the parameters).
    /// </summary>
    public float ComputeGradient(ReadOnlySpan2D<float> inputs, ReadOnlySpan2D<float> targets, Span<float> gradient)
    {
        ReadOnlySpan<float> t = Shapes.Contiguous(targets, _net.OutputSize, nameof(targets));
        CheckBatch(inputs, targets.Height, nameof(targets));
        Validation.RequireFinite(t, nameof(targets), _net.OutputSize);
        return ComputeGradient(Shapes.Contiguous(inputs, _net.InputSize, nameof(inputs)), new Targets(t), inputs.Height, gradient);
    }

    /// <summary>
    /// Loss and gradient with integer class labels: label k means the one-hot row e_k, or for a single
    /// sigmoid output the target value k (0 or 1).
    /// </summary>
    public float ComputeGradient(ReadOnlySpan2D<float> inputs, ReadOnlySpan<int> labels, Span<float> gradient)
    {
        CheckBatch(inputs, labels.Length, nameof(labels));
        Validation.RequireLabels(labels, _net.OutputSize, nameof(labels));
        return ComputeGradient(Shapes.Contiguous(inputs, _net.InputSize, nameof(inputs)), new Targets(labels), inputs.Height, gradient);
    }

    /// <summary>Loss J of a batch (any number of rows; processed in blocks of <see cref="MaxBatch"/>), without a gradient.</summary>
    public float ComputeLoss(ReadOnlySpan2D<float> inputs, ReadOnlySpan2D<float> targets)
    {
        ReadOnlySpan<float> t = Shapes.Contiguous(targets, _net.OutputSize, nameof(targets));
        if (targets.Height != inputs.Height)
            throw new ArgumentException($"'{nameof(targets)}' has {targets.Height} rows but the inputs have {inputs.Height}.", nameof(targets));
        RequireRows(inputs.Height);
        Validation.RequireFinite(t, nameof(targets), _net.OutputSize);
        return ComputeLoss(Shapes.Contiguous(inputs, _net.InputSize, nameof(inputs)), new Targets(t), inputs.Height);
    }

    /// <summary>Loss J of a labelled batch of any size, without a gradient.</summary>
    public float ComputeLoss(ReadOnlySpan2D<float> inputs, ReadOnlySpan<int> labels)
    {
        if (labels.Length != inputs.Height)
            throw new ArgumentException($"'{nameof(labels)}' has {labels.Length} entries but the inputs have {inputs.Height} rows.", nameof(labels));
        RequireRows(inputs.Height);
        Validation.RequireLabels(labels, _net.OutputSize, nameof(labels));
        return ComputeLoss(Shapes.Contiguous(inputs, _net.InputSize, nameof(inputs)), new Targets(labels), inputs.Height);
    }

    internal float ComputeGradient(ReadOnlySpan<float> x, Targets targets, int rows, Span<float> gradient)
    {
        Shapes.RequireLength(gradient, _net.BufferLength, nameof(gradient));
        gradient.Clear();
        double normalizer = Losses.Normalizer(Loss, rows, _net.OutputSize);
        double loss = AccumulateGradient(x, targets, rows, normalizer, gradient) * normalizer;
        return (float)(loss + ApplyWeightDecay(gradient));
    }

    internal float ComputeLoss(ReadOnlySpan<float> x, Targets targets, int rows) => (float)Evaluate(x, targets, rows, out _);

    /// <summary>Loss J of any number of rows (in blocks of <see cref="MaxBatch"/>) and how many were classified correctly.</summary>
    internal double Evaluate(ReadOnlySpan<float> x, Targets targets, int rows, out int correct)
    {
        double sum = 0;
        correct = 0;
        for (int start = 0; start < rows; start += MaxBatch)
        {
            int n = Math.Min(MaxBatch, rows - start);
            Targets block = targets.Slice(start, n, _net.OutputSize);
            Forward(x.Slice(start * _net.InputSize, n * _net.InputSize), n);
            sum += LossKernels.LossOnly(Loss, _logits.Span, _activations[^1].Span, block, n, _net.OutputSize);
            correct += CountCorrect(block, n);
        }
        return sum * Losses.Normalizer(Loss, rows, _net.OutputSize) + WeightPenalty();
    }

    /// <summary>Rows of the last forward pass whose predicted class equals the label (0 for dense targets).</summary>
    internal int CountCorrect(Targets targets, int rows)
    {
        if (!targets.IsLabels) return 0;
        int width = _net.OutputSize, correct = 0;
        ReadOnlySpan<float> y = _activations[^1].Span;
        for (int r = 0; r < rows; r++)
            if (Network.ArgMax(y.Slice(r * width, width)) == targets.Labels[r]) correct++;
        return correct;
    }

    /// <summary>
    /// The shard seam: forward and backward for <paramref name="rows"/> rows, adding their share of the
    /// gradient (already multiplied by <paramref name="normalizer"/>, which the caller derives from the whole
    /// batch) into <paramref name="gradient"/>. Returns the rows' summed, unnormalised loss.
    /// </summary>
    internal double AccumulateGradient(ReadOnlySpan<float> x, Targets targets, int rows, double normalizer, Span<float> gradient)
    {
        if (rows > MaxBatch)
            throw new ArgumentException($"The batch has {rows} rows; this workspace holds {MaxBatch}.", nameof(rows));
        Forward(x, rows);

        DenseLayer[] layers = _net.LayerArray;
        DenseLayer last = layers[^1];
        Span<float> delta = _deltaA.Span;
        Span<float> spare = _deltaB.Span;
        double loss = LossKernels.LossAndDelta(Loss, last.Activation, _logits.Span, _activations[^1].Span, targets,
            delta, rows, last.Outputs, normalizer);

        ReadOnlySpan<float> p = _net.Parameters;
        for (int m = layers.Length - 1; m >= 0; m--)
        {
            DenseLayer l = layers[m];
            ReadOnlySpan<float> input = m == 0 ? x : _activations[m - 1].Span;
            Gemm.WeightGradient(delta, input, gradient.Slice(l.WeightOffset, l.WeightCount), gradient.Slice(l.BiasOffset, l.Outputs),
                rows, l.Inputs, l.Outputs, accumulate: true);
            if (m == 0) break;
            Gemm.InputGradient(delta, p.Slice(l.WeightOffset, l.WeightCount), spare, rows, l.Inputs, l.Outputs);
            ActivationKernels.MultiplyDerivative(layers[m - 1].Activation, _activations[m - 1].Span.Slice(0, rows * l.Inputs), spare.Slice(0, rows * l.Inputs));
            Span<float> swap = delta; delta = spare; spare = swap;
        }
        return loss;
    }

    /// <summary>Adds lambda W to the weight gradients and returns (lambda/2) sum W^2.</summary>
    internal double ApplyWeightDecay(Span<float> gradient)
    {
        if (_weightDecay == 0f) return 0;
        ReadOnlySpan<float> p = _net.Parameters;
        foreach (DenseLayer l in _net.LayerArray)
            VectorOps.Axpy(_weightDecay, p.Slice(l.WeightOffset, l.WeightCount), gradient.Slice(l.WeightOffset, l.WeightCount));
        return WeightPenalty();
    }

    private double WeightPenalty()
    {
        if (_weightDecay == 0f) return 0;
        ReadOnlySpan<float> p = _net.Parameters;
        double sum = 0;
        foreach (DenseLayer l in _net.LayerArray)
            sum += VectorOps.SumOfSquares(p.Slice(l.WeightOffset, l.WeightCount));
        return 0.5 * _weightDecay * sum;
    }

    private void Forward(ReadOnlySpan<float> x, int rows)
    {
        DenseLayer[] layers = _net.LayerArray;
        ReadOnlySpan<float> current = x;
        for (int m = 0; m < layers.Length - 1; m++)
        {
            _net.RunLayer(layers[m], current, _activations[m].Span, rows);
            current = _activations[m].Span;
        }
        // The output layer keeps its logits: the cross-entropies are evaluated from u, never from ln(y).
        DenseLayer last = layers[^1];
        ReadOnlySpan<float> p = _net.Parameters;
        Span<float> logits = _logits.Span.Slice(0, rows * last.Outputs);
        Span<float> y = _activations[^1].Span.Slice(0, rows * last.Outputs);
        Gemm.Forward(current, p.Slice(last.WeightOffset, last.WeightCount), p.Slice(last.BiasOffset, last.Outputs), logits, rows, last.Inputs, last.Outputs);
        logits.CopyTo(y);
        ActivationKernels.Apply(last.Activation, y, last.Outputs);
    }

    private static void RequireRows(int rows)
    {
        if (rows == 0)
            throw new ArgumentException("The batch is empty.", "inputs");
    }

    private void CheckBatch(ReadOnlySpan2D<float> inputs, int targetRows, string targetName)
    {
        RequireRows(inputs.Height);
        if (inputs.Height > MaxBatch)
            throw new ArgumentException($"The batch has {inputs.Height} rows; this instance was created for at most {MaxBatch}.", nameof(inputs));
        if (targetRows != inputs.Height)
            throw new ArgumentException($"'{targetName}' has {targetRows} rows but the inputs have {inputs.Height}.", targetName);
    }
}
