using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// The forward GEMM with the activation as its epilogue (<see cref="Gemm.ForwardActivated(KernelPath, Activation, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int)"/>)
/// against the two passes it replaces (Forward, then ActivationKernels.Apply on the same path): equal bit for bit, for every
/// activation, on every path this machine has, on shapes whose rows, inputs and outputs are not multiples of the tile or
/// of the vector width (partial output groups, clamped rows, scalar input tails, the one-row GEMV).
/// </summary>
public class FusedForwardTests
{
    private static readonly Activation[] Activations =
    [
        Activation.Identity, Activation.Relu, Activation.LeakyRelu(0.1f), Activation.Step, Activation.BipolarStep,
        Activation.Sigmoid, Activation.Tanh, Activation.Elu(0.7f), Activation.Softplus, Activation.Softmax,
    ];

    public static TheoryData<KernelPath, int> PathsAndActivations()
    {
        var data = new TheoryData<KernelPath, int>();
        foreach (KernelPath p in KernelDispatch.Available)
            for (int a = 0; a < Activations.Length; a++)
                data.Add(p, a);
        return data;
    }

    /// <summary>(rows, inputs, outputs): each dimension over 1..37 with the others small and odd, random shapes, a wide layer.</summary>
    internal static IEnumerable<(int Rows, int Inputs, int Outputs)> Shapes()
    {
        for (int n = 1; n <= 37; n++)
        {
            yield return (n, 7, 5);
            yield return (3, n, 6);
            yield return (5, 9, n);
        }
        var rnd = new Random(11);
        for (int i = 0; i < 12; i++)
            yield return (rnd.Next(1, 40), rnd.Next(1, 90), rnd.Next(1, 40));
        yield return (67, 100, 37);
        // Avx512's short-row tree tiles (from 128 rows, 16-47 inputs, 2 vectors of outputs or more) and their epilogue.
        yield return (130, 24, 40);
    }

    /// <summary>Uniform in [-scale, scale]: large enough that the sums reach the saturated and clamped ranges of the activations.</summary>
    internal static float[] Random(int n, int seed, float scale = 1f)
    {
        var rnd = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rnd.NextDouble() * 2 - 1) * scale;
        return a;
    }

    [Theory]
    [MemberData(nameof(PathsAndActivations))]
    public void Fused_forward_equals_forward_then_activation_bitwise(KernelPath path, int activation)
    {
        Activation f = Activations[activation];
        int seed = 0;
        foreach (var (rows, inputs, outputs) in Shapes())
        {
            if (f.Kind == ActivationKind.Softmax && outputs < 2) continue;
            float[] x = Random(rows * inputs, ++seed, 2f), w = Random(outputs * inputs, ++seed), b = Random(outputs, ++seed);
            float[] expected = new float[rows * outputs], actual = new float[rows * outputs];
            Array.Fill(actual, float.NaN);
            GemmKernelTests.Forward(path, x, w, b, expected, rows, inputs, outputs);
            ActivationKernels.Apply(path, f, expected, outputs);
            Gemm.ForwardActivated(path, f, x, w, b, actual, rows, inputs, outputs);
            AssertBitwise(expected, actual, $"{path} {f} {rows}x{inputs}x{outputs}");
        }
    }

    [Theory]
    [MemberData(nameof(PathsAndActivations))]
    public void Activation_from_source_to_target_equals_copy_then_in_place_bitwise(KernelPath path, int activation)
    {
        // The output layer of a training step: y = f(u) from the kept logits, in one pass instead of a copy and an in-place pass.
        Activation f = Activations[activation];
        foreach (int width in new[] { 2, 3, 10, 17, 64, 67 })
        {
            float[] u = Random(5 * width, width, 30f);
            float[] expected = (float[])u.Clone(), actual = new float[u.Length];
            Array.Fill(actual, float.NaN);
            ActivationKernels.Apply(path, f, expected, width);
            ActivationKernels.Apply(path, f, u, actual, width);
            AssertBitwise(expected, actual, $"{path} {f} width {width}");
        }
    }

    /// <summary>Equal bit for bit (float equality would let -0 pass for +0).</summary>
    internal static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
                Assert.Fail($"{what}: element {i} expected {expected[i]:R}, got {actual[i]:R}.");
    }
}
