using FastMlp.Data;
using FastMlp.Kernels;

namespace FastMlp.Training;

/// <summary>
/// The contiguous batch buffers of <see cref="Trainer.Fit"/> and how a shuffled batch's rows are copied into them.
/// The copy is done by the step itself (<see cref="ParallelGradient"/>'s first phase): each shard gathers its own
/// rows right before running them forward, so the gather is spread over the step's threads and the rows are still in
/// that thread's cache when the forward pass reads them.
/// </summary>
/// <remarks>
/// A row's copy depends only on its position in the batch, so the batch holds the same values however the rows are
/// split between threads. Buffers grow to the largest batch seen and are reused; nothing is allocated per step.
/// </remarks>
internal sealed class BatchGather
{
    private float[] _inputs = [];
    private int[] _labels = [];
    private float[] _targets = [];
    private Dataset? _data;
    private int[] _order = [];
    private int _first;

    /// <summary>Binds the data set and its row order for a run of <see cref="Trainer.Fit"/> and sizes the buffers for <paramref name="batchRows"/>.</summary>
    public void Bind(Dataset data, int[] order, int batchRows)
    {
        int inputs = data.FeatureCount;
        if (_inputs.Length < batchRows * inputs) _inputs = new float[batchRows * inputs];
        if (data.IsClassification && _labels.Length < batchRows) _labels = new int[batchRows];
        if (!data.IsClassification && _targets.Length < batchRows * data.TargetCount) _targets = new float[batchRows * data.TargetCount];
        _data = data;
        _order = order;
    }

    /// <summary>Releases the data set (the buffers stay for the next run).</summary>
    public void Unbind()
    {
        _data = null;
        _order = [];
    }

    /// <summary>The next batch starts at position <paramref name="first"/> of the order.</summary>
    public void Select(int first) => _first = first;

    /// <summary>The batch's inputs, <paramref name="rows"/> x features (filled as the step runs).</summary>
    public ReadOnlySpan<float> Inputs(int rows) => _inputs.AsSpan(0, rows * _data!.FeatureCount);

    /// <summary>The batch's targets, <paramref name="rows"/> of them (filled as the step runs).</summary>
    public Targets Targets(int rows) => _data!.IsClassification
        ? new Targets(_labels.AsSpan(0, rows))
        : new Targets(_targets.AsSpan(0, rows * _data.TargetCount));

    /// <summary>Copies batch rows <paramref name="first"/>..first+count-1 (features and targets) into place.</summary>
    public void Copy(int first, int count)
    {
        Dataset data = _data!;
        ReadOnlySpan<int> rows = _order.AsSpan(_first + first, count);
        int inputs = data.FeatureCount;
        float[] features = data.FeatureArray;
        Span<float> x = _inputs.AsSpan(first * inputs, count * inputs);
        for (int i = 0; i < rows.Length; i++)
            features.AsSpan(rows[i] * inputs, inputs).CopyTo(x.Slice(i * inputs, inputs));
        if (data.LabelArray is { } labels)
        {
            Span<int> y = _labels.AsSpan(first, count);
            for (int i = 0; i < rows.Length; i++) y[i] = labels[rows[i]];
            return;
        }
        int outputs = data.TargetCount;
        float[] targets = data.TargetArray!;
        Span<float> t = _targets.AsSpan(first * outputs, count * outputs);
        for (int i = 0; i < rows.Length; i++)
            targets.AsSpan(rows[i] * outputs, outputs).CopyTo(t.Slice(i * outputs, outputs));
    }
}
