using FastMlp.Data;
using FastMlp.Optimization;

namespace FastMlp.Tests.Optimization;

[Collection(OptimizationCollection.Name)]
public class SolverTests
{
    private static Network Linear()
    {
        var net = new Network(3, new LayerSpec(1, Activation.Identity));
        net.Initialize(3);
        return net;
    }

    private static void AssertSolution(Network net, double[] solution, double tolerance)
    {
        for (int j = 0; j < 3; j++) Assert.Equal(solution[j], net.Weights(0)[0, j], tolerance);
        Assert.Equal(solution[3], net.Biases(0)[0], tolerance);
    }

    [Fact]
    public void Newton_SolvesLeastSquaresInOneUndampedStep()
    {
        Dataset data = OptimizationTestData.LeastSquares(out double[] solution);
        Network net = Linear();
        var newton = new Newton(new Objective(net, data), new SolverOptions { MaxIterations = 1, GradientTolerance = 0 });
        SolverResult r = newton.Minimize();
        Assert.Equal(1, r.Iterations);
        Assert.Equal([0.0], newton.Damping);
        AssertSolution(net, solution, 1e-5);
        Assert.True(r.GradientNorm < 1e-6, r.ToString());
    }

    [Fact]
    public void Lbfgs_ReachesGradientNormBelow1e5OnLeastSquares()
    {
        Dataset data = OptimizationTestData.LeastSquares(out double[] solution);
        Network net = Linear();
        SolverResult r = new Lbfgs(new Objective(net, data), new SolverOptions { LossTolerance = 0, GradientTolerance = 1e-6 }).Minimize();
        Assert.True(r.GradientNorm < 1e-5, r.ToString());
        AssertSolution(net, solution, 1e-4);
    }

    [Fact]
    public void Scg_ReachesTheLeastSquaresSolution()
    {
        Dataset data = OptimizationTestData.LeastSquares(out double[] solution);
        Network net = Linear();
        SolverResult r = new ScaledConjugateGradient(new Objective(net, data), new SolverOptions { LossTolerance = 0, GradientTolerance = 1e-5, MaxIterations = 100 }).Minimize();
        Assert.True(r.GradientNorm < 1e-4, r.ToString());
        AssertSolution(net, solution, 1e-3);
    }

    [Fact]
    public void Lbfgs_Digits_ReachesAtLeast95PercentTestAccuracy()
    {
        var (train, test) = OptimizationTestData.Digits();
        var net = new Network(64, new LayerSpec(64, Activation.Relu), new LayerSpec(10, Activation.Softmax));
        net.Initialize(1);
        SolverResult r = new Lbfgs(new Objective(net, train)).Minimize();
        Assert.True(r.FinalLoss < 0.1 * r.InitialLoss, r.ToString());
        double accuracy = OptimizationTestData.Accuracy(net, test);
        Assert.True(accuracy >= 0.95, $"test accuracy {accuracy:P2}; {r}");
    }

    [Theory]
    [InlineData(SolverKind.Lbfgs)]
    [InlineData(SolverKind.ScaledConjugateGradient)]
    [InlineData(SolverKind.Newton)]
    public void EveryMethod_ReducesTheDigitsLoss(SolverKind kind)
    {
        Dataset train = OptimizationTestData.DigitsSubset(kind == SolverKind.Newton ? 100 : 600);
        var net = new Network(64, new LayerSpec(kind == SolverKind.Newton ? 3 : 16, Activation.Tanh), new LayerSpec(10, Activation.Softmax));
        net.Initialize(2);
        FullBatchSolver solver = FullBatchTraining.CreateSolver(kind, new Objective(net, train), new SolverOptions { MaxIterations = kind == SolverKind.Newton ? 3 : 30 });
        SolverResult r = solver.Minimize();
        Assert.True(r.FinalLoss < (kind == SolverKind.Newton ? 0.95 : 0.7) * r.InitialLoss, r.ToString());
        Assert.Equal(r.FinalLoss, new Objective(net, train).Value(), 1e-3); // the network holds the final point
        for (int i = 1; i < r.LossHistory.Count; i++) Assert.True(r.LossHistory[i] <= r.LossHistory[i - 1] + 1e-6, $"{kind}: the loss rose at iteration {i}");
    }

