using System.CommandLine;
using System.Globalization;
using System.Text;
using FastMlp.Cli.Data;
using FastMlp.Cli.Output;
using FastMlp.Data;
using FastMlp.IO;
using FastMlp.Metrics;
using FastMlp.Optimization;
using FastMlp.Training;

namespace FastMlp.Cli.Commands;

/// <summary><c>fastmlp train</c>: load data, split, train, report, save.</summary>
internal static class TrainCommand
{
    public const string DefaultOutput = "model.fmlp";

    private sealed record Settings
    {
        public string? Data { get; init; }
        public string? Target { get; init; }
        public string? Task { get; init; }
        public string Hidden { get; init; } = "64";
        public string Activation { get; init; } = "relu";
        public string? OutputActivation { get; init; }
        public string? Loss { get; init; }
        public string Optimizer { get; init; } = "adam";
        public float LearningRate { get; init; }
        public float Momentum { get; init; }
        public float Beta1 { get; init; }
        public float Beta2 { get; init; }
        public float WeightDecay { get; init; }
        public int BatchSize { get; init; }
        public int Epochs { get; init; }
        public string Scaling { get; init; } = "zscore";
        public double Validation { get; init; }
        public int Patience { get; init; }
        public double TestSplit { get; init; }
        public int Seed { get; init; }
        public int Threads { get; init; }
        public int Restarts { get; init; }
        public string Output { get; init; } = DefaultOutput;
        public string? Curve { get; init; }
        public string? Plot { get; init; }
        public bool Quiet { get; init; }
        public string Solver { get; init; } = "first-order";
        public int Iterations { get; init; } = 200;
    }

