namespace FastMlp.Kernels;

/// <summary>
/// The three matrix products of a dense layer, all on row-major contiguous buffers:
/// forward Y = X W^T + b, input gradient dX = dY W, weight gradient dW (+)= dY^T X.
/// W is [outputs x inputs] (the nn.Linear layout); a batch is [rows x features].
/// </summary>
/// <remarks>
/// This is the portable implementation behind the kernel seam: level-1 loops (dot products and
/// axpys over <see cref="VectorOps"/>), with no register blocking. The register-blocked, packed,
/// per-ISA GEMMs replace these bodies without changing the signatures.
/// </remarks>
internal static class Gemm
{
    /// <summary>y[r, o] = b[o] + sum_i x[r, i] * w[o, i].</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs)
    {
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * inputs, inputs);
            Span<float> yr = y.Slice(r * outputs, outputs);
            for (int o = 0; o < outputs; o++)
                yr[o] = b[o] + VectorOps.Dot(xr, w.Slice(o * inputs, inputs));
        }
    }

    /// <summary>dx[r, i] = sum_o dy[r, o] * w[o, i] (overwrites dx).</summary>
    public static void InputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int rows, int inputs, int outputs)
    {
        for (int r = 0; r < rows; r++)
        {
            Span<float> dxr = dx.Slice(r * inputs, inputs);
            dxr.Clear();
            ReadOnlySpan<float> dyr = dy.Slice(r * outputs, outputs);
            for (int o = 0; o < outputs; o++)
            {
                float g = dyr[o];
                if (g != 0f)
                    VectorOps.Axpy(g, w.Slice(o * inputs, inputs), dxr);
            }
        }
    }

    /// <summary>
    /// dw[o, i] = (accumulate ? dw[o, i] : 0) + sum_r dy[r, o] * x[r, i]; db[o] likewise with the
    /// column sums of dy. When accumulate is false neither dw nor db is read, so reused buffers
    /// may hold anything.
    /// </summary>
    public static void WeightGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate)
    {
        if (!accumulate)
        {
            dw.Slice(0, outputs * inputs).Clear();
            db.Slice(0, outputs).Clear();
        }
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * inputs, inputs);
            ReadOnlySpan<float> dyr = dy.Slice(r * outputs, outputs);
            VectorOps.Add(dyr, db);
            for (int o = 0; o < outputs; o++)
            {
                float g = dyr[o];
                if (g != 0f)
                    VectorOps.Axpy(g, xr, dw.Slice(o * inputs, inputs));
            }
        }
    }
}
