using FastMlp.Data;
using FastMlp.Optimization;

namespace FastMlp.Tests.Optimization;

[Collection(OptimizationCollection.Name)]
public class HessianTests
{
    public static TheoryData<string> Cases => ["tanh-softmax-ce", "sigmoid-identity-mse-decay", "softplus-sigmoid-bce", "elu-tanh-mse"];

    private static Objective Build(string name)
    {
        var rnd = new Random(11);
        const int rows = 12, inputs = 3;
        var x = Enumerable.Range(0, rows * inputs).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
        (Activation hidden, Activation output, LossKind loss, float decay, Dataset data) = name switch
        {
            "tanh-softmax-ce" => (Activation.Tanh, Activation.Softmax, LossKind.CategoricalCrossEntropy, 0f,
                Dataset.ForClassification(x, inputs, Enumerable.Range(0, rows).Select(i => i % 3).ToArray(), 3)),
            "sigmoid-identity-mse-decay" => (Activation.Sigmoid, Activation.Identity, LossKind.MeanSquaredError, 0.05f,
                Dataset.ForRegression(x, inputs, Enumerable.Range(0, rows * 2).Select(_ => (float)rnd.NextDouble()).ToArray(), 2)),
            "softplus-sigmoid-bce" => (Activation.Softplus, Activation.Sigmoid, LossKind.BinaryCrossEntropy, 0f,
                Dataset.ForClassification(x, inputs, Enumerable.Range(0, rows).Select(i => i % 2).ToArray(), 2)),
            _ => (Activation.Elu(), Activation.Tanh, LossKind.MeanSquaredError, 0f,
                Dataset.ForRegression(x, inputs, Enumerable.Range(0, rows).Select(_ => (float)(rnd.NextDouble() - 0.5)).ToArray(), 1)),
        };
        int outputs = data.IsClassification ? (output.Kind == ActivationKind.Sigmoid ? 1 : data.ClassCount) : data.TargetCount;
        var net = new Network(inputs, new LayerSpec(4, hidden), new LayerSpec(3, Activation.Tanh), new LayerSpec(outputs, output));
        net.Initialize(5, new WeightInit(WeightInitKind.Normal, 0.8f));
        var biases = net.Parameters;
        foreach (DenseLayer l in net.Layers)
            for (int o = 0; o < l.Outputs; o++) biases[l.BiasOffset + o] = (float)(rnd.NextDouble() - 0.5);
        return new Objective(net, data, loss, decay);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hessian_MatchesFiniteDifferencesOfTheGradient(string name)
    {
        Objective objective = Build(name);
        var h = new ExactHessian(objective);
        int n = h.Count;
        var g = new double[n];
        var hessian = new double[n * n];
        double loss = h.Compute(g, hessian);
        Assert.Equal(loss, objective.Value(), 1e-5);

        // The float64 gradient agrees with the library's float back-propagation.
        var flat = new float[objective.Length];
        objective.Evaluate(flat);
        for (int k = 0; k < n; k++) Assert.Equal(g[k], flat[h.BufferIndex[k]], 1e-4);

        var x = new double[n];
        h.GetPoint(x);
        var gp = new double[n];
        var gm = new double[n];
        double worst = 0, scale = hessian.Max(Math.Abs);
        for (int k = 0; k < n; k++)
        {
            double saved = x[k];
            x[k] = saved + 1e-3; h.SetPoint(x); double up = (float)x[k];
            h.Gradient(gp);
            x[k] = saved - 1e-3; h.SetPoint(x); double down = (float)x[k];
            h.Gradient(gm);
            x[k] = saved; h.SetPoint(x);
            for (int j = 0; j < n; j++)
                worst = Math.Max(worst, Math.Abs((gp[j] - gm[j]) / (up - down) - hessian[j * n + k]));
        }
        Assert.True(worst <= 1e-5 * Math.Max(1, scale), $"{name}: largest difference {worst:G3} (|H| max {scale:G3})");
    }

    [Fact]
    public void HessianVectorProduct_MatchesTheMatrix()
    {
        Objective objective = Build("sigmoid-identity-mse-decay");
        var h = new ExactHessian(objective);
        int n = h.Count;
        var hessian = new double[n * n];
        h.Compute(new double[n], hessian);
        var rnd = new Random(3);
        double[] v = Enumerable.Range(0, n).Select(_ => rnd.NextDouble() - 0.5).ToArray();
        var hv = new double[n];
        h.HessianVectorProduct(v, hv);
        for (int i = 0; i < n; i++)
        {
            double expected = 0;
            for (int j = 0; j < n; j++) expected += hessian[i * n + j] * v[j];
            Assert.Equal(expected, hv[i], 1e-10);
        }
    }
}