    public static Command Create(CliContext context)
    {
        var data = new Option<string?>("--data", "-d") { Description = "Training data: a CSV file with a header row, a .csv.gz file, or an MNIST-style IDX folder (train-*/t10k-* idx .gz files). Default: the embedded digits set (1797 8x8 images, 10 classes)." };
        var target = new Option<string?>("--target") { Description = "Target column: a name or a 0-based index (negative counts from the end). Default: the last column." };
        var task = new Option<string?>("--task") { Description = "classification or regression. Default: inferred (a non-numeric target, or an integer target with at most 20 distinct values, is classification)." };
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer widths, comma-separated (e.g. 64,32); 'none' for no hidden layer.", DefaultValueFactory = _ => "64" };
        var activation = new Option<string>("--activation") { Description = "Hidden activation: relu, leakyrelu[:slope], elu[:alpha], tanh, sigmoid, softplus, identity.", DefaultValueFactory = _ => "relu" };
        var outputActivation = new Option<string?>("--output-activation") { Description = "Output activation. Default: softmax for classification (sigmoid with --loss bce), identity for regression." };
        var loss = new Option<string?>("--loss") { Description = "mse, bce (binary cross-entropy, sigmoid output) or ce (categorical cross-entropy, softmax output). Default: the natural loss of the output activation." };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd, momentum, adagrad, rmsprop or adam.", DefaultValueFactory = _ => "adam" };
        var lr = new Option<float>("--lr") { Description = "Learning rate.", DefaultValueFactory = _ => 0.002f };
        var momentum = new Option<float>("--momentum") { Description = "Momentum beta for --optimizer momentum (m = beta m - lr grad; w += m).", DefaultValueFactory = _ => 0.9f };
        var beta1 = new Option<float>("--beta1") { Description = "Adam's first-moment decay.", DefaultValueFactory = _ => 0.9f };
        var beta2 = new Option<float>("--beta2") { Description = "Adam's second-moment decay.", DefaultValueFactory = _ => 0.999f };
        var weightDecay = new Option<float>("--weight-decay") { Description = "L2 penalty on the weights.", DefaultValueFactory = _ => 0f };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Examples per step (1 = stochastic GD; larger than the set = batch GD).", DefaultValueFactory = _ => 32 };
        var epochs = new Option<int>("--epochs", "-e") { Description = "Epoch limit.", DefaultValueFactory = _ => 40 };
        var scaling = new Option<string>("--scaling") { Description = "Input scaling fitted on the training data and stored in the model: minmax, maxabs, zscore, mean or none.", DefaultValueFactory = _ => "zscore" };
        var validation = new Option<double>("--validation") { Description = "Fraction of the training data held out for validation (0 = none); the best validation epoch's weights are kept.", DefaultValueFactory = _ => 0.1 };
        var patience = new Option<int>("--patience") { Description = "Early stopping: stop after this many epochs without a better validation loss (0 = off).", DefaultValueFactory = _ => 0 };
        var testSplit = new Option<double>("--test-split") { Description = "Fraction held out as the test set (seeded, stratified for classification; 0 = none). IDX folders use their t10k files instead.", DefaultValueFactory = _ => 0.25 };
        var seed = new Option<int>("--seed") { Description = "Seed of the splits, the initialisation and the shuffling.", DefaultValueFactory = _ => 42 };
        var threads = new Option<int>("--threads") { Description = "Threads a training step may use (results are identical for any count; small steps stay on one thread).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var restarts = new Option<int>("--restarts") { Description = "Trainings from different random initialisations; the best by validation loss is kept.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output", "-o") { Description = "Where to save the model.", DefaultValueFactory = _ => DefaultOutput };
        var curve = new Option<string?>("--curve") { Description = "Write the per-epoch learning curve to this CSV file." };
        var plot = new Option<string?>("--plot") { Description = "Write an SVG plot of the training and validation loss curves to this file." };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "No live progress bar: plain per-epoch lines, as when the output is redirected." };
        var solver = new Option<string>("--solver") { Description = "first-order (mini-batch --optimizer), or a full-batch second-order solver: lbfgs (L-BFGS, strong Wolfe line search), newton (exact Hessian, at most 2000 parameters) or scg (scaled conjugate gradient).", DefaultValueFactory = _ => "first-order" };
        var iterations = new Option<int>("--iterations") { Description = "Iteration limit of --solver lbfgs, newton or scg (200, as scikit-learn's max_iter).", DefaultValueFactory = _ => 200 };

        var command = new Command("train", "Train a model on a CSV file, a .csv.gz file, an IDX folder or the embedded digits set, report its test score and save it.")
        {
            data, target, task, hidden, activation, outputActivation, loss, optimizer, lr, momentum, beta1, beta2, weightDecay,
            batch, epochs, scaling, validation, patience, testSplit, seed, threads, restarts, output, curve, plot, quiet, solver, iterations,
        };
        command.SetAction(r => Run(context, new Settings
        {
            Data = r.GetValue(data), Target = r.GetValue(target), Task = r.GetValue(task), Hidden = r.GetValue(hidden)!,
            Activation = r.GetValue(activation)!, OutputActivation = r.GetValue(outputActivation), Loss = r.GetValue(loss),
            Optimizer = r.GetValue(optimizer)!, LearningRate = r.GetValue(lr), Momentum = r.GetValue(momentum),
            Beta1 = r.GetValue(beta1), Beta2 = r.GetValue(beta2), WeightDecay = r.GetValue(weightDecay),
            BatchSize = r.GetValue(batch), Epochs = r.GetValue(epochs), Scaling = r.GetValue(scaling)!,
            Validation = r.GetValue(validation), Patience = r.GetValue(patience), TestSplit = r.GetValue(testSplit),
            Seed = r.GetValue(seed), Threads = r.GetValue(threads), Restarts = r.GetValue(restarts), Output = r.GetValue(output)!,
            Curve = r.GetValue(curve), Plot = r.GetValue(plot), Quiet = r.GetValue(quiet),
            Solver = r.GetValue(solver)!, Iterations = r.GetValue(iterations),
        }));
        return command;
    }

