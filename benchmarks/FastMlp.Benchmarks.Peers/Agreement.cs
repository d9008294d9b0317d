namespace FastMlp.Benchmarks.Peers;

/// <summary>The once-per-setup check that a peer computes what FastMlp computes before either is timed.</summary>
internal static class Agreement
{
    /// <summary>Throws unless |actual - expected| &lt;= absolute + relative * |expected| everywhere.</summary>
    public static void Require(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string what,
        float absolute = 1e-4f, float relative = 1e-3f)
    {
        if (expected.Length != actual.Length)
            throw new InvalidOperationException($"{what}: {actual.Length} values, FastMlp has {expected.Length}.");
        double worst = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i], a = actual[i];
            float diff = Math.Abs(e - a);
            if (!float.IsFinite(a) || diff > absolute + relative * Math.Abs(e))
                throw new InvalidOperationException(
                    $"{what}: element {i} is {a}, FastMlp gives {e} (tolerance {absolute} + {relative} x |value|); refusing to time a peer that computes something else.");
            worst = Math.Max(worst, diff);
        }
        Console.WriteLine($"// {what}: agrees with FastMlp on {expected.Length} values (max |diff| {worst:G3})");
    }
}
