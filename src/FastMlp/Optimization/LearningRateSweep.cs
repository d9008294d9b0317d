using FastMlp.Data;
using FastMlp.Training;

namespace FastMlp.Optimization;

/// <summary>One learning rate of a sweep: the training loss after each epoch (entry 0: before training).</summary>
/// <param name="Rate">The learning rate.</param>
/// <param name="Losses">Full training-set loss before training and after each completed epoch.</param>
/// <param name="Diverged">True when the run was stopped because the loss became NaN/Inf or exceeded the divergence factor times the initial loss.</param>
/// <param name="Note">Why a diverged run was stopped (null otherwise).</param>
public sealed record SweepRun(float Rate, IReadOnlyList<double> Losses, bool Diverged, string? Note)
{
    /// <summary>Last finite loss of the run (NaN when none).</summary>
    public double FinalLoss => Losses.Count > 0 && double.IsFinite(Losses[^1]) ? Losses[^1] : double.NaN;
}

/// <summary>The outcome of a learning-rate sweep.</summary>
/// <param name="InitialLoss">Loss at the shared initialisation.</param>
/// <param name="Runs">One run per rate, in the order given.</param>
/// <param name="BestIndex">Index of the non-diverged run with the lowest final loss (-1 when all diverged).</param>
public sealed record SweepResult(double InitialLoss, IReadOnlyList<SweepRun> Runs, int BestIndex)
{
    /// <summary>The best rate (NaN when every run diverged).</summary>
    public float BestRate => BestIndex >= 0 ? Runs[BestIndex].Rate : float.NaN;
}

/// <summary>
/// The notes' learning-rate experiment: the same network, from the same initial weights, trained once per rate with
/// the same first-order settings; the training loss after every epoch gives one cost-vs-iteration curve per rate. A run
/// whose loss becomes NaN/Inf (the trainer's <see cref="StopReason.Diverged"/>) or exceeds <c>divergenceFactor</c> times
/// the initial loss is stopped early and marked diverged.
/// </summary>
public static class LearningRateSweep
{
    /// <summary>The notes' list: 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.</summary>
    public static IReadOnlyList<float> DefaultRates { get; } = [0.001f, 0.003f, 0.01f, 0.03f, 0.1f, 0.3f, 1f];

    /// <summary>Sweeps <paramref name="rates"/> on <paramref name="network"/>'s current weights (the network itself is not changed).</summary>
    /// <exception cref="ArgumentException">No rates, a rate that is not a positive finite number, or a divergence factor &lt;= 1.</exception>
    public static SweepResult Run(Network network, Dataset train, TrainerOptions training, IReadOnlyList<float>? rates = null,
        double divergenceFactor = 10, Action<SweepRun>? runCompleted = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(training);
        rates ??= DefaultRates;
        if (rates.Count == 0)
            throw new ArgumentException("A sweep needs at least one learning rate.", nameof(rates));
        foreach (float r in rates)
            if (!(r > 0 && float.IsFinite(r)))
                throw new ArgumentOutOfRangeException(nameof(rates), r, $"Learning rate {r} is not a positive finite number.");
        if (!(divergenceFactor > 1 && double.IsFinite(divergenceFactor)))
            throw new ArgumentOutOfRangeException(nameof(divergenceFactor), divergenceFactor, "The divergence factor must be a finite number > 1.");
        training = training with { ValidationFraction = 0, Patience = 0 };
        training.Validate();

        var runs = new List<SweepRun>(rates.Count);
        double initial = double.NaN;
        foreach (float rate in rates)
        {
            Network net = network.Clone();
            using var trainer = new Trainer(net, training with { Optimizer = training.Optimizer with { LearningRate = rate } });
            double start = trainer.Evaluate(train, out _);
            if (double.IsNaN(initial)) initial = start;
            var losses = new List<double>(training.Epochs + 1) { start };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            string? note = null;
            trainer.EpochCompleted = report =>
            {
                double loss = trainer.Evaluate(train, out _);
                losses.Add(loss);
                if (!double.IsFinite(loss)) { note = $"loss {loss} after epoch {report.Epoch}"; stop.Cancel(); }
                else if (loss > divergenceFactor * start) { note = $"loss {loss:G4} > {divergenceFactor:G3} x initial {start:G4} after epoch {report.Epoch}"; stop.Cancel(); }
            };
            TrainingResult result = trainer.Fit(train, null, stop.Token);
            if (result.StopReason == StopReason.Diverged) note ??= result.Message ?? "the loss or gradient became NaN or infinite";
            bool diverged = note is not null;
            var run = new SweepRun(rate, losses, diverged, note);
            runs.Add(run);
            runCompleted?.Invoke(run);
            if (cancellationToken.IsCancellationRequested) break;
        }
        int best = -1;
        for (int i = 0; i < runs.Count; i++)
            if (!runs[i].Diverged && double.IsFinite(runs[i].FinalLoss) && (best < 0 || runs[i].FinalLoss < runs[best].FinalLoss)) best = i;
        return new SweepResult(initial, runs, best);
    }

    /// <summary>
    /// Model-level sweep: fits the input scaler on <paramref name="train"/>, builds the network of <paramref name="options"/>,
    /// initialises it from <see cref="TrainerOptions.Seed"/> and sweeps with <see cref="ModelOptions.Training"/>.
    /// </summary>
    public static SweepResult Run(Dataset train, ModelOptions options, IReadOnlyList<float>? rates = null, double divergenceFactor = 10,
        Action<SweepRun>? runCompleted = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        ModelPreparation.Prepared p = ModelPreparation.Prepare(train, options);
        var net = new Network(train.FeatureCount, p.Layers);
        net.Initialize(options.Training.Seed, options.Initialization);
        return Run(net, p.Train, options.Training with { Loss = p.Loss }, rates, divergenceFactor, runCompleted, cancellationToken);
    }
}
