using Xunit;
using CommunityToolkit.HighPerformance;
using FastMlp;

namespace FastMlp.Tests;

/// <summary>
/// The 2-3-2 worked example of the notes with the corrected float64 values of DESIGN.md ("Reference values").
/// DESIGN uses the row-vector convention v = x W + b (W0 is 2x3, W1 is 3x2); the engine stores W as
/// [out x in], so Weights(m)[o, i] = W_m[i][o] (the transpose).
/// </summary>
public class WorkedExampleTests
{
    private const double Tol = 1e-5;

    private static readonly float[] X = [0.1f, 0.7f];
    // Row-vector convention, exactly as written in DESIGN.md.
    private static readonly double[,] W0 = { { 0.1, 0.2, 0.3 }, { 0.3, 0.2, 0.7 } };
    private static readonly double[] B0 = [0.2, 0.4, 0.6];
    private static readonly double[,] W1 = { { 0.2, 0.3 }, { 0.3, 0.5 }, { 0.6, 0.4 } };
    private static readonly double[] B1 = [0.3, 0.1];

    // Expected values (DESIGN.md), same convention.
    private static readonly double[] Softmax = [0.5670929, 0.4329071];
    private const double Loss = 0.5672321;
    private static readonly double[] DV1 = [-0.4329071, 0.4329071];
    private static readonly double[,] DW1 = { { -0.18182098, 0.18182098 }, { -0.24242797, 0.24242797 }, { -0.48485595, 0.48485595 } };
    private static readonly double[] DB0 = [0.04329071, 0.08658142, -0.08658142];
    private static readonly double[,] DW0 = { { 0.00432907, 0.00865814, -0.00865814 }, { 0.0303035, 0.06060699, -0.06060699 } };
    private static readonly double[,] W1AfterStep = { { 0.2181821, 0.2818179 }, { 0.3242428, 0.4757572 }, { 0.64848559, 0.35151441 } };

    internal static Network Build()
    {
        var net = new Network(2, new LayerSpec(3, Activation.Relu), new LayerSpec(2, Activation.Softmax));
        Span2D<float> w0 = net.Weights(0), w1 = net.Weights(1);
        for (int i = 0; i < 2; i++)
            for (int o = 0; o < 3; o++)
                w0[o, i] = (float)W0[i, o];
        for (int i = 0; i < 3; i++)
            for (int o = 0; o < 2; o++)
                w1[o, i] = (float)W1[i, o];
        for (int o = 0; o < 3; o++) net.Biases(0)[o] = (float)B0[o];
        for (int o = 0; o < 2; o++) net.Biases(1)[o] = (float)B1[o];
        return net;
    }

    [Fact]
    public void Layout_TransposeOfRowVectorConvention_LandsInFlatBuffer()
    {
        Network net = Build();
        // Weights(0) row o = weights into hidden unit o = column o of the DESIGN W0.
        DenseLayer l0 = net.Layers[0];
        Assert.Equal(0.1f, net.Parameters[l0.WeightOffset + 0 * 2 + 0]);
        Assert.Equal(0.3f, net.Parameters[l0.WeightOffset + 0 * 2 + 1]);
        Assert.Equal(0.7f, net.Parameters[l0.WeightOffset + 2 * 2 + 1]);
        Assert.Equal(0.6f, net.Parameters[l0.BiasOffset + 2]);
        Assert.Equal(0, l0.WeightOffset % 16);
        Assert.Equal(0, l0.BiasOffset % 16);
        Assert.Equal(0, net.Layers[1].WeightOffset % 16);
        Assert.Equal(2 * 3 + 3 + 3 * 2 + 2, net.ParameterCount);
    }

    [Fact]
    public void Forward_GivesSoftmaxOfDesign()
    {
        Network net = Build();
        var y = new float[2];
        net.Predict(X, y);
        Assert.Equal(Softmax[0], y[0], Tol);
        Assert.Equal(Softmax[1], y[1], Tol);

        var batch = new float[4];
        net.Forward(new ReadOnlySpan2D<float>(new float[] { X[0], X[1], X[0], X[1] }, 2, 2), new Span2D<float>(batch, 2, 2));
        Assert.Equal(Softmax[0], batch[2], Tol);
        Assert.Equal(Softmax[1], batch[3], Tol);
        Assert.Equal(0, net.PredictClass(X));
    }