    private static int Run(CliContext context, Settings s)
    {
        TextWriter o = context.Stdout;
        ModelOptions options = BuildOptions(s);
        SolverKind? solverKind = ParseSolver(s.Solver);
        if (s.Iterations < 1) throw new CliException($"--iterations {s.Iterations}: the iteration limit must be at least 1.");
        TaskKind? task = DataSource.ParseTask(s.Task);
        CheckOutputs(s);

        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        TrainingData loaded = DataSource.LoadForTraining(s.Data, s.Target, task);
        Dataset all = loaded.Data;
        bool classification = all.IsClassification;
        if (!classification && (options.OutputActivation?.Kind is ActivationKind.Softmax))
            throw new CliException("A softmax output needs class labels; this target is numeric (regression).");

        Dataset train = all;
        Dataset? test = loaded.Test;
        if (test is null && s.TestSplit > 0)
            (train, test) = Split(all, s.TestSplit, s.Seed, "--test-split");
        Dataset? validation = null;
        if (s.Validation > 0)
            (train, validation) = Split(train, s.Validation, s.Seed + 1, "--validation");

        o.WriteLine($"data: {loaded.Source}: {all.Count + (loaded.Test is null ? 0 : loaded.Test.Count)} rows, {all.FeatureCount} features, "
            + (classification ? $"{all.ClassCount} classes ({Names(loaded.ClassNames!)})" : "regression")
            + (loaded.TargetName is null ? "" : $", target \"{loaded.TargetName}\""));
        o.WriteLine($"split: {train.Count} train, {validation?.Count ?? 0} validation, {test?.Count ?? 0} test"
            + (loaded.Test is not null ? " (the folder's t10k files)" : $" (seed {s.Seed})"));
        string hiddenText = options.HiddenLayers.Length == 0 ? "none" : string.Join(",", options.HiddenLayers);
        if (solverKind is { } kind)
        {
            o.WriteLine($"model: hidden {hiddenText} ({options.HiddenActivation}), solver {SolverName(kind)} (full batch), at most {s.Iterations} iterations, "
                + $"{options.InputScaling.ToString().ToLowerInvariant()} scaling" + (s.Restarts > 1 ? $", {s.Restarts} restarts" : ""));
            return RunSolver(context, s, options, kind, loaded, train, validation, test, started);
        }
        o.WriteLine($"model: hidden {hiddenText} ({options.HiddenActivation}), {s.Optimizer.ToLowerInvariant()} lr {Text.Number(s.LearningRate)}, batch {s.BatchSize}, "
            + $"{s.Epochs} epochs, {options.InputScaling.ToString().ToLowerInvariant()} scaling"
            + (s.Restarts > 1 ? $", {s.Restarts} restarts" : "")
            + (s.Patience > 0 ? $", patience {s.Patience}" : ""));
        o.WriteLine($"threads: {s.Threads}");

        var progress = new Progress(o, context.Interactive && !s.Quiet, s.Epochs, s.Restarts, classification);
        var history = new List<(int Restart, EpochReport Report)>();
        double trainSeconds = 0, trainSamples = 0;
        int lastRestart = 0;
        ModelTrainingResult result;
        try
        {
            result = Model.Train(train, options, validation, (restart, report) =>
            {
                if (restart != lastRestart) { progress.Finish(); lastRestart = restart; }
                history.Add((restart, report));
                trainSamples += train.Count;
                trainSeconds += train.Count / Math.Max(report.SamplesPerSecond, 1e-9);
                progress.Epoch(restart, report);
            }, loaded.ClassNames, context.Cancellation);
        }
        finally
        {
            progress.Finish();
        }
        Model model = result.Model;
        double totalSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;

        TrainingResult best = result.Best;
        o.WriteLine($"stopped: {StopText(best)} after {best.Epochs} epoch{(best.Epochs == 1 ? "" : "s")}"
            + (validation is not null && best.BestEpoch > 0 ? $"; kept epoch {best.BestEpoch} (best validation loss {Text.Loss(best.BestValidationLoss)})" : "")
            + (s.Restarts > 1 ? $"; best of {s.Restarts} restarts: #{result.BestRestart + 1} (scores {string.Join(", ", result.RestartScores.Select(Text.Loss))})" : ""));
        if (s.Restarts > 1) o.WriteLine(Spread(result.RestartScores, result.BestRestart, validation is not null));
        if (best.StopReason == StopReason.Diverged && best.Message is not null)
            o.WriteLine($"warning: training diverged ({best.Message.TrimEnd('.')}); try a lower --lr.");
        o.WriteLine($"network: {Text.Architecture(model.Network)}, {model.Network.ParameterCount:N0} parameters, loss {Text.LossName(model.Loss)}");

        ReportTest(o, model, test, classification);
        o.WriteLine($"throughput: {Text.Rate(trainSamples / Math.Max(trainSeconds, 1e-9))} samples/s (training: forward + backward + update); "
            + $"training time {Text.Seconds(trainSeconds)}, total {Text.Seconds(totalSeconds)}");

        ModelFile.Save(model, s.Output);
        o.WriteLine($"model saved to {s.Output}" + (Path.IsPathRooted(s.Output) ? "" : $" ({Path.GetFullPath(s.Output)})"));
        if (s.Curve is not null)
        {
            WriteCurve(s.Curve, history);
            o.WriteLine($"learning curve written to {s.Curve}");
        }
        if (s.Plot is not null)
        {
            File.WriteAllText(s.Plot, PlotCurves(best, loaded.Source, Text.Architecture(model.Network)), new UTF8Encoding(false));
            o.WriteLine($"loss plot written to {s.Plot}");
        }
        if (best.StopReason == StopReason.Cancelled)
            o.WriteLine("training was cancelled; the model holds the weights reached so far.");
        return Cli.Success;
    }