    [Fact]
    public void FullBatchTraining_TrainsAModelWithRestarts()
    {
        var (all, names) = TestData.Classification("iris.csv");
        var (train, test) = all.Split(0.25, 42);
        SolverTrainingResult r = FullBatchTraining.Train(train, new ModelOptions { HiddenLayers = [8], Restarts = 3, Training = new() { Seed = 5 } },
            SolverKind.Lbfgs, new SolverOptions { MaxIterations = 100 }, classNames: names);
        Assert.Equal(3, r.RestartScores.Count);
        Assert.Equal(r.RestartScores.Min(), r.RestartScores[r.BestRestart]);
        Assert.True(r.Model.EvaluateClassifier(test).Accuracy >= 0.85);
    }

    [Fact]
    public void Lbfgs_AllocatesNothingPerIteration()
    {
        Dataset train = OptimizationTestData.DigitsSubset(200);
        var net = new Network(64, new LayerSpec(8, Activation.Tanh), new LayerSpec(10, Activation.Softmax));
        var options = new SolverOptions { MaxIterations = 25, GradientTolerance = 0, LossTolerance = 0 };
        var lbfgs = new Lbfgs(new Objective(net, train), options);
        var scg = new ScaledConjugateGradient(new Objective(net, train), options);
        foreach (FullBatchSolver solver in new FullBatchSolver[] { lbfgs, scg })
        {
            net.Initialize(4);
            solver.Minimize(); // warm-up (JIT)
            var bytes = new long[options.MaxIterations + 1];
            int count = 0;
            solver.IterationCompleted = it => bytes[count++] = GC.GetAllocatedBytesForCurrentThread();
            string? failure = "not measured";
            // As in AllocationProbe: a real per-iteration allocation shows in every attempt, a runtime one-off does not.
            for (int attempt = 0; attempt < AllocationProbe.Attempts && failure is not null; attempt++)
            {
                count = 0;
                net.Initialize(4);
                SolverResult r = solver.Minimize();
                Assert.True(count >= 10, $"{solver.GetType().Name}: {r}");
                int leak = Enumerable.Range(1, count - 1).FirstOrDefault(i => bytes[i] != bytes[0]);
                failure = leak == 0 ? null : $"{solver.GetType().Name}: iteration {leak} allocated {bytes[leak] - bytes[leak - 1]} bytes";
            }
            Assert.Null(failure);
        }
    }

    [Fact]
    public void BadInput_ThrowsWithClearMessages()
    {
        Dataset data = OptimizationTestData.LeastSquares(out _);
        var objective = new Objective(Linear(), data);
        var e1 = Assert.ThrowsAny<ArgumentException>(() => new Lbfgs(objective, new SolverOptions { History = 0 }));
        Assert.Contains("history", e1.Message);
        var e2 = Assert.ThrowsAny<ArgumentException>(() => new Lbfgs(objective, new SolverOptions { GradientTolerance = -1 }));
        Assert.Contains("gradient tolerance", e2.Message);
        var e3 = Assert.ThrowsAny<ArgumentException>(() => new ScaledConjugateGradient(objective, new SolverOptions { LossTolerance = double.NaN }));
        Assert.Contains("loss tolerance", e3.Message);
        Assert.ThrowsAny<ArgumentException>(() => new Newton(objective, new SolverOptions { MaxIterations = 0 }));

        var big = new Network(64, new LayerSpec(64, Activation.Relu), new LayerSpec(10, Activation.Softmax));
        var e4 = Assert.Throws<ArgumentException>(() => new Newton(new Objective(big, OptimizationTestData.DigitsSubset(20))));
        Assert.Contains("2000 parameters", e4.Message);
        Assert.Contains("4810", e4.Message.Replace(",", ""));

        var wrongWidth = new Network(5, new LayerSpec(1, Activation.Identity));
        Assert.Contains("features", Assert.Throws<ArgumentException>(() => new Objective(wrongWidth, data)).Message);
    }
}
