namespace FastMlp.Threading;

public sealed partial class WorkerPool
{
    /// <summary>Longest the constructor waits for its threads to reach their first sleep (a starved machine must not hang it).</summary>
    private static readonly TimeSpan WarmUpLimit = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Makes every thread of the pool take its sleeping paths once before the constructor returns: each worker blocks
    /// on the start semaphore, then one round runs in which the constructing thread must sleep on the completion
    /// monitor. Whatever a runtime allocates the first time a thread really blocks (the process-wide state of
    /// SemaphoreSlim's blocking path, 64 B on .NET 10; NativeAOT's managed Monitor creates a waiter per thread) is then
    /// allocated here and not inside a measured step.
    /// </summary>
    /// <remarks>Best effort: the wait for the workers gives up after <see cref="WarmUpLimit"/>, and a thread other than
    /// the constructing one that later calls <see cref="Run"/> takes its first sleep inside that run.</remarks>
    private void WarmUp()
    {
        if (_threads.Length == 0) return;
        long deadline = Environment.TickCount64 + (long)WarmUpLimit.TotalMilliseconds;
        var spin = new SpinWait();
        foreach (Thread t in _threads)
            while ((t.ThreadState & ThreadState.WaitSleepJoin) == 0 && Environment.TickCount64 < deadline)
                spin.SpinOnce();
        _callerWaiting = false;
        Run(new WarmUpJob(this, deadline), Threads);
    }

    /// <summary>One item per thread: a barrier so every thread takes one, then the helpers hold on until the caller sleeps.</summary>
    private sealed class WarmUpJob(WorkerPool pool, long deadline) : IParallelJob
    {
        private int _arrived;

        public void Execute(int item, int worker)
        {
            Interlocked.Increment(ref _arrived);
            var spin = new SpinWait();
            // Every thread holds its item until all have one, so no thread takes two and each worker runs a round.
            while (Volatile.Read(ref _arrived) < pool.Threads && Environment.TickCount64 < deadline) spin.SpinOnce();
            if (worker == 0) return;
            // Finishing only once the caller sleeps forces it past its spin into Monitor.Wait; taking the lock then
            // proves it is inside Wait (which released the lock).
            while (!pool._callerWaiting && Environment.TickCount64 < deadline) spin.SpinOnce();
            lock (pool._doneLock) { }
        }
    }
}
