using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;
using FastMlp.Data;
using FastMlp.Kernels;
using FastMlp.Optimization;
using FastMlp.Threading;
using FastMlp.Training;

namespace FastMlp.Tests.Threading;

/// <summary>Training and inference across the mini-batch on persistent workers.</summary>
[Collection(nameof(AllocationSensitive))]
public class ParallelTrainingTests
{
    // 40-96-48-5: ~8.8k parameters, so a batch of 2000 (17.7M row-parameters) is above the parallel threshold.
    private static Network Net(int seed)
    {
        var net = new Network(40, new LayerSpec(96, Activation.Relu), new LayerSpec(48, Activation.Tanh), new LayerSpec(5, Activation.Softmax));
        net.Initialize(seed);
        return net;
    }

    private static Dataset Data(int rows, int seed, int features = 40)
    {
        var random = new Random(seed);
        var x = new float[rows * features];
        var y = new int[rows];
        for (int i = 0; i < rows; i++)
        {
            y[i] = random.Next(5);
            for (int j = 0; j < features; j++) x[i * features + j] = (float)(random.NextDouble() - 0.5) + (j % 5 == y[i] ? 0.7f : 0f);
        }
        return Dataset.ForClassification(x, features, y, 5);
    }

    [Theory]
    [InlineData(500, 2)]
    [InlineData(500, 3)]
    [InlineData(97, 8)]
    public void Parallel_gradient_equals_single_threaded_backpropagation_bitwise(int rows, int threads)
    {
        // 400-96-48-5 (43k parameters): 500 rows (21.7M row-parameters) are above the parallel threshold and within one
        // 512-row block (a larger batch is summed block by block, a different order than one Backpropagation call).
        // Nothing is reduced across shards, so the parallel gradient is the plain back-propagation of the whole batch.
        var net = new Network(400, new LayerSpec(96, Activation.Relu), new LayerSpec(48, Activation.Tanh), new LayerSpec(5, Activation.Softmax));
        net.Initialize(3);
        if (rows == 500) Assert.True((long)rows * net.ParameterCount >= Trainer.MinParallelWork, "the test must exercise the parallel path");
        Dataset data = Data(rows, 4, features: 400);
        var expected = new float[net.BufferLength];
        float expectedLoss = new Backpropagation(net, LossKind.CategoricalCrossEntropy, rows) { WeightDecay = 1e-3f }
            .ComputeGradient(data.Features, data.Labels, expected);
        using var trainer = new Trainer(net, new TrainerOptions { Threads = threads, WeightDecay = 1e-3f });
        float loss = trainer.Step(data.Features, data.Labels);
        Assert.Equal(expected, trainer.Gradient.ToArray());
        Assert.Equal(expectedLoss, loss, 5);
    }

    [Fact]
    public void Training_gives_bitwise_identical_weights_for_1_2_3_and_8_threads()
    {
        Assert.True((long)2000 * Net(1).ParameterCount >= Trainer.MinParallelWork, "the test must exercise the parallel path");
        Dataset data = Data(4000, 3);
        int[]? reference = null;
        foreach (int threads in new[] { 1, 2, 3, 8 })
        {
            Network net = Net(5);
            using var trainer = new Trainer(net, new TrainerOptions { BatchSize = 2000, Epochs = 2, Seed = 9, Threads = threads, WeightDecay = 1e-4f });
            Assert.Equal(threads, trainer.Threads);
            trainer.Fit(data);
            int[] bits = net.Parameters.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();
            if (reference is null) reference = bits;
            else Assert.True(reference.AsSpan().SequenceEqual(bits), $"{threads} threads gave different weights than 1 thread");
        }
    }

    [Fact]
    public void Full_batch_objective_on_a_pool_equals_the_serial_objective_bitwise()
    {
        Dataset data = Data(2100, 6); // five 512-row blocks, 18.6M row-parameters: above the parallel threshold
        Network net = Net(7);
        Assert.True((long)2100 * net.ParameterCount >= Trainer.MinParallelWork, "the test must exercise the parallel path");
        using var pool = new WorkerPool(3);
        float[] serial = new float[net.BufferLength], parallel = new float[net.BufferLength];
        double serialLoss = new Objective(net, data, weightDecay: 1e-3f).Evaluate(serial);
        double parallelLoss = new Objective(net, data, weightDecay: 1e-3f, pool: pool).Evaluate(parallel);
        Assert.Equal(serial, parallel);
        Assert.Equal(serialLoss, parallelLoss, 9);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Evaluation_on_the_workers_is_bitwise_the_same_for_any_thread_count_and_matches_the_serial_loss(bool labels)
    {
        // 1300 rows: two full 512-row blocks and a partial one, each cut into shards; regression targets as well as labels.
        Dataset data = labels ? Data(1300, 12) : Regression(1300, 12);
        Network net = labels ? Net(13)
            : new Network(40, new LayerSpec(96, Activation.Relu), new LayerSpec(48, Activation.Tanh), new LayerSpec(3, Activation.Identity));
        net.Initialize(13);
        var serial = new Backpropagation(net, labels ? LossKind.CategoricalCrossEntropy : LossKind.MeanSquaredError, 1300) { WeightDecay = 1e-3f };
        Targets targets = labels ? new Targets(data.Labels) : new Targets(data.TargetArray);
        double expected = serial.Evaluate(data.FeatureArray, targets, 1300, out int expectedCorrect);
        long? reference = null;
        foreach (int threads in new[] { 1, 2, 3, 8 })
        {
            using var trainer = new Trainer(net, new TrainerOptions { Threads = threads, WeightDecay = 1e-3f,
                Loss = labels ? LossKind.CategoricalCrossEntropy : LossKind.MeanSquaredError });
            double loss = trainer.Evaluate(data, out int correct);
            Assert.Equal(expectedCorrect, correct);
            Assert.Equal(expected, loss, 1e-12 * Math.Abs(expected));
            long bits = BitConverter.DoubleToInt64Bits(loss);
            reference ??= bits;
            Assert.True(reference == bits, $"{threads} threads: loss {loss:R} differs from one thread's");
        }
    }

    private static Dataset Regression(int rows, int seed)
    {
        var random = new Random(seed);
        var x = new float[rows * 40];
        var y = new float[rows * 3];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() - 0.5);
        for (int i = 0; i < y.Length; i++) y[i] = (float)random.NextDouble();
        return Dataset.ForRegression(x, 40, y, 3);
    }

