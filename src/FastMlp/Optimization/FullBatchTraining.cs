using FastMlp.Data;
using FastMlp.Threading;
using FastMlp.Training;

namespace FastMlp.Optimization;

/// <summary>The outcome of <see cref="FullBatchTraining.Train"/>: the best model and how every restart ended.</summary>
public sealed class SolverTrainingResult
{
    internal SolverTrainingResult(Model model, SolverResult best, int bestRestart, double[] scores, SolverResult[] all)
    {
        Model = model; Best = best; BestRestart = bestRestart; RestartScores = scores; Restarts = all;
    }

    /// <summary>The trained model (best restart).</summary>
    public Model Model { get; }
    /// <summary>The solver's report for the best restart.</summary>
    public SolverResult Best { get; }
    /// <summary>Index of the best restart.</summary>
    public int BestRestart { get; }
    /// <summary>Score of each restart: validation loss, or final training loss without validation (NaN if it diverged).</summary>
    public IReadOnlyList<double> RestartScores { get; }
    /// <summary>The solver's report for every restart.</summary>
    public IReadOnlyList<SolverResult> Restarts { get; }
}

/// <summary>
/// Trains a <see cref="Model"/> with a full-batch solver (L-BFGS, Newton, scaled conjugate gradient) instead of the
/// first-order <see cref="Trainer"/>: same <see cref="ModelOptions"/> (architecture, initialisation, input scaling,
/// restarts, seed, loss and weight decay from <see cref="ModelOptions.Training"/>; its optimizer, batch size and epochs are
/// not used).
/// </summary>
public static class FullBatchTraining
{
    /// <summary>Creates the solver of the given kind for an objective.</summary>
    public static FullBatchSolver CreateSolver(SolverKind kind, Objective objective, SolverOptions? options = null) => kind switch
    {
        SolverKind.Lbfgs => new Lbfgs(objective, options),
        SolverKind.Newton => new Newton(objective, options),
        SolverKind.ScaledConjugateGradient => new ScaledConjugateGradient(objective, options),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown solver."),
    };

    /// <summary>Parses "lbfgs", "newton" or "scg" (case-insensitive).</summary>
    public static SolverKind ParseKind(string name) => name.Trim().Replace("-", "").Replace("_", "").ToLowerInvariant() switch
    {
        "lbfgs" => SolverKind.Lbfgs,
        "newton" => SolverKind.Newton,
        "scg" or "scaledconjugategradient" => SolverKind.ScaledConjugateGradient,
        _ => throw new ArgumentException($"Unknown solver '{name}' (expected lbfgs, newton or scg).", nameof(name)),
    };

    /// <summary>
    /// Fits the scalers on <paramref name="train"/>, builds and initialises the network, minimises the full-batch loss
    /// with <paramref name="solver"/>, <see cref="ModelOptions.Restarts"/> times from different seeds, and keeps the best
    /// restart by validation loss (training loss without validation).
    /// </summary>
    public static SolverTrainingResult Train(Dataset train, ModelOptions options, SolverKind solver, SolverOptions? solverOptions = null,
        Dataset? validation = null, IReadOnlyList<string>? classNames = null, Action<int, SolverIteration>? iterationCompleted = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        (solverOptions ?? new SolverOptions()).Validate();
        TrainerOptions t = options.Training;
        if (validation is null && t.ValidationFraction > 0)
            (train, validation) = train.Split(t.ValidationFraction, t.Seed);
        ModelPreparation.Prepared p = ModelPreparation.Prepare(train, options);
        Dataset? scaledValidation = validation is null ? null : ModelPreparation.Scale(validation, p.InputScaler, p.TargetScaler);

        Network? bestNet = null;
        SolverResult? best = null;
        int bestRestart = 0;
        var scores = new double[options.Restarts];
        var all = new SolverResult[options.Restarts];
        using var pool = new WorkerPool(t.Threads);
        for (int r = 0; r < options.Restarts; r++)
        {
            var net = new Network(train.FeatureCount, p.Layers);
            net.Initialize(unchecked(t.Seed + r * 7919), options.Initialization);
            var objective = new Objective(net, p.Train, p.Loss, t.WeightDecay, pool);
            FullBatchSolver s = CreateSolver(solver, objective, solverOptions);
            int restart = r;
            if (iterationCompleted is not null) s.IterationCompleted = it => iterationCompleted(restart, it);
            SolverResult result = s.Minimize(cancellationToken);
            all[r] = result;
            scores[r] = result.Stop == SolverStop.Diverged || !double.IsFinite(result.FinalLoss) ? double.NaN
                : scaledValidation is not null ? new Objective(net, scaledValidation, p.Loss, t.WeightDecay).Value() : result.FinalLoss;
            if (bestNet is null || (!double.IsNaN(scores[r]) && !(scores[r] >= scores[bestRestart])))
            {
                bestNet = net; best = result; bestRestart = r;
            }
            if (cancellationToken.IsCancellationRequested) { Array.Resize(ref scores, r + 1); Array.Resize(ref all, r + 1); break; }
        }
        var model = new Model(bestNet!, p.Loss, p.InputScaler, p.TargetScaler,
            ModelPreparation.ClassNames(train, classNames));
        return new SolverTrainingResult(model, best!, bestRestart, scores, all);
    }
}
