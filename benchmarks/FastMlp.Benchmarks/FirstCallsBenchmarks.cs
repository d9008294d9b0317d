using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace FastMlp.Benchmarks;

/// <summary>
/// The first one-sample predictions of a fresh process: each launch builds the network in GlobalSetup (nothing is
/// predicted there) and times one invocation of <see cref="Calls"/> predictions, the first of which compiles the kernels.
/// What it guards: hot kernels left to tiered compilation ran at tier 0 for the process's first ~1,500 predictions of
/// 784-256-128-10 (about 15 times slower than steady state) before call counting promoted them.
/// </summary>
[SimpleJob(RunStrategy.ColdStart, launchCount: 5, warmupCount: 0, iterationCount: 1)]
[MemoryDiagnoser]
public class FirstCallsBenchmarks
{
    /// <summary>Predictions per invocation.</summary>
    public const int Calls = 1000;

    private Network _net = null!;
    private FrozenNetwork _frozen = null!;
    private float[] _sample = [];
    private float[] _output = [];

    /// <summary>Input-hidden...-output sizes; ReLU hidden layers, softmax output.</summary>
    [Params(Architectures.Mnist)]
    public string Arch { get; set; } = Architectures.Mnist;

    /// <summary>Builds the network, its frozen copy and one sample, without predicting anything.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Architectures.LogKernelPath($"{nameof(FirstCallsBenchmarks)}({Arch})");
        _net = Architectures.Build(Arch);
        _frozen = _net.Freeze();
        _sample = Architectures.RandomInputs(1, _net.InputSize, Architectures.Seed + 1);
        _output = new float[_net.OutputSize];
    }

    /// <summary>The process's first <see cref="Calls"/> calls of <see cref="Network.Predict(ReadOnlySpan{float}, Span{float})"/>.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public float FirstPredicts()
    {
        for (int i = 0; i < Calls; i++) _net.Predict(_sample, _output);
        return _output[0];
    }

    /// <summary>The process's first <see cref="Calls"/> calls of <see cref="FrozenNetwork.Predict"/>.</summary>
    [Benchmark(OperationsPerInvoke = Calls)]
    public float FirstFrozenPredicts()
    {
        for (int i = 0; i < Calls; i++) _frozen.Predict(_sample, _output);
        return _output[0];
    }
}
