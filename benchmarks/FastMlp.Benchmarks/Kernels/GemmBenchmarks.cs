using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using FastMlp.Kernels;

namespace FastMlp.Benchmarks.Kernels;

/// <summary>
/// The three GEMM forms of a dense layer on the suite's shapes, once per kernel path this CPU supports, so one
/// table shows the ISA ladder. Case is "rows/inputs x outputs"; FASTMLP_GEMM_CASES (comma-separated cases)
/// restricts the cases, e.g. <c>FASTMLP_GEMM_CASES=256/784x256,1/64x32</c>, and FASTMLP_GEMM_PATHS (comma-separated
/// kernel paths) the paths, e.g. <c>FASTMLP_GEMM_PATHS=Avx512,Avx2</c> (the scalar path of the large shapes alone takes
/// longer than the SIMD ones together). The GFLOP/s column is 2 rows inputs outputs / Mean.
/// </summary>
[Config(typeof(GemmConfig))]
public class GemmBenchmarks
{
    /// <summary>Environment variable that restricts <see cref="Cases"/>.</summary>
    public const string CasesVariable = "FASTMLP_GEMM_CASES";

    /// <summary>Environment variable that restricts <see cref="Paths"/>.</summary>
    public const string PathsVariable = "FASTMLP_GEMM_PATHS";

    private static readonly int[] s_batches = [1, 32, 256];
    private static readonly (int In, int Out)[] s_layers = [(64, 32), (32, 32), (32, 10), (784, 256), (256, 128), (128, 10), (1024, 1024), (1024, 10)];

    // 64-byte aligned, as the network's buffers (Architectures.Aligned).
    private AlignedBuffer _x = null!, _w = null!, _b = null!, _y = null!, _dx = null!, _dw = null!, _db = null!;
    private int _rows, _in, _out;

    /// <summary>Every batch x layer, or the ones FASTMLP_GEMM_CASES names.</summary>
    public static IEnumerable<string> Cases()
    {
        string? only = Environment.GetEnvironmentVariable(CasesVariable);
        if (!string.IsNullOrWhiteSpace(only))
            return only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return s_batches.SelectMany(b => s_layers.Select(l => $"{b}/{l.In}x{l.Out}"));
    }

    /// <summary>The kernel paths this CPU supports, or those of them FASTMLP_GEMM_PATHS names.</summary>
    public static IEnumerable<KernelPath> Paths()
    {
        string? only = Environment.GetEnvironmentVariable(PathsVariable);
        if (string.IsNullOrWhiteSpace(only))
            return KernelDispatch.Available;
        var named = only.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(n => Enum.Parse<KernelPath>(n, ignoreCase: true)).ToHashSet();
        return KernelDispatch.Available.Where(named.Contains);
    }

    /// <summary>rows/inputs x outputs.</summary>
    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "1/64x32";

    /// <summary>The kernel path (set with <see cref="KernelDispatch.Use"/>).</summary>
    [ParamsSource(nameof(Paths))]
    public KernelPath Path { get; set; } = KernelPath.Scalar;

    /// <summary>Parses "rows/in x out" into (rows, in, out).</summary>
    public static (int Rows, int In, int Out) Parse(string c)
    {
        string[] parts = c.Split('/', 'x');
        if (parts.Length != 3)
            throw new ArgumentException($"Case '{c}' is not rows/inputs x outputs.", nameof(c));
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
    }

    /// <summary>Selects the path, fills the operands, and checks each form once against the scalar reference.</summary>
    [GlobalSetup]
    public void Setup()
    {
        KernelDispatch.Use(Path);
        Console.WriteLine($"// FastMlp GemmBenchmarks({Case}, {Path}): kernels {KernelDispatch.Describe()}");
        (_rows, _in, _out) = Parse(Case);
        _x = Architectures.Aligned(Architectures.RandomInputs(_rows, _in, 1));
        _w = Architectures.Aligned(Architectures.RandomInputs(_out, _in, 2));
        _b = Architectures.Aligned(Architectures.RandomInputs(1, _out, 3));
        _y = new AlignedBuffer(_rows * _out);
        _dx = new AlignedBuffer(_rows * _in);
        _dw = new AlignedBuffer(_out * _in);
        _db = new AlignedBuffer(_out);
        Forward(); InputGradient(); WeightGradient();
        var y = new float[_y.Length];
        var dx = new float[_dx.Length];
        var dw = new float[_dw.Length];
        var db = new float[_db.Length];
        Gemm.ForwardScalar(_x.Span, _w.Span, _b.Span, y, _rows, _in, _out);
        Gemm.InputGradientScalar(_y.Span, _w.Span, dx, _rows, _in, _out);
        Gemm.WeightGradientScalar(_y.Span, _x.Span, dw, db, _rows, _in, _out, accumulate: false);
        Require(_y.Span, y, _in, "Forward");
        Require(_dx.Span, dx, _out, "InputGradient");
        Require(_dw.Span, dw, _rows, "WeightGradient");
    }

    private void Require(ReadOnlySpan<float> actual, float[] expected, int k, string what)
    {
        for (int i = 0; i < actual.Length; i++)
            if (!(Math.Abs(actual[i] - expected[i]) <= 1e-5f * (k + 2) * (1 + Math.Abs(expected[i]))))
                throw new InvalidOperationException($"{what}({Case}, {Path}) element {i} = {actual[i]}, scalar gives {expected[i]}.");
    }

    /// <summary>y = x W^T + b.</summary>
    [Benchmark]
    public float Forward()
    {
        Gemm.Forward(_x.Span, _w.Span, _b.Span, _y.Span, _rows, _in, _out);
        return _y.Span[0];
    }

    /// <summary>dx = dy W (dy = the forward output).</summary>
    [Benchmark]
    public float InputGradient()
    {
        Gemm.InputGradient(_y.Span, _w.Span, _dx.Span, _rows, _in, _out);
        return _dx.Span[0];
    }

    /// <summary>dW = dy^T x, db = colsum(dy), overwriting.</summary>
    [Benchmark]
    public float WeightGradient()
    {
        Gemm.WeightGradient(_y.Span, _x.Span, _dw.Span, _db.Span, _rows, _in, _out, accumulate: false);
        return _dw.Span[0];
    }
}
