using FastMlp.Kernels;
using FastMlp.Threading;

namespace FastMlp.Training;

/// <summary>
/// The loss and gradient of a batch, computed by the threads of a <see cref="WorkerPool"/> in two phases per block of
/// up to <see cref="MaxBlockRows"/> rows: (1) the rows, cut into shards, run forward and backward into one shared
/// workspace (each shard its own rows, which it first gathers into the batch buffer when the batch comes from a
/// <see cref="BatchGather"/>); (2) the weight gradient of every layer, cut into blocks of outputs, is summed
/// over all the block's rows at once, straight into the flat gradient buffer.
/// </summary>
/// <remarks>
/// <para>Nothing is reduced: no shard owns a gradient buffer, and each gradient element is one sum over the rows in
/// row order, computed by one thread. The gradient is therefore bitwise the same for any thread count and equal to the
/// single-threaded <see cref="Backpropagation.ComputeGradient(ReadOnlySpan{float}, Targets, int, Span{float})"/> of the
/// batch; only the loss is summed per shard, whose boundaries depend on the batch size alone.</para>
/// <para>The weight-gradient GEMMs reduce over the whole block (up to 512 rows) instead of one shard's rows, and the
/// per-shard gradient buffers, their clearing and their reduction (8 x the parameter buffer per step) are gone.</para>
/// </remarks>
internal sealed unsafe class ParallelGradient : IParallelJob
{
    /// <summary>Rows per block: the workspace holds one block, so memory stays bounded for full-batch gradients.</summary>
    public const int MaxBlockRows = 512;

    /// <summary>Most shards a block is cut into (and so the most threads phase one can use).</summary>
    public const int MaxShards = 8;

    /// <summary>Fewest rows per shard: below this the per-shard GEMMs are too short to pay for a hand-over.</summary>
    public const int MinShardRows = 16;

    /// <summary>Outputs per weight-gradient item: a multiple of every path's tile height (4, 6, 8).</summary>
    private const int OutputBlock = 48;

    private readonly Network _net;
    private readonly LossKind _loss;
    private readonly float _weightDecay;
    private readonly (int Layer, int First, int Count)[] _blocks;
    private readonly double[] _shardLoss = new double[MaxShards];
    private readonly int[] _shardCorrect = new int[MaxShards];
    private Backpropagation? _workspace;
    private BatchGather? _gather;

    // The block being computed, published to the workers for the duration of one WorkerPool.Run.
    private float* _x;
    private float* _dense;
    private int* _labels;
    private bool _hasLabels;
    private int _rows, _shardRows, _blockStart;
    private double _normalizer;
    private float* _gradient;
    private int _gradientLength;
    private bool _weightPhase, _accumulate, _lastBlock, _lossOnly;
    private int _nonFinite;

    /// <summary>Prepares the work split of <paramref name="network"/>; buffers come with the first batch.</summary>
    public ParallelGradient(Network network, LossKind loss, float weightDecay)
    {
        _net = network;
        _loss = loss;
        _weightDecay = weightDecay;
        var blocks = new List<(int, int, int)>();
        foreach (DenseLayer l in network.Layers)
            for (int first = 0; first < l.Outputs; first += OutputBlock)
                blocks.Add((l.Index, first, Math.Min(OutputBlock, l.Outputs - first)));
        // Largest items first, so the last ones to be claimed are short and the threads finish together.
        _blocks = [.. blocks.OrderByDescending(b => (long)b.Item3 * network.LayerArray[b.Item1].Inputs)];
    }

    /// <summary>Rows per shard of a block: depends on the block's size only, never on the thread count.</summary>
    public static int ShardRows(int blockRows) => Math.Max(MinShardRows, (blockRows + MaxShards - 1) / MaxShards);

    /// <summary>
    /// Threads worth using for a batch of <paramref name="rows"/>: the pool's from <see cref="Trainer.MinParallelRows"/> rows
    /// (two full shards) or from <see cref="Trainer.MinParallelWork"/> rows x parameters, else one.
    /// </summary>
    public static int ThreadsFor(WorkerPool pool, Network network, int rows) =>
        rows >= Trainer.MinParallelRows || (long)rows * network.ParameterCount >= Trainer.MinParallelWork ? pool.Threads : 1;

    /// <summary>A workspace for at least <paramref name="rows"/> rows (up to <see cref="MaxBlockRows"/>), for serial use between steps.</summary>
    public Backpropagation Workspace(int rows)
    {
        rows = Math.Min(rows, MaxBlockRows);
        if (_workspace is null || _workspace.MaxBatch < rows)
            _workspace = new Backpropagation(_net, _loss, rows) { WeightDecay = _weightDecay };
        return _workspace;
    }

    /// <summary>
    /// As <see cref="Compute(WorkerPool, int, ReadOnlySpan{float}, Targets, int, Span{float}, out int, out bool)"/> on
    /// the <paramref name="rows"/> rows that <paramref name="gather"/> selects: each shard of phase one first copies its
    /// own rows into the gather's batch buffers, so the copy runs on the step's threads instead of before the step.
    /// </summary>
    public double Compute(WorkerPool pool, int maxThreads, BatchGather gather, int rows,
        Span<float> gradient, out int correct, out bool finite)
    {
        _gather = gather;
        try
        {
            return Compute(pool, maxThreads, gather.Inputs(rows), gather.Targets(rows), rows, gradient, out correct, out finite);
        }
        finally
        {
            _gather = null;
        }
    }

