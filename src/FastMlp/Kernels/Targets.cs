namespace FastMlp.Kernels;

/// <summary>
/// The desired outputs of a block of rows: either dense values [rows x width] or integer class labels.
/// A label means a one-hot row, except for one output, where it is the target value 0 or 1 itself.
/// </summary>
internal readonly ref struct Targets
{
    public readonly ReadOnlySpan<float> Dense;
    public readonly ReadOnlySpan<int> Labels;
    public readonly bool IsLabels;

    public Targets(ReadOnlySpan<float> dense) { Dense = dense; IsLabels = false; }
    public Targets(ReadOnlySpan<int> labels) { Labels = labels; IsLabels = true; }

    public Targets Slice(int startRow, int rows, int width) => IsLabels
        ? new Targets(Labels.Slice(startRow, rows))
        : new Targets(Dense.Slice(startRow * width, rows * width));

    public float Value(int row, int j, int width) => IsLabels
        ? (width == 1 ? Labels[row] : (Labels[row] == j ? 1f : 0f))
        : Dense[row * width + j];
}
