using CommunityToolkit.HighPerformance;
using FastMlp;
using Xunit;

namespace FastMlp.Tests;

/// <summary>
/// Wrong shapes, wrong data and wrong configurations: each is an <see cref="ArgumentException"/> (or a subclass)
/// whose message names the offending value or position.
/// </summary>
public class BadInputTests
{
    // 4 inputs, 3 outputs.
    private static Network Net(Activation? output = null)
    {
        var net = new Network(4, new LayerSpec(5, Activation.Tanh), new LayerSpec(3, output ?? Activation.Softmax));
        net.Initialize(3);
        return net;
    }

    private static TException Throws<TException>(Action action, params string[] fragments) where TException : ArgumentException
    {
        TException ex = Assert.ThrowsAny<TException>(action);
        foreach (string f in fragments)
            Assert.Contains(f, ex.Message);
        return ex;
    }

    // ---- inference shapes ----

    [Fact]
    public void Forward_WrongInputColumns()
    {
        Network net = Net();
        var ex = Throws<ArgumentException>(() => net.Forward(new ReadOnlySpan2D<float>(new float[10], 2, 5), new Span2D<float>(new float[6], 2, 3)), "5", "4");
        Assert.Equal("inputs", ex.ParamName);
    }

    [Fact]
    public void Forward_WrongOutputColumns()
    {
        Network net = Net();
        var ex = Throws<ArgumentException>(() => net.Forward(new ReadOnlySpan2D<float>(new float[8], 2, 4), new Span2D<float>(new float[4], 2, 2)), "2", "3");
        Assert.Equal("outputs", ex.ParamName);
    }

    [Fact]
    public void Forward_RowMismatch()
    {
        Network net = Net();
        Throws<ArgumentException>(() => net.Forward(new ReadOnlySpan2D<float>(new float[12], 3, 4), new Span2D<float>(new float[6], 2, 3)), "3", "2");
    }

    [Fact]
    public void Forward_NonContiguousView()
    {
        Network net = Net();
        // A 2x4 window with a pitch of 1 inside a 2x5 array.
        Throws<ArgumentException>(() => net.Forward(new ReadOnlySpan2D<float>(new float[10], 0, 2, 4, 1), new Span2D<float>(new float[6], 2, 3)), "contiguous");
    }

    [Fact]
    public void Predict_WrongLengths()
    {
        Network net = Net();
        Throws<ArgumentException>(() => net.Predict(new float[3], new float[3]), "3", "4");
        Throws<ArgumentException>(() => net.Predict(new float[4], new float[2]), "2", "3");
        Throws<ArgumentException>(() => net.PredictClass(new float[7]), "7", "4");
    }

    [Fact]
    public void Weights_LayerOutOfRange()
    {
        Network net = Net();
        Throws<ArgumentOutOfRangeException>(() => net.Weights(2), "2");
        Throws<ArgumentOutOfRangeException>(() => net.Biases(-1), "-1");
    }

    // ---- gradient shapes ----

