using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// The narrow outer product of the Avx512 and Avx2 paths (Gemm.Narrow.cs) against the tiled kernel it stands in for: the same
/// bits for every shape, whichever kernel the shape selects, so that blocks of rows or of dW outputs may go to either. Shapes
/// around its tiles (Avx512: 4-6 rows x 4 vectors, 8 x 3, up to 10 x 2; Avx2: 4 x 3, 5-6 x 2, 8-10 x 1; a last tile of the
/// vectors left, its last vector masked where a column tail ends it; weight gradients of at most 4 columns with the
/// outputs along the lanes), reduction chunks (128 on Avx512, 256 on Avx2) and the thresholds of its selection (with adjacent A values,
/// 256 rows of C or a B chunk of 64 KiB). Each path is checked where the CPU has it.
/// </summary>
public class NarrowOuterTests
{
    /// <summary>The paths with a narrow kernel that this CPU runs.</summary>
    private static IEnumerable<KernelPath> NarrowPaths =>
        new[] { KernelPath.Avx512, KernelPath.Avx2 }.Where(KernelDispatch.IsSupported);

    private static float[] Random(int n, int seed) => FusedForwardTests.Random(n, seed);

    private static float[] Garbage(int n) => Enumerable.Repeat(float.NaN, n).ToArray();

    /// <summary>(M, N, P) of C [M x N] = A [M x P] B [P x N].</summary>
    private static IEnumerable<(int M, int N, int P)> Shapes()
    {
        foreach (int m in new[] { 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 23, 31, 32, 33, 41, 64, 65 })
            foreach (int n in new[] { 1, 2, 3, 4, 10, 15, 16, 17, 32, 37, 47, 48, 63, 64, 65, 80, 100, 112, 129 })
                foreach (int p in new[] { 1, 10, 33 })
                    yield return (m, n, p);
        // Reductions across one and two chunk boundaries (Avx512, then Avx2), and tall C.
        foreach (int p in new[] { 127, 128, 129, 255, 256, 257, 300, 513 })
        {
            yield return (10, 37, p);
            // Weight gradients of at most 4 inputs take their own kernel (outputs along the lanes, Gemm.FewColumns.cs):
            // blocks of 2 vectors of outputs, one, and a partial one, over several chunks.
            yield return (70, 4, p);
            yield return (41, 3, p);
            yield return (19, 64, p);
            yield return (32, 100, p);
        }
        // 8 x 3 tiles (12 or more vectors of columns, short reductions), with 2- and 1-vector tiles and a tail after them.
        yield return (32, 1024, 10);
        yield return (24, 250, 7);
        yield return (33, 215, 10);
        yield return (17, 192, 12);
        yield return (256, 32, 10);
        yield return (257, 65, 31);
        yield return (100, 300, 20);
        // B rows 4 KiB apart with more than 16 steps: Avx2 copies the B block to a padded stride.
        yield return (20, 1024, 33);
        yield return (7, 2048, 300);
        // Rank-1 products (one sample's dW) either side of the column-major limit (C of 48 KiB on Avx512, 24 KiB on Avx2),
        // with single vectors and a tail after the 4-vector groups.
        foreach (var (m, n) in new[] { (96, 64), (96, 65), (64, 192), (64, 193), (96, 129), (300, 101), (1000, 77), (130, 1030) })
            yield return (m, n, 1);
    }

    [Fact]
    public void Narrow_kernel_equals_the_tiled_kernel_bitwise_in_both_layouts()
    {
        foreach (KernelPath path in NarrowPaths)
        {
            int seed = 1000;
            foreach (bool accumulate in new[] { false, true })
                foreach (var (m, n, p) in Shapes())
                {
                    float[] b = Random(p * n, ++seed), c0 = accumulate ? Random(m * n, ++seed) : Garbage(m * n);
                    // InputGradient's layout: A(m, p) = a[m * P + p]; WeightGradient's: A(m, p) = a[p * stride + m], here with a
                    // stride wider than M (a column block of a wider dy).
                    float[] rowMajor = Random(m * p, ++seed);
                    int stride = m + 3;
                    float[] columnMajor = Random((p - 1) * stride + m, ++seed);
                    foreach (var (a, sm, sp, layout) in new[] { (rowMajor, p, 1, "strided"), (columnMajor, 1, stride, "adjacent") })
                    {
                        float[] tiled = (float[])c0.Clone(), narrow = (float[])c0.Clone();
                        Gemm.OuterNarrowOrTiled(path, false, a, sm, sp, b, tiled, m, n, p, accumulate);
                        Gemm.OuterNarrowOrTiled(path, true, a, sm, sp, b, narrow, m, n, p, accumulate);
                        FusedForwardTests.AssertBitwise(tiled, narrow, $"{path} {m}x{n}x{p} {layout} accumulate={accumulate}");
                    }
                }
        }
    }

