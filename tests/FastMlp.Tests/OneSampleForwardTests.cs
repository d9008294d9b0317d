using CommunityToolkit.HighPerformance;
using FastMlp.Kernels;
using FastMlp.Tests.Kernels;

namespace FastMlp.Tests;

/// <summary>
/// The fused one-sample path (<see cref="OneSampleForward"/>, behind <see cref="Network.Predict"/> and the row-by-row
/// batched Forward of small networks) on every kernel path this machine has: bitwise equal to the layer-by-layer
/// batched kernels (the GEMM tiles of rows &gt; 1 and the element-wise activation kernels), close to the float64
/// reference, for widths 1..40 and wider, every activation; allocation-free and safe from many threads.
/// </summary>
public class OneSampleForwardTests
{
    public static TheoryData<KernelPath> Paths() => GemmKernelTests.Paths();

    private static readonly Activation[] Hidden =
    [
        Activation.Relu, new(ActivationKind.LeakyRelu, 0.1f), Activation.Tanh, Activation.Sigmoid, new(ActivationKind.Elu, 0.7f),
        new(ActivationKind.Softplus), Activation.Identity, Activation.Step, Activation.BipolarStep,
    ];

    private static readonly Activation[] Output = [Activation.Softmax, Activation.Sigmoid, Activation.Identity, Activation.Tanh];

    /// <summary>Networks: every width 1..40 as input, hidden and output width, plus a few wide ones (past the row-by-row limit and the 16-wide blocks).</summary>
    internal static IEnumerable<Network> Networks()
    {
        var rnd = new Random(11);
        int n = 0;
        for (int width = 1; width <= 40; width++)
        {
            yield return Make([width, 1 + rnd.Next(40), 1 + rnd.Next(40)], n++);
            yield return Make([1 + rnd.Next(40), width, 1 + rnd.Next(40), 1 + rnd.Next(40)], n++);
            yield return Make([1 + rnd.Next(40), 1 + rnd.Next(40), width], n++);
        }
        yield return Make([2, 3, 2], n++);
        yield return Make([64, 32, 32, 10], n++);
        yield return Make([97, 65, 33, 17], n++);
        yield return Make([784, 70, 10], n++);
        yield return Make([31, 130, 2], n++);
    }

    private static Network Make(int[] sizes, int n)
    {
        var layers = new LayerSpec[sizes.Length - 1];
        for (int i = 1; i < sizes.Length; i++)
        {
            bool last = i == sizes.Length - 1;
            Activation a = last ? Output[n % Output.Length] : Hidden[(n + i) % Hidden.Length];
            if (a.Kind == ActivationKind.Softmax && sizes[i] < 2) a = Activation.Sigmoid;
            layers[i - 1] = new LayerSpec(sizes[i], a);
        }
        var net = new Network(sizes[0], layers);
        net.Initialize(100 + n);
        // Non-zero biases, so that a path which forgot (or doubled) them fails.
        var rnd = new Random(n);
        for (int l = 0; l < layers.Length; l++)
            foreach (ref float b in net.Biases(l)) b = (float)(rnd.NextDouble() - 0.5);
        return net;
    }

