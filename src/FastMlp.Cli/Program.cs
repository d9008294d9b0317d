using FastMlp.Cli;

// The fastmlp tool: everything lives in Cli.Run so that tests can call it in-process.
using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (cancellation.IsCancellationRequested) return; // a second Ctrl+C ends the process
    e.Cancel = true;
    cancellation.Cancel();
};
return Cli.Run(args, Console.In, Console.Out, Console.Error, interactive: !Console.IsOutputRedirected, cancellation.Token);
