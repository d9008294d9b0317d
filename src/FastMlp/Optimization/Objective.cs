using FastMlp.Data;
using FastMlp.Kernels;
using FastMlp.Threading;
using FastMlp.Training;

namespace FastMlp.Optimization;

/// <summary>
/// The full-batch training objective J(w) of a network on a data set: the loss over every row (plus the optional
/// L2 penalty) and its gradient in the flat parameter layout (<see cref="Network.BufferLength"/> floats, padding
/// entries always zero). Rows are processed in blocks of <see cref="BlockRows"/>, so memory stays bounded; after the
/// first evaluation nothing is allocated. Given a <see cref="WorkerPool"/>, the gradient is computed on its threads the
/// way a training step is (bitwise the same result for any thread count).
/// </summary>
/// <remarks>The objective evaluates at the network's own parameters: <see cref="Evaluate(ReadOnlySpan{float}, Span{float})"/>
/// first copies the point into <see cref="Network.Parameters"/>. Not thread-safe.</remarks>
public sealed class Objective
{
    /// <summary>Rows per back-propagation block.</summary>
    public const int BlockRows = ParallelGradient.MaxBlockRows;

    private readonly ParallelGradient _gradient;
    private readonly WorkerPool _pool;
    private readonly Dataset _data;

    /// <summary>Creates the objective of <paramref name="network"/> on <paramref name="data"/>.</summary>
    /// <param name="network">The network whose parameters are optimised.</param>
    /// <param name="data">Training rows (class labels or dense targets matching the network's outputs).</param>
    /// <param name="loss">The loss; null picks the natural loss of the output activation.</param>
    /// <param name="weightDecay">L2 penalty lambda on the weights (not biases), &gt;= 0.</param>
    /// <param name="pool">Threads for the gradient (the caller keeps ownership); null computes it on the calling thread.</param>
    /// <exception cref="ArgumentException">The data does not fit the network, or the loss does not fit the output activation.</exception>
    public Objective(Network network, Dataset data, LossKind? loss = null, float weightDecay = 0f, WorkerPool? pool = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        if (data.FeatureCount != network.InputSize)
            throw new ArgumentException($"The data has {data.FeatureCount} features; the network takes {network.InputSize}.", nameof(data));
        if (data.IsClassification)
        {
            int outputs = network.OutputSize == 1 ? 2 : network.OutputSize;
            if (data.ClassCount > outputs)
                throw new ArgumentException($"The data has {data.ClassCount} classes; the network has {network.OutputSize} output(s).", nameof(data));
        }
        else if (data.TargetCount != network.OutputSize)
        {
            throw new ArgumentException($"The data has {data.TargetCount} target column(s); the network has {network.OutputSize} output(s).", nameof(data));
        }
        Loss = loss ?? Losses.DefaultFor(network.OutputLayer.Activation);
        WeightDecay = weightDecay;
        _gradient = new ParallelGradient(network, Loss, weightDecay);
        _gradient.Workspace(data.Count); // validates the loss, the activations and the weight decay now
        _pool = pool ?? SerialPool;
        _data = data;
        Network = network;
    }

    /// <summary>A pool of one thread (the caller): it starts no threads, so one instance serves every objective.</summary>
    private static readonly WorkerPool SerialPool = new(1);

    /// <summary>The network (its parameters are the point of evaluation).</summary>
    public Network Network { get; }
    /// <summary>The data.</summary>
    public Dataset Data => _data;
    /// <summary>The loss.</summary>
    public LossKind Loss { get; }
    /// <summary>L2 penalty on the weights.</summary>
    public float WeightDecay { get; }
    /// <summary>Length of a point or gradient: <see cref="Network.BufferLength"/>.</summary>
    public int Length => Network.BufferLength;
    /// <summary>Evaluations so far (loss and gradient, or loss only).</summary>
    public long Evaluations { get; private set; }

    /// <summary>J and dJ/dw at the network's current parameters; the gradient is written over <paramref name="gradient"/>.</summary>
    public double Evaluate(Span<float> gradient)
    {
        Shapes.RequireLength(gradient, Length, nameof(gradient));
        Evaluations++;
        gradient.Clear(); // the padding between layers is never written
        int rows = _data.Count;
        return _gradient.Compute(_pool, ParallelGradient.ThreadsFor(_pool, Network, rows), _data.FeatureArray, Targets(), rows, gradient, out _, out _);
    }

    /// <summary>Copies <paramref name="point"/> into the network's parameters, then evaluates J and its gradient there.</summary>
    public double Evaluate(ReadOnlySpan<float> point, Span<float> gradient)
    {
        SetPoint(point);
        return Evaluate(gradient);
    }

    /// <summary>J at the network's current parameters, without a gradient.</summary>
    public double Value()
    {
        Evaluations++;
        int rows = _data.Count;
        return _gradient.Evaluate(_pool, ParallelGradient.ThreadsFor(_pool, Network, rows), _data.FeatureArray, Targets(), rows, out _);
    }

    /// <summary>Copies <paramref name="point"/> into the network's parameters.</summary>
    public void SetPoint(ReadOnlySpan<float> point)
    {
        Shapes.RequireLength(point, Length, nameof(point));
        Span<float> p = Network.Parameters;
        if (!point.Overlaps(p)) point.CopyTo(p);
    }

    private Targets Targets() => _data.IsClassification ? new Targets(_data.Labels) : new Targets(_data.TargetArray);
}
