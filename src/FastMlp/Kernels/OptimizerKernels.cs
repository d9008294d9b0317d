namespace FastMlp.Kernels;

/// <summary>The per-step constants of an Adam update, passed by reference to the width kernels.</summary>
internal readonly struct AdamConstants(float lr, float beta1, float beta2, float eps, float correction1, float correction2)
{
    public readonly float LearningRate = lr, Beta1 = beta1, Beta2 = beta2, Epsilon = eps;
    public readonly float OneMinusBeta1 = 1f - beta1, OneMinusBeta2 = 1f - beta2;
    public readonly float InverseCorrection1 = 1f / correction1, InverseCorrection2 = 1f / correction2;
}

/// <summary>
/// Optimizer updates as one pass over the flat parameter buffer (parameters, gradient and state share
/// one layout, so a step is a single loop with no per-layer work).
/// </summary>
/// <remarks>
/// Path = <see cref="KernelDispatch.Current"/> (or the explicit path argument): Avx512 / Avx2 / Vector128 and Neon
/// run one vector block function per width (Simd512 / Simd256 / Simd128, FMA where the path has it) over full
/// blocks and a padded tail block, so every element goes through the same instructions wherever it sits; Scalar
/// is the plain loop below, the reference. Results are deterministic within a path and independent of alignment.
/// </remarks>
internal static class OptimizerKernels
{
    /// <summary>p -= lr g.</summary>
    public static void Sgd(Span<float> p, ReadOnlySpan<float> g, float lr) => Sgd(KernelDispatch.Current, p, g, lr);

    internal static void Sgd(KernelPath path, Span<float> p, ReadOnlySpan<float> g, float lr) => VectorOps.Axpy(path, -lr, g, p);

    /// <summary>The notes' momentum: m = beta m - lr g; p = p + m.</summary>
    public static void Momentum(Span<float> p, ReadOnlySpan<float> g, Span<float> m, float lr, float beta) =>
        Momentum(KernelDispatch.Current, p, g, m, lr, beta);

    internal static void Momentum(KernelPath path, Span<float> p, ReadOnlySpan<float> g, Span<float> m, float lr, float beta)
    {
        Check(p, g, m);
        switch (path)
        {
            case KernelPath.Avx512: Simd512.Momentum(p, g, m, lr, beta); return;
            case KernelPath.Avx2: Simd256.Momentum(p, g, m, lr, beta); return;
            case KernelPath.Vector128: case KernelPath.Neon: Simd128.Momentum(p, g, m, lr, beta); return;
        }
        for (int i = 0; i < p.Length; i++)
        {
            float mv = beta * m[i] - lr * g[i];
            m[i] = mv;
            p[i] += mv;
        }
    }

    /// <summary>AdaGrad: h += g^2; p -= lr g / (sqrt(h) + eps).</summary>
    public static void AdaGrad(Span<float> p, ReadOnlySpan<float> g, Span<float> h, float lr, float eps) =>
        AdaGrad(KernelDispatch.Current, p, g, h, lr, eps);

    internal static void AdaGrad(KernelPath path, Span<float> p, ReadOnlySpan<float> g, Span<float> h, float lr, float eps)
    {
        Check(p, g, h);
        switch (path)
        {
            case KernelPath.Avx512: Simd512.ScaledStep(p, g, h, lr, 1f, 1f, eps); return;
            case KernelPath.Avx2: Simd256.ScaledStep(p, g, h, lr, 1f, 1f, eps); return;
            case KernelPath.Vector128: case KernelPath.Neon: Simd128.ScaledStep(p, g, h, lr, 1f, 1f, eps); return;
        }
        for (int i = 0; i < p.Length; i++)
        {
            float gv = g[i];
            float hv = h[i] + gv * gv;
            h[i] = hv;
            p[i] -= lr * gv / (MathF.Sqrt(hv) + eps);
        }
    }

    /// <summary>RMSProp: v = rho v + (1 - rho) g^2; p -= lr g / (sqrt(v) + eps).</summary>
    public static void RmsProp(Span<float> p, ReadOnlySpan<float> g, Span<float> v, float lr, float rho, float eps) =>
        RmsProp(KernelDispatch.Current, p, g, v, lr, rho, eps);

    internal static void RmsProp(KernelPath path, Span<float> p, ReadOnlySpan<float> g, Span<float> v, float lr, float rho, float eps)
    {
        Check(p, g, v);
        float oneMinusRho = 1f - rho;
        switch (path)
        {
            case KernelPath.Avx512: Simd512.ScaledStep(p, g, v, lr, rho, oneMinusRho, eps); return;
            case KernelPath.Avx2: Simd256.ScaledStep(p, g, v, lr, rho, oneMinusRho, eps); return;
            case KernelPath.Vector128: case KernelPath.Neon: Simd128.ScaledStep(p, g, v, lr, rho, oneMinusRho, eps); return;
        }
        for (int i = 0; i < p.Length; i++)
        {
            float gv = g[i];
            float vv = rho * v[i] + oneMinusRho * (gv * gv);
            v[i] = vv;
            p[i] -= lr * gv / (MathF.Sqrt(vv) + eps);
        }
    }

    /// <summary>
    /// Adam: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr (m / c1) / (sqrt(v / c2) + eps), where
    /// c1 = 1 - b1^t and c2 = 1 - b2^t are the bias corrections (passed in, computed once per step).
    /// </summary>
    public static void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float correction1, float correction2) =>
        Adam(KernelDispatch.Current, p, g, m, v, lr, beta1, beta2, eps, correction1, correction2);

    internal static void Adam(KernelPath path, Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v,
        float lr, float beta1, float beta2, float eps, float correction1, float correction2)
    {
        Check(p, g, m);
        Check(p, g, v);
        var c = new AdamConstants(lr, beta1, beta2, eps, correction1, correction2);
        switch (path)
        {
            case KernelPath.Avx512: Simd512.Adam(p, g, m, v, c); return;
            case KernelPath.Avx2: Simd256.Adam(p, g, m, v, c); return;
            case KernelPath.Vector128: case KernelPath.Neon: Simd128.Adam(p, g, m, v, c); return;
        }
        for (int i = 0; i < p.Length; i++)
        {
            float gv = g[i];
            float mv = beta1 * m[i] + c.OneMinusBeta1 * gv;
            float vv = beta2 * v[i] + c.OneMinusBeta2 * (gv * gv);
            m[i] = mv;
            v[i] = vv;
            p[i] -= lr * (mv * c.InverseCorrection1) / (MathF.Sqrt(vv * c.InverseCorrection2) + eps);
        }
    }

    private static void Check(Span<float> p, ReadOnlySpan<float> g, Span<float> s)
    {
        if (g.Length < p.Length || s.Length < p.Length)
            throw new ArgumentException("Gradient and optimizer state must be at least as long as the parameters.");
    }
}
