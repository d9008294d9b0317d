using FastMlp.IO;

namespace FastMlp.Cli.Tests;

/// <summary>Every bad input ends with exit code 1 and one clear sentence on stderr, never a crash.</summary>
public class BadInputTests : IDisposable
{
    private readonly TempFolder _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Malformed_number_names_file_line_and_column()
    {
        string csv = _temp.Write("bad.csv", "a,b,label\n1,2,x\n3,abc,y\n");
        CliHarness.AssertFails(Train(csv), 1, "'" + csv + "', line 3, column 2 (\"b\"): \"abc\" is not a number.");
    }

    [Fact]
    public void Missing_value_names_file_line_and_column()
    {
        string csv = _temp.Write("missing.csv", "a,b,label\n1,2,x\n3,4,y\n5,,x\n");
        CliHarness.AssertFails(Train(csv), 1, "line 4, column 2 (\"b\"): missing value.");
        string target = _temp.Write("missing-target.csv", "a,b,label\n1,2,x\n3,4,\n");
        CliHarness.AssertFails(Train(target), 1, "line 3, column 3 (\"label\"): missing value.");
    }

    [Fact]
    public void Wrong_field_count_names_the_line()
    {
        string csv = _temp.Write("fields.csv", "a,b,label\n1,2,x\n3,4\n");
        CliHarness.AssertFails(Train(csv), 1, "line 3: 2 fields, but the header has 3.");
        string extra = _temp.Write("extra.csv", "a,b,label\n1,2,x,9\n");
        CliHarness.AssertFails(Train(extra), 1, "line 2: 4 fields, but the header has 3.");
    }

    [Fact]
    public void Line_numbers_count_quoted_newlines_and_blank_lines()
    {
        string csv = _temp.Write("quoted.csv", "a,b,label\n1,2,\"multi\nline\"\n\n3,4,\"y\"\n5,oops,x\n");
        CliHarness.AssertFails(Train(csv), 1, "line 6, column 2 (\"b\"): \"oops\" is not a number.");
    }

    [Fact]
    public void Malformed_quoting_and_non_finite_values_are_errors()
    {
        CliHarness.AssertFails(Train(_temp.Write("quote.csv", "a,label\n1,x\n\"2\"z,y\n")), 1, "line 3: malformed CSV");
        CliHarness.AssertFails(Train(_temp.Write("nan.csv", "a,label\n1,x\nNaN,y\n")), 1, "line 3, column 1 (\"a\"): \"NaN\" is not a finite number.");
    }

    [Fact]
    public void Empty_files_and_files_without_rows_are_errors()
    {
        CliHarness.AssertFails(Train(_temp.Write("empty.csv", "")), 1, "is empty");
        CliHarness.AssertFails(Train(_temp.Write("header.csv", "a,b,label\n")), 1, "has a header row but no data rows.");
        CliHarness.AssertFails(Train(_temp.Write("one.csv", "label\n1\n2\n")), 1, "training needs feature columns and a target column.");
        CliHarness.AssertFails(Train(_temp.Write("single.csv", "a,label\n1,x\n2,x\n")), 1, "holds a single class (\"x\")");
    }

    [Fact]
    public void Missing_data_path_is_an_error()
    {
        string path = _temp.File("nowhere.csv");
        CliHarness.AssertFails(Train(path), 1, $"The data path '{path}' does not exist.");
        CliHarness.AssertFails(CliHarness.Run("evaluate", "--model", _temp.File("m.fmlp"), "--data", path), 1, "does not exist");
    }

