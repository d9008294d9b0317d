using System.Text;

namespace FastMlp.Metrics;

/// <summary>A confusion matrix: entry [actual, predicted] counts the samples of class actual predicted as predicted.</summary>
public sealed class ConfusionMatrix
{
    private readonly int[,] _counts;

    /// <summary>Tallies predicted against actual class indices (both in [0, classCount)).</summary>
    public ConfusionMatrix(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted, int classCount)
    {
        if (actual.Length != predicted.Length)
            throw new ArgumentException($"There are {actual.Length} actual labels but {predicted.Length} predictions.", nameof(predicted));
        if (actual.Length == 0)
            throw new ArgumentException("Cannot score an empty set.", nameof(actual));
        if (classCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "The class count must be positive.");
        _counts = new int[classCount, classCount];
        for (int i = 0; i < actual.Length; i++)
        {
            if ((uint)actual[i] >= (uint)classCount)
                throw new ArgumentOutOfRangeException(nameof(actual), actual[i], $"Actual label {actual[i]} at row {i} is outside [0, {classCount}).");
            if ((uint)predicted[i] >= (uint)classCount)
                throw new ArgumentOutOfRangeException(nameof(predicted), predicted[i], $"Predicted label {predicted[i]} at row {i} is outside [0, {classCount}).");
            _counts[actual[i], predicted[i]]++;
        }
        Total = actual.Length;
    }

    /// <summary>Number of classes.</summary>
    public int ClassCount => _counts.GetLength(0);
    /// <summary>Number of samples.</summary>
    public int Total { get; }
    /// <summary>Samples of class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public int this[int actual, int predicted] => _counts[actual, predicted];

    /// <summary>Fraction on the diagonal.</summary>
    public double Accuracy
    {
        get
        {
            int correct = 0;
            for (int c = 0; c < ClassCount; c++) correct += _counts[c, c];
            return (double)correct / Total;
        }
    }

    /// <summary>A text table, rows = actual, columns = predicted, with optional class names.</summary>
    public string ToTable(IReadOnlyList<string>? classNames = null)
    {
        string Name(int c) => classNames is not null && c < classNames.Count ? classNames[c] : c.ToString(System.Globalization.CultureInfo.InvariantCulture);
        int width = Math.Max(6, Enumerable.Range(0, ClassCount).Max(c => Name(c).Length) + 1);
        var sb = new StringBuilder();
        sb.Append("actual\\pred".PadRight(width + 6));
        for (int c = 0; c < ClassCount; c++) sb.Append(Name(c).PadLeft(width));
        sb.AppendLine();
        for (int a = 0; a < ClassCount; a++)
        {
            sb.Append(Name(a).PadRight(width + 6));
            for (int p = 0; p < ClassCount; p++) sb.Append(_counts[a, p].ToString(System.Globalization.CultureInfo.InvariantCulture).PadLeft(width));
            sb.AppendLine();
        }
        return sb.ToString();
    }
}

/// <summary>Regression scores.</summary>
/// <param name="Mse">Mean squared error.</param>
/// <param name="Rmse">Root of the mean squared error.</param>
/// <param name="Mae">Mean absolute error.</param>
/// <param name="R2">Coefficient of determination 1 - SS_res / SS_tot (over all target columns).</param>
public readonly record struct RegressionMetrics(double Mse, double Rmse, double Mae, double R2)
{
    /// <summary>Scores predictions against actual values (same length, flattened over target columns).</summary>
    public static RegressionMetrics Compute(ReadOnlySpan<float> actual, ReadOnlySpan<float> predicted)
    {
        if (actual.Length != predicted.Length)
            throw new ArgumentException($"There are {actual.Length} actual values but {predicted.Length} predictions.", nameof(predicted));
        if (actual.Length == 0)
            throw new ArgumentException("Cannot score an empty set.", nameof(actual));
        double mean = 0;
        foreach (float a in actual) mean += a;
        mean /= actual.Length;
        double ssRes = 0, ssTot = 0, abs = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double e = actual[i] - (double)predicted[i];
            ssRes += e * e;
            abs += Math.Abs(e);
            double d = actual[i] - mean;
            ssTot += d * d;
        }
        double mse = ssRes / actual.Length;
        return new RegressionMetrics(mse, Math.Sqrt(mse), abs / actual.Length, ssTot > 0 ? 1 - ssRes / ssTot : double.NaN);
    }
}

/// <summary>Classification scores.</summary>
public static class ClassificationMetrics
{
    /// <summary>Fraction of predictions equal to the actual labels.</summary>
    public static double Accuracy(ReadOnlySpan<int> actual, ReadOnlySpan<int> predicted)
    {
        if (actual.Length != predicted.Length)
            throw new ArgumentException($"There are {actual.Length} actual labels but {predicted.Length} predictions.", nameof(predicted));
        if (actual.Length == 0)
            throw new ArgumentException("Cannot score an empty set.", nameof(actual));
        int correct = 0;
        for (int i = 0; i < actual.Length; i++) if (actual[i] == predicted[i]) correct++;
        return (double)correct / actual.Length;
    }
}