    [Fact]
    public void Optimizer_update_in_chunks_on_a_pool_equals_the_serial_update()
    {
        const int length = 40_000; // two full 16k chunks and a partial one
        var random = new Random(8);
        float[] start = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        float[] gradient = Enumerable.Range(0, length).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        using var pool = new WorkerPool(3);
        foreach (OptimizerKind kind in Enum.GetValues<OptimizerKind>())
        {
            var options = new OptimizerOptions { Kind = kind, LearningRate = 0.01f };
            Optimizer serial = new(options, length), parallel = new(options, length);
            float[] a = (float[])start.Clone(), b = (float[])start.Clone();
            for (int step = 0; step < 3; step++)
            {
                serial.Step(a, gradient);
                parallel.Step(b, gradient, pool, maxThreads: 3);
            }
            Assert.Equal(a, b);
            Assert.Equal(serial.FirstState.ToArray(), parallel.FirstState.ToArray());
            Assert.NotEqual(start, a); // the update really ran
        }
    }

    [Fact]
    public void A_step_goes_parallel_from_two_full_shards_or_from_large_single_shard_work()
    {
        using var pool = new WorkerPool(2);
        var mnist = new Network(784, new LayerSpec(256, Activation.Relu), new LayerSpec(128, Activation.Relu), new LayerSpec(10, Activation.Softmax));
        var wide = new Network(1024, new LayerSpec(1024, Activation.Relu), new LayerSpec(1024, Activation.Relu), new LayerSpec(10, Activation.Softmax));
        var tiny = new Network(2, new LayerSpec(3, Activation.Tanh), new LayerSpec(2, Activation.Softmax));
        // One shard (fewer than 32 rows): only large layers pay for splitting the gradient and update phases.
        Assert.Equal(1, ParallelGradient.ThreadsFor(pool, mnist, 16));
        Assert.Equal(1, ParallelGradient.ThreadsFor(pool, mnist, Trainer.MinParallelRows - 1));
        Assert.Equal(1, ParallelGradient.ThreadsFor(pool, wide, 2));
        Assert.Equal(2, ParallelGradient.ThreadsFor(pool, wide, 4));
        // Two full shards: parallel whatever the network.
        Assert.Equal(2, ParallelGradient.ThreadsFor(pool, mnist, Trainer.MinParallelRows));
        Assert.Equal(2, ParallelGradient.ThreadsFor(pool, tiny, Trainer.MinParallelRows));
        Assert.Equal(1, ParallelGradient.ThreadsFor(pool, tiny, Trainer.MinParallelRows - 1));
    }

    [Fact]
    public void Shard_boundaries_depend_on_the_batch_size_only()
    {
        Assert.Equal(Trainer.MinShardRows, Trainer.ShardRows(1));
        Assert.Equal(16, Trainer.ShardRows(32));
        Assert.Equal(32, Trainer.ShardRows(256));
        Assert.Equal(64, Trainer.ShardRows(1000)); // 512-row blocks
    }

    [Fact]
    public void Parallel_training_step_and_batched_inference_allocate_nothing_on_any_thread()
    {
        Dataset data = Data(2000, 4);
        Network net = Net(2);
        Assert.True((long)2000 * net.ParameterCount >= Trainer.MinParallelWork, "the test must exercise the parallel path");
        using var pool = new WorkerPool(4);
        using var trainer = new Trainer(net, new TrainerOptions { Threads = 4 }, pool);
        var outputs = new float[2000 * 5];
        void StepAndPredict()
        {
            trainer.Step(new ReadOnlySpan2D<float>(data.FeatureArray, 2000, 40), data.LabelArray);
            net.Forward(data.Features, new Span2D<float>(outputs, 2000, 5), pool);
        }
        StepAndPredict();
        // No forced first sleep here: the pool took every thread's first sleep when it was created.
        Assert.Equal(0, AllocationProbe.Measure(StepAndPredict, repeats: 20, otherThreads: () => pool.WorkerAllocatedBytes));
    }

