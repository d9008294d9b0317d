using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;

namespace FastMlp.Benchmarks;

/// <summary>
/// Inference: one-sample <see cref="Network.Predict"/> and <see cref="FrozenNetwork.Predict"/> latency and batch-256
/// <see cref="Network.Forward"/> throughput, single thread, on the kernel path the process selects (see the log line from GlobalSetup).
/// </summary>
[Config(typeof(FastMlpConfig))]
public class ForwardBenchmarks
{
    /// <summary>Rows of the batched forward pass.</summary>
    public const int BatchRows = 256;

    private Network _net = null!;
    private FrozenNetwork _frozen = null!;
    private float[] _sample = [];
    private float[] _sampleOutput = [];
    private float[] _batch = [];
    private float[] _batchOutput = [];

    /// <summary>Input-hidden...-output sizes; ReLU hidden layers, softmax output.</summary>
    [Params(Architectures.Tiny, Architectures.Small, Architectures.Mnist)]
    public string Arch { get; set; } = Architectures.Tiny;

    /// <summary>Builds the network and data, runs both paths once and refuses to continue on bad outputs.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Architectures.LogKernelPath($"{nameof(ForwardBenchmarks)}({Arch})");
        _net = Architectures.Build(Arch);
        _frozen = _net.Freeze();
        _batch = Architectures.RandomInputs(BatchRows, _net.InputSize, Architectures.Seed + 1);
        _batchOutput = new float[BatchRows * _net.OutputSize];
        _sample = _batch.AsSpan(0, _net.InputSize).ToArray();
        _sampleOutput = new float[_net.OutputSize];

        Forward256();
        Predict();
        Architectures.RequireSoftmaxRows(_batchOutput, BatchRows, _net.OutputSize, $"Forward({Arch})");
        Architectures.RequireSoftmaxRows(_sampleOutput, 1, _net.OutputSize, $"Predict({Arch})");
        // Both entry points share the same kernels; a disagreement means one of them is wired wrongly.
        for (int j = 0; j < _net.OutputSize; j++)
            if (Math.Abs(_sampleOutput[j] - _batchOutput[j]) > 1e-5f)
                throw new InvalidOperationException($"Predict({Arch}) output {j} = {_sampleOutput[j]} but Forward row 0 gives {_batchOutput[j]}.");
        PredictFrozen();
        for (int j = 0; j < _net.OutputSize; j++)
            if (Math.Abs(_sampleOutput[j] - _batchOutput[j]) > 1e-5f)
                throw new InvalidOperationException($"FrozenNetwork.Predict({Arch}) output {j} = {_sampleOutput[j]} but Forward row 0 gives {_batchOutput[j]}.");
    }

    /// <summary>Latency of one sample through the whole network.</summary>
    [Benchmark]
    [Samples(1)]
    public float Predict()
    {
        _net.Predict(_sample, _sampleOutput);
        return _sampleOutput[0];
    }

    /// <summary>Latency of one sample through the network's frozen copy (<see cref="Network.Freeze"/>).</summary>
    [Benchmark]
    [Samples(1)]
    public float PredictFrozen()
    {
        _frozen.Predict(_sample, _sampleOutput);
        return _sampleOutput[0];
    }

    /// <summary>Throughput of a 256-row batch (processed internally in blocks of 64 rows).</summary>
    [Benchmark]
    [Samples(BatchRows)]
    public float Forward256()
    {
        _net.Forward(new ReadOnlySpan2D<float>(_batch, BatchRows, _net.InputSize), new Span2D<float>(_batchOutput, BatchRows, _net.OutputSize));
        return _batchOutput[0];
    }
}
