namespace FastMlp.Training;

/// <summary>First-order optimizers.</summary>
public enum OptimizerKind
{
    /// <summary>Plain gradient descent: w -= lr grad.</summary>
    Sgd,
    /// <summary>The notes' momentum: m = beta m - lr grad; w = w + m.</summary>
    Momentum,
    /// <summary>AdaGrad: per-parameter rates from the accumulated squared gradient.</summary>
    AdaGrad,
    /// <summary>RMSProp: per-parameter rates from a moving average of the squared gradient.</summary>
    RmsProp,
    /// <summary>Adam: bias-corrected moving averages of the gradient and its square.</summary>
    Adam,
}

/// <summary>An optimizer and its hyper-parameters. <see cref="Validate"/> is called by every consumer.</summary>
public sealed record OptimizerOptions
{
    /// <summary>Which optimizer.</summary>
    public OptimizerKind Kind { get; init; } = OptimizerKind.Adam;
    /// <summary>Step size alpha (&gt; 0).</summary>
    public float LearningRate { get; init; } = 0.001f;
    /// <summary>Momentum beta in [0, 1) (the notes' typical 0.9).</summary>
    public float Momentum { get; init; } = 0.9f;
    /// <summary>Adam's first-moment decay in [0, 1).</summary>
    public float Beta1 { get; init; } = 0.9f;
    /// <summary>Adam's second-moment decay in [0, 1).</summary>
    public float Beta2 { get; init; } = 0.999f;
    /// <summary>RMSProp's decay rho in [0, 1).</summary>
    public float Rho { get; init; } = 0.9f;
    /// <summary>Denominator guard of AdaGrad, RMSProp and Adam (&gt; 0).</summary>
    public float Epsilon { get; init; } = 1e-8f;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind))
            throw new ArgumentOutOfRangeException(nameof(Kind), Kind, "Unknown optimizer.");
        Validation.RequirePositive(LearningRate, nameof(LearningRate));
        Validation.RequireInRange(Momentum, 0f, 1f, nameof(Momentum));
        Validation.RequireInRange(Beta1, 0f, 1f, nameof(Beta1));
        Validation.RequireInRange(Beta2, 0f, 1f, nameof(Beta2));
        Validation.RequireInRange(Rho, 0f, 1f, nameof(Rho));
        Validation.RequirePositive(Epsilon, nameof(Epsilon));
    }

    /// <summary>Parses "sgd", "momentum", "adagrad", "rmsprop" or "adam" (case-insensitive).</summary>
    public static OptimizerKind ParseKind(string name) => name.Trim().ToLowerInvariant() switch
    {
        "sgd" => OptimizerKind.Sgd,
        "momentum" => OptimizerKind.Momentum,
        "adagrad" => OptimizerKind.AdaGrad,
        "rmsprop" => OptimizerKind.RmsProp,
        "adam" => OptimizerKind.Adam,
        _ => throw new ArgumentException($"Unknown optimizer '{name}' (expected sgd, momentum, adagrad, rmsprop or adam).", nameof(name)),
    };
}