    internal static float[] Inputs(int rows, int width, int seed)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, rows * width).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
    }

    /// <summary>Layer by layer through the batched GEMM kernel of <paramref name="path"/> (rows &gt; 1: the tiled kernel) and the activation kernels.</summary>
    private static float[] Batched(KernelPath path, Network net, float[] x, int rows)
    {
        float[] current = x;
        foreach (DenseLayer l in net.Layers)
        {
            var y = new float[rows * l.Outputs];
            float[] w = net.Parameters.Slice(l.WeightOffset, l.WeightCount).ToArray();
            float[] b = net.Parameters.Slice(l.BiasOffset, l.Outputs).ToArray();
            GemmKernelTests.Forward(path, current, w, b, y, rows, l.Inputs, l.Outputs);
            ActivationKernels.Apply(path, l.Activation, y, l.Outputs);
            current = y;
        }
        return current;
    }

    private static float[] OneSample(KernelPath path, Network net, ReadOnlySpan<float> x)
    {
        var y = new float[net.OutputSize];
        // NaN-filled scratch: a path that read an activation it had not written would show it.
        float[] a = Enumerable.Repeat(float.NaN, Math.Max(1, net.HiddenWidth)).ToArray();
        float[] b = Enumerable.Repeat(float.NaN, Math.Max(1, net.HiddenWidth)).ToArray();
        OneSampleForward.Run(path, net.LayerArray, net.Parameters, x, y, a, b);
        return y;
    }

    internal static void Bitwise(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int j = 0; j < expected.Length; j++)
            if (BitConverter.SingleToInt32Bits(expected[j]) != BitConverter.SingleToInt32Bits(actual[j]))
                Assert.Fail($"{what}: output {j} is {actual[j]:R}, the batched kernels give {expected[j]:R}.");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void One_sample_equals_the_batched_kernels_bitwise(KernelPath path)
    {
        const int rows = 6;
        int checkedNets = 0;
        foreach (Network net in Networks())
        {
            float[] x = Inputs(rows, net.InputSize, net.InputSize * 31 + net.OutputSize);
            float[] batched = Batched(path, net, x, rows);
            for (int r = 0; r < rows; r++)
            {
                float[] one = OneSample(path, net, x.AsSpan(r * net.InputSize, net.InputSize));
                Bitwise(batched.AsSpan(r * net.OutputSize, net.OutputSize), one, $"{path} {net} row {r}");
            }
            checkedNets++;
        }
        Assert.True(checkedNets > 120);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void One_sample_matches_the_float64_reference(KernelPath path)
    {
        foreach (Network net in Networks())
        {
            if (net.Layers.Any(l => l.Activation.Kind is ActivationKind.Step or ActivationKind.BipolarStep))
                continue; // a step turns a rounding difference at 0 into a jump of 1; the bitwise test covers them
            float[] x = Inputs(1, net.InputSize, net.InputSize + 7);
            float[] y = OneSample(path, net, x);
            double[] expected = new Reference.ReferenceMlp(net).Output(x, 1);
            double scale = net.Layers.Max(l => l.Inputs);
            for (int j = 0; j < y.Length; j++)
                if (!(Math.Abs(y[j] - expected[j]) <= 1e-6 * scale * Math.Max(1, Math.Abs(expected[j]))))
                    Assert.Fail($"{path} {net}: output {j} is {y[j]}, float64 reference {expected[j]}.");
        }
    }

    [Fact]
    public void Predict_and_Forward_agree_bitwise_on_the_current_path()
    {
        const int rows = 70; // more than one 64-row block
        foreach (Network net in Networks())
        {
            float[] x = Inputs(rows, net.InputSize, 5);
            var y = new float[rows * net.OutputSize];
            net.Forward(new ReadOnlySpan2D<float>(x, rows, net.InputSize), new Span2D<float>(y, rows, net.OutputSize));
            Bitwise(Batched(KernelDispatch.Current, net, x, rows), y, $"Forward {net}");
            var one = new float[net.OutputSize];
            for (int r = 0; r < rows; r += 23)
            {
                net.Predict(x.AsSpan(r * net.InputSize, net.InputSize), one);
                Bitwise(y.AsSpan(r * net.OutputSize, net.OutputSize), one, $"Predict {net} row {r}");
                int expectedClass = Network.ArgMax(one);
                Assert.Equal(expectedClass, net.PredictClass(x.AsSpan(r * net.InputSize, net.InputSize)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Softmax_outputs_with_infinite_or_NaN_logits_take_the_row_kernel_and_agree(KernelPath path)
    {
        // Output rows of at most one vector are softmaxed in registers; a +Inf logit (here from an infinite bias) must
        // fall back to the row kernel: the infinite logits share the mass, and a NaN beside them makes the row NaN.
        foreach (int outputs in new[] { 2, 3, 5, 10, 16, 17 })
        {
            foreach (float odd in new[] { float.PositiveInfinity, float.NegativeInfinity, float.NaN })
            {
                Network net = InfiniteLogitNetwork(outputs, odd);
                float[] x = Inputs(4, 7, outputs);
                float[] batched = Batched(path, net, x, 4);
                for (int r = 0; r < 4; r++)
                {
                    float[] one = OneSample(path, net, x.AsSpan(r * 7, 7));
                    Bitwise(batched.AsSpan(r * outputs, outputs), one, $"{path} {outputs} outputs, bias[0] = {odd}, row {r}");
                    Assert.Equal(ExpectedLastOutput(odd), one[outputs - 1]);
                }
            }
        }
    }

    /// <summary>7-5-outputs (tanh, softmax) whose last logit is +Inf (infinite bias) and whose first is <paramref name="odd"/>.</summary>
    internal static Network InfiniteLogitNetwork(int outputs, float odd)
    {
        var net = new Network(7, new LayerSpec(5, Activation.Tanh), new LayerSpec(outputs, Activation.Softmax));
        net.Initialize(outputs);
        Span<float> bias = net.Biases(1);
        bias[outputs - 1] = float.PositiveInfinity;
        bias[0] = odd;
        return net;
    }

    /// <summary>The last softmax output of <see cref="InfiniteLogitNetwork"/>: the infinite logits share the mass, a NaN spoils the row.</summary>
    internal static float ExpectedLastOutput(float odd) => float.IsNaN(odd) ? float.NaN : float.IsPositiveInfinity(odd) ? 0.5f : 1f;

    [Fact]
    public void Hidden_layers_wider_than_the_stack_limit_use_the_workspace_and_agree()
    {
        var net = new Network(5, new LayerSpec(OneSampleForward.StackWidth + 3, Activation.Tanh), new LayerSpec(3, Activation.Softmax));
        net.Initialize(2);
        float[] x = Inputs(3, 5, 9);
        float[] batched = Batched(KernelDispatch.Current, net, x, 3);
        var one = new float[3];
        for (int r = 0; r < 3; r++)
        {
            net.Predict(x.AsSpan(r * 5, 5), one);
            Bitwise(batched.AsSpan(r * 3, 3), one, $"row {r}");
        }
        Assert.Equal(0, AllocationProbe.Measure(() => net.Predict(x.AsSpan(0, 5), one)));
    }

    [Theory]
    [InlineData(new[] { 2, 3, 2 })]
    [InlineData(new[] { 64, 32, 32, 10 })]
    [InlineData(new[] { 100, 80, 10 })]
    public void Predict_PredictClass_and_Forward_allocate_nothing(int[] sizes)
    {
        Network net = Make(sizes, 0);
        float[] x = Inputs(70, net.InputSize, 3);
        var y = new float[70 * net.OutputSize];
        var one = new float[net.OutputSize];
        int cls = -1;
        Assert.Equal(0, AllocationProbe.Measure(() => net.Predict(x.AsSpan(0, net.InputSize), one)));
        Assert.Equal(0, AllocationProbe.Measure(() => cls = net.PredictClass(x.AsSpan(0, net.InputSize))));
        Assert.Equal(0, AllocationProbe.Measure(() => net.Forward(new ReadOnlySpan2D<float>(x, 70, net.InputSize), new Span2D<float>(y, 70, net.OutputSize))));
        Assert.InRange(cls, 0, net.OutputSize - 1);
        Assert.Contains(one, v => v != 0f);
    }

    [Fact]
    public void Many_threads_predicting_at_once_agree_with_one()
    {
        Network[] nets = [Make([2, 3, 2], 1), Make([64, 32, 32, 10], 2), Make([37, 200, 9], 3)];
        const int rows = 40;
        var inputs = nets.Select((n, i) => Inputs(rows, n.InputSize, i)).ToArray();
        var expected = nets.Select((n, i) =>
        {
            var y = new float[rows * n.OutputSize];
            for (int r = 0; r < rows; r++) n.Predict(inputs[i].AsSpan(r * n.InputSize, n.InputSize), y.AsSpan(r * n.OutputSize, n.OutputSize));
            return y;
        }).ToArray();
        int mismatches = 0, runs = 0;
        var threads = Enumerable.Range(0, 8).Select(t => new Thread(() =>
        {
            var rnd = new Random(t);
            var one = new float[16];
            for (int k = 0; k < 3000; k++)
            {
                int i = rnd.Next(nets.Length), r = rnd.Next(rows);
                Network n = nets[i];
                Span<float> y = one.AsSpan(0, n.OutputSize);
                n.Predict(inputs[i].AsSpan(r * n.InputSize, n.InputSize), y);
                if (!y.SequenceEqual(expected[i].AsSpan(r * n.OutputSize, n.OutputSize))) Interlocked.Increment(ref mismatches);
                Interlocked.Increment(ref runs);
            }
        })).ToArray();
        foreach (Thread th in threads) th.Start();
        foreach (Thread th in threads) th.Join();
        Assert.Equal(8 * 3000, runs);
        Assert.Equal(0, mismatches);
    }
}
