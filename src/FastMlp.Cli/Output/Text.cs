using System.Globalization;

namespace FastMlp.Cli.Output;

/// <summary>Number formatting for the tool's output (invariant culture, readable widths).</summary>
internal static class Text
{
    public static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Loss(double value) => double.IsNaN(value) ? "-" : value.ToString(value >= 100 ? "F1" : "F4", Invariant);

    public static string Percent(double fraction) => double.IsNaN(fraction) ? "-" : (fraction * 100).ToString("F2", Invariant) + "%";

    public static string Rate(double perSecond) => double.IsNaN(perSecond) || double.IsInfinity(perSecond) ? "-" : perSecond.ToString("N0", Invariant);

    public static string Seconds(double seconds) => seconds < 10 ? seconds.ToString("F2", Invariant) + " s" : seconds.ToString("F1", Invariant) + " s";

    public static string Duration(double seconds) => seconds switch
    {
        < 1e-6 => (seconds * 1e9).ToString("F1", Invariant) + " ns",
        < 1e-3 => (seconds * 1e6).ToString("F2", Invariant) + " us",
        < 1 => (seconds * 1e3).ToString("F2", Invariant) + " ms",
        _ => seconds.ToString("F2", Invariant) + " s",
    };

    public static string Number(double value) => value.ToString("G6", Invariant);

    /// <summary>A value for a CSV field: shortest round-trip text, empty for NaN.</summary>
    public static string Csv(double value) => double.IsNaN(value) ? "" : value.ToString("R", Invariant);

    /// <summary>Quotes a CSV field when it needs it.</summary>
    public static string CsvField(string text) =>
        text.AsSpan().IndexOfAny(",\"\r\n") >= 0 || text != text.Trim() ? "\"" + text.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : text;

    /// <summary>"784-256(relu)-10(softmax)".</summary>
    public static string Architecture(Network net) =>
        $"{net.InputSize}-" + string.Join("-", net.Layers.Select(l => $"{l.Outputs}({l.Activation})"));

    public static string LossName(LossKind loss) => loss switch
    {
        LossKind.MeanSquaredError => "mean squared error",
        LossKind.BinaryCrossEntropy => "binary cross-entropy",
        LossKind.CategoricalCrossEntropy => "categorical cross-entropy",
        _ => loss.ToString(),
    };
}
