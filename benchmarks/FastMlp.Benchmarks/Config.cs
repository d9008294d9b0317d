using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Perfolizer.Horology;
using Perfolizer.Metrology;

namespace FastMlp.Benchmarks;

/// <summary>
/// The configuration every FastMlp benchmark class uses (through <c>[Config(typeof(FastMlpConfig))]</c>):
/// allocation counts, a samples/s column and a job that warms up by time.
/// </summary>
/// <remarks>
/// <para>
/// The job is marked <see cref="JobExtensions.AsDefault(Job, bool)"/> and the config is attached to the classes, not
/// passed to <c>BenchmarkSwitcher.Run</c>. That keeps the command line in charge: <c>--job dry</c> or
/// <c>--job short</c> adds a non-default job, and BenchmarkDotNet then drops default jobs, so only the requested
/// job runs (once, not twice). Options such as <c>--iterationCount 5</c> without <c>--job</c> are applied on top of
/// this job. (A default job in the <em>global</em> config passed to <c>Run</c> would instead silently replace
/// whatever <c>--job</c> says: BenchmarkDotNet's ConfigParser prefers the global default job as the base job.)
/// </para>
/// <para>
/// Warm-up. BenchmarkDotNet 0.15.8's defaults (EngineResolver) are: IterationTime 500 ms, 6 to 50 warm-up
/// iterations chosen by a stability heuristic, 15 to 100 measured iterations. Its jitting stage makes only one
/// call and then one batch of 16 calls, and the pilot stage then picks how many invocations fill one
/// IterationTime, so a warm-up <em>iteration</em> is a slice of time, not a call. Tiered compilation needs more
/// than calls: a method is promoted from tier 0 only after 30 calls <em>and</em> a 100 ms call-counting delay
/// that restarts whenever new tier-0 code appears, and the tier-1 code is compiled on a background thread (plus
/// OSR for the long kernel loops). A fixed small warm-up count of short iterations could therefore be measured
/// partly on tier-0 code; in the first run the pilot of the 784-256-128-10 / batch-32 step saw 4.6-5.0 ms per
/// step, the warmed measurement 1.2-1.4 ms. This job uses IterationTime = 250 ms and at least 6 warm-up
/// iterations, i.e. at least 1.5 s of warm-up execution (the pilot's time comes on top) before the first
/// measurement: about 15x the call-counting delay, enough for the background compiles on a busy 2-core machine.
/// 250 ms (rather than 500 ms) halves the run time; the slowest operation here (a 784-256-128-10 training step on
/// 256 rows, ~13 ms) still gets ~20 invocations per iteration. 10 to 30 measured iterations keep a full run of
/// the suite at about 3 minutes. Because the pilot may still see slow code, measured iterations can come out
/// shorter than 250 ms (BenchmarkDotNet then warns "MinIterationTime"); the times are still warm.
/// <c>--job short</c> (3 warm-up x 500 ms) is also warm; <c>--job dry</c> is a cold single call for CI
/// smoke runs only: its times are meaningless.
/// </para>
/// </remarks>
public sealed class FastMlpConfig : ManualConfig
{
    /// <summary>The warmed, time-based job used when the command line names no job.</summary>
    public static readonly Job TimedJob = Job.Default
        .WithId("FastMlp")
        .WithIterationTime(TimeInterval.FromMilliseconds(250))
        .WithMinWarmupCount(6)
        .WithMaxWarmupCount(20)
        .WithMinIterationCount(10)
        .WithMaxIterationCount(30)
        .AsDefault();

    /// <summary>Builds the config.</summary>
    public FastMlpConfig()
    {
        AddJob(TimedJob);
        AddDiagnoser(MemoryDiagnoser.Default);
        // Median next to the Mean: on a shared machine it is the more robust of the two. Samples/s uses the Mean.
        AddColumn(StatisticColumn.Median, SamplesPerSecondColumn.Instance);
        // Full JSON keeps every measurement, so later runs can be compared statistically (ResultsComparer et al.).
        AddExporter(JsonExporter.Full);
        // One unit for every row: comparable across architectures and across reports.
        SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default
            .WithTimeUnit(TimeUnit.Nanosecond)
            .WithSizeUnit(SizeUnit.B)
            .WithMaxParameterColumnWidth(24);
    }
}

/// <summary>
/// How many samples (rows) one invocation of a benchmark method processes: a constant, or the value of one of
/// the benchmark's [Params] (for example <c>[Samples(nameof(Batch))]</c>). Read by <see cref="SamplesPerSecondColumn"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class SamplesAttribute : Attribute
{
    /// <summary>A fixed number of samples per invocation.</summary>
    public SamplesAttribute(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        Count = count;
    }

    /// <summary>The samples per invocation are the value of the [Params] member <paramref name="parameterName"/>.</summary>
    public SamplesAttribute(string parameterName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(parameterName);
        ParameterName = parameterName;
    }

    /// <summary>The fixed count, or 0 when <see cref="ParameterName"/> is used.</summary>
    public int Count { get; }

    /// <summary>Name of the [Params] member holding the count, or null.</summary>
    public string? ParameterName { get; }

    /// <summary>Samples of one invocation of <paramref name="benchmarkCase"/>, or null when the method has no attribute.</summary>
    public static int? For(BenchmarkCase benchmarkCase)
    {
        var attribute = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<SamplesAttribute>();
        if (attribute is null) return null;
        if (attribute.ParameterName is null) return attribute.Count;
        object? value = benchmarkCase.Parameters[attribute.ParameterName];
        return value is null ? null : Convert.ToInt32(value, CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Throughput in samples per second: <see cref="SamplesAttribute"/> samples divided by the mean time of one
/// operation. BenchmarkDotNet's Mean is already per operation (divided by OperationsPerInvoke), in nanoseconds.
/// </summary>
public sealed class SamplesPerSecondColumn : IColumn
{
    /// <summary>The column.</summary>
    public static readonly SamplesPerSecondColumn Instance = new();

    private SamplesPerSecondColumn() { }

    /// <inheritdoc/>
    public string Id => nameof(SamplesPerSecondColumn);
    /// <inheritdoc/>
    public string ColumnName => "Samples/s";
    /// <inheritdoc/>
    public bool AlwaysShow => true;
    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Statistics;
    /// <inheritdoc/>
    public int PriorityInCategory => 100; // after Mean/Error/StdDev
    /// <inheritdoc/>
    public bool IsNumeric => true;
    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;
    /// <inheritdoc/>
    public string Legend => "Throughput: samples (rows) per invocation divided by Mean, per second";

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) =>
        GetValue(summary, benchmarkCase, summary.Style);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? perSecond = Compute(summary[benchmarkCase]?.ResultStatistics?.Mean, SamplesAttribute.For(benchmarkCase));
        return perSecond is { } value
            ? value.ToString("N0", style.CultureInfo)
            : "NA";
    }

    /// <summary>samples / (meanNanoseconds * 1e-9), or null when either is missing or the mean is not positive.</summary>
    public static double? Compute(double? meanNanoseconds, int? samples) =>
        meanNanoseconds is > 0 and { } mean && samples is > 0 and { } n && double.IsFinite(mean)
            ? n * 1e9 / mean
            : null;

    /// <inheritdoc/>
    public override string ToString() => ColumnName;
}
