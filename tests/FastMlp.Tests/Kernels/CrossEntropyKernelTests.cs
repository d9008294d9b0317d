using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// The vectorised categorical cross-entropy (<see cref="CrossEntropyKernels"/>) on every path this machine has,
/// against the scalar reference (<see cref="LossKernels"/> on the Scalar path): delta bit for bit, the loss within 1e-6
/// relative of it and of a float64 evaluation, for labels and dense targets on widths that are and are not multiples
/// of the vector width, logits up to +-60 and a row with a -Inf logit.
/// </summary>
public class CrossEntropyKernelTests
{
    /// <summary>Every available path: Scalar too (then only the float64 check has anything to find), so that a machine without
    /// vector paths still has data for the theories.</summary>
    public static TheoryData<KernelPath> Paths() => GemmKernelTests.Paths();

    private static IEnumerable<(int Width, float Scale)> Cases()
    {
        for (int width = 2; width <= 41; width++)
            yield return (width, width % 3 == 0 ? 60f : 4f);
        yield return (100, 8f);
    }

    private const int Rows = 6;

    private static float[] Logits(int width, float scale, int seed)
    {
        float[] u = FusedForwardTests.Random(Rows * width, seed, scale);
        u[(Rows - 1) * width + width / 2] = float.NegativeInfinity; // an impossible class in the last row
        return u;
    }

    private static float[] DenseTargets(int width, int seed)
    {
        var rnd = new Random(seed);
        var d = new float[Rows * width];
        for (int i = 0; i < d.Length; i++) d[i] = rnd.Next(3) == 0 ? 0f : (float)rnd.NextDouble();
        return d;
    }

    private static int[] Labels(int width, int seed)
    {
        var rnd = new Random(seed);
        var labels = new int[Rows];
        for (int r = 0; r < Rows; r++) labels[r] = rnd.Next(width);
        labels[Rows - 1] = (width / 2 + 1) % width; // not the -Inf logit: a finite loss
        return labels;
    }

    /// <summary>The loss in float64 throughout: sum_j d_j (lse(u) - u_j).</summary>
    private static double Reference(float[] u, Targets targets, int width)
    {
        double sum = 0;
        for (int r = 0; r < Rows; r++)
        {
            double max = double.NegativeInfinity;
            for (int j = 0; j < width; j++) max = Math.Max(max, u[r * width + j]);
            double s = 0;
            for (int j = 0; j < width; j++) s += Math.Exp(u[r * width + j] - max);
            double lse = max + Math.Log(s);
            for (int j = 0; j < width; j++)
            {
                double d = targets.Value(r, j, width);
                if (d != 0) sum += d * (lse - u[r * width + j]);
            }
        }
        return sum;
    }

