using FastMlp.Data;
using FastMlp.Optimization;

namespace FastMlp.Tests.Optimization;

internal static class OptimizationTestData
{
    private static (Dataset Train, Dataset Test)? _digits;

    /// <summary>Digits, z-scored with statistics of the training part, on the seeded 75/25 split (seed 42).</summary>
    public static (Dataset Train, Dataset Test) Digits()
    {
        if (_digits is { } d) return d;
        var (all, _) = TestData.Classification("digits.csv");
        var (train, test) = all.Split(0.25, seed: 42);
        Scaler scaler = Scaler.Fit(ScalingKind.ZScore, train.Features);
        _digits = (ModelPreparation.Scale(train, scaler, null), ModelPreparation.Scale(test, scaler, null));
        return _digits.Value;
    }

    /// <summary>The first <paramref name="rows"/> rows of the scaled digits training part.</summary>
    public static Dataset DigitsSubset(int rows) => Digits().Train.Subset(Enumerable.Range(0, rows).ToArray());

    /// <summary>y = X w + b + noise: 60 rows, 3 features, one target.</summary>
    public static Dataset LeastSquares(out double[] solution)
    {
        var rnd = new Random(7);
        const int n = 60, p = 3;
        var x = new float[n * p];
        var y = new float[n];
        double[] w = [1.5, -2.0, 0.5];
        for (int r = 0; r < n; r++)
        {
            double t = 0.3;
            for (int j = 0; j < p; j++) { x[r * p + j] = (float)(rnd.NextDouble() * 2 - 1); t += w[j] * x[r * p + j]; }
            y[r] = (float)(t + 0.1 * (rnd.NextDouble() - 0.5));
        }
        // Normal equations in float64 for [w; b].
        var a = new double[(p + 1) * (p + 1)];
        var b = new double[p + 1];
        for (int r = 0; r < n; r++)
        {
            Span<double> row = [x[r * p], x[r * p + 1], x[r * p + 2], 1.0];
            for (int i = 0; i <= p; i++)
            {
                b[i] += row[i] * y[r];
                for (int j = 0; j <= p; j++) a[i * (p + 1) + j] += row[i] * row[j];
            }
        }
        Assert.True(Newton.Cholesky(a, p + 1));
        Newton.Solve(a, p + 1, b);
        solution = b;
        return Dataset.ForRegression(x, p, y);
    }

    public static double Accuracy(Network net, Dataset test)
    {
        int correct = 0;
        for (int i = 0; i < test.Count; i++) if (net.PredictClass(test.Row(i)) == test.Labels[i]) correct++;
        return (double)correct / test.Count;
    }
}

/// <summary>
/// The optimisation tests run on their own, after the parallel ones: their full-batch fits are CPU-heavy, and on a loaded
/// 2-core machine that extra load made the existing allocation test of the worker pool flaky (see the report of the
/// optimisation-study work: a first blocking Monitor.Wait on a thread allocates).
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OptimizationCollection
{
    public const string Name = "Optimization (not parallel)";
}
