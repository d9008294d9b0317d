using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastMlp.Kernels;

namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// The three products of a dense layer at kernel level, FastMlp's <c>Gemm</c> (baseline, the kernel path in use)
/// against OpenBLAS (cblas_sgemm; cblas_sgemv for one row; openblas_set_num_threads(1)):
/// Forward Y = X W^T + b, InputGradient dX = dY W, WeightGradient dW = dY^T X and db = column sums of dY.
/// Shape is rows x inputs x outputs.
/// </summary>
[Config(typeof(GemmConfig))]
public unsafe class PeerGemmBenchmarks
{
    // 64-byte aligned, as the network's buffers (Architectures.Aligned); both peers get the same operands.
    private AlignedBuffer _x = null!, _w = null!, _b = null!, _y = null!, _dy = null!, _dx = null!, _dw = null!, _db = null!, _ones = null!;
    private float[] _expected = [];
    private int _rows, _inputs, _outputs;

    /// <summary>Which product: every form, or those FASTMLP_PEER_GEMM_FORMS names.</summary>
    [ParamsSource(nameof(Forms))]
    public string Form { get; set; } = "Forward";

    /// <summary>Environment variable that restricts <see cref="Forms"/> (comma-separated, e.g. <c>Forward</c>).</summary>
    public const string FormsVariable = "FASTMLP_PEER_GEMM_FORMS";

    /// <summary>Forward, InputGradient and WeightGradient, or those FASTMLP_PEER_GEMM_FORMS names.</summary>
    public static IEnumerable<string> Forms() => ListOr(FormsVariable, ["Forward", "InputGradient", "WeightGradient"]);

    /// <summary>Environment variable that replaces the default <see cref="Shapes"/> (comma-separated, e.g. <c>1x64x32,256x1024x10</c>).</summary>
    public const string ShapesVariable = "FASTMLP_PEER_GEMM_SHAPES";

    /// <summary>One-sample, batch-32 and batch-256 shapes of the MNIST-sized and wide layers, or those FASTMLP_PEER_GEMM_SHAPES names.</summary>
    public static IEnumerable<string> Shapes() => ListOr(ShapesVariable, ["1x784x256", "32x784x256", "256x1024x1024"]);

    /// <summary>The comma-separated values of an environment variable, or <paramref name="defaults"/> when it is unset or blank.</summary>
    private static string[] ListOr(string variable, string[] defaults)
    {
        string? only = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrWhiteSpace(only)
            ? defaults
            : only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    /// <summary>rows x inputs x outputs.</summary>
    [ParamsSource(nameof(Shapes))]
    public string Shape { get; set; } = "1x784x256";

    /// <summary>Multiply-adds x 2 of one invocation.</summary>
    public double Flops => 2.0 * _rows * _inputs * _outputs;

    private void Common()
    {
        int[] s = Shape.Split('x').Select(int.Parse).ToArray();
        (_rows, _inputs, _outputs) = (s[0], s[1], s[2]);
        Console.WriteLine($"// FastMlp {nameof(PeerGemmBenchmarks)}({Form}, {Shape}): kernels {KernelDispatch.Describe()}");
        _x = Architectures.Aligned(Architectures.RandomInputs(_rows, _inputs, 1));
        _w = Architectures.Aligned(Architectures.RandomInputs(_outputs, _inputs, 2));
        _b = Architectures.Aligned(Architectures.RandomInputs(1, _outputs, 3));
        _dy = Architectures.Aligned(Architectures.RandomInputs(_rows, _outputs, 4));
        _y = new AlignedBuffer(_rows * _outputs);
        _dx = new AlignedBuffer(_rows * _inputs);
        _dw = new AlignedBuffer(_outputs * _inputs);
        _db = new AlignedBuffer(_outputs);
        _ones = new AlignedBuffer(_rows);
        _ones.Span.Fill(1f);
    }

    private float[] Result() => Form switch
    {
        "Forward" => _y.Span.ToArray(),
        "InputGradient" => _dx.Span.ToArray(),
        _ => [.. _dw.Span, .. _db.Span],
    };

    /// <summary>FastMlp only.</summary>
    [GlobalSetup(Target = nameof(FastMlp))]
    public void SetupFastMlp()
    {
        Common();
        FastMlp();
    }

    /// <summary>OpenBLAS with one thread; its result must match FastMlp's.</summary>
    [GlobalSetup(Target = nameof(OpenBLAS))]
    public void SetupOpenBlas()
    {
        Common();
        OpenBlas.SetNumThreads(1);
        Console.WriteLine($"// {OpenBlas.Describe()}, 1 thread");
        FastMlp();
        _expected = Result();
        OpenBLAS();
        Agreement.Require(_expected, Result(), $"OpenBLAS {Form}({Shape})", 1e-3f, 1e-3f);
    }

    /// <summary>FastMlp's kernel.</summary>
    [Benchmark(Baseline = true)]
    [Samples(1)]
    public float FastMlp()
    {
        switch (Form)
        {
            case "Forward":
                Gemm.Forward(_x.Span, _w.Span, _b.Span, _y.Span, _rows, _inputs, _outputs);
                return _y.Span[0];
            case "InputGradient":
                Gemm.InputGradient(_dy.Span, _w.Span, _dx.Span, _rows, _inputs, _outputs);
                return _dx.Span[0];
            default:
                Gemm.WeightGradient(_dy.Span, _x.Span, _dw.Span, _db.Span, _rows, _inputs, _outputs, accumulate: false);
                return _dw.Span[0];
        }
    }

    /// <summary>The same product through CBLAS.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.Blas)]
    [Samples(1)]
    public float OpenBLAS()
    {
        fixed (float* x = _x.Span, w = _w.Span, b = _b.Span, y = _y.Span, dy = _dy.Span, dx = _dx.Span, dw = _dw.Span, db = _db.Span, ones = _ones.Span)
        {
            int m = _rows, k = _inputs, n = _outputs;
            switch (Form)
            {
                case "Forward":
                    for (int r = 0; r < m; r++) new ReadOnlySpan<float>(b, n).CopyTo(new Span<float>(y + r * n, n));
                    if (m == 1)
                        OpenBlas.Sgemv(OpenBlas.RowMajor, OpenBlas.NoTrans, n, k, 1f, w, k, x, 1, 1f, y, 1);
                    else
                        OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.Trans, m, n, k, 1f, x, k, w, k, 1f, y, n);
                    return y[0];
                case "InputGradient":
                    if (m == 1)
                        OpenBlas.Sgemv(OpenBlas.RowMajor, OpenBlas.Trans, n, k, 1f, w, k, dy, 1, 0f, dx, 1);
                    else
                        OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.NoTrans, OpenBlas.NoTrans, m, k, n, 1f, dy, n, w, k, 0f, dx, k);
                    return dx[0];
                default:
                    OpenBlas.Sgemm(OpenBlas.RowMajor, OpenBlas.Trans, OpenBlas.NoTrans, n, k, m, 1f, dy, n, x, k, 0f, dw, k);
                    OpenBlas.Sgemv(OpenBlas.RowMajor, OpenBlas.Trans, m, n, 1f, dy, n, ones, 1, 0f, db, 1);
                    return dw[0];
            }
        }
    }
}
