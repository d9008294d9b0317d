using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using FastMlp.Training;

namespace FastMlp.Benchmarks;

/// <summary>
/// One training step, <see cref="Trainer.Step(ReadOnlySpan2D{float}, ReadOnlySpan{int})"/>: input checks,
/// forward, softmax cross-entropy, back-propagation and a plain SGD update, on 1 or 2 threads.
/// </summary>
/// <remarks>
/// Every invocation trains the same network further on the same batch. The kernels skip work for exactly-zero
/// sensitivities (dead ReLUs, saturated softmax outputs), so a network trained for millions of steps would be
/// timed in a state unlike real training. The benchmark therefore restores the initial parameters every
/// <see cref="RestoreEvery"/> steps; the copy is amortised to well under 0.1% of a step.
/// </remarks>
[Config(typeof(FastMlpConfig))]
public class TrainStepBenchmarks
{
    /// <summary>Steps between restores of the initial parameters.</summary>
    public const int RestoreEvery = 1000;

    private Network _net = null!;
    private Trainer _trainer = null!;
    private float[] _inputs = [];
    private int[] _labels = [];
    private float[] _initial = [];
    private int _sinceRestore;

    /// <summary>Input-hidden...-output sizes; ReLU hidden layers, softmax output.</summary>
    [Params(Architectures.Tiny, Architectures.Small, Architectures.Mnist, Architectures.Wide)]
    public string Arch { get; set; } = Architectures.Tiny;

    /// <summary>Rows per step.</summary>
    [Params(32, 128, 256)]
    public int Batch { get; set; } = 32;

    /// <summary>Threads the step may use (the trainer's worker pool, caller included).</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    /// <summary>Builds network, trainer and batch; runs one step (which allocates the trainer's buffers) and checks it.</summary>
    [GlobalSetup]
    public void Setup()
    {
        Architectures.LogKernelPath($"{nameof(TrainStepBenchmarks)}({Arch}, batch {Batch})", Threads);
        _net = Architectures.Build(Arch);
        _trainer = new Trainer(_net, new TrainerOptions
        {
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = 0.01f },
            BatchSize = Batch,
            Threads = Threads,
        });
        _inputs = Architectures.RandomInputs(Batch, _net.InputSize, Architectures.Seed + 2);
        _labels = Architectures.RandomLabels(Batch, _net.OutputSize, Architectures.Seed + 3);
        _initial = _net.Parameters.ToArray();

        float loss = _trainer.Step(new ReadOnlySpan2D<float>(_inputs, Batch, _net.InputSize), _labels);
        if (!float.IsFinite(loss) || loss <= 0f)
            throw new InvalidOperationException($"Step({Arch}, {Batch}): the first loss is {loss}; refusing to time a broken path.");
        Architectures.RequireFinite(_trainer.Gradient, $"Step({Arch}, {Batch}) gradient");
        Architectures.RequireFinite(_net.Parameters, $"Step({Arch}, {Batch}) parameters");
        var outputs = new float[Batch * _net.OutputSize];
        _net.Forward(new ReadOnlySpan2D<float>(_inputs, Batch, _net.InputSize), new Span2D<float>(outputs, Batch, _net.OutputSize));
        Architectures.RequireSoftmaxRows(outputs, Batch, _net.OutputSize, $"Step({Arch}, {Batch}) outputs");
        _initial.CopyTo(_net.Parameters);
        _sinceRestore = 0;
    }

    /// <summary>The trained network must still be finite at the end of the process.</summary>
    [GlobalCleanup]
    public void Cleanup()
    {
        _trainer.Dispose();
        Architectures.RequireFinite(_net.Parameters, $"Step({Arch}, {Batch}) parameters after the run");
    }

    /// <summary>One SGD step on <see cref="Batch"/> labelled rows; returns the loss.</summary>
    [Benchmark]
    [Samples(nameof(Batch))]
    public float Step()
    {
        if (++_sinceRestore == RestoreEvery)
        {
            _initial.CopyTo(_net.Parameters);
            _sinceRestore = 0;
        }
        return _trainer.Step(new ReadOnlySpan2D<float>(_inputs, Batch, _net.InputSize), _labels);
    }
}
