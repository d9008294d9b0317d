using System.Globalization;
using System.IO.Compression;
using System.Text;
using FastMlp.Data;
using FastMlp.IO;

namespace FastMlp.Cli.Data;

/// <summary>Classification or regression.</summary>
internal enum TaskKind
{
    Classification,
    Regression,
}

/// <summary>A training set as loaded: the data, an optional predefined test set (IDX folders), and the class names.</summary>
internal sealed record TrainingData(string Source, Dataset Data, Dataset? Test, string[]? ClassNames, string? TargetName);

/// <summary>Turns a --data argument (CSV, .csv.gz, IDX folder, the embedded digits set or standard input) into data sets.</summary>
internal static class DataSource
{
    public const string StandardInput = "standard input";
    public const string EmbeddedDigitsName = "digits.csv (embedded)";
    /// <summary>An integer target with at most this many distinct values is taken as class labels.</summary>
    public const int MaxInferredClasses = 20;

    /// <summary>Opens a text file, decompressing .gz; UTF-8 unless a byte-order mark says otherwise.</summary>
    public static TextReader OpenText(string path)
    {
        RequireFile(path);
        Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
            stream = new GZipStream(stream, CompressionMode.Decompress);
        return new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
    }

    /// <summary>Loads training data: the embedded digits set when <paramref name="path"/> is null.</summary>
    public static TrainingData LoadForTraining(string? path, string? target, TaskKind? task)
    {
        if (path is not null && Directory.Exists(path))
        {
            if (task == TaskKind.Regression)
                throw new CliException($"'{path}' is an IDX image folder, which holds class labels; --task regression does not apply.");
            RequireIdxFolder(path);
            Dataset train = WithGzipErrors(path, () => IdxFile.LoadPart(path, "train"));
            Dataset test = WithGzipErrors(path, () => IdxFile.LoadPart(path, "t10k", train.ClassCount));
            return new TrainingData(path, train, test, IdxClassNames(path, train.ClassCount), "label");
        }
        CsvTable table = path is null ? ReadEmbeddedDigits(target) : WithGzipErrors(path, () => CsvTable.ReadFile(path, columns =>
        {
            if (columns.Length < 2)
                throw new CliException($"'{path}' has {columns.Length} column; training needs feature columns and a target column.");
            return CsvTable.ResolveTarget(columns, target, path);
        }));
        var (data, names) = BuildTrainingSet(table, task);
        return new TrainingData(table.Source, data, null, names, table.TargetName);
    }

    /// <summary>Loads a labelled set for <paramref name="model"/>: a CSV with the model's features plus the target column, or an IDX folder (its t10k part).</summary>
    public static (Dataset Data, string Source) LoadForEvaluation(string path, string? target, Model model)
    {
        int inputs = model.Network.InputSize;
        if (Directory.Exists(path))
        {
            RequireIdxFolder(path, "t10k");
            if (!model.IsClassifier)
                throw new CliException($"'{path}' is an IDX image folder with class labels, but the model is a regressor.");
            Dataset test = WithGzipErrors(path, () => IdxFile.LoadPart(path, "t10k", model.ClassCount));
            if (test.FeatureCount != inputs)
                throw new CliException($"'{path}' has images of {test.FeatureCount} pixels; the model takes {inputs} features.");
            return (test, path);
        }
        CsvTable table = WithGzipErrors(path, () => CsvTable.ReadFile(path, columns =>
        {
            int t = CsvTable.ResolveTarget(columns, target, path);
            if (columns.Length - 1 != inputs)
                throw new CliException($"'{path}' has {columns.Length - 1} feature column{(columns.Length == 2 ? "" : "s")} besides the target \"{columns[t]}\"; the model takes {inputs}.");
            return t;
        }));
        if (model.IsClassifier)
        {
            int[] labels = MapLabels(table, model.ClassNames ?? DefaultNames(model.ClassCount));
            return (Dataset.ForClassification(table.Features, inputs, labels, model.ClassCount), path);
        }
        float[] values = NumericTargets(table, "the model is a regressor");
        return (Dataset.ForRegression(table.Features, inputs, values, 1), path);
    }

