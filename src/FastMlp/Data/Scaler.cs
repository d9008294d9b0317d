using CommunityToolkit.HighPerformance;

namespace FastMlp.Data;

/// <summary>Input (or target) scaling, fitted on training data and applied identically at inference.</summary>
public enum ScalingKind
{
    /// <summary>No scaling.</summary>
    None,
    /// <summary>(x - min) / (max - min): each column to [0, 1].</summary>
    MinMax,
    /// <summary>x / max|x|: each column to [-1, 1], zero stays zero.</summary>
    MaxAbs,
    /// <summary>(x - mean) / std: z-score standardisation.</summary>
    ZScore,
    /// <summary>(x - mean) / (max - min): mean normalisation.</summary>
    Mean,
}

/// <summary>
/// A fitted per-column affine transform x' = (x - Offset) * Factor, stored with a model. Constant columns
/// (zero range or deviation) get factor 1 so they map to a constant instead of dividing by zero.
/// </summary>
public sealed class Scaler
{
    private readonly float[] _offset;
    private readonly float[] _factor;

    /// <summary>Recreates a scaler from stored parameters (e.g. a model file).</summary>
    public Scaler(ScalingKind kind, float[] offset, float[] factor)
    {
        ArgumentNullException.ThrowIfNull(offset);
        ArgumentNullException.ThrowIfNull(factor);
        if (!Enum.IsDefined(kind))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown scaling kind.");
        if (offset.Length != factor.Length || offset.Length == 0)
            throw new ArgumentException($"Offsets ({offset.Length}) and factors ({factor.Length}) must have the same positive length.", nameof(factor));
        Validation.RequireFinite(offset, nameof(offset));
        Validation.RequireFinite(factor, nameof(factor));
        for (int j = 0; j < factor.Length; j++)
            if (factor[j] == 0f)
                throw new ArgumentException($"Scaling factor {j} is zero; the transform would not be invertible.", nameof(factor));
        Kind = kind;
        _offset = offset;
        _factor = factor;
    }

    /// <summary>The scaling.</summary>
    public ScalingKind Kind { get; }
    /// <summary>Number of columns.</summary>
    public int Width => _offset.Length;
    /// <summary>Per-column offsets.</summary>
    public ReadOnlySpan<float> Offset => _offset;
    /// <summary>Per-column factors.</summary>
    public ReadOnlySpan<float> Factor => _factor;

    /// <summary>Fits the scaling on the columns of <paramref name="data"/> (statistics in double).</summary>
    public static Scaler Fit(ScalingKind kind, ReadOnlySpan2D<float> data)
    {
        int width = data.Width;
        if (data.Height == 0 || width == 0)
            throw new ArgumentException("Cannot fit a scaler on empty data.", nameof(data));
        var offset = new float[width];
        var factor = new float[width];
        for (int j = 0; j < width; j++)
        {
            double min = double.MaxValue, max = double.MinValue, sum = 0, sumSq = 0;
            for (int i = 0; i < data.Height; i++)
            {
                double v = data[i, j];
                min = Math.Min(min, v); max = Math.Max(max, v); sum += v;
            }
            double mean = sum / data.Height;
            for (int i = 0; i < data.Height; i++) { double d = data[i, j] - mean; sumSq += d * d; }
            double std = Math.Sqrt(sumSq / data.Height);
            double range = max - min;
            double maxAbs = Math.Max(Math.Abs(min), Math.Abs(max));
            (double o, double divisor) = kind switch
            {
                ScalingKind.None => (0, 1),
                ScalingKind.MinMax => (min, range),
                ScalingKind.MaxAbs => (0, maxAbs),
                ScalingKind.ZScore => (mean, std),
                ScalingKind.Mean => (mean, range),
                _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown scaling kind."),
            };
            offset[j] = (float)o;
            factor[j] = divisor > 1e-12 * Math.Max(1, maxAbs) ? (float)(1 / divisor) : 1f;
        }
        return new Scaler(kind, offset, factor);
    }

    /// <summary>Parses "none", "minmax", "maxabs", "zscore" or "mean" (case-insensitive).</summary>
    public static ScalingKind ParseKind(string name) => name.Trim().Replace("-", "").ToLowerInvariant() switch
    {
        "none" => ScalingKind.None,
        "minmax" => ScalingKind.MinMax,
        "maxabs" => ScalingKind.MaxAbs,
        "zscore" or "standard" => ScalingKind.ZScore,
        "mean" => ScalingKind.Mean,
        _ => throw new ArgumentException($"Unknown scaling '{name}' (expected none, minmax, maxabs, zscore or mean).", nameof(name)),
    };

    /// <summary>Scales one row: destination[j] = (source[j] - Offset[j]) * Factor[j]. No allocation.</summary>
    public void Transform(ReadOnlySpan<float> source, Span<float> destination)
    {
        if (source.Length != Width || destination.Length != Width)
            throw new ArgumentException($"The scaler has {Width} columns; got a source of {source.Length} and a destination of {destination.Length}.");
        for (int j = 0; j < source.Length; j++)
            destination[j] = (source[j] - _offset[j]) * _factor[j];
    }

    /// <summary>Scales every row of a [rows x Width] buffer in place.</summary>
    public void TransformInPlace(Span<float> rows)
    {
        if (rows.Length % Width != 0)
            throw new ArgumentException($"{rows.Length} values do not make whole rows of {Width}.", nameof(rows));
        for (int r = 0; r < rows.Length; r += Width)
        {
            Span<float> row = rows.Slice(r, Width);
            Transform(row, row);
        }
    }

    /// <summary>Undoes the scaling of one row in place: x = x' / Factor + Offset.</summary>
    public void InverseInPlace(Span<float> row)
    {
        if (row.Length != Width)
            throw new ArgumentException($"The scaler has {Width} columns; got {row.Length}.", nameof(row));
        for (int j = 0; j < row.Length; j++)
            row[j] = row[j] / _factor[j] + _offset[j];
    }
}
