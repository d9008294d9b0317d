using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// <see cref="FrozenNetwork"/> (transposed weights in panels, <see cref="BroadcastGemv"/>) on every kernel path this machine
/// has: close to the float64 reference for widths 1..40 and for layers of several passes of output vectors, every activation;
/// the same bits on every path of a kind (fused: AVX-512, AVX2, NEON; unfused: Vector128, scalar); a snapshot that
/// later edits of the network do not reach; softmax rows with infinite logits; bad lengths; many threads at once.
/// In the kernel namespace so that the NEON run under qemu (.ci/run) takes it too.
/// </summary>
public class FrozenNetworkTests
{
    public static TheoryData<KernelPath> Paths() => GemmKernelTests.Paths();

    /// <summary>The one-sample networks plus layers of more than one pass (4 vectors of 16 outputs per pass on AVX-512, 2 of 8 on AVX2).</summary>
    private static IEnumerable<Network> Networks()
    {
        foreach (Network net in OneSampleForwardTests.Networks())
            yield return net;
        yield return Make(9, [(130, Activation.Relu), (67, Activation.Tanh), (70, Activation.Identity)]);
        yield return Make(784, [(256, Activation.Relu), (128, Activation.Relu), (10, Activation.Softmax)]);
        yield return Make(3, [(65, Activation.Sigmoid), (2, Activation.Softmax)]);
    }

    private static Network Make(int inputs, (int Units, Activation Activation)[] layers, int seed = 3)
    {
        var net = new Network(inputs, layers.Select(l => new LayerSpec(l.Units, l.Activation)).ToArray());
        net.Initialize(seed);
        var rnd = new Random(seed);
        for (int l = 0; l < layers.Length; l++)
            foreach (ref float b in net.Biases(l)) b = (float)(rnd.NextDouble() - 0.5);
        return net;
    }

    private static float[] Run(KernelPath path, FrozenNetwork net, ReadOnlySpan<float> x)
    {
        var y = new float[net.OutputSize];
        net.Run(path, x, y);
        return y;
    }

