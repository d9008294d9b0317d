namespace FastMlp.Kernels;

/// <summary>
/// The three matrix products of a dense layer, all on row-major contiguous buffers:
/// forward Y = X W^T + b, input gradient dX = dY W, weight gradient dW (+)= dY^T X.
/// W is [outputs x inputs] (the nn.Linear layout); a batch is [rows x features].
/// </summary>
/// <remarks>
/// <para>
/// Each public method checks the shapes once and dispatches on <see cref="KernelDispatch.Current"/> to one
/// method per path, in the same order in every file: Avx512 (Gemm.Avx512.cs), Avx2 (Gemm.Avx2.cs),
/// Vector128 (Gemm.Vector128.cs), Neon (Gemm.Neon.cs), Scalar (Gemm.Scalar.cs, the reference). The SIMD
/// paths share two register-blocked drivers (Gemm.Dot.cs, Gemm.Outer.cs; the entry points and the GEMV are in
/// Gemm.Kernels.cs), generic over a small vector-operations struct
/// (<see cref="IGemmSimd{TVec}"/>), so the JIT compiles one specialised copy per path with no virtual calls.
/// </para>
/// <para>
/// Forward (Gemm.Dot.cs) is a dot-product micro-kernel: one vector accumulator per output, reducing along the inputs
/// with vector multiply-adds, then horizontal sums in the tree of the path's <c>Sum</c>. On Avx512 from 24 rows
/// (Gemm.DotWide.cs; its 32 registers hold the tile) the tile is 3 rows of X by 8 rows of W, 24 accumulators, so that each X vector feeds 8
/// multiply-adds; the 8 W rows are copied once per X block into an interleaved panel in the per-thread workspace (one
/// aligned stream from L1), and the 8 sums of a row are reduced together (<c>IGemvSimd.PairSums</c>, <c>FoldLanes</c>).
/// X is swept in blocks of up to 4 MiB (3 vectors per 24 multiply-adds: L2 or L3 keeps up), copied into the workspace
/// only when more than 128 outputs read it; past 1024 inputs the reduction is cut into even chunks of at most 1024 floats
/// (a panel of 32 KiB stays in L1), each tile's 24 accumulators stored in the workspace between chunks and reloaded, which
/// is exact (the bits do not change), and X is then cut in blocks whose chunk fills 512 KiB of L2, always packed; the
/// outputs past the last group of 8 go through the 4-output tile. Otherwise
/// the tile is T.DotRows rows of X by 4 rows of W (4 on Avx512, 3 on Avx2, 2 on the 4-float paths: 16, 12 or 8 vector
/// accumulators), with the four horizontal sums of a row at once (<c>IGemmSimd.Sum4</c>, which adds exactly as the path's
/// <c>Sum</c> does, in a tree each path spells out); W needs no packing because its rows are already contiguous along the
/// reduction. Their rows are processed in blocks whose X panel (about 256 KiB, copied into the per-thread workspace at an
/// aligned stride that is no multiple of 1 KiB) stays in L2 while the W blocks sweep over it; the rows a block leaves
/// over go through 2-row tiles. Rows == 1 (one sample, the latency path) is a GEMV: 8
/// rows of W at a time, one accumulator each, with no packing and no set-up, summing in the batch kernel's order
/// (lane-wise vector chains, <c>Sum</c>, the scalar tail, the bias: neither the tile nor the blocking changes it),
/// so that Predict and a batched Forward agree bitwise.
/// InputGradient and WeightGradient (Gemm.Outer.cs, tiles in Gemm.OuterTiles.cs, packing in Gemm.OuterPacking.cs) are the same outer-product micro-kernel: a TileRows x (2 vectors)
/// tile of the result (TileRows = 8 on Avx512, 6 on Avx2, 4 on the 4-float paths; a static abstract constant of the
/// path struct that the JIT folds), updated by broadcasting TileRows elements of A and loading 2 vectors of a row of
/// W (or X), blocked as BLIS does. The reduction dimension is cut into chunks of a length fixed per path (the B panel,
/// chunk x 2 vectors, is 16 KiB) and the columns into blocks of 512 KiB per chunk; per chunk and column block B is
/// packed once, panel after panel, into the per-thread workspace (contiguous, aligned: read in sequence, no 4 KiB
/// aliasing in L1; skipped when fewer than three tiles share a panel), then A is walked in blocks of about 128 KiB (L2),
/// each packed with each tile's broadcasts adjacent, and each B panel (L1) meets every tile of the block. C tiles that a
/// long chunk adds to are prefetched into L2 before its reduction. One row of A
/// (InputGradient of one sample) has its own kernel, 1 row x 4 vectors, with the same chunks and column tails. On Avx512
/// and Avx2, every input gradient and the weight gradients of up to 256 outputs (or of a chunk of B of at most 64 KiB)
/// go to a kernel without B packing (Gemm.Narrow.cs, tiles in
/// Gemm.NarrowTiles.cs): tiles sized to the accumulators the path leaves free (Avx512: 4-6 rows x 4 vectors, 8 x 3 or up
/// to 10 x 2; Avx2: 4 x 3, 5-6 x 2 or up to 10 x 1) chosen by shape, A broadcast from dy where it lies, B read in place
/// in L2-sized column blocks (on Avx2 copied to a padded stride when its rows are 4 KiB apart), the column tail the
/// masked last vector of the last tile. Each
/// result element is summed over the reduction in order, chunk partials added to it in order, whatever the tile or the
/// kernel, so a block of rows (or of dW's output rows) computed alone equals the whole bitwise.
/// </para>
/// <para>
/// Edges: a partial block of rows or outputs re-reads the last valid row (clamped pointers) and stores only the
/// valid results, so one kernel serves every size; inputs that are not a multiple of the vector width finish with
/// a scalar loop. No path reads an output buffer unless it accumulates, branches on data values, or allocates after
/// a thread's first call: the packed blocks live in a per-thread workspace (Gemm.Workspace.cs) that grows once, and
/// that only one kernel holds at a time (no kernel that holds it calls another that uses it).
/// The methods that hold the hot loops (here, in the element-wise, softmax, loss and optimizer kernels too) are marked
/// <see cref="System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization"/>: the runtime then compiles them
/// fully optimised at their first call instead of running them at tier 0 until call counting promotes them, which made a
/// process's first ~1,500 one-sample predictions of 784-256-128-10 about 15 times slower than the rest (measured on Zen 5:
/// 95-120 us per call for the first 120-140 ms, then 7-9 us; marked, 7-10 us from the third call). Steady-state speed
/// measured the same either way.
/// Fused multiply-add: Avx512, Avx2 and Neon fuse; Vector128 and Scalar multiply then add. Results are exactly
/// reproducible within one path (the summation order depends only on the shapes).
/// </para>
/// </remarks>
internal static partial class Gemm
{
    /// <summary>y[r, o] = b[o] + sum_i x[r, i] * w[o, i]. y is only written.</summary>
    public static void Forward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b,
        Span<float> y, int rows, int inputs, int outputs)
    {
        switch (KernelDispatch.Current)
        {
            case KernelPath.Avx512: ForwardAvx512(x, w, b, y, rows, inputs, outputs); break;
            case KernelPath.Avx2: ForwardAvx2(x, w, b, y, rows, inputs, outputs); break;
            case KernelPath.Vector128: ForwardVector128(x, w, b, y, rows, inputs, outputs); break;
            case KernelPath.Neon: ForwardNeon(x, w, b, y, rows, inputs, outputs); break;
            default: ForwardScalar(x, w, b, y, rows, inputs, outputs); break;
        }
    }

    /// <summary>dx[r, i] = sum_o dy[r, o] * w[o, i] (overwrites dx, never reads it).</summary>
    public static void InputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx,
        int rows, int inputs, int outputs)
    {
        switch (KernelDispatch.Current)
        {
            case KernelPath.Avx512: InputGradientAvx512(dy, w, dx, rows, inputs, outputs); break;
            case KernelPath.Avx2: InputGradientAvx2(dy, w, dx, rows, inputs, outputs); break;
            case KernelPath.Vector128: InputGradientVector128(dy, w, dx, rows, inputs, outputs); break;
            case KernelPath.Neon: InputGradientNeon(dy, w, dx, rows, inputs, outputs); break;
            default: InputGradientScalar(dy, w, dx, rows, inputs, outputs); break;
        }
    }

    /// <summary>
    /// dw[o, i] = (accumulate ? dw[o, i] : 0) + sum_r dy[r, o] * x[r, i]; db[o] likewise with the
    /// column sums of dy. When accumulate is false neither dw nor db is read, so reused buffers
    /// may hold anything. Row r of dy starts at r * <paramref name="dyStride"/> (0: <paramref name="outputs"/>), so a
    /// block of output rows of a layer's dw is computed from a column block of its dy; each element is summed over
    /// the rows in the same order whatever the block, so blocks computed apart equal the whole bitwise.
    /// </summary>
    public static void WeightGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw,
        Span<float> db, int rows, int inputs, int outputs, bool accumulate, int dyStride = 0)
    {
        switch (KernelDispatch.Current)
        {
            case KernelPath.Avx512: WeightGradientAvx512(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride); break;
            case KernelPath.Avx2: WeightGradientAvx2(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride); break;
            case KernelPath.Vector128: WeightGradientVector128(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride); break;
            case KernelPath.Neon: WeightGradientNeon(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride); break;
            default: WeightGradientScalar(dy, x, dw, db, rows, inputs, outputs, accumulate, dyStride); break;
        }
    }

    private static void CheckForward(ReadOnlySpan<float> x, ReadOnlySpan<float> w, ReadOnlySpan<float> b, Span<float> y, int rows, int inputs, int outputs)
    {
        CheckDims(rows, inputs, outputs);
        CheckLength(x.Length, (long)rows * inputs, nameof(x));
        CheckLength(w.Length, (long)outputs * inputs, nameof(w));
        CheckLength(b.Length, outputs, nameof(b));
        CheckLength(y.Length, (long)rows * outputs, nameof(y));
    }

    private static void CheckInputGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> w, Span<float> dx, int rows, int inputs, int outputs)
    {
        CheckDims(rows, inputs, outputs);
        CheckLength(dy.Length, (long)rows * outputs, nameof(dy));
        CheckLength(w.Length, (long)outputs * inputs, nameof(w));
        CheckLength(dx.Length, (long)rows * inputs, nameof(dx));
    }

    /// <summary>Checks the shapes and returns the row stride of dy (<paramref name="dyStride"/>, or outputs when 0).</summary>
    private static int CheckWeightGradient(ReadOnlySpan<float> dy, ReadOnlySpan<float> x, Span<float> dw, Span<float> db, int rows, int inputs, int outputs, int dyStride)
    {
        CheckDims(rows, inputs, outputs);
        if (dyStride == 0) dyStride = outputs;
        if (dyStride < outputs)
            throw new ArgumentOutOfRangeException(nameof(dyStride), dyStride, $"The row stride of dy must be at least its {outputs} columns.");
        CheckLength(dy.Length, rows == 0 ? 0 : (long)(rows - 1) * dyStride + outputs, nameof(dy));
        CheckLength(x.Length, (long)rows * inputs, nameof(x));
        CheckLength(dw.Length, (long)outputs * inputs, nameof(dw));
        CheckLength(db.Length, outputs, nameof(db));
        return dyStride;
    }

    private static void CheckDims(int rows, int inputs, int outputs)
    {
        if (rows < 0 || inputs < 0 || outputs < 0)
            ThrowDims(rows, inputs, outputs);
    }

    private static void CheckLength(int length, long needed, string name)
    {
        if (length < needed)
            ThrowLength(length, needed, name);
    }

    private static void ThrowDims(int rows, int inputs, int outputs) =>
        throw new ArgumentOutOfRangeException(nameof(rows), $"GEMM dimensions must not be negative: rows {rows}, inputs {inputs}, outputs {outputs}.");

    private static void ThrowLength(int length, long needed, string name) =>
        throw new ArgumentException($"The buffer '{name}' holds {length} floats; the shape needs {needed}.", name);
}