    [Fact]
    public void Unknown_option_and_bad_values_are_usage_errors()
    {
        CliHarness.AssertFails(CliHarness.Run("train", "--bogus"), 1, "'--bogus'", "fastmlp train --help");
        CliHarness.AssertFails(CliHarness.Run("frobnicate"), 1, "frobnicate");
        CliHarness.AssertFails(CliHarness.Run(), 1, "fastmlp --help");
        CliHarness.AssertFails(CliHarness.Run("train", "--epochs", "many"), 1, "'many'", "--epochs");
        CliHarness.AssertFails(CliHarness.Run("train", "--lr", "0"), 1, "--lr 0: the learning rate must be a positive number.");
        CliHarness.AssertFails(CliHarness.Run("train", "--optimizer", "lbfgs"), 1, "--optimizer \"lbfgs\": Unknown optimizer 'lbfgs'");
        CliHarness.AssertFails(CliHarness.Run("train", "--hidden", "64,abc"), 1, "--hidden \"64,abc\"");
        CliHarness.AssertFails(CliHarness.Run("train", "--scaling", "log"), 1, "--scaling \"log\"");
        CliHarness.AssertFails(CliHarness.Run("train", "--task", "clustering"), 1, "--task \"clustering\"");
        CliHarness.AssertFails(CliHarness.Run("train", "--patience", "5", "--validation", "0"), 1, "--patience needs a validation set");
        CliHarness.AssertFails(CliHarness.Run("train", "--loss", "bce", "--output-activation", "softmax"), 1, "Binary cross-entropy needs a sigmoid output layer");
        CliHarness.AssertFails(CliHarness.Run("train", "--output", Path.Combine(_temp.Path, "no", "such", "m.fmlp")), 1, "does not exist");
        CliHarness.AssertFails(CliHarness.Run("bench", "--layers", "10"), 1, "--layers \"10\"");
        CliHarness.AssertFails(CliHarness.Run("train", "--data", CliHarness.DataFile("iris.csv"), "--target", "colour"), 1, "--target \"colour\"", "no such column");
    }

    [Fact]
    public void Regression_task_on_text_labels_is_an_error()
    {
        CliResult r = CliHarness.Run("train", "--data", CliHarness.DataFile("iris.csv"), "--task", "regression", "--output", _temp.File("m.fmlp"));
        CliHarness.AssertFails(r, 1, "column 5 (\"species\"): \"setosa\" is not a number, and --task regression needs a numeric target.");
    }

    [Fact]
    public void Wrong_feature_count_at_predict_and_evaluate()
    {
        string model = TrainIris();
        string diabetes = CliHarness.DataFile("diabetes.csv");
        CliHarness.AssertFails(CliHarness.Run("predict", "--model", model, "--data", diabetes), 1, "has 11 columns; the model takes 4 features");
        CliHarness.AssertFails(CliHarness.Run("evaluate", "--model", model, "--data", diabetes), 1, "has 10 feature columns besides the target \"progression\"; the model takes 4.");
        CliHarness.AssertFails(CliHarness.RunWithInput("a,b\n1,2\n", "predict", "--model", model), 1, "standard input has 2 columns; the model takes 4 features");
        string unknown = _temp.Write("unknown-class.csv", "a,b,c,d,species\n1,2,3,4,setosa\n1,2,3,4,tulip\n");
        CliHarness.AssertFails(CliHarness.Run("evaluate", "--model", model, "--data", unknown), 1, "line 3, column 5 (\"species\"): class \"tulip\" is not one the model knows");
    }

