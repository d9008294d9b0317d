using System.Runtime.Intrinsics;
using CommunityToolkit.HighPerformance;
using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// Every GEMM path this machine supports, called directly, against a float64 reference: every size 1..67 in
/// each dimension (the others small and odd), shapes that cross the reduction chunk of the outer-product
/// kernel, accumulate on and off, NaN-filled outputs when not accumulating (a kernel that reads them fails).
/// </summary>
public class GemmKernelTests
{
    public static TheoryData<KernelPath> Paths()
    {
        var data = new TheoryData<KernelPath>();
        foreach (KernelPath p in KernelDispatch.Available) data.Add(p);
        return data;
    }

    /// <summary>(rows, inputs, outputs): each dimension 1..67 with the others small and odd, plus larger shapes.</summary>
    private static IEnumerable<(int Rows, int Inputs, int Outputs)> Shapes()
    {
        for (int n = 1; n <= 67; n++)
        {
            yield return (n, 7, 5);
            yield return (3, n, 6);
            yield return (5, 9, n);
            yield return (2, n, 1);
        }
        var rnd = new Random(4);
        for (int i = 0; i < 25; i++)
            yield return (rnd.Next(1, 70), rnd.Next(1, 140), rnd.Next(1, 70));
        // Reduction longer than one chunk (128 on AVX-512, 256 on AVX2, 512 on Vector128): rows for dW, outputs for dX.
        yield return (530, 37, 5);
        yield return (3, 35, 530);
        yield return (1, 784, 10);
        // The outer product's blocks on every path (A blocks of 256 / 126 / 64 rows, B blocks of 1024 / 512 / 256 columns,
        // chunks of 128 / 256 / 512 on Avx512 / Avx2 / 4-float): dX of 270 x 1061 x 140 crosses the A block on all, the
        // column block on all, the chunk on Avx512; its dW the chunk on Avx2. 70 x 300 x 530 crosses the 4-float A block,
        // column block and chunk in dX, the Avx512 A block in dW. 1061 is no multiple of any tile, vector or block.
        yield return (270, 1061, 140);
        yield return (70, 300, 530);
        yield return (0, 5, 3);
        yield return (4, 0, 3);
        yield return (4, 5, 0);
    }

