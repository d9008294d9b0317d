using CommunityToolkit.HighPerformance;
using FastMlp.Data;
using FastMlp.Training;

namespace FastMlp.Tests.Training;

/// <summary>Stopping rules, divergence, cancellation, determinism, restarts and allocation of the training loop.</summary>
public class TrainerBehaviourTests
{
    private static Dataset Blobs(int n, int seed, float noise = 0.8f)
    {
        var random = new Random(seed);
        var x = new float[n * 3];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 3;
            for (int j = 0; j < 3; j++) x[i * 3 + j] = (j == y[i] ? 2f : 0f) + (float)(random.NextDouble() - 0.5) * 2 * noise;
        }
        return Dataset.ForClassification(x, 3, y);
    }

    private static Network SmallNet(int seed)
    {
        var net = new Network(3, new LayerSpec(9, Activation.Tanh), new LayerSpec(5, Activation.Elu()), new LayerSpec(3, Activation.Softmax));
        net.Initialize(seed);
        return net;
    }

    [Fact]
    public void Same_seed_gives_bitwise_identical_weights_after_training()
    {
        float[] Train()
        {
            Network net = SmallNet(7);
            new Trainer(net, new TrainerOptions { BatchSize = 8, Epochs = 5, Seed = 3, ValidationFraction = 0.2 }).Fit(Blobs(90, 1));
            return net.Parameters.ToArray();
        }
        float[] a = Train(), b = Train();
        Assert.Equal(a.Select(BitConverter.SingleToInt32Bits), b.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void Different_shuffle_seeds_give_different_weights()
    {
        float[] Train(int seed)
        {
            Network net = SmallNet(7);
            new Trainer(net, new TrainerOptions { BatchSize = 8, Epochs = 2, Seed = seed }).Fit(Blobs(90, 1));
            return net.Parameters.ToArray();
        }
        Assert.NotEqual(Train(1), Train(2));
    }

    [Fact]
    public void Early_stopping_restores_the_best_validation_weights()
    {
        Dataset train = Blobs(60, 1, noise: 2f), validation = Blobs(60, 2, noise: 2f);
        Network net = SmallNet(1);
        var trainer = new Trainer(net, new TrainerOptions
        {
            Optimizer = new() { LearningRate = 0.05f }, BatchSize = 4, Epochs = 500, Patience = 5, Seed = 1,
        });
        TrainingResult result = trainer.Fit(train, validation);
        Assert.Equal(StopReason.EarlyStopping, result.StopReason);
        Assert.True(result.Epochs < 500);
        Assert.Equal(result.Epochs - 5, result.BestEpoch);
        double bestReported = result.History.Min(h => h.ValidationLoss);
        Assert.Equal(bestReported, result.BestValidationLoss, 6);
        // The network holds the best epoch's weights: its validation loss is the best one, not the last.
        Assert.Equal(bestReported, trainer.Evaluate(validation, out _), 4);
        Assert.True(result.History[^1].ValidationLoss > bestReported);
    }

    [Fact]
    public void Target_loss_stops_training()
    {
        Network net = SmallNet(1);
        TrainingResult result = new Trainer(net, new TrainerOptions { Optimizer = new() { LearningRate = 0.01f }, Epochs = 1000, TargetLoss = 0.2f })
            .Fit(Blobs(90, 1, noise: 0.3f));
        Assert.Equal(StopReason.TargetLossReached, result.StopReason);
        Assert.True(result.FinalTrainLoss <= 0.2);
        Assert.True(result.History.Take(result.Epochs - 1).All(h => h.TrainLoss > 0.2));
    }

    [Fact]
    public void Divergence_stops_with_a_reason_and_keeps_finite_weights()
    {
        var x = Enumerable.Range(0, 50).Select(i => (float)i).ToArray();
        var y = x.Select(v => 1000 * v).ToArray();
        var net = new Network(1, new LayerSpec(4, Activation.Identity), new LayerSpec(1, Activation.Identity));
        net.Initialize(1);
        var trainer = new Trainer(net, new TrainerOptions { Optimizer = new() { Kind = OptimizerKind.Sgd, LearningRate = 1f }, Epochs = 200, BatchSize = 10 });
        TrainingResult result = trainer.Fit(Dataset.ForRegression(x, 1, y));
        Assert.Equal(StopReason.Diverged, result.StopReason);
        Assert.Contains("not finite", result.Message);
        Assert.All(net.Parameters.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Step_throws_on_divergence_and_leaves_parameters_untouched()
    {
        var net = new Network(1, new LayerSpec(1, Activation.Identity));
        net.Parameters[0] = 3e38f;
        float[] before = net.Parameters.ToArray();
        var trainer = new Trainer(net, new TrainerOptions { Optimizer = new() { Kind = OptimizerKind.Sgd, LearningRate = 0.1f } });
        float[] x = [1e10f], t = [0f];
        Assert.Throws<TrainingDivergedException>(() => trainer.Step(new ReadOnlySpan2D<float>(x, 1, 1), new ReadOnlySpan2D<float>(t, 1, 1)));
        Assert.Equal(before, net.Parameters.ToArray());
    }

    [Fact]
    public void Cancellation_stops_between_steps()
    {
        using var cts = new CancellationTokenSource();
        Network net = SmallNet(1);
        var trainer = new Trainer(net, new TrainerOptions { BatchSize = 8, Epochs = 1000 });
        trainer.EpochCompleted = r => { if (r.Epoch == 3) cts.Cancel(); };
        TrainingResult result = trainer.Fit(Blobs(90, 1), cancellationToken: cts.Token);
        Assert.Equal(StopReason.Cancelled, result.StopReason);
        Assert.Equal(3, result.Epochs);
    }

    [Fact]
    public void Epoch_reports_reach_the_observer()
    {
        var reports = new List<EpochReport>();
        Network net = SmallNet(1);
        var trainer = new Trainer(net, new TrainerOptions { Epochs = 4, ValidationFraction = 0.25 }) { EpochCompleted = reports.Add };
        trainer.Fit(Blobs(90, 1));
        Assert.Equal([1, 2, 3, 4], reports.Select(r => r.Epoch));
        Assert.All(reports, r =>
        {
            Assert.InRange(r.TrainAccuracy, 0, 1);
            Assert.InRange(r.ValidationAccuracy, 0, 1);
            Assert.True(r.SamplesPerSecond > 0);
            Assert.True(double.IsFinite(r.ValidationLoss));
        });
    }

    [Fact]
    public void Restarts_keep_the_best_validation_loss()
    {
        var (train, validation) = Blobs(120, 3, noise: 1.5f).Split(0.3, 1);
        ModelTrainingResult result = Model.Train(train, new ModelOptions
        {
            HiddenLayers = [4], Restarts = 4,
            Training = new TrainerOptions { Epochs = 10, Seed = 5 },
        }, validation);
        Assert.Equal(4, result.RestartScores.Count);
        Assert.Equal(result.RestartScores.Min(), result.RestartScores[result.BestRestart]);
        Assert.Equal(result.RestartScores[result.BestRestart], result.Best.BestValidationLoss);
        Assert.True(result.RestartScores.Distinct().Count() > 1, "restarts from different seeds should not all end the same");
    }

    [Fact]
    public void Training_step_allocates_nothing_after_the_first_call()
    {
        Network net = SmallNet(1);
        Dataset data = Blobs(33, 1);
        float[] x = data.FeatureArray;
        int[] labels = data.Labels.ToArray();
        var onehot = new float[33 * 3];
        for (int i = 0; i < 33; i++) onehot[i * 3 + labels[i]] = 1;
        foreach (OptimizerKind kind in Enum.GetValues<OptimizerKind>())
        {
            using var trainer = new Trainer(net, new TrainerOptions { Optimizer = new() { Kind = kind, LearningRate = 1e-3f }, WeightDecay = 1e-4f });
            long bytes = AllocationProbe.Measure(() =>
            {
                trainer.Step(new ReadOnlySpan2D<float>(x, 33, 3), labels);
                trainer.Step(new ReadOnlySpan2D<float>(x, 33, 3), new ReadOnlySpan2D<float>(onehot, 33, 3));
            }, repeats: 10);
            Assert.True(bytes == 0, $"{kind}: {bytes} bytes in 20 steps");
        }
    }

    [Fact]
    public void Batches_larger_than_one_workspace_block_give_the_same_gradient()
    {
        // Batch GD over 1100 rows runs in 512-row blocks into one gradient; it must equal one-block back-propagation.
        Dataset data = Blobs(1100, 4);
        Network a = SmallNet(2), b = SmallNet(2);
        var trainer = new Trainer(a, new TrainerOptions { Optimizer = new() { Kind = OptimizerKind.Sgd, LearningRate = 0.1f }, BatchSize = TrainerOptions.FullBatch, Shuffle = false, Epochs = 1 });
        float[] gradient = new float[b.BufferLength];
        float loss = new Backpropagation(b, LossKind.CategoricalCrossEntropy, 1100).ComputeGradient(data.Features, data.Labels, gradient);
        TrainingResult result = trainer.Fit(data);
        Assert.Equal(loss, result.History[0].TrainLoss, 5);
        for (int i = 0; i < gradient.Length; i++)
            Assert.Equal(gradient[i], trainer.Gradient[i], 5);
    }
}
