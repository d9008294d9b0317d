using System.Globalization;
using Sylvan.Data.Csv;

namespace FastMlp.Cli.Data;

/// <summary>
/// A CSV file read into numeric features and (optionally) the raw text of one target column. Header row required;
/// fields may be quoted (RFC 4180). Every problem is a <see cref="CliException"/> naming the source, line and column.
/// </summary>
internal sealed class CsvTable
{
    private CsvTable(string source, string[] columns, int targetColumn, float[] features, int rows, string[]? targets, int[] lines)
    {
        Source = source;
        Columns = columns;
        TargetColumn = targetColumn;
        Features = features;
        Rows = rows;
        Targets = targets;
        Lines = lines;
    }

    /// <summary>The file name (or "standard input") used in messages.</summary>
    public string Source { get; }
    /// <summary>Header names, all columns.</summary>
    public string[] Columns { get; }
    /// <summary>Index of the target column, or -1 when every column is a feature.</summary>
    public int TargetColumn { get; }
    /// <summary>Number of feature columns.</summary>
    public int FeatureCount => TargetColumn < 0 ? Columns.Length : Columns.Length - 1;
    /// <summary>Names of the feature columns.</summary>
    public IEnumerable<string> FeatureNames => Columns.Where((_, i) => i != TargetColumn);
    /// <summary>Name of the target column, or null.</summary>
    public string? TargetName => TargetColumn < 0 ? null : Columns[TargetColumn];
    /// <summary>Features [Rows x FeatureCount], row-major (exactly Rows * FeatureCount long).</summary>
    public float[] Features { get; }
    /// <summary>Number of data rows.</summary>
    public int Rows { get; }
    /// <summary>Target text of each row (trimmed), or null without a target column.</summary>
    public string[]? Targets { get; }
    /// <summary>Line number of each row in the file (1 is the header), for messages.</summary>
    public int[] Lines { get; }

    /// <summary>Where a value sits, for messages: "'file.csv', line 7, column 3 ("bmi")".</summary>
    public string Where(int row, int column) => $"{Quote(Source)}, line {Lines[row]}, column {column + 1} (\"{Columns[column]}\")";

    /// <summary>Opens a CSV or .csv.gz file.</summary>
    public static CsvTable ReadFile(string path, Func<string[], int> chooseTarget)
    {
        using TextReader reader = DataSource.OpenText(path);
        return Read(reader, path, chooseTarget);
    }