    private static SolverKind? ParseSolver(string text)
    {
        string t = text.Trim().ToLowerInvariant();
        if (t is "first-order" or "firstorder" or "first" or "sgd") return null;
        try { return FullBatchTraining.ParseKind(t); }
        catch (ArgumentException) { throw new CliException($"--solver \"{text}\" is not a solver (expected first-order, lbfgs, newton or scg)."); }
    }

    private static string SolverName(SolverKind kind) => kind switch
    {
        SolverKind.Lbfgs => "lbfgs",
        SolverKind.Newton => "newton",
        _ => "scg",
    };

    /// <summary>The restarts' spread: the notes' point that different initialisations end in different minima.</summary>
    internal static string Spread(IReadOnlyList<double> scores, int best, bool validation)
    {
        double[] finite = scores.Where(double.IsFinite).Order().ToArray();
        if (finite.Length == 0) return $"restarts: {scores.Count}, all diverged";
        double median = finite.Length % 2 == 1 ? finite[finite.Length / 2] : 0.5 * (finite[finite.Length / 2 - 1] + finite[finite.Length / 2]);
        return $"restarts: {scores.Count}, " + (validation ? "validation" : "final training") + $" loss min {Text.Loss(finite[0])}, median {Text.Loss(median)}, max {Text.Loss(finite[^1])}"
            + $" (spread {Text.Loss(finite[^1] - finite[0])}; best #{best + 1}" + (finite.Length < scores.Count ? $"; {scores.Count - finite.Length} diverged)" : ")");
    }

