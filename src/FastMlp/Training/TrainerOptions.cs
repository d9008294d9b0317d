namespace FastMlp.Training;

/// <summary>How a network is trained. <see cref="Validate"/> names the first invalid setting.</summary>
public sealed record TrainerOptions
{
    /// <summary>Use as <see cref="BatchSize"/> for batch gradient descent (the whole set per step).</summary>
    public const int FullBatch = int.MaxValue;

    /// <summary>The loss; null picks <see cref="Losses.DefaultFor"/> of the output activation.</summary>
    public LossKind? Loss { get; init; }
    /// <summary>The optimizer and its hyper-parameters.</summary>
    public OptimizerOptions Optimizer { get; init; } = new();
    /// <summary>Examples per step: 1 is stochastic GD, <see cref="FullBatch"/> is batch GD, anything between is mini-batch GD.</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Epoch limit (passes over the training set).</summary>
    public int Epochs { get; init; } = 100;
    /// <summary>Stop as soon as an epoch's training loss is at or below this value; null to disable.</summary>
    public float? TargetLoss { get; init; }
    /// <summary>L2 penalty on the weights (not biases), &gt;= 0.</summary>
    public float WeightDecay { get; init; }
    /// <summary>Fraction of the training set held out for validation when no validation set is given (0 = none).</summary>
    public double ValidationFraction { get; init; }
    /// <summary>Early stopping: stop after this many epochs without a better validation loss and restore the best weights (0 = off).</summary>
    public int Patience { get; init; }
    /// <summary>Seed of the shuffling (and of the validation split).</summary>
    public int Seed { get; init; }
    /// <summary>Threads a training step may use, the caller's included (0: one per core). Results do not depend on it.</summary>
    public int Threads { get; init; }
    /// <summary>Reshuffle the training set every epoch.</summary>
    public bool Shuffle { get; init; } = true;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Optimizer, nameof(Optimizer));
        Optimizer.Validate();
        if (Loss is { } loss && !Enum.IsDefined(loss))
            throw new ArgumentOutOfRangeException(nameof(Loss), loss, "Unknown loss.");
        if (BatchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "The batch size must be positive.");
        if (Epochs <= 0)
            throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "The number of epochs must be positive.");
        if (TargetLoss is { } t && !(t >= 0 && float.IsFinite(t)))
            throw new ArgumentOutOfRangeException(nameof(TargetLoss), t, "The target loss must be a finite number >= 0.");
        if (!(WeightDecay >= 0 && float.IsFinite(WeightDecay)))
            throw new ArgumentOutOfRangeException(nameof(WeightDecay), WeightDecay, "The weight decay must be a finite number >= 0.");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(ValidationFraction), ValidationFraction, "The validation fraction must be in [0, 1).");
        if (Threads < 0)
            throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "The thread count must be >= 0 (0 means one per core).");
        if (Patience < 0)
            throw new ArgumentOutOfRangeException(nameof(Patience), Patience, "The patience must be >= 0.");
    }
}
