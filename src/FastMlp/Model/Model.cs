using CommunityToolkit.HighPerformance;
using FastMlp.Data;
using FastMlp.Metrics;
using FastMlp.Threading;
using FastMlp.Training;

namespace FastMlp;

/// <summary>
/// A trained network with everything inference needs: the input scaler fitted on the training data,
/// the target scaler (regression), the loss and the class names. <see cref="Predict(ReadOnlySpan{float}, Span{float})"/> takes raw,
/// unscaled inputs and returns values in the original target units.
/// </summary>
public sealed class Model
{
    private readonly ThreadLocal<float[]> _scratch;

    /// <summary>Assembles a model from its parts (e.g. when loading a file).</summary>
    public Model(Network network, LossKind loss, Scaler? inputScaler = null, Scaler? targetScaler = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        Losses.ValidatePairing(loss, network.OutputLayer.Activation);
        if (inputScaler is not null && inputScaler.Width != network.InputSize)
            throw new ArgumentException($"The input scaler has {inputScaler.Width} columns; the network takes {network.InputSize}.", nameof(inputScaler));
        if (targetScaler is not null && targetScaler.Width != network.OutputSize)
            throw new ArgumentException($"The target scaler has {targetScaler.Width} columns; the network has {network.OutputSize} outputs.", nameof(targetScaler));
        if (classNames is not null && classNames.Count != (network.OutputSize == 1 ? 2 : network.OutputSize))
            throw new ArgumentException($"There are {classNames.Count} class names for a network with {network.OutputSize} output(s).", nameof(classNames));
        Network = network;
        Loss = loss;
        InputScaler = inputScaler;
        TargetScaler = targetScaler;
        ClassNames = classNames;
        _scratch = new ThreadLocal<float[]>(() => new float[network.InputSize]);
    }

    /// <summary>The network.</summary>
    public Network Network { get; }
    /// <summary>The loss it was trained with.</summary>
    public LossKind Loss { get; }
    /// <summary>Input scaling applied before the network (null: none).</summary>
    public Scaler? InputScaler { get; }
    /// <summary>Target scaling undone after the network (regression; null: none).</summary>
    public Scaler? TargetScaler { get; }
    /// <summary>Names of the classes (classification), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; }
    /// <summary>True for a classifier: a model with class names (<see cref="Train"/> always names the classes of a classification set).</summary>
    public bool IsClassifier => ClassNames is not null;
    /// <summary>Number of classes of a classifier.</summary>
    public int ClassCount => Network.OutputSize == 1 ? 2 : Network.OutputSize;

    /// <summary>
    /// Trains a model: fits the scalers on <paramref name="train"/>, builds the network
    /// (hidden layers, then the output layer sized by the task), trains it <see cref="ModelOptions.Restarts"/>
    /// times from different seeds and keeps the best by validation loss.
    /// </summary>
    public static ModelTrainingResult Train(Dataset train, ModelOptions options, Dataset? validation = null,
        Action<int, EpochReport>? epochCompleted = null, IReadOnlyList<string>? classNames = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (classNames is not null && (!train.IsClassification || classNames.Count != train.ClassCount))
            throw new ArgumentException($"{classNames.Count} class names were given for a set with {(train.IsClassification ? train.ClassCount + " classes" : "regression targets")}.", nameof(classNames));
        TrainerOptions t = options.Training;
        if (validation is null && t.ValidationFraction > 0)
            (train, validation) = train.Split(t.ValidationFraction, t.Seed);

        ModelPreparation.Prepared p = ModelPreparation.Prepare(train, options);
        Dataset scaledTrain = p.Train;
        Dataset? scaledValidation = validation is null ? null : ModelPreparation.Scale(validation, p.InputScaler, p.TargetScaler);

        using var pool = new WorkerPool(t.Threads);
        Network? bestNet = null;
        TrainingResult? bestResult = null;
        int bestRestart = 0;
        var scores = new double[options.Restarts];
        for (int r = 0; r < options.Restarts && !cancellationToken.IsCancellationRequested; r++)
        {
            var net = new Network(train.FeatureCount, p.Layers);
            int seed = unchecked(t.Seed + r * 7919);
            net.Initialize(seed, options.Initialization);
            using var trainer = new Trainer(net, t with { Seed = seed, ValidationFraction = 0 }, pool);
            int restart = r;
            if (epochCompleted is not null) trainer.EpochCompleted = report => epochCompleted(restart, report);
            TrainingResult result = trainer.Fit(scaledTrain, scaledValidation, cancellationToken);
            scores[r] = result.StopReason == StopReason.Diverged ? double.NaN
                : scaledValidation is not null ? result.BestValidationLoss : result.FinalTrainLoss;
            if (bestNet is null || (!double.IsNaN(scores[r]) && !(scores[r] >= scores[bestRestart])))
            {
                bestNet = net; bestResult = result; bestRestart = r;
            }
        }
        var model = new Model(bestNet!, p.Loss, p.InputScaler, p.TargetScaler, ModelPreparation.ClassNames(train, classNames));
        return new ModelTrainingResult(model, bestResult!, bestRestart, scores);
    }

