using FastMlp.Data;
using FastMlp.Training;

namespace FastMlp;

/// <summary>Everything <see cref="Model.Train"/> needs besides the data.</summary>
public sealed record ModelOptions
{
    /// <summary>Widths of the hidden layers (may be empty for a single-layer model).</summary>
    public int[] HiddenLayers { get; init; } = [64];
    /// <summary>Activation of every hidden layer.</summary>
    public Activation HiddenActivation { get; init; } = Activation.Relu;
    /// <summary>Output activation; null picks softmax for classification and identity for regression.</summary>
    public Activation? OutputActivation { get; init; }
    /// <summary>Weight initialisation; null picks He for ReLU-family layers and Glorot otherwise.</summary>
    public WeightInit? Initialization { get; init; }
    /// <summary>How inputs are scaled (fitted on the training set, stored in the model).</summary>
    public ScalingKind InputScaling { get; init; } = ScalingKind.ZScore;
    /// <summary>Standardise regression targets for training and undo it at prediction (keeps MSE well conditioned for targets in the hundreds).</summary>
    public bool ScaleTargets { get; init; } = true;
    /// <summary>Number of trainings from different random initialisations; the best by validation loss is kept.</summary>
    public int Restarts { get; init; } = 1;
    /// <summary>Training settings (optimizer, batch size, epochs, validation, early stopping, seed).</summary>
    public TrainerOptions Training { get; init; } = new();

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(HiddenLayers, nameof(HiddenLayers));
        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
        for (int i = 0; i < HiddenLayers.Length; i++)
            if (HiddenLayers[i] <= 0)
                throw new ArgumentOutOfRangeException(nameof(HiddenLayers), HiddenLayers[i], $"Hidden layer {i} has {HiddenLayers[i]} units; it needs at least one.");
        if (!HiddenActivation.IsDifferentiable || HiddenActivation.Kind == ActivationKind.Softmax)
            throw new ArgumentException($"Hidden layers cannot use {HiddenActivation}.", nameof(HiddenActivation));
        if (!Enum.IsDefined(InputScaling))
            throw new ArgumentOutOfRangeException(nameof(InputScaling), InputScaling, "Unknown scaling.");
        if (Restarts <= 0)
            throw new ArgumentOutOfRangeException(nameof(Restarts), Restarts, "The number of restarts must be positive.");
        Training.Validate();
    }
}

/// <summary>The result of <see cref="Model.Train"/>: the best model and how every restart ended.</summary>
public sealed class ModelTrainingResult
{
    internal ModelTrainingResult(Model model, TrainingResult best, int bestRestart, double[] restartScores)
    {
        Model = model;
        Best = best;
        BestRestart = bestRestart;
        RestartScores = restartScores;
    }

    /// <summary>The trained model (the best restart).</summary>
    public Model Model { get; }
    /// <summary>Training history of the best restart.</summary>
    public TrainingResult Best { get; }
    /// <summary>Index of the best restart.</summary>
    public int BestRestart { get; }
    /// <summary>Score of each restart: best validation loss, or final training loss without validation (NaN if it diverged).</summary>
    public IReadOnlyList<double> RestartScores { get; }
}
