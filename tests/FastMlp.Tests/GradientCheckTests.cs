using Xunit;
using CommunityToolkit.HighPerformance;
using FastMlp;
using FastMlp.Tests.Reference;

namespace FastMlp.Tests;

/// <summary>
/// The engine's float back-propagation against central finite differences of the independent float64
/// <see cref="ReferenceMlp"/>, for every differentiable hidden activation and every loss it pairs with.
/// </summary>
public class GradientCheckTests
{
    private const double RelTol = 1e-3;
    /// <summary>Absolute floor, as a fraction of the largest reference gradient entry of the case.</summary>
    private const double AbsTolFraction = 1e-4;
    /// <summary>No pre-activation of a kinked layer (ReLU family) may be closer than this to 0.</summary>
    private const double KinkMargin = 1e-3;

    private static readonly string[] Hidden = ["identity", "sigmoid", "tanh", "relu", "leakyrelu:0.1", "elu:1", "elu:0.5", "softplus"];
    private static readonly string[] MseOutputs = ["identity", "sigmoid", "tanh", "softplus", "elu:1", "leakyrelu:0.1", "relu", "softmax"];
    private static readonly int[] Batches = [1, 7, 33];

    public static TheoryData<string, string, LossKind, int, int> Cases()
    {
        var data = new TheoryData<string, string, LossKind, int, int>();
        foreach (int n in Batches)
            foreach (string h in Hidden)
            {
                foreach (string o in MseOutputs)
                    data.Add(h, o, LossKind.MeanSquaredError, 3, n);
                data.Add(h, "sigmoid", LossKind.BinaryCrossEntropy, 1, n);
                data.Add(h, "sigmoid", LossKind.BinaryCrossEntropy, 3, n);
                data.Add(h, "softmax", LossKind.CategoricalCrossEntropy, 3, n);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Gradient_MatchesFiniteDifferences(string hidden, string output, LossKind loss, int outputs, int batch)
    {
        Problem pb = Problem.Create(5, [7, 9], Activation.Parse(hidden), outputs, Activation.Parse(output), loss, batch,
            seed: StableSeed($"{hidden}|{output}|{loss}|{outputs}|{batch}"));
        CheckAgainstReference(pb, loss, lambda: 0f);
    }

    [Theory]
    [InlineData("tanh", "identity", LossKind.MeanSquaredError, 3, 7)]
    [InlineData("relu", "softmax", LossKind.CategoricalCrossEntropy, 3, 33)]
    [InlineData("softplus", "sigmoid", LossKind.BinaryCrossEntropy, 1, 7)]
    public void Gradient_WithWeightDecay_MatchesFiniteDifferences(string hidden, string output, LossKind loss, int outputs, int batch)
    {
        Problem pb = Problem.Create(5, [7, 9], Activation.Parse(hidden), outputs, Activation.Parse(output), loss, batch, seed: 4242);
        CheckAgainstReference(pb, loss, lambda: 0.3f);
    }

    /// <summary>"input|units@activation|...": one layer only, deep stacks (the delta buffers swap several times),
    /// mixed activations, and layers wide enough for the vector bodies of the kernels (37 = 2x16 + 5 on 8 lanes).</summary>
    [Theory]
    [InlineData("5|3@identity", LossKind.MeanSquaredError, 7)]
    [InlineData("5|3@softmax", LossKind.CategoricalCrossEntropy, 33)]
    [InlineData("4|1@sigmoid", LossKind.BinaryCrossEntropy, 7)]
    [InlineData("6|37@tanh|20@relu|3@softmax", LossKind.CategoricalCrossEntropy, 33)]
    [InlineData("6|37@softplus|20@elu:0.5|4@identity", LossKind.MeanSquaredError, 7)]
    [InlineData("20|17@leakyrelu:0.2|1@identity", LossKind.MeanSquaredError, 1)]
    [InlineData("3|6@relu|5@tanh|4@leakyrelu:0.1|7@sigmoid|2@softmax", LossKind.CategoricalCrossEntropy, 7)]
    [InlineData("3|6@elu:1|5@sigmoid|4@softplus|7@tanh|1@sigmoid", LossKind.BinaryCrossEntropy, 33)]
    [InlineData("3|6@identity|5@identity|4@identity|2@tanh", LossKind.MeanSquaredError, 33)]
    public void Gradient_OtherArchitectures_MatchesFiniteDifferences(string architecture, LossKind loss, int batch)
    {
        string[] parts = architecture.Split('|');
        LayerSpec[] specs = parts.Skip(1).Select(p => p.Split('@')).Select(p => new LayerSpec(int.Parse(p[0]), Activation.Parse(p[1]))).ToArray();
        Problem pb = Problem.Create(int.Parse(parts[0]), specs, loss, batch, StableSeed(architecture));
        CheckAgainstReference(pb, loss, lambda: 0f);
    }

    [Fact]
    public void WeightDecay_TouchesWeightsOnly_AndAddsHalfLambdaSumW2()
    {
        Problem pb = Problem.Create(5, [7, 9], Activation.Tanh, 3, Activation.Identity, LossKind.MeanSquaredError, 7, seed: 11);
        var bp = new Backpropagation(pb.Net, LossKind.MeanSquaredError, 7);
        var g0 = new float[pb.Net.BufferLength];
        var g1 = new float[pb.Net.BufferLength];
        float j0 = bp.ComputeGradient(pb.Inputs, pb.TargetSpan, g0);
        bp.WeightDecay = 0.25f;
        Assert.Equal(0.25f, bp.WeightDecay);
        float j1 = bp.ComputeGradient(pb.Inputs, pb.TargetSpan, g1);

        var reference = new ReferenceMlp(pb.Net);
        Assert.Equal(0.5 * 0.25 * reference.WeightSumOfSquares(), j1 - j0, 1e-5);
        ReadOnlySpan<float> p = pb.Net.Parameters;
        foreach (int k in reference.ParameterIndices())
        {
            double expected = reference.IsWeight(k) ? 0.25 * p[k] : 0.0;
            Assert.True(Math.Abs(g1[k] - g0[k] - expected) <= 1e-6, $"entry {k}: decay added {g1[k] - g0[k]}, expected {expected}");
        }
        Assert.Equal(j1, bp.ComputeLoss(pb.Inputs, pb.TargetSpan), 1e-6f);
    }

    [Fact]
    public void CategoricalCrossEntropy_SoftTargets_MatchesFiniteDifferences()
    {
        // Targets that are not one-hot (label smoothing, a row not summing to 1): J = -1/N sum d ln y still holds.
        Problem pb = Problem.Create(5, [7, 9], Activation.Tanh, 3, Activation.Softmax, LossKind.CategoricalCrossEntropy, 7, seed: 77);
        var rnd = new Random(5);
        for (int i = 0; i < pb.Targets.Length; i++) pb.Targets[i] = (float)rnd.NextDouble();
        CheckAgainstReference(pb, LossKind.CategoricalCrossEntropy, 0f);
    }

    [Fact]
    public void BinaryCrossEntropy_ExtremeLogits_StaysFinite()
    {
        // A saturated sigmoid with the wrong label: the loss is huge but finite (evaluated from the logit, not ln(0)).
        var net = new Network(1, new LayerSpec(1, Activation.Sigmoid));
        net.Weights(0)[0, 0] = 200f;
        var bp = new Backpropagation(net, LossKind.BinaryCrossEntropy, 1);
        var g = new float[net.BufferLength];
        float j = bp.ComputeGradient(new ReadOnlySpan2D<float>(new float[] { 1f }, 1, 1), [0], g);
        Assert.Equal(200.0, j, 1e-3);
        Assert.Equal(1.0, g[net.Layers[0].WeightOffset], 1e-6);
        Assert.Equal(1.0, g[net.Layers[0].BiasOffset], 1e-6);
    }

    public static TheoryData<string, LossKind, int> LabelCases => new()
    {
        { "softmax", LossKind.CategoricalCrossEntropy, 3 },
        { "sigmoid", LossKind.BinaryCrossEntropy, 1 },
        { "sigmoid", LossKind.BinaryCrossEntropy, 3 },
        { "identity", LossKind.MeanSquaredError, 3 },
        { "tanh", LossKind.MeanSquaredError, 1 },
    };

    [Theory]
    [MemberData(nameof(LabelCases))]
    public void Labels_AreEquivalentToOneHotTargets(string output, LossKind loss, int outputs)
    {
        const int rows = 33;
        Problem pb = Problem.Create(5, [7, 9], Activation.Elu(1f), outputs, Activation.Parse(output), loss, rows, seed: 99);
        var rnd = new Random(3);
        int classes = outputs == 1 ? 2 : outputs;
        int[] labels = Enumerable.Range(0, rows).Select(_ => rnd.Next(classes)).ToArray();
        labels[0] = 0; labels[1] = classes - 1;
        float[] dense = ReferenceMlp.DenseFromLabels(labels, outputs);

        var bp = new Backpropagation(pb.Net, loss, rows);
        var gLabels = new float[pb.Net.BufferLength];
        var gDense = new float[pb.Net.BufferLength];
        float jLabels = bp.ComputeGradient(pb.Inputs, labels, gLabels);
        float jDense = bp.ComputeGradient(pb.Inputs, new ReadOnlySpan2D<float>(dense, rows, outputs), gDense);

        Assert.Equal(jDense, jLabels);
        Assert.Equal(gDense, gLabels);
        Assert.Equal(jDense, bp.ComputeLoss(pb.Inputs, labels), 1e-6f);

        // ... and both are right.
        var reference = new ReferenceMlp(pb.Net);
        Assert.Equal(reference.Loss(pb.X, dense, rows, loss), jLabels, 1e-5 * Math.Max(1, Math.Abs(jLabels)));
    }

    public static TheoryData<string> AllActivations => new()
    {
        "identity", "step", "bipolarstep", "sigmoid", "tanh", "relu", "leakyrelu:0.1", "leakyrelu:0.3", "elu:1", "elu:1.5", "softplus", "softmax",
    };

    [Theory]
    [MemberData(nameof(AllActivations))]
    public void Forward_MatchesReference_OverTwoInferenceBlocks(string output)
    {
        const int rows = 100; // spans two 64-row blocks of the inference path
        Activation act = Activation.Parse(output);
        // Hidden layers 37 and 20 wide so the vector bodies of the kernels run; a step only on the output, where
        // few pre-activations have to be kept off its jump.
        Activation hidden = act.Kind is ActivationKind.Softmax || !act.IsDifferentiable ? Activation.Tanh : act;
        Problem pb = Problem.Create(5, [37, 20], hidden, 3, act, LossKind.MeanSquaredError, rows, seed: 5, avoidKinks: false);
        var y = new float[rows * 3];
        pb.Net.Forward(pb.Inputs, new Span2D<float>(y, rows, 3));
        double[] expected = new ReferenceMlp(pb.Net).Output(pb.X, rows);
        for (int k = 0; k < y.Length; k++)
            Assert.True(Math.Abs(y[k] - expected[k]) <= 1e-5 * Math.Max(1, Math.Abs(expected[k])),
                $"output {k} (row {k / 3}): engine {y[k]}, reference {expected[k]}");

        // Single-sample path agrees with the batch path bitwise.
        var one = new float[3];
        for (int r = 0; r < rows; r += 13)
        {
            pb.Net.Predict(pb.X.AsSpan(r * 5, 5), one);
            Assert.Equal(y.AsSpan(r * 3, 3).ToArray(), one);
        }
    }

    [Fact]
    public void ComputeLoss_OverMoreRowsThanMaxBatch_MatchesReference()
    {
        const int rows = 100;
        Problem pb = Problem.Create(5, [7, 9], Activation.Sigmoid, 3, Activation.Softmax, LossKind.CategoricalCrossEntropy, rows, seed: 8);
        var bp = new Backpropagation(pb.Net, LossKind.CategoricalCrossEntropy, 33);
        double expected = new ReferenceMlp(pb.Net).Loss(pb.X, pb.Targets, rows, LossKind.CategoricalCrossEntropy);
        Assert.Equal(expected, bp.ComputeLoss(pb.Inputs, pb.TargetSpan), 1e-5);
    }

    private static void CheckAgainstReference(Problem pb, LossKind loss, float lambda)
    {
        Network net = pb.Net;
        var bp = new Backpropagation(net, loss, Math.Max(pb.Rows, 33)) { WeightDecay = lambda };
        var g = new float[net.BufferLength];
        Array.Fill(g, float.NaN); // must be overwritten, padding included
        float j = bp.ComputeGradient(pb.Inputs, pb.TargetSpan, g);

        var reference = new ReferenceMlp(net);
        double refLoss = reference.Loss(pb.X, pb.Targets, pb.Rows, loss, lambda);
        Assert.True(Math.Abs(j - refLoss) <= 1e-5 * Math.Max(1, Math.Abs(refLoss)), $"loss: engine {j}, reference {refLoss}");

        double[] numeric = reference.NumericGradient(pb.X, pb.Targets, pb.Rows, loss, lambda);
        double scale = numeric.Max(Math.Abs);
        Assert.True(scale > 1e-6, $"degenerate case: the largest gradient entry is {scale}");
        double absTol = AbsTolFraction * scale;

        var real = new HashSet<int>(reference.ParameterIndices());
        var failures = new List<string>();
        for (int k = 0; k < g.Length; k++)
        {
            if (!real.Contains(k))
            {
                if (g[k] != 0f) failures.Add($"padding entry {k} = {g[k]}");
                continue;
            }
            double err = Math.Abs(g[k] - numeric[k]);
            if (!(err <= RelTol * Math.Abs(numeric[k]) + absTol))
                failures.Add($"entry {k} ({Describe(net, k)}): engine {g[k]:R}, finite difference {numeric[k]:R}");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} mismatches (scale {scale:G3}):\n" + string.Join("\n", failures.Take(10)));
    }

    /// <summary>FNV-1a of the case name: the same seed on every run (string.GetHashCode is randomised per process).</summary>
    private static int StableSeed(string text)
    {
        uint h = 2166136261;
        foreach (char c in text) h = (h ^ c) * 16777619;
        return (int)(h & 0xFFFF);
    }

    private static string Describe(Network net, int k)
    {
        foreach (DenseLayer l in net.Layers)
        {
            if (k >= l.WeightOffset && k < l.WeightOffset + l.WeightCount)
                return $"W{l.Index}[{(k - l.WeightOffset) / l.Inputs},{(k - l.WeightOffset) % l.Inputs}]";
            if (k >= l.BiasOffset && k < l.BiasOffset + l.Outputs)
                return $"b{l.Index}[{k - l.BiasOffset}]";
        }
        return "padding";
    }

    /// <summary>A random network and batch, redrawn until no kinked pre-activation lies within <see cref="KinkMargin"/> of 0.</summary>
    internal sealed class Problem
    {
        public required Network Net { get; init; }
        public required float[] X { get; init; }
        public required float[] Targets { get; init; }
        public required int Rows { get; init; }

        public ReadOnlySpan2D<float> Inputs => new(X, Rows, Net.InputSize);
        public ReadOnlySpan2D<float> TargetSpan => new(Targets, Rows, Net.OutputSize);

        public static Problem Create(int inputs, int[] hidden, Activation hiddenActivation, int outputs, Activation output,
            LossKind loss, int rows, int seed, bool avoidKinks = true) =>
            Create(inputs, [.. hidden.Select(h => new LayerSpec(h, hiddenActivation)), new LayerSpec(outputs, output)], loss, rows, seed, avoidKinks);

        /// <param name="avoidKinks">Keep ReLU-family pre-activations away from 0 (needed by finite differences only);
        /// step layers are always kept away from their jump.</param>
        public static Problem Create(int inputs, LayerSpec[] specs, LossKind loss, int rows, int seed, bool avoidKinks = true)
        {
            int outputs = specs[^1].Units;
            Activation output = specs[^1].Activation;
            for (int attempt = 0; attempt < 200; attempt++)
            {
                var rnd = new Random(seed * 7919 + attempt);
                var net = new Network(inputs, specs);
                net.Initialize(rnd.Next(), WeightInit.GlorotUniform);
                foreach (DenseLayer l in net.Layers)
                    foreach (ref float b in net.Biases(l.Index))
                        b = (float)(rnd.NextDouble() - 0.5);
                float[] x = Enumerable.Range(0, rows * inputs).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
                float[] t = MakeTargets(loss, output, rows, outputs, rnd);

                bool kinked = net.Layers.Any(l => (avoidKinks && ReferenceMlp.HasKink(l.Activation)) || !l.Activation.IsDifferentiable);
                if (kinked && SmallestDistance(net, x, rows, avoidKinks) < KinkMargin) continue;
                if (output.Kind == ActivationKind.Relu && !SomeOutputAlive(net, x, rows)) continue;
                return new Problem { Net = net, X = x, Targets = t, Rows = rows };
            }
            throw new InvalidOperationException("Could not draw a kink-free problem.");
        }

        /// <summary>A ReLU output layer must not be dead on the whole batch (the gradient would be all zero).</summary>
        private static bool SomeOutputAlive(Network net, float[] x, int rows)
        {
            new ReferenceMlp(net).Forward(x, rows, out double[][] us);
            return us[^1].Count(u => u > 0) >= Math.Max(1, us[^1].Length / 4);
        }

        private static double SmallestDistance(Network net, float[] x, int rows, bool kinks)
        {
            var reference = new ReferenceMlp(net);
            reference.Forward(x, rows, out double[][] us);
            double min = double.PositiveInfinity;
            for (int m = 0; m < us.Length; m++)
            {
                Activation a = net.Layers[m].Activation;
                if ((kinks && ReferenceMlp.HasKink(a)) || !a.IsDifferentiable)
                    foreach (double u in us[m]) min = Math.Min(min, Math.Abs(u));
            }
            return min;
        }

        private static float[] MakeTargets(LossKind loss, Activation output, int rows, int outputs, Random rnd)
        {
            var t = new float[rows * outputs];
            if (loss == LossKind.CategoricalCrossEntropy)
            {
                for (int r = 0; r < rows; r++) t[r * outputs + rnd.Next(outputs)] = 1f;
                return t;
            }
            bool unit = loss == LossKind.BinaryCrossEntropy || output.Kind is ActivationKind.Sigmoid or ActivationKind.Softmax;
            for (int i = 0; i < t.Length; i++)
                t[i] = unit ? (float)rnd.NextDouble() : (float)(rnd.NextDouble() * 2 - 1);
            return t;
        }
    }
}
