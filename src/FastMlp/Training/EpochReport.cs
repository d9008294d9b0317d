namespace FastMlp.Training;

/// <summary>What happened in one epoch; accuracies are NaN for regression, validation figures NaN without a validation set.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean loss over the epoch's steps (weighted by batch rows): each step's loss before its update,
/// as the step computed it, so no second pass over the training set is made.</param>
/// <param name="TrainAccuracy">Fraction of training samples classified correctly during the epoch's forward passes (the
/// steps' own, as for <paramref name="TrainLoss"/>).</param>
/// <param name="ValidationLoss">Loss on the validation set after the epoch.</param>
/// <param name="ValidationAccuracy">Accuracy on the validation set after the epoch.</param>
/// <param name="SamplesPerSecond">Training throughput of the epoch (shuffle, batch gather, forward, backward, update).</param>
/// <param name="Elapsed">Wall time of the epoch, shuffle and validation included.</param>
public readonly record struct EpochReport(int Epoch, double TrainLoss, double TrainAccuracy, double ValidationLoss,
    double ValidationAccuracy, double SamplesPerSecond, TimeSpan Elapsed);

/// <summary>Why training stopped.</summary>
public enum StopReason
{
    /// <summary>The epoch limit was reached.</summary>
    EpochLimit,
    /// <summary>The training loss reached the target.</summary>
    TargetLossReached,
    /// <summary>The validation loss stopped improving for the patience; the best weights were restored.</summary>
    EarlyStopping,
    /// <summary>The loss or gradient became NaN or infinite; the network keeps its last finite weights.</summary>
    Diverged,
    /// <summary>The cancellation token was signalled (checked between steps).</summary>
    Cancelled,
}

/// <summary>The outcome of <see cref="Trainer.Fit(Data.Dataset, Data.Dataset?, CancellationToken)"/>.</summary>
public sealed class TrainingResult
{
    internal TrainingResult(StopReason reason, IReadOnlyList<EpochReport> history, int bestEpoch, double bestValidationLoss, string? message)
    {
        StopReason = reason;
        History = history;
        BestEpoch = bestEpoch;
        BestValidationLoss = bestValidationLoss;
        Message = message;
    }

    /// <summary>Why training stopped.</summary>
    public StopReason StopReason { get; }
    /// <summary>One report per completed epoch.</summary>
    public IReadOnlyList<EpochReport> History { get; }
    /// <summary>Epochs completed.</summary>
    public int Epochs => History.Count;
    /// <summary>Epoch whose weights the network holds when a validation set was used (else the last epoch).</summary>
    public int BestEpoch { get; }
    /// <summary>Validation loss of <see cref="BestEpoch"/> (NaN without validation).</summary>
    public double BestValidationLoss { get; }
    /// <summary>Training loss of the last completed epoch (NaN if none completed).</summary>
    public double FinalTrainLoss => History.Count > 0 ? History[^1].TrainLoss : double.NaN;
    /// <summary>Details for <see cref="StopReason.Diverged"/>, else null.</summary>
    public string? Message { get; }
}

/// <summary>Thrown by a training step whose loss or gradient is NaN or infinite; the parameters were not updated.</summary>
public sealed class TrainingDivergedException(string message) : ArithmeticException(message);
