using System.Runtime.ExceptionServices;

namespace FastMlp.Threading;

/// <summary>A unit of parallel work: items 0..count-1, each independent of the others.</summary>
internal interface IParallelJob
{
    /// <summary>Runs one item on the thread numbered <paramref name="worker"/> (0 is the caller of Run, 1.. the pool's threads).</summary>
    void Execute(int item, int worker);
}

/// <summary>
/// A persistent set of worker threads, started once. <see cref="Run"/> hands out the items of a job to the
/// workers and the calling thread (which works too) and returns when all are done. Nothing is allocated per
/// run: the job is an existing object, items are claimed with an interlocked counter, and the threads wait on
/// a semaphore and report through a counter and a monitor, all reused.
/// </summary>
/// <remarks>
/// An exception thrown by an item is rethrown on the caller of <see cref="Run"/> with its original stack
/// (the first one, if several items fail). Runs are serialised: a pool shared by several trainers runs one job
/// at a time. <see cref="Dispose"/> stops and joins the threads.
/// </remarks>
public sealed partial class WorkerPool : IDisposable
{
    private readonly Thread[] _threads;
    private readonly long[] _workerAllocatedBytes;
    private readonly SemaphoreSlim _start = new(0);
    // Completion is counted by hand and waited for on a monitor: CountdownEvent/ManualResetEventSlim create
    // their lock object lazily on the first wait that really blocks, an allocation inside some later step.
    private readonly object _doneLock = new();
    private int _pending;
    private readonly Lock _runLock = new();
    private IParallelJob? _job;
    private int _items;
    private int _next;
    private ExceptionDispatchInfo? _error;
    private volatile bool _disposed;
    // Set by the caller of Run each time it goes to sleep on _doneLock; the warm-up round waits for it.
    private volatile bool _callerWaiting;

    /// <summary>Starts a pool of <paramref name="threads"/> threads in all, the caller's included (0: one per core).</summary>
    public WorkerPool(int threads = 0)
    {
        if (threads < 0)
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "The thread count must be >= 0 (0 means one per core).");
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
        _threads = new Thread[Threads - 1];
        _workerAllocatedBytes = new long[_threads.Length];
        for (int i = 0; i < _threads.Length; i++)
        {
            int index = i;
            _threads[i] = new Thread(() => WorkerLoop(index)) { IsBackground = true, Name = $"FastMlp worker {i + 1}" };
            _threads[i].Start();
        }
        WarmUp();
    }

    /// <summary>Threads that run a job, the calling thread included.</summary>
    public int Threads { get; }

    /// <summary>Runs items 0..count-1 of <paramref name="job"/> on up to <paramref name="maxThreads"/> threads (the caller's included).</summary>
    internal void Run(IParallelJob job, int count, int maxThreads = int.MaxValue)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        int helpers = Math.Min(Math.Min(Threads, maxThreads), count) - 1;
        if (helpers <= 0)
        {
            for (int i = 0; i < count; i++) job.Execute(i, 0);
            return;
        }
        lock (_runLock)
        {
            _job = job;
            _items = count;
            _next = 0;
            Volatile.Write(ref _pending, helpers);
            _start.Release(helpers);
            Work(0);
            WaitForHelpers();
            _job = null;
            ExceptionDispatchInfo? error = _error;
            _error = null;
            error?.Throw();
        }
    }

    /// <summary>Stops the threads (after any job in progress) and waits for them to end.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        lock (_runLock)
        {
            _disposed = true;
            if (_threads.Length > 0) _start.Release(_threads.Length);
        }
        foreach (Thread t in _threads) t.Join();
        _start.Dispose();
    }

    private void WaitForHelpers()
    {
        // Helpers usually finish within microseconds of the caller: spin briefly before sleeping on the monitor.
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) > 0 && !spin.NextSpinWillYield) spin.SpinOnce();
        if (Volatile.Read(ref _pending) == 0) return;
        lock (_doneLock)
        {
            _callerWaiting = true;
            while (Volatile.Read(ref _pending) > 0) Monitor.Wait(_doneLock);
        }
    }

    private void Work(int worker)
    {
        IParallelJob job = _job!;
        int item;
        while ((item = Interlocked.Increment(ref _next) - 1) < _items)
        {
            try
            {
                job.Execute(item, worker);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            }
        }
    }

    /// <summary>Bytes allocated so far by the worker threads (the caller's thread excluded), as of their last finished run.</summary>
    internal long WorkerAllocatedBytes
    {
        get
        {
            long sum = 0;
            for (int i = 0; i < _workerAllocatedBytes.Length; i++) sum += Volatile.Read(ref _workerAllocatedBytes[i]);
            return sum;
        }
    }

    private void WorkerLoop(int index)
    {
        while (true)
        {
            _start.Wait();
            if (_disposed) return;
            Work(index + 1);
            // Read back by the zero-allocation tests: a process-wide counter also sees the test host's threads.
            Volatile.Write(ref _workerAllocatedBytes[index], GC.GetAllocatedBytesForCurrentThread());
            if (Interlocked.Decrement(ref _pending) == 0)
                lock (_doneLock) Monitor.PulseAll(_doneLock);
        }
    }
}
