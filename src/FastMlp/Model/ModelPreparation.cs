using FastMlp.Data;

namespace FastMlp;

/// <summary>What every way of training a <see cref="Model"/> does first: fit the scalers, scale a copy of the data, derive the layers and the loss.</summary>
internal static class ModelPreparation
{
    internal sealed record Prepared(Dataset Train, LayerSpec[] Layers, LossKind Loss, Scaler? InputScaler, Scaler? TargetScaler);

    /// <summary>The same preparation as <see cref="Model.Train"/>: fitted scalers, scaled copy of the data, layer specs, loss.</summary>
    internal static Prepared Prepare(Dataset train, ModelOptions options)
    {
        Scaler? inputScaler = options.InputScaling == ScalingKind.None ? null : Scaler.Fit(options.InputScaling, train.Features);
        Scaler? targetScaler = !train.IsClassification && options.ScaleTargets ? Scaler.Fit(ScalingKind.ZScore, train.Targets) : null;
        Activation output = options.OutputActivation ?? (train.IsClassification ? Activation.Softmax : Activation.Identity);
        int outputs = train.IsClassification ? (output.Kind == ActivationKind.Sigmoid && train.ClassCount == 2 ? 1 : train.ClassCount) : train.TargetCount;
        LayerSpec[] layers = [.. options.HiddenLayers.Select(h => new LayerSpec(h, options.HiddenActivation)), new LayerSpec(outputs, output)];
        LossKind loss = options.Training.Loss ?? Losses.DefaultFor(output);
        Losses.ValidatePairing(loss, output);
        return new Prepared(Scale(train, inputScaler, targetScaler), layers, loss, inputScaler, targetScaler);
    }

    internal static Dataset Scale(Dataset data, Scaler? inputs, Scaler? targets)
    {
        float[] features = data.FeatureArray.ToArray();
        inputs?.TransformInPlace(features);
        if (data.IsClassification)
            return Dataset.ForClassification(features, data.FeatureCount, data.LabelArray!, data.ClassCount);
        float[] t = data.TargetArray!.ToArray();
        targets?.TransformInPlace(t);
        return Dataset.ForRegression(features, data.FeatureCount, t, data.TargetCount);
    }

    /// <summary>The model's class names: the given ones, or "0", "1", ... for a classification set; null for regression.</summary>
    internal static IReadOnlyList<string>? ClassNames(Dataset train, IReadOnlyList<string>? given) =>
        train.IsClassification ? (given ?? Enumerable.Range(0, train.ClassCount).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray()) : null;
}
