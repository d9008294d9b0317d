using System.Globalization;
using CommunityToolkit.HighPerformance;
using FastMlp;
using FastMlp.Kernels;
using FastMlp.Tests.Reference;
using Xunit;

namespace FastMlp.Tests;

/// <summary>Activation values, derivatives, extreme inputs, the layer rules, and <see cref="Activation.Parse"/>.</summary>
public class ActivationTests
{
    // Each value is evaluated three ways: the kernel on one element (scalar tail), the kernel on 37 copies
    // (vector body plus tail), and a 1-1 network with w = 1, b = 0 (the public forward path).
    private static float[] ViaKernel(Activation a, float z, int count)
    {
        var data = Enumerable.Repeat(z, count).ToArray();
        ActivationKernels.Apply(a, data, 1);
        return data;
    }

    private static float ViaNetwork(Activation a, float z)
    {
        var net = new Network(1, new LayerSpec(1, a));
        net.Weights(0)[0, 0] = 1f;
        var y = new float[1];
        net.Predict([z], y);
        return y[0];
    }

    private static void AssertActivation(Activation a, float z, double expected, double tol)
    {
        foreach (float v in ViaKernel(a, z, 1).Concat(ViaKernel(a, z, 37)).Append(ViaNetwork(a, z)))
        {
            if (double.IsNaN(expected)) Assert.True(float.IsNaN(v), $"{a}({z}) = {v}, expected NaN");
            else if (double.IsInfinity(expected)) Assert.Equal(expected, (double)v);
            else Assert.True(Math.Abs(v - expected) <= tol * Math.Max(1, Math.Abs(expected)), $"{a}({z}) = {v:R}, expected {expected:R}");
        }
    }

    public static TheoryData<string, float, double> Values => new()
    {
        { "identity", -2.5f, -2.5 },
        { "identity", 3f, 3.0 },
        { "step", 0f, 1.0 },
        { "step", -0.25f, 0.0 },
        { "step", 2f, 1.0 },
        { "bipolarstep", 0f, 1.0 },
        { "bipolarstep", -0.25f, -1.0 },
        { "sigmoid", 0f, 0.5 },
        { "sigmoid", 2f, 0.88079707797788231 },
        { "sigmoid", -2f, 0.11920292202211769 },
        { "tanh", 1f, 0.76159415595576489 },
        { "tanh", -0.5f, -0.46211715726000974 },
        { "relu", -2f, 0.0 },
        { "relu", 1.5f, 1.5 },
        { "leakyrelu:0.1", -2f, -0.2 },
        { "leakyrelu:0.1", 1.5f, 1.5 },
        { "leakyrelu:0.25", -4f, -1.0 },
        { "elu:1", -1f, -0.63212055882855767 },
        { "elu:1", 2f, 2.0 },
        { "elu:2", -1f, -1.2642411176571153 },
        { "softplus", 0f, 0.69314718055994531 },
        { "softplus", 2f, 2.1269280110429727 },
        { "softplus", -3f, 0.048587351573742 },
        { "softplus", 30f, 30.0 },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Value_AtKnownPoints(string name, float z, double expected) =>
        AssertActivation(Activation.Parse(name), z, expected, 1e-6);

    public static TheoryData<string, float, double> Extremes => new()
    {
        { "sigmoid", float.PositiveInfinity, 1.0 },
        { "sigmoid", float.NegativeInfinity, 0.0 },
        { "sigmoid", 1e30f, 1.0 },
        { "sigmoid", -1e30f, 0.0 },
        { "sigmoid", -100f, 3.7200759760208361e-44 },
        { "tanh", float.PositiveInfinity, 1.0 },
        { "tanh", float.NegativeInfinity, -1.0 },
        { "tanh", 1e30f, 1.0 },
        { "tanh", -1e30f, -1.0 },
        { "softplus", 1e30f, 1e30f },
        { "softplus", -1e30f, 0.0 },
        { "softplus", float.PositiveInfinity, double.PositiveInfinity },
        { "softplus", float.NegativeInfinity, 0.0 },
        { "softplus", 100f, 100.0 },
        { "elu:1", float.NegativeInfinity, -1.0 },
        { "elu:2.5", float.NegativeInfinity, -2.5 },
        { "elu:1", -1e30f, -1.0 },
        { "elu:1", 1e30f, 1e30f },
        { "relu", float.NegativeInfinity, 0.0 },
        { "relu", float.PositiveInfinity, double.PositiveInfinity },
        { "relu", -1e30f, 0.0 },
        { "leakyrelu:0.1", -1e30f, -1e29f },
        { "leakyrelu:0.1", float.NegativeInfinity, double.NegativeInfinity },
        { "step", float.PositiveInfinity, 1.0 },
        { "step", float.NegativeInfinity, 0.0 },
        { "bipolarstep", float.NegativeInfinity, -1.0 },
        { "identity", 1e30f, 1e30f },
    };

    [Theory]
    [MemberData(nameof(Extremes))]
    public void Value_AtExtremeInputs_IsFiniteLimitNotNaN(string name, float z, double expected) =>
        AssertActivation(Activation.Parse(name), z, expected, 1e-6);

    public static TheoryData<string> AllNames => new()
    {
        "identity", "step", "bipolarstep", "sigmoid", "tanh", "relu", "leakyrelu:0.1", "elu:1", "softplus", "softmax",
    };

    [Theory]
    [MemberData(nameof(AllNames))]
    public void NaN_In_GivesNaN_Out(string name)
    {
        Activation a = Activation.Parse(name);
        if (a.Kind == ActivationKind.Softmax)
        {
            // A NaN poisons its own row only.
            float[] data = [1f, float.NaN, 0f, 1f, 2f, 3f];
            ActivationKernels.Apply(a, data, 3);
            Assert.All(data.Take(3), v => Assert.True(float.IsNaN(v)));
            Assert.All(data.Skip(3), v => Assert.True(float.IsFinite(v)));
            return;
        }
        AssertActivation(a, float.NaN, double.NaN, 0);
    }

    [Fact]
    public void Softmax_HugeLogits_AreFinite()
    {
        float[] data = [1000f, 0f, -1000f, 1e30f, -1e30f, 0f, -3e38f, 3e38f, 0f];
        ActivationKernels.Apply(Activation.Softmax, data, 3);
        Assert.Equal([1f, 0f, 0f, 1f, 0f, 0f, 0f, 1f, 0f], data);
    }

    [Fact]
    public void Softmax_NegativeInfinityLogit_GetsZeroProbability()
    {
        float[] data = [float.NegativeInfinity, 0f, 1f];
        ActivationKernels.Apply(Activation.Softmax, data, 3);
        Assert.Equal(0f, data[0]);
        Assert.Equal(1 / (1 + Math.E), data[1], 1e-6);
        Assert.Equal(Math.E / (1 + Math.E), data[2], 1e-6);
    }

    [Fact]
    public void Softmax_PositiveInfinityLogit_TakesAllTheMass()
    {
        // The limit of softmax as one logit grows without bound is the one-hot row; the class doc promises
        // that no NaN comes out of exp overflow.
        float[] data = [float.PositiveInfinity, 0f, -5f];
        ActivationKernels.Apply(Activation.Softmax, data, 3);
        Assert.Equal([1f, 0f, 0f], data);
    }

    [Fact]
    public void Softmax_IsRowWise()
    {
        float[] data = [1f, 2f, 3f, 3f, 2f, 1f];
        ActivationKernels.Apply(Activation.Softmax, data, 3);
        double[] expected = [0.090030573170380462, 0.24472847105479767, 0.66524095577482190];
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(expected[j], data[j], 1e-6);
            Assert.Equal(expected[j], data[5 - j], 1e-6);
        }
    }

