using System.Diagnostics;
using CommunityToolkit.HighPerformance;
using FastMlp.Data;
using FastMlp.Kernels;
using FastMlp.Threading;

namespace FastMlp.Training;

/// <summary>
/// Trains a network by back-propagation and a first-order optimizer, following the notes' loop:
/// forward the batch, compute the cost and its gradient, step against it, repeat until the cost reaches
/// a target or the epoch limit. Adds per-epoch reshuffling, validation with early stopping, and a stop on
/// divergence that keeps the last finite weights.
/// </summary>
/// <remarks>
/// <para>All buffers (batch gather, the step's workspace, gradient, optimizer state) are allocated on the
/// first step for the batch size in use; later steps allocate nothing. <see cref="Fit"/> also keeps its shuffle
/// order (and, with validation, its copy of the best weights) for the next call, so a later Fit on a set of the
/// same size allocates only its result.</para>
/// <para>In <see cref="Fit"/> a shuffled batch's rows are copied into the contiguous batch buffer by the step's own
/// shards (<see cref="BatchGather"/>), each right before running its rows forward: the copy is shared by the step's
/// threads instead of running on the calling thread between steps. The reported training loss and accuracy are the
/// ones the steps computed anyway (no second pass over the training set).</para>
/// <para>Parallel across the mini-batch (<see cref="ParallelGradient"/>): the batch's rows are cut into shards whose
/// boundaries depend only on the batch size (<see cref="ShardRows"/>) and run forward and backward on whichever worker
/// takes them; then the weight gradients are computed in blocks of outputs, each summed over the whole batch by one
/// thread. The weights are therefore bitwise the same for any thread count. Steps too small to pay for waking the
/// workers (<see cref="MinParallelRows"/>, <see cref="MinParallelWork"/>) run on the calling thread.</para>
/// </remarks>
public sealed class Trainer : IDisposable
{
    /// <summary>Most shards a batch is cut into (and so the most threads the forward and backward phase can use).</summary>
    public const int MaxShards = ParallelGradient.MaxShards;

    /// <summary>Fewest rows per shard: shorter shards make GEMMs too short to pay for handing them to a thread.</summary>
    public const int MinShardRows = ParallelGradient.MinShardRows;

    /// <summary>
    /// Fewest rows for which a step runs on the pool whatever the network's size: two full shards, so that the forward
    /// and backward phase itself is split. Measured with the threshold forced off (1- and 2-thread trainers interleaved,
    /// 30 rounds, SGD, Avx512, 2-vCPU Zen 4 with no other engineer's work running; best-of / median speed-up of 2
    /// threads): 2-3-2 batch 32 1.17x / 1.26x, 64 1.52x / 1.34x, 256 1.57x / 1.24x; 64-32-32-10 batch 32 1.15-1.23x
    /// best, 64 1.42x / 1.28x, 128 1.56x / 1.49x; 784-256-128-10 batch 32 1.64-1.75x / 1.45-1.56x, 48 1.25x best, 64
    /// 1.64x / 1.60x. Below two full shards the first phase runs on one thread and the results split: 784-256-128-10
    /// batch 8 0.76x, 16 0.94-1.12x, 24 (a 16- and an 8-row shard) 0.79-1.41x between runs, so those stay on one thread.
    /// The synchronisation (three pool runs, about 1-2 us) is small next to even a 2-3-2 batch of 32, so the size of the
    /// network does not enter this rule.
    /// </summary>
    public const int MinParallelRows = 2 * MinShardRows;

