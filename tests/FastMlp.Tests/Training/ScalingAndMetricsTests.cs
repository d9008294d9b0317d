using CommunityToolkit.HighPerformance;
using FastMlp.Data;
using FastMlp.Metrics;

namespace FastMlp.Tests.Training;

/// <summary>Input scalers, their storage in a model, data set splits and the metrics.</summary>
public class ScalingAndMetricsTests
{
    private static readonly float[] Columns = [1, -4, 10, 3, 0, 10, 5, 8, 10, 7, 4, 10]; // 4 rows x 3 columns, last column constant

    [Theory]
    [InlineData(ScalingKind.MinMax, 0.0, 1.0)]
    [InlineData(ScalingKind.MaxAbs, -1.0, 1.0)]
    [InlineData(ScalingKind.ZScore, -1.3416408, 1.3416408)]
    [InlineData(ScalingKind.Mean, -0.5, 0.5)]
    public void Scalers_map_the_first_column_to_the_expected_range(ScalingKind kind, double low, double high)
    {
        Scaler s = Scaler.Fit(kind, new ReadOnlySpan2D<float>(Columns, 4, 3));
        float[] data = (float[])Columns.Clone();
        s.TransformInPlace(data);
        float[] first = [data[0], data[3], data[6], data[9]];
        if (kind == ScalingKind.MaxAbs) { Assert.Equal(1f / 7, first.Min(), 5); Assert.Equal(high, first.Max(), 5); }
        else { Assert.Equal(low, first.Min(), 5); Assert.Equal(high, first.Max(), 5); }
        Assert.All(new[] { data[2], data[5], data[8], data[11] }, v => Assert.True(float.IsFinite(v)));
        float[] row = data[..3];
        s.InverseInPlace(row);
        Assert.Equal(Columns[..3], row, (a, b) => Math.Abs(a - b) < 1e-5);
    }

    [Fact]
    public void Model_applies_the_stored_scaler_at_prediction()
    {
        // A linear model trained on standardised inputs must predict the raw-unit line.
        var x = Enumerable.Range(0, 50).Select(i => 1000f + 10 * i).ToArray();
        var y = x.Select(v => 0.5f * v - 300).ToArray();
        var result = Model.Train(Dataset.ForRegression(x, 1, y), new ModelOptions
        {
            HiddenLayers = [], InputScaling = ScalingKind.ZScore,
            Training = new() { Optimizer = new() { LearningRate = 0.05f }, Epochs = 300, BatchSize = 10 },
        });
        Span<float> output = stackalloc float[1];
        result.Model.Predict([1250f], output);
        Assert.Equal(325f, output[0], 0.5f);
        Assert.Equal(ScalingKind.ZScore, result.Model.InputScaler!.Kind);
        Assert.NotNull(result.Model.TargetScaler);
    }

    [Fact]
    public void Stratified_split_keeps_class_proportions_and_is_seeded()
    {
        var labels = Enumerable.Range(0, 100).Select(i => i < 80 ? 0 : 1).ToArray();
        var features = Enumerable.Range(0, 100).Select(i => (float)i).ToArray();
        Dataset data = Dataset.ForClassification(features, 1, labels);
        var (train, test) = data.Split(0.25, seed: 9);
        Assert.Equal(25, test.Count);
        Assert.Equal(20, test.Labels.ToArray().Count(l => l == 0));
        Assert.Equal(5, test.Labels.ToArray().Count(l => l == 1));
        var (_, again) = data.Split(0.25, seed: 9);
        Assert.Equal(test.FeatureArray, again.FeatureArray);
        Assert.Empty(train.FeatureArray.Intersect(test.FeatureArray));
    }

    [Fact]
    public void Regression_metrics_match_hand_computation()
    {
        float[] actual = [1, 2, 3, 4], predicted = [1, 3, 2, 4];
        RegressionMetrics m = RegressionMetrics.Compute(actual, predicted);
        Assert.Equal(0.5, m.Mse, 10);
        Assert.Equal(Math.Sqrt(0.5), m.Rmse, 10);
        Assert.Equal(0.5, m.Mae, 10);
        Assert.Equal(1 - 2.0 / 5.0, m.R2, 10);
    }

    [Fact]
    public void Confusion_matrix_counts_actual_by_predicted()
    {
        var cm = new ConfusionMatrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 3);
        Assert.Equal(1, cm[0, 0]);
        Assert.Equal(1, cm[0, 1]);
        Assert.Equal(1, cm[2, 0]);
        Assert.Equal(2, cm[2, 2]);
        Assert.Equal(4.0 / 6, cm.Accuracy, 10);
        Assert.Equal(cm.Accuracy, ClassificationMetrics.Accuracy([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2]), 10);
        Assert.Contains("actual", cm.ToTable(["a", "b", "c"]));
    }

    [Fact]
    public void Data_set_errors_name_the_position()
    {
        var e1 = Assert.Throws<ArgumentException>(() => Dataset.ForRegression([1, float.NaN, 3, 4], 2, [1, 2]));
        Assert.Contains("row 0, column 1", e1.Message);
        var e2 = Assert.ThrowsAny<ArgumentException>(() => Dataset.ForClassification([1, 2, 3], 1, [0, 5, 1], 3));
        Assert.Contains("row 1", e2.Message);
        Assert.ThrowsAny<ArgumentException>(() => Dataset.ForRegression([], 2, []));
        var e3 = Assert.Throws<ArgumentException>(() => Dataset.ForRegression([1, 2, 3], 2, [1]));
        Assert.Contains("whole rows", e3.Message);
    }
}
