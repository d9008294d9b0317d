using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace FastMlp.Kernels;

/// <summary>
/// Categorical cross-entropy on the vector paths: per row, the log-sum-exp of the logits, the loss term and the
/// sensitivity delta = scale (y sum(d) - d) in one pass over the row, vectorised with the GEMM path structs; label rows of
/// at most 16 logits a vector of rows at a time, the rows along the lanes (<see cref="ColumnLogSumExps"/>).
/// </summary>
/// <remarks>
/// <para>
/// Delta is bitwise the scalar reference's (<see cref="LossKernels"/> on <see cref="KernelPath.Scalar"/>): the same three
/// float operations per element (multiply by sum(d), subtract d, multiply by scale), never fused, lane for lane, and
/// sum(d) added in the same order. Labels are one-hot rows: d is 0 except at the label, whose element is patched after
/// the vector pass, so no target row is ever materialised.
/// </para>
/// <para>
/// The loss differs from the reference only in the exponentials of the log-sum-exp: max(u) is subtracted as before, but
/// e^(u - max) is the float vector exponential of the element-wise kernels (within about 1 ulp of float) instead of
/// Math.Exp in double; the terms are still summed in double, in order, and the logarithm taken in double. Each term is
/// at most 1 and one of them is exactly 1, so the sum's relative error, and the absolute error of the row's loss, stay
/// within a few float ulps of 1 (about 1e-7), far below the float rounding of the logits themselves.
/// </para>
/// </remarks>
internal static class CrossEntropyKernels
{
    /// <summary>The summed loss of the rows, and delta; <paramref name="path"/> is a vector path.</summary>
    internal static double LossAndDelta(KernelPath path, ReadOnlySpan<float> logits, ReadOnlySpan<float> y, Targets targets,
        Span<float> delta, int rows, int width, float scale) => path switch
        {
            KernelPath.Avx512 => LossAndDelta<Avx512GemmSimd, Vector512<float>>(logits, y, targets, delta, rows, width, scale),
            KernelPath.Avx2 => LossAndDelta<Avx2GemmSimd, Vector256<float>>(logits, y, targets, delta, rows, width, scale),
            KernelPath.Vector128 => LossAndDelta<Vector128GemmSimd, Vector128<float>>(logits, y, targets, delta, rows, width, scale),
            KernelPath.Neon => LossAndDelta<NeonGemmSimd, Vector128<float>>(logits, y, targets, delta, rows, width, scale),
            _ => throw new ArgumentOutOfRangeException(nameof(path), path, "Not a vector path."),
        };

