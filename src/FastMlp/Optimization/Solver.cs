namespace FastMlp.Optimization;

/// <summary>The full-batch solvers of the optimisation study.</summary>
public enum SolverKind
{
    /// <summary>Limited-memory BFGS with a strong-Wolfe line search (<see cref="Lbfgs"/>).</summary>
    Lbfgs,
    /// <summary>Newton's method with the exact Hessian, Cholesky and Levenberg-Marquardt damping (<see cref="Newton"/>).</summary>
    Newton,
    /// <summary>Møller's scaled conjugate gradient (<see cref="ScaledConjugateGradient"/>).</summary>
    ScaledConjugateGradient,
}

/// <summary>Why a full-batch solver stopped.</summary>
public enum SolverStop
{
    /// <summary>The gradient norm fell to <see cref="SolverOptions.GradientTolerance"/>.</summary>
    GradientTolerance,
    /// <summary>The relative loss change of an iteration fell to <see cref="SolverOptions.LossTolerance"/>.</summary>
    LossChange,
    /// <summary><see cref="SolverOptions.MaxIterations"/> iterations were taken.</summary>
    IterationLimit,
    /// <summary>No step along the search direction decreased the loss (usually: converged to float precision).</summary>
    LineSearchFailed,
    /// <summary>The loss or gradient became NaN or infinite; the last finite point is kept.</summary>
    Diverged,
}

/// <summary>Stopping rules shared by the full-batch solvers, plus the L-BFGS history. <see cref="Validate"/> is called by every solver.</summary>
public sealed record SolverOptions
{
    /// <summary>Iteration limit (&gt; 0). 200, as scikit-learn's MLP with solver='lbfgs'.</summary>
    public int MaxIterations { get; init; } = 200;
    /// <summary>Stop when the Euclidean norm of the gradient is at or below this (&gt;= 0).</summary>
    public double GradientTolerance { get; init; } = 1e-5;
    /// <summary>Stop when (J_old - J_new) / max(|J_old|, |J_new|, 1) is at or below this (&gt;= 0); 2.2e-9 is SciPy's default.</summary>
    public double LossTolerance { get; init; } = 2.2e-9;
    /// <summary>L-BFGS: number of (s, y) pairs kept (&gt; 0).</summary>
    public int History { get; init; } = 10;
    /// <summary>L-BFGS: most function evaluations one line search may take (&gt; 0).</summary>
    public int MaxLineSearchSteps { get; init; } = 25;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (MaxIterations <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxIterations), MaxIterations, "The iteration limit must be positive.");
        if (!(GradientTolerance >= 0 && double.IsFinite(GradientTolerance)))
            throw new ArgumentOutOfRangeException(nameof(GradientTolerance), GradientTolerance, "The gradient tolerance must be a finite number >= 0.");
        if (!(LossTolerance >= 0 && double.IsFinite(LossTolerance)))
            throw new ArgumentOutOfRangeException(nameof(LossTolerance), LossTolerance, "The loss tolerance must be a finite number >= 0.");
        if (History <= 0)
            throw new ArgumentOutOfRangeException(nameof(History), History, "The L-BFGS history must hold at least one pair.");
        if (MaxLineSearchSteps <= 0)
            throw new ArgumentOutOfRangeException(nameof(MaxLineSearchSteps), MaxLineSearchSteps, "The line search needs at least one step.");
    }
}

/// <summary>How a full-batch solver ended.</summary>
public sealed class SolverResult
{
    internal SolverResult(SolverStop stop, int iterations, long evaluations, double initialLoss, double finalLoss, double gradientNorm, double[] lossHistory)
    {
        Stop = stop;
        Iterations = iterations;
        Evaluations = evaluations;
        InitialLoss = initialLoss;
        FinalLoss = finalLoss;
        GradientNorm = gradientNorm;
        LossHistory = lossHistory;
    }

    /// <summary>Why it stopped.</summary>
    public SolverStop Stop { get; }
    /// <summary>Iterations taken.</summary>
    public int Iterations { get; }
    /// <summary>Loss (and gradient) evaluations.</summary>
    public long Evaluations { get; }
    /// <summary>Loss at the starting point.</summary>
    public double InitialLoss { get; }
    /// <summary>Loss at the final point (which the network holds).</summary>
    public double FinalLoss { get; }
    /// <summary>Gradient norm at the final point.</summary>
    public double GradientNorm { get; }
    /// <summary>Loss after each iteration; entry 0 is the initial loss.</summary>
    public IReadOnlyList<double> LossHistory { get; }

    /// <inheritdoc/>
    public override string ToString() => $"{Stop} after {Iterations} iterations ({Evaluations} evaluations): loss {InitialLoss:G6} -> {FinalLoss:G6}, |g| {GradientNorm:G3}";
}

/// <summary>Per-iteration callback data: iteration number (1-based), loss and gradient norm after it.</summary>
public readonly record struct SolverIteration(int Iteration, double Loss, double GradientNorm);

/// <summary>Shared plumbing: the loss history, preallocated so iterations allocate nothing.</summary>
public abstract class FullBatchSolver
{
    private protected readonly double[] _history;
    private protected int _historyCount;

    private protected FullBatchSolver(Objective objective, SolverOptions? options)
    {
        ArgumentNullException.ThrowIfNull(objective);
        options ??= new SolverOptions();
        options.Validate();
        Objective = objective;
        Options = options;
        _history = new double[options.MaxIterations + 1];
    }

    /// <summary>The objective minimised.</summary>
    public Objective Objective { get; }
    /// <summary>The options.</summary>
    public SolverOptions Options { get; }
    /// <summary>Called after every iteration (must not allocate if the caller cares about zero allocation).</summary>
    public Action<SolverIteration>? IterationCompleted { get; set; }

    /// <summary>Minimises the objective from the network's current parameters; the network ends at the final point.</summary>
    public abstract SolverResult Minimize(CancellationToken cancellationToken = default);

    private protected void Record(int iteration, double loss, double gradientNorm)
    {
        if (_historyCount < _history.Length) _history[_historyCount++] = loss;
        IterationCompleted?.Invoke(new SolverIteration(iteration, loss, gradientNorm));
    }

    private protected SolverResult Finish(SolverStop stop, int iterations, long evaluations, double finalLoss, double gradientNorm) =>
        new(stop, iterations, evaluations, _history[0], finalLoss, gradientNorm, _history.AsSpan(0, _historyCount).ToArray());

    private protected static bool Converged(double oldLoss, double newLoss, double tolerance) =>
        (oldLoss - newLoss) / Math.Max(Math.Max(Math.Abs(oldLoss), Math.Abs(newLoss)), 1.0) <= tolerance;
}