    [Fact]
    public void HiddenLayer_MatchesV0()
    {
        // The hidden layer alone (same weights, identity output) must give v0 = [0.42, 0.56, 1.12].
        Network full = Build();
        var hidden = new Network(2, new LayerSpec(3, Activation.Relu));
        full.Parameters.Slice(0, hidden.BufferLength).CopyTo(hidden.Parameters);
        var v0 = new float[3];
        hidden.Predict(X, v0);
        Assert.Equal(0.42, v0[0], Tol);
        Assert.Equal(0.56, v0[1], Tol);
        Assert.Equal(1.12, v0[2], Tol);
    }

    public static TheoryData<bool> LabelsOrOneHot => new() { true, false };

    [Theory]
    [MemberData(nameof(LabelsOrOneHot))]
    public void Gradient_MatchesDesignEntryByEntry(bool useLabels)
    {
        Network net = Build();
        float[] g = Gradient(net, useLabels, out float loss);

        Assert.Equal(Loss, loss, Tol);
        Span2D<float> gw0 = Span2D<float>.DangerousCreate(ref g[net.Layers[0].WeightOffset], 3, 2, 0);
        Span2D<float> gw1 = Span2D<float>.DangerousCreate(ref g[net.Layers[1].WeightOffset], 2, 3, 0);
        for (int i = 0; i < 3; i++)
            for (int o = 0; o < 2; o++)
                Assert.Equal(DW1[i, o], gw1[o, i], Tol);
        for (int i = 0; i < 2; i++)
            for (int o = 0; o < 3; o++)
                Assert.Equal(DW0[i, o], gw0[o, i], Tol);
        for (int o = 0; o < 3; o++)
            Assert.Equal(DB0[o], g[net.Layers[0].BiasOffset + o], Tol);
        // dJ/db1 = dJ/dv1.
        for (int o = 0; o < 2; o++)
            Assert.Equal(DV1[o], g[net.Layers[1].BiasOffset + o], Tol);
    }

    [Fact]
    public void Loss_WithoutGradient_MatchesDesign()
    {
        Network net = Build();
        var bp = new Backpropagation(net, LossKind.CategoricalCrossEntropy, 1);
        Assert.Equal(Loss, bp.ComputeLoss(new ReadOnlySpan2D<float>(X, 1, 2), [0]), Tol);
        Assert.Equal(Loss, bp.ComputeLoss(new ReadOnlySpan2D<float>(X, 1, 2), new ReadOnlySpan2D<float>(new float[] { 1, 0 }, 1, 2)), Tol);
    }

    [Theory]
    [MemberData(nameof(LabelsOrOneHot))]
    public void OneSgdStep_GivesDesignW1AndHandComputedRest(bool useLabels)
    {
        Network net = Build();
        float[] g = Gradient(net, useLabels, out _);
        Span<float> p = net.Parameters;
        for (int k = 0; k < p.Length; k++) p[k] -= 0.1f * g[k];

        Span2D<float> w0 = net.Weights(0), w1 = net.Weights(1);
        for (int i = 0; i < 3; i++)
            for (int o = 0; o < 2; o++)
                Assert.Equal(W1AfterStep[i, o], w1[o, i], Tol);
        for (int i = 0; i < 2; i++)
            for (int o = 0; o < 3; o++)
                Assert.Equal(W0[i, o] - 0.1 * DW0[i, o], w0[o, i], Tol);
        for (int o = 0; o < 3; o++)
            Assert.Equal(B0[o] - 0.1 * DB0[o], net.Biases(0)[o], Tol);
        for (int o = 0; o < 2; o++)
            Assert.Equal(B1[o] - 0.1 * DV1[o], net.Biases(1)[o], Tol);

        // The step lowers the loss on this example.
        var bp = new Backpropagation(net, LossKind.CategoricalCrossEntropy, 1);
        Assert.True(bp.ComputeLoss(new ReadOnlySpan2D<float>(X, 1, 2), [0]) < Loss - 0.01);
    }

    private static float[] Gradient(Network net, bool useLabels, out float loss)
    {
        var bp = new Backpropagation(net, LossKind.CategoricalCrossEntropy, 4);
        var g = new float[net.BufferLength];
        Array.Fill(g, float.NaN); // the gradient must be written over, padding included
        var x = new ReadOnlySpan2D<float>(X, 1, 2);
        loss = useLabels
            ? bp.ComputeGradient(x, [0], g)
            : bp.ComputeGradient(x, new ReadOnlySpan2D<float>(new float[] { 1, 0 }, 1, 2), g);
        Assert.All(g, v => Assert.True(float.IsFinite(v)));
        return g;
    }
}
