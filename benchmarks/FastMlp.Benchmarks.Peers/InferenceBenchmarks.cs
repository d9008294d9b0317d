using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using Microsoft.ML.OnnxRuntime;

namespace FastMlp.Benchmarks.Peers;

/// <summary>Helpers shared by the peer benchmarks.</summary>
internal static class PeerArchitectures
{
    /// <summary>A row-major copy of a weight matrix view.</summary>
    public static float[] Flat(CommunityToolkit.HighPerformance.Span2D<float> matrix)
    {
        var a = new float[matrix.Length];
        matrix.CopyTo(a);
        return a;
    }
}

/// <summary>
/// Inference of one sample (latency): FastMlp <see cref="Network.Predict"/> as the baseline; TorchSharp (no_grad,
/// softmax of the logits, 1 intra-op thread), ONNX Runtime (1 intra-op thread, sequential, all graph
/// optimisations), FANN (fann_run + softmax) and OpenBLAS (cblas_sgemv layer by layer, ReLU and softmax in C#) on
/// the same weights and input.
/// </summary>
[Config(typeof(FastMlpConfig))]
public class PeerPredictBenchmarks : IDisposable
{
    private Network _net = null!;
    private FrozenNetwork? _frozen;
    private float[] _x = [];
    private float[] _y = [];
    private float[] _expected = [];
    private TorchMlp? _torch;
    private global::TorchSharp.torch.Tensor? _xTorch;
    private OnnxPeer? _onnx;
    private FannMlp? _fann;
    private BlasMlp? _blas;

    /// <summary>Input-hidden...-output sizes; ReLU hidden layers, softmax output.</summary>
    [Params(Architectures.Tiny, Architectures.Small, Architectures.Mnist, Architectures.Wide)]
    public string Arch { get; set; } = Architectures.Tiny;

    private void Common(string peer)
    {
        Architectures.LogKernelPath($"{nameof(PeerPredictBenchmarks)}({Arch}) {peer}");
        _net = Architectures.Build(Arch);
        _x = Architectures.RandomInputs(1, _net.InputSize, Architectures.Seed + 1);
        _y = new float[_net.OutputSize];
        _expected = new float[_net.OutputSize];
        _net.Predict(_x, _expected);
        Architectures.RequireSoftmaxRows(_expected, 1, _net.OutputSize, $"Predict({Arch})");
    }

    /// <summary>FastMlp only.</summary>
    [GlobalSetup(Target = nameof(FastMlp))]
    public void SetupFastMlp() => Common("FastMlp");

    /// <summary>Freezes the network and checks the frozen copy against Network.Predict.</summary>
    [GlobalSetup(Target = nameof(FastMlpFrozen))]
    public void SetupFrozen()
    {
        Common("FastMlp frozen");
        _frozen = _net.Freeze();
        FastMlpFrozen();
        Agreement.Require(_expected, _y, $"FrozenNetwork Predict({Arch})");
    }

    /// <summary>Builds the TorchSharp model and checks it.</summary>
    [GlobalSetup(Target = nameof(TorchSharp))]
    public void SetupTorch()
    {
        Common(PeerAvailability.Torch);
        TorchMlp.SetThreads(1);
        Console.WriteLine($"// {TorchMlp.Describe()}");
        _torch = new TorchMlp(_net);
        _xTorch = global::TorchSharp.torch.tensor(_x, [1, _net.InputSize]);
        TorchSharp();
        Agreement.Require(_expected, _y, $"TorchSharp Predict({Arch})");
    }

    /// <summary>Builds the ONNX session and checks it.</summary>
    [GlobalSetup(Target = nameof(OnnxRuntime))]
    public void SetupOnnx()
    {
        Common(PeerAvailability.Onnx);
        _onnx = new OnnxPeer(_net, _x, _y, 1);
        OnnxRuntime();
        Agreement.Require(_expected, _y, $"ONNX Runtime Predict({Arch})");
    }

    /// <summary>Builds the FANN network and checks it.</summary>
    [GlobalSetup(Target = nameof(Fann))]
    public void SetupFann()
    {
        Common(PeerAvailability.FannPeer);
        _fann = new FannMlp(_net, _x);
        Fann();
        Agreement.Require(_expected, _y, $"FANN Predict({Arch})");
    }

    /// <summary>Copies the weights for the OpenBLAS layer-by-layer peer and checks it.</summary>
    [GlobalSetup(Target = nameof(OpenBLAS))]
    public void SetupBlas()
    {
        Common(PeerAvailability.Blas);
        OpenBlas.SetNumThreads(1);
        _blas = new BlasMlp(_net);
        OpenBLAS();
        Agreement.Require(_expected, _y, $"OpenBLAS Predict({Arch})");
    }

    /// <summary>Releases the native peers.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _torch?.Dispose();
        _xTorch?.Dispose();
        _onnx?.Dispose();
        _fann?.Dispose();
        _blas?.Dispose();
        _torch = null; _xTorch = null; _onnx = null; _fann = null; _blas = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>FastMlp Network.Predict.</summary>
    [Benchmark(Baseline = true)]
    [Samples(1)]
    public float FastMlp()
    {
        _net.Predict(_x, _y);
        return _y[0];
    }

    /// <summary>FastMlp FrozenNetwork.Predict (Network.Freeze: transposed weights, broadcast multiply-adds).</summary>
    [Benchmark]
    [Samples(1)]
    public float FastMlpFrozen()
    {
        _frozen!.Predict(_x, _y);
        return _y[0];
    }

    /// <summary>TorchSharp: softmax(model(x)) under no_grad, copied out.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.Torch)]
    [Samples(1)]
    public float TorchSharp()
    {
        _torch!.Predict(_xTorch!, _y);
        return _y[0];
    }