    private static int RunSolver(CliContext context, Settings s, ModelOptions options, SolverKind kind, TrainingData loaded,
        Dataset train, Dataset? validation, Dataset? test, long started)
    {
        TextWriter o = context.Stdout;
        bool classification = train.IsClassification;
        int every = Math.Max(1, s.Iterations / 20);
        var curve = new List<(int Restart, SolverIteration It)>();
        var solverOptions = new SolverOptions { MaxIterations = s.Iterations };
        long trainStart = System.Diagnostics.Stopwatch.GetTimestamp();
        SolverTrainingResult result;
        try
        {
            result = FullBatchTraining.Train(train, options, kind, solverOptions, validation, loaded.ClassNames, (restart, it) =>
            {
                curve.Add((restart, it));
                if (it.Iteration % every == 0 && it.Iteration > 0)
                    o.WriteLine((s.Restarts > 1 ? $"restart {restart + 1} " : "") + $"iteration {it.Iteration}: loss {Text.Loss(it.Loss)}, |gradient| {it.GradientNorm.ToString("G3", Text.Invariant)}");
            }, context.Cancellation);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--solver {s.Solver}: {Cli.Describe(e)}");
        }
        double trainSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(trainStart).TotalSeconds;
        Model model = result.Model;
        SolverResult best = result.Best;
        o.WriteLine($"stopped: {StopText(best.Stop)} after {best.Iterations} iteration{(best.Iterations == 1 ? "" : "s")} ({best.Evaluations} evaluations); "
            + $"loss {Text.Loss(best.InitialLoss)} -> {Text.Loss(best.FinalLoss)}, |gradient| {best.GradientNorm.ToString("G3", Text.Invariant)}"
            + (validation is not null ? $"; validation loss {Text.Loss(result.RestartScores[result.BestRestart])}" : ""));
        if (s.Restarts > 1) o.WriteLine(Spread(result.RestartScores, result.BestRestart, validation is not null));
        o.WriteLine($"network: {Text.Architecture(model.Network)}, {model.Network.ParameterCount:N0} parameters, loss {Text.LossName(model.Loss)}");
        ReportTest(o, model, test, classification);
        o.WriteLine($"training time {Text.Seconds(trainSeconds)}, total {Text.Seconds(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds)}");
        ModelFile.Save(model, s.Output);
        o.WriteLine($"model saved to {s.Output}" + (Path.IsPathRooted(s.Output) ? "" : $" ({Path.GetFullPath(s.Output)})"));
        if (s.Curve is not null)
        {
            var csv = new StringBuilder("restart,iteration,loss,gradient_norm\n");
            foreach (var (restart, it) in curve)
                csv.Append(Text.Invariant, $"{restart + 1},{it.Iteration},{Text.Csv(it.Loss)},{Text.Csv(it.GradientNorm)}\n");
            File.WriteAllText(s.Curve, csv.ToString(), new UTF8Encoding(false));
            o.WriteLine($"learning curve written to {s.Curve}");
        }
        if (s.Plot is not null)
        {
            var points = curve.Where(c => c.Restart == result.BestRestart).Select(c => ((double)c.It.Iteration, c.It.Loss)).ToList();
            string svg = SvgPlot.Render($"{SolverName(kind)}: {Text.Architecture(model.Network)} on {Path.GetFileName(loaded.Source)}", "iteration", "training loss",
                [new SvgPlot.Series("training loss", "#1f77b4", points)]);
            File.WriteAllText(s.Plot, svg, new UTF8Encoding(false));
            o.WriteLine($"loss plot written to {s.Plot}");
        }
        return Cli.Success;
    }

    private static string StopText(SolverStop stop) => stop switch
    {
        SolverStop.GradientTolerance => "gradient tolerance reached",
        SolverStop.LossChange => "loss change below tolerance",
        SolverStop.IterationLimit => "iteration limit",
        SolverStop.LineSearchFailed => "no further decrease along the search direction",
        _ => "diverged",
    };

    private static void ReportTest(TextWriter o, Model model, Dataset? test, bool classification)
    {
        if (test is null) { o.WriteLine("test: none (--test-split 0)"); return; }
        if (classification)
        {
            ConfusionMatrix cm = model.EvaluateClassifier(test);
            int correct = (int)Math.Round(cm.Accuracy * cm.Total);
            o.WriteLine($"test accuracy: {Text.Percent(cm.Accuracy)} ({correct}/{cm.Total})");
        }
        else
        {
            RegressionMetrics m = model.EvaluateRegressor(test);
            o.WriteLine($"test R2: {m.R2.ToString("F4", Text.Invariant)}  RMSE {Text.Number(m.Rmse)}  MAE {Text.Number(m.Mae)}  MSE {Text.Number(m.Mse)} ({test.Count} rows)");
        }
    }