    private static void Check(KernelPath path, float[] u, Targets targets, int width, string what)
    {
        float[] y = new float[u.Length];
        ActivationKernels.Softmax(path, u, y, width);
        float[] expected = new float[u.Length], actual = new float[u.Length];
        Array.Fill(actual, float.NaN);
        const double normalizer = 1.0 / Rows;
        double scalarLoss = LossKernels.LossAndDelta(KernelPath.Scalar, LossKind.CategoricalCrossEntropy, Activation.Softmax, u, y, targets, expected, Rows, width, normalizer);
        double loss = LossKernels.LossAndDelta(path, LossKind.CategoricalCrossEntropy, Activation.Softmax, u, y, targets, actual, Rows, width, normalizer);
        FusedForwardTests.AssertBitwise(expected, actual, $"{what} delta");
        double exact = Reference(u, targets, width);
        Assert.True(Math.Abs(loss - exact) <= 1e-6 * (1 + Math.Abs(exact)), $"{what}: loss {loss:R}, float64 {exact:R}");
        Assert.True(Math.Abs(loss - scalarLoss) <= 1e-6 * (1 + Math.Abs(scalarLoss)), $"{what}: loss {loss:R}, scalar path {scalarLoss:R}");
        double lossOnly = LossKernels.LossOnly(path, LossKind.CategoricalCrossEntropy, u, y, targets, Rows, width);
        Assert.Equal(loss, lossOnly);
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Labels_give_the_reference_delta_bitwise_and_an_accurate_loss(KernelPath path)
    {
        int seed = 900;
        foreach (var (width, scale) in Cases())
            Check(path, Logits(width, scale, ++seed), new Targets(Labels(width, ++seed)), width, $"{path} labels width {width} scale {scale}");
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Dense_targets_give_the_reference_delta_bitwise_and_an_accurate_loss(KernelPath path)
    {
        int seed = 1900;
        foreach (var (width, scale) in Cases())
        {
            float[] u = Logits(width, scale, ++seed);
            float[] d = DenseTargets(width, ++seed);
            d[(Rows - 1) * width + width / 2] = 0f; // no target mass on the -Inf logit
            Check(path, u, new Targets(d), width, $"{path} dense width {width} scale {scale}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void The_row_maximum_is_found_anywhere_and_a_NaN_logit_makes_the_loss_NaN(KernelPath path)
    {
        // The row maximum runs in four chains plus a ragged end. A logit of 1000 in any of them must be the maximum: missed,
        // e^(u - max) overflows and the loss turns infinite instead of matching the float64 reference. A NaN anywhere gives NaN.
        int seed = 2900;
        foreach (int width in new[] { 3, 4, 5, 10, 17, 100 })
            for (int k = 0; k < width; k += Math.Max(1, width / 9))
            {
                float[] u = Logits(width, 4f, ++seed);
                Targets labels = new(Labels(width, ++seed));
                u[width + k] = 1000f; // row 1
                Check(path, u, labels, width, $"{path} width {width}, 1000 at {k}");
                u[width + k] = float.NaN;
                float[] y = new float[u.Length], delta = new float[u.Length];
                ActivationKernels.Softmax(path, u, y, width);
                double loss = LossKernels.LossAndDelta(path, LossKind.CategoricalCrossEntropy, Activation.Softmax, u, y, labels, delta, Rows, width, 1.0 / Rows);
                Assert.True(double.IsNaN(loss), $"{path} width {width}, NaN at {k}: loss {loss:R}");
                Assert.True(double.IsNaN(LossKernels.LossOnly(path, LossKind.CategoricalCrossEntropy, u, y, labels, Rows, width)), $"{path} width {width}, NaN at {k}: loss only");
            }
    }
    [Theory]
    [MemberData(nameof(Paths))]
    public void A_batch_loss_is_its_rows_losses_summed_in_order_across_blocks_of_rows(KernelPath path)
    {
        // The vector kernels take the logarithms of 8 rows at a time: 19 rows cross two blocks and end in a partial one. Each
        // row's loss term, summed in row order, must give the batch's loss bitwise, and each row's delta its own. Then a +Inf
        // logit off the label in the second block (an infinite maximum: the log-sum-exp is the maximum) makes the loss +Inf.
        const int rows = 19;
        int seed = 3100;
        foreach (int width in new[] { 2, 3, 10, 17 })
        {
            float[] u = FusedForwardTests.Random(rows * width, ++seed, 6f);
            var rnd = new Random(++seed);
            var labels = new Targets(Enumerable.Range(0, rows).Select(_ => rnd.Next(width)).ToArray());
            float[] y = new float[u.Length], delta = new float[u.Length], rowDelta = new float[width];
            ActivationKernels.Softmax(path, u, y, width);
            double loss = LossKernels.LossAndDelta(path, LossKind.CategoricalCrossEntropy, Activation.Softmax, u, y, labels, delta, rows, width, 0.25);
            double lossOnly = LossKernels.LossOnly(path, LossKind.CategoricalCrossEntropy, u, y, labels, rows, width);
            double sum = 0;
            for (int r = 0; r < rows; r++)
            {
                float[] ur = u.AsSpan(r * width, width).ToArray(), yr = y.AsSpan(r * width, width).ToArray();
                sum += LossKernels.LossAndDelta(path, LossKind.CategoricalCrossEntropy, Activation.Softmax, ur, yr, new Targets([labels.Labels[r]]),
                    rowDelta, 1, width, 0.25);
                Assert.Equal(rowDelta, delta.AsSpan(r * width, width).ToArray());
            }
            Assert.Equal(BitConverter.DoubleToInt64Bits(sum), BitConverter.DoubleToInt64Bits(loss));
            Assert.Equal(BitConverter.DoubleToInt64Bits(sum), BitConverter.DoubleToInt64Bits(lossOnly));
            u[11 * width + (labels.Labels[11] + 1) % width] = float.PositiveInfinity;
            Assert.Equal(double.PositiveInfinity, LossKernels.LossOnly(path, LossKind.CategoricalCrossEntropy, u, y, labels, rows, width));
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Label_rows_taken_a_vector_of_rows_at_a_time_give_each_rows_own_loss_and_delta(KernelPath path)
    {
        // Label rows of at most 16 logits go a vector of rows at a time (16 on Avx512, 8 on Avx2, 4 on the 4-float paths),
        // the rows along the lanes; 37 rows end in a partial block that goes row by row. Every row's delta and the loss terms
        // summed in row order must be what each row gives alone, bitwise, with in the blocks a label outside its row (no loss
        // term, delta y * 0), a -Inf logit (an impossible class), a +Inf logit (an infinite maximum: the loss is +Inf) and a
        // NaN logit (the loss is NaN), each in a row of its own.
        const int rows = 37;
        int seed = 4100;
        foreach (int width in new[] { 2, 3, 4, 5, 9, 10, 15, 16, 17 })
            foreach (string special in new[] { "none", "outside", "-Inf", "+Inf", "NaN" })
            {
                float[] u = FusedForwardTests.Random(rows * width, ++seed, 6f);
                var rnd = new Random(++seed);
                int[] labels = Enumerable.Range(0, rows).Select(_ => rnd.Next(width)).ToArray();
                labels[1] = -1;
                labels[22] = width;
                int row = 5 + seed % 11, off = (labels[row] + 1) % width;
                switch (special)
                {
                    case "outside": labels[row] = width + 3; break;
                    case "-Inf": u[row * width + off] = float.NegativeInfinity; break;
                    case "+Inf": u[row * width + off] = float.PositiveInfinity; break;
                    case "NaN": u[row * width + off] = float.NaN; break;
                }
                float[] y = new float[u.Length], delta = new float[u.Length], rowDelta = new float[width];
                ActivationKernels.Softmax(path, u, y, width);
                var targets = new Targets(labels);
                double loss = LossKernels.LossAndDelta(path, LossKind.CategoricalCrossEntropy, Activation.Softmax, u, y, targets, delta, rows, width, 0.125);
                double lossOnly = LossKernels.LossOnly(path, LossKind.CategoricalCrossEntropy, u, y, targets, rows, width);
                double sum = 0;
                string what = $"{path} width {width} {special} in row {row}";
                for (int r = 0; r < rows; r++)
                {
                    float[] ur = u.AsSpan(r * width, width).ToArray(), yr = y.AsSpan(r * width, width).ToArray();
                    sum += LossKernels.LossAndDelta(path, LossKind.CategoricalCrossEntropy, Activation.Softmax, ur, yr, new Targets([labels[r]]),
                        rowDelta, 1, width, 0.125);
                    FusedForwardTests.AssertBitwise(rowDelta, delta.AsSpan(r * width, width).ToArray(), $"{what}: delta of row {r}");
                }
                if (special == "NaN")
                {
                    Assert.True(double.IsNaN(sum) && double.IsNaN(loss) && double.IsNaN(lossOnly), $"{what}: {sum:R}, {loss:R}, {lossOnly:R}");
                    continue;
                }
                if (special == "+Inf")
                    Assert.Equal(double.PositiveInfinity, loss);
                Assert.Equal(BitConverter.DoubleToInt64Bits(sum), BitConverter.DoubleToInt64Bits(loss));
                Assert.Equal(BitConverter.DoubleToInt64Bits(sum), BitConverter.DoubleToInt64Bits(lossOnly));
                Assert.True(double.IsFinite(sum) || special == "+Inf", $"{what}: loss {sum:R}");
            }
    }
}
