using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// The input gradient with the activation derivative as its epilogue (<see cref="Gemm.InputGradientTimesDerivative(KernelPath, Activation, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, int, int)"/>)
/// against the two passes it replaces (InputGradient, then ActivationKernels.MultiplyDerivative on the same path): equal bit
/// for bit on every path this machine has, on shapes with partial tiles, column tails narrower than a vector, row blocks
/// past the packed block, and reductions longer than one chunk (the epilogue must wait for the last one).
/// </summary>
public class FusedInputGradientTests
{
    private static readonly Activation[] Activations =
    [
        Activation.Identity, Activation.Relu, Activation.LeakyRelu(0.1f), Activation.Sigmoid, Activation.Tanh,
        Activation.Elu(0.7f), Activation.Softplus,
    ];

    public static TheoryData<KernelPath, int> PathsAndActivations()
    {
        var data = new TheoryData<KernelPath, int>();
        foreach (KernelPath p in KernelDispatch.Available)
            for (int a = 0; a < Activations.Length; a++)
                data.Add(p, a);
        return data;
    }

    /// <summary>(rows, inputs, outputs); inputs are the columns of dx, outputs the reduction.</summary>
    private static IEnumerable<(int Rows, int Inputs, int Outputs)> Shapes()
    {
        foreach (var shape in FusedForwardTests.Shapes())
            yield return shape;
        // Reductions across the chunk (128 on AVX-512, 256 on AVX2, 512 on Vector128), row blocks past one A block
        // (256, 126, 64 rows: Gemm.Blocking), and enough tiles to share a packed B panel.
        yield return (7, 37, 530);
        yield return (100, 67, 20);
        yield return (300, 67, 20);
        yield return (50, 33, 300);
        // The narrow kernel of Avx512 and Avx2 (Gemm.Narrow.cs): 4/3/2/1-vector tiles, the last one's last vector the masked
        // tail (Avx512: 3 x 16 + 15 in one 4-vector tile, 6 x 16 + 4 in 4 + 3 vectors), partial row tiles, its epilogue
        // after the last of three chunks, and the 10-output layer shapes it was written for.
        yield return (40, 37, 300);
        yield return (8, 63, 20);
        yield return (9, 100, 300);
        yield return (23, 70, 10);
        yield return (301, 64, 33);
        yield return (256, 32, 10);
        yield return (0, 5, 3);
        yield return (4, 0, 3);
        yield return (4, 5, 0);
    }

    [Theory]
    [MemberData(nameof(PathsAndActivations))]
    public void Fused_input_gradient_equals_product_then_derivative_bitwise(KernelPath path, int activation)
    {
        Activation f = Activations[activation];
        int seed = 500;
        foreach (var (rows, inputs, outputs) in Shapes())
        {
            float[] dy = FusedForwardTests.Random(rows * outputs, ++seed), w = FusedForwardTests.Random(outputs * inputs, ++seed);
            // y as the layer below would hold it: the activation of pre-activations spread over its interesting range.
            float[] y = FusedForwardTests.Random(rows * inputs, ++seed, 4f);
            ActivationKernels.Apply(path, f, y, Math.Max(inputs, 1));
            float[] expected = new float[rows * inputs], actual = new float[rows * inputs];
            Array.Fill(actual, float.NaN);
            GemmKernelTests.InputGradient(path, dy, w, expected, rows, inputs, outputs);
            ActivationKernels.MultiplyDerivative(path, f, y, expected);
            Gemm.InputGradientTimesDerivative(path, f, dy, w, y, actual, rows, inputs, outputs);
            FusedForwardTests.AssertBitwise(expected, actual, $"{path} {f} {rows}x{inputs}x{outputs}");
        }
    }

    [Theory]
    [MemberData(nameof(GemmKernelTests.Paths), MemberType = typeof(GemmKernelTests))]
    public void Activations_without_an_elementwise_derivative_are_refused(KernelPath path)
    {
        foreach (Activation f in new[] { Activation.Softmax, Activation.Step })
            Assert.Throws<InvalidOperationException>(() =>
                Gemm.InputGradientTimesDerivative(path, f, new float[6], new float[6], new float[4], new float[4], 2, 2, 3));
    }
}