    /// <summary>
    /// Loss J of the batch (weight penalty included) with its gradient written over <paramref name="gradient"/>;
    /// <paramref name="finite"/> is false when any gradient element is NaN or infinite.
    /// </summary>
    public double Compute(WorkerPool pool, int maxThreads, ReadOnlySpan<float> x, Targets targets, int rows,
        Span<float> gradient, out int correct, out bool finite)
    {
        Backpropagation workspace = Workspace(rows);
        double sum = 0;
        correct = 0;
        _nonFinite = 0;
        _normalizer = Losses.Normalizer(_loss, rows, _net.OutputSize);
        fixed (float* px = x)
        fixed (float* pt = targets.Dense)
        fixed (int* pl = targets.Labels)
        fixed (float* pg = gradient)
        {
            _hasLabels = targets.IsLabels;
            _gradient = pg;
            _gradientLength = gradient.Length;
            for (int start = 0; start < rows; start += MaxBlockRows)
            {
                int n = Math.Min(MaxBlockRows, rows - start);
                RunShards(pool, maxThreads, px, pt, pl, start, n, ref sum, ref correct);
                _weightPhase = true;
                _accumulate = start > 0;
                _lastBlock = start + n == rows;
                pool.Run(this, _blocks.Length, maxThreads);
            }
            _x = null; _dense = null; _labels = null; _gradient = null;
        }
        finite = _nonFinite == 0;
        return sum * _normalizer + workspace.WeightPenalty();
    }

    /// <summary>
    /// Loss J of <paramref name="rows"/> rows (weight penalty included) and how many are classified correctly, with no
    /// gradient: phase one only, each shard running forward and the loss of its rows. The loss is summed per shard and
    /// the shards in order, so it is the same for any thread count.
    /// </summary>
    public double Evaluate(WorkerPool pool, int maxThreads, ReadOnlySpan<float> x, Targets targets, int rows, out int correct)
    {
        Backpropagation workspace = Workspace(rows);
        double sum = 0;
        correct = 0;
        fixed (float* px = x)
        fixed (float* pt = targets.Dense)
        fixed (int* pl = targets.Labels)
        {
            _hasLabels = targets.IsLabels;
            _lossOnly = true;
            try
            {
                for (int start = 0; start < rows; start += MaxBlockRows)
                    RunShards(pool, maxThreads, px, pt, pl, start, Math.Min(MaxBlockRows, rows - start), ref sum, ref correct);
            }
            finally
            {
                _lossOnly = false;
                _x = null; _dense = null; _labels = null;
            }
        }
        return sum * Losses.Normalizer(_loss, rows, _net.OutputSize) + workspace.WeightPenalty();
    }

    /// <summary>Phase one on the block of <paramref name="n"/> rows from <paramref name="start"/>: its shards, then their losses and counts added in shard order.</summary>
    private void RunShards(WorkerPool pool, int maxThreads, float* px, float* pt, int* pl, int start, int n, ref double sum, ref int correct)
    {
        _x = px + (long)start * _net.InputSize;
        _dense = _hasLabels ? null : pt + (long)start * _net.OutputSize;
        _labels = _hasLabels ? pl + start : null;
        _rows = n;
        _blockStart = start;
        _shardRows = ShardRows(n);
        int shards = (n + _shardRows - 1) / _shardRows;
        _weightPhase = false;
        pool.Run(this, shards, maxThreads);
        for (int s = 0; s < shards; s++) { sum += _shardLoss[s]; correct += _shardCorrect[s]; }
    }

    /// <summary>Item of phase one (a shard of rows) or phase two (a block of one layer's outputs).</summary>
    void IParallelJob.Execute(int item, int worker)
    {
        Backpropagation workspace = _workspace!;
        var x = new ReadOnlySpan<float>(_x, _rows * _net.InputSize);
        if (!_weightPhase)
        {
            int first = item * _shardRows;
            int count = Math.Min(_shardRows, _rows - first);
            _gather?.Copy(_blockStart + first, count);
            Targets targets = _hasLabels
                ? new Targets(new ReadOnlySpan<int>(_labels, _rows))
                : new Targets(new ReadOnlySpan<float>(_dense, _rows * _net.OutputSize));
            _shardLoss[item] = _lossOnly
                ? workspace.ForwardLoss(x, targets, first, count)
                : workspace.ForwardBackward(x, targets, first, count, _normalizer);
            _shardCorrect[item] = workspace.CountCorrect(targets, first, count);
            return;
        }

        (int layer, int firstOutput, int outputs) = _blocks[item];
        var gradient = new Span<float>(_gradient, _gradientLength);
        workspace.WeightGradient(x, _rows, layer, firstOutput, outputs, gradient, _accumulate);
        if (!_lastBlock) return;
        workspace.ApplyWeightDecay(layer, firstOutput, outputs, gradient);
        DenseLayer l = _net.LayerArray[layer];
        if (!VectorOps.AllFinite(gradient.Slice(l.WeightOffset + firstOutput * l.Inputs, outputs * l.Inputs))
            || !VectorOps.AllFinite(gradient.Slice(l.BiasOffset + firstOutput, outputs)))
            Volatile.Write(ref _nonFinite, 1);
    }
}
