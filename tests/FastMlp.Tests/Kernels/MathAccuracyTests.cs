using FastMlp.Kernels;
using Xunit;

namespace FastMlp.Tests.Kernels;

/// <summary>float64 references for the element-wise kernels (the test-side scalar reference).</summary>
internal static class Reference
{
    public static double Expm1(double x) => Math.Abs(x) < 1e-5 ? x + x * x / 2 + x * x * x / 6 : Math.Exp(x) - 1;

    public static double Log1p(double t)
    {
        double u = 1 + t;
        return u == 1 ? t : Math.Log(u) * t / (u - 1);
    }

    public static double Exp(double x) => Math.Exp(x);
    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
    public static double Tanh(double x) => Math.Tanh(x);
    public static double Softplus(double x) => double.IsNaN(x) ? x : Math.Max(x, 0) + Log1p(Math.Exp(-Math.Abs(x)));
    public static double Elu(double x, double a) => x > 0 ? x : a * Expm1(x);

    /// <summary>The vector paths of this machine (the scalar path is the reference loops).</summary>
    public static TheoryData<KernelPath> VectorPaths()
    {
        var data = new TheoryData<KernelPath>();
        foreach (KernelPath p in KernelDispatch.Available) if (p != KernelPath.Scalar) data.Add(p);
        if (data.Count == 0) data.Add(KernelPath.Scalar); // keeps the theory non-empty on a machine without SIMD
        return data;
    }

    public static TheoryData<KernelPath> AllPaths()
    {
        var data = new TheoryData<KernelPath>();
        foreach (KernelPath p in KernelDispatch.Available) data.Add(p);
        return data;
    }
}

/// <summary>
/// Accuracy of the vector math over the whole float range against float64 Math, on each vector path of this machine:
/// every 2^12-th float bit pattern (2^20 inputs, both signs, subnormals, huge values, Inf and NaN patterns), every
/// 2^6-th pattern of |x| in [2^-8, 128) (where all the interesting behaviour is), 4096 consecutive floats around
/// each threshold of the algorithms (overflow, the subnormal and zero boundaries of exp, the range-reduction
/// boundaries, tanh saturation) and 2^18 random floats in [-110, 110].
/// </summary>
public class MathAccuracyTests
{
    private const double Bound = 3e-7;
    private const int Shift = 12;

    private static void Check(KernelPath path, string name, double err, float worstX)
    {
        TestContext.Current.TestOutputHelper?.WriteLine($"{path} {name}: max relative error {err:E3} at x = {worstX:R}");
        Assert.True(err <= Bound, $"{path} {name}: max relative error {err:E3} at x = {worstX:R}");
    }

    [Theory, MemberData(nameof(Reference.VectorPaths), MemberType = typeof(Reference))]
    public void Exp(KernelPath path) =>
        Check(path, "exp", Run(path, new ExpOp(), Reference.Exp, out float w), w);

    [Theory, MemberData(nameof(Reference.VectorPaths), MemberType = typeof(Reference))]
    public void Sigmoid(KernelPath path) =>
        Check(path, "sigmoid", Run(path, new SigmoidOp(), Reference.Sigmoid, out float w), w);

    [Theory, MemberData(nameof(Reference.VectorPaths), MemberType = typeof(Reference))]
    public void Tanh(KernelPath path) =>
        Check(path, "tanh", Run(path, new TanhOp(), Reference.Tanh, out float w), w);

    [Theory, MemberData(nameof(Reference.VectorPaths), MemberType = typeof(Reference))]
    public void Softplus(KernelPath path) =>
        Check(path, "softplus", Run(path, new SoftplusOp(), Reference.Softplus, out float w), w);

    [Theory, MemberData(nameof(Reference.VectorPaths), MemberType = typeof(Reference))]
    public void Elu(KernelPath path) =>
        Check(path, "elu(a=1)", Run(path, new EluOp(1f), x => Reference.Elu(x, 1), out float w), w);

    [Theory, MemberData(nameof(Reference.VectorPaths), MemberType = typeof(Reference))]
    public void Expm1OnNonPositive(KernelPath path) =>
        // The softplus derivative 1 - e^-y is computed as -expm1(-y); checked here through y >= 0.
        Check(path, "1-exp(-y)", RunDerivative(path), 0f);