    [Fact]
    public void Missing_truncated_corrupted_and_future_models_are_rejected()
    {
        string model = TrainIris();
        byte[] bytes = File.ReadAllBytes(model);
        string iris = CliHarness.DataFile("iris.csv");

        CliHarness.AssertFails(Predict(_temp.File("absent.fmlp"), iris), 1, "does not exist");

        foreach (int length in new[] { 0, 10, 20, bytes.Length / 2, bytes.Length - 1 })
        {
            string truncated = _temp.File($"truncated-{length}.fmlp");
            File.WriteAllBytes(truncated, bytes[..length]);
            CliHarness.AssertFails(Predict(truncated, iris), 1, "truncated");
        }

        // A flipped byte anywhere is caught: in the header by the header checksum, in the bulk by the file checksum.
        foreach (int position in new[] { 20, 40, bytes.Length - 40, bytes.Length - 3 })
        {
            string corrupted = _temp.File($"corrupted-{position}.fmlp");
            byte[] copy = (byte[])bytes.Clone();
            copy[position] ^= 0x10;
            File.WriteAllBytes(corrupted, copy);
            CliHarness.AssertFails(Predict(corrupted, iris), 1, "is corrupted: the", "checksum does not match");
        }

        string future = _temp.File("future.fmlp");
        byte[] newer = (byte[])bytes.Clone();
        newer[8] = 2;
        File.WriteAllBytes(future, newer);
        CliHarness.AssertFails(Predict(future, iris), 1, "uses model format version 2, which is newer than this FastMlp reads (up to version 1)");

        string notModel = _temp.File("not-a-model.fmlp");
        File.Copy(iris, notModel);
        CliHarness.AssertFails(Predict(notModel, iris), 1, "is not a FastMlp model file");

        string longer = _temp.File("trailing.fmlp");
        File.WriteAllBytes(longer, [.. bytes, 0]);
        CliHarness.AssertFails(Predict(longer, iris), 1, "1 unexpected bytes after the model");
    }

    [Fact]
    public void Huge_dimension_header_is_rejected_before_allocating()
    {
        string huge = _temp.File("huge.fmlp");
        File.WriteAllBytes(huge, ModelFileCrafting.Craft(w =>
        {
            w.Write(1 << 20);          // inputs
            w.Write(2);                // layers
            w.Write(1 << 20); w.Write((byte)5); w.Write(0f);  // 2^20 x 2^20 weights
            w.Write(10); w.Write((byte)9); w.Write(0f);
            w.Write((byte)2); w.Write((byte)255); w.Write((byte)255);
            w.Write(0);
        }));
        long before = GC.GetAllocatedBytesForCurrentThread();
        CliHarness.AssertFails(Predict(huge, CliHarness.DataFile("iris.csv")), 1, "parameters", "absurd or corrupted");
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 256L << 20, "loading a huge header allocated a large buffer");
    }

    [Fact]
    public void Idx_files_with_wrong_magic_or_truncated_data_are_rejected()
    {
        string folder = Path.Combine(_temp.Path, "idx");
        Directory.CreateDirectory(folder);
        IdxWriter.WriteSet(folder, "train", 30, 1);
        IdxWriter.WriteSet(folder, "t10k", 9, 2);
        string images = Path.Combine(folder, "train-images-idx3-ubyte.gz");
        byte[] good = IdxWriter.Images(new byte[30 * 16], 30, 4, 4);

        byte[] wrongMagic = (byte[])good.Clone();
        wrongMagic[3] = 0x01;
        IdxWriter.WriteGz(images, wrongMagic);
        CliHarness.AssertFails(Train(folder), 1, "is not an IDX image file: its magic number is 0x00000801, expected 0x00000803.");

        IdxWriter.WriteGz(images, good[..(good.Length - 5)]);
        CliHarness.AssertFails(Train(folder), 1, "is truncated: it declares 480 data bytes but ends after 475.");

        File.WriteAllBytes(images, [1, 2, 3, 4]);
        CliHarness.AssertFails(Train(folder), 1, "train-images-idx3-ubyte.gz");

        File.Delete(images);
        CliHarness.AssertFails(Train(folder), 1, "is not an MNIST-style IDX folder");
    }

    private CliResult Train(string data) => CliHarness.Run("train", "--data", data, "--epochs", "2", "--output", _temp.File("out.fmlp"));

    private static CliResult Predict(string model, string data) => CliHarness.Run("predict", "--model", model, "--data", data);

    private string TrainIris()
    {
        string model = _temp.File("iris.fmlp");
        CliResult r = CliHarness.Run("train", "--data", CliHarness.DataFile("iris.csv"), "--epochs", "5", "--output", model, "--quiet");
        Assert.True(r.ExitCode == 0, r.ToString());
        return model;
    }
}