    [Fact]
    public void Gradients_at_the_selection_thresholds_equal_the_tiled_kernel_bitwise()
    {
        // (rows, inputs, outputs). InputGradient (M = rows, N = inputs, P = outputs) always takes the narrow kernel; its
        // column blocks of 256 KiB are 512 columns on Avx512, 256 on Avx2. WeightGradient: M = outputs, N = inputs, P = rows;
        // narrow up to 256 outputs, or for a B chunk of at most 64 KiB (128 x 128 on Avx512, 256 x 64 on Avx2).
        var shapes = new[]
        {
            (40, 512, 200), (40, 513, 200), (17, 600, 130), (16, 600, 130),
            (200, 128, 40), (200, 129, 40), (130, 300, 16), (130, 300, 17), (256, 64, 32), (256, 1024, 10), (1, 784, 20),
            (40, 256, 300), (40, 257, 300), (300, 64, 40), (300, 65, 40), (256, 32, 32),
            (128, 200, 256), (128, 200, 257), (130, 128, 300), (260, 64, 300), (260, 65, 300),
        };
        foreach (KernelPath path in NarrowPaths)
        {
            int seed = 2000;
            foreach (var (rows, inputs, outputs) in shapes)
            {
                float[] dy = Random(rows * outputs, ++seed), w = Random(outputs * inputs, ++seed), x = Random(rows * inputs, ++seed);
                float[] dx = Garbage(rows * inputs), dxTiled = Garbage(rows * inputs);
                GemmKernelTests.InputGradient(path, dy, w, dx, rows, inputs, outputs);
                if (rows > 1)
                {
                    Gemm.OuterNarrowOrTiled(path, false, dy, outputs, 1, w, dxTiled, rows, inputs, outputs, accumulate: false);
                    FusedForwardTests.AssertBitwise(dxTiled, dx, $"{path} InputGradient {rows}x{inputs}x{outputs}");
                }
                foreach (bool accumulate in new[] { false, true })
                {
                    float[] dw0 = accumulate ? Random(outputs * inputs, ++seed) : Garbage(outputs * inputs);
                    float[] dw = (float[])dw0.Clone(), dwTiled = (float[])dw0.Clone(), db = Garbage(outputs);
                    if (accumulate) db = Random(outputs, ++seed);
                    float[] db0 = (float[])db.Clone();
                    GemmKernelTests.WeightGradient(path, dy, x, dw, db, rows, inputs, outputs, accumulate);
                    Gemm.OuterNarrowOrTiled(path, false, dy, 1, outputs, x, dwTiled, outputs, inputs, rows, accumulate);
                    FusedForwardTests.AssertBitwise(dwTiled, dw, $"{path} WeightGradient {rows}x{inputs}x{outputs} accumulate={accumulate}");
                    FusedForwardTests.AssertBitwise(ColumnSums(dy, db0, rows, outputs, accumulate), db,
                        $"{path} bias gradient {rows}x{inputs}x{outputs} accumulate={accumulate}");
                }
            }
        }
    }

    [Fact]
    public void Bias_gradient_sums_each_column_from_zero_in_row_order_on_every_path()
    {
        // The vector chains and the masked tail of ColumnSums must add exactly as one scalar chain per column does.
        int seed = 3000;
        foreach (KernelPath path in KernelDispatch.Available)
        {
            if (path == KernelPath.Scalar) continue;
            foreach (int outputs in new[] { 1, 3, 10, 15, 16, 17, 31, 32, 33, 47, 64, 70, 130 })
                foreach (int rows in new[] { 0, 1, 2, 7, 256 })
                    foreach (bool accumulate in new[] { false, true })
                    {
                        int stride = outputs + 5;
                        float[] dy = Random(Math.Max(0, (rows - 1) * stride + outputs), ++seed), x = Random(rows * 3, ++seed);
                        float[] db = accumulate ? Random(outputs, ++seed) : Garbage(outputs), dw = Garbage(outputs * 3);
                        float[] db0 = (float[])db.Clone();
                        GemmKernelTests.WeightGradient(path, dy, x, dw, db, rows, 3, outputs, accumulate, stride);
                        FusedForwardTests.AssertBitwise(ColumnSums(dy, db0, rows, outputs, accumulate, stride), db,
                            $"{path} bias gradient rows {rows} outputs {outputs} accumulate={accumulate}");
                    }
        }
    }

    [Fact]
    public void Narrow_gradients_allocate_nothing()
    {
        float[] dy = Random(256 * 10, 1), w = Random(10 * 128, 2), x = Random(256 * 128, 3), y = Random(256 * 128, 4);
        float[] dx = new float[256 * 128], dw = new float[10 * 128], db = new float[10];
        foreach (KernelPath path in NarrowPaths)
        {
            void Calls()
            {
                GemmKernelTests.InputGradient(path, dy, w, dx, 256, 128, 10);
                Gemm.InputGradientTimesDerivative(path, Activation.Tanh, dy, w, y, dx, 256, 128, 10);
                GemmKernelTests.WeightGradient(path, dy, x, dw, db, 256, 128, 10, acc: false);
                GemmKernelTests.WeightGradient(path, dy, x, dw, db, 256, 128, 10, acc: true);
            }
            Assert.Equal(0, AllocationProbe.Measure(Calls));
        }
    }

    /// <summary>The documented order: s = 0, s += dy[r, o] for r in order, then db[o] = accumulate ? db[o] + s : s.</summary>
    private static float[] ColumnSums(float[] dy, float[] db0, int rows, int outputs, bool accumulate, int stride = 0)
    {
        if (stride == 0) stride = outputs;
        var db = new float[outputs];
        for (int o = 0; o < outputs; o++)
        {
            float s = 0f;
            for (int r = 0; r < rows; r++) s += dy[r * stride + o];
            db[o] = accumulate ? db0[o] + s : s;
        }
        return db;
    }
}
