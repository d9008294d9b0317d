using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Filters;
using BenchmarkDotNet.Running;

namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/FastMlp.Benchmarks.Peers -- --filter '*'</c>
/// (add <c>--job dry</c> for a CI smoke run; see perf-reports/README.md), or <c>-- --sweep</c> for the in-process GEMM
/// sweep against OpenBLAS (<see cref="GemmSweep"/>).
/// </summary>
public static class Program
{
    /// <summary>Probes the peers, runs the benchmarks the command line selects without the peers that do not load.</summary>
    public static int Main(string[] args)
    {
        // BenchmarkDotNet builds a generated project (under bin/) that references this one and gets its own copy of
        // TorchSharp's native library; that project does not import Directory.Build.* files, but MSBuild reads
        // environment variables as properties and Microsoft.Common.targets imports CustomAfterMicrosoftCommonTargets,
        // so the child build runs the same GLIBCXX patch step on its bin/ (build/WeakenTorchSharpGlibcxx.targets).
        string patchTargets = Path.Combine(AppContext.BaseDirectory, "build", "WeakenTorchSharpGlibcxx.targets");
        if (File.Exists(patchTargets))
            Environment.SetEnvironmentVariable("CustomAfterMicrosoftCommonTargets", patchTargets);
        var skipped = PeerAvailability.ProbeAll();
        if (args.Contains("--sweep"))
            return GemmSweep.Run(skipped);
        // The global config is BenchmarkDotNet's default (loggers, exporters; no job) plus a filter: FastMlpConfig on
        // each class keeps --job in charge.
        var config = DefaultConfig.Instance
            .AddFilter(new SimpleFilter(c => !c.Descriptor.Categories.Any(skipped.ContainsKey)));
        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        foreach (var (peer, reason) in skipped)
            Console.WriteLine($"// peer {peer} was SKIPPED (not measured): {reason}");
        return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
    }
}
