using System.CommandLine;
using System.Reflection;
using System.Text.RegularExpressions;
using FastMlp.Cli.Commands;
using FastMlp.Kernels;
using FastMlp.Training;

namespace FastMlp.Cli;

/// <summary>
/// The fastmlp command line. <see cref="Run(string[], TextWriter, TextWriter)"/> is the whole program, callable in-process:
/// it returns the exit code (0 success, 1 bad usage or bad input, 2 internal error) and writes errors to
/// <c>stderr</c> as one sentence.
/// </summary>
public static partial class Cli
{
    /// <summary>Exit code of a successful run.</summary>
    public const int Success = 0;
    /// <summary>Exit code of bad usage or bad input (a message on stderr says which).</summary>
    public const int BadInput = 1;
    /// <summary>Exit code of an internal error (a bug).</summary>
    public const int InternalError = 2;

    /// <summary>Runs the tool with standard input from the console.</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) =>
        Run(args, Console.In, stdout, stderr);

    /// <summary>Runs the tool; <paramref name="stdin"/> feeds <c>predict</c> when it has no <c>--data</c>.</summary>
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        Run(args, stdin, stdout, stderr, interactive: false, CancellationToken.None);

    /// <summary>Runs the tool; <paramref name="interactive"/> enables the live progress bar (stdout is a terminal).</summary>
    public static int Run(string[] args, TextReader stdin, TextWriter stdout, TextWriter stderr, bool interactive, CancellationToken cancellation)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdin);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var context = new CliContext(stdin, stdout, stderr, interactive, cancellation);
        RootCommand root = BuildRoot(context);
        try
        {
            ParseResult parse = root.Parse(args);
            if (parse.Errors.Count > 0)
            {
                string command = parse.CommandResult.Command == root ? "fastmlp" : $"fastmlp {parse.CommandResult.Command.Name}";
                // An unknown word says more than "Required command was not provided", which it often causes.
                string message = parse.Errors.Select(e => e.Message).OrderBy(m => m.StartsWith("Unrecognized", StringComparison.Ordinal) ? 0 : 1).First();
                stderr.WriteLine($"error: {Sentence(message)} Run '{command} --help' for usage.");
                return BadInput;
            }
            return parse.Invoke(new InvocationConfiguration
            {
                Output = stdout,
                Error = stderr,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
            });
        }
        catch (Exception e) when (IsBadInput(e))
        {
            stdout.Flush();
            stderr.WriteLine($"error: {Describe(e)}");
            return BadInput;
        }
        catch (Exception e)
        {
            stdout.Flush();
            stderr.WriteLine($"internal error: {e.GetType().Name}: {Describe(e)} (please report this with the command line that caused it)");
            return InternalError;
        }
        finally
        {
            stdout.Flush();
            stderr.Flush();
        }
    }

    /// <summary>The tool's version (the assembly's informational version without build metadata).</summary>
    public static string Version
    {
        get
        {
            string? v = typeof(Cli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
            return v is null ? "0.0.0" : v.Split('+')[0];
        }
    }

    private static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand($"fastmlp {Version}: train, evaluate, run and benchmark multilayer perceptrons (FastMlp engine).")
        {
            TrainCommand.Create(context),
            SweepCommand.Create(context),
            EvaluateCommand.Create(context),
            PredictCommand.Create(context),
            InfoCommand.Create(context),
            BenchCommand.Create(context),
        };
        return root;
    }

    private static bool IsBadInput(Exception e) => e is CliException or InvalidDataException or FileNotFoundException
        or DirectoryNotFoundException or UnauthorizedAccessException or IOException or ArgumentException or FormatException
        or TrainingDivergedException or OperationCanceledException or KernelPathNotSupportedException;

    /// <summary>One sentence from an exception: the first line, without the "(Parameter 'x')" suffix of argument exceptions.</summary>
    internal static string Describe(Exception e)
    {
        string message = e switch
        {
            FileNotFoundException f when f.FileName is not null && f.Message.StartsWith("Could not find file", StringComparison.Ordinal) =>
                $"The file '{f.FileName}' does not exist.",
            DirectoryNotFoundException d when d.Message.StartsWith("Could not find a part of the path", StringComparison.Ordinal) =>
                $"A folder on the path does not exist ({d.Message.Split('\'').ElementAtOrDefault(1) ?? d.Message}).",
            _ => e.Message,
        };
        message = message.Split('\n')[0].Trim();
        message = ParameterSuffix().Replace(message, "");
        return Sentence(message);
    }

    private static string Sentence(string message)
    {
        message = message.Trim();
        if (message.Length == 0) return "Unknown error.";
        return message.EndsWith('.') || message.EndsWith('?') || message.EndsWith('!') ? message : message + ".";
    }

    [GeneratedRegex(@"\s*\(Parameter '[^']*'\)\s*$")]
    private static partial Regex ParameterSuffix();
}

/// <summary>Where a command reads and writes, and whether it may draw a live progress bar.</summary>
internal sealed record CliContext(TextReader Stdin, TextWriter Stdout, TextWriter Stderr, bool Interactive, CancellationToken Cancellation);

/// <summary>Bad usage or bad input, reported as one sentence with exit code 1.</summary>
internal sealed class CliException(string message) : Exception(message);
