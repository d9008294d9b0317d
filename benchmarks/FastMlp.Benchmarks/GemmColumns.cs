using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace FastMlp.Benchmarks;

/// <summary><see cref="FastMlpConfig"/> plus a GFLOP/s column; shared by the kernel and the peer GEMM benchmarks.</summary>
public sealed class GemmConfig : ManualConfig
{
    /// <summary>Builds the config.</summary>
    public GemmConfig()
    {
        Add(new FastMlpConfig());
        AddColumn(GflopsColumn.Instance);
    }
}

/// <summary>
/// 2 x rows x inputs x outputs / Mean, in GFLOP/s (a multiply-add counts as 2 flops). The shape comes from the
/// case's "Case" ("rows/inputsxoutputs") or "Shape" ("rowsxinputsxoutputs") parameter: the product of its numbers.
/// </summary>
public sealed class GflopsColumn : IColumn
{
    /// <summary>The column.</summary>
    public static readonly GflopsColumn Instance = new();

    private GflopsColumn() { }

    /// <inheritdoc/>
    public string Id => nameof(GflopsColumn);
    /// <inheritdoc/>
    public string ColumnName => "GFLOP/s";
    /// <inheritdoc/>
    public bool AlwaysShow => true;
    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Statistics;
    /// <inheritdoc/>
    public int PriorityInCategory => 101;
    /// <inheritdoc/>
    public bool IsNumeric => true;
    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc/>
    public string Legend => "2 x rows x inputs x outputs / Mean, 10^9 flop per second";
    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        string? shape = benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name is "Case" or "Shape")?.Value as string;
        if (shape is null || mean is not > 0) return "NA";
        double flops = shape.Split('x', '/').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).Aggregate(2.0, (a, v) => a * v);
        return (flops / mean.Value).ToString("F1", style.CultureInfo); // flops per ns = GFLOP/s
    }

    /// <inheritdoc/>
    public override string ToString() => ColumnName;
}