    private static float[] Random(int n, int seed)
    {
        var rnd = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rnd.NextDouble() * 2 - 1);
        return a;
    }

    private static float[] Garbage(int n) => Enumerable.Repeat(float.NaN, n).ToArray();

    /// <summary>|actual - expected| within 1e-6 per term of the reduction (values are in [-1, 1]) plus the initial value.</summary>
    private static void Near(double expected, float actual, int k, string what)
    {
        double tol = 1e-6 * (k + 2);
        if (!(Math.Abs(expected - actual) <= tol))
            Assert.Fail($"{what}: expected {expected}, got {actual} (tolerance {tol}).");
    }

    internal static void Forward(KernelPath p, ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int r, int i, int o)
    {
        switch (p)
        {
            case KernelPath.Avx512: Gemm.ForwardAvx512(x, w, b, y, r, i, o); break;
            case KernelPath.Avx2: Gemm.ForwardAvx2(x, w, b, y, r, i, o); break;
            case KernelPath.Vector128: Gemm.ForwardVector128(x, w, b, y, r, i, o); break;
            case KernelPath.Neon: Gemm.ForwardNeon(x, w, b, y, r, i, o); break;
            default: Gemm.ForwardScalar(x, w, b, y, r, i, o); break;
        }
    }

    internal static void InputGradient(KernelPath p, ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx, int r, int i, int o)
    {
        switch (p)
        {
            case KernelPath.Avx512: Gemm.InputGradientAvx512(dy, w, dx, r, i, o); break;
            case KernelPath.Avx2: Gemm.InputGradientAvx2(dy, w, dx, r, i, o); break;
            case KernelPath.Vector128: Gemm.InputGradientVector128(dy, w, dx, r, i, o); break;
            case KernelPath.Neon: Gemm.InputGradientNeon(dy, w, dx, r, i, o); break;
            default: Gemm.InputGradientScalar(dy, w, dx, r, i, o); break;
        }
    }

    internal static void WeightGradient(KernelPath p, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw, Span<float> db, int r, int i, int o, bool acc, int dyStride = 0)
    {
        switch (p)
        {
            case KernelPath.Avx512: Gemm.WeightGradientAvx512(dy, x, dw, db, r, i, o, acc, dyStride); break;
            case KernelPath.Avx2: Gemm.WeightGradientAvx2(dy, x, dw, db, r, i, o, acc, dyStride); break;
            case KernelPath.Vector128: Gemm.WeightGradientVector128(dy, x, dw, db, r, i, o, acc, dyStride); break;
            case KernelPath.Neon: Gemm.WeightGradientNeon(dy, x, dw, db, r, i, o, acc, dyStride); break;
            default: Gemm.WeightGradientScalar(dy, x, dw, db, r, i, o, acc, dyStride); break;
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Forward_matches_float64_reference(KernelPath path)
    {
        int seed = 0;
        foreach (var (rows, inputs, outputs) in Shapes())
        {
            float[] x = Random(rows * inputs, ++seed), w = Random(outputs * inputs, ++seed), b = Random(outputs, ++seed);
            float[] y = Garbage(rows * outputs);
            Forward(path, x, w, b, y, rows, inputs, outputs);
            for (int r = 0; r < rows; r++)
                for (int o = 0; o < outputs; o++)
                {
                    double s = b[o];
                    for (int i = 0; i < inputs; i++) s += (double)x[r * inputs + i] * w[o * inputs + i];
                    Near(s, y[r * outputs + o], inputs, $"{path} Forward {rows}x{inputs}x{outputs} y[{r},{o}]");
                }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void InputGradient_matches_float64_reference(KernelPath path)
    {
        int seed = 100;
        foreach (var (rows, inputs, outputs) in Shapes())
        {
            float[] dy = Random(rows * outputs, ++seed), w = Random(outputs * inputs, ++seed);
            float[] dx = Garbage(rows * inputs);
            InputGradient(path, dy, w, dx, rows, inputs, outputs);
            for (int r = 0; r < rows; r++)
                for (int i = 0; i < inputs; i++)
                {
                    double s = 0;
                    for (int o = 0; o < outputs; o++) s += (double)dy[r * outputs + o] * w[o * inputs + i];
                    Near(s, dx[r * inputs + i], outputs, $"{path} InputGradient {rows}x{inputs}x{outputs} dx[{r},{i}]");
                }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void WeightGradient_matches_float64_reference(KernelPath path)
    {
        int seed = 200;
        foreach (bool accumulate in new[] { false, true })
            foreach (var (rows, inputs, outputs) in Shapes())
            {
                float[] dy = Random(rows * outputs, ++seed), x = Random(rows * inputs, ++seed);
                float[] dw0 = accumulate ? Random(outputs * inputs, ++seed) : Garbage(outputs * inputs);
                float[] db0 = accumulate ? Random(outputs, ++seed) : Garbage(outputs);
                float[] dw = (float[])dw0.Clone(), db = (float[])db0.Clone();
                WeightGradient(path, dy, x, dw, db, rows, inputs, outputs, accumulate);
                string shape = $"{path} WeightGradient {rows}x{inputs}x{outputs} accumulate={accumulate}";
                for (int o = 0; o < outputs; o++)
                {
                    for (int i = 0; i < inputs; i++)
                    {
                        double s = accumulate ? dw0[o * inputs + i] : 0;
                        for (int r = 0; r < rows; r++) s += (double)dy[r * outputs + o] * x[r * inputs + i];
                        Near(s, dw[o * inputs + i], rows, $"{shape} dw[{o},{i}]");
                    }
                    double sb = accumulate ? db0[o] : 0;
                    for (int r = 0; r < rows; r++) sb += dy[r * outputs + o];
                    Near(sb, db[o], rows, $"{shape} db[{o}]");
                }
            }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void WeightGradient_of_output_blocks_equals_the_whole_bitwise(KernelPath path)
    {
        // Parallel training computes a layer's dw in blocks of output rows from column blocks of dy (row stride =
        // the layer's outputs); the result must not depend on the blocking.
        // The last two: the whole has several A blocks, B column blocks and chunks and packs B; the blocks of at most 16
        // outputs have two tiles or fewer and read B in place.
        foreach (var (rows, inputs, outputs) in new[] { (37, 70, 19), (256, 33, 40), (5, 16, 67), (300, 129, 24), (270, 1061, 140), (530, 300, 70) })
        {
            float[] dy = Random(rows * outputs, rows), x = Random(rows * inputs, inputs);
            float[] whole = new float[outputs * inputs], wholeBias = new float[outputs];
            WeightGradient(path, dy, x, whole, wholeBias, rows, inputs, outputs, acc: false);
            float[] blocks = Garbage(outputs * inputs), blockBias = Garbage(outputs);
            for (int o0 = 0, size = 1; o0 < outputs; o0 += size, size = size % 13 + 4)
            {
                int count = Math.Min(size, outputs - o0);
                WeightGradient(path, dy.AsSpan(o0), x, blocks.AsSpan(o0 * inputs, count * inputs), blockBias.AsSpan(o0, count),
                    rows, inputs, count, acc: false, dyStride: outputs);
            }
            Assert.Equal(whole, blocks);
            Assert.Equal(wholeBias, blockBias);
        }
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.WeightGradient(new float[8], new float[4], new float[8], new float[4], 2, 2, 4, false, dyStride: 3));
        Assert.Contains("stride", e.Message);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Row_blocks_of_a_batch_equal_the_whole_bitwise(KernelPath path)
    {
        // Training splits the batch across threads: Forward, InputGradient and the fused input gradient of a block of rows
        // alone must equal those rows of the whole batch, whatever X row blocks, A blocks, B column blocks and chunks each
        // call cuts (the whole crosses all of them; see Shapes). Block sizes 1..100, none a multiple of a tile.
        int seed = 900;
        foreach (var (rows, inputs, outputs) in new[] { (270, 1061, 140), (70, 300, 530) })
        {
            float[] x = Random(rows * inputs, ++seed), w = Random(outputs * inputs, ++seed), b = Random(outputs, ++seed);
            float[] dy = Random(rows * outputs, ++seed), below = Random(rows * inputs, ++seed);
            ActivationKernels.Apply(path, Activation.Tanh, below, inputs);
            float[] y = Garbage(rows * outputs), dx = Garbage(rows * inputs), fused = Garbage(rows * inputs);
            Forward(path, x, w, b, y, rows, inputs, outputs);
            InputGradient(path, dy, w, dx, rows, inputs, outputs);
            Gemm.InputGradientTimesDerivative(path, Activation.Tanh, dy, w, below, fused, rows, inputs, outputs);
            for (int r0 = 0, size = 1; r0 < rows; r0 += size, size = size * 7 % 101)
            {
                int n = Math.Min(size, rows - r0);
                string what = $"{path} {rows}x{inputs}x{outputs} rows {r0}..{r0 + n - 1}";
                float[] yb = Garbage(n * outputs), dxb = Garbage(n * inputs), fusedb = Garbage(n * inputs);
                Forward(path, x.AsSpan(r0 * inputs, n * inputs).ToArray(), w, b, yb, n, inputs, outputs);
                FusedForwardTests.AssertBitwise(y.AsSpan(r0 * outputs, n * outputs).ToArray(), yb, $"Forward {what}");
                float[] dyb = dy.AsSpan(r0 * outputs, n * outputs).ToArray();
                InputGradient(path, dyb, w, dxb, n, inputs, outputs);
                FusedForwardTests.AssertBitwise(dx.AsSpan(r0 * inputs, n * inputs).ToArray(), dxb, $"InputGradient {what}");
                Gemm.InputGradientTimesDerivative(path, Activation.Tanh, dyb, w, below.AsSpan(r0 * inputs, n * inputs), fusedb, n, inputs, outputs);
                FusedForwardTests.AssertBitwise(fused.AsSpan(r0 * inputs, n * inputs).ToArray(), fusedb, $"fused InputGradient {what}");
            }
        }
    }

    /// <summary>One row (the GEMV kernels) against every row of a batch of 5 (the tiled kernels): equal bit for bit.</summary>
    [Theory]
    [MemberData(nameof(Paths))]
    public void One_row_equals_a_row_of_a_batch_bitwise(KernelPath path)
    {
        var shapes = new List<(int Inputs, int Outputs)>();
        for (int n = 1; n <= 70; n++)
        {
            shapes.Add((n, 1 + n % 23));
            shapes.Add((1 + n % 19, n));
            shapes.Add((n, n));
        }
        // 117 and 245 inputs: 7 and 15 vectors on Avx512, every block of the one-row input gradient (8, 4, 2 and 1 vectors).
        shapes.AddRange([(784, 256), (256, 130), (35, 530), (530, 35), (1, 300), (300, 1), (117, 40), (245, 33)]);
        // The one-row input gradient streaming W (from 32 vectors of inputs and 32 outputs): passes of 4 rows and single
        // rows, a column tail, chunks of 128 (Avx512) or 256 (Avx2) outputs, the last of 1 or 44; 511 is under Avx512's limit.
        shapes.AddRange([(1030, 35), (513, 300), (256, 257), (511, 40), (512, 31)]);
        // Forwards of rows shorter than a vector (15 inputs on Avx512, 7 on Avx2, 3 on the 4-float paths) with more outputs
        // than one block of the transposed W holds (1 MiB: 16384, 32768 and 65536 outputs), the last block partial.
        shapes.AddRange([(15, 16421), (7, 32773), (3, 65541)]);
        const int rows = 5;
        int seed = 700;
        foreach (var (inputs, outputs) in shapes)
        {
            float[] x = Random(rows * inputs, ++seed), w = Random(outputs * inputs, ++seed), b = Random(outputs, ++seed);
            float[] y = Garbage(rows * outputs), one = Garbage(outputs);
            Forward(path, x, w, b, y, rows, inputs, outputs);
            float[] dy = Random(rows * outputs, ++seed);
            float[] dx = Garbage(rows * inputs), dxOne = Garbage(inputs);
            InputGradient(path, dy, w, dx, rows, inputs, outputs);
            for (int r = 0; r < rows; r++)
            {
                Forward(path, x.AsSpan(r * inputs, inputs).ToArray(), w, b, one, 1, inputs, outputs);
                for (int o = 0; o < outputs; o++)
                    if (BitConverter.SingleToInt32Bits(one[o]) != BitConverter.SingleToInt32Bits(y[r * outputs + o]))
                        Assert.Fail($"{path} Forward 1x{inputs}x{outputs}: y[{o}] = {one[o]:R}, row {r} of the batch gives {y[r * outputs + o]:R}.");
                InputGradient(path, dy.AsSpan(r * outputs, outputs).ToArray(), w, dxOne, 1, inputs, outputs);
                for (int i = 0; i < inputs; i++)
                    if (BitConverter.SingleToInt32Bits(dxOne[i]) != BitConverter.SingleToInt32Bits(dx[r * inputs + i]))
                        Assert.Fail($"{path} InputGradient 1x{inputs}x{outputs}: dx[{i}] = {dxOne[i]:R}, row {r} of the batch gives {dx[r * inputs + i]:R}.");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Forward_of_one_row_equals_its_row_of_a_batch_bitwise(KernelPath path)
    {
        // Predict (one row, the GEMV kernel) must equal row r of a batched Forward (register tiles, row blocks,
        // remainder tiles, four horizontal sums at once) bitwise. 130 x 1030: X blocks of 60 rows at most, evened out to 44, 44 and 42.
        // From 128 rows, Avx512 rows of 16-47 inputs take the 2 x 2 tree tiles of the short-row forward (2 whole vectors and
        // a tail, one vector and a tail, one whole vector; an odd last row; a last single vector of outputs, partial).
        foreach (var (rows, inputs, outputs) in new[] { (13, 784, 10), (37, 70, 19), (130, 1030, 5), (40, 33, 4), (6, 16, 8), (25, 255, 13),
            (11, 1024, 1), (130, 40, 37), (129, 20, 64), (128, 16, 50), (131, 47, 33) })
        {
            float[] x = Random(rows * inputs, inputs), w = Random(outputs * inputs, outputs), b = Random(outputs, rows);
            float[] y = Garbage(rows * outputs);
            Forward(path, x, w, b, y, rows, inputs, outputs);
            for (int r = 0; r < rows; r++)
            {
                float[] one = Garbage(outputs);
                Forward(path, x.AsSpan(r * inputs, inputs).ToArray(), w, b, one, 1, inputs, outputs);
                Assert.Equal(y.AsSpan(r * outputs, outputs).ToArray(), one);
            }
        }
    }

    [Fact]
    public void Sum4_equals_four_Sums_bitwise_on_every_supported_path()
    {
        var rnd = new Random(5);
        float[] v = new float[64];
        for (int trial = 0; trial < 200; trial++)
        {
            // Mixed magnitudes so that a different addition tree would round differently.
            for (int i = 0; i < v.Length; i++) v[i] = (float)((rnd.NextDouble() - 0.5) * Math.Pow(10, rnd.Next(-3, 4)));
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
                Check<Avx512GemmSimd, System.Runtime.Intrinsics.Vector512<float>>(v);
            if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported)
                Check<Avx2GemmSimd, System.Runtime.Intrinsics.Vector256<float>>(v);
            if (System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported)
                Check<NeonGemmSimd, System.Runtime.Intrinsics.Vector128<float>>(v);
            Check<Vector128GemmSimd, System.Runtime.Intrinsics.Vector128<float>>(v);
        }

        static void Check<T, TVec>(float[] v) where T : struct, IGemmSimd<TVec> where TVec : struct
        {
            int width = T.Width;
            TVec a = T.Load(ref v[0]), b = T.Load(ref v[width]), c = T.Load(ref v[2 * width]), d = T.Load(ref v[3 * width]);
            var s = T.Sum4(a, b, c, d);
            float[] expected = [T.Sum(a), T.Sum(b), T.Sum(c), T.Sum(d)];
            Assert.Equal(expected, new[] { s[0], s[1], s[2], s[3] });
            double exact = 0;
            for (int i = 0; i < width; i++) exact += v[i];
            Assert.True(Math.Abs(exact - expected[0]) <= 1e-5 * (1 + Math.Abs(exact)) * width, $"{typeof(T).Name}.Sum: {expected[0]} vs {exact}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_Gemm_call_allocates_nothing(KernelPath path)
    {
        const int rows = 37, inputs = 70, outputs = 19;
        float[] x = Random(rows * inputs, 1), w = Random(outputs * inputs, 2), b = Random(outputs, 3);
        float[] y = new float[rows * outputs], dx = new float[rows * inputs], dw = new float[outputs * inputs], db = new float[outputs];
        float[] x1 = x.AsSpan(0, inputs).ToArray(), y1 = new float[outputs];
        // Short-row forwards of 130 rows (the transposed W in the workspace): 6, 12 and 20 inputs take the broadcast and
        // tree tiles on every path that has them.
        int[] shortInputs = [6, 12, 20];
        float[][] xs = shortInputs.Select(n => Random(130 * n, n)).ToArray(), ws = shortInputs.Select(n => Random(40 * n, n + 1)).ToArray();
        float[] bs = Random(40, 6), ys = new float[130 * 40];
        void Calls()
        {
            Forward(path, x, w, b, y, rows, inputs, outputs);
            Forward(path, x1, w, b, y1, 1, inputs, outputs);
            for (int k = 0; k < shortInputs.Length; k++)
                Forward(path, xs[k], ws[k], bs, ys, 130, shortInputs[k], 40);
            InputGradient(path, y, w, dx, rows, inputs, outputs);
            WeightGradient(path, y, x, dw, db, rows, inputs, outputs, acc: false);
            WeightGradient(path, y, x, dw, db, rows, inputs, outputs, acc: true);
        }
        Assert.Equal(0, AllocationProbe.Measure(Calls));
    }

    [Fact]
    public void Expected_kernel_path_is_selected()
    {
        // CI sets FASTMLP_EXPECTED_PATH on every run that disables ISA extensions, so a misspelled runtime
        // switch (silently ignored by .NET) turns the run red instead of re-testing the widest path.
        string? expected = Environment.GetEnvironmentVariable("FASTMLP_EXPECTED_PATH");
        Assert.SkipWhen(string.IsNullOrWhiteSpace(expected), "FASTMLP_EXPECTED_PATH is not set.");
        Assert.Equal(KernelDispatch.Parse(expected!), KernelDispatch.Best);
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(KernelDispatch.EnvironmentVariable)))
            Assert.Equal(KernelDispatch.Parse(expected!), KernelDispatch.Current);
        if (KernelDispatch.Parse(expected!) == KernelPath.Neon)
            Assert.True(System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported, "the Neon leg must run where AdvSimd is supported");
    }
}

/// <summary>Tests that switch the process-wide kernel path run alone, so no other test sees the switch.</summary>
[CollectionDefinition(nameof(KernelPathSwitching), DisableParallelization = true)]
public sealed class KernelPathSwitching;

/// <summary>A whole back-propagated gradient agrees across every available path.</summary>
[Collection(nameof(KernelPathSwitching))]
public class GemmNetworkGradientTests
{
    [Fact]
    public void Network_gradient_agrees_across_paths()
    {
        var net = new Network(37, new LayerSpec(33, Activation.Tanh), new LayerSpec(17, Activation.Relu), new LayerSpec(10, Activation.Softmax));
        net.Initialize(3);
        const int rows = 29;
        var rnd = new Random(9);
        float[] x = Enumerable.Range(0, rows * 37).Select(_ => (float)(rnd.NextDouble() * 2 - 1)).ToArray();
        int[] labels = Enumerable.Range(0, rows).Select(_ => rnd.Next(10)).ToArray();
        KernelPath saved = KernelDispatch.Current;
        try
        {
            float[] Gradient(KernelPath p)
            {
                KernelDispatch.Use(p);
                var bp = new Backpropagation(net, LossKind.CategoricalCrossEntropy, rows);
                float[] g = new float[net.BufferLength];
                bp.ComputeGradient(new ReadOnlySpan2D<float>(x, rows, 37), labels, g);
                return g;
            }
            float[] reference = Gradient(KernelPath.Scalar);
            Assert.Contains(reference, v => v != 0f);
            foreach (KernelPath p in KernelDispatch.Available)
            {
                float[] g = Gradient(p);
                for (int i = 0; i < g.Length; i++)
                    if (!(Math.Abs(g[i] - reference[i]) <= 1e-5f + 1e-4f * Math.Abs(reference[i])))
                        Assert.Fail($"{p}: gradient[{i}] = {g[i]}, scalar gives {reference[i]}.");
            }
        }
        finally
        {
            KernelDispatch.Use(saved);
        }
    }
}
