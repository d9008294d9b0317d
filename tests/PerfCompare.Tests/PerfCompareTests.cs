using PerfCompare;

namespace PerfCompare.Tests;

public class PerfCompareTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    [Fact]
    public void Classifies_each_change_by_threshold_and_confidence_intervals()
    {
        var result = Comparison.Compare(Report.Load(Fixture("baseline-report-full.json")), Report.Load(Fixture("new-report-full.json")), 0.10);
        Verdict Of(string name) => result.Changes.Single(c => c.Baseline.Name == $"FastMlp.Benchmarks.ForwardBenchmarks.{name}").Verdict;

        Assert.Equal(Verdict.Regression, Of("Predict(Arch=2-3-2)"));               // +30 %, CIs apart
        Assert.Equal(Verdict.Same, Of("Predict(Arch=64-32-32-10)"));               // +17 % but the CIs overlap
        Assert.Equal(Verdict.Same, Of("Forward256(Arch=2-3-2)"));                  // +5 %
        Assert.Equal(Verdict.Improvement, Of("Forward256(Arch=64-32-32-10)"));
        Assert.Equal(1, result.Regressions);
        Assert.Equal(["FastMlp.Benchmarks.ForwardBenchmarks.Forward256(Arch=784-256-128-10)"], result.OnlyInBaseline);
        Assert.Equal(["FastMlp.Benchmarks.ForwardBenchmarks.Forward256(Arch=1024-1024-1024-10)"], result.OnlyInCurrent);
        Assert.Equal(0.3, result.Changes.Single(c => c.Verdict == Verdict.Regression).TimeChange, 6);
    }

    [Fact]
    public void Exit_code_is_1_on_a_regression_0_without_and_2_on_bad_input()
    {
        Assert.Equal(1, Program.Main([Fixture("baseline-report-full.json"), Fixture("new-report-full.json")]));
        Assert.Equal(0, Program.Main([Fixture("baseline-report-full.json"), Fixture("baseline-report-full.json")]));
        Assert.Equal(0, Program.Main([Fixture("baseline-report-full.json"), Fixture("new-report-full.json"), "--threshold", "50"]));
        Assert.Equal(2, Program.Main([Fixture("baseline-report-full.json")]));
        Assert.Equal(2, Program.Main([Fixture("missing.json"), Fixture("new-report-full.json")]));
    }

    [Fact]
    public void A_dry_run_without_confidence_intervals_is_reported_but_never_fails()
    {
        const string dry = """{"Benchmarks":[{"FullName":"A.B(X=1)","Statistics":{"N":1,"Mean":500,"StandardError":0,"ConfidenceInterval":{"Lower":"NaN","Upper":"NaN"}}}]}""";
        const string before = """{"Benchmarks":[{"FullName":"A.B(X=1)","Statistics":{"N":20,"Mean":100,"StandardError":1,"ConfidenceInterval":{"Lower":97,"Upper":103}}}]}""";
        var result = Comparison.Compare(Report.Parse(before, "before").ToDictionary(b => b.Name), Report.Parse(dry, "dry").ToDictionary(b => b.Name), 0.10);
        Assert.Equal(Verdict.NoStatistics, result.Changes.Single().Verdict);
        Assert.Equal(0, result.Regressions);
    }
}