    /// <summary>ONNX Runtime InferenceSession.Run into a preallocated output.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.Onnx)]
    [Samples(1)]
    public float OnnxRuntime()
    {
        _onnx!.Run();
        return _y[0];
    }

    /// <summary>FANN fann_run + softmax.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.FannPeer)]
    [Samples(1)]
    public float Fann()
    {
        _fann!.Predict(_x, _y);
        return _y[0];
    }

    /// <summary>OpenBLAS: bias copy + cblas_sgemv per layer, ReLU and the softmax in C#.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.Blas)]
    [Samples(1)]
    public float OpenBLAS()
    {
        _blas!.Predict(_x, _y);
        return _y[0];
    }
}

/// <summary>
/// Inference of a 256-row batch (throughput): FastMlp <see cref="Network.Forward"/> (single thread) as the
/// baseline; TorchSharp and ONNX Runtime with one intra-op thread.
/// </summary>
[Config(typeof(FastMlpConfig))]
public class PeerForward256Benchmarks : IDisposable
{
    /// <summary>Rows of the batch.</summary>
    public const int Rows = 256;

    private Network _net = null!;
    private float[] _x = [];
    private float[] _y = [];
    private float[] _expected = [];
    private TorchMlp? _torch;
    private global::TorchSharp.torch.Tensor? _xTorch;
    private OnnxPeer? _onnx;

    /// <summary>Input-hidden...-output sizes; ReLU hidden layers, softmax output.</summary>
    [Params(Architectures.Tiny, Architectures.Small, Architectures.Mnist, Architectures.Wide)]
    public string Arch { get; set; } = Architectures.Tiny;

    private void Common(string peer)
    {
        Architectures.LogKernelPath($"{nameof(PeerForward256Benchmarks)}({Arch}) {peer}");
        _net = Architectures.Build(Arch);
        _x = Architectures.RandomInputs(Rows, _net.InputSize, Architectures.Seed + 1);
        _y = new float[Rows * _net.OutputSize];
        _expected = new float[Rows * _net.OutputSize];
        _net.Forward(new ReadOnlySpan2D<float>(_x, Rows, _net.InputSize), new Span2D<float>(_expected, Rows, _net.OutputSize));
        Architectures.RequireSoftmaxRows(_expected, Rows, _net.OutputSize, $"Forward({Arch})");
    }

    /// <summary>FastMlp only.</summary>
    [GlobalSetup(Target = nameof(FastMlp))]
    public void SetupFastMlp() => Common("FastMlp");

    /// <summary>Builds the TorchSharp model and checks it.</summary>
    [GlobalSetup(Target = nameof(TorchSharp))]
    public void SetupTorch()
    {
        Common(PeerAvailability.Torch);
        TorchMlp.SetThreads(1);
        Console.WriteLine($"// {TorchMlp.Describe()}");
        _torch = new TorchMlp(_net);
        _xTorch = global::TorchSharp.torch.tensor(_x, [Rows, _net.InputSize]);
        TorchSharp();
        Agreement.Require(_expected, _y, $"TorchSharp Forward256({Arch})");
    }

    /// <summary>Builds the ONNX session and checks it.</summary>
    [GlobalSetup(Target = nameof(OnnxRuntime))]
    public void SetupOnnx()
    {
        Common(PeerAvailability.Onnx);
        _onnx = new OnnxPeer(_net, _x, _y, Rows);
        OnnxRuntime();
        Agreement.Require(_expected, _y, $"ONNX Runtime Forward256({Arch})");
    }

    /// <summary>Releases the native peers.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _torch?.Dispose();
        _xTorch?.Dispose();
        _onnx?.Dispose();
        _torch = null; _xTorch = null; _onnx = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>FastMlp Network.Forward of 256 rows.</summary>
    [Benchmark(Baseline = true)]
    [Samples(Rows)]
    public float FastMlp()
    {
        _net.Forward(new ReadOnlySpan2D<float>(_x, Rows, _net.InputSize), new Span2D<float>(_y, Rows, _net.OutputSize));
        return _y[0];
    }

    /// <summary>TorchSharp: softmax(model(x)) under no_grad, copied out.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.Torch)]
    [Samples(Rows)]
    public float TorchSharp()
    {
        _torch!.Predict(_xTorch!, _y);
        return _y[0];
    }

    /// <summary>ONNX Runtime InferenceSession.Run into a preallocated output.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.Onnx)]
    [Samples(Rows)]
    public float OnnxRuntime()
    {
        _onnx!.Run();
        return _y[0];
    }
}

/// <summary>An ONNX Runtime session over the network's ONNX graph, bound to fixed input and output arrays.</summary>
internal sealed class OnnxPeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _options;
    private readonly RunOptions _run = new();
    private readonly OrtValue _input, _output;
    private readonly string[] _inputNames = ["x"], _outputNames = ["y"];
    private readonly OrtValue[] _inputs, _outputs;

    public OnnxPeer(Network net, float[] x, float[] y, int rows)
    {
        _options = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        _session = new InferenceSession(OnnxModel.Build(net), _options);
        Console.WriteLine($"// ONNX Runtime {OrtEnv.Instance().GetVersionString()}, 1 intra-op thread, CPU execution provider");
        _input = OrtValue.CreateTensorValueFromMemory(x, [rows, net.InputSize]);
        _output = OrtValue.CreateTensorValueFromMemory(y, [rows, net.OutputSize]);
        _inputs = [_input];
        _outputs = [_output];
    }

    public void Run() => _session.Run(_run, _inputNames, _inputs, _outputNames, _outputs);

    public void Dispose()
    {
        _input.Dispose();
        _output.Dispose();
        _run.Dispose();
        _session.Dispose();
        _options.Dispose();
    }
}
