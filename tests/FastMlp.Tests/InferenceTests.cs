using CommunityToolkit.HighPerformance;
using FastMlp;
using Xunit;

namespace FastMlp.Tests;

/// <summary>Buffer layout and alignment, class prediction, and thread-safe inference.</summary>
public class InferenceTests
{
    [Fact]
    public unsafe void Parameters_AreOneAlignedBuffer_WithAlignedSlices()
    {
        var net = new Network(5, new LayerSpec(7, Activation.Tanh), new LayerSpec(9, Activation.Relu), new LayerSpec(3, Activation.Softmax));
        fixed (float* p = net.Parameters)
            Assert.Equal(0L, (long)p % 64);
        int expectedCount = 0, end = 0;
        foreach (DenseLayer l in net.Layers)
        {
            Assert.Equal(0, l.WeightOffset % 16);
            Assert.Equal(0, l.BiasOffset % 16);
            Assert.True(l.WeightOffset >= end && l.BiasOffset >= l.WeightOffset + l.WeightCount, $"layer {l.Index} overlaps");
            end = l.BiasOffset + l.Outputs;
            expectedCount += l.WeightCount + l.Outputs;
            // Views are slices of the flat buffer, not copies.
            net.Weights(l.Index)[l.Outputs - 1, l.Inputs - 1] = 3f;
            Assert.Equal(3f, net.Parameters[l.WeightOffset + l.WeightCount - 1]);
            net.Biases(l.Index)[0] = 4f;
            Assert.Equal(4f, net.Parameters[l.BiasOffset]);
        }
        Assert.Equal(expectedCount, net.ParameterCount);
        Assert.True(net.BufferLength >= end);
        Assert.Equal((5, 3), (net.InputSize, net.OutputSize));
    }

    [Theory]
    [InlineData(1.5f, 1)]
    [InlineData(-1.5f, 0)]
    [InlineData(0f, 1)] // sigmoid(0) = 0.5 is class 1
    public void PredictClass_SingleOutput_ThresholdsAtHalf(float bias, int expected)
    {
        var net = new Network(2, new LayerSpec(1, Activation.Sigmoid));
        net.Biases(0)[0] = bias;
        Assert.Equal(expected, net.PredictClass([0f, 0f]));
    }

    [Fact]
    public void PredictClass_ManyOutputs_IsArgMax()
    {
        var net = new Network(3, new LayerSpec(4, Activation.Identity));
        for (int o = 0; o < 4; o++) net.Weights(0)[o, o % 3] = 1f;
        Assert.Equal(1, net.PredictClass([0.1f, 0.9f, 0.2f]));
        Assert.Equal(2, net.PredictClass([0.1f, 0.2f, 0.9f]));
        net.Biases(0)[3] = 5f;
        Assert.Equal(3, net.PredictClass([0.1f, 0.2f, 0.9f]));
    }

    [Fact]
    public void Forward_EmptyBatch_IsANoOp()
    {
        var net = new Network(3, new LayerSpec(2, Activation.Tanh));
        net.Forward(new ReadOnlySpan2D<float>(new float[0], 0, 3), new Span2D<float>(new float[0], 0, 2));
    }

    [Fact]
    public void Inference_FromManyThreads_MatchesSingleThread()
    {
        var net = new Network(8, new LayerSpec(33, Activation.Relu), new LayerSpec(17, Activation.Tanh), new LayerSpec(4, Activation.Softmax));
        net.Initialize(9);
        const int rows = 130;
        var rnd = new Random(1);
        float[] x = Enumerable.Range(0, rows * 8).Select(_ => (float)rnd.NextDouble() * 2 - 1).ToArray();
        var expected = new float[rows * 4];
        net.Forward(new ReadOnlySpan2D<float>(x, rows, 8), new Span2D<float>(expected, rows, 4));

        var mismatches = 0;
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, t =>
        {
            var y = new float[rows * 4];
            var one = new float[4];
            for (int rep = 0; rep < 20; rep++)
            {
                net.Forward(new ReadOnlySpan2D<float>(x, rows, 8), new Span2D<float>(y, rows, 4));
                if (!y.AsSpan().SequenceEqual(expected)) Interlocked.Increment(ref mismatches);
                int r = (t * 7 + rep) % rows;
                net.Predict(x.AsSpan(r * 8, 8), one);
                if (!one.AsSpan().SequenceEqual(expected.AsSpan(r * 4, 4))) Interlocked.Increment(ref mismatches);
            }
        });
        Assert.Equal(0, mismatches);
    }
}
