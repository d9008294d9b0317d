using CommunityToolkit.HighPerformance;
using FastMlp.Data;
using FastMlp.Training;

namespace FastMlp.Tests.Training;

/// <summary>
/// Fit gathers each shuffled batch inside the step (every shard copies its own rows): the result must be exactly that
/// of copying the batch first and calling <see cref="Trainer.Step(ReadOnlySpan2D{float}, ReadOnlySpan{int})"/>, for
/// any thread count, and a later Fit must not allocate its shuffle order again.
/// </summary>
public class FitGatherTests
{
    private const int Features = 40, Outputs = 5, Batch = 2000;

    // 40-96-48-5: ~8.8k parameters, so a batch of 2000 (17.7M row-parameters) takes the parallel path.
    private static Network Net(Activation output)
    {
        var net = new Network(Features, new LayerSpec(96, Activation.Relu), new LayerSpec(48, Activation.Tanh), new LayerSpec(Outputs, output));
        net.Initialize(11);
        return net;
    }

    private static (float[] X, int[] Labels, float[] Targets) Data(int rows)
    {
        var random = new Random(12);
        var x = new float[rows * Features];
        var labels = new int[rows];
        var targets = new float[rows * Outputs];
        for (int i = 0; i < rows; i++)
        {
            labels[i] = random.Next(Outputs);
            for (int j = 0; j < Features; j++) x[i * Features + j] = (float)(random.NextDouble() - 0.5) + (j % Outputs == labels[i] ? 0.7f : 0f);
            for (int j = 0; j < Outputs; j++) targets[i * Outputs + j] = x[i * Features + j] - x[i * Features + j + Outputs];
        }
        return (x, labels, targets);
    }

    private static TrainerOptions Options(int threads) => new()
    {
        Optimizer = new OptimizerOptions { Kind = OptimizerKind.Adam, LearningRate = 1e-3f },
        BatchSize = Batch, Epochs = 2, Seed = 4, Threads = threads, WeightDecay = 1e-4f,
    };

    [Theory]
    [InlineData(true, 1)]
    [InlineData(true, 3)]
    [InlineData(false, 1)]
    [InlineData(false, 3)]
    public void Fit_equals_steps_on_batches_gathered_beforehand_bitwise(bool classification, int threads)
    {
        // 5000 rows in batches of 2000: two full batches (4 blocks of at most 512 rows each) and a partial one of 1000.
        const int rows = 5000;
        (float[] x, int[] labels, float[] targets) = Data(rows);
        Activation output = classification ? Activation.Softmax : Activation.Identity;
        Assert.True((long)Batch * Net(output).ParameterCount >= Trainer.MinParallelWork, "the test must exercise the parallel path");
        Dataset data = classification ? Dataset.ForClassification(x, Features, labels, Outputs) : Dataset.ForRegression(x, Features, targets, Outputs);

        Network fitted = Net(output);
        using var fitTrainer = new Trainer(fitted, Options(threads));
        TrainingResult result = fitTrainer.Fit(data);

        // The reference: Fit's documented loop, with the batch copied before each step.
        Network stepped = Net(output);
        using var stepTrainer = new Trainer(stepped, Options(threads));
        var order = Enumerable.Range(0, rows).ToArray();
        var random = new Random(4);
        var batchX = new float[Batch * Features];
        var batchLabels = new int[Batch];
        var batchTargets = new float[Batch * Outputs];
        for (int epoch = 0; epoch < 2; epoch++)
        {
            random.Shuffle(order);
            double lossSum = 0;
            for (int s = 0; s < rows; s += Batch)
            {
                int n = Math.Min(Batch, rows - s);
                for (int i = 0; i < n; i++)
                {
                    x.AsSpan(order[s + i] * Features, Features).CopyTo(batchX.AsSpan(i * Features));
                    batchLabels[i] = labels[order[s + i]];
                    targets.AsSpan(order[s + i] * Outputs, Outputs).CopyTo(batchTargets.AsSpan(i * Outputs));
                }
                var inputs = new ReadOnlySpan2D<float>(batchX, n, Features);
                float loss = classification
                    ? stepTrainer.Step(inputs, batchLabels.AsSpan(0, n))
                    : stepTrainer.Step(inputs, new ReadOnlySpan2D<float>(batchTargets, n, Outputs));
                lossSum += loss * (double)n;
            }
            Assert.Equal(lossSum / rows, result.History[epoch].TrainLoss);
        }
        Assert.Equal(stepped.Parameters.ToArray().Select(BitConverter.SingleToInt32Bits), fitted.Parameters.ToArray().Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void A_later_fit_does_not_allocate_its_shuffle_order_again()
    {
        // 20,000 rows: a new shuffle order would be 80 KB; what remains is the result (history, report, Random).
        const int rows = 20_000;
        (float[] x, int[] labels, _) = Data(rows);
        Dataset data = Dataset.ForClassification(x, Features, labels, Outputs);
        using var trainer = new Trainer(Net(Activation.Softmax), new TrainerOptions { BatchSize = 500, Epochs = 1, Threads = 1, ValidationFraction = 0 });
        long bytes = AllocationProbe.Measure(() => trainer.Fit(data), repeats: 1);
        Assert.InRange(bytes, 0, 2048);
    }
}
