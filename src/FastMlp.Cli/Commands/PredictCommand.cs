using System.CommandLine;
using System.Text;
using FastMlp.Cli.Data;
using FastMlp.Cli.Output;

namespace FastMlp.Cli.Commands;

/// <summary><c>fastmlp predict</c>: run a saved model over inputs and write CSV.</summary>
internal static class PredictCommand
{
    public static Command Create(CliContext context)
    {
        var model = ModelOption.Create();
        var data = new Option<string?>("--data", "-d") { Description = "Inputs: a CSV or .csv.gz file with the model's feature columns (one extra target column is ignored), or an IDX folder (its t10k images). Default: CSV on standard input." };
        var target = new Option<string?>("--target") { Description = "A target column to ignore: a name or a 0-based index. Default: the last column when the file has one column more than the model's features." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the CSV to this file instead of standard output." };
        var command = new Command("predict", "Run a saved model over inputs and write CSV: the predicted class and the class probabilities, or the predicted values.") { model, data, target, output };
        command.SetAction(r => Run(context, r.GetValue(model)!, r.GetValue(data), r.GetValue(target), r.GetValue(output)));
        return command;
    }

    private static int Run(CliContext context, string modelPath, string? dataPath, string? target, string? outputPath)
    {
        Model model = ModelOption.Load(modelPath);
        (float[] features, int rows, _) = DataSource.LoadForPrediction(dataPath, target, model, context.Stdin);
        if (outputPath is not null)
        {
            using var file = new StreamWriter(outputPath, append: false, new UTF8Encoding(false));
            Write(model, features, rows, file);
        }
        else
        {
            Write(model, features, rows, context.Stdout);
        }
        return Cli.Success;
    }

    private static void Write(Model model, float[] features, int rows, TextWriter o)
    {
        int inputs = model.Network.InputSize, outputs = model.Network.OutputSize;
        var y = new float[outputs];
        var line = new StringBuilder();
        if (model.IsClassifier)
        {
            IReadOnlyList<string> names = model.ClassNames ?? DataSource.DefaultNames(model.ClassCount);
            o.WriteLine("predicted," + string.Join(",", names.Select(n => Text.CsvField("p_" + n))));
            var p = new float[model.ClassCount];
            for (int i = 0; i < rows; i++)
            {
                ReadOnlySpan<float> x = features.AsSpan(i * inputs, inputs);
                model.Predict(x, y);
                int predicted = 0;
                if (outputs == 1) { p[0] = 1 - y[0]; p[1] = y[0]; predicted = y[0] >= 0.5f ? 1 : 0; }
                else
                {
                    y.CopyTo(p, 0);
                    for (int j = 1; j < outputs; j++) if (y[j] > y[predicted]) predicted = j; // same rule as Model.PredictClass
                }
                line.Clear().Append(Text.CsvField(names[predicted]));
                foreach (float v in p) line.Append(',').Append(v.ToString("G6", Text.Invariant));
                o.WriteLine(line);
            }
            return;
        }
        o.WriteLine(outputs == 1 ? "predicted" : string.Join(",", Enumerable.Range(0, outputs).Select(j => $"predicted_{j}")));
        for (int i = 0; i < rows; i++)
        {
            model.Predict(features.AsSpan(i * inputs, inputs), y);
            line.Clear();
            for (int j = 0; j < outputs; j++) line.Append(j == 0 ? "" : ",").Append(y[j].ToString("G7", Text.Invariant));
            o.WriteLine(line);
        }
    }
}
