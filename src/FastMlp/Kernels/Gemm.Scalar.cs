namespace FastMlp.Kernels;

internal static partial class Gemm
{
    /// <summary>Scalar reference of <see cref="Forward"/>: one dot product per output, in input order.</summary>
    internal static void ForwardScalar(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs)
    {
        CheckForward(x, w, b, y, rows, inputs, outputs);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * inputs, inputs);
            for (int o = 0; o < outputs; o++)
            {
                ReadOnlySpan<float> wo = w.Slice(o * inputs, inputs);
                float sum = 0f;
                for (int i = 0; i < inputs; i++)
                    sum += xr[i] * wo[i];
                y[r * outputs + o] = b[o] + sum;
            }
        }
    }

    /// <summary>Scalar reference of <see cref="InputGradient"/>.</summary>
    internal static void InputGradientScalar(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int rows, int inputs, int outputs)
    {
        CheckInputGradient(dy, w, dx, rows, inputs, outputs);
        for (int r = 0; r < rows; r++)
        {
            Span<float> dxr = dx.Slice(r * inputs, inputs);
            dxr.Clear();
            for (int o = 0; o < outputs; o++)
            {
                float g = dy[r * outputs + o];
                ReadOnlySpan<float> wo = w.Slice(o * inputs, inputs);
                for (int i = 0; i < inputs; i++)
                    dxr[i] += g * wo[i];
            }
        }
    }

    /// <summary>Scalar reference of <see cref="WeightGradient"/>: each dw[o, i] summed over the rows in a register.</summary>
    internal static void WeightGradientScalar(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate, int dyStride = 0)
    {
        dyStride = CheckWeightGradient(dy, x, dw, db, rows, inputs, outputs, dyStride);
        for (int o = 0; o < outputs; o++)
        {
            for (int i = 0; i < inputs; i++)
            {
                float sum = 0f;
                for (int r = 0; r < rows; r++)
                    sum += dy[r * dyStride + o] * x[r * inputs + i];
                dw[o * inputs + i] = accumulate ? dw[o * inputs + i] + sum : sum;
            }
            float bsum = 0f;
            for (int r = 0; r < rows; r++)
                bsum += dy[r * dyStride + o];
            db[o] = accumulate ? db[o] + bsum : bsum;
        }
    }
}
