using FastMlp.Kernels;
using Xunit;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// Every kernel path this machine supports (called directly, not through the global switch) against a float64
/// reference, for every length 0..(2 x 64 + 7), with special values, alignment independence and zero allocation.
/// The transcendental kernels work on four vectors at a time (64 floats on AVX-512), so this covers spans that are
/// only a padded tail, whole quads, and quads plus a tail on every path.
/// </summary>
public class ElementwiseKernelTests
{
    private const int MaxLength = 2 * 64 + 7;

    private static float[] Data(int n, int seed, float scale = 10f)
    {
        var rnd = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(rnd.NextDouble() * 2 - 1) * scale;
        return a;
    }

    private static void Close(double expected, float actual, double rel, double abs, string what)
    {
        if (double.IsNaN(expected)) { Assert.True(float.IsNaN(actual), $"{what}: expected NaN, got {actual}"); return; }
        if (double.IsInfinity(expected)) { Assert.Equal(expected, (double)actual); return; }
        double err = Math.Abs(actual - expected);
        Assert.True(err <= abs + rel * Math.Abs(expected), $"{what}: expected {expected:R}, got {actual:R}");
    }

    public static TheoryData<KernelPath, string> PathsAndActivations()
    {
        var data = new TheoryData<KernelPath, string>();
        foreach (KernelPath p in KernelDispatch.Available)
            foreach (string a in new[] { "sigmoid", "tanh", "relu", "leakyrelu", "elu", "softplus", "step", "bipolarstep", "identity" })
                data.Add(p, a);
        return data;
    }

    private static (Activation act, Func<double, double> f, Func<double, double> dfFromY) Spec(string name) => name switch
    {
        "sigmoid" => (Activation.Sigmoid, Reference.Sigmoid, y => y * (1 - y)),
        "tanh" => (Activation.Tanh, Reference.Tanh, y => 1 - y * y),
        "relu" => (Activation.Relu, x => x <= 0 ? 0 : x, y => y > 0 ? 1 : 0),
        "leakyrelu" => (Activation.LeakyRelu(0.1f), x => x <= 0 ? x * 0.1f : x, y => y > 0 ? 1 : 0.1f),
        "elu" => (Activation.Elu(0.7f), x => Reference.Elu(x, 0.7f), y => y > 0 ? 1 : y + 0.7f),
        "softplus" => (Activation.Softplus, Reference.Softplus, y => -Reference.Expm1(-y)),
        "step" => (Activation.Step, x => x >= 0 ? 1 : double.IsNaN(x) ? x : 0, _ => double.NaN),
        "bipolarstep" => (Activation.BipolarStep, x => x >= 0 ? 1 : double.IsNaN(x) ? x : -1, _ => double.NaN),
        _ => (Activation.Identity, x => x, _ => 1),
    };

    [Theory, MemberData(nameof(PathsAndActivations))]
    public void Apply_MatchesFloat64Reference_AllLengths(KernelPath path, string name)
    {
        var (act, f, _) = Spec(name);
        for (int n = 0; n <= MaxLength; n++)
        {
            float[] x = Data(n, n);
            if (n > 3) { x[0] = float.NaN; x[1] = float.PositiveInfinity; x[2] = float.NegativeInfinity; x[3] = -0f; }
            if (n > 6) { x[n - 1] = 1e-30f; x[n - 2] = -90f; x[n - 3] = 90f; }
            float[] y = (float[])x.Clone();
            ActivationKernels.Apply(path, act, y, Math.Max(n, 1));
            for (int i = 0; i < n; i++)
                Close(f(x[i]), y[i], 3e-7, 2 * (double)float.Epsilon, $"{path} {name} n={n} x[{i}]={x[i]:R}");
        }
    }

