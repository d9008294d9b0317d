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
/// All scratch memory (every layer's activations and sensitivities) is allocated once for <see cref="MaxBatch"/>
/// rows, so computing a gradient allocates nothing. Parallel training shares one instance between its workers
/// through the internal two-phase seam: <see cref="ForwardBackward"/> on disjoint row ranges, then
/// <see cref="WeightGradient"/> on disjoint blocks of a layer's outputs; every other member is single-threaded.
/// </remarks>
public sealed class Backpropagation
{
    private readonly Network _net;
    private readonly AlignedBuffer[] _activations;
    private readonly AlignedBuffer _logits;
    // delta^m = dJ/du^m for every layer and row, kept until the weight gradients have consumed them.
    private readonly AlignedBuffer[] _deltas;
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
        _deltas = network.Layers.Select(l => new AlignedBuffer(maxBatch * l.Outputs)).ToArray();
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
            ReadOnlySpan<float> xb = x.Slice(start * _net.InputSize, n * _net.InputSize);
            Forward(xb, 0, n);
            sum += LossKernels.LossOnly(Loss, _logits.Span, _activations[^1].Span, block, n, _net.OutputSize);
            correct += CountCorrect(block, 0, n);
        }
        return sum * Losses.Normalizer(Loss, rows, _net.OutputSize) + WeightPenalty();
    }

    /// <summary>Rows first..first+rows-1 of the last forward pass whose predicted class equals the label (0 for dense targets).</summary>
    internal int CountCorrect(Targets targets, int first, int rows)
    {
        if (!targets.IsLabels) return 0;
        int width = _net.OutputSize, correct = 0;
        ReadOnlySpan<float> y = _activations[^1].Span;
        for (int r = first; r < first + rows; r++)
            if (Network.ArgMax(y.Slice(r * width, width)) == targets.Labels[r]) correct++;
        return correct;
    }

    /// <summary>
    /// Forward and backward for <paramref name="rows"/> rows of a batch: adds their share of the gradient (already
    /// multiplied by <paramref name="normalizer"/>, which the caller derives from the whole batch) into
    /// <paramref name="gradient"/>. Returns the rows' summed, unnormalised loss.
    /// </summary>
    internal double AccumulateGradient(ReadOnlySpan<float> x, Targets targets, int rows, double normalizer, Span<float> gradient)
    {
        double loss = ForwardBackward(x, targets, 0, rows, normalizer);
        DenseLayer[] layers = _net.LayerArray;
        for (int m = 0; m < layers.Length; m++)
            WeightGradient(x, rows, m, 0, layers[m].Outputs, gradient, accumulate: true);
        return loss;
    }

    /// <summary>
    /// Phase one of the parallel seam: the activations and the sensitivities delta of every layer for rows
    /// <paramref name="first"/>..first+rows-1 of the block <paramref name="x"/> (all of whose rows the workspace
    /// holds), touching no other rows. Returns those rows' summed, unnormalised loss.
    /// </summary>
    /// <remarks>Each row's values depend on that row alone (every kernel sums in an order fixed by the shapes), so
    /// splitting the rows differently gives bitwise the same sensitivities.</remarks>
    /// <summary>
    /// Forward for rows first..first+rows-1 of the block <paramref name="x"/> and their summed per-element loss (not
    /// normalised), with no gradient: one shard of a parallel evaluation.
    /// </summary>
    internal double ForwardLoss(ReadOnlySpan<float> x, Targets targets, int first, int rows)
    {
        if (first + rows > MaxBatch)
            throw new ArgumentException($"Rows {first}..{first + rows - 1} are outside this workspace of {MaxBatch} rows.", nameof(rows));
        Forward(x, first, rows);
        int outputs = _net.OutputSize;
        return LossKernels.LossOnly(Loss, RowsOf(_logits, first, rows, outputs), RowsOf(_activations[^1], first, rows, outputs),
            targets.Slice(first, rows, outputs), rows, outputs);
    }

    internal double ForwardBackward(ReadOnlySpan<float> x, Targets targets, int first, int rows, double normalizer)
    {
        if (first + rows > MaxBatch)
            throw new ArgumentException($"Rows {first}..{first + rows - 1} are outside this workspace of {MaxBatch} rows.", nameof(rows));
        Forward(x, first, rows);

        DenseLayer[] layers = _net.LayerArray;
        DenseLayer last = layers[^1];
        int outputs = last.Outputs;
        double loss = LossKernels.LossAndDelta(Loss, last.Activation, RowsOf(_logits, first, rows, outputs),
            RowsOf(_activations[^1], first, rows, outputs), targets.Slice(first, rows, outputs),
            RowsOf(_deltas[^1], first, rows, outputs), rows, outputs, normalizer);

        ReadOnlySpan<float> p = _net.Parameters;
        for (int m = layers.Length - 1; m > 0; m--)
        {
            DenseLayer l = layers[m];
            Span<float> below = RowsOf(_deltas[m - 1], first, rows, l.Inputs);
            // delta^(m-1) = (delta^m W) * f'(u^(m-1)): the derivative is the product's epilogue, applied to each tile of it in registers.
            Gemm.InputGradientTimesDerivative(layers[m - 1].Activation, RowsOf(_deltas[m], first, rows, l.Outputs), p.Slice(l.WeightOffset, l.WeightCount),
                RowsOf(_activations[m - 1], first, rows, l.Inputs), below, rows, l.Inputs, l.Outputs);
        }
        return loss;
    }

    /// <summary>
    /// Phase two of the parallel seam, after <see cref="ForwardBackward"/> has covered all <paramref name="rows"/>
    /// rows: dJ/dW and dJ/db of outputs <paramref name="firstOutput"/>..+<paramref name="outputs"/> of layer
    /// <paramref name="layer"/>, summed over every row, written (or added, with <paramref name="accumulate"/>) into their
    /// place in <paramref name="gradient"/>. Blocks computed apart equal the whole layer bitwise.
    /// </summary>
    internal void WeightGradient(ReadOnlySpan<float> x, int rows, int layer, int firstOutput, int outputs, Span<float> gradient, bool accumulate)
    {
        DenseLayer l = _net.LayerArray[layer];
        ReadOnlySpan<float> input = layer == 0 ? x.Slice(0, rows * l.Inputs) : _activations[layer - 1].Span.Slice(0, rows * l.Inputs);
        ReadOnlySpan<float> delta = _deltas[layer].Span.Slice(firstOutput, (rows - 1) * l.Outputs + outputs);
        Gemm.WeightGradient(delta, input, gradient.Slice(l.WeightOffset + firstOutput * l.Inputs, outputs * l.Inputs),
            gradient.Slice(l.BiasOffset + firstOutput, outputs), rows, l.Inputs, outputs, accumulate, dyStride: l.Outputs);
    }

    /// <summary>Adds lambda W to the weights of outputs firstOutput..+outputs of a layer; no-op without weight decay.</summary>
    internal void ApplyWeightDecay(int layer, int firstOutput, int outputs, Span<float> gradient)
    {
        if (_weightDecay == 0f) return;
        DenseLayer l = _net.LayerArray[layer];
        int start = l.WeightOffset + firstOutput * l.Inputs, length = outputs * l.Inputs;
        VectorOps.Axpy(_weightDecay, _net.Parameters.Slice(start, length), gradient.Slice(start, length));
    }

    /// <summary>Adds lambda W to the weight gradients and returns (lambda/2) sum W^2.</summary>
    internal double ApplyWeightDecay(Span<float> gradient)
    {
        if (_weightDecay == 0f) return 0;
        foreach (DenseLayer l in _net.LayerArray)
            ApplyWeightDecay(l.Index, 0, l.Outputs, gradient);
        return WeightPenalty();
    }

    /// <summary>(lambda/2) sum W^2 over all weights; 0 without weight decay.</summary>
    internal double WeightPenalty()
    {
        if (_weightDecay == 0f) return 0;
        ReadOnlySpan<float> p = _net.Parameters;
        double sum = 0;
        foreach (DenseLayer l in _net.LayerArray)
            sum += VectorOps.SumOfSquares(p.Slice(l.WeightOffset, l.WeightCount));
        return 0.5 * _weightDecay * sum;
    }

    /// <summary>Forward for rows first..first+rows-1 of the block x, into the same rows of the workspace.</summary>
    private void Forward(ReadOnlySpan<float> x, int first, int rows)
    {
        DenseLayer[] layers = _net.LayerArray;
        ReadOnlySpan<float> current = x.Slice(first * _net.InputSize, rows * _net.InputSize);
        for (int m = 0; m < layers.Length - 1; m++)
        {
            Span<float> y = RowsOf(_activations[m], first, rows, layers[m].Outputs);
            _net.RunLayer(layers[m], current, y, rows);
            current = y;
        }
        // The output layer keeps its logits: the cross-entropies are evaluated from u, never from ln(y).
        DenseLayer last = layers[^1];
        ReadOnlySpan<float> p = _net.Parameters;
        Span<float> logits = RowsOf(_logits, first, rows, last.Outputs);
        Span<float> output = RowsOf(_activations[^1], first, rows, last.Outputs);
        Gemm.Forward(current, p.Slice(last.WeightOffset, last.WeightCount), p.Slice(last.BiasOffset, last.Outputs), logits, rows, last.Inputs, last.Outputs);
        // y = f(u) from the logits into the output rows in one pass (no copy, then activation in place).
        ActivationKernels.Apply(last.Activation, logits, output, last.Outputs);
    }

    private static Span<float> RowsOf(AlignedBuffer buffer, int first, int rows, int width) => buffer.Span.Slice(first * width, rows * width);

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