    /// <summary>
    /// Rows x parameters from which a step of fewer than <see cref="MinParallelRows"/> rows (one shard) still runs on the
    /// pool: then only the weight-gradient and update phases are split, which pays for large layers only. Same
    /// measurement: 1024-1024-1024-10 batch 2 (4.2 M) 1.21-1.46x best, 4 (8.4 M) 1.23x, 8 (17 M) 1.48x; 784-256-128-10
    /// batch 16 (3.8 M) 0.94-1.12x, 8 (1.9 M) 0.76x. 8 M keeps the cases that lost in some run (and the 4.2 M gain) on
    /// one thread.
    /// (An earlier rule used rows x parameters alone, at 10 M and then 16 M from runs on a host whose other vCPU was
    /// busy: it kept small networks on one thread where two measured 1.2-1.6x faster.)
    /// </summary>
    public const long MinParallelWork = 8_000_000;

    private readonly Network _net;
    private readonly Optimizer _optimizer;
    private readonly AlignedBuffer _gradient;
    private readonly WorkerPool _pool;
    private readonly bool _ownsPool;
    private readonly ParallelGradient _parallelGradient;
    private readonly BatchGather _batch = new();
    // Kept between calls of Fit so that a Fit (one per epoch in EpochBenchmarks) allocates no shuffle order or
    // best-weights copy once the sizes are known.
    private int[] _order = [];
    private float[] _best = [];
    private int _lastCorrect;

    /// <summary>
    /// Creates a trainer for <paramref name="network"/>; the options are validated here. Pass a
    /// <paramref name="pool"/> to share worker threads between trainers (the caller keeps ownership);
    /// otherwise the trainer starts <see cref="TrainerOptions.Threads"/> threads and stops them on <see cref="Dispose"/>.
    /// </summary>
    public Trainer(Network network, TrainerOptions options, WorkerPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _net = network;
        Options = options;
        Loss = options.Loss ?? Losses.DefaultFor(network.OutputLayer.Activation);
        Losses.ValidatePairing(Loss, network.OutputLayer.Activation);
        foreach (DenseLayer l in network.Layers)
            if (!l.Activation.IsDifferentiable)
                throw new ArgumentException($"Layer {l.Index} uses {l.Activation}, which has no derivative; train a step neuron with the Perceptron class.", nameof(network));
        _optimizer = new Optimizer(options.Optimizer, network.BufferLength);
        _gradient = new AlignedBuffer(network.BufferLength);
        _parallelGradient = new ParallelGradient(network, Loss, options.WeightDecay);
        _ownsPool = pool is null;
        _pool = pool ?? new WorkerPool(options.Threads);
    }

    /// <summary>Threads a step may use (the calling thread included).</summary>
    public int Threads => _pool.Threads;

    /// <summary>Rows per shard for a batch: depends on the batch size only, never on the thread count.</summary>
    public static int ShardRows(int batchRows) => ParallelGradient.ShardRows(Math.Min(batchRows, ParallelGradient.MaxBlockRows));

    /// <summary>Stops the worker threads this trainer started.</summary>
    public void Dispose()
    {
        if (_ownsPool) _pool.Dispose();
    }

    /// <summary>The network being trained.</summary>
    public Network Network => _net;
    /// <summary>The options.</summary>
    public TrainerOptions Options { get; }
    /// <summary>The loss in use.</summary>
    public LossKind Loss { get; }
    /// <summary>The gradient of the last step, in the parameter layout.</summary>
    public ReadOnlySpan<float> Gradient => _gradient.Span;
    /// <summary>Optimizer steps taken so far.</summary>
    public long StepCount => _optimizer.Steps;
    /// <summary>Called after every epoch of <see cref="Fit"/> (progress bars, learning curves).</summary>
    public Action<EpochReport>? EpochCompleted { get; set; }

    /// <summary>One step (forward, backward, update) on a batch with dense targets. Returns the batch loss before the update.</summary>
    /// <exception cref="TrainingDivergedException">The loss or gradient is not finite; the parameters are unchanged.</exception>
    public float Step(ReadOnlySpan2D<float> inputs, ReadOnlySpan2D<float> targets)
    {
        ReadOnlySpan<float> x = Shapes.Contiguous(inputs, _net.InputSize, nameof(inputs));
        ReadOnlySpan<float> t = Shapes.Contiguous(targets, _net.OutputSize, nameof(targets));
        CheckRows(inputs.Height, targets.Height, nameof(targets));
        Validation.RequireFinite(x, nameof(inputs), _net.InputSize);
        Validation.RequireFinite(t, nameof(targets), _net.OutputSize);
        return StepCore(x, new Targets(t), inputs.Height);
    }

