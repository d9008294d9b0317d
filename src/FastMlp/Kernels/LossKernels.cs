namespace FastMlp.Kernels;

/// <summary>
/// Loss value and output sensitivity delta^M = dJ/du^M for a block of rows, in one pass over the
/// output layer. Logits are the output pre-activations u; y = f(u). The per-element terms are summed
/// in double; the normalizer argument (see <see cref="Losses"/>) scales delta so that it is the
/// gradient of the normalised J, and the caller scales the returned sum the same way.
/// </summary>
internal static class LossKernels
{
    /// <summary>The summed loss of the rows and their delta, on the current kernel path.</summary>
    public static double LossAndDelta(LossKind loss, Activation output, ReadOnlySpan<float> logits, ReadOnlySpan<float> y,
        Targets targets, Span<float> delta, int rows, int width, double normalizer) =>
        LossAndDelta(KernelDispatch.Current, loss, output, logits, y, targets, delta, rows, width, normalizer);

    /// <summary>
    /// <see cref="LossAndDelta(LossKind, Activation, ReadOnlySpan{float}, ReadOnlySpan{float}, Targets, Span{float}, int, int, double)"/>
    /// on the given path: categorical cross-entropy runs the vector kernels of <see cref="CrossEntropyKernels"/> (delta bitwise
    /// this method's scalar one); everything else, and every loss on <see cref="KernelPath.Scalar"/>, the scalar loop below.
    /// </summary>
    internal static double LossAndDelta(KernelPath path, LossKind loss, Activation output, ReadOnlySpan<float> logits, ReadOnlySpan<float> y,
        Targets targets, Span<float> delta, int rows, int width, double normalizer)
    {
        double sum = 0;
        float scale = (float)normalizer;
        if (loss == LossKind.CategoricalCrossEntropy && path != KernelPath.Scalar && CrossEntropyKernels.Handles(targets, width))
            return CrossEntropyKernels.LossAndDelta(path, logits, y, targets, delta, rows, width, scale);
        for (int r = 0; r < rows; r++)
        {
            int o = r * width;
            switch (loss)
            {
                case LossKind.CategoricalCrossEntropy:
                {
                    // J_n = sum_j d_j (logsumexp(u) - u_j); dJ/du_j = y_j sum_k d_k - d_j (= y - d for one-hot rows).
                    double lse = LogSumExp(logits.Slice(o, width));
                    float dsum = 0f;
                    for (int j = 0; j < width; j++)
                    {
                        float d = targets.Value(r, j, width);
                        dsum += d;
                        if (d != 0f) sum += d * (lse - logits[o + j]);
                    }
                    for (int j = 0; j < width; j++)
                        delta[o + j] = scale * (y[o + j] * dsum - targets.Value(r, j, width));
                    break;
                }
                case LossKind.BinaryCrossEntropy:
                    for (int j = 0; j < width; j++)
                    {
                        // -[d ln s(u) + (1-d) ln(1-s(u))] = max(u,0) - u d + ln(1 + e^-|u|): no ln(0) for any u.
                        double u = logits[o + j];
                        float d = targets.Value(r, j, width);
                        sum += Math.Max(u, 0) - u * d + Math.Log(1 + Math.Exp(-Math.Abs(u)));
                        delta[o + j] = scale * (y[o + j] - d);
                    }
                    break;
                default:
                    for (int j = 0; j < width; j++)
                    {
                        float e = targets.Value(r, j, width) - y[o + j];
                        sum += (double)e * e;
                        delta[o + j] = -2f * scale * e;
                    }
                    if (output.Kind == ActivationKind.Softmax)
                        SoftmaxJacobianTimes(y.Slice(o, width), delta.Slice(o, width));
                    break;
            }
        }
        if (loss == LossKind.MeanSquaredError && output.Kind != ActivationKind.Softmax)
            ActivationKernels.MultiplyDerivative(output, y.Slice(0, rows * width), delta.Slice(0, rows * width));
        return sum;
    }

    /// <summary>The summed per-element loss without a gradient (validation, line searches).</summary>
    public static double LossOnly(LossKind loss, ReadOnlySpan<float> logits, ReadOnlySpan<float> y, Targets targets, int rows, int width) =>
        LossOnly(KernelDispatch.Current, loss, logits, y, targets, rows, width);

    /// <summary>The summed loss on the given path (categorical cross-entropy vectorised as in <see cref="LossAndDelta(KernelPath, LossKind, Activation, ReadOnlySpan{float}, ReadOnlySpan{float}, Targets, Span{float}, int, int, double)"/>).</summary>
    internal static double LossOnly(KernelPath path, LossKind loss, ReadOnlySpan<float> logits, ReadOnlySpan<float> y, Targets targets, int rows, int width)
    {
        if (loss == LossKind.CategoricalCrossEntropy && path != KernelPath.Scalar && CrossEntropyKernels.Handles(targets, width))
            return CrossEntropyKernels.LossOnly(path, logits, targets, rows, width);
        double sum = 0;
        for (int r = 0; r < rows; r++)
        {
            int o = r * width;
            if (loss == LossKind.CategoricalCrossEntropy)
            {
                double lse = LogSumExp(logits.Slice(o, width));
                for (int j = 0; j < width; j++)
                {
                    float d = targets.Value(r, j, width);
                    if (d != 0f) sum += d * (lse - logits[o + j]);
                }
            }
            else if (loss == LossKind.BinaryCrossEntropy)
            {
                for (int j = 0; j < width; j++)
                {
                    double u = logits[o + j];
                    sum += Math.Max(u, 0) - u * targets.Value(r, j, width) + Math.Log(1 + Math.Exp(-Math.Abs(u)));
                }
            }
            else
            {
                for (int j = 0; j < width; j++)
                {
                    double e = targets.Value(r, j, width) - y[o + j];
                    sum += e * e;
                }
            }
        }
        return sum;
    }

    private static double LogSumExp(ReadOnlySpan<float> u)
    {
        float max = float.NegativeInfinity;
        foreach (float v in u) max = MathF.Max(max, v);
        if (float.IsInfinity(max)) return max; // +Inf logits: logsumexp is +Inf, not Inf - Inf = NaN
        double s = 0;
        foreach (float v in u) s += Math.Exp(v - max);
        return max + Math.Log(s);
    }

    /// <summary>g := J_softmax^T g = y (g - (g . y)) for one row: the softmax Jacobian applied to an output gradient.</summary>
    private static void SoftmaxJacobianTimes(ReadOnlySpan<float> y, Span<float> g)
    {
        float dot = VectorOps.Dot(g, y);
        for (int j = 0; j < g.Length; j++)
            g[j] = y[j] * (g[j] - dot);
    }
}
