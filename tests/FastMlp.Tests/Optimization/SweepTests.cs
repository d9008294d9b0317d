using FastMlp.Data;
using FastMlp.Optimization;
using FastMlp.Training;

namespace FastMlp.Tests.Optimization;

[Collection(OptimizationCollection.Name)]
public class SweepTests
{
    [Fact]
    public void Sweep_MarksADivergingRateAndPicksTheBest()
    {
        Dataset train = OptimizationTestData.DigitsSubset(300);
        var net = new Network(64, new LayerSpec(16, Activation.Tanh), new LayerSpec(10, Activation.Softmax));
        net.Initialize(1);
        float[] before = net.Parameters.ToArray();
        var training = new TrainerOptions { Optimizer = new() { Kind = OptimizerKind.Sgd }, BatchSize = TrainerOptions.FullBatch, Epochs = 20, Threads = 1 };
        SweepResult r = LearningRateSweep.Run(net, train, training, [0.01f, 0.3f, 1000f]);

        Assert.Equal(before, net.Parameters.ToArray());                 // the caller's network is untouched
        Assert.Equal(3, r.Runs.Count);
        Assert.All(r.Runs, run => Assert.Equal(r.InitialLoss, run.Losses[0])); // same initialisation
        SweepRun diverged = r.Runs[2];
        Assert.True(diverged.Diverged, string.Join(", ", diverged.Losses));
        Assert.NotNull(diverged.Note);
        Assert.True(diverged.Losses.Count < 21, "a diverging run is stopped early");
        Assert.False(r.Runs[0].Diverged);
        Assert.False(r.Runs[1].Diverged);
        Assert.Equal(21, r.Runs[0].Losses.Count);
        Assert.Equal(0.3f, r.BestRate);
        Assert.True(r.Runs[1].FinalLoss < r.Runs[0].FinalLoss);
    }

    [Fact]
    public void Sweep_RejectsBadRates()
    {
        Dataset train = OptimizationTestData.DigitsSubset(20);
        var net = new Network(64, new LayerSpec(10, Activation.Softmax));
        Assert.Contains("at least one", Assert.ThrowsAny<ArgumentException>(() => LearningRateSweep.Run(net, train, new TrainerOptions(), [])).Message);
        Assert.Contains("-1", Assert.ThrowsAny<ArgumentException>(() => LearningRateSweep.Run(net, train, new TrainerOptions(), [0.1f, -1f])).Message);
        Assert.Contains("divergence factor", Assert.ThrowsAny<ArgumentException>(() => LearningRateSweep.Run(net, train, new TrainerOptions(), [0.1f], divergenceFactor: 0.5)).Message);
    }
}