    public static TheoryData<string, float> DerivativePoints()
    {
        var data = new TheoryData<string, float>();
        foreach (string n in new[] { "identity", "sigmoid", "tanh", "relu", "leakyrelu:0.1", "leakyrelu:0.3", "elu:1", "elu:0.5", "softplus" })
            foreach (float z in new[] { -3f, -0.7f, 0.4f, 2.5f })
                data.Add(n, z);
        return data;
    }

    [Theory]
    [MemberData(nameof(DerivativePoints))]
    public void Derivative_FromValue_MatchesFiniteDifference(string name, float z)
    {
        Activation a = Activation.Parse(name);
        const double h = 1e-6;
        double expected = (ReferenceMlp.Apply(a, z + h) - ReferenceMlp.Apply(a, z - h)) / (2 * h);
        foreach (int n in new[] { 1, 37 })
        {
            float[] y = ViaKernel(a, z, n);
            float[] delta = Enumerable.Repeat(2f, n).ToArray();
            ActivationKernels.MultiplyDerivative(a, y, delta);
            Assert.All(delta, d => Assert.True(Math.Abs(d - 2 * expected) <= 1e-4 * Math.Max(1, Math.Abs(2 * expected)),
                $"{a}'({z}) * 2 = {d}, expected {2 * expected}"));
        }
    }