    [Theory, MemberData(nameof(Reference.VectorPaths), MemberType = typeof(Reference))]
    public void TanhKeepsTheSignOfZero(KernelPath path)
    {
        float[] x = [-0f, 0f, -1e-30f];
        ActivationKernels.Unary(path, new TanhOp(), x, x);
        Assert.True(float.IsNegative(x[0]) && x[0] == 0f);
        Assert.True(!float.IsNegative(x[1]) && x[1] == 0f);
        Assert.Equal(-1e-30f, x[2]);
    }

    private static double Run<TOp>(KernelPath path, TOp op, Func<double, double> reference, out float worstX) where TOp : struct, IUnaryOp
    {
        float[] x = Inputs.Value, y = new float[x.Length];
        ActivationKernels.Unary(path, op, x, y);
        return Worst(x, y, reference, out worstX);
    }

    private static double RunDerivative(KernelPath path)
    {
        var ys = new List<float>();
        for (uint bits = 0; bits < 0x7F800000u; bits += 1u << Shift) ys.Add(BitConverter.UInt32BitsToSingle(bits));
        float[] y = ys.ToArray(), d = Enumerable.Repeat(1f, y.Length).ToArray();
        ActivationKernels.Binary(path, new SoftplusDerivativeOp(), y, d);
        return Worst(y, d, v => -Reference.Expm1(-v), out _);
    }

    private static readonly Lazy<float[]> Inputs = new(() =>
    {
        var xs = new List<float>();
        for (long bits = 0; bits <= uint.MaxValue; bits += 1L << Shift) xs.Add(BitConverter.UInt32BitsToSingle((uint)bits));
        for (uint bits = 0x3B800000u; bits < 0x43000000u; bits += 1u << 6)
        {
            xs.Add(BitConverter.UInt32BitsToSingle(bits));
            xs.Add(-BitConverter.UInt32BitsToSingle(bits));
        }
        // exp overflow (88.7228), the last normal result (-87.3365), the last nonzero result (-103.9721), the reduction
        // boundaries (+-ln2/2, 3 ln2/2), tanh rounding to 1 (9.01), the sigmoid/softplus subnormal range, expm1 clamps.
        foreach (float t in new[] { 88.7228391f, -87.3365448f, -103.972084f, 0.34657359f, -0.34657359f, 1.03972077f, -1.03972077f,
                     9.0109133f, -9.0109133f, -88f, 87.5f, -87.5f, 88f, 0.17328680f, -0.17328680f, 1f, -1f, 0.5f, -0.5f })
        {
            int b = BitConverter.SingleToInt32Bits(t);
            for (int k = -2048; k < 2048; k++) xs.Add(BitConverter.Int32BitsToSingle(b + k));
        }
        var rnd = new Random(20261123);
        for (int i = 0; i < 1 << 18; i++) xs.Add((float)(rnd.NextDouble() * 220 - 110));
        xs.AddRange([0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity,
            float.NaN, -float.NaN, 1e-30f, -1e-30f, 88.72f, 88.73f, -87.3f, -87.4f, -103.9f, -104f, 0.625f, -0.625f, 0.34657f, -0.34657f, 1f, -1f]);
        return xs.ToArray();
    });

    internal static double Worst(float[] x, float[] y, Func<double, double> reference, out float worstX)
    {
        double worst = 0; worstX = 0;
        for (int i = 0; i < x.Length; i++)
        {
            if (float.IsNaN(x[i])) { Assert.True(float.IsNaN(y[i]), $"f(NaN) = {y[i]}"); continue; }
            double r = reference(x[i]);
            double err;
            if (double.IsInfinity(r) || Math.Abs(r) > float.MaxValue)
                err = float.IsInfinity(y[i]) && Math.Sign(y[i]) == Math.Sign(r) ? 0 : 1;
            else if (Math.Abs(r) < 1.17549435E-38)
                err = Math.Abs(y[i] - r) <= 2 * (double)float.Epsilon ? 0 : 1; // subnormal results: within 2 subnormal ulps
            else
                err = Math.Abs(y[i] - r) / Math.Abs(r);
            if (!(err <= worst)) { worst = double.IsNaN(err) ? 1 : err; worstX = x[i]; }
        }
        return worst;
    }
}
