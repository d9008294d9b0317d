using FastMlp.Kernels;
using Xunit;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// Exact results of the transcendental kernels where the answer is known exactly (+-Inf, NaN, +-0, subnormal
/// inputs, saturation, overflow and underflow thresholds), and bit-identical results whatever position an element
/// has in the span (main loop or padded tail, any lane), on every path of this machine.
/// </summary>
public class MathSpecialValueTests
{
    private static float[] Run<TOp>(KernelPath path, TOp op, params float[] x) where TOp : struct, IUnaryOp
    {
        float[] y = new float[x.Length];
        ActivationKernels.Unary(path, op, x, y);
        return y;
    }

    private static void Same(float expected, float actual, string what) =>
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual) || (float.IsNaN(expected) && float.IsNaN(actual)),
            $"{what}: expected {expected:R}, got {actual:R}");

    private const float Denormal = 1e-40f;

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Exp_SpecialValues(KernelPath path)
    {
        float[] y = Run(path, new ExpOp(), float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -0f, Denormal, -Denormal,
            float.MaxValue, float.MinValue, -104f);
        float[] expected = [float.PositiveInfinity, 0f, float.NaN, 1f, 1f, 1f, 1f, float.PositiveInfinity, 0f, 0f];
        for (int i = 0; i < y.Length; i++) Same(expected[i], y[i], $"{path} exp case {i}");
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Exp_OverflowAndUnderflowThresholds(KernelPath path)
    {
        // Around ln(float.MaxValue) = 88.7228391 the result switches from finite to +Inf exactly where the correctly
        // rounded float64 result does; around the last subnormal (-103.972) it reaches 0 where float64 does (within one
        // subnormal step); in between, subnormal results are within 2 subnormal ulps.
        foreach (float t in new[] { 88.7228391f, -87.3365448f, -103.972084f })
        {
            int b = BitConverter.SingleToInt32Bits(t);
            float[] x = Enumerable.Range(-64, 128).Select(k => BitConverter.Int32BitsToSingle(b + k)).ToArray();
            float[] y = Run(path, new ExpOp(), x);
            for (int i = 0; i < x.Length; i++)
            {
                double r = Math.Exp(x[i]);
                float rf = (float)r;
                if (float.IsInfinity(rf)) Same(float.PositiveInfinity, y[i], $"{path} exp({x[i]:R}) overflows");
                else if (r < 1.17549435E-38) Assert.True(Math.Abs(y[i] - r) <= 2 * (double)float.Epsilon, $"{path} exp({x[i]:R}) = {y[i]:R}, float64 {r:R}");
                else Assert.True(Math.Abs(y[i] - r) <= 3e-7 * r, $"{path} exp({x[i]:R}) = {y[i]:R}, float64 {r:R}");
            }
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Sigmoid_SpecialValues(KernelPath path)
    {
        float[] y = Run(path, new SigmoidOp(), float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -0f, Denormal, -Denormal, 20f, 1e30f, -1e30f);
        float[] expected = [1f, 0f, float.NaN, 0.5f, 0.5f, 0.5f, 0.5f, 1f, 1f, 0f];
        for (int i = 0; i < y.Length; i++) Same(expected[i], y[i], $"{path} sigmoid case {i}");
        // Subnormal outputs: e^-100 = 3.7e-44 is still represented, not flushed to 0.
        float s = Run(path, new SigmoidOp(), -100f)[0];
        Assert.True(Math.Abs(s - Math.Exp(-100)) <= 2 * (double)float.Epsilon && s > 0f, $"{path} sigmoid(-100) = {s:R}");
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Tanh_SpecialValues(KernelPath path)
    {
        float[] y = Run(path, new TanhOp(), float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -0f, Denormal, -Denormal,
            1e-30f, -1e-30f, 9.02f, -9.02f, 1e30f, -1e30f, float.Epsilon, -float.Epsilon);
        float[] expected = [1f, -1f, float.NaN, 0f, -0f, Denormal, -Denormal, 1e-30f, -1e-30f, 1f, -1f, 1f, -1f, float.Epsilon, -float.Epsilon];
        for (int i = 0; i < y.Length; i++) Same(expected[i], y[i], $"{path} tanh case {i}");
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softplus_SpecialValues(KernelPath path)
    {
        float ln2 = (float)Math.Log(2);
        float[] y = Run(path, new SoftplusOp(), float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -0f, Denormal, 100f, 1e30f, -1e30f);
        float[] expected = [float.PositiveInfinity, 0f, float.NaN, ln2, ln2, ln2, 100f, 1e30f, 0f];
        for (int i = 0; i < y.Length; i++) Same(expected[i], y[i], $"{path} softplus case {i}");
        float s = Run(path, new SoftplusOp(), -100f)[0];
        Assert.True(Math.Abs(s - Math.Exp(-100)) <= 2 * (double)float.Epsilon && s > 0f, $"{path} softplus(-100) = {s:R}");
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Elu_SpecialValues(KernelPath path)
    {
        float[] y = Run(path, new EluOp(0.5f), float.PositiveInfinity, float.NegativeInfinity, float.NaN, 0f, -Denormal, -1e-30f, -88f, -1e30f, 3f);
        float[] expected = [float.PositiveInfinity, -0.5f, float.NaN, 0f, -0.5f * Denormal, -0.5e-30f, -0.5f, -0.5f, 3f];
        for (int i = 0; i < y.Length; i++)
        {
            if (i == 3) { Assert.Equal(0f, y[i]); continue; } // elu(0) = a (e^0 - 1): the sign of that zero is not specified
            Same(expected[i], y[i], $"{path} elu case {i}");
        }
    }

    [Theory, MemberData(nameof(Reference.AllPaths), MemberType = typeof(Reference))]
    public void Softmax_InfinityAndNaNInOneRow_GivesNaNRow(KernelPath path)
    {
        for (int width = 2; width <= 70; width += 17)
        {
            float[] row = new float[width];
            row[0] = float.PositiveInfinity;
            row[width - 1] = float.NaN;
            ActivationKernels.Softmax(path, row, width);
            Assert.All(row, v => Assert.True(float.IsNaN(v), $"{path} width {width}"));
        }
    }

    public static TheoryData<KernelPath, string> PathsAndOps()
    {
        var data = new TheoryData<KernelPath, string>();
        foreach (KernelPath p in KernelDispatch.Available)
            foreach (string op in new[] { "exp", "sigmoid", "tanh", "softplus", "elu", "leakyrelu", "step", "softplus'", "tanh'" })
                data.Add(p, op);
        return data;
    }

    private static void Apply(KernelPath path, string op, float[] x, float[] y)
    {
        switch (op)
        {
            case "exp": ActivationKernels.Unary(path, new ExpOp(), x, y); break;
            case "sigmoid": ActivationKernels.Unary(path, new SigmoidOp(), x, y); break;
            case "tanh": ActivationKernels.Unary(path, new TanhOp(), x, y); break;
            case "softplus": ActivationKernels.Unary(path, new SoftplusOp(), x, y); break;
            case "elu": ActivationKernels.Unary(path, new EluOp(0.7f), x, y); break;
            case "leakyrelu": ActivationKernels.Unary(path, new LeakyReluOp(0.1f), x, y); break;
            case "step": ActivationKernels.Unary(path, new StepOp(-1f), x, y); break;
            // Derivatives: y holds the deltas on entry (all 1.5), x the activation values.
            case "softplus'": Array.Fill(y, 1.5f); ActivationKernels.Binary(path, new SoftplusDerivativeOp(), x, y); break;
            default: Array.Fill(y, 1.5f); ActivationKernels.Binary(path, new TanhDerivativeOp(), x, y); break;
        }
    }

    [Theory, MemberData(nameof(PathsAndOps))]
    public void SameBits_AtEveryPosition_ForEveryTailLength(KernelPath path, string op)
    {
        // 67 values (specials and random ones over the interesting range), each computed once in the middle of a long
        // span (4288 = 67 x 64: whole quads on every path), then in spans of length 1..67 at every position.
        const int m = 67;
        var rnd = new Random(67);
        float[] pool = new float[m];
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, Denormal, -Denormal, 88.7f, -87.5f, -103.9f, 9.1f, 0.3f];
        for (int i = 0; i < m; i++) pool[i] = i < specials.Length ? specials[i] : (float)(rnd.NextDouble() * 60 - 30);
        if (op is "softplus'" or "tanh'") for (int i = 0; i < m; i++) pool[i] = op == "tanh'" ? MathF.Tanh(pool[i] / 10) : MathF.Abs(pool[i]);

        float[] longX = new float[m * 64], longY = new float[m * 64];
        for (int i = 0; i < longX.Length; i++) longX[i] = pool[i % m];
        Apply(path, op, longX, longY);

        for (int n = 1; n <= m; n++)
            for (int shift = 0; shift < n; shift += Math.Max(1, n / 7))
            {
                float[] x = new float[n], y = new float[n];
                for (int i = 0; i < n; i++) x[i] = pool[(i + shift) % m];
                Apply(path, op, x, y);
                for (int i = 0; i < n; i++)
                    Same(longY[(i + shift) % m], y[i], $"{path} {op}({x[i]:R}) at position {i} of {n}");
            }
    }
}
