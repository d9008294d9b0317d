using FastMlp.Kernels;

namespace FastMlp.Tests.Kernels;

/// <summary>
/// Softmax of many short rows (shorter than a quad of vectors: 64 floats on Avx512, 32 on Avx2, 16 on the 4-float paths) runs a
/// block of rows at a time in columns; every row must come out bitwise as it does alone (the one-row kernel is what the
/// one-sample forward applies in registers), for every width up to 65 (past the widest quad), with infinities, NaN and huge
/// ranges, in place or not.
/// </summary>
public class SoftmaxBlockTests
{
    public static TheoryData<KernelPath> Paths() => GemmKernelTests.Paths();

    private const int MaxWidth = 65;

    private static float[] Logits(int rows, int width, int seed)
    {
        var rnd = new Random(seed);
        var x = new float[rows * width];
        for (int i = 0; i < x.Length; i++)
            x[i] = (float)((rnd.NextDouble() * 2 - 1) * Math.Pow(10, rnd.Next(-3, 3)));
        // Rows with special values: one of each kind, in different blocks and lanes.
        void Row(int r, Action<Span<float>> f) { if (r < rows) f(x.AsSpan(r * width, width)); }
        Row(1, s => s[0] = float.PositiveInfinity);
        Row(3, s => { s[^1] = float.PositiveInfinity; s[0] = float.NaN; });
        Row(5, s => s[^1] = float.NaN);
        Row(7, s => s.Fill(float.NegativeInfinity));
        Row(9, s => s[0] = float.NegativeInfinity);
        Row(18, s => { s[0] = 80f; s[^1] = -90f; });
        Row(20, s => s.Fill(3e38f));
        Row(33, s => s[width / 2] = float.PositiveInfinity);
        return x;
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void Many_short_rows_equal_each_row_alone_bitwise(KernelPath path)
    {
        const int rows = 37; // two blocks of 16 and a rest on the widest path
        int compared = 0;
        for (int width = 1; width <= MaxWidth; width++)
        {
            float[] x = Logits(rows, width, width);
            var alone = new float[x.Length];
            for (int r = 0; r < rows; r++)
                ActivationKernels.Softmax(path, x.AsSpan(r * width, width), alone.AsSpan(r * width, width), width);
            var all = new float[x.Length];
            ActivationKernels.Softmax(path, x, all, width);
            float[] inPlace = (float[])x.Clone();
            ActivationKernels.Softmax(path, inPlace, width);
            for (int i = 0; i < x.Length; i++)
            {
                if (!Same(alone[i], all[i]) || !Same(alone[i], inPlace[i]))
                    Assert.Fail($"{path} width {width} row {i / width} element {i % width}: alone {alone[i]:R}, in a block {all[i]:R}, in place {inPlace[i]:R}.");
                compared++;
            }
            // The special rows really are special: a +Inf logit takes the mass, a NaN spreads.
            if (width > 1)
            {
                Assert.Equal(1f, all[1 * width]);
                Assert.True(float.IsNaN(all[5 * width]));
            }
        }
        Assert.Equal(rows * MaxWidth * (MaxWidth + 1) / 2, compared);
    }

    /// <summary>Bitwise, except that any NaN matches any NaN (SSE and AVX produce different NaN payloads for the same row).</summary>
    private static bool Same(float a, float b) =>
        BitConverter.SingleToInt32Bits(a) == BitConverter.SingleToInt32Bits(b) || (float.IsNaN(a) && float.IsNaN(b));
}
