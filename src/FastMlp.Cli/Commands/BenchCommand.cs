using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using CommunityToolkit.HighPerformance;
using FastMlp.Cli.Output;
using FastMlp.Kernels;
using FastMlp.Training;

namespace FastMlp.Cli.Commands;

/// <summary>
/// <c>fastmlp bench</c>: forward latency of one sample and training throughput of an architecture on random data,
/// timed with <see cref="Stopwatch"/> after a warm-up. A quick look; the BenchmarkDotNet suite in benchmarks/ is the
/// rigorous measurement.
/// </summary>
internal static class BenchCommand
{
    public static Command Create(CliContext context)
    {
        var layers = new Option<string>("--layers", "-l") { Description = "Architecture: input size, hidden widths and output size separated by '-', e.g. 784-256-128-10.", DefaultValueFactory = _ => "784-256-128-10" };
        var activation = new Option<string>("--activation") { Description = "Hidden activation.", DefaultValueFactory = _ => "relu" };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Training batch size.", DefaultValueFactory = _ => 128 };
        var optimizer = new Option<string>("--optimizer") { Description = "Optimizer of the training steps.", DefaultValueFactory = _ => "adam" };
        var seconds = new Option<double>("--seconds") { Description = "Measuring time of each of the two measurements, each after a warm-up of a quarter of it but at least 0.5 s (so that the JIT has tiered up).", DefaultValueFactory = _ => 2.0 };
        var seed = new Option<int>("--seed") { Description = "Seed of the random weights and data.", DefaultValueFactory = _ => 1 };
        var command = new Command("bench", "Measure the forward latency of one sample and the training throughput (samples/s) of an architecture on random data.")
        {
            layers, activation, batch, optimizer, seconds, seed,
        };
        command.SetAction(r => Run(context, r.GetValue(layers)!, r.GetValue(activation)!, r.GetValue(batch), r.GetValue(optimizer)!, r.GetValue(seconds), r.GetValue(seed)));
        return command;
    }

    private static int Run(CliContext context, string layersText, string activationText, int batch, string optimizerText, double seconds, int seed)
    {
        TextWriter o = context.Stdout;
        int[] sizes = ParseLayers(layersText);
        if (batch <= 0) throw new CliException($"--batch-size {batch}: the batch size must be at least 1.");
        if (!(seconds > 0 && seconds <= 600)) throw new CliException($"--seconds {seconds.ToString(CultureInfo.InvariantCulture)}: the measuring time must be in (0, 600].");
        Activation hidden;
        OptimizerKind optimizer;
        try
        {
            hidden = Activation.Parse(activationText);
            optimizer = OptimizerOptions.ParseKind(optimizerText);
        }
        catch (ArgumentException e)
        {
            throw new CliException(Cli.Describe(e));
        }
        int outputs = sizes[^1];
        var specs = sizes[1..^1].Select(w => new LayerSpec(w, hidden))
            .Append(new LayerSpec(outputs, outputs >= 2 ? Activation.Softmax : Activation.Sigmoid)).ToArray();
        Network net;
        try
        {
            net = new Network(sizes[0], specs);
        }
        catch (ArgumentException e)
        {
            throw new CliException($"--layers {layersText}: {Cli.Describe(e)}");
        }
        net.Initialize(seed);
        var random = new Random(seed);
        o.WriteLine($"architecture: {Text.Architecture(net)}, {net.ParameterCount:N0} parameters");
        o.WriteLine($"kernel path: {KernelDispatch.Describe()}; one thread; {seconds.ToString("0.###", CultureInfo.InvariantCulture)} s per measurement after a warm-up");

        // Forward latency of one sample, through the network and through its frozen copy (Network.Freeze).
        var x = new float[net.InputSize];
        var y = new float[net.OutputSize];
        Fill(x, random);
        double warmUp = Math.Max(seconds / 4, 0.5);
        FrozenNetwork frozen = net.Freeze();
        Latency(o, "forward, 1 sample", seconds, warmUp, () => net.Predict(x, y));
        Latency(o, "forward, 1 sample, frozen copy", seconds, warmUp, () => frozen.Predict(x, y));

        // Training throughput: full steps (forward, backward, optimizer update) on random batches.
        var trainer = new Trainer(net, new TrainerOptions { Optimizer = new OptimizerOptions { Kind = optimizer, LearningRate = 1e-4f }, BatchSize = batch });
        const int Batches = 4;
        var inputs = new float[Batches][];
        var labels = new int[Batches][];
        for (int b = 0; b < Batches; b++)
        {
            inputs[b] = new float[batch * net.InputSize];
            Fill(inputs[b], random);
            labels[b] = new int[batch];
            for (int i = 0; i < batch; i++) labels[b][i] = random.Next(outputs >= 2 ? outputs : 2);
        }
        int step = 0;
        void TrainStep()
        {
            int b = step++ % Batches;
            trainer.Step(new ReadOnlySpan2D<float>(inputs[b], batch, net.InputSize), labels[b]);
        }
        TrainStep();
        Warm(warmUp, TrainStep);
        long steps = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || steps < 3)
        {
            TrainStep();
            steps++;
        }
        double elapsed = total.Elapsed.TotalSeconds;
        o.WriteLine($"training, batch {batch} ({optimizer.ToString().ToLowerInvariant()}): {Text.Rate(steps * batch / elapsed)} samples/s "
            + $"({steps:N0} steps, {Text.Duration(elapsed / steps)} per step)");
        return Cli.Success;
    }

