namespace FastMlp.Cli.Tests;

public class OptimizationCommandTests
{
    [Fact]
    public void SweepLr_WritesCurvesAndPlotAndMarksDivergence()
    {
        using var temp = new TempFolder();
        string csv = temp.File("sweep.csv"), svg = temp.File("sweep.svg");
        CliResult r = CliHarness.Run("sweep-lr", "--data", CliHarness.DataFile("iris.csv"), "--hidden", "8", "--activation", "tanh",
            "--rates", "0.01,0.3,1000", "--epochs", "15", "--curve", csv, "--plot", svg);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("lr 1000: DIVERGED", r.Out);
        Assert.Contains("best learning rate: 0.3", r.Out);
        string[] lines = File.ReadAllLines(csv);
        Assert.Equal("rate,iteration,loss,diverged", lines[0]);
        Assert.Equal(16, lines.Count(l => l.StartsWith("0.01,", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("1000,", StringComparison.Ordinal) && l.EndsWith(",1", StringComparison.Ordinal));
        string plot = File.ReadAllText(svg);
        Assert.StartsWith("<svg", plot);
        Assert.Contains("lr 1000 (diverged)", plot);
        Assert.Contains("lr 0.3 (best)", plot);
    }

    [Fact]
    public void SweepLr_RejectsBadRates()
    {
        CliHarness.AssertFails(CliHarness.Run("sweep-lr", "--rates", "0.1,abc"), 1, "--rates", "\"abc\"");
        CliHarness.AssertFails(CliHarness.Run("sweep-lr", "--rates", "0.1,-2"), 1, "\"-2\"");
    }

    [Theory]
    [InlineData("lbfgs", "64")]
    [InlineData("scg", "16")]
    [InlineData("newton", "4")]
    public void Train_WithASolver_TrainsAndSaves(string solver, string hidden)
    {
        using var temp = new TempFolder();
        string model = temp.File("m.fmlp");
        CliResult r = CliHarness.Run("train", "--data", CliHarness.DataFile("iris.csv"), "--solver", solver, "--hidden", hidden, "--validation", "0",
            "--iterations", solver == "newton" ? "5" : "60", "--output", model, "--curve", temp.File("c.csv"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"solver {solver}", r.Out);
        Assert.Contains("stopped: ", r.Out);
        Assert.Contains("test accuracy: ", r.Out);
        Assert.True(File.Exists(model));
        Assert.StartsWith("restart,iteration,loss,gradient_norm", File.ReadAllText(temp.File("c.csv")));
    }

    [Fact]
    public void Train_Restarts_PrintsTheSpread()
    {
        using var temp = new TempFolder();
        CliResult r = CliHarness.Run("train", "--data", CliHarness.DataFile("iris.csv"), "--solver", "lbfgs", "--hidden", "8", "--restarts", "3",
            "--iterations", "50", "--output", temp.File("m.fmlp"));
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Matches(@"restarts: 3, validation loss min [0-9.]+, median [0-9.]+, max [0-9.]+", r.Out);
    }

    [Fact]
    public void Train_BadSolverOrTooLargeForNewton_Fails()
    {
        CliHarness.AssertFails(CliHarness.Run("train", "--solver", "bfgs"), 1, "--solver", "lbfgs, newton or scg");
        using var temp = new TempFolder();
        CliHarness.AssertFails(CliHarness.Run("train", "--solver", "newton", "--output", temp.File("m.fmlp")), 1, "2000 parameters");
    }
}
