using BenchmarkDotNet.Attributes;
using CommunityToolkit.HighPerformance;
using FastMlp.Training;
using static TorchSharp.torch;

namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// One training step (forward, softmax cross-entropy averaged over the batch, backward, plain SGD lr 0.01):
/// FastMlp <see cref="Trainer.Step(ReadOnlySpan2D{float}, ReadOnlySpan{int})"/> with TrainerOptions.Threads as the
/// baseline, TorchSharp (zero_grad, cross_entropy, backward, SGD.step, loss.item) with torch.set_num_threads.
/// Both restore their initial parameters every 1000 steps, as the suite's TrainStepBenchmarks does.
/// </summary>
[Config(typeof(FastMlpConfig))]
public class PeerTrainStepBenchmarks : IDisposable
{
    private const float LearningRate = 0.01f;
    private const int RestoreEvery = 1000;

    private Network _net = null!;
    private Trainer? _trainer;
    private float[] _x = [];
    private int[] _labels = [];
    private float[] _initial = [];
    private int _sinceRestore;
    private TorchMlp? _torch;
    private Tensor? _xTorch, _labelsTorch;

    /// <summary>Input-hidden...-output sizes; ReLU hidden layers, softmax output.</summary>
    [Params(Architectures.Tiny, Architectures.Small, Architectures.Mnist, Architectures.Wide)]
    public string Arch { get; set; } = Architectures.Tiny;

    /// <summary>Rows per step.</summary>
    [Params(32, 256)]
    public int Batch { get; set; } = 32;

    /// <summary>Threads: FastMlp's TrainerOptions.Threads, torch.set_num_threads.</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    private float FirstFastMlp(out float[] weightsAfter)
    {
        Console.WriteLine($"// FastMlp {nameof(PeerTrainStepBenchmarks)}({Arch}, batch {Batch}, threads {Threads}): kernels {(global::FastMlp.Kernels.KernelDispatch.Describe())}");
        _net = Architectures.Build(Arch);
        _x = Architectures.RandomInputs(Batch, _net.InputSize, Architectures.Seed + 2);
        _labels = Architectures.RandomLabels(Batch, _net.OutputSize, Architectures.Seed + 3);
        _initial = _net.Parameters.ToArray();
        _trainer = new Trainer(_net, new TrainerOptions
        {
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.Sgd, LearningRate = LearningRate },
            BatchSize = Batch,
            Threads = Threads,
        });
        float loss = _trainer.Step(new ReadOnlySpan2D<float>(_x, Batch, _net.InputSize), _labels);
        if (!float.IsFinite(loss) || loss <= 0f)
            throw new InvalidOperationException($"Step({Arch}, {Batch}): the first loss is {loss}.");
        weightsAfter = PeerArchitectures.Flat(_net.Weights(0));
        return loss;
    }

    /// <summary>Builds FastMlp's trainer and checks one step.</summary>
    [GlobalSetup(Target = nameof(FastMlp))]
    public void SetupFastMlp()
    {
        FirstFastMlp(out _);
        _initial.CopyTo(_net.Parameters);
        _sinceRestore = 0;
    }

    /// <summary>Builds the TorchSharp model from the same initial weights; one step of each must agree (loss and first-layer weights).</summary>
    [GlobalSetup(Target = nameof(TorchSharp))]
    public void SetupTorch()
    {
        float expectedLoss = FirstFastMlp(out float[] expectedWeights);
        _initial.CopyTo(_net.Parameters);       // back to the initial weights before copying them into torch
        TorchMlp.SetThreads(Threads);
        Console.WriteLine($"// {TorchMlp.Describe()}");
        _torch = new TorchMlp(_net);
        _xTorch = tensor(_x, [Batch, _net.InputSize]);
        _labelsTorch = tensor(_labels.Select(l => (long)l).ToArray(), [Batch]);
        float loss = _torch.Step(_xTorch, _labelsTorch, LearningRate);
        Agreement.Require([expectedLoss], [loss], $"TorchSharp Step({Arch}, {Batch}) loss");
        Agreement.Require(expectedWeights, _torch.Weights(0), $"TorchSharp Step({Arch}, {Batch}) layer-0 weights after one SGD step", 1e-5f, 1e-4f);
        _torch.Restore();
        _trainer?.Dispose();
        _trainer = null;
        _sinceRestore = 0;
    }

    /// <summary>Disposes the trainer and the torch objects.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _trainer?.Dispose();
        _torch?.Dispose();
        _xTorch?.Dispose();
        _labelsTorch?.Dispose();
        _trainer = null; _torch = null; _xTorch = null; _labelsTorch = null;
        GC.SuppressFinalize(this);
    }

    /// <summary>FastMlp Trainer.Step.</summary>
    [Benchmark(Baseline = true)]
    [Samples(nameof(Batch))]
    public float FastMlp()
    {
        if (++_sinceRestore == RestoreEvery)
        {
            _initial.CopyTo(_net.Parameters);
            _sinceRestore = 0;
        }
        return _trainer!.Step(new ReadOnlySpan2D<float>(_x, Batch, _net.InputSize), _labels);
    }

    /// <summary>TorchSharp zero_grad + forward + cross_entropy + backward + SGD step + loss.item.</summary>
    [Benchmark, BenchmarkCategory(PeerAvailability.Torch)]
    [Samples(nameof(Batch))]
    public float TorchSharp()
    {
        if (++_sinceRestore == RestoreEvery)
        {
            _torch!.Restore();
            _sinceRestore = 0;
        }
        return _torch!.Step(_xTorch!, _labelsTorch!, LearningRate);
    }
}