    /// <summary>One step on a batch with class labels. Returns the batch loss before the update.</summary>
    /// <exception cref="TrainingDivergedException">The loss or gradient is not finite; the parameters are unchanged.</exception>
    public float Step(ReadOnlySpan2D<float> inputs, ReadOnlySpan<int> labels)
    {
        ReadOnlySpan<float> x = Shapes.Contiguous(inputs, _net.InputSize, nameof(inputs));
        CheckRows(inputs.Height, labels.Length, nameof(labels));
        Validation.RequireFinite(x, nameof(inputs), _net.InputSize);
        Validation.RequireLabels(labels, _net.OutputSize, nameof(labels));
        return StepCore(x, new Targets(labels), inputs.Height);
    }

    /// <summary>
    /// Trains on <paramref name="train"/> for up to <see cref="TrainerOptions.Epochs"/> epochs. Validation uses
    /// <paramref name="validation"/>, or a stratified split of <see cref="TrainerOptions.ValidationFraction"/> of the
    /// training set; with validation the network ends holding the weights of the best validation epoch.
    /// </summary>
    public TrainingResult Fit(Dataset train, Dataset? validation = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckDataset(train, nameof(train));
        if (validation is null && Options.ValidationFraction > 0)
            (train, validation) = train.Split(Options.ValidationFraction, Options.Seed);
        if (validation is not null)
            CheckDataset(validation, nameof(validation));

        int n = train.Count;
        int batch = Math.Min(Options.BatchSize, n);
        if (_order.Length != n) _order = new int[n];
        int[] order = _order;
        for (int i = 0; i < n; i++) order[i] = i;
        var random = new Random(Options.Seed);
        if (validation is not null && _best.Length != _net.BufferLength) _best = new float[_net.BufferLength];
        float[]? best = validation is null ? null : _best;
        _batch.Bind(train, order, batch);
        try
        {
            return FitEpochs(train, validation, order, batch, random, best, cancellationToken);
        }
        finally
        {
            _batch.Unbind();
        }
    }

    private TrainingResult FitEpochs(Dataset train, Dataset? validation, int[] order, int batch, Random random, float[]? best,
        CancellationToken cancellationToken)
    {
        int n = train.Count;
        double bestLoss = double.PositiveInfinity;
        int bestEpoch = 0, sinceBest = 0;
        var history = new List<EpochReport>(Math.Min(Options.Epochs, 10_000));
        StopReason reason = StopReason.EpochLimit;
        string? message = null;

        for (int epoch = 1; epoch <= Options.Epochs && reason == StopReason.EpochLimit; epoch++)
        {
            long start = Stopwatch.GetTimestamp();
            if (Options.Shuffle) random.Shuffle(order);
            double lossSum = 0;
            int correct = 0;
            for (int s = 0; s < n; s += batch)
            {
                if (cancellationToken.IsCancellationRequested) { reason = StopReason.Cancelled; break; }
                int rows = Math.Min(batch, n - s);
                _batch.Select(s);
                try
                {
                    lossSum += StepGathered(rows) * (double)rows;
                }
                catch (TrainingDivergedException e)
                {
                    reason = StopReason.Diverged;
                    message = $"Epoch {epoch}, step {s / batch + 1}: {e.Message}";
                    break;
                }
                correct += _lastCorrect;
            }
            if (reason is StopReason.Cancelled or StopReason.Diverged) break;
            double trainTime = Stopwatch.GetElapsedTime(start).TotalSeconds;

            double trainLoss = lossSum / n;
            double valLoss = double.NaN, valAcc = double.NaN;
            if (validation is not null)
            {
                valLoss = Evaluate(validation, out int valCorrect);
                valAcc = validation.IsClassification ? (double)valCorrect / validation.Count : double.NaN;
                if (valLoss < bestLoss)
                {
                    bestLoss = valLoss; bestEpoch = epoch; sinceBest = 0;
                    _net.Parameters.CopyTo(best);
                }
                else if (Options.Patience > 0 && ++sinceBest >= Options.Patience)
                {
                    reason = StopReason.EarlyStopping;
                }
            }
            else
            {
                bestEpoch = epoch;
            }
            if (Options.TargetLoss is { } target && trainLoss <= target)
                reason = StopReason.TargetLossReached;

            var report = new EpochReport(epoch, trainLoss, train.IsClassification ? (double)correct / n : double.NaN,
                valLoss, valAcc, n / Math.Max(trainTime, 1e-9), Stopwatch.GetElapsedTime(start));
            history.Add(report);
            EpochCompleted?.Invoke(report);
        }

        if (best is not null && bestEpoch > 0)
            best.CopyTo(_net.Parameters);
        return new TrainingResult(reason, history, bestEpoch, best is null ? double.NaN : bestLoss, message);
    }