    private static void NearReference(Network net, ReadOnlySpan<float> x, ReadOnlySpan<float> y, string what)
    {
        double[] expected = new FastMlp.Tests.Reference.ReferenceMlp(net).Output(x.ToArray(), 1);
        double scale = net.Layers.Max(l => l.Inputs);
        for (int j = 0; j < y.Length; j++)
            if (!(Math.Abs(y[j] - expected[j]) <= 1e-6 * scale * Math.Max(1, Math.Abs(expected[j]))))
                Assert.Fail($"{what}: output {j} is {y[j]}, float64 reference {expected[j]}.");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Frozen_matches_the_float64_reference(KernelPath path)
    {
        int checkedNets = 0;
        foreach (Network net in Networks())
        {
            if (net.Layers.Any(l => l.Activation.Kind is ActivationKind.Step or ActivationKind.BipolarStep))
                continue; // a step turns a rounding difference at 0 into a jump of 1; the bitwise tests cover them
            FrozenNetwork frozen = net.Freeze();
            for (int r = 0; r < 2; r++)
            {
                float[] x = OneSampleForwardTests.Inputs(1, net.InputSize, net.InputSize * 7 + r);
                NearReference(net, x, Run(path, frozen, x), $"{path} {net} sample {r}");
            }
            checkedNets++;
        }
        Assert.True(checkedNets > 90);
    }

    /// <summary>Paths whose multiply-adds are fused, and those whose are not: within each group the chains give the same bits.</summary>
    public static TheoryData<KernelPath, KernelPath> SamePathKinds()
    {
        var data = new TheoryData<KernelPath, KernelPath>();
        KernelPath[] fused = KernelDispatch.Available.Where(p => p is KernelPath.Avx512 or KernelPath.Avx2 or KernelPath.Neon).ToArray();
        KernelPath[] unfused = KernelDispatch.Available.Where(p => p is KernelPath.Vector128 or KernelPath.Scalar).ToArray();
        foreach (KernelPath[] group in new[] { fused, unfused })
            for (int i = 1; i < group.Length; i++)
                data.Add(group[0], group[i]);
        if (data.Count == 0) data.Add(KernelPath.Scalar, KernelPath.Scalar); // only one path here: the theory still runs the nets
        return data;
    }

    [Theory]
    [MemberData(nameof(SamePathKinds))]
    public void Paths_of_the_same_kind_give_the_same_bits(KernelPath first, KernelPath second)
    {
        // Element-wise operators whose scalar and vector forms agree; the output layer identity (a softmax row's sums
        // depend on the vector width). Every width 1..70, so that each path meets partial vectors and partial chains.
        Activation[] hidden = [Activation.Relu, new(ActivationKind.LeakyRelu, 0.2f), Activation.Step, Activation.Identity];
        var rnd = new Random(5);
        for (int width = 1; width <= 70; width++)
        {
            Network net = Make(1 + rnd.Next(70), [(width, hidden[width % 4]), (1 + rnd.Next(70), hidden[(width + 1) % 4]), (width, Activation.Identity)], width);
            FrozenNetwork frozen = net.Freeze();
            float[] x = OneSampleForwardTests.Inputs(1, net.InputSize, width);
            OneSampleForwardTests.Bitwise(Run(first, frozen, x), Run(second, frozen, x), $"{second} against {first}, {net}");
        }
    }

    [Fact]
    public void A_frozen_copy_keeps_the_parameters_it_was_made_from()
    {
        Network net = Make(12, [(20, Activation.Tanh), (4, Activation.Softmax)]);
        FrozenNetwork frozen = net.Freeze();
        float[] x = OneSampleForwardTests.Inputs(1, 12, 1);
        var before = new float[4];
        frozen.Predict(x, before);

        net.Weights(0)[3, 5] += 1f;
        net.Biases(1)[2] -= 1f;
        var after = new float[4];
        frozen.Predict(x, after);
        OneSampleForwardTests.Bitwise(before, after, "frozen copy after the network changed");

        var refrozen = new float[4];
        net.Freeze().Predict(x, refrozen);
        Assert.NotEqual(before, refrozen);
        NearReference(net, x, refrozen, "frozen again");
    }

    [Fact]
    public void PredictClass_is_the_arg_max_of_Predict()
    {
        foreach (Network net in Networks().Take(40))
        {
            FrozenNetwork frozen = net.Freeze();
            float[] x = OneSampleForwardTests.Inputs(1, net.InputSize, 3);
            var y = new float[net.OutputSize];
            frozen.Predict(x, y);
            Assert.Equal(Network.ArgMax(y), frozen.PredictClass(x));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Softmax_outputs_with_infinite_or_NaN_logits_agree_with_the_network(KernelPath path)
    {
        // The in-register softmax falls back to the row kernel on a +Inf logit; finite logits then end at exactly 0 and
        // the infinite ones share the mass, so the frozen copy and the network agree bitwise despite their sum orders
        // (a NaN row is NaN in both, but the NaN's sign and payload follow the order of the operations, which differs:
        // seen on NEON).
        foreach (int outputs in new[] { 2, 5, 10, 16, 17, 40 })
        {
            foreach (float odd in new[] { float.PositiveInfinity, float.NegativeInfinity, float.NaN })
            {
                Network net = OneSampleForwardTests.InfiniteLogitNetwork(outputs, odd);
                FrozenNetwork frozen = net.Freeze();
                float[] x = OneSampleForwardTests.Inputs(1, 7, outputs);
                var expected = new float[outputs];
                OneSampleForward.Run(path, net.LayerArray, net.Parameters, x, expected, new float[5], new float[5]);
                float[] y = Run(path, frozen, x);
                if (float.IsNaN(odd))
                    Assert.All(y, v => Assert.True(float.IsNaN(v), $"{path} {outputs} outputs, bias[0] = NaN: {v} in the row"));
                else
                    OneSampleForwardTests.Bitwise(expected, y, $"{path} {outputs} outputs, bias[0] = {odd}");
                Assert.Equal(OneSampleForwardTests.ExpectedLastOutput(odd), y[outputs - 1]);
            }
        }
    }

    [Fact]
    public void Hidden_layers_wider_than_the_stack_limit_use_the_workspace()
    {
        Network net = Make(5, [(OneSampleForward.StackWidth + 3, Activation.Tanh), (3, Activation.Softmax)]);
        FrozenNetwork frozen = net.Freeze();
        float[] x = OneSampleForwardTests.Inputs(1, 5, 9);
        var y = new float[3];
        frozen.Predict(x, y);
        NearReference(net, x, y, "wide hidden layer");
        Assert.Equal(0, AllocationProbe.Measure(() => frozen.Predict(x, y)));
    }

    [Fact]
    public void Wrong_lengths_are_rejected_with_the_argument_named()
    {
        FrozenNetwork frozen = Make(4, [(3, Activation.Relu), (2, Activation.Identity)]).Freeze();
        var e = Assert.ThrowsAny<ArgumentException>(() => frozen.Predict(new float[5], new float[2]));
        Assert.Equal("input", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() => frozen.Predict(new float[4], new float[1]));
        Assert.Equal("output", e.ParamName);
        e = Assert.ThrowsAny<ArgumentException>(() => frozen.PredictClass(new float[3]));
        Assert.Equal("input", e.ParamName);
    }

    [Fact]
    public void Many_threads_predict_at_once_and_get_the_same_bits()
    {
        Network net = Make(64, [(32, Activation.Relu), (32, Activation.Relu), (10, Activation.Softmax)]);
        FrozenNetwork frozen = net.Freeze();
        float[] x = OneSampleForwardTests.Inputs(50, 64, 4);
        var expected = new float[50 * 10];
        for (int r = 0; r < 50; r++)
            frozen.Predict(x.AsSpan(r * 64, 64), expected.AsSpan(r * 10, 10));
        var results = new float[8][];
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 8 }, t =>
        {
            var y = new float[50 * 10];
            for (int repeat = 0; repeat < 200; repeat++)
                for (int r = 0; r < 50; r++)
                    frozen.Predict(x.AsSpan(r * 64, 64), y.AsSpan(r * 10, 10));
            results[t] = y;
        });
        foreach (float[] y in results)
            OneSampleForwardTests.Bitwise(expected, y, "another thread");
    }
}