    /// <summary>
    /// Times one-sample calls in groups long enough for the timer (~20 us) for about <paramref name="seconds"/> after a
    /// warm-up, and prints the median, best and p90 per call and the bytes one call allocates in steady state.
    /// </summary>
    private static void Latency(TextWriter o, string label, double seconds, double warmUp, Action call)
    {
        call();
        double estimate = Warm(warmUp, call);
        int group = (int)Math.Clamp(Math.Ceiling(20e-6 / Math.Max(estimate, 1e-9)), 1, 1 << 20);
        var perCall = new List<double>();
        long calls = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds || perCall.Count < 5)
        {
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < group; i++) call();
            perCall.Add(Seconds(start) / group);
            calls += group;
        }
        // Steady-state allocation, measured apart from the timing loop (whose list of timings allocates).
        const int AllocationCalls = 10_000;
        long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < AllocationCalls; i++) call();
        double allocatedPerCall = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / (double)AllocationCalls;
        perCall.Sort();
        o.WriteLine($"{label}: median {Text.Duration(perCall[perCall.Count / 2])}, best {Text.Duration(perCall[0])}, "
            + $"p90 {Text.Duration(perCall[(int)(perCall.Count * 0.9)])} ({calls:N0} calls; {allocatedPerCall.ToString("0.##", CultureInfo.InvariantCulture)} bytes allocated per call)");
    }

    internal static int[] ParseLayers(string text)
    {
        string[] parts = text.Split(['-', ',', 'x', ' '], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
            throw new CliException($"--layers \"{text}\": give at least an input size and an output size, e.g. 784-256-128-10.");
        var sizes = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out sizes[i]) || sizes[i] <= 0)
                throw new CliException($"--layers \"{text}\": \"{parts[i]}\" is not a positive layer size.");
        return sizes;
    }

    private static void Fill(float[] values, Random random)
    {
        for (int i = 0; i < values.Length; i++) values[i] = (float)(random.NextDouble() * 2 - 1);
    }

    /// <summary>Runs <paramref name="action"/> for about <paramref name="seconds"/> (at least 3 times); returns the mean seconds per run of the second half.</summary>
    private static double Warm(double seconds, Action action)
    {
        long start = Stopwatch.GetTimestamp();
        while (Seconds(start) < seconds / 2) action();
        long runs = 0;
        long second = Stopwatch.GetTimestamp();
        while (Seconds(start) < seconds || runs < 3) { action(); runs++; }
        return Seconds(second) / runs;
    }

    /// <summary>Seconds since a <see cref="Stopwatch.GetTimestamp"/> value, at the timer's full resolution.</summary>
    private static double Seconds(long start) => (Stopwatch.GetTimestamp() - start) / (double)Stopwatch.Frequency;
}