    /// <summary>The summed loss of the rows without a gradient; <paramref name="path"/> is a vector path.</summary>
    internal static double LossOnly(KernelPath path, ReadOnlySpan<float> logits, Targets targets, int rows, int width) => path switch
    {
        KernelPath.Avx512 => LossOnly<Avx512GemmSimd, Vector512<float>>(logits, targets, rows, width),
        KernelPath.Avx2 => LossOnly<Avx2GemmSimd, Vector256<float>>(logits, targets, rows, width),
        KernelPath.Vector128 => LossOnly<Vector128GemmSimd, Vector128<float>>(logits, targets, rows, width),
        KernelPath.Neon => LossOnly<NeonGemmSimd, Vector128<float>>(logits, targets, rows, width),
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "Not a vector path."),
    };

    /// <summary>Whether these targets take the vector kernels: a label on one output is a 0/1 value, not a class (left to the reference).</summary>
    internal static bool Handles(Targets targets, int width) => width > 1 || !targets.IsLabels;

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double LossAndDelta<T, TVec>(ReadOnlySpan<float> logits, ReadOnlySpan<float> y, Targets targets, Span<float> delta,
        int rows, int width, float scale)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        Span<float> scratch = stackalloc float[T.Width];
        Span<double> maxima = stackalloc double[LogBlock], lses = stackalloc double[LogBlock];
        double sum = 0;
        int r = 0;
        if (UseColumns<T, TVec>(targets, rows, width))
        {
            Span<float> columns = stackalloc float[(ColumnsMaxWidth + 1) * T.Width];
            Span<double> blockLses = stackalloc double[T.Width];
            for (; r <= rows - T.Width; r += T.Width)
                sum = ColumnsLossAndDelta<T, TVec>(sum, logits, y, targets.Labels, delta, r, width, scale, columns, blockLses);
        }
        // The rows left (all of them when the columns do not apply), a row at a time, their logarithms 8 at a time.
        for (int start = r; r < rows; r++)
        {
            int o = r * width;
            ReadOnlySpan<float> u = logits.Slice(o, width);
            if ((r - start) % LogBlock == 0)
                LogSumExps<T, TVec>(logits, r, Math.Min(LogBlock, rows - r), width, maxima, lses, scratch);
            double lse = lses[(r - start) % LogBlock];
            ReadOnlySpan<float> d;
            float dsum;
            int label = -1;
            if (targets.IsLabels)
            {
                // One-hot: sum(d) is 1 (0 for a label outside the row, whose d is all zeros), one loss term.
                label = (uint)targets.Labels[r] < (uint)width ? targets.Labels[r] : -1;
                dsum = label >= 0 ? 1f : 0f;
                if (label >= 0) sum += lse - u[label];
                d = default;
            }
            else
            {
                d = targets.Dense.Slice(o, width);
                dsum = 0f;
                for (int j = 0; j < width; j++)
                {
                    dsum += d[j];
                    if (d[j] != 0f) sum += d[j] * (lse - u[j]);
                }
            }
            Span<float> deltaRow = delta.Slice(o, width);
            ReadOnlySpan<float> yRow = y.Slice(o, width);
            Delta<T, TVec>(yRow, d, deltaRow, dsum, scale);
            if (label >= 0)
                deltaRow[label] = scale * (yRow[label] * dsum - 1f);
        }
        return sum;
    }

    [SkipLocalsInit]
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double LossOnly<T, TVec>(ReadOnlySpan<float> logits, Targets targets, int rows, int width)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        Span<float> scratch = stackalloc float[T.Width];
        Span<double> maxima = stackalloc double[LogBlock], lses = stackalloc double[LogBlock];
        double sum = 0;
        int r = 0;
        if (UseColumns<T, TVec>(targets, rows, width))
        {
            Span<float> columns = stackalloc float[(ColumnsMaxWidth + 1) * T.Width];
            Span<double> blockLses = stackalloc double[T.Width];
            for (; r <= rows - T.Width; r += T.Width)
            {
                ColumnLogSumExps<T, TVec>(logits, r, width, columns, blockLses);
                sum = ColumnsLoss(sum, logits, targets.Labels, r, width, blockLses);
            }
        }
        for (int start = r; r < rows; r++)
        {
            int o = r * width;
            ReadOnlySpan<float> u = logits.Slice(o, width);
            if ((r - start) % LogBlock == 0)
                LogSumExps<T, TVec>(logits, r, Math.Min(LogBlock, rows - r), width, maxima, lses, scratch);
            double lse = lses[(r - start) % LogBlock];
            if (targets.IsLabels)
            {
                int label = targets.Labels[r];
                if ((uint)label < (uint)width) sum += lse - u[label];
                continue;
            }
            ReadOnlySpan<float> d = targets.Dense.Slice(o, width);
            for (int j = 0; j < width; j++)
                if (d[j] != 0f) sum += d[j] * (lse - u[j]);
        }
        return sum;
    }

    /// <summary>Rows of at most this many logits go through <see cref="ColumnLogSumExps"/> (a block's columns and maxima on the
    /// stack: (this + 1) x T.Width floats).</summary>
    private const int ColumnsMaxWidth = 16;

    /// <summary>Whether whole blocks of T.Width rows go through <see cref="ColumnsLossAndDelta"/>: labels (one loss term a row)
    /// on rows of at most <see cref="ColumnsMaxWidth"/> logits, where a row's own vector work is mostly its tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool UseColumns<T, TVec>(Targets targets, int rows, int width) where T : struct, IGemvSimd<TVec> where TVec : struct =>
        targets.IsLabels && width <= ColumnsMaxWidth && rows >= T.Width;

    /// <summary>
    /// sum plus the loss terms, and delta, of rows r0..r0+T.Width-1 (labels): their log-sum-exps as columns (<see cref="ColumnLogSumExps"/>),
    /// the loss terms added in row order, and delta as the row path gives it: scale (y dsum - d) over the whole block at once
    /// with dsum = 1 (its rows are contiguous), a row whose label is outside it redone with dsum = 0, then each label patched.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double ColumnsLossAndDelta<T, TVec>(double sum, ReadOnlySpan<float> logits, ReadOnlySpan<float> y, ReadOnlySpan<int> labels,
        Span<float> delta, int r0, int width, float scale, Span<float> columns, Span<double> lses)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        ColumnLogSumExps<T, TVec>(logits, r0, width, columns, lses);
        sum = ColumnsLoss(sum, logits, labels, r0, width, lses);
        int rows = T.Width, o = r0 * width;
        Delta<T, TVec>(y.Slice(o, rows * width), default, delta.Slice(o, rows * width), 1f, scale);
        for (int i = 0; i < rows; i++, o += width)
        {
            int label = labels[r0 + i];
            if ((uint)label < (uint)width)
                delta[o + label] = scale * (y[o + label] * 1f - 1f);
            else
                Delta<T, TVec>(y.Slice(o, width), default, delta.Slice(o, width), 0f, scale);
        }
        return sum;
    }

    /// <summary>sum plus the loss terms lse - u[label] of rows r0..r0+lses.Length-1, one after the other in row order (the row
    /// path's additions; a label outside its row adds nothing).</summary>
    private static double ColumnsLoss(double sum, ReadOnlySpan<float> logits, ReadOnlySpan<int> labels, int r0, int width, ReadOnlySpan<double> lses)
    {
        for (int i = 0; i < lses.Length; i++)
        {
            int label = labels[r0 + i];
            if ((uint)label < (uint)width)
                sum += lses[i] - logits[(r0 + i) * width + label];
        }
        return sum;
    }

    /// <summary>
    /// lse[i] = ln sum_j e^(u_j) of rows r0..r0+T.Width-1 with the rows along the lanes: the block's logits copied transposed
    /// into <paramref name="columns"/> (logit j of every row in one vector), the maxima a vector <see cref="IGemvSimd{TVec}.Max"/>
    /// at a time, each column's exponentials in one vector, then each row's terms summed in double in order, and the
    /// logarithms. Every value is the one <see cref="MaxAndExpSum"/> and <see cref="LogSumExps"/> give the row (the same
    /// maximum, whatever the order it is taken in; the same vector exponential lane by lane; the same sums), so a row's loss
    /// does not depend on the block it falls in. A row of 3 logits spent most of its time in its own maximum and the
    /// exponential of one mostly empty vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ColumnLogSumExps<T, TVec>(ReadOnlySpan<float> logits, int r0, int width, Span<float> columns, Span<double> lses)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        int rows = T.Width;
        ref float pu = ref MemoryMarshal.GetReference(logits.Slice(r0 * width, rows * width));
        ref float pc = ref MemoryMarshal.GetReference(columns);
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < width; j++)
                Unsafe.Add(ref pc, j * rows + i) = Unsafe.Add(ref pu, i * width + j);
        TVec max = T.Load(ref pc);
        for (int j = 1; j < width; j++)
            max = T.Max(max, T.Load(ref Unsafe.Add(ref pc, j * rows)));
        // -max exactly (the row path adds the negated float maximum).
        TVec negMax = T.Multiply(max, T.Splat(-1f));
        for (int j = 0; j < width; j++)
        {
            ref float cj = ref Unsafe.Add(ref pc, j * rows);
            T.Store(T.Apply(new ExpOp(), T.Add(T.Load(ref cj), negMax)), ref cj);
        }
        // The maxima after the columns (the buffer holds one vector more than the widest block's columns).
        ref float pm = ref Unsafe.Add(ref pc, width * rows);
        T.Store(max, ref pm);
        for (int i = 0; i < rows; i++)
        {
            // An infinite maximum gives a sum of 1, as in the row path: the log-sum-exp is the maximum itself.
            double s = 1;
            if (!float.IsInfinity(Unsafe.Add(ref pm, i)))
            {
                s = 0;
                for (int j = 0; j < width; j++)
                    s += Unsafe.Add(ref pc, j * rows + i);
            }
            lses[i] = s;
        }
        for (int i = 0; i < rows; i++)
            lses[i] = Unsafe.Add(ref pm, i) + Math.Log(lses[i]);
    }

    /// <summary>Rows whose log-sum-exps <see cref="LogSumExps"/> computes together.</summary>
    private const int LogBlock = 8;

    /// <summary>
    /// lse[i] = ln sum_j e^(u_j) of rows r0..r0+count-1 (count &lt;= <see cref="LogBlock"/>): each row's maximum and sum of
    /// exponentials (<see cref="MaxAndExpSum"/>), then the logarithms one after the other. Math.Log is a call: taken row by
    /// row between the vector work it waited on its own latency and made the JIT keep the row loop's values in memory
    /// around it (a row of 3 logits took 31 ns, 16 without the logarithm); in a run of 8 the calls overlap.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LogSumExps<T, TVec>(ReadOnlySpan<float> logits, int r0, int count, int width, Span<double> maxima,
        Span<double> lse, Span<float> scratch)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        for (int i = 0; i < count; i++)
            lse[i] = MaxAndExpSum<T, TVec>(logits.Slice((r0 + i) * width, width), scratch, out maxima[i]);
        for (int i = 0; i < count; i++)
            lse[i] = maxima[i] + Math.Log(lse[i]);
    }

    /// <summary>
    /// sum_j e^(u_j - max) and (out) max, so that ln sum_j e^(u_j) = max + ln of the result: the exponentials a vector at a
    /// time (the tail through <paramref name="scratch"/>, one vector long), summed in double in order. An infinite max
    /// gives 1 (ln 1 = 0: the log-sum-exp is the max itself, as in the reference).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static double MaxAndExpSum<T, TVec>(ReadOnlySpan<float> u, Span<float> scratch, out double maximum)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        // The maximum as the reference takes it (MathF.Max propagates NaN: a NaN row gives a NaN loss), in four chains: the
        // maximum of floats does not depend on the order, and one chain of MathF.Max (about 10 cycles each with its NaN and
        // signed-zero handling) took half of a 100-logit row.
        float m0 = float.NegativeInfinity, m1 = m0, m2 = m0, m3 = m0;
        int n4 = u.Length - u.Length % 4;
        for (int k = 0; k < n4; k += 4)
        {
            m0 = MathF.Max(m0, u[k]); m1 = MathF.Max(m1, u[k + 1]);
            m2 = MathF.Max(m2, u[k + 2]); m3 = MathF.Max(m3, u[k + 3]);
        }
        for (int k = n4; k < u.Length; k++) m0 = MathF.Max(m0, u[k]);
        float max = MathF.Max(MathF.Max(m0, m1), MathF.Max(m2, m3));
        maximum = max;
        if (float.IsInfinity(max)) return 1;
        int width = T.Width, n = u.Length, j = 0;
        TVec negMax = T.Splat(-max);
        ref float pu = ref MemoryMarshal.GetReference(u);
        ref float ps = ref MemoryMarshal.GetReference(scratch);
        double s = 0;
        for (; j <= n - width; j += width)
        {
            // u + (-max) is u - max bit for bit (IEEE subtraction is the addition of the negation).
            T.Store(T.Apply(new ExpOp(), T.Add(T.Load(ref Unsafe.Add(ref pu, j)), negMax)), ref ps);
            for (int k = 0; k < width; k++) s += Unsafe.Add(ref ps, k);
        }
        if (j < n)
        {
            // The tail by a masked load (zeros past it, never summed): a copy through the scratch would be a call, across which
            // the JIT keeps s on the stack, stored and reloaded at every addition (Avx512, 100 logits: 501 ns a row).
            T.Store(T.Apply(new ExpOp(), T.Add(T.LoadFirst(ref Unsafe.Add(ref pu, j), n - j), negMax)), ref ps);
            for (int k = 0; k < n - j; k++) s += Unsafe.Add(ref ps, k);
        }
        return s;
    }

    /// <summary>delta = scale (y dsum - d) element-wise (d empty: all zeros), the reference's operations in its order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Delta<T, TVec>(ReadOnlySpan<float> y, ReadOnlySpan<float> d, Span<float> delta, float dsum, float scale)
        where T : struct, IGemvSimd<TVec> where TVec : struct
    {
        int width = T.Width, n = delta.Length, j = 0;
        bool dense = !d.IsEmpty;
        TVec vs = T.Splat(scale), vd = T.Splat(dsum);
        ref float py = ref MemoryMarshal.GetReference(y);
        ref float pd = ref MemoryMarshal.GetReference(d);
        ref float pdelta = ref MemoryMarshal.GetReference(delta);
        for (; j <= n - width; j += width)
        {
            TVec target = dense ? T.Load(ref Unsafe.Add(ref pd, j)) : T.Zero;
            T.Store(T.Multiply(vs, T.Subtract(T.Multiply(T.Load(ref Unsafe.Add(ref py, j)), vd), target)), ref Unsafe.Add(ref pdelta, j));
        }
        for (; j < n; j++)
            Unsafe.Add(ref pdelta, j) = scale * (Unsafe.Add(ref py, j) * dsum - (dense ? Unsafe.Add(ref pd, j) : 0f));
    }
}
