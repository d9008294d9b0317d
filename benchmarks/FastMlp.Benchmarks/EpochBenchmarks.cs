using BenchmarkDotNet.Attributes;
using FastMlp.Data;
using FastMlp.IO;
using FastMlp.Training;

namespace FastMlp.Benchmarks;

/// <summary>
/// One epoch of <see cref="Trainer.Fit"/> on Fashion-MNIST's 60,000 training images: 784-256-128-10, Adam (lr 0.001),
/// batch 128, reshuffled every epoch; the whole loop (shuffle, batch gather, steps) is timed, as a user sees it.
/// </summary>
/// <remarks>
/// The images come from Debian's dataset-fashion-mnist (<see cref="Folder"/>), scaled to [0, 1]. Without it the
/// benchmark uses 60,000 random rows of the same shape and says so in the log: the same arithmetic, but ReLU
/// sparsity (and so the kernels' zero-skipping) differs, so only runs on the real images are comparable with peers.
/// Each invocation trains the network further (it is real training). Each Fit allocates only its result (history,
/// report, the seeded Random: about 0.5 KB); the trainer keeps the shuffle order from one Fit to the next, and the
/// steps themselves gather the shuffled rows into the batch buffer.
/// </remarks>
[Config(typeof(FastMlpConfig))]
public class EpochBenchmarks
{
    /// <summary>Where Debian's dataset-fashion-mnist package installs the IDX files.</summary>
    public const string Folder = "/usr/share/datasets/fashion-mnist";

    private const int Rows = 60_000;
    private Dataset _data = null!;
    private Trainer _trainer = null!;

    /// <summary>Threads the trainer may use (the caller included).</summary>
    [Params(1, 2)]
    public int Threads { get; set; } = 1;

    /// <summary>Loads (or synthesises) the data and builds the trainer.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _data = IdxFile.HasPart(Folder, "train") ? Scaled(IdxFile.LoadPart(Folder, "train")) : Synthetic();
        Architectures.LogKernelPath($"{nameof(EpochBenchmarks)}({(IdxFile.HasPart(Folder, "train") ? "Fashion-MNIST" : "random rows: Fashion-MNIST not installed")})", Threads);
        Network net = Architectures.Build(Architectures.Mnist);
        _trainer = new Trainer(net, new TrainerOptions
        {
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.Adam, LearningRate = 1e-3f },
            BatchSize = 128,
            Epochs = 1,
            Threads = Threads,
            Seed = Architectures.Seed,
        });
    }

    /// <summary>Stops the trainer's threads.</summary>
    [GlobalCleanup]
    public void Cleanup() => _trainer.Dispose();

    /// <summary>One epoch; returns its training loss, which must be finite.</summary>
    [Benchmark]
    [Samples(Rows)]
    public double Epoch()
    {
        TrainingResult result = _trainer.Fit(_data);
        double loss = result.History[^1].TrainLoss;
        if (!double.IsFinite(loss))
            throw new InvalidOperationException($"Epoch: the training loss is {loss}.");
        return loss;
    }

    private static Dataset Scaled(Dataset raw)
    {
        float[] x = raw.FeatureArray.ToArray();
        for (int i = 0; i < x.Length; i++) x[i] /= 255f;
        return Dataset.ForClassification(x, raw.FeatureCount, raw.LabelArray!, raw.ClassCount);
    }

    private static Dataset Synthetic()
    {
        float[] x = Architectures.RandomInputs(Rows, 784, Architectures.Seed + 5);
        for (int i = 0; i < x.Length; i++) x[i] = (x[i] + 1f) / 2f;
        return Dataset.ForClassification(x, 784, Architectures.RandomLabels(Rows, 10, Architectures.Seed + 6), 10);
    }
}
