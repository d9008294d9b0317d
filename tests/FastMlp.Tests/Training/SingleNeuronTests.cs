using FastMlp.Training;

namespace FastMlp.Tests.Training;

/// <summary>Rosenblatt's perceptron rule and Widrow's delta rule, the one-neuron cases of the notes.</summary>
public class SingleNeuronTests
{
    private static readonly float[] Corners = [0, 0, 0, 1, 1, 0, 1, 1];

    [Fact]
    public void Perceptron_learns_AND_and_converges()
    {
        var p = new Perceptron(2);
        (int epochs, bool converged) = p.Train(Corners, [0, 0, 0, 1], learningRate: 0.5f);
        Assert.True(converged);
        Assert.True(epochs < 20);
        float[] expected = [0, 0, 0, 1];
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], p.Predict(Corners.AsSpan(i * 2, 2)));
    }

    [Fact]
    public void Bipolar_perceptron_learns_OR_with_minus_one_plus_one_targets()
    {
        var p = new Perceptron(2, bipolar: true);
        Assert.True(p.Train(Corners, [-1, 1, 1, 1]).Converged);
        Assert.Equal(-1f, p.Predict([0, 0]));
        Assert.Equal(1f, p.Predict([0, 1]));
    }

    [Fact]
    public void Perceptron_does_not_converge_on_XOR()
    {
        var p = new Perceptron(2);
        (int epochs, bool converged) = p.Train(Corners, [0, 1, 1, 0], maxEpochs: 50);
        Assert.False(converged);
        Assert.Equal(50, epochs);
    }

    [Fact]
    public void Perceptron_rule_update_is_eta_error_x()
    {
        var p = new Perceptron(3);
        // One sample with target 0 and output step(0) = 1: error -1, so w = -eta x and b = -eta.
        p.Train([1f, 2f, -3f], [0f], learningRate: 0.25f, maxEpochs: 1);
        Assert.Equal([-0.25f, -0.5f, 0.75f], p.Weights.ToArray());
        Assert.Equal(-0.25f, p.Bias);
    }

    [Fact]
    public void Perceptron_rejects_targets_outside_its_coding()
    {
        var p = new Perceptron(2);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => p.Train(Corners, [0, 1, -1, 0]));
        Assert.Contains("row 2", e.Message);
    }

    [Fact]
    public void Delta_rule_step_matches_the_notes_formula()
    {
        // dw_i = -x_i f'(v) 2 err with err = d - y, applied as w -= eta dw.
        var neuron = new DeltaRuleNeuron(2, Activation.Sigmoid);
        neuron.Weights[0] = 0.3f; neuron.Weights[1] = -0.2f; neuron.Bias = 0.1f;
        float[] x = [0.5f, 2f];
        double v = 0.3 * 0.5 - 0.2 * 2 + 0.1, y = 1 / (1 + Math.Exp(-v)), err = 1 - y, slope = y * (1 - y);
        neuron.Train(x, [1f], learningRate: 0.5f, epochs: 1);
        Assert.Equal(0.3 + 0.5 * 2 * err * slope * 0.5, neuron.Weights[0], 5);
        Assert.Equal(-0.2 + 0.5 * 2 * err * slope * 2, neuron.Weights[1], 5);
        Assert.Equal(0.1 + 0.5 * 2 * err * slope, neuron.Bias, 5);
    }

    [Fact]
    public void Delta_rule_with_identity_fits_a_line()
    {
        var x = Enumerable.Range(0, 20).Select(i => i / 20f).ToArray();
        var d = x.Select(v => 3 * v - 1).ToArray();
        var neuron = new DeltaRuleNeuron(1, Activation.Identity);
        double[] mse = neuron.Train(x, d, learningRate: 0.1f, epochs: 500);
        Assert.True(mse[^1] < 1e-6, $"final MSE {mse[^1]}");
        Assert.True(mse[^1] < mse[0]);
        Assert.Equal(3f, neuron.Weights[0], 2);
        Assert.Equal(-1f, neuron.Bias, 2);
    }

    [Fact]
    public void Delta_rule_refuses_a_step_activation()
    {
        var e = Assert.Throws<ArgumentException>(() => new DeltaRuleNeuron(2, Activation.Step));
        Assert.Contains("step", e.Message);
    }
}
