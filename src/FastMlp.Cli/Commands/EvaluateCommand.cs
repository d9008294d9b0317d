using System.CommandLine;
using FastMlp.Cli.Data;
using FastMlp.Cli.Output;
using FastMlp.Data;
using FastMlp.Metrics;

namespace FastMlp.Cli.Commands;

/// <summary><c>fastmlp evaluate</c>: score a saved model on labelled data.</summary>
internal static class EvaluateCommand
{
    public static Command Create(CliContext context)
    {
        var model = ModelOption.Create();
        var data = new Option<string>("--data", "-d") { Description = "Labelled data: a CSV or .csv.gz file with the model's feature columns plus the target column, or an IDX folder (its t10k files).", Required = true };
        var target = new Option<string?>("--target") { Description = "Target column: a name or a 0-based index. Default: the last column." };
        var command = new Command("evaluate", "Score a saved model on labelled data: accuracy and confusion matrix, or MSE, RMSE, MAE and R2.") { model, data, target };
        command.SetAction(r => Run(context, r.GetValue(model)!, r.GetValue(data)!, r.GetValue(target)));
        return command;
    }

    private static int Run(CliContext context, string modelPath, string dataPath, string? target)
    {
        TextWriter o = context.Stdout;
        Model model = ModelOption.Load(modelPath);
        (Dataset data, string source) = DataSource.LoadForEvaluation(dataPath, target, model);
        o.WriteLine($"model: {modelPath}: {Text.Architecture(model.Network)}, {(model.IsClassifier ? $"classifier with {model.ClassCount} classes" : "regressor")}");
        o.WriteLine($"data: {source}: {data.Count} rows");
        if (model.IsClassifier)
        {
            ConfusionMatrix cm = model.EvaluateClassifier(data);
            int correct = (int)Math.Round(cm.Accuracy * cm.Total);
            o.WriteLine($"accuracy: {Text.Percent(cm.Accuracy)} ({correct}/{cm.Total})");
            o.WriteLine("confusion matrix (rows: actual class, columns: predicted class):");
            o.Write(cm.ToTable(model.ClassNames));
        }
        else
        {
            RegressionMetrics m = model.EvaluateRegressor(data);
            o.WriteLine($"MSE:  {Text.Number(m.Mse)}");
            o.WriteLine($"RMSE: {Text.Number(m.Rmse)}");
            o.WriteLine($"MAE:  {Text.Number(m.Mae)}");
            o.WriteLine($"R2:   {m.R2.ToString("F4", Text.Invariant)}");
        }
        return Cli.Success;
    }
}
