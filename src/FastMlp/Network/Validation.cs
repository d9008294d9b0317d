namespace FastMlp;

/// <summary>Data checks with messages that say what is wrong and where. Cold paths throw from here.</summary>
internal static class Validation
{
    /// <summary>Throws if any element is NaN or infinite, naming the first one.</summary>
    public static void RequireFinite(ReadOnlySpan<float> values, string name, int width = 0)
    {
        if (Kernels.VectorOps.AllFinite(values)) return;
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new ArgumentException(width > 0
                    ? $"'{name}' holds {values[i]} at row {i / width}, column {i % width}; every value must be finite."
                    : $"'{name}' holds {values[i]} at index {i}; every value must be finite.", name);
    }

    /// <summary>Labels must be class indices in [0, classes) where classes = outputs, or 0/1 for a single output.</summary>
    public static void RequireLabels(ReadOnlySpan<int> labels, int outputs, string name)
    {
        int classes = outputs == 1 ? 2 : outputs;
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(name, labels[i], $"Label {labels[i]} at row {i} is outside [0, {classes}) for a network with {outputs} output(s).");
    }

    public static void RequirePositive(float value, string name)
    {
        if (!(value > 0f && float.IsFinite(value)))
            throw new ArgumentOutOfRangeException(name, value, $"'{name}' must be a positive finite number.");
    }

    public static void RequireInRange(float value, float lowInclusive, float highExclusive, string name)
    {
        if (!(value >= lowInclusive && value < highExclusive))
            throw new ArgumentOutOfRangeException(name, value, $"'{name}' must be in [{lowInclusive}, {highExclusive}).");
    }
}
