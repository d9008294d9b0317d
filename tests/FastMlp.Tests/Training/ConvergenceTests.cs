using CommunityToolkit.HighPerformance;
using FastMlp.Data;
using FastMlp.Training;

namespace FastMlp.Tests.Training;

/// <summary>The notes' small problems: XOR, a smooth 1-D regression, and each optimizer reducing the loss.</summary>
public class ConvergenceTests
{
    private static readonly float[] XorInputs = [0, 0, 0, 1, 1, 0, 1, 1];
    private static readonly int[] XorLabels = [0, 1, 1, 0];

    [Fact]
    public void Xor_is_learned_to_100_percent()
    {
        var net = new Network(2, new LayerSpec(4, Activation.Tanh), new LayerSpec(1, Activation.Sigmoid));
        net.Initialize(seed: 3, WeightInit.GlorotUniform);
        var trainer = new Trainer(net, new TrainerOptions
        {
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.Adam, LearningRate = 0.05f },
            BatchSize = TrainerOptions.FullBatch, Epochs = 2000, TargetLoss = 0.01f,
        });
        TrainingResult result = trainer.Fit(Dataset.ForClassification(XorInputs, 2, XorLabels));
        Assert.Equal(StopReason.TargetLossReached, result.StopReason);
        for (int i = 0; i < 4; i++)
            Assert.Equal(XorLabels[i], net.PredictClass(XorInputs.AsSpan(i * 2, 2)));
    }

    [Fact]
    public void Notes_regression_net_fits_sine_on_minus_pi_to_pi()
    {
        // 1 input, 4 sigmoid hidden units, identity output, MSE: the notes' regression architecture.
        const int n = 64;
        var x = new float[n];
        var y = new float[n];
        for (int i = 0; i < n; i++) { x[i] = -MathF.PI + 2 * MathF.PI * i / (n - 1); y[i] = MathF.Sin(x[i]); }
        var net = new Network(1, new LayerSpec(4, Activation.Sigmoid), new LayerSpec(1, Activation.Identity));
        net.Initialize(seed: 1, WeightInit.Normal(1f));
        var trainer = new Trainer(net, new TrainerOptions
        {
            Optimizer = new OptimizerOptions { Kind = OptimizerKind.Adam, LearningRate = 0.02f },
            BatchSize = 16, Epochs = 3000, TargetLoss = 2e-4f, Seed = 1,
        });
        TrainingResult result = trainer.Fit(Dataset.ForRegression(x, 1, y));
        Assert.True(result.FinalTrainLoss < 1e-3, $"final MSE {result.FinalTrainLoss}");
        Span<float> output = stackalloc float[1];
        for (int i = 0; i < n; i++)
        {
            net.Predict(x.AsSpan(i, 1), output);
            Assert.True(MathF.Abs(output[0] - y[i]) < 0.08f, $"sin({x[i]}) = {y[i]}, predicted {output[0]}");
        }
    }

    [Theory]
    [InlineData(OptimizerKind.Sgd, 0.5f)]
    [InlineData(OptimizerKind.Momentum, 0.1f)]
    [InlineData(OptimizerKind.AdaGrad, 0.1f)]
    [InlineData(OptimizerKind.RmsProp, 0.01f)]
    [InlineData(OptimizerKind.Adam, 0.01f)]
    public void Every_optimizer_learns_xor_like_blobs(OptimizerKind kind, float lr)
    {
        var random = new Random(5);
        const int n = 200;
        var x = new float[n * 2];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int a = random.Next(2), b = random.Next(2);
            x[2 * i] = a * 2 - 1 + (float)(random.NextDouble() - 0.5) * 0.6f;
            x[2 * i + 1] = b * 2 - 1 + (float)(random.NextDouble() - 0.5) * 0.6f;
            labels[i] = a ^ b;
        }
        var net = new Network(2, new LayerSpec(8, Activation.Tanh), new LayerSpec(2, Activation.Softmax));
        net.Initialize(seed: 2);
        var trainer = new Trainer(net, new TrainerOptions
        {
            Optimizer = new OptimizerOptions { Kind = kind, LearningRate = lr }, BatchSize = 20, Epochs = 150, Seed = 2,
        });
        TrainingResult result = trainer.Fit(Dataset.ForClassification(x, 2, labels));
        Assert.True(result.History[^1].TrainLoss < 0.5 * result.History[0].TrainLoss,
            $"{kind}: loss {result.History[0].TrainLoss} -> {result.History[^1].TrainLoss}");
        Assert.True(result.History[^1].TrainAccuracy > 0.97, $"{kind}: accuracy {result.History[^1].TrainAccuracy}");
    }

    [Fact]
    public void Momentum_first_three_updates_follow_the_notes_expansion()
    {
        // m = beta m - alpha G; w = w + m, so with alpha = 1, beta = 0.9 the updates are
        // -G1, -0.9 G1 - G2, -0.81 G1 - 0.9 G2 - G3.
        var opt = new Optimizer(new OptimizerOptions { Kind = OptimizerKind.Momentum, LearningRate = 1f, Momentum = 0.9f }, 19);
        var random = new Random(11);
        float[][] g = [.. Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 19).Select(_ => (float)random.NextDouble() * 2 - 1).ToArray())];
        var w = new float[19];
        float[][] expected =
        [
            [.. g[0].Select(v => -v)],
            [.. Enumerable.Range(0, 19).Select(i => -0.9f * g[0][i] - g[1][i])],
            [.. Enumerable.Range(0, 19).Select(i => -0.81f * g[0][i] - 0.9f * g[1][i] - g[2][i])],
        ];
        for (int step = 0; step < 3; step++)
        {
            float[] before = (float[])w.Clone();
            opt.Step(w, g[step]);
            for (int i = 0; i < 19; i++)
                Assert.Equal(expected[step][i], w[i] - before[i], 5);
        }
    }

    [Fact]
    public void Adam_first_step_moves_each_parameter_by_the_learning_rate()
    {
        // With bias correction the first Adam step is lr * g / (|g| + eps) = lr * sign(g).
        var opt = new Optimizer(new OptimizerOptions { Kind = OptimizerKind.Adam, LearningRate = 0.01f }, 21);
        var g = Enumerable.Range(0, 21).Select(i => (i % 3 - 1) * (i + 1) * 0.1f).ToArray();
        var w = new float[21];
        opt.Step(w, g);
        for (int i = 0; i < 21; i++)
            Assert.Equal(-0.01f * MathF.Sign(g[i]), w[i], 5);
    }

    [Theory]
    [InlineData(OptimizerKind.AdaGrad)]
    [InlineData(OptimizerKind.RmsProp)]
    public void Adaptive_optimizers_match_their_scalar_definition(OptimizerKind kind)
    {
        var options = new OptimizerOptions { Kind = kind, LearningRate = 0.05f, Rho = 0.8f, Epsilon = 1e-6f };
        var opt = new Optimizer(options, 37);
        var random = new Random(4);
        var w = Enumerable.Range(0, 37).Select(_ => (float)random.NextDouble()).ToArray();
        var reference = w.Select(v => (double)v).ToArray();
        var state = new double[37];
        for (int step = 0; step < 4; step++)
        {
            var g = Enumerable.Range(0, 37).Select(_ => (float)(random.NextDouble() - 0.5)).ToArray();
            opt.Step(w, g);
            for (int i = 0; i < 37; i++)
            {
                state[i] = kind == OptimizerKind.AdaGrad ? state[i] + g[i] * (double)g[i] : 0.8 * state[i] + 0.2 * g[i] * (double)g[i];
                reference[i] -= 0.05 * g[i] / (Math.Sqrt(state[i]) + 1e-6);
            }
        }
        for (int i = 0; i < 37; i++)
            Assert.Equal(reference[i], w[i], 4);
    }

    [Theory]
    [InlineData(TrainerOptions.FullBatch, 2)]
    [InlineData(1, 80)]
    [InlineData(16, 6)]
    public void Batch_stochastic_and_mini_batch_descent_take_the_expected_number_of_steps(int batch, long steps)
    {
        var x = Enumerable.Range(0, 40).Select(i => (float)i / 40).ToArray();
        var y = x.Select(v => 2 * v + 1).ToArray();
        var net = new Network(1, new LayerSpec(1, Activation.Identity));
        var trainer = new Trainer(net, new TrainerOptions { Optimizer = new() { Kind = OptimizerKind.Sgd, LearningRate = 0.1f }, BatchSize = batch, Epochs = 2 });
        trainer.Fit(Dataset.ForRegression(x, 1, y));
        Assert.Equal(steps, trainer.StepCount);
    }

    [Fact]
    public void Batch_gradient_descent_on_a_linear_model_reaches_least_squares()
    {
        var x = Enumerable.Range(0, 40).Select(i => (float)i / 40).ToArray();
        var y = x.Select(v => 2 * v + 1).ToArray();
        var net = new Network(1, new LayerSpec(1, Activation.Identity));
        var trainer = new Trainer(net, new TrainerOptions { Optimizer = new() { Kind = OptimizerKind.Sgd, LearningRate = 0.5f }, BatchSize = TrainerOptions.FullBatch, Epochs = 3000 });
        trainer.Fit(Dataset.ForRegression(x, 1, y));
        Assert.Equal(2f, net.Weights(0)[0, 0], 3);
        Assert.Equal(1f, net.Biases(0)[0], 3);
    }
}