    private static ModelOptions BuildOptions(Settings s)
    {
        if (s.Epochs <= 0) throw new CliException($"--epochs {s.Epochs}: the epoch limit must be at least 1.");
        if (s.BatchSize <= 0) throw new CliException($"--batch-size {s.BatchSize}: the batch size must be at least 1.");
        if (!(s.LearningRate > 0 && float.IsFinite(s.LearningRate))) throw new CliException($"--lr {Text.Number(s.LearningRate)}: the learning rate must be a positive number.");
        RequireUnit(s.Momentum, "--momentum");
        RequireUnit(s.Beta1, "--beta1");
        RequireUnit(s.Beta2, "--beta2");
        if (!(s.WeightDecay >= 0 && float.IsFinite(s.WeightDecay))) throw new CliException($"--weight-decay {Text.Number(s.WeightDecay)}: the weight decay must be a number >= 0.");
        if (!(s.Validation >= 0 && s.Validation < 1)) throw new CliException($"--validation {Text.Number(s.Validation)}: the validation fraction must be in [0, 1).");
        if (!(s.TestSplit >= 0 && s.TestSplit < 1)) throw new CliException($"--test-split {Text.Number(s.TestSplit)}: the test fraction must be in [0, 1).");
        if (s.Patience < 0) throw new CliException($"--patience {s.Patience}: the patience must be >= 0.");
        if (s.Patience > 0 && s.Validation <= 0) throw new CliException("--patience needs a validation set: add --validation with a fraction above 0.");
        if (s.Restarts < 1) throw new CliException($"--restarts {s.Restarts}: at least one training is needed.");
        if (s.Threads < 1) throw new CliException($"--threads {s.Threads}: at least one thread is needed.");

        int[] hidden = ParseHidden(s.Hidden);
        Activation hiddenActivation = Parse(() => FastMlp.Activation.Parse(s.Activation), "--activation", s.Activation);
        if (!hiddenActivation.IsDifferentiable || hiddenActivation.Kind == ActivationKind.Softmax)
            throw new CliException($"--activation {s.Activation}: hidden layers need a differentiable element-wise activation (relu, leakyrelu, elu, tanh, sigmoid, softplus or identity).");
        LossKind? loss = s.Loss is null ? null : ParseLoss(s.Loss);
        Activation? output = s.OutputActivation is not null
            ? Parse(() => FastMlp.Activation.Parse(s.OutputActivation), "--output-activation", s.OutputActivation)
            : loss switch
            {
                LossKind.BinaryCrossEntropy => FastMlp.Activation.Sigmoid,
                LossKind.CategoricalCrossEntropy => FastMlp.Activation.Softmax,
                _ => null,
            };
        if (output is { } a && loss is { } l)
        {
            try { Losses.ValidatePairing(l, a); }
            catch (ArgumentException e) { throw new CliException($"--loss {s.Loss} with output activation {a}: {Cli.Describe(e)}"); }
        }
        OptimizerKind optimizer = Parse(() => OptimizerOptions.ParseKind(s.Optimizer), "--optimizer", s.Optimizer);
        ScalingKind scaling = Parse(() => Scaler.ParseKind(s.Scaling), "--scaling", s.Scaling);
        return new ModelOptions
        {
            HiddenLayers = hidden,
            HiddenActivation = hiddenActivation,
            OutputActivation = output,
            InputScaling = scaling,
            Restarts = s.Restarts,
            Training = new TrainerOptions
            {
                Loss = loss,
                Optimizer = new OptimizerOptions { Kind = optimizer, LearningRate = s.LearningRate, Momentum = s.Momentum, Beta1 = s.Beta1, Beta2 = s.Beta2 },
                BatchSize = s.BatchSize,
                Epochs = s.Epochs,
                WeightDecay = s.WeightDecay,
                Patience = s.Patience,
                Seed = s.Seed,
                Threads = s.Threads,
            },
        };
    }

