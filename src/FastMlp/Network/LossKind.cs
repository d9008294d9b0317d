namespace FastMlp;

/// <summary>The cost function J minimised by training.</summary>
/// <remarks>
/// Normalisation (N samples in the batch, M outputs):
/// <list type="bullet">
/// <item><b>MeanSquaredError</b>: J = 1/(N M) sum_n sum_j (d_j - y_j)^2, as the notes define it; its output
/// sensitivity is delta = -2 (d - y) f'(u) / (N M). Works with any differentiable output activation.</item>
/// <item><b>BinaryCrossEntropy</b>: J = -1/(N M) sum [d ln y + (1 - d) ln(1 - y)], sigmoid output only,
/// evaluated from the logits so it never takes ln(0); delta = (y - d) / (N M).</item>
/// <item><b>CategoricalCrossEntropy</b>: J = -1/N sum_n sum_j d_j ln y_j (natural log), softmax output only,
/// with the fused stable gradient delta = (y - d) / N.</item>
/// </list>
/// </remarks>
public enum LossKind
{
    /// <summary>Mean squared error over samples and outputs.</summary>
    MeanSquaredError,
    /// <summary>Binary cross-entropy (the notes' logistic error), sigmoid output.</summary>
    BinaryCrossEntropy,
    /// <summary>Categorical cross-entropy, softmax output.</summary>
    CategoricalCrossEntropy,
}

/// <summary>Pairing rules between losses and output activations.</summary>
public static class Losses
{
    /// <summary>Throws when <paramref name="loss"/> cannot be trained with <paramref name="output"/> on the output layer.</summary>
    public static void ValidatePairing(LossKind loss, Activation output)
    {
        if (!Enum.IsDefined(loss))
            throw new ArgumentOutOfRangeException(nameof(loss), loss, "Unknown loss.");
        if (!output.IsDifferentiable)
            throw new ArgumentException($"The output activation {output} has no derivative; a step layer can be trained by the perceptron rule only.", nameof(output));
        if (loss == LossKind.BinaryCrossEntropy && output.Kind != ActivationKind.Sigmoid)
            throw new ArgumentException($"Binary cross-entropy needs a sigmoid output layer, not {output}.", nameof(loss));
        if (loss == LossKind.CategoricalCrossEntropy && output.Kind != ActivationKind.Softmax)
            throw new ArgumentException($"Categorical cross-entropy needs a softmax output layer, not {output}.", nameof(loss));
    }

    /// <summary>The natural loss for an output activation: CE for softmax, BCE for sigmoid, MSE otherwise.</summary>
    public static LossKind DefaultFor(Activation output) => output.Kind switch
    {
        ActivationKind.Softmax => LossKind.CategoricalCrossEntropy,
        ActivationKind.Sigmoid => LossKind.BinaryCrossEntropy,
        _ => LossKind.MeanSquaredError,
    };

    /// <summary>Factor that turns the summed per-element loss into J: 1/(N M) for MSE and BCE, 1/N for CE.</summary>
    internal static double Normalizer(LossKind loss, int rows, int outputs) =>
        loss == LossKind.CategoricalCrossEntropy ? 1.0 / rows : 1.0 / ((double)rows * outputs);
}
