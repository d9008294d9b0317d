using CommunityToolkit.HighPerformance;

namespace FastMlp.Data;

/// <summary>
/// A table of samples in memory: features [Count x FeatureCount] row-major, and either integer class
/// labels (classification) or dense targets [Count x TargetCount] (regression). Validated on creation:
/// finite values, labels in range, consistent lengths.
/// </summary>
public sealed class Dataset
{
    private readonly float[] _features;
    private readonly int[]? _labels;
    private readonly float[]? _targets;

    private Dataset(float[] features, int featureCount, int[]? labels, int classCount, float[]? targets, int targetCount)
    {
        _features = features;
        _labels = labels;
        _targets = targets;
        FeatureCount = featureCount;
        ClassCount = classCount;
        TargetCount = targetCount;
        Count = features.Length / featureCount;
    }

    /// <summary>A classification set. <paramref name="classCount"/> defaults to max(label) + 1.</summary>
    /// <exception cref="ArgumentException">Empty data, mismatched lengths, non-finite features or labels outside [0, classCount).</exception>
    public static Dataset ForClassification(float[] features, int featureCount, int[] labels, int? classCount = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        int count = CheckFeatures(features, featureCount);
        if (labels.Length != count)
            throw new ArgumentException($"There are {count} feature rows but {labels.Length} labels.", nameof(labels));
        int classes = classCount ?? (labels.Max() + 1);
        if (classes < 2)
            throw new ArgumentOutOfRangeException(nameof(classCount), classes, "A classification set needs at least 2 classes.");
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"Label {labels[i]} at row {i} is outside [0, {classes}).");
        return new Dataset(features, featureCount, labels, classes, null, 0);
    }

    /// <summary>A regression set with <paramref name="targetCount"/> target values per row.</summary>
    /// <exception cref="ArgumentException">Empty data, mismatched lengths or non-finite values.</exception>
    public static Dataset ForRegression(float[] features, int featureCount, float[] targets, int targetCount = 1)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        int count = CheckFeatures(features, featureCount);
        if (targetCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(targetCount), targetCount, "The number of targets must be positive.");
        if (targets.Length != (long)count * targetCount)
            throw new ArgumentException($"There are {count} feature rows but {targets.Length} target values (expected {count} x {targetCount}).", nameof(targets));
        Validation.RequireFinite(targets, nameof(targets), targetCount);
        return new Dataset(features, featureCount, null, 0, targets, targetCount);
    }

    /// <summary>Number of samples.</summary>
    public int Count { get; }
    /// <summary>Features per sample.</summary>
    public int FeatureCount { get; }
    /// <summary>True for a labelled (classification) set.</summary>
    public bool IsClassification => _labels is not null;
    /// <summary>Number of classes (0 for regression).</summary>
    public int ClassCount { get; }
    /// <summary>Targets per sample (0 for classification).</summary>
    public int TargetCount { get; }

    /// <summary>All features, [Count x FeatureCount].</summary>
    public ReadOnlySpan2D<float> Features => new(_features, Count, FeatureCount);
    /// <summary>Class labels (empty for regression).</summary>
    public ReadOnlySpan<int> Labels => _labels;
    /// <summary>Dense targets [Count x TargetCount] (empty for classification).</summary>
    public ReadOnlySpan2D<float> Targets => _targets is null ? default : new(_targets, Count, TargetCount);

    /// <summary>One sample's features.</summary>
    public ReadOnlySpan<float> Row(int index) => _features.AsSpan(index * FeatureCount, FeatureCount);

    internal float[] FeatureArray => _features;
    internal float[]? TargetArray => _targets;
    internal int[]? LabelArray => _labels;

    /// <summary>A new set with the rows at <paramref name="indices"/>, in that order (copies the data).</summary>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        if (indices.Length == 0)
            throw new ArgumentException("A subset needs at least one row.", nameof(indices));
        var features = new float[indices.Length * FeatureCount];
        for (int i = 0; i < indices.Length; i++)
        {
            if ((uint)indices[i] >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[i], $"Row {indices[i]} is outside [0, {Count}).");
            Row(indices[i]).CopyTo(features.AsSpan(i * FeatureCount));
        }
        if (_labels is not null)
        {
            var labels = new int[indices.Length];
            for (int i = 0; i < indices.Length; i++) labels[i] = _labels[indices[i]];
            return new Dataset(features, FeatureCount, labels, ClassCount, null, 0);
        }
        var targets = new float[indices.Length * TargetCount];
        for (int i = 0; i < indices.Length; i++)
            _targets.AsSpan(indices[i] * TargetCount, TargetCount).CopyTo(targets.AsSpan(i * TargetCount));
        return new Dataset(features, FeatureCount, null, 0, targets, TargetCount);
    }

    /// <summary>
    /// Seeded random split into (rest, held out) where the held-out part has <paramref name="fraction"/> of the rows
    /// (at least one, at most Count - 1). Classification splits are stratified: each class is split in the same proportion.
    /// </summary>
    public (Dataset Remaining, Dataset HeldOut) Split(double fraction, int seed)
    {
        if (!(fraction > 0 && fraction < 1))
            throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "The split fraction must be in (0, 1).");
        if (Count < 2)
            throw new ArgumentException($"A set of {Count} row cannot be split.");
        var random = new Random(seed);
        var heldOut = new List<int>();
        var rest = new List<int>();
        IEnumerable<int[]> groups = _labels is null
            ? [Enumerable.Range(0, Count).ToArray()]
            : Enumerable.Range(0, ClassCount).Select(c => Enumerable.Range(0, Count).Where(i => _labels[i] == c).ToArray());
        foreach (int[] group in groups)
        {
            random.Shuffle(group);
            int take = (int)Math.Round(group.Length * fraction, MidpointRounding.AwayFromZero);
            heldOut.AddRange(group.Take(take));
            rest.AddRange(group.Skip(take));
        }
        // Keep both sides non-empty even for tiny sets or extreme fractions.
        if (heldOut.Count == 0) { heldOut.Add(rest[^1]); rest.RemoveAt(rest.Count - 1); }
        if (rest.Count == 0) { rest.Add(heldOut[^1]); heldOut.RemoveAt(heldOut.Count - 1); }
        int[] restIdx = rest.ToArray(), heldIdx = heldOut.ToArray();
        random.Shuffle(restIdx);
        random.Shuffle(heldIdx);
        return (Subset(restIdx), Subset(heldIdx));
    }

    private static int CheckFeatures(float[] features, int featureCount)
    {
        if (featureCount <= 0)
            throw new ArgumentOutOfRangeException(nameof(featureCount), featureCount, "The number of features must be positive.");
        if (features.Length == 0)
            throw new ArgumentException("The data set is empty.", nameof(features));
        if (features.Length % featureCount != 0)
            throw new ArgumentException($"{features.Length} feature values do not make whole rows of {featureCount}.", nameof(features));
        Validation.RequireFinite(features, nameof(features), featureCount);
        return features.Length / featureCount;
    }
}
