using System.Diagnostics;
using FastMlp.Kernels;

namespace FastMlp.Benchmarks.Peers;

/// <summary>
/// <c>DOTNET_TieredCompilation=0 dotnet run -c Release --project benchmarks/FastMlp.Benchmarks.Peers -- --sweep</c>:
/// FastMlp's GEMM against OpenBLAS on every product of the suite in a few seconds, both timed in this one
/// process, alternately (FastMlp, OpenBLAS, FastMlp, OpenBLAS), on the operands of <see cref="PeerGemmBenchmarks"/>
/// (64-byte aligned; OpenBLAS's result checked against FastMlp's first). On a shared machine the host's load moves absolute
/// speeds by 10-50 % from one process to the next, and BenchmarkDotNet runs the two peers' cases minutes apart; alternating
/// within one process, the ratio moves by a few percent. It is the quick map of where FastMlp stands; BenchmarkDotNet
/// (<see cref="PeerGemmBenchmarks"/>) is the record.
/// </summary>
internal static class GemmSweep
{
    /// <summary>The suite's products: batch 1, 32 and 256 by the layers of the benchmarked networks and the wide ones.</summary>
    public static IEnumerable<string> SuiteShapes() =>
        from rows in new[] { 1, 32, 256 }
        from layer in new[] { "64x32", "32x32", "32x10", "784x256", "256x128", "128x10", "1024x1024", "1024x10" }
        select $"{rows}x{layer}";

    /// <summary>Floating-point operations per timed loop: long enough to time, short enough for the whole suite in seconds.</summary>
    private const double LoopFlops = 3e7;

    /// <summary>Timings per peer and round; the minimum is kept (the least disturbed).</summary>
    private const int Timings = 15;

    /// <summary>
    /// Warm-up of each peer on each product, and (<see cref="FirstWarmUp"/>) of the first. With tiered compilation on, the
    /// runtime promotes the methods around the kernels (this harness's calls, the benchmark methods' switch on the form, the
    /// P/Invoke wrappers) to optimised code only after a 100 ms pause in new compilations and 30 calls, and each new form
    /// restarts that pause: a 32 x 32 x 10 input gradient then measured 170-240 ns instead of 135 (OpenBLAS up to 940
    /// instead of 360), and marking FastMlp's entry points for full optimisation did not change that. So the sweep is meant
    /// to run with DOTNET_TieredCompilation=0 (every method compiled optimised at once) and says so when it is not.
    /// </summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromMilliseconds(20), FirstWarmUp = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Prints, per form and shape (FASTMLP_PEER_GEMM_FORMS and FASTMLP_PEER_GEMM_SHAPES, else every form and the suite),
    /// each peer's best time and GFLOP/s and the ratio OpenBLAS time / FastMlp time, and how many products are below 1.0.
    /// Returns 0 (also when OpenBLAS cannot be loaded: then nothing is timed, and it says so), or 1 when OpenBLAS disagrees
    /// with FastMlp.
    /// </summary>
    public static int Run(IReadOnlyDictionary<string, string> skipped)
    {
        if (skipped.TryGetValue(PeerAvailability.Blas, out string? reason))
        {
            // Like a peer benchmark: skipped, loudly, not failed (the machine lacks the library, FastMlp is not wrong).
            Console.WriteLine($"// GEMM sweep SKIPPED: OpenBLAS does not load here: {reason}");
            return 0;
        }
        string? only = Environment.GetEnvironmentVariable(PeerGemmBenchmarks.ShapesVariable);
        var shapes = string.IsNullOrWhiteSpace(only) ? SuiteShapes().ToArray() : PeerGemmBenchmarks.Shapes().ToArray();
        Console.WriteLine($"// GEMM sweep: kernels {KernelDispatch.Describe()}, {OpenBlas.Describe()}, one thread; ratio = OpenBLAS time / FastMlp time");
        if (Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") != "0")
            Console.WriteLine("// WARNING: tiered compilation is on; small products may be timed before their callers are optimised. " +
                "Run with DOTNET_TieredCompilation=0 for steady-state figures.");
        int below = 0, total = 0;
        foreach (string shape in shapes)
            foreach (string form in PeerGemmBenchmarks.Forms())
            {
                var bench = new PeerGemmBenchmarks { Form = form, Shape = shape };
                // The set-up's per-case log lines (kernel path, library) are said once above.
                TextWriter log = Console.Out;
                Console.SetOut(TextWriter.Null);
                try
                {
                    bench.SetupOpenBlas();
                }
                catch (InvalidOperationException e)
                {
                    Console.Error.WriteLine($"error: {e.Message}");
                    return 1;
                }
                finally
                {
                    Console.SetOut(log);
                }
                int loop = Math.Max(1, (int)(LoopFlops / bench.Flops));
                TimeSpan warmUp = total == 0 ? FirstWarmUp : WarmUp;
                WarmUpFor(() => bench.FastMlp(), warmUp);
                WarmUpFor(() => bench.OpenBLAS(), warmUp);
                double fast = double.MaxValue, blas = double.MaxValue;
                for (int round = 0; round < 2; round++)
                {
                    fast = Math.Min(fast, BestNanoseconds(() => bench.FastMlp(), loop));
                    blas = Math.Min(blas, BestNanoseconds(() => bench.OpenBLAS(), loop));
                }
                double ratio = blas / fast;
                total++;
                if (ratio < 1.0) below++;
                Console.WriteLine($"{form,-14} {shape,-13} FastMlp {fast,11:F0} ns {bench.Flops / fast,6:F1} GFLOP/s | " +
                    $"OpenBLAS {blas,11:F0} ns {bench.Flops / blas,6:F1} GFLOP/s | ratio {ratio:F2}");
            }
        Console.WriteLine($"// {below} of {total} products below 1.0");
        return 0;
    }

    /// <summary>Calls <paramref name="call"/> until <paramref name="time"/> has passed (at least 3 times).</summary>
    private static void WarmUpFor(Func<float> call, TimeSpan time)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < 3 || Stopwatch.GetElapsedTime(start) < time; i++)
            call();
    }

    /// <summary>The fastest of <see cref="Timings"/> timings of <paramref name="loop"/> calls, per call.</summary>
    private static double BestNanoseconds(Func<float> call, int loop)
    {
        double best = double.MaxValue;
        for (int t = 0; t < Timings; t++)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < loop; i++)
                call();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalNanoseconds / loop);
        }
        return best;
    }
}