    /// <summary>Loss of a whole data set with the current weights, and how many samples it classifies correctly.</summary>
    public double Evaluate(Dataset data, out int correct)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckDataset(data, nameof(data));
        Targets targets = data.IsClassification ? new Targets(data.Labels) : new Targets(data.TargetArray);
        return _parallelGradient.Evaluate(_pool, ParallelGradient.ThreadsFor(_pool, _net, data.Count), data.FeatureArray, targets, data.Count, out correct);
    }

    private float StepCore(ReadOnlySpan<float> x, Targets targets, int rows)
    {
        int threads = ParallelGradient.ThreadsFor(_pool, _net, rows);
        double loss = _parallelGradient.Compute(_pool, threads, x, targets, rows, _gradient.Span, out int correct, out bool finite);
        return Update(loss, finite, correct, threads);
    }

    /// <summary>A step of <see cref="Fit"/> on the batch <see cref="_batch"/> selects; the step's shards gather the rows.</summary>
    private float StepGathered(int rows)
    {
        int threads = ParallelGradient.ThreadsFor(_pool, _net, rows);
        double loss = _parallelGradient.Compute(_pool, threads, _batch, rows, _gradient.Span, out int correct, out bool finite);
        return Update(loss, finite, correct, threads);
    }

    private float Update(double loss, bool finite, int correct, int threads)
    {
        if (!double.IsFinite(loss) || !finite)
            throw new TrainingDivergedException($"the loss is {loss} or the gradient is not finite; the weights were left at their last finite values (lower the learning rate or scale the inputs).");
        _optimizer.Step(_net.Parameters, _gradient.Span, _pool, threads);
        _lastCorrect = correct;
        return (float)loss;
    }

    private void CheckDataset(Dataset data, string name)
    {
        if (data.FeatureCount != _net.InputSize)
            throw new ArgumentException($"'{name}' has {data.FeatureCount} features; the network takes {_net.InputSize}.", name);
        if (data.IsClassification)
        {
            int classes = _net.OutputSize == 1 ? 2 : _net.OutputSize;
            if (data.ClassCount > classes)
                throw new ArgumentException($"'{name}' has {data.ClassCount} classes; the network's {_net.OutputSize} output(s) can represent {classes}.", name);
        }
        else if (data.TargetCount != _net.OutputSize)
        {
            throw new ArgumentException($"'{name}' has {data.TargetCount} targets per row; the network has {_net.OutputSize} outputs.", name);
        }
    }

    private static void CheckRows(int inputRows, int targetRows, string targetName)
    {
        if (inputRows == 0)
            throw new ArgumentException("The batch is empty.", "inputs");
        if (inputRows != targetRows)
            throw new ArgumentException($"'{targetName}' has {targetRows} rows but the inputs have {inputRows}.", targetName);
    }
}
