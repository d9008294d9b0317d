using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// The batched Forward at the edges of its tiles and blocks, on every path this machine has: on Avx512 the wide tile
/// (from 48 rows, 24 for rows of at most 2 vectors: 3 rows of X by 8 rows of W from a packed panel, the outputs past the last group of 8 through the
/// 4-output tile), X
/// copied into the workspace or read in place, X blocks of 4 MiB, the reduction in chunks past 1024 inputs; on the other paths the same shapes go through their
/// 4-output tiles. Every row must equal the one-row GEMV (Predict) bit for bit and the float64 reference within rounding,
/// row blocks computed alone the whole batch, and the fused activation Forward followed by the activation.
/// </summary>
public class ForwardTileEdgeTests
{
    public static TheoryData<KernelPath> Paths() => GemmKernelTests.Paths();

    /// <summary>
    /// Rows around the 3- and 4-row tiles and the rows from which Avx512 takes the wide tile (24 for rows of at most 2
    /// vectors, 48 for longer ones), outputs around groups of 8 and 4 and Avx512's groups of 5 (5, 9 = 4 + 5, 10 = 5 + 5,
    /// 17 and 18 = 8 + 4 + 5 and 8 + 5 + 5 on the wide path), inputs around the 16- and 8-float vectors.
    /// </summary>
    private static IEnumerable<(int Rows, int Inputs, int Outputs)> EdgeShapes()
    {
        foreach (int rows in new[] { 2, 3, 5, 7, 23, 24, 25, 26, 29, 47, 48, 49, 50 })
            foreach (int outputs in new[] { 5, 7, 8, 9, 10, 12, 15, 16, 17, 18, 23, 24, 25 })
                foreach (int inputs in new[] { 1, 15, 16, 17, 33, 48 })
                    yield return (rows, inputs, outputs);
    }

    /// <summary>
    /// The wide path's blocking: 1000 x 1061 crosses the 4 MiB X block (two blocks of 501 rows; no multiple of any tile or
    /// vector); 50 x 200 x 141 has more than 128 outputs, so X is packed; 260 x 1030 x 136 too, but its packed X
    /// (1040-float rows) would not fit the workspace's first size, so X is read in place. Past 1024 inputs the reduction is
    /// cut into chunks whose partial sums wait in the workspace: 30 x 1040 x 9 in two (528 and 512 floats), 26 x 2051 x 17
    /// in two of 1024 and a 3-input tail, 27 x 3001 x 136 in three with a 9-input tail and X packed, 400 x 2051 x 12 in four
    /// X blocks of 100 rows (a chunk of 128 rows fills 512 KiB). 1000 x 1061 x 9, 30 x 1040 x 9 and 61 x 2051 x 10 end in
    /// Avx512's 5-output groups (X read in place), with a tail of inputs.
    /// </summary>
    private static readonly (int Rows, int Inputs, int Outputs)[] BlockShapes =
        [(1000, 1061, 9), (50, 200, 141), (260, 1030, 136), (30, 1040, 9), (26, 2051, 17), (27, 3001, 136), (400, 2051, 12), (61, 2051, 10)];

    [Theory]
    [MemberData(nameof(Paths))]
    public void Every_row_equals_the_one_row_Forward_bitwise_and_the_float64_reference(KernelPath path)
    {
        int seed = 0;
        foreach (var (rows, inputs, outputs) in EdgeShapes().Concat(BlockShapes))
        {
            float[] x = FusedForwardTests.Random(rows * inputs, ++seed), w = FusedForwardTests.Random(outputs * inputs, ++seed);
            float[] b = FusedForwardTests.Random(outputs, ++seed);
            float[] y = Garbage(rows * outputs), one = Garbage(outputs);
            GemmKernelTests.Forward(path, x, w, b, y, rows, inputs, outputs);
            string what = $"{path} Forward {rows}x{inputs}x{outputs}";
            for (int r = 0; r < rows; r++)
            {
                GemmKernelTests.Forward(path, x.AsSpan(r * inputs, inputs).ToArray(), w, b, one, 1, inputs, outputs);
                FusedForwardTests.AssertBitwise(one, y.AsSpan(r * outputs, outputs).ToArray(), $"{what} row {r} against one row");
                for (int o = 0; o < outputs; o++)
                {
                    double s = b[o];
                    for (int i = 0; i < inputs; i++) s += (double)x[r * inputs + i] * w[o * inputs + i];
                    double tol = 1e-6 * (inputs + 2);
                    if (!(Math.Abs(s - y[r * outputs + o]) <= tol))
                        Assert.Fail($"{what} y[{r},{o}]: expected {s}, got {y[r * outputs + o]} (tolerance {tol}).");
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Row_blocks_equal_the_whole_bitwise(KernelPath path)
    {
        // Block sizes 1..100 (none a multiple of the tile): a block alone is cut, packed and tiled differently.
        int seed = 50;
        foreach (var (rows, inputs, outputs) in BlockShapes)
        {
            float[] x = FusedForwardTests.Random(rows * inputs, ++seed), w = FusedForwardTests.Random(outputs * inputs, ++seed);
            float[] b = FusedForwardTests.Random(outputs, ++seed);
            float[] y = Garbage(rows * outputs);
            GemmKernelTests.Forward(path, x, w, b, y, rows, inputs, outputs);
            for (int r0 = 0, size = 1; r0 < rows; r0 += size, size = size * 7 % 101)
            {
                int n = Math.Min(size, rows - r0);
                float[] yb = Garbage(n * outputs);
                GemmKernelTests.Forward(path, x.AsSpan(r0 * inputs, n * inputs).ToArray(), w, b, yb, n, inputs, outputs);
                FusedForwardTests.AssertBitwise(y.AsSpan(r0 * outputs, n * outputs).ToArray(), yb, $"{path} Forward {rows}x{inputs}x{outputs} rows {r0}..{r0 + n - 1}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Fused_activation_equals_Forward_then_the_activation_bitwise(KernelPath path)
    {
        // ReLU is applied in the tile's registers, the sigmoid to each finished block of rows: both epilogues of the wide tile.
        int seed = 100;
        foreach (Activation f in new[] { Activation.Relu, Activation.LeakyRelu(0.1f), Activation.Sigmoid })
            foreach (var (rows, inputs, outputs) in EdgeShapes().Concat(BlockShapes))
            {
                float[] x = FusedForwardTests.Random(rows * inputs, ++seed, 2f), w = FusedForwardTests.Random(outputs * inputs, ++seed);
                float[] b = FusedForwardTests.Random(outputs, ++seed);
                float[] expected = Garbage(rows * outputs), actual = Garbage(rows * outputs);
                GemmKernelTests.Forward(path, x, w, b, expected, rows, inputs, outputs);
                ActivationKernels.Apply(path, f, expected, outputs);
                Gemm.ForwardActivated(path, f, x, w, b, actual, rows, inputs, outputs);
                FusedForwardTests.AssertBitwise(expected, actual, $"{path} {f} {rows}x{inputs}x{outputs}");
            }
    }

    private static float[] Garbage(int n) => Enumerable.Repeat(float.NaN, n).ToArray();
}
