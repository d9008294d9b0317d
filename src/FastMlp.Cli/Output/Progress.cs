using FastMlp.Training;

namespace FastMlp.Cli.Output;

/// <summary>
/// Per-epoch training progress: a live bar redrawn in place when stdout is a terminal, plain lines otherwise
/// (redirected output, tests, --quiet).
/// </summary>
internal sealed class Progress(TextWriter output, bool live, int epochs, int restarts, bool classification)
{
    private const int BarWidth = 24;
    private int _lastLength;
    private bool _open;

    public void Epoch(int restart, EpochReport r)
    {
        string prefix = restarts > 1 ? $"restart {restart + 1}/{restarts}  " : "";
        string metrics = $"loss {Text.Loss(r.TrainLoss)}"
            + (classification ? $"  acc {Text.Percent(r.TrainAccuracy)}" : "")
            + (double.IsNaN(r.ValidationLoss) ? "" : $"  val loss {Text.Loss(r.ValidationLoss)}")
            + (classification && !double.IsNaN(r.ValidationAccuracy) ? $"  val acc {Text.Percent(r.ValidationAccuracy)}" : "")
            + $"  {Text.Rate(r.SamplesPerSecond)} samples/s";
        string epoch = $"epoch {r.Epoch.ToString(Text.Invariant).PadLeft(epochs.ToString(Text.Invariant).Length)}/{epochs}";
        if (!live)
        {
            output.WriteLine($"{prefix}{epoch}  {metrics}");
            return;
        }
        int filled = (int)Math.Round(BarWidth * (double)r.Epoch / epochs);
        string line = $"{prefix}[{new string('#', filled)}{new string('.', BarWidth - filled)}] {epoch}  {metrics}";
        int width = TerminalWidth();
        if (width > 20 && line.Length >= width) line = line[..(width - 1)]; // a wrapped line could not be redrawn in place
        output.Write("\r" + line.PadRight(_lastLength));
        output.Flush();
        _lastLength = line.Length;
        _open = true;
    }

    private static int TerminalWidth()
    {
        try { return Console.WindowWidth; }
        catch (IOException) { return 0; }
        catch (PlatformNotSupportedException) { return 0; }
    }

    /// <summary>Ends the live line (after a restart or at the end of training).</summary>
    public void Finish()
    {
        if (!_open) return;
        output.WriteLine();
        _open = false;
        _lastLength = 0;
    }
}