    /// <summary>Loads inputs to predict: a CSV with the model's features (and optionally one target column, ignored), an IDX folder's t10k images, or CSV on standard input.</summary>
    public static (float[] Features, int Rows, string Source) LoadForPrediction(string? path, string? target, Model model, TextReader stdin)
    {
        int inputs = model.Network.InputSize;
        if (path is not null && Directory.Exists(path))
        {
            RequireIdxFolder(path, "t10k");
            Dataset images = WithGzipErrors(path, () => IdxFile.LoadPart(path, "t10k"));
            if (images.FeatureCount != inputs)
                throw new CliException($"'{path}' has images of {images.FeatureCount} pixels; the model takes {inputs} features.");
            var features = new float[images.Count * images.FeatureCount];
            images.Features.CopyTo(features);
            return (features, images.Count, path);
        }
        string source = path ?? StandardInput;
        Func<string[], int> choose = columns =>
        {
            if (target is not null)
            {
                int t = CsvTable.ResolveTarget(columns, target, source);
                if (columns.Length - 1 != inputs)
                    throw new CliException($"{CsvTable.Quote(source)} has {columns.Length - 1} feature columns besides \"{columns[t]}\"; the model takes {inputs}.");
                return t;
            }
            if (columns.Length == inputs) return -1;
            if (columns.Length == inputs + 1) return columns.Length - 1;
            throw new CliException($"{CsvTable.Quote(source)} has {columns.Length} column{(columns.Length == 1 ? "" : "s")}; the model takes {inputs} features (a file may also carry one target column, which predict ignores).");
        };
        CsvTable table = path is null ? CsvTable.Read(stdin, source, choose) : WithGzipErrors(path, () => CsvTable.ReadFile(path, choose));
        return (table.Features, table.Rows, source);
    }

