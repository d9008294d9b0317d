using CommunityToolkit.HighPerformance;
using FastMlp;
using Xunit;

namespace FastMlp.Tests;

/// <summary>
/// The hot paths allocate nothing after a warm-up call on the same thread (see <see cref="AllocationProbe"/>).
/// </summary>
public class ZeroAllocationTests
{
    private const int Rows = 100; // two 64-row inference blocks, the second one partial
    private const int Repeats = 5;

    private static Network Net(Activation output)
    {
        var net = new Network(6, new LayerSpec(20, Activation.Relu), new LayerSpec(17, Activation.Tanh), new LayerSpec(3, output));
        net.Initialize(1);
        return net;
    }

    private static float[] Inputs(int rows, int width, int seed)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, rows * width).Select(_ => (float)rnd.NextDouble() * 2 - 1).ToArray();
    }

    private static long Measure(Action action) => AllocationProbe.Measure(action, Repeats);

    [Fact]
    public void Measure_DetectsAnAllocation()
    {
        // The probe itself works: an action that allocates is seen.
        object? keep = null;
        Assert.True(Measure(() => keep = new float[4]) > 0);
        Assert.NotNull(keep);
    }

    [Fact]
    public void Forward_Batch_AllocatesNothing()
    {
        Network net = Net(Activation.Softmax);
        float[] x = Inputs(Rows, 6, 1);
        var y = new float[Rows * 3];
        long bytes = Measure(() => net.Forward(new ReadOnlySpan2D<float>(x, Rows, 6), new Span2D<float>(y, Rows, 3)));
        Assert.Equal(0, bytes);
        Assert.All(y, v => Assert.True(v > 0f && v < 1f)); // it really ran
    }

    [Fact]
    public void FrozenPredict_AllocatesNothing()
    {
        FrozenNetwork frozen = Net(Activation.Softmax).Freeze();
        float[] x = Inputs(1, 6, 2);
        var y = new float[3];
        long bytes = Measure(() => frozen.Predict(x, y)) + Measure(() => frozen.PredictClass(x));
        Assert.Equal(0, bytes);
        Assert.All(y, v => Assert.True(v > 0f && v < 1f));
    }

    [Fact]
    public void Predict_AllocatesNothing()
    {
        Network net = Net(Activation.Sigmoid);
        float[] x = Inputs(1, 6, 2);
        var y = new float[3];
        long bytes = Measure(() => net.Predict(x, y));
        Assert.Equal(0, bytes);
        Assert.All(y, v => Assert.True(v > 0f && v < 1f));
    }

    [Fact]
    public void PredictClass_AllocatesNothing()
    {
        Network net = Net(Activation.Softmax);
        float[] x = Inputs(1, 6, 3);
        int cls = -1;
        long bytes = Measure(() => cls = net.PredictClass(x));
        Assert.Equal(0, bytes);
        Assert.InRange(cls, 0, 2);
    }

    [Theory]
    [InlineData(LossKind.MeanSquaredError)]
    [InlineData(LossKind.BinaryCrossEntropy)]
    [InlineData(LossKind.CategoricalCrossEntropy)]
    public void ComputeGradient_DenseTargets_AllocatesNothing(LossKind loss)
    {
        Network net = Net(loss == LossKind.CategoricalCrossEntropy ? Activation.Softmax : Activation.Sigmoid);
        var bp = new Backpropagation(net, loss, Rows);
        float[] x = Inputs(Rows, 6, 4);
        var t = new float[Rows * 3];
        for (int r = 0; r < Rows; r++) t[r * 3 + r % 3] = 1f;
        var g = new float[net.BufferLength];
        float j = 0;
        long bytes = Measure(() => j = bp.ComputeGradient(new ReadOnlySpan2D<float>(x, Rows, 6), new ReadOnlySpan2D<float>(t, Rows, 3), g));
        Assert.Equal(0, bytes);
        Assert.True(j > 0f && float.IsFinite(j));
    }

    [Fact]
    public void ComputeGradient_Labels_AllocatesNothing()
    {
        Network net = Net(Activation.Softmax);
        var bp = new Backpropagation(net, LossKind.CategoricalCrossEntropy, Rows);
        float[] x = Inputs(Rows, 6, 5);
        int[] labels = Enumerable.Range(0, Rows).Select(r => r % 3).ToArray();
        var g = new float[net.BufferLength];
        float j = 0;
        long bytes = Measure(() => j = bp.ComputeGradient(new ReadOnlySpan2D<float>(x, Rows, 6), labels, g));
        Assert.Equal(0, bytes);
        Assert.True(j > 0f && float.IsFinite(j));
    }

    [Fact]
    public void ComputeGradient_SmallerBatchThanMax_AllocatesNothing()
    {
        Network net = Net(Activation.Identity);
        var bp = new Backpropagation(net, LossKind.MeanSquaredError, Rows);
        float[] x = Inputs(7, 6, 6);
        var t = new float[7 * 3];
        var g = new float[net.BufferLength];
        long bytes = Measure(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(x, 7, 6), new ReadOnlySpan2D<float>(t, 7, 3), g));
        Assert.Equal(0, bytes);
    }

    [Fact]
    public void ComputeGradient_WithWeightDecay_AllocatesNothing()
    {
        // The L2 term is part of the training hot path too (every step of a regularised run).
        Network net = Net(Activation.Softmax);
        var bp = new Backpropagation(net, LossKind.CategoricalCrossEntropy, Rows) { WeightDecay = 1e-3f };
        float[] x = Inputs(Rows, 6, 7);
        int[] labels = Enumerable.Range(0, Rows).Select(r => r % 3).ToArray();
        var g = new float[net.BufferLength];
        long bytes = Measure(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(x, Rows, 6), labels, g));
        Assert.Equal(0, bytes);
    }
}