    /// <summary>Predicts one raw sample: outputs are probabilities (classifier) or values in target units. Thread-safe, no allocation.</summary>
    public void Predict(ReadOnlySpan<float> input, Span<float> output)
    {
        Shapes.RequireLength(input, Network.InputSize, nameof(input));
        ReadOnlySpan<float> x = input;
        if (InputScaler is not null)
        {
            float[] scratch = _scratch.Value!;
            InputScaler.Transform(input, scratch);
            x = scratch;
        }
        Network.Predict(x, output);
        TargetScaler?.InverseInPlace(output);
    }

    /// <summary>Predicts the class index of one raw sample. Thread-safe, no allocation.</summary>
    public int PredictClass(ReadOnlySpan<float> input)
    {
        Shapes.RequireLength(input, Network.InputSize, nameof(input));
        if (InputScaler is null) return Network.PredictClass(input);
        float[] scratch = _scratch.Value!;
        InputScaler.Transform(input, scratch);
        return Network.PredictClass(scratch);
    }

    /// <summary>
    /// A copy for the lowest one-sample latency (<see cref="FrozenModel"/>: the scalers and <see cref="Network.Freeze"/>'s
    /// frozen network); later changes to the network do not reach it.
    /// </summary>
    public FrozenModel Freeze() => new(this);

    /// <summary>Predicts a batch of raw samples [rows x InputSize] into [rows x OutputSize].</summary>
    public void Predict(ReadOnlySpan2D<float> inputs, Span2D<float> outputs)
    {
        if (inputs.Height != outputs.Height)
            throw new ArgumentException($"The batch has {inputs.Height} input rows but {outputs.Height} output rows.", nameof(outputs));
        if (outputs.Width != Network.OutputSize)
            throw new ArgumentException($"'{nameof(outputs)}' has {outputs.Width} columns; expected {Network.OutputSize}.", nameof(outputs));
        for (int r = 0; r < inputs.Height; r++)
            Predict(inputs.GetRowSpan(r), outputs.GetRowSpan(r));
    }

    /// <summary>Accuracy and confusion matrix of a labelled set.</summary>
    public ConfusionMatrix EvaluateClassifier(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (!data.IsClassification)
            throw new ArgumentException("The data set has no class labels.", nameof(data));
        CheckFeatures(data);
        var predicted = new int[data.Count];
        for (int i = 0; i < data.Count; i++) predicted[i] = PredictClass(data.Row(i));
        return new ConfusionMatrix(data.Labels, predicted, Math.Max(ClassCount, data.ClassCount));
    }

    /// <summary>MSE, RMSE, MAE and R² of a regression set, in target units.</summary>
    public RegressionMetrics EvaluateRegressor(Dataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.IsClassification || data.TargetCount != Network.OutputSize)
            throw new ArgumentException($"The data set needs {Network.OutputSize} target column(s).", nameof(data));
        CheckFeatures(data);
        var predicted = new float[data.Count * data.TargetCount];
        for (int i = 0; i < data.Count; i++) Predict(data.Row(i), predicted.AsSpan(i * data.TargetCount, data.TargetCount));
        return RegressionMetrics.Compute(data.TargetArray, predicted);
    }

    private void CheckFeatures(Dataset data)
    {
        if (data.FeatureCount != Network.InputSize)
            throw new ArgumentException($"The data set has {data.FeatureCount} features; the model takes {Network.InputSize}.", nameof(data));
    }
}
