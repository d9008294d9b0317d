using System.Globalization;
using System.Text.Json;

namespace PerfCompare;

/// <summary>
/// <c>dotnet run --project tools/PerfCompare -- BASELINE NEW [--threshold 10]</c>: BASELINE and NEW are
/// BenchmarkDotNet full JSON exports (<c>*-report-full.json</c>) or folders holding them. Exit codes: 0 no
/// regression, 1 at least one regression, 2 bad usage or unreadable input.
/// </summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static int Main(string[] args)
    {
        try
        {
            var paths = new List<string>();
            double threshold = 10;
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] is "--threshold" && i + 1 < args.Length)
                    threshold = double.Parse(args[++i], CultureInfo.InvariantCulture);
                else if (args[i] is "-h" or "--help")
                {
                    Console.WriteLine("usage: PerfCompare BASELINE NEW [--threshold PERCENT]   (files *-report-full.json or folders of them)");
                    return 0;
                }
                else paths.Add(args[i]);
            }
            if (paths.Count != 2)
            {
                Console.Error.WriteLine("usage: PerfCompare BASELINE NEW [--threshold PERCENT]   (files *-report-full.json or folders of them)");
                return 2;
            }
            var baseline = Report.Load(paths[0]);
            var current = Report.Load(paths[1]);
            var result = Comparison.Compare(baseline, current, threshold / 100);
            Console.Write(result.Format(threshold));
            return result.Regressions > 0 ? 1 : 0;
        }
        catch (Exception e) when (e is IOException or JsonException or FormatException or UnauthorizedAccessException or InvalidDataException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }
}

/// <summary>One benchmark's statistics from a BenchmarkDotNet full JSON export (times in nanoseconds per operation).</summary>
public sealed record BenchmarkStats(string Name, double Mean, double StdErr, double CiLower, double CiUpper, int N, double? AllocatedBytes)
{
    /// <summary>True when the confidence interval is usable (N &gt; 1, finite bounds).</summary>
    public bool HasCi => N > 1 && double.IsFinite(CiLower) && double.IsFinite(CiUpper);
}

/// <summary>Reads exports.</summary>
public static class Report
{
    /// <summary>A file, or every *-report-full.json in a folder (recursively).</summary>
    public static Dictionary<string, BenchmarkStats> Load(string path)
    {
        IEnumerable<string> files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path, "*-report-full.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            : [path];
        var all = new Dictionary<string, BenchmarkStats>(StringComparer.Ordinal);
        foreach (var file in files)
            foreach (var b in Parse(File.ReadAllText(file), file))
                all[b.Name] = b;
        if (all.Count == 0) throw new InvalidDataException($"{path}: no benchmarks with statistics found.");
        return all;
    }

    /// <summary>Benchmarks of one export: name = FullName (namespace.type.method(parameters)), plus the job id when not the only one.</summary>
    public static List<BenchmarkStats> Parse(string json, string what)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("Benchmarks", out var benchmarks) || benchmarks.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{what}: not a BenchmarkDotNet JSON export (no \"Benchmarks\" array).");
        var list = new List<BenchmarkStats>();
        foreach (var b in benchmarks.EnumerateArray())
        {
            string name = Str(b, "FullName") ?? $"{Str(b, "Type")}.{Str(b, "Method")}({Str(b, "Parameters")})";
            if (!b.TryGetProperty("Statistics", out var s) || s.ValueKind != JsonValueKind.Object) continue; // failed case
            double lower = double.NaN, upper = double.NaN;
            if (s.TryGetProperty("ConfidenceInterval", out var ci) && ci.ValueKind == JsonValueKind.Object)
            {
                lower = Num(ci, "Lower");
                upper = Num(ci, "Upper");
            }
            double? allocated = b.TryGetProperty("Memory", out var m) && m.ValueKind == JsonValueKind.Object
                ? Num(m, "BytesAllocatedPerOperation") : null;
            list.Add(new BenchmarkStats(name, Num(s, "Mean"), Num(s, "StandardError"), lower, upper, (int)Num(s, "N"), allocated));
        }
        return list;
    }

    private static string? Str(JsonElement e, string p) => e.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static double Num(JsonElement e, string p) =>
        e.TryGetProperty(p, out var v) ? v.ValueKind switch
        {
            JsonValueKind.Number => v.GetDouble(),
            JsonValueKind.String when double.TryParse(v.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) => d, // "NaN"
            _ => double.NaN,
        } : double.NaN;
}