    [Fact]
    public void ComputeGradient_WrongInputColumns()
    {
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 8);
        var g = new float[bp.Network.BufferLength];
        var ex = Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[6], 2, 3), [0, 1], g), "3", "4");
        Assert.Equal("inputs", ex.ParamName);
    }

    [Fact]
    public void ComputeGradient_WrongTargetColumns()
    {
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 8);
        var g = new float[bp.Network.BufferLength];
        var ex = Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[8], 2, 4), new ReadOnlySpan2D<float>(new float[4], 2, 2), g), "2", "3");
        Assert.Equal("targets", ex.ParamName);
    }

    [Fact]
    public void ComputeGradient_RowMismatch_DenseAndLabels()
    {
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 8);
        var g = new float[bp.Network.BufferLength];
        Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[12], 3, 4), new ReadOnlySpan2D<float>(new float[6], 2, 3), g), "2", "3");
        var ex = Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[12], 3, 4), [0, 1, 2, 0, 1], g), "5", "3");
        Assert.Equal("labels", ex.ParamName);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1)]
    public void ComputeGradient_WrongGradientLength(int delta)
    {
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 8);
        int length = bp.Network.BufferLength;
        var ex = Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[8], 2, 4), [0, 1], new float[length + delta]),
            (length + delta).ToString(), length.ToString());
        Assert.Equal("gradient", ex.ParamName);
    }

    [Fact]
    public void ComputeGradient_EmptyBatch()
    {
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 8);
        var g = new float[bp.Network.BufferLength];
        Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[0], 0, 4), ReadOnlySpan<int>.Empty, g), "empty");
        Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[0], 0, 4), new ReadOnlySpan2D<float>(new float[0], 0, 3), g), "empty");
    }

    [Fact]
    public void ComputeLoss_EmptyBatch_IsRejectedOrZero_NeverNaN()
    {
        // ComputeGradient rejects an empty batch; the loss of an empty batch must not silently be 0/0 = NaN either.
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 8);
        float j;
        try { j = bp.ComputeLoss(new ReadOnlySpan2D<float>(new float[0], 0, 4), ReadOnlySpan<int>.Empty); }
        catch (ArgumentException ex) { Assert.Contains("empty", ex.Message); return; }
        Assert.False(float.IsNaN(j), "ComputeLoss of an empty batch returned NaN");
    }

    [Fact]
    public void ComputeGradient_BatchOverMaxBatch()
    {
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 8);
        var g = new float[bp.Network.BufferLength];
        Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[9 * 4], 9, 4), new int[9], g), "9", "8");
        Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[9 * 4], 9, 4), new ReadOnlySpan2D<float>(new float[27], 9, 3), g), "9", "8");
    }

    [Theory]
    [InlineData(float.NaN, 1, 2)]
    [InlineData(float.PositiveInfinity, 0, 0)]
    [InlineData(float.NegativeInfinity, 3, 1)]
    public void ComputeGradient_NonFiniteTarget_NamesRowAndColumn(float bad, int row, int column)
    {
        var bp = new Backpropagation(Net(Activation.Identity), LossKind.MeanSquaredError, 8);
        var g = new float[bp.Network.BufferLength];
        var t = new float[4 * 3];
        t[row * 3 + column] = bad;
        var ex = Throws<ArgumentException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[16], 4, 4), new ReadOnlySpan2D<float>(t, 4, 3), g),
            $"row {row}", $"column {column}");
        Assert.Equal("targets", ex.ParamName);
        Assert.Contains(bad.ToString(), ex.Message);
    }

    [Theory]
    [InlineData(-1, 3)]
    [InlineData(3, 3)]
    [InlineData(int.MinValue, 3)]
    [InlineData(2, 1)] // one sigmoid output: labels are 0/1
    [InlineData(-1, 1)]
    public void ComputeGradient_LabelOutOfRange_NamesLabelAndRow(int label, int outputs)
    {
        Network net = outputs == 1
            ? new Network(4, new LayerSpec(5, Activation.Tanh), new LayerSpec(1, Activation.Sigmoid))
            : Net();
        LossKind loss = outputs == 1 ? LossKind.BinaryCrossEntropy : LossKind.CategoricalCrossEntropy;
        var bp = new Backpropagation(net, loss, 8);
        var g = new float[net.BufferLength];
        int[] labels = [0, 1, label, 0];
        var ex = Throws<ArgumentOutOfRangeException>(() => bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[16], 4, 4), labels, g),
            label.ToString(), "row 2");
        Assert.Equal(label, ex.ActualValue);
        Assert.Equal("labels", ex.ParamName);
        // ComputeLoss validates the same way.
        Throws<ArgumentOutOfRangeException>(() => bp.ComputeLoss(new ReadOnlySpan2D<float>(new float[16], 4, 4), labels), label.ToString(), "row 2");
    }

    // ---- architecture ----

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void Network_NonPositiveLayerSize(int units)
    {
        var ex = Throws<ArgumentOutOfRangeException>(() => new Network(4, new LayerSpec(5, Activation.Tanh), new LayerSpec(units, Activation.Identity)),
            units.ToString(), "Layer 1");
        Assert.Equal(units, ex.ActualValue);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-2)]
    public void Network_NonPositiveInputSize(int inputs)
    {
        var ex = Throws<ArgumentOutOfRangeException>(() => new Network(inputs, new LayerSpec(5, Activation.Tanh)), inputs.ToString());
        Assert.Equal("inputSize", ex.ParamName);
    }

    [Fact]
    public void Network_NoLayers()
    {
        var ex = Throws<ArgumentException>(() => new Network(4), "layer");
        Assert.Equal("layers", ex.ParamName);
    }

    [Fact]
    public void Network_SoftmaxWithOneUnit()
    {
        Throws<ArgumentException>(() => new Network(4, new LayerSpec(1, Activation.Softmax)), "softmax", "1 unit");
    }

    [Fact]
    public void Network_TooManyParameters()
    {
        Throws<ArgumentException>(() => new Network(100_000, new LayerSpec(100_000, Activation.Relu)), "100000", "layer 0");
    }

    [Fact]
    public void Backpropagation_NonPositiveMaxBatch()
    {
        var ex = Throws<ArgumentOutOfRangeException>(() => new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 0), "0");
        Assert.Equal("maxBatch", ex.ParamName);
    }

    [Theory]
    [InlineData("identity")]
    [InlineData("softmax")]
    [InlineData("tanh")]
    public void BinaryCrossEntropy_NeedsSigmoidOutput(string output)
    {
        Activation a = Activation.Parse(output);
        var net = new Network(4, new LayerSpec(5, Activation.Tanh), new LayerSpec(3, a));
        Throws<ArgumentException>(() => new Backpropagation(net, LossKind.BinaryCrossEntropy, 4), "sigmoid", a.ToString());
    }

    [Theory]
    [InlineData("identity")]
    [InlineData("sigmoid")]
    [InlineData("relu")]
    public void CategoricalCrossEntropy_NeedsSoftmaxOutput(string output)
    {
        Activation a = Activation.Parse(output);
        var net = new Network(4, new LayerSpec(5, Activation.Tanh), new LayerSpec(3, a));
        Throws<ArgumentException>(() => new Backpropagation(net, LossKind.CategoricalCrossEntropy, 4), "softmax", a.ToString());
    }

    [Fact]
    public void UnknownLoss_IsRejected()
    {
        var ex = Throws<ArgumentOutOfRangeException>(() => new Backpropagation(Net(), (LossKind)42, 4), "42");
        Assert.Equal((LossKind)42, ex.ActualValue);
    }

    [Theory]
    [InlineData(-0.1f)]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    public void WeightDecay_Invalid(float lambda)
    {
        var bp = new Backpropagation(Net(), LossKind.CategoricalCrossEntropy, 4) { WeightDecay = 0.5f };
        var ex = Throws<ArgumentOutOfRangeException>(() => bp.WeightDecay = lambda, lambda.ToString());
        Assert.Equal(lambda, ex.ActualValue);
        Assert.Equal(0.5f, bp.WeightDecay); // unchanged
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(-1f)]
    [InlineData(float.NaN)]
    public void WeightInit_NormalStd_Invalid(float std)
    {
        var ex = Throws<ArgumentOutOfRangeException>(() => WeightInit.Normal(std), std.ToString());
        Assert.Equal("std", ex.ParamName);
    }
}
