using FastMlp;
using Xunit;

namespace FastMlp.Tests;

/// <summary>Seeded initialisation: reproducible bit for bit, sensitive to the seed, and drawn from the documented distributions.</summary>
public class DeterminismTests
{
    private static Network Small() =>
        new(7, new LayerSpec(9, Activation.Relu), new LayerSpec(5, Activation.Tanh), new LayerSpec(3, Activation.Softmax));

    public static TheoryData<WeightInitKind> Kinds => new()
    {
        WeightInitKind.Normal, WeightInitKind.GlorotUniform, WeightInitKind.GlorotNormal, WeightInitKind.HeNormal, WeightInitKind.HeUniform,
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void SameSeed_GivesBitwiseIdenticalParameters(WeightInitKind kind)
    {
        var init = new WeightInit(kind, 0.3f);
        Network a = Small(), b = Small();
        a.Initialize(1234, init);
        b.Parameters.Fill(7f); // previous contents must not leak through
        b.Initialize(1234, init);
        Assert.True(a.Parameters.SequenceEqual(b.Parameters));
        Assert.Contains(a.Parameters.ToArray(), v => v != 0f);

        // Re-initialising the same network is also reproducible.
        float[] first = a.Parameters.ToArray();
        a.Initialize(99, init);
        a.Initialize(1234, init);
        Assert.Equal(first, a.Parameters.ToArray());
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void DifferentSeeds_GiveDifferentWeights(WeightInitKind kind)
    {
        var init = new WeightInit(kind, 0.3f);
        Network a = Small(), b = Small();
        a.Initialize(1, init);
        b.Initialize(2, init);
        for (int m = 0; m < a.Layers.Count; m++)
        {
            float[] wa = a.Weights(m).ToArray().Cast<float>().ToArray();
            float[] wb = b.Weights(m).ToArray().Cast<float>().ToArray();
            int same = wa.Zip(wb).Count(p => p.First == p.Second);
            Assert.True(same <= wa.Length / 10, $"layer {m}: {same} of {wa.Length} weights equal across seeds");
        }
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void BiasesAndPadding_AreZero_WeightsAreNot(WeightInitKind kind)
    {
        Network net = Small();
        net.Parameters.Fill(float.NaN);
        net.Initialize(5, new WeightInit(kind, 0.3f));
        var isWeight = new bool[net.BufferLength];
        foreach (DenseLayer l in net.Layers)
            for (int i = 0; i < l.WeightCount; i++) isWeight[l.WeightOffset + i] = true;
        for (int k = 0; k < net.BufferLength; k++)
        {
            float v = net.Parameters[k];
            if (isWeight[k]) Assert.True(float.IsFinite(v) && v != 0f, $"weight at {k} is {v}");
            else Assert.Equal(0f, v);
        }
    }

    [Fact]
    public void Layers_DrawDistinctStreams()
    {
        // Two layers of the same shape must not receive the same numbers.
        var net = new Network(6, new LayerSpec(6, Activation.Tanh), new LayerSpec(6, Activation.Tanh));
        net.Initialize(17, WeightInit.GlorotUniform);
        Assert.NotEqual(net.Weights(0).ToArray().Cast<float>().ToArray(), net.Weights(1).ToArray().Cast<float>().ToArray());
    }

    [Fact]
    public void DefaultInit_IsHeForReluFamily_GlorotOtherwise()
    {
        Network relu = new(7, new LayerSpec(9, Activation.Relu), new LayerSpec(5, Activation.LeakyRelu()), new LayerSpec(3, Activation.Elu()));
        Network reluHe = new(7, new LayerSpec(9, Activation.Relu), new LayerSpec(5, Activation.LeakyRelu()), new LayerSpec(3, Activation.Elu()));
        relu.Initialize(8);
        reluHe.Initialize(8, WeightInit.HeNormal);
        Assert.True(relu.Parameters.SequenceEqual(reluHe.Parameters));

        Network tanh = new(7, new LayerSpec(9, Activation.Tanh), new LayerSpec(3, Activation.Softmax));
        Network tanhGlorot = new(7, new LayerSpec(9, Activation.Tanh), new LayerSpec(3, Activation.Softmax));
        tanh.Initialize(8);
        tanhGlorot.Initialize(8, WeightInit.GlorotUniform);
        Assert.True(tanh.Parameters.SequenceEqual(tanhGlorot.Parameters));
    }

    [Fact]
    public void GlorotUniform_RespectsLimits_AndFillsTheRange()
    {
        var net = new Network(30, new LayerSpec(50, Activation.Tanh), new LayerSpec(10, Activation.Sigmoid));
        net.Initialize(3, WeightInit.GlorotUniform);
        foreach (DenseLayer l in net.Layers)
        {
            double limit = Math.Sqrt(6.0 / (l.Inputs + l.Outputs));
            float[] w = net.Parameters.Slice(l.WeightOffset, l.WeightCount).ToArray();
            Assert.All(w, v => Assert.True(Math.Abs(v) <= limit * (1 + 1e-6), $"{v} outside +-{limit}"));
            // Uniform on [-l, l]: the extremes come close to the limit and the variance is l^2/3.
            Assert.True(w.Max() > 0.9 * limit && w.Min() < -0.9 * limit, $"layer {l.Index}: range [{w.Min()}, {w.Max()}] vs limit {limit}");
            double variance = w.Select(v => (double)v * v).Average();
            Assert.InRange(variance, 0.8 * limit * limit / 3, 1.2 * limit * limit / 3);
        }
    }

    [Fact]
    public void HeUniform_RespectsLimits()
    {
        var net = new Network(40, new LayerSpec(30, Activation.Relu));
        net.Initialize(4, WeightInit.HeUniform);
        double limit = Math.Sqrt(6.0 / 40);
        float[] w = net.Parameters.Slice(0, 40 * 30).ToArray();
        Assert.All(w, v => Assert.True(Math.Abs(v) <= limit * (1 + 1e-6)));
        Assert.True(w.Max() > 0.95 * limit && w.Min() < -0.95 * limit);
    }

    public static TheoryData<WeightInitKind, float> NormalCases => new()
    {
        { WeightInitKind.HeNormal, 0f },
        { WeightInitKind.GlorotNormal, 0f },
        { WeightInitKind.Normal, 0.05f },
    };

    [Theory]
    [MemberData(nameof(NormalCases))]
    public void NormalSchemes_HaveDocumentedStd_OnABigLayer(WeightInitKind kind, float std)
    {
        const int fanIn = 400, fanOut = 251; // odd count: the Box-Muller pair is split at the end
        var net = new Network(fanIn, new LayerSpec(fanOut, Activation.Relu));
        net.Initialize(2024, kind == WeightInitKind.Normal ? WeightInit.Normal(std) : new WeightInit(kind));
        double expectedStd = kind switch
        {
            WeightInitKind.HeNormal => Math.Sqrt(2.0 / fanIn),
            WeightInitKind.GlorotNormal => Math.Sqrt(2.0 / (fanIn + fanOut)),
            _ => std,
        };
        float[] w = net.Parameters.Slice(0, fanIn * fanOut).ToArray();
        double mean = w.Average(v => (double)v);
        double sd = Math.Sqrt(w.Average(v => ((double)v - mean) * ((double)v - mean)));
        // 100k samples: the sample std is within ~0.3 % of the truth, the mean within ~0.01 std.
        Assert.InRange(sd / expectedStd, 0.98, 1.02);
        Assert.InRange(Math.Abs(mean) / expectedStd, 0, 0.02);
        // Normal, not uniform: about 4.6 % of the draws lie beyond 2 std (a uniform with that std has none).
        double beyond2 = w.Count(v => Math.Abs(v) > 2 * expectedStd) / (double)w.Length;
        Assert.InRange(beyond2, 0.035, 0.058);
        Assert.Equal(w[^1], net.Weights(0)[fanOut - 1, fanIn - 1]);
        Assert.True(w[^1] != 0f);
    }

    [Fact]
    public void Clone_CopiesParameters_Independently()
    {
        Network a = Small();
        a.Initialize(42);
        Network b = a.Clone();
        Assert.True(a.HasSameArchitecture(b));
        Assert.True(a.Parameters.SequenceEqual(b.Parameters));
        b.Parameters[0] += 1f;
        Assert.False(a.Parameters.SequenceEqual(b.Parameters));
    }
}