    /// <summary>The embedded digits set (1797 8x8 digit images).</summary>
    public static CsvTable ReadEmbeddedDigits(string? target = null)
    {
        using Stream stream = typeof(DataSource).Assembly.GetManifestResourceStream("FastMlp.Cli.digits.csv")
            ?? throw new InvalidOperationException("The embedded digits data set is missing from the fastmlp assembly.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return CsvTable.Read(reader, EmbeddedDigitsName, columns => CsvTable.ResolveTarget(columns, target, EmbeddedDigitsName));
    }

    /// <summary>Parses "classification" or "regression" (or their first letters).</summary>
    public static TaskKind? ParseTask(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null => null,
        "classification" or "classify" or "class" or "c" => TaskKind.Classification,
        "regression" or "regress" or "r" => TaskKind.Regression,
        _ => throw new CliException($"--task \"{text}\" is not a task (expected classification or regression)."),
    };

    /// <summary>
    /// Builds the training set. Without <paramref name="task"/>: a non-numeric target, or an integer target with at most
    /// <see cref="MaxInferredClasses"/> distinct values, is classification; anything else is regression.
    /// </summary>
    internal static (Dataset Data, string[]? ClassNames) BuildTrainingSet(CsvTable table, TaskKind? task)
    {
        string[] y = table.Targets!;
        int firstText = -1;
        bool integers = true;
        var numbers = new double[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            if (!TryNumber(y[i], out numbers[i])) { firstText = i; break; }
            if (numbers[i] != Math.Floor(numbers[i])) integers = false;
        }
        bool numeric = firstText < 0;
        TaskKind kind = task ?? (!numeric ? TaskKind.Classification
            : integers && numbers.Distinct().Take(MaxInferredClasses + 1).Count() <= MaxInferredClasses ? TaskKind.Classification
            : TaskKind.Regression);

        if (kind == TaskKind.Regression)
            return (Dataset.ForRegression(table.Features, table.FeatureCount, NumericTargets(table, "--task regression needs a numeric target"), 1), null);

        string[] names = numeric
            ? numbers.Distinct().Order().Select(Canonical).ToArray()
            : y.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        if (names.Length < 2)
            throw new CliException($"The target column \"{table.TargetName}\" of {CsvTable.Quote(table.Source)} holds a single class (\"{names[0]}\"); classification needs at least 2.");
        if (names.Length > ModelFile.MaxClasses)
            throw new CliException($"The target column \"{table.TargetName}\" of {CsvTable.Quote(table.Source)} holds {names.Length} distinct values; a classifier allows at most {ModelFile.MaxClasses} classes (use --task regression for a numeric target).");
        return (Dataset.ForClassification(table.Features, table.FeatureCount, MapLabels(table, names), names.Length), names);
    }

    /// <summary>Class index of every row's target text (exact name, or the same number written differently).</summary>
    internal static int[] MapLabels(CsvTable table, IReadOnlyList<string> names)
    {
        var byName = new Dictionary<string, int>(StringComparer.Ordinal);
        var byNumber = new Dictionary<double, int>();
        for (int c = 0; c < names.Count; c++)
        {
            byName.TryAdd(names[c], c);
            if (TryNumber(names[c], out double v)) byNumber.TryAdd(v, c);
        }
        string[] y = table.Targets!;
        var labels = new int[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            if (byName.TryGetValue(y[i], out int c) || (TryNumber(y[i], out double v) && byNumber.TryGetValue(v, out c)))
            {
                labels[i] = c;
                continue;
            }
            string known = string.Join(", ", names.Take(10)) + (names.Count > 10 ? ", ..." : "");
            throw new CliException($"{table.Where(i, table.TargetColumn)}: class \"{y[i]}\" is not one the model knows ({known}).");
        }
        return labels;
    }

    internal static string[] DefaultNames(int classes) =>
        Enumerable.Range(0, classes).Select(c => c.ToString(CultureInfo.InvariantCulture)).ToArray();

    private static float[] NumericTargets(CsvTable table, string why)
    {
        string[] y = table.Targets!;
        var values = new float[y.Length];
        for (int i = 0; i < y.Length; i++)
        {
            if (!TryNumber(y[i], out double v) || !float.IsFinite((float)v))
                throw new CliException($"{table.Where(i, table.TargetColumn)}: \"{y[i]}\" is not a number, and {why}.");
            values[i] = (float)v;
        }
        return values;
    }

    private static bool TryNumber(string text, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);

    private static string Canonical(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string[] IdxClassNames(string folder, int classes)
    {
        string name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        return name.Contains("fashion", StringComparison.OrdinalIgnoreCase) && classes == IdxFile.FashionMnistClassNames.Count
            ? [.. IdxFile.FashionMnistClassNames]
            : DefaultNames(classes);
    }

    private static void RequireFile(string path)
    {
        if (Directory.Exists(path))
            throw new CliException($"'{path}' is a folder, not a file.");
        if (!File.Exists(path))
            throw new CliException($"The data file '{path}' does not exist.");
    }

    private static void RequireIdxFolder(string path, string part = "train")
    {
        if (!IdxFile.HasPart(path, part))
            throw new CliException($"The folder '{path}' is not an MNIST-style IDX folder: it lacks {part}-images-idx3-ubyte.gz or {part}-labels-idx1-ubyte.gz.");
    }

    /// <summary>Runs a load and rewrites a gzip decoding failure as a one-sentence message naming the file.</summary>
    private static T WithGzipErrors<T>(string path, Func<T> load)
    {
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new CliException($"The data path '{path}' does not exist.");
        try
        {
            return load();
        }
        catch (InvalidDataException e) when (!e.Message.Contains('\'', StringComparison.Ordinal))
        {
            throw new CliException($"'{path}' could not be decompressed: {e.Message.TrimEnd('.')} (is it really a .gz file?).");
        }
    }
}
