using System.Globalization;
using FastMlp.Data;

namespace FastMlp.Tests;

/// <summary>Loads the small CSV sets copied into Data/ (attribution in Data/README.md). Test-only parser: plain comma-separated, header row.</summary>
internal static class TestData
{
    public static (Dataset Data, string[] ClassNames) Classification(string file)
    {
        var (header, rows) = Read(file);
        int features = header.Length - 1;
        var names = rows.Select(r => r[^1]).Distinct().OrderBy(n => n, StringComparer.Ordinal).ToArray();
        if (names.All(n => int.TryParse(n, out _)))
            names = names.OrderBy(n => int.Parse(n, CultureInfo.InvariantCulture)).ToArray();
        var x = new float[rows.Count * features];
        var y = new int[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            for (int j = 0; j < features; j++) x[i * features + j] = float.Parse(rows[i][j], CultureInfo.InvariantCulture);
            y[i] = Array.IndexOf(names, rows[i][^1]);
        }
        return (Dataset.ForClassification(x, features, y, names.Length), names);
    }

    public static Dataset Regression(string file)
    {
        var (header, rows) = Read(file);
        int features = header.Length - 1;
        var x = new float[rows.Count * features];
        var y = new float[rows.Count];
        for (int i = 0; i < rows.Count; i++)
        {
            for (int j = 0; j < features; j++) x[i * features + j] = float.Parse(rows[i][j], CultureInfo.InvariantCulture);
            y[i] = float.Parse(rows[i][^1], CultureInfo.InvariantCulture);
        }
        return Dataset.ForRegression(x, features, y);
    }

    private static (string[] Header, List<string[]> Rows) Read(string file)
    {
        string[] lines = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Data", file));
        return (lines[0].Split(','), lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(',').Select(f => f.Trim('"')).ToArray()).ToList());
    }
}
