using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastMlp.Kernels;

namespace FastMlp.Benchmarks.Kernels;

/// <summary>
/// Element-wise math on an L1-resident buffer (2048 floats: 8 KiB per array, 16 KiB for input and output) and an
/// L2-resident one (65536 floats: 256 KiB per array) on the kernel path the process selects (FASTMLP_ISA), against
/// System.Numerics.Tensors TensorPrimitives as the baseline. ELU and softplus have no TensorPrimitives counterpart
/// and are reported as elements/ns only.
/// Softmax is one row of N, x into y for both (the in-place FastMlp overload runs the same code with x = y).
/// </summary>
[Config(typeof(ElementwiseConfig))]
public class ActivationBenchmarks
{
    private float[] _x = [], _y = [];

    /// <summary>Elements per call.</summary>
    [Params(2048, 65536)]
    public int N { get; set; }

    /// <summary>Inputs uniform in [-10, 10] (softmax: the same), checked against each other once.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Architectures.LogKernelPath($"{nameof(ActivationBenchmarks)}({N})");
        var rnd = new Random(7);
        _x = new float[N];
        _y = new float[N];
        for (int i = 0; i < N; i++) _x[i] = (float)(rnd.NextDouble() * 20 - 10);
        float[] a = new float[N];
        ExpFastMlp(); _y.CopyTo(a, 0);
        ExpTensorPrimitives();
        for (int i = 0; i < N; i++)
            if (Math.Abs(a[i] - _y[i]) > 1e-6f * Math.Abs(_y[i]))
                throw new InvalidOperationException($"exp({_x[i]}): FastMlp {a[i]} vs TensorPrimitives {_y[i]}");
    }

    [Benchmark, Samples(nameof(N)), BenchmarkCategory("exp")] public void ExpFastMlp() => ActivationKernels.Unary(KernelDispatch.Current, new ExpOp(), _x, _y);
    [Benchmark(Baseline = true), Samples(nameof(N)), BenchmarkCategory("exp")] public void ExpTensorPrimitives() => TensorPrimitives.Exp(_x, _y);

    [Benchmark, Samples(nameof(N)), BenchmarkCategory("sigmoid")] public void SigmoidFastMlp() => ActivationKernels.Unary(KernelDispatch.Current, new SigmoidOp(), _x, _y);
    [Benchmark(Baseline = true), Samples(nameof(N)), BenchmarkCategory("sigmoid")] public void SigmoidTensorPrimitives() => TensorPrimitives.Sigmoid(_x, _y);

    [Benchmark, Samples(nameof(N)), BenchmarkCategory("tanh")] public void TanhFastMlp() => ActivationKernels.Unary(KernelDispatch.Current, new TanhOp(), _x, _y);
    [Benchmark(Baseline = true), Samples(nameof(N)), BenchmarkCategory("tanh")] public void TanhTensorPrimitives() => TensorPrimitives.Tanh(_x, _y);

    [Benchmark, Samples(nameof(N)), BenchmarkCategory("elu")] public void EluFastMlp() => ActivationKernels.Unary(KernelDispatch.Current, new EluOp(1f), _x, _y);

    [Benchmark, Samples(nameof(N)), BenchmarkCategory("softplus")] public void SoftplusFastMlp() => ActivationKernels.Unary(KernelDispatch.Current, new SoftplusOp(), _x, _y);

    [Benchmark, Samples(nameof(N)), BenchmarkCategory("softmax")] public void SoftmaxFastMlp() => ActivationKernels.Softmax(KernelDispatch.Current, _x, _y, N);

    [Benchmark(Baseline = true), Samples(nameof(N)), BenchmarkCategory("softmax")] public void SoftmaxTensorPrimitives() => TensorPrimitives.SoftMax(_x, _y);
}

/// <summary>The shared configuration, grouped by operation (so Ratio compares with TensorPrimitives), plus elements/ns.</summary>
public sealed class ElementwiseConfig : ManualConfig
{
    /// <summary>Builds it.</summary>
    public ElementwiseConfig()
    {
        Add(new FastMlpConfig());
        AddLogicalGroupRules(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams);
        AddColumn(ElementsPerNanosecondColumn.Instance);
    }
}

/// <summary>Elements per nanosecond: [Samples] elements per call divided by the mean time.</summary>
public sealed class ElementsPerNanosecondColumn : IColumn
{
    /// <summary>The column.</summary>
    public static readonly ElementsPerNanosecondColumn Instance = new();
    private ElementsPerNanosecondColumn() { }
    /// <inheritdoc/>
    public string Id => nameof(ElementsPerNanosecondColumn);
    /// <inheritdoc/>
    public string ColumnName => "Elements/ns";
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
    public string Legend => "Throughput: elements per call divided by Mean, per nanosecond";
    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;
    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);
    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style) =>
        SamplesPerSecondColumn.Compute(summary[benchmarkCase]?.ResultStatistics?.Mean, SamplesAttribute.For(benchmarkCase)) is { } perSecond
            ? (perSecond * 1e-9).ToString("F2", style.CultureInfo)
            : "NA";
}
