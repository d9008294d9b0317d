// Template for every vector width: Simd256.cs and Simd512.cs are generated from this file by
// generate-widths.sh (a textual 128 -> 256 / 512 substitution). Edit this file, then regenerate.
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using static FastMlp.Kernels.VectorMath;

namespace FastMlp.Kernels;

/// <summary>
/// The Vector128 kernels: vector math (derivations in <see cref="VectorMath"/>), the generic element-wise
/// drivers, row-wise softmax, level-1 operations and optimizer updates.
/// </summary>
/// <remarks>
/// Tail strategy (every kernel): the last n mod W elements are copied into a W-wide stack buffer (padded with
/// the operation's identity: 0 for sums, -Inf for softmax exponentials), processed by the same vector code and
/// copied back. Each element therefore goes through exactly the same instructions wherever it sits, the result
/// does not depend on alignment or on the position of the tail, and nothing reads or writes out of bounds.
/// Reductions accumulate in a fixed order that depends on the length only.
/// </remarks>
internal static class Simd128
{
    private static int W => Vector128<float>.Count;

    // ---------------------------------------------------------------- math

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> ExpPolyM1(Vector128<float> r)
    {
        // expm1(r) = r + r^2 P(r), |r| <= ln2/2.
        Vector128<float> p = MulAdd(Vector128.Create(E0), r, Vector128.Create(E1));
        p = MulAdd(p, r, Vector128.Create(E2));
        p = MulAdd(p, r, Vector128.Create(E3));
        p = MulAdd(p, r, Vector128.Create(E4));
        p = MulAdd(p, r, Vector128.Create(E5));
        return MulAdd(p, r * r, r);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Pow2(Vector128<int> n) => Vector128.ShiftLeft(n + Vector128.Create(127), 23).AsSingle();

    /// <summary>e^x; NaN stays NaN, overflow gives +Inf, underflow 0 (subnormals correctly rounded from e^r).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        // Native min/max (one instruction each): their NaN behaviour differs by ISA (x86 returns the second operand,
        // NEON propagates NaN) but does not matter, because NaN lanes are restored from x at the end.
        Vector128<float> xc = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(ExpClampLow)), Vector128.Create(ExpClampHigh));
        Vector128<float> nf = Vector128.Round(xc * Vector128.Create(Log2E));
        Vector128<float> r = MulAdd(nf, Vector128.Create(-Ln2Hi), xc);
        r = MulAdd(nf, Vector128.Create(-Ln2Lo), r);
        Vector128<float> p = ExpPolyM1(r) + Vector128<float>.One;
        // Native (non-saturating) conversion: nf is an integer in [-150, 129] or NaN, whose garbage lanes the final select replaces.
        Vector128<int> n = Vector128.ConvertToInt32Native(nf);
        Vector128<int> n1 = Vector128.ShiftRightArithmetic(n, 1);
        Vector128<float> result = p * Pow2(n1) * Pow2(n - n1);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }

    /// <summary>e^x - 1 with full relative accuracy near 0 (x clamped to [-87.5, 88]; used on x &lt;= 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ExpM1(Vector128<float> x)
    {
        // Native min/max (one instruction each): their NaN behaviour differs by ISA (x86 returns the second operand,
        // NEON propagates NaN) but does not matter, because NaN lanes are restored from x at the end.
        Vector128<float> xc = Vector128.MinNative(Vector128.MaxNative(x, Vector128.Create(ExpM1ClampLow)), Vector128.Create(ExpM1ClampHigh));
        Vector128<float> nf = Vector128.Round(xc * Vector128.Create(Log2E));
        Vector128<float> r = MulAdd(nf, Vector128.Create(-Ln2Hi), xc);
        r = MulAdd(nf, Vector128.Create(-Ln2Lo), r);
        Vector128<float> q = ExpPolyM1(r);
        Vector128<float> s = Pow2(Vector128.ConvertToInt32Native(nf));
        Vector128<float> result = MulAdd(s, q, s - Vector128<float>.One);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }

    /// <summary>ln(1 + t) for t in [0, 1] (NaN propagates).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Log1pUnit(Vector128<float> t)
    {
        Vector128<float> one = Vector128<float>.One;
        Vector128<float> u = one + t;
        Vector128<float> c = t - (u - one);                       // rounding error of 1 + t
        Vector128<float> big = Vector128.GreaterThan(u, Vector128.Create(Sqrt2));
        Vector128<float> f = Vector128.ConditionalSelect(big, u * Vector128.Create(0.5f), u) - one;
        Vector128<float> k = big & one;                           // 1.0f where big, else 0
        Vector128<float> z = f * f;
        Vector128<float> p = MulAdd(Vector128.Create(L0), f, Vector128.Create(L1));
        p = MulAdd(p, f, Vector128.Create(L2));
        p = MulAdd(p, f, Vector128.Create(L3));
        p = MulAdd(p, f, Vector128.Create(L4));
        p = MulAdd(p, f, Vector128.Create(L5));
        p = MulAdd(p, f, Vector128.Create(L6));
        p = MulAdd(p, f, Vector128.Create(L7));
        p = MulAdd(p, f, Vector128.Create(L8));
        Vector128<float> y = p * f * z;
        y = MulAdd(k, Vector128.Create(Ln2Lo), y);
        y = MulAdd(z, Vector128.Create(-0.5f), y);
        y = y + c / u;
        return MulAdd(k, Vector128.Create(Ln2Hi), f + y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x)
    {
        Vector128<float> t = Exp(-Vector128.Abs(x));
        Vector128<float> d = Vector128<float>.One + t;
        Vector128<float> num = Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x, Vector128<float>.Zero), Vector128<float>.One, t);
        return num / d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Tanh(Vector128<float> x)
    {
        Vector128<float> a = Vector128.Abs(x);
        Vector128<float> z = a * a;
        Vector128<float> p = MulAdd(Vector128.Create(T0), z, Vector128.Create(T1));
        p = MulAdd(p, z, Vector128.Create(T2));
        p = MulAdd(p, z, Vector128.Create(T3));
        p = MulAdd(p, z, Vector128.Create(T4));
        Vector128<float> small = MulAdd(p * z, a, a);
        Vector128<float> t = Exp(Vector128.Create(-2f) * a);
        Vector128<float> large = (Vector128<float>.One - t) / (Vector128<float>.One + t);
        Vector128<float> m = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(TanhSmall)), small, large);
        return m | (x & Vector128.Create(-0f));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Softplus(Vector128<float> x)
    {
        Vector128<float> pos = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), x, Vector128<float>.Zero);
        return pos + Log1pUnit(Exp(-Vector128.Abs(x)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Elu(Vector128<float> x, float alpha) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), x, Vector128.Create(alpha) * ExpM1(x));

    // ---------------------------------------------------------------- element-wise drivers

    /// <summary>y[i] = op(x[i]); x and y may be the same span.</summary>
    public static void Unary<TOp>(TOp op, ReadOnlySpan<float> x, Span<float> y) where TOp : struct, IUnaryOp
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        for (; i <= n - W; i += W)
            op.Invoke(Vector128.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        if (i < n)
        {
            Span<float> buf = stackalloc float[W];
            x.Slice(i).CopyTo(buf);
            op.Invoke(Vector128.Create<float>(buf)).CopyTo(buf);
            buf.Slice(0, n - i).CopyTo(y.Slice(i));
        }
    }

    /// <summary>d[i] = op(y[i], d[i]).</summary>
    public static void Binary<TOp>(TOp op, ReadOnlySpan<float> y, Span<float> d) where TOp : struct, IBinaryOp
    {
        int n = d.Length, i = 0;
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pd = ref MemoryMarshal.GetReference(d);
        for (; i <= n - W; i += W)
            op.Invoke(Vector128.LoadUnsafe(ref py, (nuint)i), Vector128.LoadUnsafe(ref pd, (nuint)i)).StoreUnsafe(ref pd, (nuint)i);
        if (i < n)
        {
            Span<float> buf = stackalloc float[2 * W];
            y.Slice(i, n - i).CopyTo(buf);
            d.Slice(i).CopyTo(buf.Slice(W));
            op.Invoke(Vector128.Create<float>(buf), Vector128.Create<float>(buf.Slice(W))).CopyTo(buf);
            buf.Slice(0, n - i).CopyTo(d.Slice(i));
        }
    }

    /// <summary>Row-wise softmax in place; a NaN in a row makes the row NaN, +Inf logits share the mass.</summary>
    public static void Softmax(Span<float> data, int width)
    {
        for (int r = 0; r < data.Length; r += width)
            SoftmaxRow(data.Slice(r, width));
    }

    private static void SoftmaxRow(Span<float> row)
    {
        int n = row.Length, i = 0;
        ref float p = ref MemoryMarshal.GetReference(row);
        // 1. maximum (NaN is tracked separately, so the ISA's NaN rule for max does not matter).
        Vector128<float> vmax = Vector128.Create(float.NegativeInfinity);
        Vector128<float> nan = Vector128<float>.Zero;
        for (; i <= n - W; i += W)
        {
            Vector128<float> v = Vector128.LoadUnsafe(ref p, (nuint)i);
            vmax = Vector128.MaxNative(vmax, v); // NaN lanes: whatever the ISA does, the NaN mask below decides
            nan |= ~Vector128.Equals(v, v);
        }
        float max = float.NegativeInfinity;
        for (int k = 0; k < W; k++) { float e = vmax.GetElement(k); if (e > max) max = e; } // NaN lanes never win
        bool anyNaN = nan != Vector128<float>.Zero;
        for (; i < n; i++) { float e = Unsafe.Add(ref p, i); if (e > max) max = e; anyNaN |= float.IsNaN(e); }
        if (anyNaN) max = float.NaN;
        if (float.IsPositiveInfinity(max))
        {
            ActivationKernels.SoftmaxInfiniteRow(row);
            return;
        }
        // 2. e^(z - max) and their sum (tail padded with -Inf, whose exponential is 0).
        Vector128<float> vm = Vector128.Create(max), sum = Vector128<float>.Zero;
        for (i = 0; i <= n - W; i += W)
        {
            Vector128<float> e = Exp(Vector128.LoadUnsafe(ref p, (nuint)i) - vm);
            e.StoreUnsafe(ref p, (nuint)i);
            sum += e;
        }
        if (i < n)
        {
            Span<float> buf = stackalloc float[W];
            buf.Fill(float.NegativeInfinity);
            row.Slice(i).CopyTo(buf);
            Vector128<float> e = Exp(Vector128.Create<float>(buf) - vm);
            sum += e;
            e.CopyTo(buf);
            buf.Slice(0, n - i).CopyTo(row.Slice(i));
        }
        // 3. scale by 1 / sum.
        Vector128<float> inv = Vector128.Create(1f / Vector128.Sum(sum));
        for (i = 0; i <= n - W; i += W)
            (Vector128.LoadUnsafe(ref p, (nuint)i) * inv).StoreUnsafe(ref p, (nuint)i);
        float s = inv.GetElement(0);
        for (; i < n; i++) Unsafe.Add(ref p, i) *= s;
    }

    // ---------------------------------------------------------------- level 1

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Tail(ReadOnlySpan<float> x, int i, Span<float> buf)
    {
        buf.Clear();
        x.Slice(i).CopyTo(buf);
        return Vector128.Create<float>(buf);
    }

    /// <summary>Sum of x[i] y[i]: two accumulators, zero-padded tail, fixed horizontal order.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        Vector128<float> a0 = Vector128<float>.Zero, a1 = Vector128<float>.Zero;
        for (; i <= n - 2 * W; i += 2 * W)
        {
            a0 = MulAdd(Vector128.LoadUnsafe(ref px, (nuint)i), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
            a1 = MulAdd(Vector128.LoadUnsafe(ref px, (nuint)(i + W)), Vector128.LoadUnsafe(ref py, (nuint)(i + W)), a1);
        }
        if (i <= n - W)
        {
            a0 = MulAdd(Vector128.LoadUnsafe(ref px, (nuint)i), Vector128.LoadUnsafe(ref py, (nuint)i), a0);
            i += W;
        }
        if (i < n)
        {
            Span<float> b = stackalloc float[2 * W];
            a1 = MulAdd(Tail(x, i, b.Slice(0, W)), Tail(y.Slice(0, n), i, b.Slice(W)), a1);
        }
        return Vector128.Sum(a0 + a1);
    }

    /// <summary>Sum of x[i] (NaN/Inf propagate).</summary>
    public static float Sum(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        Vector128<float> a = Vector128<float>.Zero;
        for (; i <= n - W; i += W)
            a += Vector128.LoadUnsafe(ref px, (nuint)i);
        if (i < n)
        {
            Span<float> b = stackalloc float[W];
            a += Tail(x, i, b);
        }
        return Vector128.Sum(a);
    }

    /// <summary>True when no element is NaN or infinite (x * 0 is 0 exactly for finite x).</summary>
    public static bool AllFinite(ReadOnlySpan<float> x)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        Vector128<float> a = Vector128<float>.Zero;
        for (; i <= n - W; i += W)
            a += Vector128.LoadUnsafe(ref px, (nuint)i) * Vector128<float>.Zero;
        if (i < n)
        {
            Span<float> b = stackalloc float[W];
            a += Tail(x, i, b) * Vector128<float>.Zero;
        }
        return a == Vector128<float>.Zero;
    }

    /// <summary>y[i] = alpha x[i] + (accumulate ? y[i] : 0).</summary>
    public static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y, bool accumulate)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        Vector128<float> va = Vector128.Create(alpha);
        for (; i <= n - W; i += W)
        {
            Vector128<float> v = Vector128.LoadUnsafe(ref px, (nuint)i);
            (accumulate ? MulAdd(va, v, Vector128.LoadUnsafe(ref py, (nuint)i)) : va * v).StoreUnsafe(ref py, (nuint)i);
        }
        if (i < n)
        {
            Span<float> b = stackalloc float[2 * W];
            Vector128<float> v = Tail(x, i, b.Slice(0, W));
            Vector128<float> r = accumulate ? MulAdd(va, v, Tail(y.Slice(0, n), i, b.Slice(W))) : va * v;
            r.CopyTo(b);
            b.Slice(0, n - i).CopyTo(y.Slice(i));
        }
    }

    /// <summary>y[i] += x[i].</summary>
    public static void Add(ReadOnlySpan<float> x, Span<float> y)
    {
        int n = x.Length, i = 0;
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        for (; i <= n - W; i += W)
            (Vector128.LoadUnsafe(ref py, (nuint)i) + Vector128.LoadUnsafe(ref px, (nuint)i)).StoreUnsafe(ref py, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref py, i) += Unsafe.Add(ref px, i); // a plain add is the same instruction in every lane
    }

    // ---------------------------------------------------------------- optimizers

    // Each update is one vector block function called for the full blocks and once for a padded tail block.

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MomentumBlock(ref float p, ref float g, ref float m, nuint i, Vector128<float> beta, Vector128<float> negLr)
    {
        Vector128<float> mv = MulAdd(beta, Vector128.LoadUnsafe(ref m, i), negLr * Vector128.LoadUnsafe(ref g, i));
        mv.StoreUnsafe(ref m, i);
        (Vector128.LoadUnsafe(ref p, i) + mv).StoreUnsafe(ref p, i);
    }

    public static void Momentum(Span<float> p, ReadOnlySpan<float> g, Span<float> m, float lr, float beta)
    {
        int n = p.Length, i = 0;
        Vector128<float> vb = Vector128.Create(beta), vl = Vector128.Create(-lr);
        for (; i <= n - W; i += W)
            MomentumBlock(ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g), ref MemoryMarshal.GetReference(m), (nuint)i, vb, vl);
        if (i < n)
        {
            int t = n - i;
            Span<float> b = stackalloc float[3 * W];
            p.Slice(i).CopyTo(b); g.Slice(i, t).CopyTo(b.Slice(W)); m.Slice(i, t).CopyTo(b.Slice(2 * W));
            MomentumBlock(ref b[0], ref b[W], ref b[2 * W], 0, vb, vl);
            b.Slice(0, t).CopyTo(p.Slice(i)); b.Slice(2 * W, t).CopyTo(m.Slice(i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ScaledStepBlock(ref float p, ref float g, ref float h, nuint i, Vector128<float> decay, Vector128<float> gain,
        Vector128<float> lr, Vector128<float> eps)
    {
        // h = decay h + gain g^2; p -= lr g / (sqrt(h) + eps)   (AdaGrad: decay = gain = 1; RMSProp: rho, 1 - rho)
        Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
        Vector128<float> hv = MulAdd(decay, Vector128.LoadUnsafe(ref h, i), gain * (gv * gv));
        hv.StoreUnsafe(ref h, i);
        (Vector128.LoadUnsafe(ref p, i) - lr * gv / (Vector128.Sqrt(hv) + eps)).StoreUnsafe(ref p, i);
    }

    public static void ScaledStep(Span<float> p, ReadOnlySpan<float> g, Span<float> h, float lr, float decay, float gain, float eps)
    {
        int n = p.Length, i = 0;
        Vector128<float> vd = Vector128.Create(decay), vg = Vector128.Create(gain), vl = Vector128.Create(lr), ve = Vector128.Create(eps);
        for (; i <= n - W; i += W)
            ScaledStepBlock(ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g), ref MemoryMarshal.GetReference(h), (nuint)i, vd, vg, vl, ve);
        if (i < n)
        {
            int t = n - i;
            Span<float> b = stackalloc float[3 * W];
            p.Slice(i).CopyTo(b); g.Slice(i, t).CopyTo(b.Slice(W)); h.Slice(i, t).CopyTo(b.Slice(2 * W));
            ScaledStepBlock(ref b[0], ref b[W], ref b[2 * W], 0, vd, vg, vl, ve);
            b.Slice(0, t).CopyTo(p.Slice(i)); b.Slice(2 * W, t).CopyTo(h.Slice(i));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AdamBlock(ref float p, ref float g, ref float m, ref float v, nuint i, in AdamConstants c)
    {
        Vector128<float> gv = Vector128.LoadUnsafe(ref g, i);
        Vector128<float> mv = MulAdd(Vector128.Create(c.Beta1), Vector128.LoadUnsafe(ref m, i), Vector128.Create(c.OneMinusBeta1) * gv);
        Vector128<float> vv = MulAdd(Vector128.Create(c.Beta2), Vector128.LoadUnsafe(ref v, i), Vector128.Create(c.OneMinusBeta2) * (gv * gv));
        mv.StoreUnsafe(ref m, i);
        vv.StoreUnsafe(ref v, i);
        Vector128<float> step = Vector128.Create(c.LearningRate) * (mv * Vector128.Create(c.InverseCorrection1))
            / (Vector128.Sqrt(vv * Vector128.Create(c.InverseCorrection2)) + Vector128.Create(c.Epsilon));
        (Vector128.LoadUnsafe(ref p, i) - step).StoreUnsafe(ref p, i);
    }

    public static void Adam(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, in AdamConstants c)
    {
        int n = p.Length, i = 0;
        for (; i <= n - W; i += W)
            AdamBlock(ref MemoryMarshal.GetReference(p), ref MemoryMarshal.GetReference(g), ref MemoryMarshal.GetReference(m),
                ref MemoryMarshal.GetReference(v), (nuint)i, c);
        if (i < n)
        {
            int t = n - i;
            Span<float> b = stackalloc float[4 * W];
            p.Slice(i).CopyTo(b); g.Slice(i, t).CopyTo(b.Slice(W)); m.Slice(i, t).CopyTo(b.Slice(2 * W)); v.Slice(i, t).CopyTo(b.Slice(3 * W));
            AdamBlock(ref b[0], ref b[W], ref b[2 * W], ref b[3 * W], 0, c);
            b.Slice(0, t).CopyTo(p.Slice(i)); b.Slice(2 * W, t).CopyTo(m.Slice(i)); b.Slice(3 * W, t).CopyTo(v.Slice(i));
        }
    }
}
