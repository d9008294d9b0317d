using FastMlp.Data;
using FastMlp.Metrics;
using FastMlp.Training;

namespace FastMlp.Tests.Training;

/// <summary>The real data sets of Data/ on fixed, seeded 75/25 splits.</summary>
public class RealDataTests(ITestOutputHelper output)
{
    [Fact]
    public void Digits_reach_95_percent_test_accuracy()
    {
        var (data, names) = TestData.Classification("digits.csv");
        var (train, test) = data.Split(0.25, seed: 42);
        ModelTrainingResult result = Model.Train(train, new ModelOptions
        {
            HiddenLayers = [64],
            Training = new TrainerOptions { Optimizer = new() { LearningRate = 0.002f }, BatchSize = 32, Epochs = 40, Seed = 1 },
        }, classNames: names);
        ConfusionMatrix cm = result.Model.EvaluateClassifier(test);
        output.WriteLine($"digits test accuracy {cm.Accuracy:P2}\n{cm.ToTable(names)}");
        Assert.True(cm.Accuracy >= 0.95, $"digits test accuracy {cm.Accuracy:P2}");
    }

    [Fact]
    public void Iris_reaches_93_percent_test_accuracy()
    {
        var (data, names) = TestData.Classification("iris.csv");
        Assert.Equal(["setosa", "versicolor", "virginica"], names);
        var (train, test) = data.Split(0.25, seed: 42);
        ModelTrainingResult result = Model.Train(train, new ModelOptions
        {
            HiddenLayers = [16],
            HiddenActivation = Activation.Tanh,
            Training = new TrainerOptions { Optimizer = new() { LearningRate = 0.01f }, BatchSize = 16, Epochs = 200, Seed = 1 },
        }, classNames: names);
        double accuracy = result.Model.EvaluateClassifier(test).Accuracy;
        output.WriteLine($"iris test accuracy {accuracy:P2}");
        Assert.True(accuracy >= 0.93, $"iris test accuracy {accuracy:P2}");
    }

    [Fact]
    public void Diabetes_regression_is_no_worse_than_least_squares_minus_005()
    {
        Dataset data = TestData.Regression("diabetes.csv");
        var (train, test) = data.Split(0.25, seed: 42);
        double olsR2 = LeastSquaresR2(train, test);
        ModelTrainingResult result = Model.Train(train, new ModelOptions
        {
            HiddenLayers = [16],
            HiddenActivation = Activation.Tanh,
            Training = new TrainerOptions
            {
                Optimizer = new() { LearningRate = 0.003f }, BatchSize = 32, Epochs = 300, WeightDecay = 1e-3f,
                ValidationFraction = 0.2, Patience = 30, Seed = 1,
            },
        });
        RegressionMetrics m = result.Model.EvaluateRegressor(test);
        output.WriteLine($"diabetes: MLP R2 {m.R2:F3} (RMSE {m.Rmse:F1}), least squares R2 {olsR2:F3}");
        Assert.InRange(olsR2, 0.2, 0.7);
        Assert.True(m.R2 >= olsR2 - 0.05, $"MLP R2 {m.R2:F3} vs least squares {olsR2:F3}");
    }

    /// <summary>Ordinary least squares with an intercept, by the normal equations in double, scored on the test set.</summary>
    private static double LeastSquaresR2(Dataset train, Dataset test)
    {
        int p = train.FeatureCount + 1;
        var a = new double[p, p + 1];
        for (int i = 0; i < train.Count; i++)
        {
            float[] row = train.Row(i).ToArray();
            double Feature(int j) => j == 0 ? 1 : row[j - 1];
            for (int j = 0; j < p; j++)
            {
                for (int k = 0; k < p; k++) a[j, k] += Feature(j) * Feature(k);
                a[j, p] += Feature(j) * train.Targets[i, 0];
            }
        }
        for (int c = 0; c < p; c++)
        {
            int pivot = Enumerable.Range(c, p - c).MaxBy(r => Math.Abs(a[r, c]));
            for (int k = 0; k <= p; k++) (a[c, k], a[pivot, k]) = (a[pivot, k], a[c, k]);
            for (int r = 0; r < p; r++)
            {
                if (r == c) continue;
                double f = a[r, c] / a[c, c];
                for (int k = c; k <= p; k++) a[r, k] -= f * a[c, k];
            }
        }
        var predicted = new float[test.Count];
        for (int i = 0; i < test.Count; i++)
        {
            double v = a[0, p] / a[0, 0];
            for (int j = 1; j < p; j++) v += a[j, p] / a[j, j] * test.Row(i)[j - 1];
            predicted[i] = (float)v;
        }
        var actual = new float[test.Count];
        for (int i = 0; i < test.Count; i++) actual[i] = test.Targets[i, 0];
        return RegressionMetrics.Compute(actual, predicted).R2;
    }
}
