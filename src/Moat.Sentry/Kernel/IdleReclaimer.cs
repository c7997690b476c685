using System;
using System.Threading;
using Moat.Sentry.Pgalloc;

namespace Moat.Sentry.Kernel;

/// <summary>
/// Gives the Sentry's spare memory back to the host after a burst of work (<see cref="IdleReclaimPolicy"/>).
/// The GC keeps the regions a burst made it commit (its gen0 budget alone is about 16 MB here) until its
/// next collection, which an idle Sentry never makes; an aggressive full collection compacts the heap and
/// decommits every free region. It runs on a thread of its own (not the thread pool, which an idle Sentry
/// need not start), never on the syscall path, and pauses the Sentry's threads for a few milliseconds
/// (app code in the stubs keeps running). The MemoryFile needs no such pass: freed application pages are
/// hole-punched at once. MOAT_IDLE_RECLAIM=0 turns it off (to measure without it).
/// </summary>
internal sealed class IdleReclaimer : IDisposable
{
    /// <summary>How often the allocation rate is sampled: memory comes back one to two periods after a burst.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromMilliseconds(500);

    private readonly MemoryFile _memoryFile;
    private readonly ManualResetEventSlim _stop = new(false);
    private readonly Lock _mu = new();

    // Protected by _mu.
    private readonly IdleReclaimPolicy _policy = new();

    private Thread? _thread;
    private int _reclaims;

    public IdleReclaimer(MemoryFile memoryFile)
    {
        _memoryFile = memoryFile;
    }

    /// <summary>Whether the environment turns idle reclaim off (MOAT_IDLE_RECLAIM=0).</summary>
    public static bool DisabledByEnvironment => Environment.GetEnvironmentVariable("MOAT_IDLE_RECLAIM") == "0";

    /// <summary>How many times memory was reclaimed.</summary>
    public int Reclaims => Volatile.Read(ref _reclaims);

    /// <summary>Starts sampling, once.</summary>
    public void Start()
    {
        if (_thread != null)
        {
            return;
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "moat-reclaim" };
        _thread.Start();
    }

    /// <summary>Gives spare memory back now: shrinks the Sentry's own tables, then collects and decommits.</summary>
    public void Reclaim()
    {
        lock (_mu)
        {
            _memoryFile.TrimExcess();
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _policy.Reclaimed(GC.GetTotalAllocatedBytes(precise: false), GC.GetTotalMemory(forceFullCollection: false));
            Interlocked.Increment(ref _reclaims);
        }
    }

    private void Run()
    {
        while (!_stop.Wait(Period))
        {
            bool due;
            lock (_mu)
            {
                due = _policy.Tick(GC.GetTotalAllocatedBytes(precise: false));
            }

            if (due)
            {
                Reclaim();
            }
        }
    }

    public void Dispose()
    {
        _stop.Set();
        _thread?.Join();
        _stop.Dispose();
    }
}