    private static void CheckOutputs(Settings s)
    {
        foreach ((string? path, string option) in new[] { ((string?)s.Output, "--output"), (s.Curve, "--curve"), (s.Plot, "--plot") })
        {
            if (path is null) continue;
            if (path.Length == 0 || Directory.Exists(path))
                throw new CliException($"{option} '{path}' is not a file path.");
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null && !Directory.Exists(folder))
                throw new CliException($"{option} '{path}': the folder '{folder}' does not exist.");
        }
    }

    internal static int[] ParseHidden(string text)
    {
        string t = text.Trim();
        if (t.Length == 0 || t.Equals("none", StringComparison.OrdinalIgnoreCase)) return [];
        string[] parts = t.Split([',', '-', 'x', ' '], StringSplitOptions.RemoveEmptyEntries);
        var widths = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out widths[i]) || widths[i] <= 0 || widths[i] > 1 << 20)
                throw new CliException($"--hidden \"{text}\": \"{parts[i]}\" is not a layer width (expected positive integers such as 64,32).");
        return widths;
    }

    internal static LossKind ParseLoss(string text) => text.Trim().Replace("-", "").Replace("_", "").ToLowerInvariant() switch
    {
        "mse" or "meansquarederror" or "squarederror" => LossKind.MeanSquaredError,
        "bce" or "binarycrossentropy" or "logistic" => LossKind.BinaryCrossEntropy,
        "ce" or "cce" or "crossentropy" or "categoricalcrossentropy" => LossKind.CategoricalCrossEntropy,
        _ => throw new CliException($"--loss \"{text}\" is not a loss (expected mse, bce or ce)."),
    };

    private static T Parse<T>(Func<T> parse, string option, string text)
    {
        try { return parse(); }
        catch (ArgumentException e) { throw new CliException($"{option} \"{text}\": {Cli.Describe(e)}"); }
    }

    private static void RequireUnit(float value, string option)
    {
        if (!(value >= 0 && value < 1)) throw new CliException($"{option} {Text.Number(value)}: the value must be in [0, 1).");
    }

    private static (Dataset, Dataset) Split(Dataset data, double fraction, int seed, string option)
    {
        if (data.Count < 2)
            throw new CliException($"{option}: {data.Count} row cannot be split; add data or set {option} 0.");
        return data.Split(fraction, seed);
    }

    private static string Names(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(10)) + (names.Count > 10 ? $", ... {names.Count - 10} more" : "");

    private static string StopText(TrainingResult r) => r.StopReason switch
    {
        StopReason.EpochLimit => "epoch limit",
        StopReason.TargetLossReached => "target loss reached",
        StopReason.EarlyStopping => "early stopping",
        StopReason.Diverged => "diverged",
        StopReason.Cancelled => "cancelled",
        _ => r.StopReason.ToString(),
    };

    private static void WriteCurve(string path, List<(int Restart, EpochReport Report)> history)
    {
        var csv = new StringBuilder("restart,epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,samples_per_second,seconds\n");
        foreach (var (restart, r) in history)
            csv.Append(CultureInfo.InvariantCulture, $"{restart + 1},{r.Epoch},{Text.Csv(r.TrainLoss)},{Text.Csv(r.TrainAccuracy)},{Text.Csv(r.ValidationLoss)},{Text.Csv(r.ValidationAccuracy)},{Text.Csv(Math.Round(r.SamplesPerSecond, 1))},{Text.Csv(r.Elapsed.TotalSeconds)}\n");
        File.WriteAllText(path, csv.ToString(), new UTF8Encoding(false));
    }

    private static string PlotCurves(TrainingResult best, string source, string architecture)
    {
        var trainLoss = best.History.Select(r => ((double)r.Epoch, r.TrainLoss)).ToList();
        var validationLoss = best.History.Select(r => ((double)r.Epoch, r.ValidationLoss)).ToList();
        var series = new List<SvgPlot.Series> { new("training loss", "#1f77b4", trainLoss) };
        if (validationLoss.Any(p => !double.IsNaN(p.Item2))) series.Add(new("validation loss", "#d62728", validationLoss, Dashed: true));
        return SvgPlot.Render($"Learning curves: {architecture} on {Path.GetFileName(source)}", "epoch", "loss", series);
    }
}