/// <summary>Verdict of one benchmark.</summary>
public enum Verdict
{
    /// <summary>Within the threshold, or the confidence intervals overlap.</summary>
    Same,
    /// <summary>Slower by more than the threshold and the intervals do not overlap.</summary>
    Regression,
    /// <summary>Faster by more than the threshold and the intervals do not overlap.</summary>
    Improvement,
    /// <summary>A side has no confidence interval (N = 1, e.g. a dry run): reported, never failed.</summary>
    NoStatistics,
}

/// <summary>One matched benchmark.</summary>
public sealed record Change(BenchmarkStats Baseline, BenchmarkStats Current, Verdict Verdict)
{
    /// <summary>Relative change of the mean time: +0.12 = 12 % slower (throughput down by 1 - 1/1.12).</summary>
    public double TimeChange => Current.Mean / Baseline.Mean - 1;
}

/// <summary>The comparison of two runs.</summary>
public sealed record Comparison(List<Change> Changes, List<string> OnlyInBaseline, List<string> OnlyInCurrent)
{
    /// <summary>Benchmarks that regressed.</summary>
    public int Regressions => Changes.Count(c => c.Verdict == Verdict.Regression);

    /// <summary>
    /// Matches by name; a regression is a mean time more than <paramref name="threshold"/> (0.10 = 10 %) above the
    /// baseline's with the new 99.9 % confidence interval entirely above the baseline's.
    /// </summary>
    public static Comparison Compare(Dictionary<string, BenchmarkStats> baseline, Dictionary<string, BenchmarkStats> current, double threshold)
    {
        var changes = new List<Change>();
        foreach (var (name, now) in current.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (!baseline.TryGetValue(name, out var before)) continue;
            Verdict verdict;
            double change = now.Mean / before.Mean - 1;
            if (!before.HasCi || !now.HasCi) verdict = Verdict.NoStatistics;
            else if (change > threshold && now.CiLower > before.CiUpper) verdict = Verdict.Regression;
            else if (change < -threshold && now.CiUpper < before.CiLower) verdict = Verdict.Improvement;
            else verdict = Verdict.Same;
            changes.Add(new Change(before, now, verdict));
        }
        return new Comparison(changes,
            baseline.Keys.Where(k => !current.ContainsKey(k)).Order(StringComparer.Ordinal).ToList(),
            current.Keys.Where(k => !baseline.ContainsKey(k)).Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>A markdown table plus a summary line.</summary>
    public string Format(double thresholdPercent)
    {
        var c = CultureInfo.InvariantCulture;
        var w = new StringWriter(c);
        w.WriteLine("| Benchmark | Baseline mean (ns) | ±StdErr | 99.9% CI | New mean (ns) | ±StdErr | 99.9% CI | Time change | Verdict |");
        w.WriteLine("|---|---:|---:|---|---:|---:|---|---:|---|");
        foreach (var ch in Changes)
        {
            var (b, n) = (ch.Baseline, ch.Current);
            w.WriteLine(string.Create(c, $"| {ch.Baseline.Name} | {b.Mean:N1} | {b.StdErr:N1} | [{b.CiLower:N1}; {b.CiUpper:N1}] | {n.Mean:N1} | {n.StdErr:N1} | [{n.CiLower:N1}; {n.CiUpper:N1}] | {ch.TimeChange:+0.0%;-0.0%} | {ch.Verdict} |"));
        }
        foreach (var name in OnlyInBaseline) w.WriteLine($"only in the baseline (not run now): {name}");
        foreach (var name in OnlyInCurrent) w.WriteLine($"new (no baseline): {name}");
        w.WriteLine(string.Create(c,
            $"{Changes.Count} compared, {Regressions} regression(s), {Changes.Count(x => x.Verdict == Verdict.Improvement)} improvement(s), " +
            $"{Changes.Count(x => x.Verdict == Verdict.NoStatistics)} without statistics; threshold {thresholdPercent}% beyond non-overlapping 99.9% CIs."));
        return w.ToString();
    }
}
