using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using FastMlp.IO;

namespace FastMlp.Cli.Tests;

/// <summary>train / evaluate / predict on the real data sets, run in-process through Cli.Run.</summary>
public partial class EndToEndTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Default_train_reaches_95_percent_within_a_minute_and_saves_the_model()
    {
        string model = _temp.File("model.fmlp");
        CliResult r = CliHarness.Run("train", "--output", model);
        output.WriteLine(r.ToString());
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Err);
        Assert.Contains("data: digits.csv (embedded): 1797 rows, 64 features, 10 classes", r.Out);
        Assert.Matches(@"(?m)^epoch +1/40 ", r.Out);
        Assert.Matches(@"(?m)^epoch 40/40 ", r.Out);
        Assert.DoesNotContain("\r", r.Out); // no live progress bar when not on a terminal
        double accuracy = Percent(Match(r.Out, @"test accuracy: ([0-9.]+)%"));
        Assert.True(accuracy >= 95, $"test accuracy {accuracy}%");
        Assert.Matches(@"throughput: [0-9,]+ samples/s", r.Out);
        Assert.Contains($"model saved to {model}", r.Out);
        Assert.True(r.Elapsed < TimeSpan.FromSeconds(60), $"took {r.Elapsed}");
        Model loaded = ModelFile.Load(model);
        Assert.Equal(64, loaded.Network.InputSize);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => i.ToString(CultureInfo.InvariantCulture)), loaded.ClassNames!);
    }

    [Fact]
    public void Digits_train_evaluate_predict()
    {
        string data = CliHarness.DataFile("digits.csv"), model = _temp.File("digits.fmlp");
        CliResult train = CliHarness.Run("train", "--data", data, "--epochs", "8", "--hidden", "32", "--output", model, "--quiet");
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.True(Percent(Match(train.Out, @"test accuracy: ([0-9.]+)%")) >= 90, train.Out);

        CliResult eval = CliHarness.Run("evaluate", "--model", model, "--data", data);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.True(Percent(Match(eval.Out, @"accuracy: ([0-9.]+)%")) >= 90, eval.Out);
        Assert.Contains("confusion matrix", eval.Out);
        Assert.Matches(@"(?m)^9 +(\d+ +){9}\d+$", eval.Out);

        CliResult predict = CliHarness.Run("predict", "--model", model, "--data", data);
        Assert.True(predict.ExitCode == 0, predict.ToString());
        string[] lines = Lines(predict.Out);
        Assert.Equal(1798, lines.Length);
        Assert.Equal("predicted," + string.Join(",", Enumerable.Range(0, 10).Select(i => $"p_{i}")), lines[0]);
        string[] first = lines[1].Split(',');
        Assert.Equal(11, first.Length);
        double sum = first.Skip(1).Sum(v => double.Parse(v, CultureInfo.InvariantCulture));
        Assert.InRange(sum, 0.999, 1.001);
        Assert.Equal(first.Skip(1).Select((v, i) => (P: double.Parse(v, CultureInfo.InvariantCulture), I: i)).MaxBy(t => t.P).I.ToString(CultureInfo.InvariantCulture), first[0]);
    }

    [Fact]
    public void Iris_text_labels_round_trip_through_the_model()
    {
        string data = CliHarness.DataFile("iris.csv"), model = _temp.File("iris.fmlp");
        CliResult train = CliHarness.Run("train", "--data", data, "--hidden", "16", "--activation", "tanh", "--lr", "0.01",
            "--batch-size", "16", "--epochs", "150", "--output", model, "--quiet");
        output.WriteLine(train.ToString());
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("3 classes (setosa, versicolor, virginica), target \"species\"", train.Out);
        Assert.True(Percent(Match(train.Out, @"test accuracy: ([0-9.]+)%")) >= 90, train.Out);

        CliResult eval = CliHarness.Run("evaluate", "-m", model, "-d", data);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Matches(@"actual\\pred +setosa +versicolor +virginica", eval.Out);
        Assert.True(Percent(Match(eval.Out, @"accuracy: ([0-9.]+)%")) >= 90, eval.Out);

        // Features only, from standard input; the target column is optional.
        string csv = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n";
        CliResult predict = CliHarness.RunWithInput(csv, "predict", "--model", model);
        Assert.True(predict.ExitCode == 0, predict.ToString());
        string[] lines = Lines(predict.Out);
        Assert.Equal(["predicted,p_setosa,p_versicolor,p_virginica"], lines[..1]);
        Assert.StartsWith("setosa,", lines[1]);
        Assert.StartsWith("virginica,", lines[2]);
        CliResult withTarget = CliHarness.Run("predict", "--model", model, "--data", data);
        Assert.True(withTarget.ExitCode == 0, withTarget.ToString());
        Assert.Equal(151, Lines(withTarget.Out).Length);
    }

    [Fact]
    public void Diabetes_is_inferred_as_regression_and_scored_in_target_units()
    {
        string data = CliHarness.DataFile("diabetes.csv"), model = _temp.File("diabetes.fmlp");
        CliResult train = CliHarness.Run("train", "--data", data, "--hidden", "16", "--activation", "tanh", "--lr", "0.003",
            "--epochs", "150", "--weight-decay", "0.001", "--validation", "0.2", "--patience", "30", "--output", model, "--quiet");
        output.WriteLine(train.ToString());
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("regression, target \"progression\"", train.Out);
        double r2 = double.Parse(Match(train.Out, @"test R2: (-?[0-9.]+)"), CultureInfo.InvariantCulture);
        Assert.InRange(r2, 0.3, 1);

        CliResult eval = CliHarness.Run("evaluate", "--model", model, "--data", data, "--target", "progression");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        foreach (string metric in new[] { "MSE:", "RMSE:", "MAE:", "R2:" }) Assert.Contains(metric, eval.Out);
        double rmse = double.Parse(Match(eval.Out, @"RMSE: ([0-9.]+)"), CultureInfo.InvariantCulture);
        Assert.InRange(rmse, 20, 75); // target units: progression is ~25..346

        CliResult predict = CliHarness.Run("predict", "--model", model, "--data", data);
        Assert.True(predict.ExitCode == 0, predict.ToString());
        string[] lines = Lines(predict.Out);
        Assert.Equal("predicted", lines[0]);
        Assert.Equal(443, lines.Length);
        Assert.All(lines.Skip(1), l => Assert.InRange(double.Parse(l, CultureInfo.InvariantCulture), -100, 500));
    }

    [Fact]
    public void Task_and_target_options_override_the_inference()
    {
        string data = CliHarness.DataFile("iris.csv");
        // Predict petal width (column 3) from the other columns: species is a text feature, so that must fail clearly ...
        CliResult text = CliHarness.Run("train", "--data", data, "--target", "3", "--epochs", "2", "--output", _temp.File("a.fmlp"));
        CliHarness.AssertFails(text, 1, "column 5 (\"species\")", "\"setosa\" is not a number");
        // ... while regression on a numeric target of the diabetes set by name works, and classification can be forced.
        CliResult forced = CliHarness.Run("train", "--data", CliHarness.DataFile("diabetes.csv"), "--target", "sex", "--task", "classification",
            "--epochs", "3", "--output", _temp.File("b.fmlp"), "--quiet");
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.Contains("2 classes (1, 2), target \"sex\"", forced.Out);
    }

    [Fact]
    public void Gzipped_csv_learning_curve_and_svg_plot()
    {
        string gz = _temp.File("iris.csv.gz");
        using (var file = File.Create(gz))
        using (var zip = new System.IO.Compression.GZipStream(file, System.IO.Compression.CompressionLevel.Fastest))
            zip.Write(File.ReadAllBytes(CliHarness.DataFile("iris.csv")));
        string curve = _temp.File("curve.csv"), plot = _temp.File("loss.svg");
        CliResult r = CliHarness.Run("train", "--data", gz, "--epochs", "12", "--restarts", "2", "--curve", curve, "--plot", plot,
            "--output", _temp.File("m.fmlp"), "--quiet");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("best of 2 restarts", r.Out);
        string[] rows = File.ReadAllLines(curve);
        Assert.Equal("restart,epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,samples_per_second,seconds", rows[0]);
        Assert.Equal(1 + 2 * 12, rows.Length);
        Assert.StartsWith("2,12,", rows[^1]);
        XDocument svg = XDocument.Parse(File.ReadAllText(plot));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        Assert.Equal(2, svg.Descendants(ns + "polyline").Count()); // training and validation loss
        Assert.Contains(svg.Descendants(ns + "text"), t => t.Value == "validation loss");
    }

    [Fact]
    public void Idx_folder_trains_evaluates_and_predicts()
    {
        string folder = Path.Combine(_temp.Path, "tiny-mnist");
        Directory.CreateDirectory(folder);
        IdxWriter.WriteSet(folder, "train", count: 120, seed: 1);
        IdxWriter.WriteSet(folder, "t10k", count: 40, seed: 2);
        string model = _temp.File("idx.fmlp");
        CliResult train = CliHarness.Run("train", "--data", folder, "--epochs", "30", "--hidden", "16", "--scaling", "minmax", "--output", model, "--quiet");
        output.WriteLine(train.ToString());
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("16 features, 3 classes", train.Out);
        Assert.Contains("40 test (the folder's t10k files)", train.Out);
        Assert.True(Percent(Match(train.Out, @"test accuracy: ([0-9.]+)%")) >= 80, train.Out);
        CliResult eval = CliHarness.Run("evaluate", "--model", model, "--data", folder);
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Contains("data: " + folder + ": 40 rows", eval.Out);
        CliResult predict = CliHarness.Run("predict", "--model", model, "--data", folder);
        Assert.True(predict.ExitCode == 0, predict.ToString());
        Assert.Equal(41, Lines(predict.Out).Length);
    }

    [Fact]
    public void Predict_writes_to_a_file_with_output()
    {
        string model = TrainIris();
        string target = _temp.File("predictions.csv");
        CliResult r = CliHarness.Run("predict", "-m", model, "-d", CliHarness.DataFile("iris.csv"), "-o", target);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal("", r.Out);
        Assert.Equal(151, File.ReadAllLines(target).Length);
    }

    [Fact]
    public void Info_reports_version_simd_kernel_path_and_threads()
    {
        CliResult r = CliHarness.Run("info");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"^fastmlp \d+\.\d+\.\d+", r.Out);
        Assert.Contains("kernel path: " + FastMlp.Kernels.KernelDispatch.Describe(), r.Out);
        Assert.Contains($"threads: {Environment.ProcessorCount}", r.Out);
        Assert.Contains("x86 SIMD: ", r.Out);
        Assert.Contains("Arm SIMD: ", r.Out);
    }

    [Fact]
    public void Bench_reports_latency_and_throughput()
    {
        CliResult r = CliHarness.Run("bench", "--layers", "8-6-3", "--batch-size", "4", "--seconds", "0.05");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("architecture: 8-6(relu)-3(softmax), 75 parameters", r.Out);
        Assert.Matches(@"forward, 1 sample: median [0-9.]+ (ns|us|ms)", r.Out);
        Assert.Matches(@"forward, 1 sample, frozen copy: median [0-9.]+ (ns|us|ms), .* 0 bytes allocated per call", r.Out);
        Assert.Matches(@"training, batch 4 \(adam\): [0-9,]+ samples/s", r.Out);
    }

    [Fact]
    public void Help_lists_every_command_and_option()
    {
        CliResult root = CliHarness.Run("--help");
        Assert.True(root.ExitCode == 0, root.ToString());
        foreach (string command in new[] { "train", "evaluate", "predict", "info", "bench" }) Assert.Contains(command, root.Out);
        CliResult train = CliHarness.Run("train", "--help");
        Assert.True(train.ExitCode == 0, train.ToString());
        foreach (string option in new[] { "--data", "--target", "--task", "--hidden", "--activation", "--output-activation", "--loss", "--optimizer",
            "--lr", "--momentum", "--beta1", "--beta2", "--batch-size", "--epochs", "--scaling", "--validation", "--patience", "--test-split",
            "--seed", "--threads", "--restarts", "--output", "--curve", "--plot", "--quiet" })
            Assert.Contains(option, train.Out);
        Assert.Contains("identical for any count", train.Out);
    }

    private string TrainIris()
    {
        string model = _temp.File("iris-small.fmlp");
        CliResult r = CliHarness.Run("train", "--data", CliHarness.DataFile("iris.csv"), "--epochs", "5", "--output", model, "--quiet");
        Assert.True(r.ExitCode == 0, r.ToString());
        return model;
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    private static string Match(string text, string pattern)
    {
        System.Text.RegularExpressions.Match m = Regex.Match(text, pattern);
        Assert.True(m.Success, $"no match for {pattern} in:\n{text}");
        return m.Groups[1].Value;
    }

    private static double Percent(string text) => double.Parse(text, CultureInfo.InvariantCulture);
}