    [Fact]
    public void A_new_pool_has_taken_its_first_sleeps_so_its_first_run_allocates_nothing_on_any_thread()
    {
        // Helpers that sleep force the caller to block on the completion monitor and the workers to block on the start
        // semaphore afterwards; the pool's constructor has made every thread do both once. Each pool's first run can be
        // measured once, so the smallest of a few pools is taken (see AllocationProbe for the runtime's rare own charges).
        long smallest = long.MaxValue;
        for (int attempt = 0; attempt < AllocationProbe.Attempts && smallest != 0; attempt++)
        {
            using var pool = new WorkerPool(3);
            var job = new SlowHelpersJob();
            long before = GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes;
            pool.Run(job, 3);
            long after = GC.GetAllocatedBytesForCurrentThread() + pool.WorkerAllocatedBytes;
            smallest = Math.Min(smallest, after - before);
        }
        Assert.Equal(0, smallest);
    }

    [Fact]
    public void Batched_inference_on_the_pool_matches_single_threaded_inference()
    {
        Network net = Net(3);
        Dataset data = Data(1000, 5);
        var single = new float[1000 * 5];
        var parallel = new float[1000 * 5];
        using var pool = new WorkerPool(3);
        net.Forward(data.Features, new Span2D<float>(single, 1000, 5));
        net.Forward(data.Features, new Span2D<float>(parallel, 1000, 5), pool);
        Assert.Equal(single, parallel);
    }

    [Fact]
    public async Task Many_application_threads_can_predict_at_once()
    {
        Network net = Net(4);
        Dataset data = Data(64, 6);
        var expected = new int[64];
        for (int i = 0; i < 64; i++) expected[i] = net.PredictClass(data.Row(i));
        var tasks = Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            Span<float> output = stackalloc float[5];
            for (int round = 0; round < 50; round++)
                for (int i = 0; i < 64; i++)
                {
                    if (net.PredictClass(data.Row(i)) != expected[i]) return false;
                    net.Predict(data.Row(i), output);
                }
            return true;
        }, TestContext.Current.CancellationToken));
        Assert.All(await Task.WhenAll(tasks), Assert.True);
    }

    private sealed class SlowHelpersJob : IParallelJob
    {
        public void Execute(int item, int worker)
        {
            if (worker != 0) Thread.Sleep(20);
        }
    }

    private sealed class ThrowingJob(int failAt) : IParallelJob
    {
        public int Executed;

        public void Execute(int item, int worker)
        {
            Interlocked.Increment(ref Executed);
            if (item == failAt) FailDeepInside(item);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void FailDeepInside(int item) => throw new InvalidOperationException($"item {item} failed");
    }

    [Fact]
    public void An_exception_in_a_worker_reaches_the_caller_with_its_original_stack()
    {
        using var pool = new WorkerPool(4);
        for (int failAt = 0; failAt < 16; failAt += 5)
        {
            var job = new ThrowingJob(failAt);
            var e = Assert.Throws<InvalidOperationException>(() => pool.Run(job, 16));
            Assert.Equal($"item {failAt} failed", e.Message);
            Assert.Contains(nameof(ThrowingJob) + ".FailDeepInside", e.StackTrace);
            Assert.Equal(16, job.Executed);
        }
        // The pool still works after a failure.
        var ok = new ThrowingJob(-1);
        pool.Run(ok, 100);
        Assert.Equal(100, ok.Executed);
    }

    [Fact]
    public async Task Many_short_runs_on_more_threads_than_cores_do_not_deadlock()
    {
        using var pool = new WorkerPool(8);
        var job = new ThrowingJob(-1);
        var run = Task.Run(() => { for (int i = 0; i < 5000; i++) pool.Run(job, 1 + i % 9); }, TestContext.Current.CancellationToken);
        await run.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken); // throws TimeoutException on a deadlock
        Assert.Equal(Enumerable.Range(0, 5000).Sum(i => 1 + i % 9), job.Executed);
    }

    [Fact]
    public async Task Disposing_stops_the_threads_and_refuses_more_work()
    {
        var pool = new WorkerPool(3);
        pool.Run(new ThrowingJob(-1), 10);
        var dispose = Task.Run(pool.Dispose, TestContext.Current.CancellationToken);
        await dispose.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken); // throws TimeoutException if Dispose hangs
        Assert.Throws<ObjectDisposedException>(() => pool.Run(new ThrowingJob(-1), 10));
        pool.Dispose(); // idempotent
    }

    [Fact]
    public void Invalid_thread_counts_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new WorkerPool(-1));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new TrainerOptions { Threads = -2 }.Validate());
        Assert.Contains("-2", e.Message);
        using var pool = new WorkerPool();
        Assert.Equal(Environment.ProcessorCount, pool.Threads);
    }
}

/// <summary>Tests that measure process-wide allocation run alone.</summary>
[CollectionDefinition(nameof(AllocationSensitive), DisableParallelization = true)]
public class AllocationSensitive;
