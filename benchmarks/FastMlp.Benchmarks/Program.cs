using BenchmarkDotNet.Running;

namespace FastMlp.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/FastMlp.Benchmarks -- --filter '*'</c>
/// (add <c>--job dry</c> for a CI smoke run, <c>--job short</c> for a quick look; see perf-reports/README.md).
/// </summary>
public static class Program
{
    /// <summary>Runs the benchmarks the command line selects.</summary>
    public static int Main(string[] args)
    {
        // No global config on purpose: FastMlpConfig is attached to each class, so --job on the command line
        // replaces its default job instead of being ignored (see the remarks on FastMlpConfig).
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        // Non-zero exit when a benchmark failed (a setup check threw, a build failed): CI must go red.
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