    [Fact]
    public void Softmax_OnHiddenLayer_IsRejected()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() =>
            new Network(4, new LayerSpec(5, Activation.Tanh), new LayerSpec(3, Activation.Softmax), new LayerSpec(2, Activation.Identity)));
        Assert.Contains("Layer 1", ex.Message);
        Assert.Contains("softmax", ex.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("step")]
    [InlineData("bipolarstep")]
    public void StepLayer_IsNotTrainable(string step)
    {
        Activation s = Activation.Parse(step);
        Assert.False(s.IsDifferentiable);

        // Hidden step: a network for inference is fine, back-propagation refuses it.
        var hidden = new Network(3, new LayerSpec(4, s), new LayerSpec(2, Activation.Identity));
        var ex = Assert.ThrowsAny<ArgumentException>(() => new Backpropagation(hidden, LossKind.MeanSquaredError, 8));
        Assert.Contains("Layer 0", ex.Message);
        Assert.Contains(step, ex.Message, StringComparison.OrdinalIgnoreCase);

        // Step output.
        var output = new Network(3, new LayerSpec(4, Activation.Tanh), new LayerSpec(2, s));
        ex = Assert.ThrowsAny<ArgumentException>(() => new Backpropagation(output, LossKind.MeanSquaredError, 8));
        Assert.Contains(step, ex.Message, StringComparison.OrdinalIgnoreCase);

        // While every other kind is trainable.
        Assert.True(Activation.Tanh.IsDifferentiable);
        _ = new Backpropagation(new Network(3, new LayerSpec(4, Activation.Relu), new LayerSpec(2, Activation.Identity)), LossKind.MeanSquaredError, 8);
    }

    [Theory]
    [InlineData(ActivationKind.LeakyRelu, 1f)]
    [InlineData(ActivationKind.LeakyRelu, -0.1f)]
    [InlineData(ActivationKind.LeakyRelu, float.NaN)]
    [InlineData(ActivationKind.Elu, 0f)]
    [InlineData(ActivationKind.Elu, -1f)]
    [InlineData(ActivationKind.Elu, float.PositiveInfinity)]
    [InlineData(ActivationKind.Elu, float.NaN)]
    public void Parameter_OutOfRange_IsRejected(ActivationKind kind, float parameter)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Activation(kind, parameter));
        Assert.Equal("parameter", ex.ParamName);
        Assert.Equal(parameter, ex.ActualValue);
    }

    [Fact]
    public void Parameter_IsDroppedForKindsThatDoNotUseIt()
    {
        Assert.Equal(Activation.Sigmoid, new Activation(ActivationKind.Sigmoid, 5f));
        Assert.Equal(0f, new Activation(ActivationKind.Tanh, 3f).Parameter);
        Assert.Equal(0.2f, Activation.LeakyRelu(0.2f).Parameter);
        Assert.NotEqual(Activation.LeakyRelu(0.2f), Activation.LeakyRelu(0.1f));
    }

    public static TheoryData<string> RoundTripNames => new()
    {
        "identity", "step", "bipolarstep", "sigmoid", "tanh", "relu", "leakyrelu:0.1", "leakyrelu:0.01", "leakyrelu:0",
        "elu:1", "elu:1.5", "elu:0.123456789", "softplus", "softmax",
    };

    [Theory]
    [MemberData(nameof(RoundTripNames))]
    public void Parse_ToString_RoundTrips(string name)
    {
        Activation a = Activation.Parse(name);
        Assert.Equal(a, Activation.Parse(a.ToString()));
        Assert.Equal(a, Activation.Parse(a.ToString().ToUpperInvariant()));
    }

    [Fact]
    public void Parse_ToString_RoundTrips_UnderCommaDecimalCulture()
    {
        CultureInfo saved = CultureInfo.CurrentCulture;
        var comma = (CultureInfo)CultureInfo.InvariantCulture.Clone();
        comma.NumberFormat.NumberDecimalSeparator = ",";
        comma.NumberFormat.NumberGroupSeparator = ".";
        try
        {
            CultureInfo.CurrentCulture = comma;
            Activation a = Activation.Elu(1.5f);
            Assert.Equal("elu:1.5", a.ToString());
            Assert.Equal(a, Activation.Parse(a.ToString()));
            Assert.Equal(Activation.LeakyRelu(0.2f), Activation.Parse("leakyrelu:0.2"));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
        }
    }

    [Theory]
    [InlineData("linear", ActivationKind.Identity, 0f)]
    [InlineData("Logistic", ActivationKind.Sigmoid, 0f)]
    [InlineData("sign", ActivationKind.BipolarStep, 0f)]
    [InlineData("Bipolar_Step", ActivationKind.BipolarStep, 0f)]
    [InlineData("Leaky-ReLU:0.2", ActivationKind.LeakyRelu, 0.2f)]
    [InlineData("leakyrelu", ActivationKind.LeakyRelu, 0.1f)]
    [InlineData(" ELU ", ActivationKind.Elu, 1f)]
    [InlineData("elu:2.5e-1", ActivationKind.Elu, 0.25f)]
    public void Parse_AcceptsAliasesAndDefaults(string text, ActivationKind kind, float parameter)
    {
        Activation a = Activation.Parse(text);
        Assert.Equal(kind, a.Kind);
        Assert.Equal(parameter, a.Parameter);
    }

    [Theory]
    [InlineData("swish")]
    [InlineData("")]
    [InlineData("relu6")]
    public void Parse_UnknownName_Throws_NamingIt(string text)
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => Activation.Parse(text));
        Assert.Contains($"'{text}'", ex.Message);
    }

    [Fact]
    public void Parse_BadParameter_Throws_NamingIt()
    {
        var ex = Assert.ThrowsAny<ArgumentException>(() => Activation.Parse("elu:abc"));
        Assert.Contains("abc", ex.Message);
        var range = Assert.ThrowsAny<ArgumentOutOfRangeException>(() => Activation.Parse("leakyrelu:1.5"));
        Assert.Equal(1.5f, range.ActualValue);
        Assert.Throws<ArgumentNullException>(() => Activation.Parse(null!));
    }
}