    /// <summary>
    /// Reads a whole table. <paramref name="chooseTarget"/> sees the header and returns the target column index (or -1 for
    /// none); it may throw a <see cref="CliException"/>.
    /// </summary>
    public static CsvTable Read(TextReader reader, string source, Func<string[], int> chooseTarget)
    {
        CsvDataReader csv;
        try
        {
            csv = CsvDataReader.Create(reader, new CsvDataReaderOptions
            {
                HasHeaders = true,
                Delimiter = ',',
                Comment = '\0',
                MaxBufferSize = 1 << 24,
            });
        }
        catch (CsvMissingHeadersException)
        {
            throw new CliException($"{Quote(source)} is empty: a CSV file needs a header row and data rows.");
        }
        catch (CsvFormatException e)
        {
            throw new CliException($"{Quote(source)}, line 1: malformed header row ({e.Message.TrimEnd('.')}).");
        }
        using (csv)
        {
            int width = csv.FieldCount;
            var columns = new string[width];
            int headerLines = 0;
            for (int j = 0; j < width; j++)
            {
                columns[j] = csv.GetName(j).Trim();
                headerLines += NewLines(csv.GetName(j));
            }
            if (width == 0 || (width == 1 && columns[0].Length == 0))
                throw new CliException($"{Quote(source)} is empty: a CSV file needs a header row and data rows.");
            int target = chooseTarget(columns);
            int features = target < 0 ? width : width - 1;
            if (features == 0)
                throw new CliException($"{Quote(source)} has only the target column \"{columns[target]}\"; it needs at least one feature column.");

            var x = new float[Math.Max(features * 1024, 16)];
            var targets = target < 0 ? null : new List<string>(1024);
            var lines = new List<int>(1024);
            int rows = 0;
            int extraLines = headerLines;
            while (true)
            {
                int line = 2 + extraLines + csv.RowNumber; // the record about to be read
                bool more;
                try
                {
                    more = csv.Read();
                }
                catch (CsvRecordTooLargeException)
                {
                    throw new CliException($"{Quote(source)}, line {line}: a record is longer than {1 << 24} characters.");
                }
                catch (CsvFormatException e)
                {
                    throw new CliException($"{Quote(source)}, line {line}: malformed CSV ({e.Message.TrimEnd('.')}).");
                }
                if (!more) break;
                line = 1 + extraLines + csv.RowNumber;
                int fieldCount = csv.RowFieldCount;
                for (int j = 0; j < fieldCount; j++) extraLines += NewLines(csv.GetFieldSpan(j));
                if (fieldCount == 1 && csv.GetFieldSpan(0).IsWhiteSpace())
                    continue; // blank line
                if (fieldCount != width)
                    throw new CliException($"{Quote(source)}, line {line}: {fieldCount} field{(fieldCount == 1 ? "" : "s")}, but the header has {width}.");
                if ((long)(rows + 1) * features > Array.MaxLength)
                    throw new CliException($"{Quote(source)} is too large: more than {Array.MaxLength} feature values.");
                if ((rows + 1) * features > x.Length)
                    Array.Resize(ref x, (int)Math.Min(Array.MaxLength, (long)x.Length * 2));
                int k = rows * features;
                for (int j = 0; j < width; j++)
                {
                    ReadOnlySpan<char> field = csv.GetFieldSpan(j).Trim();
                    if (field.IsEmpty)
                        throw new CliException($"{Quote(source)}, line {line}, column {j + 1} (\"{columns[j]}\"): missing value.");
                    if (j == target)
                    {
                        targets!.Add(field.ToString());
                        continue;
                    }
                    if (!float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
                        throw new CliException($"{Quote(source)}, line {line}, column {j + 1} (\"{columns[j]}\"): \"{Clip(field)}\" is not a number.");
                    if (!float.IsFinite(value))
                        throw new CliException($"{Quote(source)}, line {line}, column {j + 1} (\"{columns[j]}\"): \"{Clip(field)}\" is not a finite number.");
                    x[k++] = value;
                }
                lines.Add(line);
                rows++;
            }
            if (rows == 0)
                throw new CliException($"{Quote(source)} has a header row but no data rows.");
            Array.Resize(ref x, rows * features);
            return new CsvTable(source, columns, target, x, rows, targets?.ToArray(), lines.ToArray());
        }
    }

    /// <summary>
    /// Resolves a --target value against the header: a column name (exact, then case-insensitive), or a 0-based index
    /// (negative counts from the end). Null means the last column.
    /// </summary>
    public static int ResolveTarget(string[] columns, string? spec, string source)
    {
        if (spec is null) return columns.Length - 1;
        int exact = Array.IndexOf(columns, spec);
        if (exact >= 0) return exact;
        int folded = Array.FindIndex(columns, c => string.Equals(c, spec, StringComparison.OrdinalIgnoreCase));
        if (folded >= 0) return folded;
        if (int.TryParse(spec, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index))
        {
            int resolved = index < 0 ? columns.Length + index : index;
            if (resolved >= 0 && resolved < columns.Length) return resolved;
            throw new CliException($"--target {spec}: {Quote(source)} has {columns.Length} columns (0-based indices 0 to {columns.Length - 1}).");
        }
        throw new CliException($"--target \"{spec}\": {Quote(source)} has no such column (columns: {string.Join(", ", columns.Take(12))}{(columns.Length > 12 ? ", ..." : "")}).");
    }

    internal static string Quote(string source) => source == DataSource.StandardInput ? source : $"'{source}'";

    private static string Clip(ReadOnlySpan<char> text) => text.Length <= 40 ? text.ToString() : text[..40].ToString() + "...";

    private static int NewLines(ReadOnlySpan<char> text)
    {
        int count = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n') count++;
            else if (text[i] == '\r' && (i + 1 == text.Length || text[i + 1] != '\n')) count++;
        }
        return count;
    }
}
