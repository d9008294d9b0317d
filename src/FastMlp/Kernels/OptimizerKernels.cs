using System.Numerics;
using System.Runtime.InteropServices;

namespace FastMlp.Kernels;

/// <summary>
/// Optimizer updates as one pass over the flat parameter buffer (parameters, gradient and state share
/// one layout, so a step is a single loop with no per-layer work). Portable Vector{T} body, scalar tail
/// doing the same arithmetic in the same order.
/// </summary>
internal static class OptimizerKernels
{
    /// <summary>p -= lr g.</summary>
    public static void Sgd(Span<float> p, ReadOnlySpan<float> g, float lr) => VectorOps.Axpy(-lr, g, p);

    /// <summary>The notes' momentum: m = beta m - lr g; p = p + m.</summary>
    public static void Momentum(Span<float> p, ReadOnlySpan<float> g, Span<float> m, float lr, float beta)
    {
        int n = p.Length, i = 0;
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pm = ref MemoryMarshal.GetReference(m);
        if (Vector.IsHardwareAccelerated)
        {
            var vb = new Vector<float>(beta);
            var vl = new Vector<float>(lr);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> mv = vb * VectorOps.Load(ref pm, i) - vl * VectorOps.Load(ref pg, i);
                VectorOps.Store(mv, ref pm, i);
                VectorOps.Store(VectorOps.Load(ref pp, i) + mv, ref pp, i);
            }
        }
        for (; i < n; i++)
        {
            float mv = beta * m[i] - lr * g[i];
            m[i] = mv;
            p[i] += mv;
        }
    }

    /// <summary>AdaGrad: h += g^2; p -= lr g / (sqrt(h) + eps).</summary>
    public static void AdaGrad(Span<float> p, ReadOnlySpan<float> g, Span<float> h, float lr, float eps)
    {
        int n = p.Length, i = 0;
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float ph = ref MemoryMarshal.GetReference(h);
        if (Vector.IsHardwareAccelerated)
        {
            var vl = new Vector<float>(lr);
            var ve = new Vector<float>(eps);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> gv = VectorOps.Load(ref pg, i);
                Vector<float> hv = VectorOps.Load(ref ph, i) + gv * gv;
                VectorOps.Store(hv, ref ph, i);
                VectorOps.Store(VectorOps.Load(ref pp, i) - vl * gv / (Vector.SquareRoot(hv) + ve), ref pp, i);
            }
        }
        for (; i < n; i++)
        {
            float gv = g[i];
            float hv = h[i] + gv * gv;
            h[i] = hv;
            p[i] -= lr * gv / (MathF.Sqrt(hv) + eps);
        }
    }

    /// <summary>RMSProp: v = rho v + (1 - rho) g^2; p -= lr g / (sqrt(v) + eps).</summary>
    public static void RmsProp(Span<float> p, ReadOnlySpan<float> g, Span<float> v, float lr, float rho, float eps)
    {
        int n = p.Length, i = 0;
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pv = ref MemoryMarshal.GetReference(v);
        float oneMinusRho = 1f - rho;
        if (Vector.IsHardwareAccelerated)
        {
            var vl = new Vector<float>(lr);
            var ve = new Vector<float>(eps);
            var vr = new Vector<float>(rho);
            var vr1 = new Vector<float>(oneMinusRho);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> gv = VectorOps.Load(ref pg, i);
                Vector<float> vv = vr * VectorOps.Load(ref pv, i) + vr1 * (gv * gv);
                VectorOps.Store(vv, ref pv, i);
                VectorOps.Store(VectorOps.Load(ref pp, i) - vl * gv / (Vector.SquareRoot(vv) + ve), ref pp, i);
            }
        }
        for (; i < n; i++)
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
        float lr, float beta1, float beta2, float eps, float correction1, float correction2)
    {
        int n = p.Length, i = 0;
        ref float pp = ref MemoryMarshal.GetReference(p);
        ref float pg = ref MemoryMarshal.GetReference(g);
        ref float pm = ref MemoryMarshal.GetReference(m);
        ref float pv = ref MemoryMarshal.GetReference(v);
        float b1c = 1f - beta1, b2c = 1f - beta2;
        float inv1 = 1f / correction1, inv2 = 1f / correction2;
        if (Vector.IsHardwareAccelerated)
        {
            var vb1 = new Vector<float>(beta1);
            var vb2 = new Vector<float>(beta2);
            var vb1c = new Vector<float>(b1c);
            var vb2c = new Vector<float>(b2c);
            var vl = new Vector<float>(lr);
            var ve = new Vector<float>(eps);
            var vi1 = new Vector<float>(inv1);
            var vi2 = new Vector<float>(inv2);
            for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector<float> gv = VectorOps.Load(ref pg, i);
                Vector<float> mv = vb1 * VectorOps.Load(ref pm, i) + vb1c * gv;
                Vector<float> vv = vb2 * VectorOps.Load(ref pv, i) + vb2c * (gv * gv);
                VectorOps.Store(mv, ref pm, i);
                VectorOps.Store(vv, ref pv, i);
                VectorOps.Store(VectorOps.Load(ref pp, i) - vl * (mv * vi1) / (Vector.SquareRoot(vv * vi2) + ve), ref pp, i);
            }
        }
        for (; i < n; i++)
        {
            float gv = g[i];
            float mv = beta1 * m[i] + b1c * gv;
            float vv = beta2 * v[i] + b2c * (gv * gv);
            m[i] = mv;
            v[i] = vv;
            p[i] -= lr * (mv * inv1) / (MathF.Sqrt(vv * inv2) + eps);
        }
    }
}
