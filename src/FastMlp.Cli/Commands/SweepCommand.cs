using System.CommandLine;
using System.Globalization;
using System.Text;
using FastMlp.Cli.Data;
using FastMlp.Cli.Output;
using FastMlp.Data;
using FastMlp.Optimization;
using FastMlp.Training;

namespace FastMlp.Cli.Commands;

/// <summary><c>fastmlp sweep-lr</c>: the notes' learning-rate experiment, one loss curve per rate from the same initial weights.</summary>
internal static class SweepCommand
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    public static Command Create(CliContext context)
    {
        var data = new Option<string?>("--data", "-d") { Description = "Training data: CSV (header row), .csv.gz or an IDX folder. Default: the embedded digits set." };
        var target = new Option<string?>("--target") { Description = "Target column: a name or a 0-based index (negative counts from the end). Default: the last column." };
        var task = new Option<string?>("--task") { Description = "classification or regression. Default: inferred from the target." };
        var hidden = new Option<string>("--hidden") { Description = "Hidden layer widths, comma-separated; 'none' for no hidden layer.", DefaultValueFactory = _ => "64" };
        var activation = new Option<string>("--activation") { Description = "Hidden activation.", DefaultValueFactory = _ => "relu" };
        var optimizer = new Option<string>("--optimizer") { Description = "sgd, momentum, adagrad, rmsprop or adam.", DefaultValueFactory = _ => "sgd" };
        var rates = new Option<string>("--rates") { Description = "Comma-separated learning rates (the notes' list by default).", DefaultValueFactory = _ => "0.001,0.003,0.01,0.03,0.1,0.3,1" };
        var epochs = new Option<int>("--epochs", "-e") { Description = "Epochs per rate (with the default full batch: iterations).", DefaultValueFactory = _ => 100 };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Examples per step; 0 = the whole training set (batch gradient descent: one step per epoch).", DefaultValueFactory = _ => 0 };
        var scaling = new Option<string>("--scaling") { Description = "Input scaling: minmax, maxabs, zscore, mean or none.", DefaultValueFactory = _ => "zscore" };
        var testSplit = new Option<double>("--test-split") { Description = "Fraction held out (not used by the sweep) so that it runs on the same training rows as train (0 = use all).", DefaultValueFactory = _ => 0.25 };
        var divergence = new Option<double>("--divergence") { Description = "A run is stopped and marked diverged when its loss exceeds this factor times the initial loss (or is NaN/Inf).", DefaultValueFactory = _ => 10.0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the split, the shared initialisation and the shuffling.", DefaultValueFactory = _ => 42 };
        var curve = new Option<string?>("--curve") { Description = "Write every rate's loss-vs-iteration curve to this CSV file (rate,iteration,loss,diverged)." };
        var plot = new Option<string?>("--plot") { Description = "Write an SVG line chart of the curves, one line per rate." };

        var command = new Command("sweep-lr", "Train the same network from the same initial weights once per learning rate and compare the loss curves; diverging rates are stopped early and marked.")
        {
            data, target, task, hidden, activation, optimizer, rates, epochs, batch, scaling, testSplit, divergence, seed, curve, plot,
        };
        command.SetAction(r => Run(context, r.GetValue(data), r.GetValue(target), r.GetValue(task), r.GetValue(hidden)!, r.GetValue(activation)!,
            r.GetValue(optimizer)!, r.GetValue(rates)!, r.GetValue(epochs), r.GetValue(batch), r.GetValue(scaling)!, r.GetValue(testSplit),
            r.GetValue(divergence), r.GetValue(seed), r.GetValue(curve), r.GetValue(plot)));
        return command;
    }

    internal static float[] ParseRates(string text)
    {
        string[] parts = text.Split([',', ' ', ';'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) throw new CliException("--rates: give at least one learning rate, e.g. 0.01,0.1,1.");
        var rates = new float[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out rates[i]) || !(rates[i] > 0) || !float.IsFinite(rates[i]))
                throw new CliException($"--rates \"{text}\": \"{parts[i]}\" is not a positive learning rate.");
        return rates;
    }

    private static int Run(CliContext context, string? dataPath, string? targetName, string? taskText, string hiddenText, string activationText,
        string optimizerText, string ratesText, int epochs, int batch, string scalingText, double testSplit, double divergence, int seed, string? curvePath, string? plotPath)
    {
        TextWriter o = context.Stdout;
        float[] rates = ParseRates(ratesText);
        if (epochs < 1) throw new CliException($"--epochs {epochs}: the epoch limit must be at least 1.");
        if (batch < 0) throw new CliException($"--batch-size {batch}: the batch size must be >= 0 (0 = full batch).");
        if (!(testSplit >= 0 && testSplit < 1)) throw new CliException($"--test-split {Text.Number(testSplit)}: the test fraction must be in [0, 1).");
        if (!(divergence > 1 && double.IsFinite(divergence))) throw new CliException($"--divergence {Text.Number(divergence)}: the factor must be a number above 1.");
        int[] hidden = TrainCommand.ParseHidden(hiddenText);
        Activation act;
        try { act = Activation.Parse(activationText); }
        catch (ArgumentException e) { throw new CliException($"--activation \"{activationText}\": {Cli.Describe(e)}"); }
        if (!act.IsDifferentiable || act.Kind == ActivationKind.Softmax)
            throw new CliException($"--activation {activationText}: hidden layers need a differentiable element-wise activation.");
        OptimizerKind optimizer;
        try { optimizer = OptimizerOptions.ParseKind(optimizerText); }
        catch (ArgumentException e) { throw new CliException($"--optimizer \"{optimizerText}\": {Cli.Describe(e)}"); }
        ScalingKind scaling;
        try { scaling = Scaler.ParseKind(scalingText); }
        catch (ArgumentException e) { throw new CliException($"--scaling \"{scalingText}\": {Cli.Describe(e)}"); }
        foreach ((string? path, string option) in new[] { (curvePath, "--curve"), (plotPath, "--plot") })
        {
            if (path is null) continue;
            if (path.Length == 0 || Directory.Exists(path)) throw new CliException($"{option} '{path}' is not a file path.");
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null && !Directory.Exists(folder)) throw new CliException($"{option} '{path}': the folder '{folder}' does not exist.");
        }

        TrainingData loaded = DataSource.LoadForTraining(dataPath, targetName, DataSource.ParseTask(taskText));
        Dataset train = loaded.Data;
        if (loaded.Test is null && testSplit > 0)
        {
            if (train.Count < 2) throw new CliException($"--test-split: {train.Count} row cannot be split; add data or set --test-split 0.");
            (train, _) = train.Split(testSplit, seed);
        }
        var options = new ModelOptions
        {
            HiddenLayers = hidden,
            HiddenActivation = act,
            InputScaling = scaling,
            Training = new TrainerOptions
            {
                Optimizer = new OptimizerOptions { Kind = optimizer },
                BatchSize = batch == 0 ? TrainerOptions.FullBatch : batch,
                Epochs = epochs,
                Seed = seed,
            },
        };
        string batchText = batch == 0 || batch >= train.Count ? $"full batch ({train.Count} rows)" : $"batch {batch}";
        o.WriteLine($"data: {loaded.Source}: {train.Count} training rows, {train.FeatureCount} features");
        o.WriteLine($"sweep: hidden {(hidden.Length == 0 ? "none" : string.Join(",", hidden))} ({act}), {optimizer.ToString().ToLowerInvariant()}, {batchText}, {epochs} epochs, "
            + $"{rates.Length} rates from the same initialisation (seed {seed}); diverged = NaN/Inf or loss > {Text.Number(divergence)} x initial");

        string? architecture = null;
        SweepResult result = LearningRateSweep.Run(train, options, rates, divergence, run =>
        {
            int done = run.Losses.Count - 1;
            o.WriteLine(run.Diverged
                ? $"lr {Text.Number(run.Rate)}: DIVERGED, stopped after {done} epoch{(done == 1 ? "" : "s")} ({run.Note})"
                : $"lr {Text.Number(run.Rate)}: loss {Text.Loss(run.Losses[0])} -> {Text.Loss(run.FinalLoss)} after {done} epochs");
        }, context.Cancellation);
        architecture ??= $"{train.FeatureCount}-" + string.Join("-", hidden.Append(train.IsClassification ? train.ClassCount : train.TargetCount));
        o.WriteLine(result.BestIndex >= 0
            ? $"best learning rate: {Text.Number(result.BestRate)} (final loss {Text.Loss(result.Runs[result.BestIndex].FinalLoss)})"
            : "best learning rate: none (every rate diverged)");

        if (curvePath is not null)
        {
            var csv = new StringBuilder("rate,iteration,loss,diverged\n");
            foreach (SweepRun run in result.Runs)
                for (int i = 0; i < run.Losses.Count; i++)
                    csv.Append(CultureInfo.InvariantCulture, $"{Text.Number(run.Rate)},{i},{Text.Csv(run.Losses[i])},{(run.Diverged ? 1 : 0)}\n");
            File.WriteAllText(curvePath, csv.ToString(), new UTF8Encoding(false));
            o.WriteLine($"curves written to {curvePath}");
        }
        if (plotPath is not null)
        {
            double cap = divergence * result.InitialLoss;
            var series = result.Runs.Select((run, i) => new SvgPlot.Series(
                $"lr {Text.Number(run.Rate)}" + (run.Diverged ? " (diverged)" : i == result.BestIndex ? " (best)" : ""),
                Palette[i % Palette.Length],
                run.Losses.Select((l, k) => ((double)k, double.IsFinite(l) && l <= cap ? l : double.NaN)).ToList(),
                Dashed: run.Diverged)).ToList();
            string svg = SvgPlot.Render($"Learning-rate sweep: {architecture} on {Path.GetFileName(loaded.Source)} ({optimizer.ToString().ToLowerInvariant()}, {batchText})",
                batch == 0 ? "iteration (epoch)" : "epoch", "training loss", series);
            File.WriteAllText(plotPath, svg, new UTF8Encoding(false));
            o.WriteLine($"plot written to {plotPath}");
        }
        return Cli.Success;
    }
}
