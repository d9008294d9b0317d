using System.Diagnostics;

namespace FastMlp.Cli.Tests;

/// <summary>What one in-process run of the tool returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Err, TimeSpan Elapsed)
{
    public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:F2} s\n--- stdout\n{Out}\n--- stderr\n{Err}";
}

/// <summary>Runs <see cref="Cli.Run(string[], TextReader, TextWriter, TextWriter)"/> in-process and captures its output.</summary>
internal static class CliHarness
{
    public static CliResult Run(params string[] args) => RunWithInput("", args);

    public static CliResult RunWithInput(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var watch = Stopwatch.StartNew();
        int code = Cli.Run(args, new StringReader(stdin), stdout, stderr);
        return new CliResult(code, stdout.ToString(), stderr.ToString(), watch.Elapsed);
    }

    /// <summary>Path of a data set copied into the test output's Data folder (attribution in Data/README.md).</summary>
    public static string DataFile(string name) => Path.Combine(AppContext.BaseDirectory, "Data", name);

    /// <summary>Asserts a failed run: the exit code, nothing but one line on stderr, and the fragments in it.</summary>
    public static void AssertFails(CliResult r, int exitCode, params string[] fragments)
    {
        Assert.True(r.ExitCode == exitCode, r.ToString());
        string err = r.Err.TrimEnd();
        Assert.True(err.Length > 0 && !err.Contains('\n'), $"stderr should be one line:\n{r}");
        Assert.StartsWith("error: ", err);
        foreach (string f in fragments)
            Assert.True(err.Contains(f, StringComparison.Ordinal), $"stderr lacks \"{f}\":\n{r}");
    }
}

/// <summary>A fresh temporary folder per test, deleted afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fastmlp-cli-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string content)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
