using FastMlp.Data;

namespace FastMlp.Tests.Training;

/// <summary>
/// <see cref="FrozenModel"/>: the model's scalers around its frozen network, close to <see cref="Model.Predict(ReadOnlySpan{float}, Span{float})"/>
/// (same math, another summation order) for a classifier with input scaling and a regressor with both scalings,
/// including inputs too wide for the stack; the same classes; zero allocation; bad lengths named.
/// </summary>
public class FrozenModelTests
{
    private static Model Classifier(int inputs)
    {
        var net = new Network(inputs, new LayerSpec(12, Activation.Tanh), new LayerSpec(4, Activation.Softmax));
        net.Initialize(7);
        var rnd = new Random(inputs);
        float[] offset = Enumerable.Range(0, inputs).Select(_ => (float)rnd.NextDouble() * 10).ToArray();
        float[] factor = Enumerable.Range(0, inputs).Select(_ => 0.1f + (float)rnd.NextDouble()).ToArray();
        return new Model(net, LossKind.CategoricalCrossEntropy, new Scaler(ScalingKind.ZScore, offset, factor), classNames: ["a", "b", "c", "d"]);
    }

    private static Model Regressor()
    {
        var net = new Network(5, new LayerSpec(9, Activation.Relu), new LayerSpec(2, Activation.Identity));
        net.Initialize(3);
        return new Model(net, LossKind.MeanSquaredError,
            new Scaler(ScalingKind.MinMax, [1, 2, 3, 4, 5], [0.5f, 0.25f, 2, 1, 0.1f]),
            new Scaler(ScalingKind.ZScore, [100, -3], [0.01f, 4]));
    }

    private static float[] Inputs(int width, int seed)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, width).Select(_ => (float)(rnd.NextDouble() * 20 - 5)).ToArray();
    }

    public static TheoryData<int> ClassifierWidths() => [3, 64, 2100];

    [Theory]
    [MemberData(nameof(ClassifierWidths))]
    public void A_frozen_classifier_predicts_what_the_model_predicts(int inputs)
    {
        Model model = Classifier(inputs);
        FrozenModel frozen = model.Freeze();
        Assert.Equal(model.ClassNames, frozen.ClassNames);
        for (int s = 0; s < 5; s++)
        {
            float[] x = Inputs(inputs, s);
            float[] expected = new float[4], actual = new float[4];
            model.Predict(x, expected);
            frozen.Predict(x, actual);
            for (int j = 0; j < 4; j++)
                Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-5f, $"{inputs} inputs, sample {s}, class {j}: model {expected[j]}, frozen {actual[j]}");
            Assert.Equal(Network.ArgMax(actual), frozen.PredictClass(x));
        }
    }

    [Fact]
    public void A_frozen_regressor_undoes_the_target_scaling()
    {
        Model model = Regressor();
        FrozenModel frozen = model.Freeze();
        float[] x = Inputs(5, 1);
        float[] expected = new float[2], actual = new float[2];
        model.Predict(x, expected);
        frozen.Predict(x, actual);
        for (int j = 0; j < 2; j++)
            Assert.True(Math.Abs(expected[j] - actual[j]) <= 1e-5f * Math.Max(1, Math.Abs(expected[j])), $"output {j}: model {expected[j]}, frozen {actual[j]}");
    }

    [Fact]
    public void Predicting_allocates_nothing()
    {
        FrozenModel frozen = Classifier(64).Freeze();
        float[] x = Inputs(64, 2), y = new float[4];
        Assert.Equal(0, AllocationProbe.Measure(() => frozen.Predict(x, y)) + AllocationProbe.Measure(() => frozen.PredictClass(x)));
        FrozenModel wide = Classifier(2100).Freeze();
        float[] wx = Inputs(2100, 2);
        Assert.Equal(0, AllocationProbe.Measure(() => wide.Predict(wx, y)) + AllocationProbe.Measure(() => wide.PredictClass(wx)));
    }

    [Fact]
    public void Wrong_lengths_are_rejected_with_the_argument_named()
    {
        FrozenModel frozen = Regressor().Freeze();
        Assert.Equal("input", Assert.ThrowsAny<ArgumentException>(() => frozen.Predict(new float[4], new float[2])).ParamName);
        Assert.Equal("output", Assert.ThrowsAny<ArgumentException>(() => frozen.Predict(new float[5], new float[3])).ParamName);
        Assert.Equal("input", Assert.ThrowsAny<ArgumentException>(() => frozen.PredictClass(new float[6])).ParamName);
    }
}