    [Theory, MemberData(nameof(PathsAndActivations))]
    public void Apply_LongSpans_SameBitsAtEveryAlignment(KernelPath path, string name)
    {
        // Spans of 4096 or more get aligned stores (a padded head block): every element must still come out with the same
        // bits wherever it sits, in place or not, and match the reference.
        var (act, f, _) = Spec(name);
        foreach (int n in new[] { 4095, 4096, 4096 + 77 })
        {
            float[] x = Data(n, n);
            x[0] = float.NaN; x[5] = float.PositiveInfinity; x[n - 1] = -90f; x[n / 2] = -0f;
            float[] first = new float[n];
            for (int offset = 0; offset < 17; offset++)
            {
                float[] bx = new float[n + 17], by = new float[n + 17];
                x.CopyTo(bx, offset);
                ActivationKernels.Apply(path, act, bx.AsSpan(offset, n), by.AsSpan(offset, n), n);
                ActivationKernels.Apply(path, act, bx.AsSpan(offset, n), n);
                if (offset == 0)
                {
                    by.AsSpan(0, n).CopyTo(first);
                    for (int i = 0; i < n; i++)
                        Close(f(x[i]), first[i], 3e-7, 2 * (double)float.Epsilon, $"{path} {name} n={n} x[{i}]={x[i]:R}");
                }
                for (int i = 0; i < n; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(first[i]) == BitConverter.SingleToInt32Bits(by[offset + i]), $"{path} {name} n={n} offset {offset} [{i}]");
                    Assert.True(BitConverter.SingleToInt32Bits(first[i]) == BitConverter.SingleToInt32Bits(bx[offset + i]), $"{path} {name} n={n} offset {offset} in place [{i}]");
                }
            }
        }
    }

    [Theory, MemberData(nameof(PathsAndActivations))]
    public void MultiplyDerivative_MatchesFloat64Reference_AllLengths(KernelPath path, string name)
    {
        if (name is "step" or "bipolarstep") return;
        var (act, f, df) = Spec(name);
        for (int n = 0; n <= MaxLength; n++)
        {
            float[] y = Data(n, n + 100);
            ActivationKernels.Apply(KernelPath.Scalar, act, y, Math.Max(n, 1));
            float[] d = Data(n, n + 200, 1f);
            if (n > 2) d[1] = float.NaN;
            float[] expectedD = (float[])d.Clone();
            ActivationKernels.MultiplyDerivative(path, act, y, d);
            for (int i = 0; i < n; i++)
                Close(expectedD[i] * df(y[i]), d[i], 1e-6, 1e-12, $"{path} {name}' n={n} y={y[i]:R}");
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void NaNIn_NaNOut_ForEveryTranscendental(KernelPath path)
    {
        foreach (Activation a in new[] { Activation.Sigmoid, Activation.Tanh, Activation.Elu(1f), Activation.Softplus, Activation.Relu, Activation.LeakyRelu(0.2f), Activation.Step })
        {
            float[] x = Enumerable.Repeat(float.NaN, 37).ToArray();
            ActivationKernels.Apply(path, a, x, 37);
            Assert.All(x, v => Assert.True(float.IsNaN(v), $"{path} {a}"));
        }
        float[] d = Enumerable.Repeat(float.NaN, 21).ToArray();
        float[] y = Enumerable.Repeat(0.5f, 21).ToArray();
        ActivationKernels.MultiplyDerivative(path, Activation.Relu, y, d);
        Assert.All(d, v => Assert.True(float.IsNaN(v)));
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_MatchesFloat64Reference_EveryWidth(KernelPath path)
    {
        for (int width = 1; width <= MaxLength; width++)
        {
            const int rows = 3;
            float[] x = Data(rows * width, width, 20f);
            float[] y = (float[])x.Clone();
            ActivationKernels.Softmax(path, y, width);
            for (int r = 0; r < rows; r++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < width; j++) max = Math.Max(max, x[r * width + j]);
                for (int j = 0; j < width; j++) sum += Math.Exp(x[r * width + j] - max);
                for (int j = 0; j < width; j++)
                    // The float subtraction z - max rounds by up to ulp(|z - max|)/2, which e^ turns into that relative error.
                    Close(Math.Exp(x[r * width + j] - max) / sum, y[r * width + j], 2e-6 + 1.2e-7 * (max - x[r * width + j]), 1e-30, $"{path} softmax width={width}");
            }
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_OutOfPlace_SameBitsAsInPlace_InputUntouched(KernelPath path)
    {
        for (int width = 1; width <= MaxLength; width += 3)
        {
            float[] x = Data(2 * width, width + 7, 30f);
            if (width > 5) { x[3] = float.PositiveInfinity; x[width + 1] = float.NaN; }
            AssertOutOfPlaceSameBitsAsInPlace(path, x, width);
        }
    }

    /// <summary>Softmax of x's rows in place and into another buffer: the same bits, and x itself left untouched.</summary>
    private static void AssertOutOfPlaceSameBitsAsInPlace(KernelPath path, float[] x, int width)
    {
        float[] copy = (float[])x.Clone(), inPlace = (float[])x.Clone(), y = new float[x.Length];
        ActivationKernels.Softmax(path, inPlace, width);
        ActivationKernels.Softmax(path, x, y, width);
        Assert.Equal(copy, x);
        // A NaN row is NaN either way; which NaN (sign, payload) an operation with NaN operands returns is not fixed by IEEE
        // 754, and under qemu two compilations of the same kernel (tier 0 and tier 1) have returned different ones.
        for (int i = 0; i < y.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(inPlace[i]) == BitConverter.SingleToInt32Bits(y[i]) || (float.IsNaN(inPlace[i]) && float.IsNaN(y[i])),
                $"{path} width {width} [{i}]: {inPlace[i]:R} vs {y[i]:R}");
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_ShortRow_SameBitsAsTheSameRowPaddedWithMinusInfinity(KernelPath path)
    {
        // Rows shorter than one quad take their own path; padded with -Inf (exponential 0) to 70 wide, the same logits go
        // through the general loops, whose first outputs must be the short path's bit for bit.
        for (int width = 1; width < 70; width++)
        {
            float[] x = Data(width, width + 3, 25f);
            float[] padded = Enumerable.Repeat(float.NegativeInfinity, 70).ToArray();
            x.CopyTo(padded, 0);
            ActivationKernels.Softmax(path, x, width);
            ActivationKernels.Softmax(path, padded, 70);
            for (int j = 0; j < width; j++)
                Assert.True(BitConverter.SingleToInt32Bits(padded[j]) == BitConverter.SingleToInt32Bits(x[j]), $"{path} width {width} [{j}]: {x[j]:R} vs {padded[j]:R}");
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_SpecialRows(KernelPath path)
    {
        for (int width = 1; width <= 37; width += 3)
        {
            float[] inf = new float[width];
            inf[width / 2] = float.PositiveInfinity;
            if (width > 2) inf[width - 1] = float.PositiveInfinity;
            float[] expected = (float[])inf.Clone();
            ActivationKernels.Softmax(KernelPath.Scalar, expected, width);
            ActivationKernels.Softmax(path, inf, width);
            Assert.Equal(expected, inf);
            Assert.Equal(1f, inf.Sum(), 6);

            float[] nan = Data(width, width);
            nan[width - 1] = float.NaN;
            ActivationKernels.Softmax(path, nan, width);
            Assert.All(nan, v => Assert.True(float.IsNaN(v), $"{path} NaN row width {width}"));

            float[] big = Enumerable.Repeat(float.MaxValue, width).ToArray();
            ActivationKernels.Softmax(path, big, width);
            Assert.All(big, v => Assert.Equal(1f / width, v, 1e-6f));
        }
    }

    // ---------------------------------------------------------------- long softmax rows (chunked on the vector paths)

    /// <summary>Long-row widths: exactly two chunks, two chunks and a tail, many chunks plus a tail, and more than
    /// 64 chunks' worth (longer chunks).</summary>
    private static readonly int[] LongWidths = [Simd512.SoftmaxChunkedMinWidth - 1, Simd512.SoftmaxChunkedMinWidth, 4096 + 37, 5 * 2048 + 3, 70001, 64 * 2048 + 1];

    /// <summary>Logits over a large dynamic range: each 1000-element stretch has its own offset in [-130, 20], so the
    /// chunk maxima differ by up to 150 (some chunks' exponentials scale into subnormals and zeros), plus -Inf logits,
    /// and one all -Inf stretch.</summary>
    private static float[] WideRangeLogits(int n, int seed)
    {
        var rnd = new Random(seed);
        float[] x = new float[n];
        float offset = 0;
        for (int i = 0; i < n; i++)
        {
            if (i % 1000 == 0) offset = (float)(rnd.NextDouble() * 150 - 130);
            x[i] = i / 1000 == 3 ? float.NegativeInfinity : offset + (float)(rnd.NextDouble() * 20 - 10);
        }
        for (int i = 17; i < n; i += 997) x[i] = float.NegativeInfinity;
        return x;
    }

    private static void CheckSoftmaxRow(ReadOnlySpan<float> x, ReadOnlySpan<float> y, string what)
    {
        double max = double.NegativeInfinity, sum = 0;
        foreach (float v in x) max = Math.Max(max, v);
        foreach (float v in x) sum += Math.Exp(v - max);
        for (int j = 0; j < x.Length; j++)
        {
            if (float.IsNegativeInfinity(x[j]))
            {
                Assert.True(y[j] == 0f, $"{what} [{j}]: e^-Inf gave {y[j]:R}");
                continue;
            }
            // The float argument x - m rounds by up to ulp(|x - m|)/2 <= 6e-8 |x - max| (relative, after e^), plus a few
            // roundings; tiny results are compared absolutely (a chunk scale below the normal range is subnormal).
            Close(Math.Exp(x[j] - max) / sum, y[j], 1e-6 + 6e-8 * (max - x[j]), 4 * (double)float.Epsilon, $"{what} [{j}] x={x[j]:R}");
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_LongRows_MatchFloat64Reference(KernelPath path)
    {
        foreach (int width in LongWidths)
        {
            foreach (bool wide in new[] { false, true })
            {
                int rows = width < 10000 ? 2 : 1;
                float[] x = new float[rows * width];
                for (int r = 0; r < rows; r++)
                    (wide ? WideRangeLogits(width, width + r) : Data(width, width + r, 20f)).CopyTo(x, r * width);
                float[] y = new float[x.Length];
                ActivationKernels.Softmax(path, x, y, width);
                for (int r = 0; r < rows; r++)
                    CheckSoftmaxRow(x.AsSpan(r * width, width), y.AsSpan(r * width, width), $"{path} width={width} wide={wide} row {r}");
            }
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_LongRows_InPlaceSameBitsAsOutOfPlace_InputUntouched(KernelPath path)
    {
        foreach (int width in LongWidths)
        {
            AssertOutOfPlaceSameBitsAsInPlace(path, WideRangeLogits(2 * width, width), width);
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_SameBitsAtEveryAlignment(KernelPath path)
    {
        // The max and scale passes align their vector loads to the buffer: the result must not depend on where the row sits.
        foreach (int width in new[] { 70, 133, 2048 + 5, 5 * 2048 + 3 })
        {
            float[] x = WideRangeLogits(width, width), first = new float[width];
            for (int offset = 0; offset < 17; offset++)
            {
                float[] bx = new float[width + 17], by = new float[width + 17];
                x.CopyTo(bx, offset);
                ActivationKernels.Softmax(path, bx.AsSpan(offset, width), by.AsSpan(offset, width), width);
                ActivationKernels.Softmax(path, bx.AsSpan(offset, width), width);
                if (offset == 0) by.AsSpan(0, width).CopyTo(first);
                for (int j = 0; j < width; j++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(first[j]) == BitConverter.SingleToInt32Bits(by[offset + j]), $"{path} width {width} offset {offset} [{j}]");
                    Assert.True(BitConverter.SingleToInt32Bits(first[j]) == BitConverter.SingleToInt32Bits(bx[offset + j]), $"{path} width {width} offset {offset} in place [{j}]");
                }
            }
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_LongRows_SpecialValues(KernelPath path)
    {
        const int width = 5 * 2048 + 3;
        // +Inf in the first chunk, in a later chunk (after chunks whose exponentials are already stored), in the tail;
        // with and without a NaN before or after it; a NaN alone; a row of -Inf only.
        int[] infAt = [5, 2048 + 1, 3 * 2048 + 700, width - 1];
        foreach (bool inPlace in new[] { true, false })
        {
            foreach (int at in infAt)
            {
                foreach (int nanAt in new[] { -1, 3, 2 * 2048 + 9, width - 2 })
                {
                    float[] x = Data(width, at + nanAt, 30f);
                    x[at] = float.PositiveInfinity;
                    x[(at + 4099) % width] = float.PositiveInfinity;
                    if (nanAt >= 0) x[nanAt] = float.NaN;
                    float[] expected = (float[])x.Clone();
                    ActivationKernels.Softmax(KernelPath.Scalar, expected, width);
                    float[] y = inPlace ? (float[])x.Clone() : new float[width];
                    ActivationKernels.Softmax(path, inPlace ? y : x, y, width);
                    for (int j = 0; j < width; j++)
                        Assert.True(BitConverter.SingleToInt32Bits(expected[j]) == BitConverter.SingleToInt32Bits(y[j]) || float.IsNaN(expected[j]) && float.IsNaN(y[j]),
                            $"{path} +Inf at {at}, NaN at {nanAt}, in place {inPlace} [{j}]: {expected[j]:R} vs {y[j]:R}");
                }
            }
            foreach (int nanAt in new[] { 0, 2048, 4 * 2048 + 1, width - 1 })
            {
                float[] x = WideRangeLogits(width, nanAt);
                x[nanAt] = float.NaN;
                float[] y = inPlace ? x : new float[width];
                ActivationKernels.Softmax(path, x, y, width);
                Assert.All(y, v => Assert.True(float.IsNaN(v), $"{path} NaN at {nanAt}"));
            }
            float[] minusInf = Enumerable.Repeat(float.NegativeInfinity, width).ToArray();
            float[] my = inPlace ? minusInf : new float[width];
            ActivationKernels.Softmax(path, minusInf, my, width);
            Assert.All(my, v => Assert.True(float.IsNaN(v), $"{path} row of -Inf"));
        }
    }

    public static TheoryData<KernelPath, string> PathsAndOptimizers()
    {
        var data = new TheoryData<KernelPath, string>();
        foreach (KernelPath p in KernelDispatch.Available)
            foreach (string o in new[] { "sgd", "momentum", "adagrad", "rmsprop", "adam" })
                data.Add(p, o);
        return data;
    }

    private static void RunOptimizer(KernelPath path, string name, Span<float> p, ReadOnlySpan<float> g, Span<float> s1, Span<float> s2)
    {
        switch (name)
        {
            case "sgd": OptimizerKernels.Sgd(path, p, g, 0.01f); break;
            case "momentum": OptimizerKernels.Momentum(path, p, g, s1, 0.01f, 0.9f); break;
            case "adagrad": OptimizerKernels.AdaGrad(path, p, g, s1, 0.01f, 1e-7f); break;
            case "rmsprop": OptimizerKernels.RmsProp(path, p, g, s1, 0.01f, 0.9f, 1e-7f); break;
            default: OptimizerKernels.Adam(path, p, g, s1, s2, 0.001f, 0.9f, 0.999f, 1e-7f, 1f - 0.9f * 0.9f, 1f - 0.999f * 0.999f); break;
        }
    }

    [Theory, MemberData(nameof(PathsAndOptimizers))]
    public void Optimizer_MatchesFloat64Reference_AllLengths_AndIgnoresAlignment(KernelPath path, string name)
    {
        for (int n = 0; n <= MaxLength; n++)
        {
            float[] p = Data(n, n), g = Data(n, n + 1, 1f), s1 = Data(n, n + 2, 0.5f).Select(Math.Abs).ToArray(), s2 = Data(n, n + 3, 0.1f).Select(Math.Abs).ToArray();
            if (name == "momentum") s1 = Data(n, n + 2, 0.5f);
            double[] ep = new double[n], e1 = new double[n], e2 = new double[n];
            for (int i = 0; i < n; i++)
            {
                double pp = p[i], gg = g[i], a = s1[i], b = s2[i];
                switch (name)
                {
                    case "sgd": pp -= 0.01 * gg; break;
                    case "momentum": a = 0.9 * a - 0.01 * gg; pp += a; break;
                    case "adagrad": a += gg * gg; pp -= 0.01 * gg / (Math.Sqrt(a) + 1e-7); break;
                    case "rmsprop": a = 0.9 * a + 0.1 * gg * gg; pp -= 0.01 * gg / (Math.Sqrt(a) + 1e-7); break;
                    default:
                        a = 0.9 * a + 0.1 * gg; b = 0.999 * b + 0.001 * gg * gg;
                        pp -= 0.001 * (a / (1 - 0.81)) / (Math.Sqrt(b / (1 - 0.999 * 0.999)) + 1e-7); break;
                }
                ep[i] = pp; e1[i] = a; e2[i] = b;
            }
            // The same data at every offset in a larger buffer must give bit-identical results (alignment independence).
            float[]? first = null;
            for (int offset = 0; offset < 4; offset++)
            {
                float[] P = new float[n + 8], G = new float[n + 8], S1 = new float[n + 8], S2 = new float[n + 8];
                p.CopyTo(P, offset); g.CopyTo(G, offset); s1.CopyTo(S1, offset); s2.CopyTo(S2, offset);
                RunOptimizer(path, name, P.AsSpan(offset, n), G.AsSpan(offset, n), S1.AsSpan(offset, n), S2.AsSpan(offset, n));
                float[] got = P.AsSpan(offset, n).ToArray();
                if (first is null) first = got; else Assert.Equal(first, got);
                for (int i = 0; i < n; i++)
                {
                    Close(ep[i], got[i], 1e-6, 1e-6, $"{path} {name} n={n} p[{i}]");
                    if (name != "sgd") Close(e1[i], S1[offset + i], 1e-6, 1e-7, $"{path} {name} state1");
                    if (name == "adam") Close(e2[i], S2[offset + i], 1e-6, 1e-7, $"{path} {name} state2");
                }
                Assert.Equal(0f, P[offset + n]); // nothing written past the end
            }
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void VectorOps_MatchFloat64Reference_AllLengths(KernelPath path)
    {
        for (int n = 0; n <= MaxLength; n++)
        {
            float[] x = Data(n, n), y = Data(n, n + 7);
            double dot = 0, sum = 0, bound = 0;
            for (int i = 0; i < n; i++) { dot += (double)x[i] * y[i]; sum += x[i]; bound += Math.Abs((double)x[i] * y[i]) + Math.Abs(x[i]); }
            Close(dot, VectorOps.Dot(path, x, y), 0, 1e-6 * bound + 1e-30, $"{path} dot n={n}");
            Close(sum, VectorOps.Sum(path, x), 0, 1e-6 * bound + 1e-30, $"{path} sum n={n}");
            Assert.True(VectorOps.AllFinite(path, x));
            for (int k = 0; k < n; k++)
            {
                float keep = x[k];
                x[k] = k % 2 == 0 ? float.NaN : float.NegativeInfinity;
                Assert.False(VectorOps.AllFinite(path, x), $"{path} AllFinite n={n} k={k}");
                x[k] = keep;
            }

            float[] z = (float[])y.Clone();
            VectorOps.Axpy(path, 0.3f, x, z);
            for (int i = 0; i < n; i++) Close(y[i] + 0.3 * x[i], z[i], 1e-6, 1e-6, $"{path} axpy");
            VectorOps.Scale(path, -2f, x, z);
            for (int i = 0; i < n; i++) Assert.Equal(-2f * x[i], z[i]);
            z = (float[])y.Clone();
            VectorOps.Add(path, x, z);
            for (int i = 0; i < n; i++) Assert.Equal(y[i] + x[i], z[i]);

            // Reductions: identical bits at every alignment.
            float d0 = VectorOps.Dot(path, x, y);
            for (int offset = 1; offset < 4; offset++)
            {
                float[] X = new float[n + 4], Y = new float[n + 4];
                x.CopyTo(X, offset); y.CopyTo(Y, offset);
                Assert.Equal(d0, VectorOps.Dot(path, X.AsSpan(offset, n), Y.AsSpan(offset, n)));
            }
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void EveryKernel_AllocatesNothing(KernelPath path)
    {
        float[] longRow = Data(3 * 2048 + 5, 7);
        float[] a = Data(53, 1), b = Data(53, 2), c = Data(53, 3).Select(Math.Abs).ToArray(), d = Data(53, 4).Select(Math.Abs).ToArray();
        float[] la = Data(200, 5), lb = Data(200, 6);
        void All()
        {
            // 200: whole quads plus a tail on every path (53 is a tail only on AVX-512).
            ActivationKernels.Apply(path, Activation.Tanh, la, 200);
            ActivationKernels.Apply(path, Activation.Sigmoid, la, 200);
            ActivationKernels.Apply(path, Activation.Softplus, la, 200);
            ActivationKernels.Softmax(path, lb, 100);
            ActivationKernels.MultiplyDerivative(path, Activation.Softplus, la, lb);
            ActivationKernels.Apply(path, Activation.Tanh, a, 53);
            ActivationKernels.Apply(path, Activation.Softplus, a, 53);
            ActivationKernels.Apply(path, Activation.Elu(1f), a, 53);
            ActivationKernels.Apply(path, Activation.Sigmoid, a, 53);
            ActivationKernels.Softmax(path, b, 53);
            ActivationKernels.Softmax(path, longRow, longRow.Length);
            ActivationKernels.MultiplyDerivative(path, Activation.Softplus, a, b);
            OptimizerKernels.Adam(path, a, b, c, d, 1e-3f, 0.9f, 0.999f, 1e-7f, 0.1f, 0.001f);
            OptimizerKernels.RmsProp(path, a, b, c, 1e-3f, 0.9f, 1e-7f);
            OptimizerKernels.Momentum(path, a, b, c, 1e-3f, 0.9f);
            VectorOps.Axpy(path, 0.5f, a, b);
            _ = VectorOps.Dot(path, a, b) + VectorOps.Sum(path, a) + (VectorOps.AllFinite(path, a) ? 1 : 0);
        }
        Assert.Equal(0, AllocationProbe.Measure(All));
    }
}
