using System.Diagnostics;
using FastMlp.Kernels;

namespace FastMlp.Cli.Tests;

/// <summary>
/// The tool started with FASTMLP_ISA set (a process of its own: the variable is read once, when the kernels are first
/// used): a path this CPU lacks, or a word that is no path, ends with exit code 1 and one sentence naming the variable and
/// the available paths; a supported path is used.
/// </summary>
public class KernelPathEnvironmentTests
{
    private static CliResult RunTool(string isa, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "FastMlp.Cli.dll"));
        foreach (string a in args) start.ArgumentList.Add(a);
        start.Environment[KernelDispatch.EnvironmentVariable] = isa;
        var watch = Stopwatch.StartNew();
        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync(), stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), "the tool did not finish within 2 minutes");
        return new CliResult(p.ExitCode, stdout.Result, stderr.Result, watch.Elapsed);
    }

    [Fact]
    public void A_path_this_CPU_lacks_is_a_clear_error()
    {
        KernelPath? missing = Enum.GetValues<KernelPath>().Where(p => !KernelDispatch.IsSupported(p)).Cast<KernelPath?>().FirstOrDefault();
        Assert.True(missing is not null, "every CPU lacks one of Neon and Avx2 (Arm or x86)");
        string name = missing.ToString()!.ToLowerInvariant();
        CliHarness.AssertFails(RunTool(name, "info"), 1,
            $"FASTMLP_ISA={name} asks for a kernel path this CPU does not support; available: {string.Join(", ", KernelDispatch.Available)}.");
    }

    [Fact]
    public void A_word_that_is_no_path_is_a_clear_error()
    {
        CliHarness.AssertFails(RunTool("avx9", "info"), 1, "FASTMLP_ISA=avx9 names no kernel path (expected scalar, vector128, neon, avx2 or avx512;");
    }

    [Fact]
    public void A_supported_path_is_used()
    {
        CliResult r = RunTool("scalar", "info");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("kernel path: Scalar (reference loops)", r.Out, StringComparison.Ordinal);
    }
}
